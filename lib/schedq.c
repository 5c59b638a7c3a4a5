/* ISC license: see LICENSE. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/alloc.h>

#include "schedq.h"

#define TOMB UINT32_MAX

static uint32_t hash (char const *id)
{
  /* FNV-1a: ids end in random digits, any mixing will do */
  uint32_t h = 2166136261u ;
  unsigned int i = 0 ;
  for (; i < QUEUE_ID_LEN ; i++) { h ^= (unsigned char)id[i] ; h *= 16777619u ; }
  return h ;
}

static uint32_t *slot_of (schedq const *q, char const *id)
{
  uint32_t mask = q->cap - 1, h = hash(id) & mask ;
  uint32_t *tomb = 0 ;
  if (!q->cap) return 0 ;
  for (;;)
  {
    uint32_t v = q->slots[h] ;
    if (!v) return tomb ? tomb : q->slots + h ;
    if (v == TOMB) { if (!tomb) tomb = q->slots + h ; }
    else if (!memcmp(schedq_ent_at(q, v - 1)->id, id, QUEUE_ID_LEN)) return q->slots + h ;
    h = (h + 1) & mask ;
  }
}

uint32_t schedq_find (schedq const *q, char const *id)
{
  uint32_t mask = q->cap - 1, h ;
  if (!q->cap) return SCHEDQ_NONE ;
  h = hash(id) & mask ;
  for (;;)
  {
    uint32_t v = q->slots[h] ;
    if (!v) return SCHEDQ_NONE ;
    if (v != TOMB && !memcmp(schedq_ent_at(q, v - 1)->id, id, QUEUE_ID_LEN)) return v - 1 ;
    h = (h + 1) & mask ;
  }
}

static int rehash (schedq *q, uint32_t cap)
{
  uint32_t *old = q->slots, oldcap = q->cap, i = 0 ;
  uint32_t *s = calloc(cap, sizeof(uint32_t)) ;
  if (!s) return 0 ;
  q->slots = s ; q->cap = cap ; q->used = 0 ;
  for (; i < oldcap ; i++)
    if (old[i] && old[i] != TOMB)
    {
      *slot_of(q, schedq_ent_at(q, old[i] - 1)->id) = old[i] ;
      q->used++ ;
    }
  free(old) ;
  return 1 ;
}

uint32_t schedq_insert (schedq *q, char const *id)
{
  uint32_t i, *slot ;
  if ((uint64_t)(q->used + 1) * 2 > q->cap)
  {
    uint32_t cap = q->cap ? q->cap : 1024 ;
    while ((uint64_t)(q->n + 1) * 4 > cap) cap <<= 1 ;
    if (!rehash(q, cap)) return SCHEDQ_NONE ;
  }
  if (genalloc_len(uint32_t, &q->freel))
  {
    size_t k = genalloc_len(uint32_t, &q->freel) - 1 ;
    i = genalloc_s(uint32_t, &q->freel)[k] ;
    genalloc_setlen(uint32_t, &q->freel, k) ;
  }
  else
  {
    schedq_ent e ;
    if (genalloc_len(schedq_ent, &q->ents) >= SCHEDQ_W_FRESH) return (errno = ENOMEM, SCHEDQ_NONE) ;
    if (!genalloc_append(schedq_ent, &q->ents, &e)) return SCHEDQ_NONE ;
    i = genalloc_len(schedq_ent, &q->ents) - 1 ;
  }
  memcpy(schedq_ent_at(q, i)->id, id, QUEUE_ID_LEN) ;
  schedq_ent_at(q, i)->next = 0 ;
  schedq_ent_at(q, i)->where = SCHEDQ_W_DETACHED ;
  slot = slot_of(q, id) ;
  if (!*slot) q->used++ ;
  *slot = i + 1 ;
  q->n++ ;
  return i ;
}

void schedq_delete (schedq *q, uint32_t i)
{
  uint32_t *slot = slot_of(q, schedq_ent_at(q, i)->id) ;
  if (slot && *slot == i + 1) *slot = TOMB ;
  schedq_ent_at(q, i)->where = SCHEDQ_W_FREE ;
  q->n-- ;
  /* on ENOMEM the index is leaked, not reused: harmless */
  genalloc_append(uint32_t, &q->freel, &i) ;
}

uint32_t schedq_oldest (schedq const *q)
{
  size_t n = genalloc_len(schedq_ent, &q->ents), i = 0 ;
  schedq_ent const *e = genalloc_s(schedq_ent, &q->ents) ;
  uint32_t best = SCHEDQ_NONE ;
  for (; i < n ; i++)
    if ((e[i].where & ~SCHEDQ_F_MASK) != SCHEDQ_W_FREE && (best == SCHEDQ_NONE || memcmp(e[i].id, e[best].id, QUEUE_ID_LEN) < 0)) best = (uint32_t)i ;
  return best ;
}

