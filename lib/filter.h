/* ISC license: see LICENSE. */

#ifndef KETCH_FILTER_H
#define KETCH_FILTER_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "conf.h"
#include "milter.h"

/*
 * The filters of one SMTP session (a listener's "filter" words) or of one
 * sendmail submission (local-filter): a list of milters (lib/milter)
 * taken in the configuration's order, each stage given to each in turn,
 * and the message held in memory (lib/msgedit) while they change it.
 * lib/smtpd and sendmail call the same stages; this module holds what
 * both need: the verdict of a stage, the macros, the end-of-message loop,
 * the envelope changes, the logs (ketch.conf(5), conf/LOGS.md).
 *
 * A stage's verdict: the filters are asked in order and the first answer
 * that is not "continue" wins; the later filters are not asked (Postfix
 * does the same). ACCEPT is "continue" for the others: the filter that
 * said it sees nothing more of the message (or connection). A filter that
 * fails (down, timed out, broke the protocol: MILTER_FAIL) is logged
 * once, then either makes every later stage of the session TEMPFAIL
 * (on-failure tempfail, the default, as Postfix's milter_default_action
 * advice) or is skipped for the rest of the session (on-failure accept).
 *
 * The end of message runs each filter over the message as the filters
 * before it left it (Postfix does the same): headers, end of headers,
 * body chunks, end of message, then its header and body changes applied
 * (msgedit_apply) and its envelope changes taken (addresses parsed and
 * made canonical by lib/address, as the session's own; one that does not
 * parse means the filter broke the protocol). Recipients are bounded by
 * limit recipients, the message by limit message-size.
 *
 * Deadlines: every filter timeout is cut to what is left of the caller's
 * limit (the SMTP session's own deadline), so that a filter that hangs
 * never keeps the session from answering in time.
 *
 * Invariants: the connections are the caller's alone (one per filter per
 * session, never shared); filterset_close closes all of them; logs are
 * whole lines on logfd (lib/log), keyed by the caller's id.
 */

/* the macros a session knows, by what they mean; filter_macro sets one.
   Not sent: {auth_type} (the session keeps no mechanism), {cipher_bits},
   the certificate ones (no client certificates), {if_name} */
enum filter_mac_e
{
  FILTER_MAC_J = 0,           /* j: our host name */
  FILTER_MAC_DAEMON_NAME,     /* {daemon_name}: "ketch" */
  FILTER_MAC_DAEMON_ADDR,     /* {daemon_addr}: the address the client reached */
  FILTER_MAC_IF_ADDR,         /* {if_addr}: the same */
  FILTER_MAC_CLIENT_ADDR,     /* {client_addr} */
  FILTER_MAC_CLIENT_NAME,     /* {client_name}: without a resolver, the address in brackets */
  FILTER_MAC_CLIENT_PTR,      /* {client_ptr}: the same */
  FILTER_MAC_CLIENT_PORT,     /* {client_port} */
  FILTER_MAC_UNDERSCORE,      /* _: "helo [addr]" as Sendmail gives it */
  FILTER_MAC_V,               /* v: "ketch" */
  FILTER_MAC_TLS_VERSION,     /* {tls_version} */
  FILTER_MAC_CIPHER,          /* {cipher} */
  FILTER_MAC_I,               /* i: the session id (the queue id is known only once queued) */
  FILTER_MAC_AUTH_AUTHEN,     /* {auth_authen} */
  FILTER_MAC_MAIL_MAILER,     /* {mail_mailer}: "smtp" or "local" */
  FILTER_MAC_MAIL_HOST,       /* {mail_host} */
  FILTER_MAC_MAIL_ADDR,       /* {mail_addr} */
  FILTER_MAC_RCPT_MAILER,     /* {rcpt_mailer} */
  FILTER_MAC_RCPT_HOST,       /* {rcpt_host} */
  FILTER_MAC_RCPT_ADDR,       /* {rcpt_addr} */
  FILTER_MAC_N
} ;

#define FILTER_REPLY_MAX 1000  /* the longest filter reply given as is (lib/smtpd's output buffer holds 1 KiB) */
#define FILTER_MAX 16   /* filters a session runs at most (more are refused by filterset_open) */

typedef struct filterset_s filterset ;
struct filterset_s
{
  milter *m ;               /* n of them, on the heap: a session without filters allocates nothing */
  unsigned char *onfail ;   /* CONF_FILTER_*, per filter */
  unsigned char *failed ;   /* 1: failed and logged (tempfail: every stage fails; accept: skipped) */
  unsigned int n ;
  conf const *cf ;
  tain const *limit ;       /* the caller's deadline: no filter wait goes past it */
  int logfd ;               /* -1: no logs */
  char const *id ;          /* the logs' key: the session id */
  char const *mac[FILTER_MAC_N] ; /* 0: not sent */
  stralloc facts ;          /* filter_client's values */
  stralloc mailaddr ;       /* {mail_addr}'s */
  char const *host ;        /* the connect stage's host name, in facts */
  uint16_t port ;
  int discard ;             /* a filter said DISCARD: the message is accepted and dropped */
  int hold ;                /* a filter said QUARANTINE: queued held, reason below */
  stralloc reason ;         /* printable ASCII, at most ENQCLIENT_REASON_MAX octets, NUL-terminated */
  stralloc reply ;          /* the SMTP reply of the last REJECT/TEMPFAIL: lines CRLF-joined, no final CRLF */
  stralloc msg ;            /* the message held (stored form): filter_hold appends, filter_eom changes */
  stralloc tmp ;
  milter_mods mods ;
  stralloc logsa, q, q2 ;
  int unstuff_bol ;         /* filter_hold: at a line's start */
} ;
#define FILTERSET_ZERO { .m = 0, .onfail = 0, .failed = 0, .n = 0, .cf = 0, .limit = 0, .logfd = -1, .id = "", .mac = { 0 }, .facts = STRALLOC_ZERO, .mailaddr = STRALLOC_ZERO, .host = 0, .port = 0, .discard = 0, .hold = 0, .reason = STRALLOC_ZERO, .reply = STRALLOC_ZERO, .msg = STRALLOC_ZERO, .tmp = STRALLOC_ZERO, .mods = MILTER_MODS_ZERO, .logsa = STRALLOC_ZERO, .q = STRALLOC_ZERO, .q2 = STRALLOC_ZERO, .unstuff_bol = 1 }

