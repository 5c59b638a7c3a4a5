/* ISC license: see LICENSE. */

/* Unit test of lib/outcome: the transitions of a recipient in the scheduler's hands. */

#include <string.h>
#include <stdint.h>

#include "envelope.h"
#include "qstate.h"
#include "retry.h"
#include "outcome.h"
#include "tap.h"

static char const *R (qstate const *q, size_t i)
{
  return qstate_get(q, i)->result ? qstate_str(q, qstate_get(q, i)->result) : "(none)" ;
}

int main (void)
{
  envelope e = ENVELOPE_ZERO ;
  qstate q = QSTATE_ZERO ;
  uint64_t next ;
  int alldone ;
  tap_plan(22) ;
  ok(envelope_init(&e, "s@x.example") && envelope_add_rcpt(&e, "a@y.example") && envelope_add_rcpt(&e, "b@y.example") && envelope_add_rcpt(&e, "c@y.example")
   && qstate_from_envelope(&q, &e) && qstate_n(&q) == 3, "three pending recipients") ;
  ok(outcome_open(QSTATE_PENDING) && outcome_open(QSTATE_DEFERRED) && !outcome_open(QSTATE_FAILED) && !outcome_open(QSTATE_DELIVERED), "pending and deferred can be tried") ;
  ok(outcome_done(QSTATE_DELIVERED) && outcome_done(QSTATE_BOUNCED) && outcome_done(QSTATE_EXPANDED) && !outcome_done(QSTATE_FAILED) && !outcome_done(QSTATE_DEFERRED), "delivered, bounced, expanded are final") ;
  next = outcome_next(&q, 0, &alldone) ;
  ok(!alldone && next == 0, "never tried: due now") ;

  ok(outcome_record(&q, 0, KETCH_RESULT_OK, "250 2.0.0 Ok", 12, 1000, 60, 3600), "an ok") ;
  ok(qstate_get(&q, 0)->status == QSTATE_DELIVERED && qstate_get(&q, 0)->attempts == 1 && !strcmp(R(&q, 0), "250 2.0.0 Ok"), "delivered, one attempt, the answer kept") ;
  ok(outcome_record(&q, 1, KETCH_RESULT_TEMP, "451 4.3.0 later\r\n", 17, 1000, 60, 3600), "a temporary failure") ;
  ok(qstate_get(&q, 1)->status == QSTATE_DEFERRED && qstate_get(&q, 1)->next == 1000 + retry_delay(60, 3600, 1), "deferred until now + the first retry delay (%llu)", (unsigned long long)qstate_get(&q, 1)->next) ;
  ok(!strcmp(R(&q, 1), "451 4.3.0 later  "), "control octets of the answer blanked") ;
  outcome_record(&q, 1, KETCH_RESULT_TEMP, "451 again", 9, 2000, 60, 3600) ;
  ok(qstate_get(&q, 1)->attempts == 2 && qstate_get(&q, 1)->next == 2000 + retry_delay(60, 3600, 2), "the second retry waits longer") ;
  ok(outcome_record(&q, 2, KETCH_RESULT_PERM, "550 5.1.1 no", 12, 1000, 60, 3600) && qstate_get(&q, 2)->status == QSTATE_FAILED, "a permanent failure: a bounce is owed") ;
  ok(outcome_find(&q, QSTATE_FAILED) == 2 && outcome_find(&q, QSTATE_DEFERRED) == 1 && outcome_find(&q, QSTATE_BOUNCED) == 3, "outcome_find: the first with a status, or n") ;
  next = outcome_next(&q, 5000, &alldone) ;
  ok(!alldone && next == qstate_get(&q, 1)->next, "next: the earliest retry (%llu)", (unsigned long long)next) ;
  next = outcome_next(&q, 10, &alldone) ;
  ok(!alldone && next == 10, "next: a bounce owed earlier wins") ;

  ok(outcome_expire(&q, 1) && qstate_get(&q, 1)->status == QSTATE_FAILED, "expiry fails a deferred recipient") ;
  ok(!strcmp(R(&q, 1), "4.4.7 message expired in the queue; last error: 451 again"), "with its last error (%s)", R(&q, 1)) ;
  ok(qstate_add_rcpt(&q, "d@y.example", "c@y.example") && outcome_expire(&q, 3) && !strcmp(R(&q, 3), "4.4.7 message expired in the queue; last error: none"), "expiry of a never-tried recipient: last error none") ;
  ok(outcome_fail(&q, 3, "550 5.1.1 no such user here") && qstate_get(&q, 3)->status == QSTATE_FAILED && qstate_get(&q, 3)->attempts == 0, "a failure without an attempt") ;
  qstate_get(&q, 1)->status = QSTATE_BOUNCED ;
  qstate_get(&q, 2)->status = QSTATE_BOUNCED ;
  next = outcome_next(&q, 77, &alldone) ;
  ok(!alldone && next == 77, "one failed left: the bounce time") ;
  qstate_get(&q, 3)->status = QSTATE_EXPANDED ;
  next = outcome_next(&q, 77, &alldone) ;
  ok(alldone && next == UINT64_MAX, "all final: done") ;
  ok(outcome_find(&q, QSTATE_FAILED) == qstate_n(&q), "no failure left") ;
  ok(outcome_record(&q, 0, 7, "x", 1, 100, 60, 3600) && qstate_get(&q, 0)->status == QSTATE_DEFERRED, "an unknown kind is temporary") ;
  qstate_free(&q) ; envelope_free(&e) ;
  return tap_done() ;
}
