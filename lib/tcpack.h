/* ISC license: see LICENSE. */

#ifndef KETCH_TCPACK_H
#define KETCH_TCPACK_H

/*
 * ACKs at once what a TCP connection has received, and what it receives
 * until we next send (Linux's TCP_QUICKACK). For the places where the
 * client writes twice before it waits for us: a client with Nagle's
 * algorithm on (most) holds its second write until its first is ACKed,
 * and Linux delays the ACK of data nothing answers (40 ms at least in a
 * session that trades replies). Sending anything ends it: the kernel
 * delays ACKs again. 0, or -1 (errno: fd is no TCP socket, or ENOSYS
 * where there is no TCP_QUICKACK); callers may ignore it.
 */
extern int tcpack_now (int) ;

#endif