/* the filters named (offsets into cf->sa, conf_filter_find's names), in
   order, set up without connecting: 1, or 0 and errno (ENOMEM; E2BIG over
   FILTER_MAX). n 0 is valid and allocates nothing. */
extern int filterset_init (filterset *, conf const *, size_t const *names, unsigned int n, int logfd, char const *id, tain const *limit) ;

/* a macro's value (kept by the caller while the set is used), or 0 */
extern void filter_macro (filterset *, enum filter_mac_e, char const *) ;

/* the client's facts as macros ({client_addr}, {client_name} "unknown"
   (we resolve no names, as Postfix says without one), {client_port},
   {daemon_addr}, {if_addr}, _) and the connect stage's host name "[ip]"
   and port, kept in fs; ip 0 for a local submission: "localhost". 1, or 0 (ENOMEM) */
extern int filter_client (filterset *, char const *ip, char const *port, char const *localip) ;

/* the reply's code set to code (3 digits) on every line: a refusal at
   connect is a greeting, 554 or 421 (RFC 5321 §3.1, §4.2.3) whatever the
   filter said */
extern void filter_reply_code (filterset *, char const *code) ;

/*
 * The stages. Each returns the verdict, an enum milter_act_e:
 * MILTER_CONTINUE (go on), MILTER_REJECT or MILTER_TEMPFAIL with fs->reply
 * the SMTP reply to give (the filter's, or 550 5.7.1 / 451 4.7.1), or
 * MILTER_DISCARD (fs->discard is set: accept and drop the message). Never
 * MILTER_ACCEPT nor MILTER_FAIL: those are resolved here.
 * filter_connect also connects (milter_open). family and addr as
 * milter_connect's.
 */
extern int filter_connect (filterset *, char const *hostname, char family, uint16_t port, char const *addr) ;
/* tlsversion, cipher: the session's TLS ({tls_version}, {cipher}), or 0 */
extern int filter_helo (filterset *, char const *helo, char const *tlsversion, char const *cipher) ;
/* sender, rcpt: canonical, "" for the null sender; params: the ESMTP
   parameters as the command gave them (words separated by spaces), plen
   octets; authuser: the AUTH user ({auth_authen}), or 0 */
extern int filter_mail (filterset *, char const *sender, char const *params, size_t plen, char const *authuser) ;
extern int filter_rcpt (filterset *, char const *rcpt, char const *params, size_t plen) ;
extern int filter_data (filterset *) ;

/* DATA's output (lib/smtp smtp_data_feed: dot-stuffed, LF ends, ".\n" at
   the end) kept in fs->msg in stored form; max bounds it (1, or 0 and
   errno EFBIG or ENOMEM) */
extern int filter_hold (filterset *, char const *, size_t, uint64_t max) ;
/* after the whole message: the final dot's line end removed */
extern void filter_hold_end (filterset *) ;

/*
 * The end of message: every filter in order over fs->msg, which holds the
 * changed message afterwards; sender (canonical, NUL-terminated) and
 * rcpts (NUL-separated, *nrcpt of them) are the envelope, changed in
 * place; utf8: addresses may hold UTF-8 (SMTPUTF8). The verdict as the
 * stages'; a message left with no recipient is discarded (logged).
 */
extern int filter_eom (filterset *, stralloc *sender, stralloc *rcpts, unsigned int *nrcpt, int utf8) ;

/* the end of a message (RSET, refused, queued): every filter is told;
   the held message, the discard and hold marks are cleared */
extern void filter_abort (filterset *) ;

/* every connection closed, everything freed: back to FILTERSET_ZERO */
extern void filterset_close (filterset *) ;

/*
 * A session's set on the heap, from filterset_init to filter_connect
 * (ip 0: a local submission); the verdict at connect, with a refusal's
 * reply made a greeting's (554 for a reject, 421 for a tempfail).
 * MILTER_FAIL: out of memory, *fsp 0. filterset_free closes and frees
 * it, and sets *fsp to 0.
 */
extern int filterset_start (filterset **fsp, conf const *, size_t const *names, unsigned int n, int logfd, char const *id, tain const *limit,
  char const *ip, char const *port, char const *localip, char family) ;
extern void filterset_free (filterset **) ;

#endif
