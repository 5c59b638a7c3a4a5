/* ISC license: see LICENSE. */

#ifndef KETCH_OUTCOME_H
#define KETCH_OUTCOME_H

#include "exitcodes.h"

#include <stddef.h>
#include <stdint.h>

#include "qstate.h"

/*
 * The life of one recipient in the scheduler's hands: what an attempt's
 * result, a lookup's verdict, the expiry or a bounce does to its entry
 * in the message's qstate, and when the message needs the scheduler
 * next. Every change of status goes through one table (outcome.c),
 * {from, event, to}; an event the table has no row for is refused and
 * changes nothing:
 *
 *   PENDING/DEFERRED --ok--> DELIVERED
 *                    --temp-> DEFERRED, next = now + retry_delay(attempts)
 *                    --perm-> FAILED (a bounce is owed)
 *                    --fail-> FAILED, without an attempt (no such user)
 *                    --expire-> FAILED, "4.4.7 message expired ..."
 *                    --reopen-> PENDING, attempts 0 (an alias now: expand it)
 *   PENDING --expand--> EXPANDED (an alias, replaced by its entries)
 *   FAILED --bounced--> BOUNCED (the bounce is in the queue, or none is owed)
 *
 * DELIVERED, BOUNCED and EXPANDED are final. The caller writes the state
 * file; these functions only change memory.
 */

enum outcome_event
{
  OUTCOME_EV_OK,       /* the results of an attempt (enum ketch_result's order) */
  OUTCOME_EV_TEMP,
  OUTCOME_EV_PERM,
  OUTCOME_EV_FAIL,
  OUTCOME_EV_EXPIRE,
  OUTCOME_EV_REOPEN,
  OUTCOME_EV_EXPAND,
  OUTCOME_EV_BOUNCED,
  OUTCOME_NEVENT
} ;

#define OUTCOME_REFUSED QSTATE_NSTATUS

/* the status an event leads to from a status, or OUTCOME_REFUSED */
extern unsigned int outcome_to (unsigned int, unsigned int) ;

/* recipient i through an event that takes no text: EXPAND, REOPEN, BOUNCED. 1, or 0 (refused: nothing changed) */
extern int outcome_apply (qstate *, size_t, unsigned int) ;

/* final: nothing more to do for it */
extern int outcome_done (unsigned int) ;

/* can be tried: pending or deferred */
extern int outcome_open (unsigned int) ;

/*
 * One attempt's result for recipient i (enum ketch_result; an unknown
 * kind is temporary), and the text of the answer: attempts counted,
 * result kept, status set; a temporary one is retried at now +
 * retry_delay(base, max, attempts). 1, or 0 if refused (not open:
 * nothing changed) or the text could not be stored (the status is set
 * all the same).
 */
extern int outcome_record (qstate *, size_t, unsigned int, char const *, size_t, uint64_t, unsigned int, unsigned int) ;

/* a permanent failure without an attempt (no such user, bad mailbox path); 1, or 0 (refused, or ENOMEM: the status is set all the same) */
extern int outcome_fail (qstate *, size_t, char const *) ;

/* expiry (RFC 3463 4.4.7): FAILED, with the last error kept in the text. 1, or 0 (refused, or ENOMEM: nothing changed) */
extern int outcome_expire (qstate *, size_t) ;

/* a local delivery's wait status as a result: exit 0 ok, 100 permanent, any other exit or a signal temporary */
extern enum ketch_result outcome_of_exit (int) ;

/* the first recipient with that status, or qstate_n */
extern size_t outcome_find (qstate const *, unsigned int) ;

/*
 * When the message needs the scheduler next: the earliest retry of an
 * open recipient, or bounce_next while a bounce is owed; UINT64_MAX and
 * *alldone set when every recipient is final.
 */
extern uint64_t outcome_next (qstate const *, uint64_t, int *) ;

#endif
