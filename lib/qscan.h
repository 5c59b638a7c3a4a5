/* ISC license: see LICENSE. */

#ifndef KETCH_QSCAN_H
#define KETCH_QSCAN_H

#include <stdint.h>

#include "schedq.h"
#include "qremove.h"

/*
 * The scheduler's walk of the spool into its index (lib/schedq), one
 * bucket directory per qscan_step, so that its event loop serves the
 * trigger and the deliveries between two buckets however large the
 * queue: new mail is delivered while a backlog is still being indexed.
 *
 * A rescan (startup 0) reads queue/: a message the index does not know
 * is new mail whose hint was lost, and goes into the fresh list.
 *
 * The start-up scan (startup 1) reads queue/, then state/ (spool-layout/
 * SPOOL, recovery). Every message is left detached until the state files
 * are seen: one with a state file has been tried, and goes into the heap
 * with its time unknown (0: looked at in turn); at the end, one still
 * detached and not active has no state file, has never been tried, and
 * goes into the fresh list. So mail that came while no scheduler ran is
 * not queued behind a backlog of retries whose times are unknown until
 * each is read. A state file without its message is an orphan and is
 * unlinked, unless the message's removal waits for its bucket's commit
 * (lib/qremove), which unlinks it once the removal is durable.
 *
 * Active: the caller's predicate for an entry detached because it is
 * loaded (the scheduler's jobs), which the scan leaves alone.
 */

typedef int qscan_active_func (uint32_t, void *) ;

enum qscan_phase { QSCAN_NONE, QSCAN_QUEUE, QSCAN_STATE } ;

#define QSCAN_OVER 1     /* qscan_step: the scan is over */
#define QSCAN_ERROR 2    /* qscan_step: a bucket could not be read (errno), the first time in this phase */

typedef struct qscan_s qscan ;
struct qscan_s
{
  enum qscan_phase phase ;
  unsigned int bucket ;      /* the next one to read */
  int startup ;
  int failed ;               /* buckets that could not be read in this phase */
  unsigned int orphans ;     /* state files unlinked */
  char const *errdir ;       /* QSCAN_ERROR: "queue" or "state" */
  schedq *sq ;
  qremove const *qr ;
  qscan_active_func *active ;
  void *data ;
} ;

/* a start-up scan runs: a hinted message it met already is new mail, and retries wait for its end */
#define qscan_starting(s) ((s)->startup && (s)->phase != QSCAN_NONE)
#define qscan_running(s) ((s)->phase != QSCAN_NONE)

extern void qscan_start (qscan *, int) ;

/* reads one bucket: 0, or QSCAN_OVER and QSCAN_ERROR bits; the scan goes on after an error */
extern int qscan_step (qscan *) ;

#endif
