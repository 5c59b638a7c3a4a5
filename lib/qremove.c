/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "qremove.h"

static unsigned int bucket_of (char const *id)
{
  char b[3] ;
  unsigned int i = 0, k = 0 ;
  queue_bucket(b, id) ;
  for (; k < 2 ; k++)
  {
    char c = b[k] ;
    i = (i << 4) | (unsigned int)(c >= 'a' ? c - 'a' + 10 : c - '0') ;
  }
  return i & (QUEUE_BUCKETS - 1) ;
}

int qremove_entry (qremove *q, char const *id, int state, tain const *now)
{
  char fn[QUEUE_PATH_MAX] ;
  unsigned int b = bucket_of(id) ;
  queue_path(fn, "queue", id) ;
  if (unlink(fn) < 0 && errno != ENOENT) return 0 ;
  if (state && !stralloc_catb(&q->ids[b], id, QUEUE_ID_LEN)) return 0 ;
  if (!q->n[b]++) tain_addsec(&q->due[b], now, QREMOVE_DELAY) ;
  return 1 ;
}

static int commit (qremove *q, unsigned int b)
{
  char fn[QUEUE_PATH_MAX] ;
  stralloc *sa = &q->ids[b] ;
  size_t i = 0 ;
  queue_bucketdir(fn, "queue", b) ;
  if (!queue_dir_sync(fn))
  {
    /* not durable: its state files stay; recovery removes them once their entries are gone */
    int e = errno ;
    sa->len = 0 ;
    q->n[b] = 0 ;
    errno = e ;
    return 0 ;
  }
  for (; i + QUEUE_ID_LEN <= sa->len ; i += QUEUE_ID_LEN)
  {
    char id[QUEUE_ID_LEN + 1] ;
    memcpy(id, sa->s + i, QUEUE_ID_LEN) ;
    id[QUEUE_ID_LEN] = 0 ;
    queue_path(fn, "state", id) ;
    unlink(fn) ;
  }
  sa->len = 0 ;
  q->n[b] = 0 ;
  return 1 ;
}

unsigned int qremove_commit (qremove *q, tain const *now, int force, tain *next, int *left)
{
  unsigned int b = 0, failed = 0 ;
  int e = 0 ;
  *left = 0 ;
  for (; b < QUEUE_BUCKETS ; b++)
  {
    if (!q->n[b]) continue ;
    if (force || !tain_less(now, &q->due[b]))
    {
      if (!commit(q, b)) { failed++ ; e = errno ; }
    }
    else if (!*left || tain_less(&q->due[b], next))
    {
      *next = q->due[b] ;
      *left = 1 ;
    }
  }
  if (failed) errno = e ;
  return failed ;
}

int qremove_waiting (qremove const *q, char const *id)
{
  stralloc const *sa = &q->ids[bucket_of(id)] ;
  size_t i = 0 ;
  for (; i + QUEUE_ID_LEN <= sa->len ; i += QUEUE_ID_LEN) if (!memcmp(sa->s + i, id, QUEUE_ID_LEN)) return 1 ;
  return 0 ;
}

size_t qremove_pending (qremove const *q)
{
  size_t n = 0 ;
  unsigned int b = 0 ;
  for (; b < QUEUE_BUCKETS ; b++) n += q->n[b] ;
  return n ;
}
