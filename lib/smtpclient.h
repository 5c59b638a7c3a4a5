/* ISC license: see LICENSE. */

#ifndef KETCH_SMTPCLIENT_H
#define KETCH_SMTPCLIENT_H

#include <stddef.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "smtpreply.h"
#include "tlsclient.h"

/*
 * The client side of one SMTP or LMTP connection (RFC 5321, RFC 2033):
 * commands out, replies in (lib/smtpreply), every step bounded by an
 * absolute deadline, the switch to TLS (RFC 3207, lib/tlsclient), AUTH
 * (RFC 4954), and the message body in its wire form (lib/smtpdata).
 * What to send and what a reply means for a recipient is the caller's:
 * this module knows connections, not hosts, routes or results.
 *
 * The caller connects a nonblocking socket, TCP or Unix, and hands it to
 * smtpc_init with a limit: no step's deadline ever goes past it (the
 * delivery's own deadline). Each call then takes the seconds its step
 * may last (RFC 5321 §4.5.3.2's timeouts); the deadline of a step is
 * now + secs, or the limit if sooner. A function that fails returns 0
 * with errno set (ETIMEDOUT at the deadline, EPIPE when the peer
 * closed, EPROTO when it does not speak SMTP); smtpc_error words it,
 * TLS errors included. After a failure the connection is unusable:
 * smtpc_close it.
 *
 * Pipelining (RFC 2920): smtpc_put queues commands, smtpc_flush sends
 * them in one write, and smtpc_reply reads the replies one by one, in
 * order. smtpc_command is put + flush + reply for one command.
 *
 * LMTP (RFC 2033) uses the same calls: "LHLO" as smtpc_ehlo's verb
 * (there is no HELO fallback in LMTP), MAIL, RCPT and DATA as in SMTP,
 * smtpc_data for the body, then one smtpc_reply per recipient that RCPT
 * accepted, in RCPT order (§4.2), instead of a single one.
 *
 * The struct holds a 4 kB input buffer: make it static or part of a
 * static state. The tlsclient (BearSSL's buffers) is the caller's too.
 */

#define SMTPC_LINE_MAX 4096   /* RFC 5321 §4.5.3.1.5 says 512; be lenient, but bounded */

typedef struct smtpc_s smtpc, *smtpc_ref ;
struct smtpc_s
{
  int fd ;                 /* -1: not connected */
  tlsclient *tls ;         /* 0 until smtpc_starttls succeeds */
  tain const *limit ;      /* no deadline beyond it; 0: none */
  tain deadline ;          /* the current step's */
  stralloc out ;           /* commands queued, not yet sent */
  stralloc line ;          /* the reply line being read */
  smtpreply reply ;        /* the last reply read */
  size_t inpos ;
  size_t inlen ;
  char inbuf[4096] ;
} ;
#define SMTPC_ZERO { .fd = -1, .tls = 0, .limit = 0, .deadline = TAIN_ZERO, .out = STRALLOC_ZERO, .line = STRALLOC_ZERO, .reply = SMTPREPLY_ZERO, .inpos = 0, .inlen = 0 }

/* takes a connected nonblocking fd; limit may be 0, and is read at every step (the caller may move it) */
extern void smtpc_init (smtpc *, int, tain const *) ;
/* closes the fd, forgets TLS and anything buffered; the allocations are kept for the next connection */
extern void smtpc_close (smtpc *) ;
extern void smtpc_free (smtpc *) ;

/* the deadline for a step of secs seconds from now (capped by the limit): for steps the caller times itself */
extern void smtpc_deadline (smtpc *, unsigned int) ;

/* queues the line a b c CRLF (b and c may be 0). 1, or 0 (ENOMEM) */
extern int smtpc_put (smtpc *, char const *, char const *, char const *) ;
/* sends what is queued, in one write (RFC 2920 §3.1), within secs. 1, or 0 */
extern int smtpc_flush (smtpc *, unsigned int) ;
/* reads one whole reply into c->reply within secs. 1, or 0 */
extern int smtpc_reply (smtpc *, unsigned int) ;
/* smtpc_put (a, b) + smtpc_flush + smtpc_reply. 1 with the reply in c->reply, or 0 */
extern int smtpc_command (smtpc *, char const *, char const *, unsigned int) ;

/*
 * verb ("EHLO", or "LHLO" for LMTP) name: 1 when a reply was read. A 2xx
 * to it fills *e (RFC 5321 §4.1.1.1). To a 5xx EHLO, HELO name is tried
 * (§3.2); *e then stays empty, and c->reply is HELO's. *helo says which
 * verb the last reply answers (0: the verb, 1: HELO). 0 on I/O errors.
 */
extern int smtpc_ehlo (smtpc *, char const *, char const *, smtpreply_ext *, int *, unsigned int) ;

/*
 * After a 220 to STARTTLS: the TLS handshake on the connection (RFC
 * 3207 §4.2). What the server sent after its 220 and before the
 * handshake is thrown away, never read as a reply: its length is
 * returned in *discarded (the 2011 STARTTLS injection class). 1, and
 * every later call goes through t; 0 when the handshake failed
 * (tlsclient_error(t), or errno).
 */
extern int smtpc_starttls (smtpc *, tlsclient *, char const *, int, tlsclient_anchors const *, size_t *, unsigned int) ;

/*
 * AUTH (RFC 4954) with user and password: PLAIN with an initial
 * response when plain, else LOGIN. 1 when the last reply was read
 * (235: authenticated; anything else refused it, in c->reply); 0 on I/O
 * errors. The credentials in the output buffer are wiped.
 */
extern int smtpc_auth (smtpc *, char const *, size_t, char const *, size_t, int, unsigned int) ;

/*
 * The body after a 354: wire is smtpdata_encode's output (CRLF lines,
 * dot-stuffed, with the final dot), sent in blocks with secs for each
 * (RFC 5321 §4.5.3.2.5), the final dot never alone in a write of its
 * own. The reply (SMTP) or replies (LMTP) are then read with
 * smtpc_reply. 1, or 0.
 */
extern int smtpc_data (smtpc *, char const *, size_t, unsigned int) ;

/* polite end: QUIT, its reply awaited for at most secs, then smtpc_close */
extern void smtpc_quit (smtpc *, unsigned int) ;

/* the reason of the last failure, in words: the TLS engine's if it failed, else errno's */
extern char const *smtpc_error (smtpc const *) ;

#endif
