/* ISC license: see LICENSE. */

#ifndef KETCH_ENQCLIENT_H
#define KETCH_ENQCLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include <skalibs/tai.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "queue.h"

/*
 * Handing one message to the queue, for the programs that queue one at a
 * time: smtp-session, sendmail, and the scheduler for its bounces.
 *
 * enqclient_submit takes the envelope and decides the way in, the same
 * for every caller: enqueue-listen(8)'s socket when the configuration
 * names one (enqueue-socket) and a worker answers; else PROGRAMS/enqueue
 * -S, spawned with a pipe on its stdin and one on its stdout, which
 * speaks the same conversation on them (the flags below given as its
 * options: -H reason for the hold, an empty argument when there is no
 * reason; -D for sign; -N for nosign). Both give the queue id before
 * the message (the Received field that starts it can name it), and
 * both refuse an envelope with enqueue's exit code. The caller then
 * writes the message to h->fd as enqueue -S reads it (LF line ends,
 * dot-stuffed, then a line holding one dot: enqclient_stuff makes that
 * from a message held in memory) and calls enqclient_finish for the
 * code that commits it, or enqclient_abort first to queue nothing.
 * Callers ignore SIGPIPE: a server that stops reading (a refusal in
 * the middle of the message) is an EPIPE, and its code says why.
 *
 * The socket's conversation (enqueue-listen(8)):
 *
 *   client: one netstring (lib/netstr), the envelope: sender NUL
 *           auth-user NUL (empty when none), then every recipient
 *           followed by NUL; when the request carries flags (below),
 *           one more field first, the options: ':', the flags in
 *           decimal, ':', the reason (empty when none), NUL. No
 *           address starts with ':' (address_parse refuses it), so the
 *           two forms cannot be confused (a sender that starts with
 *           one all the same is sent after options, flags 0), and a
 *           request without flags is sent in the old form, which every
 *           server takes, the ones before the flags too;
 *   server: the queue id and LF (what enqueue -S prints first);
 *   client: the message as enqueue -S reads it, dot-stuffed, up to the
 *           final dot; or a shutdown of its writing side to abort;
 *   server: the code enqueue would have exited with, in decimal, and LF;
 *           for a refusal, enqueue's diagnostic, then end of file;
 *           after a 0, nothing: the connection is kept, and the
 *           client's next request starts the next message on it, or
 *           the client closes it (a server before the kept connections
 *           closed it after every code).
 *
 * A kept connection (enqueue-listen(8), 2026-12) saves a connect, an
 * accept and a hand-over to a worker per message. The server keeps it
 * only after a 0 with nothing unread behind the final dot, ends it after
 * two idle minutes between messages, at its worker's retirement, on a
 * reload or a stop; it never says so. The client (h->keep) keeps it only
 * after it read exactly "0\n" for a message it ended with its final dot:
 * both sides then hold nothing of the last message, and the next request
 * starts on an empty stream both ways.
 *
 * What a closed socket means, once: a socket that cannot be reached
 * (no server, its directory closed to the caller), that closes with
 * nothing written (a server whose pool is full, or one going away), or
 * that says nothing usable before the id (garbage, silence past the
 * deadline), is no server: enqueue is spawned, and the message goes in
 * all the same. Nothing can be queued before the id, so nothing is
 * queued twice. A code before the id is a refusal, as enqueue's would
 * be: no spawn. After the id, a socket that closes without a code is a
 * temporary failure (111): the message may be half written, and the
 * scheduler's recovery removes it. Since nothing is queued before the
 * id, a kept connection found closed before the id (the
 * request's write fails with EPIPE or ECONNRESET, or the answer is end
 * of file or ECONNRESET: a server that ended it, or a server from
 * before the kept connections, which closes after every code) is
 * replaced by a new one, once; then the rules above apply.
 */

#define ENQCLIENT_REQUEST_MAX (1 << 20)

/*
 * What the session says about the message beyond its envelope
 * (lib/submit.h has the same values, SUBMIT_F_*, and the rules on who
 * may say them). HOLD: queue it held, as queue-ctl hold would, until
 * queue-ctl release (a filter's quarantine: the milter protocol's
 * SMFIR_QUARANTINE); the hold is in the committed entry itself, so
 * the scheduler never sees the message unheld. reason, if not 0, is why: printable
 * ASCII, at most ENQCLIENT_REASON_MAX octets, anything else refused
 * (100). SIGN: the session vouches for the sender (an authenticated
 * client, or one from relay-from), so the message may be DKIM-signed;
 * only root, the queue owner and the smtp-user may say it. NOSIGN: the
 * message is not the submitter's own (a ~/.forward's, lib/deliver), so
 * it is never signed, whoever submits it; anyone may say it.
 */
#define ENQCLIENT_F_HOLD 0x1
#define ENQCLIENT_F_SIGN 0x2
/* LOCAL: a local program's submission (sendmail, smtp-session -L): the
   queue counts it as received by way "local" (ketch-stats(8)). Only a
   counter depends on it: anyone may say it. */
#define ENQCLIENT_F_LOCAL 0x4
#define ENQCLIENT_F_NOSIGN 0x8
#define ENQCLIENT_REASON_MAX 256

