/* ISC license: see LICENSE. */

#ifndef KETCH_SMTPREPLY_H
#define KETCH_SMTPREPLY_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

/*
 * The SMTP client's reply parser (RFC 5321 §4.2). A reply is one or more
 * lines "ddd-text" ending with a line "ddd text" (or "ddd" alone). Every
 * line of one reply must carry the same code; the first digit is 2 to 5
 * (§4.2.1: 1yz is not used in SMTP), the second 0 to 5. Anything else is
 * a protocol error: the peer is not speaking SMTP and the connection is
 * given up.
 *
 * The caller reads lines (without their CRLF) and feeds them one by one.
 * The text of the lines, each without its code and separator, is kept in
 * r->text separated by '\n', so an EHLO reply can be walked line by line
 * (smtpreply_next). Bounded: SMTPREPLY_LINES_MAX lines and
 * SMTPREPLY_TEXT_MAX octets per reply.
 */

#define SMTPREPLY_LINES_MAX 200
#define SMTPREPLY_TEXT_MAX 65536

typedef struct smtpreply_s smtpreply, *smtpreply_ref ;
struct smtpreply_s
{
  stralloc text ;      /* line texts, '\n'-separated, not NUL-terminated */
  unsigned int code ;  /* 0 until the first line is seen */
  unsigned int lines ;
  int done ;           /* the last line was seen */
} ;
#define SMTPREPLY_ZERO { .text = STRALLOC_ZERO, .code = 0, .lines = 0, .done = 0 }

/* 1: the reply is complete; 0: more lines follow; -1: bad line (errno EPROTO, or ENOMEM) */
extern int smtpreply_line (smtpreply *, char const *, size_t) ;
extern void smtpreply_reset (smtpreply *) ;
extern void smtpreply_free (smtpreply *) ;

/* the reply as one line "ddd text text...", for reports and logs; appended, not NUL-terminated */
extern int smtpreply_oneline (smtpreply const *, stralloc *) ;

/* walks the lines: *pos starts at 0; sets *s, *len to the next line's text; 0 at the end */
extern int smtpreply_next (smtpreply const *, size_t *, char const **, size_t *) ;

#define smtpreply_class(r) ((r)->code / 100)

/* what a server offers in its EHLO reply (RFC 5321 §4.1.1.1, one keyword per line after the first) */
typedef struct smtpreply_ext_s smtpreply_ext, *smtpreply_ext_ref ;
struct smtpreply_ext_s
{
  int pipelining ;   /* RFC 2920 */
  int eightbit ;     /* RFC 6152 */
  int starttls ;     /* RFC 3207 */
  int smtputf8 ;     /* RFC 6531 */
  int hassize ;      /* RFC 1870 */
  uint64_t size ;    /* 0: no fixed limit (SIZE alone, SIZE 0, or a number we cannot read) */
  int auth_plain ;   /* RFC 4954 mechanisms */
  int auth_login ;
} ;
#define SMTPREPLY_EXT_ZERO { .pipelining = 0, .eightbit = 0, .starttls = 0, .smtputf8 = 0, .hassize = 0, .size = 0, .auth_plain = 0, .auth_login = 0 }

/* fills ext from a complete 250 EHLO reply; unknown keywords are ignored */
extern void smtpreply_ehlo (smtpreply const *, smtpreply_ext *) ;

#endif
