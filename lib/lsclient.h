/* ISC license: see LICENSE. */

#ifndef KETCH_LSCLIENT_H
#define KETCH_LSCLIENT_H

#include <sys/types.h>

#include <skalibs/stralloc.h>
#include <skalibs/unixmessage.h>

/*
 * The scheduler's end of local-spawn, its root helper (lib/lspawn is
 * the protocol, local-spawn(8) the other end): the child forked with
 * its request socket and report pipe, requests sent with a tag each,
 * reports read. The scheduler keeps the deliveries (lib/ldlv) and
 * matches a report to one by its tag.
 */

typedef struct lsclient_s lsclient ;
struct lsclient_s
{
  pid_t pid ;              /* 0: not started */
  int w ;                  /* the request socket, blocking; -1: not started */
  int r ;                  /* the report pipe, non-blocking; -1: not started */
  unixmessage_sender s ;   /* on w */
  unsigned int tag ;       /* the last tag given; tags are never 0 */
  stralloc req ;           /* the request being sent */
} ;
#define LSCLIENT_ZERO { .pid = 0, .w = -1, .r = -1, .s = UNIXMESSAGE_SENDER_ZERO, .tag = 0, .req = STRALLOC_ZERO }

/*
 * Forks local-spawn's process. Requests carry descriptors: a socket;
 * reports are lines: a pipe. The child returns 0 with the socket on its
 * fd 0 and the pipe on its fd 1 (it exits KETCH_EX_TEMP if it cannot
 * put them there), for its caller to exec local-spawn; the parent
 * returns the pid, with w and r close-on-exec and r non-blocking. -1
 * and errno with *what naming the step that failed: "pipe", "fork", or
 * "set up the local-spawn pipes".
 */
extern pid_t lsclient_fork (lsclient *, char const **) ;

/*
 * Sends one request (lspawn_request's fields after the tag) with the
 * queue entry open on fd, positioned at the message: the tag it was
 * given, or 0 and errno.
 */
extern unsigned int lsclient_request (lsclient *, int, char const *, unsigned int, char const *, char const *, char const *) ;

/* LSPAWN_RELOAD sent: 1, or 0 and errno */
extern int lsclient_reload (lsclient *) ;

/*
 * What the report pipe holds, appended to sa: 1 when it is drained (a
 * read shorter than its buffer took all there was: the caller's poll
 * wakes it again for more, or for the end), 0 when local-spawn closed
 * it, -1 and errno when the read failed, -2 and errno without memory.
 */
extern int lsclient_read (lsclient *, stralloc *) ;

#endif
