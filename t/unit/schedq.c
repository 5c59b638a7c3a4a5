/* ISC license: see LICENSE. */

/* Unit test of lib/schedq: hash, heap order, fresh list, scale. */

#include <string.h>
#include <time.h>

#include "queue.h"
#include "schedq.h"
#include "tap.h"

static void mkid (char *id, unsigned int n)
{
  static char const hex[] = "0123456789abcdef" ;
  unsigned int i = QUEUE_ID_LEN ;
  while (i--) { id[i] = hex[n & 15] ; n >>= 4 ; }
}

int main (void)
{
  schedq q = SCHEDQ_ZERO ;
  char id[QUEUE_ID_LEN] ;
  unsigned int i, ok_order = 1, ok_find = 1 ;
  uint32_t prev = 0, a, b ;
  clock_t t0 ;
  tap_plan(13) ;
  mkid(id, 1) ;
  ok(schedq_find(&q, id) == SCHEDQ_NONE, "empty: not found") ;
  for (i = 0 ; i < 1000 ; i++)
  {
    uint32_t k ;
    mkid(id, i) ;
    k = schedq_insert(&q, id) ;
    schedq_push_heap(&q, k, (i * 7919u) % 1000u + 1) ;
  }
  ok(q.n == 1000 && schedq_heaplen(&q) == 1000, "1000 inserted") ;
  for (i = 0 ; i < 1000 ; i++) { mkid(id, i) ; if (schedq_find(&q, id) == SCHEDQ_NONE) ok_find = 0 ; }
  ok(ok_find, "all found") ;
  for (i = 0 ; i < 500 ; i++)
  {
    uint32_t k = schedq_top(&q) ;
    if (schedq_ent_at(&q, k)->next < prev) ok_order = 0 ;
    prev = schedq_ent_at(&q, k)->next ;
    schedq_detach(&q, k) ;
    schedq_delete(&q, k) ;
  }
  ok(ok_order && q.n == 500, "heap pops in order") ;
  {
    uint32_t o = schedq_oldest(&q), k ;
    unsigned int best = 1000 ;
    for (i = 0 ; i < 1000 ; i++) { mkid(id, i) ; k = schedq_find(&q, id) ; if (k != SCHEDQ_NONE && i < best) best = i ; }
    mkid(id, best) ;
    ok(o != SCHEDQ_NONE && !memcmp(schedq_ent_at(&q, o)->id, id, QUEUE_ID_LEN), "the oldest: the smallest live id, freed entries skipped") ;
  }
  mkid(id, 5000) ;
  a = schedq_insert(&q, id) ;
  ok(schedq_push_fresh(&q, a) && schedq_where(&q, a) == SCHEDQ_W_FRESH, "fresh list") ;
  mkid(id, 5001) ;
  b = schedq_insert(&q, id) ;
  schedq_push_fresh(&q, b) ;
  schedq_detach(&q, a) ;
  ok(schedq_pop_fresh(&q) == b && schedq_pop_fresh(&q) == SCHEDQ_NONE, "detached fresh entry skipped") ;
  schedq_push_heap(&q, a, 5) ;
  ok(schedq_top(&q) == a, "small next goes to the top") ;
  schedq_detach(&q, a) ;
  ok(schedq_top(&q) != a && schedq_heaplen(&q) == 500, "detach from the middle of the heap") ;
  schedq_force_all(&q, SCHEDQ_F_FORCE) ;
  ok(schedq_ent_at(&q, schedq_top(&q))->next == 0 && (schedq_ent_at(&q, schedq_top(&q))->where & SCHEDQ_F_FORCE), "force all") ;
  schedq_free(&q) ;
  ok(sizeof(schedq_ent) == 32, "an entry is 32 bytes") ;
  t0 = clock() ;
  for (i = 0 ; i < 1000000 ; i++)
  {
    uint32_t k ;
    mkid(id, i * 2654435761u) ;
    k = schedq_insert(&q, id) ;
    if (k == SCHEDQ_NONE || !schedq_push_heap(&q, k, 0)) break ;
  }
  ok(i == 1000000 && q.n == 1000000, "a million entries") ;
  ok((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0, "indexed in under 5 s of CPU (%.2f s)", (double)(clock() - t0) / CLOCKS_PER_SEC) ;
  schedq_free(&q) ;
  return tap_done() ;
}
