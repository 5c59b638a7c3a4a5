/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include <skalibs/alloc.h>
#include <skalibs/bytestr.h>
#include <skalibs/random.h>

#include "tlscache.h"

void tlscache_init (tlscache *c, uint32_t cap)
{
  uint32_t b = 1 ;
  if (!cap) cap = 1 ;
  if (cap > (uint32_t)1 << 30) cap = (uint32_t)1 << 30 ;
  while (b < cap) b <<= 1 ;
  c->e = 0 ;
  c->head = 0 ;
  c->cap = cap ;
  c->nbuckets = b ;
  c->first = c->n = 0 ;
}

static uint32_t bucket (tlscache const *c, unsigned char const *id)
{
  unsigned char h[crypto_shorthash_BYTES] ;
  uint32_t x ;
  crypto_shorthash(h, id, TLSCACHE_ID, c->key) ;
  memcpy(&x, h, sizeof(x)) ;
  return x & (c->nbuckets - 1) ;
}

/* the index of id's entry, or TLSCACHE_NONE */
static uint32_t find (tlscache const *c, unsigned char const *id)
{
  uint32_t i ;
  if (!c->e) return TLSCACHE_NONE ;
  for (i = c->head[bucket(c, id)] ; i != TLSCACHE_NONE ; i = c->e[i].next)
    if (!memcmp(c->e[i].id, id, TLSCACHE_ID)) return i ;
  return TLSCACHE_NONE ;
}

/* the oldest entry out of its bucket, and wiped */
static void drop_first (tlscache *c)
{
  uint32_t i = c->first ;
  uint32_t *p = c->head + bucket(c, c->e[i].id) ;
  while (*p != i) p = &c->e[*p].next ;
  *p = c->e[i].next ;
  byte_zzero((char *)(c->e + i), sizeof(tlscache_entry)) ;
  c->first = (c->first + 1) % c->cap ;
  c->n-- ;
}

int tlscache_put (tlscache *c, unsigned char const *id, unsigned char const *val, tain const *now, unsigned int secs)
{
  uint32_t i, b ;
  if (!c->e)
  {
    c->e = alloc((size_t)c->cap * sizeof(tlscache_entry)) ;
    if (!c->e) return (errno = ENOMEM, 0) ;
    c->head = alloc((size_t)c->nbuckets * sizeof(uint32_t)) ;
    if (!c->head) { alloc_free(c->e) ; c->e = 0 ; return (errno = ENOMEM, 0) ; }
    memset(c->head, 0xff, (size_t)c->nbuckets * sizeof(uint32_t)) ;
    random_buf((char *)c->key, sizeof(c->key)) ;
    c->first = c->n = 0 ;
  }
  if (find(c, id) != TLSCACHE_NONE) return (errno = EEXIST, 0) ;
  if (c->n == c->cap) drop_first(c) ;
  i = (c->first + c->n) % c->cap ;
  b = bucket(c, id) ;
  memcpy(c->e[i].id, id, TLSCACHE_ID) ;
  memcpy(c->e[i].val, val, TLSCACHE_VAL) ;
  tain_addsec(&c->e[i].expire, now, secs) ;
  c->e[i].next = c->head[b] ;
  c->head[b] = i ;
  c->n++ ;
  return 1 ;
}

int tlscache_get (tlscache const *c, unsigned char const *id, unsigned char *val, tain const *now)
{
  uint32_t i = find(c, id) ;
  if (i == TLSCACHE_NONE || !tain_less(now, &c->e[i].expire)) return 0 ;
  memcpy(val, c->e[i].val, TLSCACHE_VAL) ;
  return 1 ;
}

uint32_t tlscache_expire (tlscache *c, tain const *now)
{
  uint32_t k = 0 ;
  while (c->n && !tain_less(now, &c->e[c->first].expire)) { drop_first(c) ; k++ ; }
  return k ;
}

int tlscache_deadline (tlscache const *c, tain *deadline)
{
  if (!c->n) return 0 ;
  *deadline = c->e[c->first].expire ;
  return 1 ;
}

uint32_t tlscache_len (tlscache const *c)
{
  return c->n ;
}

void tlscache_flush (tlscache *c)
{
  if (c->e)
  {
    byte_zzero((char *)c->e, (size_t)c->cap * sizeof(tlscache_entry)) ;
    alloc_free(c->e) ;
    alloc_free(c->head) ;
  }
  byte_zzero((char *)c->key, sizeof(c->key)) ;
  c->e = 0 ;
  c->head = 0 ;
  c->first = c->n = 0 ;
}
