/* ISC license: see LICENSE. */

#ifndef KETCH_LSPAWN_H
#define KETCH_LSPAWN_H

#include <stddef.h>

#include <skalibs/stralloc.h>
#include <skalibs/unixmessage.h>

/*
 * The protocol between the scheduler and its root helper local-spawn
 * (local-spawn(8)); both ends use this module.
 *
 * Requests go over a Unix stream socket as skalibs unixmessages: one
 * message per request, carrying the queue entry's descriptor (opened by
 * the scheduler, positioned after the envelope), its payload
 * NUL-terminated fields, the facts of the delivery and nothing derived
 * from them:
 *   tag  queue-id  timeout  sender  recipient  original
 * (original empty when the recipient came from no alias). A report is
 * one line per request, on a pipe:
 *   TAG CODE TEXT\n   the delivery's result as local-deliver's exit code
 *                     (0, 100, 111), TEXT its last word; 100 also when
 *                     local-spawn decided a delivery that can never be
 *                     made (lib/decide)
 *   TAG t TEXT\n      temporary failure before or around the delivery
 * TEXT with every octet < 32 or 127 replaced by a space.
 *
 * local-spawn's workers take their requests on a Unix stream socket,
 * each a netstring of the worker's arguments (lspawn_request_next) sent
 * in one sendmsg with the message's descriptor attached to its first
 * octet (lspawn_job_send, lspawn_job_recv): the worker waits in one
 * blocking recvmsg and has descriptor and arguments together, where a
 * descriptor sent on its own took a poll, a recvmsg and a read, and
 * local-spawn a sendmsg and a write.
 */

#define LSPAWN_REQ_MAX 65536   /* payload octets */
/*
 * A message whose payload is LSPAWN_RELOAD with its NUL, and no
 * descriptor, is the scheduler's SIGHUP passed on: local-spawn reads its
 * own configuration file again. It has no report.
 */
#define LSPAWN_RELOAD "reload"
#define LSPAWN_FIELDS_MAX 64
#define LSPAWN_REQ_FIELDS 6

/*
 * One message to local-spawn (a request, or LSPAWN_RELOAD) on the
 * scheduler's blocking socket: payload, its length, and nfds
 * descriptors. Sent whole, or taken back: a message left unsent must
 * not go later, with a descriptor closed (and reused) by then. 1, or 0
 * and errno.
 */
extern int lspawn_send (unixmessage_sender *, char const *, size_t, int *, unsigned int) ;

/* appends one request's payload. 1, or 0 and errno */
extern int lspawn_request (stralloc *, unsigned int, char const *, unsigned int, char const *, char const *, char const *) ;

/*
 * The first netstring in a buffer: 1 with the payload at s + *start for
 * *len octets and *used octets consumed; 0: incomplete, read more; -1:
 * garbled (not a netstring, or longer than LSPAWN_REQ_MAX).
 */
extern int lspawn_request_next (char const *, size_t, size_t *, size_t *, size_t *) ;

/* a payload's fields (at most max, each NUL-terminated inside it): their count */
extern unsigned int lspawn_fields (char const *, size_t, char const **, unsigned int) ;

/*
 * One request to a worker on stream socket s: the netstring of the
 * len octets of args, with descriptor fd attached (SCM_RIGHTS); buf is
 * the caller's buffer for the netstring, reused. 1, or 0 and errno
 * (EMSGSIZE: longer than LSPAWN_REQ_MAX).
 */
extern int lspawn_job_send (int, int, char const *, size_t, stralloc *) ;

/*
 * The worker's end: waits for the next request on stream socket s
 * (blocking) and reads until its netstring is whole, at most
 * LSPAWN_REQ_MAX octets of payload. 1: the payload at sa->s + *start
 * for *len octets, *fd the descriptor that came with it (close-on-exec);
 * 0: the end of the socket before a request; -1 and errno: an error, a
 * request without a descriptor or cut short, or garbled (EPROTO), with
 * no descriptor left open. Nothing follows a request until the worker
 * answers it, so what is read is this request alone.
 */
extern int lspawn_job_recv (int, stralloc *, size_t *, size_t *, int *) ;

/* appends one report line; code "t" for a temporary failure. 1, or 0 and errno */
extern int lspawn_report (stralloc *, char const *, char const *, char const *, size_t) ;

/*
 * A report line (without "\n"): 1 with *tag, *code (an exit code; "t"
 * or a bad code is KETCH_EX_TEMP) and *text; 0 if there is no tag.
 */
extern int lspawn_report_parse (char const *, unsigned int *, unsigned int *, char const **) ;

#endif
