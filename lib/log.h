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
 * A batched writer, for a daemon's event loop: the lines of one pass are
 * kept and written together before it waits (log_batch_flush), so that
 * a pass costs one write, not one per line. A write holds whole lines
 * and at most LOG_BATCH octets (PIPE_BUF), so that on a pipe to s6-log
 * it is never mixed with another writer's line (a child's). A line
 * longer than LOG_BATCH, or one that finds no memory, is written alone,
 * at once, after what was kept. Write errors are not reported: a log
 * that cannot be written is no reason to stop delivering.
 */
#define LOG_BATCH 4096
typedef struct log_batch_s log_batch ;
struct log_batch_s
{
  int fd ;
  stralloc buf ;    /* whole lines kept, at most LOG_BATCH octets */
  stralloc line ;   /* the line being made */
} ;
#define LOG_BATCH_ZERO(f) { .fd = (f), .buf = STRALLOC_ZERO, .line = STRALLOC_ZERO }

/* one line (id and the fields of v, as log_line makes it) kept, or written if it cannot be */
extern void log_batch_put (log_batch *, char const *, char const *const *) ;

/* what is kept written in one write */
extern void log_batch_flush (log_batch *) ;

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
