/* ISC license: see LICENSE. */

#ifndef KETCH_LOG_H
#define KETCH_LOG_H

#include <stdint.h>

#include <skalibs/stralloc.h>

/*
 * Log lines, OpenSMTPD's way: one line per event, the session or queue
 * id first, then key=value fields, untrusted values quoted:
 *   006b0133f96614f000d0af13 delivery rcpt="a@b" result=ok text="..."
 * The program writes the line (to stderr, for s6-log); this module only
 * formats it.
 */

/*
 * Appends id and the fields of v (0-terminated) and "\n" to sa: fields
 * are separated by a space, except that a field ending in '=' is glued
 * to the next (key= and its value are one field); empty strings are
 * skipped. 1, or 0 and errno.
 */
extern int log_line (stralloc *, char const *, char const *const *) ;

/*
 * The same line, made in sa (emptied first), then written to fd in one
 * write: lines of concurrent writers never interleave. No stdio buffer:
 * a forked SMTP session then writes no page of initialised data it
 * would share with smtp-listen (W3, t/bench/README.md). 1, or 0 and errno.
 */
extern int log_put (int, stralloc *, char const *, char const *const *) ;

/*
 * Formatters for log arguments, from rings of LOG_RING buffers: a result
 * stays valid for the next LOG_RING - 1 calls of the same function, so
 * one log line may use up to LOG_RING of each. Not reentrant.
 */
#define LOG_RING 8
extern char const *log_quote (char const *) ;  /* string_quote'd, in double quotes; "\"?\"" without memory */
extern char const *log_u64 (uint64_t) ;

/* len octets of s quoted as log_quote does, into the caller's sa (emptied
   first): for a caller that must wipe what it logged (an SMTP session
   serving another client next) */
extern char const *log_quoteb (stralloc *, char const *, size_t) ;

#endif
