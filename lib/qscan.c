/* ISC license: see LICENSE. */

#include <errno.h>
#include <unistd.h>

#include "queue.h"
#include "qscan.h"

void qscan_start (qscan *s, int startup)
{
  s->phase = QSCAN_QUEUE ;
  s->bucket = 0 ;
  s->startup = startup ;
  s->failed = 0 ;
  s->orphans = 0 ;
}

static int queue_one (char const *id, void *p)
{
  qscan *s = p ;
  uint32_t k ;
  if (schedq_find(s->sq, id) != SCHEDQ_NONE) return 1 ;
  k = schedq_insert(s->sq, id) ;
  if (k == SCHEDQ_NONE) return 0 ;
  if (!s->startup) schedq_push_fresh(s->sq, k) ;
  return 1 ;
}

static int state_one (char const *id, void *p)
{
  qscan *s = p ;
  char fn[QUEUE_PATH_MAX] ;
  uint32_t k = schedq_find(s->sq, id) ;
  if (k != SCHEDQ_NONE)
  {
    if (schedq_where(s->sq, k) == SCHEDQ_W_DETACHED && !s->active(k, s->data)) schedq_push_heap(s->sq, k, 0) ;
    return 1 ;
  }
  if (qremove_waiting(s->qr, id)) return 1 ;
  queue_path(fn, "state", id) ;
  if (unlink(fn) == 0) s->orphans++ ;
  return 1 ;
}

/* the start-up scan is over: what is still detached and idle has no state
   file (or the states could not all be read: then it is looked at first,
   which is safe) */
static void place_fresh (qscan *s)
{
  uint32_t n = genalloc_len(schedq_ent, &s->sq->ents), k = 0 ;
  for (; k < n ; k++)
    if (schedq_where(s->sq, k) == SCHEDQ_W_DETACHED && !s->active(k, s->data)) schedq_push_fresh(s->sq, k) ;
}

int qscan_step (qscan *s)
{
  int r, ret = 0 ;
  if (s->phase == QSCAN_NONE) return QSCAN_OVER ;
  r = s->phase == QSCAN_QUEUE ? queue_foreach_bucket("queue", s->bucket, &queue_one, s)
    : queue_foreach_bucket("state", s->bucket, &state_one, s) ;
  if (!r && !s->failed++)
  {
    s->errdir = s->phase == QSCAN_QUEUE ? "queue" : "state" ;
    ret = QSCAN_ERROR ;
  }
  if (++s->bucket < QUEUE_BUCKETS) return ret ;
  s->bucket = 0 ;
  if (s->phase == QSCAN_QUEUE && s->startup)
  {
    s->phase = QSCAN_STATE ;
    s->failed = 0 ;
    return ret ;
  }
  s->phase = QSCAN_NONE ;
  if (s->startup) place_fresh(s) ;
  return ret | QSCAN_OVER ;
}
