/* ISC license: see LICENSE. */

#include <string.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>

#include "qstate.h"
#include "retry.h"
#include "outcome.h"

int outcome_done (unsigned int s)
{
  return s == QSTATE_DELIVERED || s == QSTATE_BOUNCED || s == QSTATE_EXPANDED ;
}

int outcome_open (unsigned int s)
{
  return s == QSTATE_PENDING || s == QSTATE_DEFERRED ;
}

typedef struct transition_s transition ;
struct transition_s
{
  unsigned char from ;
  unsigned char event ;
  unsigned char to ;
} ;

static transition const table[] =
{
  { QSTATE_PENDING, OUTCOME_EV_OK, QSTATE_DELIVERED },
  { QSTATE_PENDING, OUTCOME_EV_TEMP, QSTATE_DEFERRED },
  { QSTATE_PENDING, OUTCOME_EV_PERM, QSTATE_FAILED },
  { QSTATE_PENDING, OUTCOME_EV_FAIL, QSTATE_FAILED },
  { QSTATE_PENDING, OUTCOME_EV_EXPIRE, QSTATE_FAILED },
  { QSTATE_PENDING, OUTCOME_EV_REOPEN, QSTATE_PENDING },
  { QSTATE_PENDING, OUTCOME_EV_EXPAND, QSTATE_EXPANDED },
  { QSTATE_DEFERRED, OUTCOME_EV_OK, QSTATE_DELIVERED },
  { QSTATE_DEFERRED, OUTCOME_EV_TEMP, QSTATE_DEFERRED },
  { QSTATE_DEFERRED, OUTCOME_EV_PERM, QSTATE_FAILED },
  { QSTATE_DEFERRED, OUTCOME_EV_FAIL, QSTATE_FAILED },
  { QSTATE_DEFERRED, OUTCOME_EV_EXPIRE, QSTATE_FAILED },
  { QSTATE_DEFERRED, OUTCOME_EV_REOPEN, QSTATE_PENDING },
  { QSTATE_FAILED, OUTCOME_EV_BOUNCED, QSTATE_BOUNCED },
} ;

unsigned int outcome_to (unsigned int from, unsigned int event)
{
  size_t k = 0 ;
  for (; k < sizeof(table) / sizeof(*table) ; k++)
    if (table[k].from == from && table[k].event == event) return table[k].to ;
  return OUTCOME_REFUSED ;
}

int outcome_apply (qstate *q, size_t i, unsigned int event)
{
  qstate_rcpt *r = qstate_get(q, i) ;
  unsigned int to = outcome_to(r->status, event) ;
  if (to == OUTCOME_REFUSED) return 0 ;
  r->status = to ;
  if (event == OUTCOME_EV_REOPEN) r->attempts = 0 ;
  return 1 ;
}

int outcome_record (qstate *q, size_t i, unsigned int kind, char const *text, size_t len, uint64_t now, unsigned int base, unsigned int max)
{
  unsigned int event = kind == KETCH_RESULT_OK ? OUTCOME_EV_OK : kind == KETCH_RESULT_PERM ? OUTCOME_EV_PERM : OUTCOME_EV_TEMP ;
  unsigned int to = outcome_to(qstate_get(q, i)->status, event) ;
  qstate_rcpt *r ;
  int ok ;
  if (to == OUTCOME_REFUSED) return 0 ;
  qstate_get(q, i)->attempts++ ;
  ok = qstate_set_result(q, i, text, len) ;
  r = qstate_get(q, i) ;
  r->status = to ;
  if (event == OUTCOME_EV_TEMP) r->next = now + retry_delay(base, max, r->attempts) ;
  return ok ;
}

int outcome_fail (qstate *q, size_t i, char const *text)
{
  if (!outcome_apply(q, i, OUTCOME_EV_FAIL)) return 0 ;
  return qstate_set_result(q, i, text, strlen(text)) ;
}

int outcome_expire (qstate *q, size_t i)
{
  qstate_rcpt const *r = qstate_get(q, i) ;
  stralloc t = STRALLOC_ZERO ;
  int ok = outcome_to(r->status, OUTCOME_EV_EXPIRE) != OUTCOME_REFUSED
    && stralloc_cats(&t, "4.4.7 message expired in the queue; last error: ")
    && stralloc_cats(&t, r->result ? qstate_str(q, r->result) : "none")
    && qstate_set_result(q, i, t.s, t.len) ;
  if (ok) outcome_apply(q, i, OUTCOME_EV_EXPIRE) ;
  stralloc_free(&t) ;
  return ok ;
}

enum ketch_result outcome_of_exit (int wstat)
{
  if (!WIFEXITED(wstat)) return KETCH_RESULT_TEMP ;
  switch (WEXITSTATUS(wstat))
  {
    case KETCH_EX_OK : return KETCH_RESULT_OK ;
    case KETCH_EX_PERM : return KETCH_RESULT_PERM ;
    default : return KETCH_RESULT_TEMP ;
  }
}

size_t outcome_find (qstate const *q, unsigned int status)
{
  size_t n = qstate_n(q), i = 0 ;
  for (; i < n ; i++) if (qstate_get(q, i)->status == status) break ;
  return i ;
}

uint64_t outcome_next (qstate const *q, uint64_t bounce_next, int *alldone)
{
  size_t n = qstate_n(q), i = 0 ;
  uint64_t next = UINT64_MAX ;
  *alldone = 1 ;
  for (; i < n ; i++)
  {
    qstate_rcpt const *r = qstate_get(q, i) ;
    if (outcome_done(r->status)) continue ;
    *alldone = 0 ;
    if (r->status == QSTATE_FAILED) { if (bounce_next < next) next = bounce_next ; }
    else if (r->next < next) next = r->next ;
  }
  return next ;
}
