/* ISC license: see LICENSE. */

/* Unit test of lib/outcome: the transitions of a recipient in the scheduler's hands. */

#include <string.h>
#include <stdint.h>
#include <signal.h>

#include "envelope.h"
#include "qstate.h"
#include "retry.h"
#include "outcome.h"
#include "tap.h"

#define X OUTCOME_REFUSED
#define diag(...) (printf("# "), printf(__VA_ARGS__), printf("\n"))

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
  tap_plan(32) ;
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
  ok(!outcome_fail(&q, 3, "550 5.1.1 no such user here") && !strcmp(R(&q, 3), "4.4.7 message expired in the queue; last error: none"), "a failed recipient cannot fail again: refused, unchanged") ;
  ok(qstate_add_rcpt(&q, "e@y.example", "c@y.example") && outcome_fail(&q, 4, "550 5.1.1 no such user here") && qstate_get(&q, 4)->status == QSTATE_FAILED && qstate_get(&q, 4)->attempts == 0, "a failure without an attempt") ;
  ok(outcome_apply(&q, 1, OUTCOME_EV_BOUNCED) && outcome_apply(&q, 2, OUTCOME_EV_BOUNCED) && outcome_apply(&q, 4, OUTCOME_EV_BOUNCED), "bounced") ;
  next = outcome_next(&q, 77, &alldone) ;
  ok(!alldone && next == 77, "one failed left: the bounce time") ;
  ok(outcome_apply(&q, 3, OUTCOME_EV_BOUNCED) && !outcome_apply(&q, 3, OUTCOME_EV_BOUNCED), "a bounced one is not bounced again") ;
  next = outcome_next(&q, 77, &alldone) ;
  ok(alldone && next == UINT64_MAX, "all final: done") ;
  ok(outcome_find(&q, QSTATE_FAILED) == qstate_n(&q), "no failure left") ;
  ok(!outcome_record(&q, 0, KETCH_RESULT_TEMP, "x", 1, 100, 60, 3600) && qstate_get(&q, 0)->status == QSTATE_DELIVERED && qstate_get(&q, 0)->attempts == 1, "a result for a delivered recipient is refused") ;
  ok(qstate_add_rcpt(&q, "f@y.example", 0) && outcome_record(&q, 5, 7, "x", 1, 100, 60, 3600) && qstate_get(&q, 5)->status == QSTATE_DEFERRED, "an unknown kind is temporary") ;
  ok(outcome_apply(&q, 5, OUTCOME_EV_REOPEN) && qstate_get(&q, 5)->status == QSTATE_PENDING && !qstate_get(&q, 5)->attempts, "reopened: pending, attempts 0 (an alias found after an attempt)") ;
  ok(outcome_apply(&q, 5, OUTCOME_EV_EXPAND) && qstate_get(&q, 5)->status == QSTATE_EXPANDED, "expanded") ;

  {
    /*
     * Every status against every event, with the table written out
     * again here: each allowed one leads to its status (through
     * outcome_apply too), every other is refused and changes nothing.
     */
    static unsigned char const want[QSTATE_NSTATUS][OUTCOME_NEVENT] =
    {
      /*                     OK                TEMP             PERM           FAIL           EXPIRE         REOPEN          EXPAND           BOUNCED */
      [QSTATE_PENDING] =   { QSTATE_DELIVERED, QSTATE_DEFERRED, QSTATE_FAILED, QSTATE_FAILED, QSTATE_FAILED, QSTATE_PENDING, QSTATE_EXPANDED, X },
      [QSTATE_DEFERRED] =  { QSTATE_DELIVERED, QSTATE_DEFERRED, QSTATE_FAILED, QSTATE_FAILED, QSTATE_FAILED, QSTATE_PENDING, X, X },
      [QSTATE_DELIVERED] = { X, X, X, X, X, X, X, X },
      [QSTATE_FAILED] =    { X, X, X, X, X, X, X, QSTATE_BOUNCED },
      [QSTATE_BOUNCED] =   { X, X, X, X, X, X, X, X },
      [QSTATE_EXPANDED] =  { X, X, X, X, X, X, X, X },
    } ;
    unsigned int from = 0, ev, bad = 0, badapply = 0, badfinal = 0 ;
    for (; from < QSTATE_NSTATUS ; from++)
    {
      int any = 0 ;
      for (ev = 0 ; ev < OUTCOME_NEVENT ; ev++)
      {
        unsigned int to = outcome_to(from, ev) ;
        if (to != want[from][ev]) { bad++ ; diag("from %u event %u: %u, want %u", from, ev, to, want[from][ev]) ; }
        if (to != X) any = 1 ;
        /* the events without a text of their own go through outcome_apply */
        if (ev == OUTCOME_EV_REOPEN || ev == OUTCOME_EV_EXPAND || ev == OUTCOME_EV_BOUNCED)
        {
          qstate_get(&q, 0)->status = from ;
          if (outcome_apply(&q, 0, ev) != (to != X) || qstate_get(&q, 0)->status != (to != X ? to : from)) badapply++ ;
        }
      }
      if (outcome_done(from) != !any || outcome_open(from) != (outcome_to(from, OUTCOME_EV_OK) != X)) badfinal++ ;
    }
    ok(!bad, "every status x every event: the table's status, or refused (%u wrong)", bad) ;
    ok(!badapply, "outcome_apply follows it, and a refused event changes nothing (%u wrong)", badapply) ;
    ok(!badfinal, "final: no event leads out; open: an attempt may be made (%u wrong)", badfinal) ;
  }
  ok(outcome_of_exit(0) == KETCH_RESULT_OK && outcome_of_exit(KETCH_EX_PERM << 8) == KETCH_RESULT_PERM && outcome_of_exit(KETCH_EX_TEMP << 8) == KETCH_RESULT_TEMP
   && outcome_of_exit(1 << 8) == KETCH_RESULT_TEMP && outcome_of_exit(SIGKILL) == KETCH_RESULT_TEMP, "exit status: 0 ok, 100 perm, any other exit or a signal temp") ;
  qstate_free(&q) ; envelope_free(&e) ;
  return tap_done() ;
}