typedef struct enqclient_req_s enqclient_req ;
struct enqclient_req_s
{
  char const *conffile ;  /* given to a spawned enqueue as -C; 0: none */
  char const *sender ;    /* canonical; "" is the null sender */
  char const *auth ;      /* the authenticated user, or 0 */
  char const *rcpts ;     /* rlen octets: every recipient with its NUL, at least one */
  size_t rlen ;
  unsigned int flags ;    /* ENQCLIENT_F_*; 0: none */
  char const *reason ;    /* with ENQCLIENT_F_HOLD: why, or 0 */
  tain const *deadline ;  /* for the id; 0: wait as long as it takes */
} ;

typedef struct enqclient_s enqclient ;
struct enqclient_s
{
  int fd ;       /* the message goes here: the socket, or enqueue's stdin */
  pid_t pid ;    /* the spawned enqueue; 0: fd is enqueue-listen's socket */
  char id[QUEUE_ID_LEN + 1] ;
  int shut ;     /* the socket's writing side is ended (enqclient_abort): it is not kept */
  int keep ;     /* the caller's: 1 keeps the socket after a success for the next message (the session processes) */
  int kept ;     /* the socket kept from the last message, or -1; enqclient_close ends it */
} ;
#define ENQCLIENT_ZERO { .fd = -1, .pid = 0, .id = "", .shut = 0, .keep = 0, .kept = -1 }

/*
 * Starts the hand-off: 0 with the queue id in h->id, the message to be
 * written to h->fd; or the exit code of a refused envelope (100:
 * permanent; any other: temporary), diag (if not null) getting
 * enqueue-listen's words (a spawned enqueue writes its own on the
 * caller's stderr, which it shares); or -1 and errno when enqueue could
 * not be started (no memory, a failed spawn). A spawned enqueue that
 * died without a code is 111, and diag says so.
 */
extern int enqclient_submit (enqclient *, conf const *, enqclient_req const *, stralloc *) ;

/*
 * A reason fit for ENQCLIENT_F_HOLD from a filter's words (any octets:
 * a milter's SMFIR_QUARANTINE text): s[0..len) cut to
 * ENQCLIENT_REASON_MAX octets, every octet outside printable ASCII made
 * '?', into dst (ENQCLIENT_REASON_MAX + 1 octets), NUL-terminated.
 * Returns dst, or 0 when nothing is left (len 0): no reason.
 */
extern char const *enqclient_reason (char *, char const *, size_t) ;

/* appends s[0..len), a message with LF line ends, as enqueue -S reads it (RFC 5321 §4.5.2 with LF): a dot doubled at the start of a line, a last line given its LF, then ".\n". 1, or 0 (ENOMEM) */
extern int enqclient_stuff (stralloc *, char const *, size_t) ;

/* the same stuffing to any sink (lib/msgedit writes it to a descriptor through a buffer): put(ctx, piece, n) gets the pieces in order and returns 1, or 0 with errno, which stops the stuffing. 1, or 0 and put's errno */
typedef int enqclient_put_fn (void *, char const *, size_t) ;
extern int enqclient_stuff_to (enqclient_put_fn *, void *, char const *, size_t) ;

/* ends the message before its final dot: nothing is queued (the code is then 111) */
extern void enqclient_abort (enqclient *) ;

/* after the final dot, or enqclient_abort: enqueue's exit code (111 when none came), diag as for enqclient_submit; h is closed, but for a socket kept (h->keep) in h->kept */
extern int enqclient_finish (enqclient *, stralloc *) ;

/* ends a kept socket, if any (the server sees end of file) */
extern void enqclient_close (enqclient *) ;

/*
 * The parts of the socket's conversation that enqclient_submit and
 * enqclient_finish use, exported for the unit test and the fuzz harness.
 */

/* sends r's envelope and flags (conffile and deadline unused); 1 ok, 0 errno */
extern int enqclient_request (int, enqclient_req const *) ;

/* appends the request's netstring, as enqclient_request sends it; 1, or 0 (ENOMEM, E2BIG) */
extern int enqclient_request_encode (stralloc *, enqclient_req const *) ;

/*
 * The server's side: the payload s[0..len) of a request's netstring,
 * either form, read into r (sender, auth or 0, rcpts and rlen, flags,
 * reason or 0), its strings pointing into s; conffile and deadline are
 * left alone. 1, or 0 when it is malformed: not NUL-terminated, fewer
 * than three fields after the options, or options that are not ':',
 * 1 to 10 digits of an unsigned int, ':'. Total: no octet outside
 * s[0..len) is read. What the fields say is lib/submit's to check.
 */
extern int enqclient_request_parse (enqclient_req *, char const *, size_t) ;

/*
 * Waits (until the deadline; 0: no bound, and a blocking descriptor) for
 * the first answer: from enqueue-listen, or on the stdout of a spawned
 * enqueue -S, which prints its id the same way. 1: the id,
 * QUEUE_ID_LEN characters and a NUL, is in id. 0: no id; *status is the
 * server's exit code (and diag, if not null, gets its text) or -1 when
 * the server said nothing usable: spawn enqueue instead; errno is then
 * EPIPE when the server closed without an octet (ECONNRESET as read).
 */
extern int enqclient_id (int, char *, tain const *, int *, stralloc *) ;

/* after the final dot or an abort: the exit code (111 when none came); diag as above; closes the socket */
extern int enqclient_status (int, stralloc *) ;

/* the same, without the close: *clean is 1 when the answer was exactly "0\n", nothing after it read */
extern int enqclient_answer (int, stralloc *, int *) ;

#endif
