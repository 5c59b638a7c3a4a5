/* ISC license: see LICENSE. */

#ifndef KETCH_JOB_H
#define KETCH_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "conf.h"
#include "envelope.h"
#include "lookup.h"
#include "qstate.h"
#include "queue.h"

/*
 * A message the scheduler has loaded: its envelope and its delivery
 * state (spool-layout/SPOOL), with what the scheduler keeps about it
 * while it is in memory. job_read loads it; job_expand replaces each
 * alias among its recipients by the recipients after it (lib/expand),
 * and keeps every other recipient's lookup for the dispatch of the
 * same pass, so that a recipient is looked up once per pass.
 *
 * What happens to recipients is told to the caller as events (the
 * scheduler logs them); this module never prints.
 */

typedef struct job_s job ;
struct job_s
{
  uint32_t ent ;         /* the caller's index entry (lib/schedq) */
  char id[QUEUE_ID_LEN + 1] ;
  envelope e ;
  qstate q ;
  stralloc busy ;        /* one octet per recipient: 1 while a delivery runs */
  unsigned int inflight ;
  int force ;            /* every recipient due now */
  int forcedom ;         /* recipients in force_domains due now */
  int remove ;           /* queue-ctl remove: when nothing is in flight */
  int dirty ;            /* q differs from the state file */
  int blocked ;          /* something is due but a limit stopped it */
  uint64_t bounce_next ; /* a failed injection of a bounce is retried then */
  genalloc looked ;      /* lookup, by recipient: this pass's answers (kind JOB_LOOKED_NONE: none) */
  int fd ;               /* the entry as job_read opened it, until the end of the step that follows (or while a limit blocks the job), or -1 */
  int nostate ;          /* set by the caller before job_read: no state file can exist, the initial state is built without looking */
} ;
#define JOB_LOOKED_NONE UINT_MAX

/* a job for id (QUEUE_ID_LEN octets) and entry ent, empty: 0 if no memory */
extern job *job_new (char const *, uint32_t) ;
extern void job_free (job *) ;

/* job_read: what the entry gave */
#define JOB_READ_OK 0
#define JOB_READ_GONE 1    /* no entry (removed by hand, a stale hint): its orphan state file, if any, is unlinked */
#define JOB_READ_ERROR 2   /* the entry cannot be opened (errno): look again soon */
#define JOB_READ_BAD 3     /* corrupt or unreadable (errno): look again in an hour, never lose it */
#define JOB_READ_NOMEM 4
extern unsigned int job_read (job *) ;

/*
 * The entry, positioned at off, for one reader: the descriptor job_read
 * left open, once (a second reader would share its offset), else opened
 * again. The caller closes it. -1 and errno on failure.
 * job_entry_close closes what job_read left, at the end of the step that
 * follows the read, unless a limit blocked the job (the scheduler keeps
 * it for the job's next step): a job waiting for a retry holds no
 * descriptor.
 */
extern int job_entry (job *, size_t) ;
extern void job_entry_close (job *) ;

/* no recipient was ever tried: the first time the scheduler sees the message */
extern int job_fresh (job const *) ;

/* every recipient is done (lib/outcome) */
extern int job_done (job const *) ;

/*
 * A delivery holds its recipients while it runs, or waits to start:
 * their busy flags are set and the job counts it in inflight (on 1), so
 * that neither another dispatch nor the job's end takes them; or they
 * are freed again (on 0).
 */
extern void job_hold (job *, unsigned int const *, size_t, int) ;

/* recipient i failed permanently with text, which stays (a literal) */
extern void job_fail (job *, size_t, char const *) ;

/*
 * Recipient r of j is due at time now: its time has come, or a retry
 * forced it (force, or forcedom and its domain among forced: the
 * domains "retry domain" named, NUL-terminated strings, any case).
 */
extern int job_due (job const *, qstate_rcpt const *, uint64_t, stralloc const *) ;

/* domain is among forced (as for job_due) */
extern int job_domain_forced (stralloc const *, char const *) ;

/*
 * One job of remote-send's batch (lib/report) for j's recipients rcpts
 * (n of them): the id, the header length, the flags, the sender and the
 * addresses, appended to sa. 1, or 0 and errno.
 */
extern int job_batch_put (stralloc *, job const *, unsigned int const *, size_t) ;

/* expansion events, in the order they happen */
enum job_ev_e
{
  JOB_EV_RCPT,         /* alias gave text, added as recipient rcpt */
  JOB_EV_FAILED,       /* recipient rcpt failed permanently (text: why) */
  JOB_EV_UNREADABLE,   /* alias lists :include: text, unreadable (err) */
  JOB_EV_TOODEEP,      /* alias nests :include: too deep */
  JOB_EV_TOOMANY,      /* the message is at EXPAND_MAX: alias's text is not added */
  JOB_EV_SKIPPED       /* alias has entry text, which is no recipient */
} ;

typedef struct job_event_s job_event ;
struct job_event_s
{
  unsigned int kind ;
  char const *alias ;  /* the alias, or 0 (FAILED) */
  char const *text ;
  size_t rcpt ;
  int err ;
} ;
typedef void job_event_func (job *, job_event const *, void *) ;

/*
 * The recipients not tried yet, looked up (c): an unknown one fails,
 * an alias is replaced by its entries (recipients added once, never
 * twice, which alone breaks every loop; EXPAND_DEPTH, EXPAND_MAX), any
 * other keeps its lookup (job_looked). A temporary failure of a lookup
 * leaves the recipient to the dispatch, which retries it.
 */
extern void job_expand (job *, conf const *, job_event_func *, void *) ;

/* recipient i's lookup of this pass, or 0 */
extern lookup *job_looked (job *, size_t) ;

/* the lookups of the pass are dropped: the next pass asks again (the tables may change) */
extern void job_looked_drop (job *) ;

#endif
