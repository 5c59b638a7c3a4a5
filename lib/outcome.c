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

int outcome_record (qstate *q, size_t i, unsigned int kind, char const *text, size_t len, uint64_t now, unsigned int base, unsigned int max)
{
  qstate_rcpt *r = qstate_get(q, i) ;
  int ok ;
  r->attempts++ ;
  ok = qstate_set_result(q, i, text, len) ;
  r = qstate_get(q, i) ;
  if (kind == KETCH_RESULT_OK) r->status = QSTATE_DELIVERED ;
  else if (kind == KETCH_RESULT_PERM) r->status = QSTATE_FAILED ;
  else
  {
    r->status = QSTATE_DEFERRED ;
    r->next = now + retry_delay(base, max, r->attempts) ;
  }
  return ok ;
}

int outcome_fail (qstate *q, size_t i, char const *text)
{
  qstate_get(q, i)->status = QSTATE_FAILED ;
  return qstate_set_result(q, i, text, strlen(text)) ;
}

int outcome_expire (qstate *q, size_t i)
{
  qstate_rcpt const *r = qstate_get(q, i) ;
  stralloc t = STRALLOC_ZERO ;
  int ok = stralloc_cats(&t, "4.4.7 message expired in the queue; last error: ")
    && stralloc_cats(&t, r->result ? qstate_str(q, r->result) : "none")
    && qstate_set_result(q, i, t.s, t.len) ;
  if (ok) qstate_get(q, i)->status = QSTATE_FAILED ;
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
