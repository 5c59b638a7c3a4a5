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
 * crash cannot make a partly delivered message look never tried. A
 * message the caller knows has no state file (qstate.stored: most
 * messages, delivered at their first attempt) books the commit all the
 * same, for its entry's unlink, but nothing is unlinked for it after.
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
  tain due[QUEUE_BUCKETS] ;      /* the bucket's commit, if n[b] */
  size_t n[QUEUE_BUCKETS] ;      /* messages waiting for it */
  stralloc ids[QUEUE_BUCKETS] ;  /* of which those with a state file, QUEUE_ID_LEN octets each */
} ;
#define QREMOVE_ZERO { .n = { 0 }, .ids = { STRALLOC_ZERO } }

/*
 * Unlinks queue/XX/ID (gone already is fine) and books the commit, and
 * after it the unlink of state/XX/ID if state (a state file may exist);
 * 1, or 0 and errno.
 */
extern int qremove_entry (qremove *, char const *, int, tain const *) ;

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

/* whether this message's state file waits for its bucket's commit to be unlinked */
extern int qremove_waiting (qremove const *, char const *) ;

#endif
