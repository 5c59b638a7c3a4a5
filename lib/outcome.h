/* ISC license: see LICENSE. */

#ifndef KETCH_OUTCOME_H
#define KETCH_OUTCOME_H

#include "exitcodes.h"

#include <stddef.h>
#include <stdint.h>

#include "qstate.h"

/*
 * The life of one recipient in the scheduler's hands: what an attempt's
 * result, a lookup's verdict or the expiry does to its entry in the
 * message's qstate, and when the message needs the scheduler next.
 *
 *   PENDING/DEFERRED --ok--> DELIVERED
 *                    --temp-> DEFERRED, next = now + retry_delay(attempts)
 *                    --perm-> FAILED (a bounce is owed)
 *                    --expire-> FAILED, "4.4.7 message expired ..."
 *   FAILED --bounce injected--> BOUNCED
 *   (an alias: PENDING --expand--> EXPANDED)
 *
 * DELIVERED, BOUNCED and EXPANDED are final. The caller writes the state
 * file; these functions only change memory.
 */


/* final: nothing more to do for it */
extern int outcome_done (unsigned int) ;

/* can be tried: pending or deferred */
extern int outcome_open (unsigned int) ;

/*
 * One attempt's result for recipient i (OUTCOME_*, the text of the
 * answer): attempts counted, result kept, status set; a temporary one is
 * retried at now + retry_delay(base, max, attempts). 1, or 0 if the text
 * could not be stored (the status is set all the same).
 */
extern int outcome_record (qstate *, size_t, unsigned int, char const *, size_t, uint64_t, unsigned int, unsigned int) ;

/* a permanent failure without an attempt (no such user, bad mailbox path) */
extern int outcome_fail (qstate *, size_t, char const *) ;

/* expiry (RFC 3463 4.4.7): FAILED, with the last error kept in the text. 1, or 0 (ENOMEM, nothing changed) */
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
