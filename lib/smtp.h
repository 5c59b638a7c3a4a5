/* ISC license: see LICENSE. */

#ifndef KETCH_SMTP_H
#define KETCH_SMTP_H

#include <stddef.h>
#include <stdint.h>

/*
 * The parsing half of the SMTP server (RFC 5321), kept out of
 * smtp-session so it can be unit-tested and fuzzed. Every function is
 * total: it takes a command line without its CRLF and never reads past
 * the length it is given.
 */

/* RFC 5321 §4.5.3.1.4, §4.5.3.1.6: lengths including the CRLF */
#define SMTP_CMDLINE_MAX 512
#define SMTP_TEXTLINE_MAX 1000

enum smtp_verb_e
{
  SMTP_UNKNOWN = 0,
  SMTP_HELO,
  SMTP_EHLO,
  SMTP_MAIL,
  SMTP_RCPT,
  SMTP_DATA,
  SMTP_RSET,
  SMTP_NOOP,
  SMTP_QUIT,
  SMTP_VRFY,
  SMTP_EXPN,
  SMTP_HELP,
  SMTP_STARTTLS,
  SMTP_AUTH,
  SMTP_NVERBS
} ;

/* what smtp_line_check finds wrong with a command line */
#define SMTP_LINE_OK 0
#define SMTP_LINE_NUL 1
#define SMTP_LINE_BARECR 2
#define SMTP_LINE_BARELF 3

extern int smtp_line_check (char const *, size_t) ;

/* The verb of a line, and where its argument starts (after one space).
   MAIL and RCPT include "FROM:" and "TO:": the argument is the path. */
extern int smtp_verb (char const *, size_t, size_t *) ;

/* The reverse-path or forward-path at the start of s: "<...>" honouring
   quoted strings, or "<>". Sets *pathlen (brackets included) and *params
   (index of the first parameter, or len). 0 = syntax error. */
extern int smtp_path_split (char const *, size_t, size_t *, size_t *) ;

/* MAIL FROM parameters, RFC 1870, 6152, 6531, 4954 §5 */
#define SMTP_BODY_NONE 0
#define SMTP_BODY_7BIT 1
#define SMTP_BODY_8BITMIME 2

typedef struct smtp_mailparams_s smtp_mailparams ;
struct smtp_mailparams_s
{
  uint64_t size ;   /* SIZE= declared, 0 when absent */
  unsigned int body ;
  int smtputf8 ;
  int auth ;        /* an AUTH= parameter was given (its value is ignored) */
} ;
#define SMTP_MAILPARAMS_ZERO { .size = 0, .body = SMTP_BODY_NONE, .smtputf8 = 0, .auth = 0 }

/* results of smtp_mail_params and smtp_rcpt_params */
#define SMTP_PARAM_OK 0
#define SMTP_PARAM_SYNTAX 1    /* 501 5.5.4 */
#define SMTP_PARAM_UNKNOWN 2   /* 555 5.5.4 */

extern int smtp_mail_params (char const *, size_t, smtp_mailparams *) ;
extern int smtp_rcpt_params (char const *, size_t) ;

/*
 * The DATA phase (RFC 5321 §4.1.1.4, §4.5.2, §2.3.8) as a byte-state
 * machine. Input: the raw bytes after 354. Output, through put: the
 * message as a dot-terminated stream with LF line ends (dot-stuffing
 * kept), the form enqueue -S reads; the final ".\n" is emitted when
 * CRLF.CRLF is seen, and nothing else ever ends the stream.
 * Only CRLF "." CRLF ends the data. A bare CR or LF, a NUL, a text line
 * over 1000 octets with its CRLF or more than max octets make the message
 * bad: from then on nothing more is emitted (the consumer must abort),
 * but input is still consumed up to the real end, so the session stays
 * in step. Both limits count the message as enqueue stores it
 * (lib/message.c): a line's leading dot, the stuffing one, is counted in
 * neither (RFC 5321 §4.5.3.1.6), and the end marker is no part of the
 * size (RFC 1870 §4); t/fuzz/dataend.c holds the two to the same answer.
 */
#define SMTP_DATA_BARE 0x01
#define SMTP_DATA_NUL 0x02
#define SMTP_DATA_LONG 0x04
#define SMTP_DATA_SIZE 0x08

typedef void smtp_data_put (void *, char const *, size_t) ;
typedef struct smtp_data_s smtp_data ;
struct smtp_data_s
{
  uint64_t size ;     /* message octets emitted (leading dots and the final LF are not) */
  uint64_t max ;      /* 0: no limit */
  size_t linelen ;
  unsigned int bad ;
  int cr ;
  int dotfirst ;
  int done ;
} ;
#define SMTP_DATA_ZERO { .size = 0, .max = 0, .linelen = 0, .bad = 0, .cr = 0, .dotfirst = 0, .done = 0 }

/* consumes input up to the end of the data; returns the octets used */
extern size_t smtp_data_feed (smtp_data *, char const *, size_t, smtp_data_put *, void *) ;

#endif