static int less (schedq const *q, uint32_t a, uint32_t b)
{
  schedq_ent const *x = schedq_ent_at(q, a), *y = schedq_ent_at(q, b) ;
  if (x->next != y->next) return x->next < y->next ;
  return memcmp(x->id, y->id, QUEUE_ID_LEN) < 0 ;
}

static void setpos (schedq *q, uint32_t i, uint32_t pos)
{
  schedq_ent *e = schedq_ent_at(q, i) ;
  e->where = (e->where & SCHEDQ_F_MASK) | pos ;
}

static void sift_up (schedq *q, uint32_t pos)
{
  uint32_t *h = genalloc_s(uint32_t, &q->heap) ;
  uint32_t x = h[pos] ;
  while (pos)
  {
    uint32_t parent = (pos - 1) >> 1 ;
    if (!less(q, x, h[parent])) break ;
    h[pos] = h[parent] ; setpos(q, h[pos], pos) ;
    pos = parent ;
  }
  h[pos] = x ; setpos(q, x, pos) ;
}

static void sift_down (schedq *q, uint32_t pos)
{
  uint32_t *h = genalloc_s(uint32_t, &q->heap) ;
  uint32_t n = genalloc_len(uint32_t, &q->heap) ;
  uint32_t x = h[pos] ;
  for (;;)
  {
    uint32_t c = 2 * pos + 1 ;
    if (c >= n) break ;
    if (c + 1 < n && less(q, h[c+1], h[c])) c++ ;
    if (!less(q, h[c], x)) break ;
    h[pos] = h[c] ; setpos(q, h[pos], pos) ;
    pos = c ;
  }
  h[pos] = x ; setpos(q, x, pos) ;
}

void schedq_detach (schedq *q, uint32_t i)
{
  uint32_t w = schedq_where(q, i) ;
  if (w < SCHEDQ_W_FRESH)
  {
    uint32_t *h = genalloc_s(uint32_t, &q->heap) ;
    uint32_t last = genalloc_len(uint32_t, &q->heap) - 1 ;
    uint32_t moved = h[last] ;
    genalloc_setlen(uint32_t, &q->heap, last) ;
    if (w < last)
    {
      h[w] = moved ; setpos(q, moved, w) ;
      sift_down(q, w) ;
      sift_up(q, schedq_where(q, moved)) ;
    }
  }
  /* a fresh entry's stale list slot is skipped by pop_fresh */
  setpos(q, i, SCHEDQ_W_DETACHED) ;
}

int schedq_push_heap (schedq *q, uint32_t i, uint32_t next)
{
  uint32_t n = genalloc_len(uint32_t, &q->heap) ;
  schedq_detach(q, i) ;
  schedq_ent_at(q, i)->next = next ;
  if (!genalloc_append(uint32_t, &q->heap, &i)) return 0 ;
  sift_up(q, n) ;
  return 1 ;
}

int schedq_push_fresh (schedq *q, uint32_t i)
{
  schedq_detach(q, i) ;
  if (!genalloc_append(uint32_t, &q->fresh, &i)) return 0 ;
  setpos(q, i, SCHEDQ_W_FRESH) ;
  return 1 ;
}

uint32_t schedq_pop_fresh (schedq *q)
{
  size_t len = genalloc_len(uint32_t, &q->fresh) ;
  while (q->freshhead < len)
  {
    uint32_t i = genalloc_s(uint32_t, &q->fresh)[q->freshhead++] ;
    if (schedq_where(q, i) == SCHEDQ_W_FRESH)
    {
      setpos(q, i, SCHEDQ_W_DETACHED) ;
      return i ;
    }
  }
  genalloc_setlen(uint32_t, &q->fresh, 0) ;
  q->freshhead = 0 ;
  return SCHEDQ_NONE ;
}

uint32_t schedq_top (schedq const *q)
{
  return genalloc_len(uint32_t, &q->heap) ? genalloc_s(uint32_t, &q->heap)[0] : SCHEDQ_NONE ;
}

void schedq_force_all (schedq *q, uint32_t flag)
{
  uint32_t n = genalloc_len(uint32_t, &q->heap), k = 0 ;
  uint32_t *h = genalloc_s(uint32_t, &q->heap) ;
  /* every key becomes 0: the heap order then falls back on ids, so rebuild */
  for (; k < n ; k++)
  {
    schedq_ent *e = schedq_ent_at(q, h[k]) ;
    e->next = 0 ;
    e->where |= flag ;
  }
  for (k = n / 2 ; k-- ; ) sift_down(q, k) ;
}

void schedq_free (schedq *q)
{
  genalloc_free(schedq_ent, &q->ents) ;
  genalloc_free(uint32_t, &q->freel) ;
  genalloc_free(uint32_t, &q->heap) ;
  genalloc_free(uint32_t, &q->fresh) ;
  free(q->slots) ;
  q->slots = 0 ; q->cap = q->used = q->n = 0 ;
}
