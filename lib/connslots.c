/* ISC license: see LICENSE. */

/* MAP_ANONYMOUS: not in POSIX.1-2008 (it is in POSIX.1-2024), in Linux and every BSD */
#define _DEFAULT_SOURCE

#include <string.h>
#include <sys/mman.h>

#include "connslots.h"

connslots *connslots_map (void)
{
  void *p = mmap(0, sizeof(connslots), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) ;
  return p == MAP_FAILED ? 0 : (connslots *)p ;
}

int connslots_take (connslots *t)
{
  uint32_t top = __atomic_load_n(&t->top, __ATOMIC_RELAXED), i = 0 ;
  for (; i < top ; i++)
    if (__atomic_load_n(&t->slot[i].state, __ATOMIC_RELAXED) == CONNSLOT_FREE) break ;
  if (i == CONNSLOTS_MAX) return -1 ;
  memset(t->slot[i].ip, 0, 16) ;
  __atomic_store_n(&t->slot[i].state, CONNSLOT_IDLE, __ATOMIC_SEQ_CST) ;
  /* raised before the process that owns it exists: its claims are counted */
  if (i == top) __atomic_store_n(&t->top, top + 1, __ATOMIC_SEQ_CST) ;
  return (int)i ;
}

void connslots_free (connslots *t, unsigned int i)
{
  uint32_t top ;
  __atomic_store_n(&t->slot[i].state, CONNSLOT_FREE, __ATOMIC_SEQ_CST) ;
  /* lowered past the FREE slots at the end: after a burst the counts scan
     what is in use again, not the burst's high-water mark */
  top = __atomic_load_n(&t->top, __ATOMIC_RELAXED) ;
  while (top && __atomic_load_n(&t->slot[top - 1].state, __ATOMIC_RELAXED) == CONNSLOT_FREE) top-- ;
  __atomic_store_n(&t->top, top, __ATOMIC_SEQ_CST) ;
}

int connslots_claim (connslots *t, unsigned int i, char const *ip, unsigned int maxall, unsigned int maxclient, connslots_count *c)
{
  connslots_count k = { 0, 0, 0 } ;
  uint32_t top, j = 0 ;
  memcpy(t->slot[i].ip, ip, 16) ;
  __atomic_store_n(&t->slot[i].state, CONNSLOT_BUSY, __ATOMIC_SEQ_CST) ;
  top = __atomic_load_n(&t->top, __ATOMIC_SEQ_CST) ;
  for (; j < top ; j++)
  {
    uint32_t s = __atomic_load_n(&t->slot[j].state, __ATOMIC_SEQ_CST) ;
    if (s == CONNSLOT_IDLE) k.idle++ ;
    else if (s == CONNSLOT_BUSY)
    {
      k.busy++ ;
      if (!memcmp(t->slot[j].ip, ip, 16)) k.client++ ;
    }
  }
  if (c) *c = k ;
  if (k.busy > maxall || k.client > maxclient)
  {
    connslots_release(t, i) ;
    return k.busy > maxall ? CONNSLOTS_OVER_ALL : CONNSLOTS_OVER_CLIENT ;
  }
  return 0 ;
}

void connslots_release (connslots *t, unsigned int i)
{
  __atomic_store_n(&t->slot[i].state, CONNSLOT_IDLE, __ATOMIC_SEQ_CST) ;
}

enum connslot_state connslots_state (connslots const *t, unsigned int i)
{
  return (enum connslot_state)__atomic_load_n(&t->slot[i].state, __ATOMIC_SEQ_CST) ;
}

unsigned int connslots_n (connslots const *t, enum connslot_state s)
{
  uint32_t top = __atomic_load_n(&t->top, __ATOMIC_SEQ_CST), j = 0 ;
  unsigned int n = 0 ;
  for (; j < top ; j++) if (__atomic_load_n(&t->slot[j].state, __ATOMIC_SEQ_CST) == (uint32_t)s) n++ ;
  return n ;
}
