/* ISC license: see LICENSE. */

#ifndef KETCH_QSTATE_H
#define KETCH_QSTATE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "envelope.h"

/*
 * The delivery state of one message, state/xx/ID (spool-layout/SPOOL,
 * "state file"). Only the scheduler writes it, always whole: a new file
 * in tmp/, fsync, rename over the old one, fsync of the directory. No
 * state file means: every envelope recipient pending, never tried.
 *
 *   ketch-state 1 TAB flags                 flags: "-" or a comma list of hold, warned
 *   status TAB attempts TAB next TAB address TAB original TAB result
 *
 * one line per recipient, the envelope's first, in order, then any added
 * by alias expansion. next is the Unix time of the next attempt (0: now);
 * original is the envelope recipient an expansion came from, or "-";
 * result is the last attempt's answer with control octets and tabs
 * replaced by spaces, or "-".
 *
 * The initial state (qstate_from_envelope) is held when the envelope
 * says hold (a message quarantined at entry); from the first state file
 * on, the file's flags alone say it, so a release is written down and
 * the envelope's hold never comes back.
 *
 * stored says whether a state file may exist for the message: qstate_read
 * found one, or qstate_write was called (from its first step on, since a
 * failed write may still have renamed the file into place). The
 * scheduler, the only writer, so knows that a message it read without a
 * state file and never wrote one has none, and its removal unlinks none
 * (lib/qremove): one system call less per message, most of which never
 * have a state file (SPOOL §2).
 */

enum qstate_status_e
{
  QSTATE_PENDING,    /* not yet tried, or to try again */
  QSTATE_DEFERRED,   /* failed temporarily; retry at next */
  QSTATE_DELIVERED,  /* done */
  QSTATE_FAILED,     /* failed permanently; a bounce is owed */
  QSTATE_BOUNCED,    /* failed, and the bounce is in the queue (or none was owed) */
  QSTATE_EXPANDED,   /* an alias, replaced by the recipients after it */
  QSTATE_NSTATUS
} ;

#define QSTATE_F_HOLD 0x01
#define QSTATE_F_WARNED 0x02

typedef struct qstate_rcpt_s qstate_rcpt ;
struct qstate_rcpt_s
{
  unsigned int status ;
  unsigned int attempts ;
  uint64_t next ;
  size_t addr ;       /* offsets into qstate.sa */
  size_t orig ;       /* 0: none */
  size_t result ;     /* 0: none */
} ;

typedef struct qstate_s qstate, *qstate_ref ;
struct qstate_s
{
  stralloc sa ;
  genalloc rcpt ;     /* qstate_rcpt */
  unsigned int flags ;
  int stored ;        /* not in the file: a state file may exist (above) */
} ;
#define QSTATE_ZERO { .sa = STRALLOC_ZERO, .rcpt = GENALLOC_ZERO, .flags = 0, .stored = 0 }

extern char const *qstate_status_name (unsigned int) ;
extern int qstate_from_envelope (qstate *, envelope const *) ;
extern int qstate_add_rcpt (qstate *, char const *, char const *) ;
extern int qstate_set_result (qstate *, size_t, char const *, size_t) ;
extern int qstate_encode (qstate const *, stralloc *) ;
extern int qstate_decode (qstate *, char const *, size_t) ;
extern int qstate_read (qstate *, char const *, envelope const *) ;
extern int qstate_write (qstate *, char const *) ;
extern void qstate_free (qstate *) ;

#define qstate_n(q) genalloc_len(qstate_rcpt, &(q)->rcpt)
#define qstate_get(q, i) (genalloc_s(qstate_rcpt, &(q)->rcpt) + (i))
#define qstate_str(q, off) ((q)->sa.s + (off))

#endif
