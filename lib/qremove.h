/* ISC license: see LICENSE. */

#ifndef KETCH_QREMOVE_H
#define KETCH_QREMOVE_H

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "queue.h"

/*
 * The removal of finished messages (spool-layout/SPOOL, step "done"),
 * group-committed per bucket. qremove_entry unlinks queue/XX/ID at once:
 * the message is gone for every reader. The fsync of queue/XX that makes
 * the unlink durable, and then the unlink of state/XX/ID, wait for the
 * bucket's commit, at most QREMOVE_DELAY seconds later, which serves
 * every removal from that bucket in the meantime. The order is SPOOL's:
 * a state file never goes before its entry's unlink is durable, so a
 * crash cannot make a partly delivered message look never tried.
 *
 * Why: under load the scheduler removed each message with an fsync of
 * its own, in its event loop (one fsync in five per message). A removal
 * that a crash undoes only delivers the message again: the duplicate
 * window of SPOOL §6, which this makes up to QREMOVE_DELAY longer.
 */
#define QREMOVE_DELAY 1

typedef struct qremove_s qremove ;
struct qremove_s
{
  tain due[QUEUE_BUCKETS] ;      /* the bucket's commit, if ids[b].len */
  stralloc ids[QUEUE_BUCKETS] ;  /* QUEUE_ID_LEN octets per message waiting for it */
} ;
#define QREMOVE_ZERO { .ids = { STRALLOC_ZERO } }

/* unlinks queue/XX/ID (gone already is fine) and books the commit; 1, or 0 and errno */
extern int qremove_entry (qremove *, char const *, tain const *) ;

/*
 * Commits every bucket due at now (every pending one with force): fsync
 * of queue/XX, then the unlinks of its state files. Returns the number of
 * buckets whose fsync failed (errno from the last; their state files
 * stay, for the scheduler's recovery). *next is the earliest commit left,
 * and *left whether there is one.
 */
extern unsigned int qremove_commit (qremove *, tain const *, int, tain *, int *) ;

/* messages waiting for a commit */
extern size_t qremove_pending (qremove const *) ;

/* whether this message's removal waits for its bucket's commit (which then unlinks its state file) */
extern int qremove_waiting (qremove const *, char const *) ;

#endif
