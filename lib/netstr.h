/* ISC license: see LICENSE. */

#ifndef KETCH_NETSTR_H
#define KETCH_NETSTR_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * Netstrings ("LEN:payload,") whose payload is a list of fields, each a
 * string with its NUL: the framing of every pipe and socket between
 * ketch programs that carries more than one line (the scheduler's jobs
 * for remote-send -b, its requests to local-spawn and the worker's copy
 * of them, the envelope a client sends to enqueue-listen). A field
 * cannot hold a NUL; the empty string is a field (one NUL).
 *
 * Writing: the fields are appended to a stralloc with netstr_field (or,
 * for a list already kept as NUL-terminated strings end to end, with
 * stralloc_catb), then netstr_seal makes everything from a start offset
 * one netstring, in place: no second copy of the payload.
 *
 * Reading: a buffer fills by pieces; netstr_next finds the first
 * netstring in it, bounded (a length over max, or more than 20 digits,
 * is garbled, never waited for), and netstr_fields splits its payload.
 */

/* appends s and its NUL. 1, or 0 (ENOMEM) */
extern int netstr_field (stralloc *, char const *) ;

/*
 * The octets of sa from start to its end become the payload of one
 * netstring: the length is put before them, the comma after. 1; or 0
 * and sa->len back to start, with errno ENOMEM, or E2BIG when the
 * payload is longer than max.
 */
extern int netstr_seal (stralloc *, size_t, size_t) ;

/*
 * The first netstring in s[0..n): 1 with the payload at s + *start for
 * *len octets and *used octets consumed; 0: incomplete, read more; -1:
 * garbled.
 */
extern int netstr_next (char const *, size_t, size_t, size_t *, size_t *, size_t *) ;

/*
 * The fields of a payload s[0..len): each ends at a NUL, and octets
 * after the last NUL are no field. Their count, at most max; with f not
 * null, f[i] points to the i-th (inside s). A reader that wants the
 * whole payload in fields checks that it ends with a NUL.
 */
extern size_t netstr_fields (char const *, size_t, char const **, size_t) ;

#endif
