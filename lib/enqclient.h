/* ISC license: see LICENSE. */

#ifndef KETCH_ENQCLIENT_H
#define KETCH_ENQCLIENT_H

#include <stddef.h>

#include <skalibs/tai.h>
#include <skalibs/stralloc.h>

/*
 * The client side of enqueue-listen(8), for the programs that hand over
 * one message at a time (smtp-session, sendmail). The conversation, on
 * a Unix stream socket:
 *
 *   client: one netstring, the envelope: sender NUL auth-user NUL (empty
 *           when none), then every recipient followed by NUL;
 *   server: the queue id and LF (what enqueue -S prints first);
 *   client: the message as enqueue -S reads it, dot-stuffed, up to the
 *           final dot; or a shutdown of its writing side to abort;
 *   server: the code enqueue would have exited with, in decimal, and LF;
 *           for a refusal, enqueue's diagnostic; then end of file.
 *
 * A connection closed with nothing written (a server whose pool is
 * full, or one going away) means: run enqueue instead. So does
 * any failure before an id came back; nothing can be queued before it.
 */

#define ENQCLIENT_REQUEST_MAX (1 << 20)

/* a connected, blocking, close-on-exec socket, or -1 (errno) */
extern int enqclient_connect (char const *) ;

/* sends the envelope; rcpts holds rlen octets of NUL-terminated addresses; 1 ok, 0 errno */
extern int enqclient_request (int, char const *, char const *, char const *, size_t) ;

/*
 * Waits (until the deadline; 0: no bound, and a blocking descriptor) for
 * the first answer: from enqueue-listen, or on the stdout of a spawned
 * enqueue -S, which prints its id the same way. 1: the id,
 * QUEUE_ID_LEN characters and a NUL, is in id. 0: no id; *status is the
 * server's exit code (and diag, if not null, gets its text) or -1 when
 * the server said nothing usable: spawn enqueue instead.
 */
extern int enqclient_id (int, char *, tain const *, int *, stralloc *) ;

/* after the final dot or an abort: the exit code (111 when none came); diag as above; closes the socket */
extern int enqclient_status (int, stralloc *) ;

#endif
