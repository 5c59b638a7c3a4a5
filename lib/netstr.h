/* ISC license: see LICENSE. */

#ifndef KETCH_NETSTR_H
#define KETCH_NETSTR_H

#include <stddef.h>

/*
 * Reading netstrings ("LEN:payload,") out of a buffer that fills by
 * pieces, as the scheduler's pipes to local-spawn and remote-send -b do
 * (writing is skalibs' netstring_appendb). Bounded: a length over max,
 * or more than 20 digits, is garbled, never waited for.
 *
 * The first netstring in s[0..n): 1 with the payload at s + *start for
 * *len octets and *used octets consumed; 0: incomplete, read more; -1:
 * garbled.
 */
extern int netstr_next (char const *, size_t, size_t, size_t *, size_t *, size_t *) ;

#endif
