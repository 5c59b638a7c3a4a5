/* ISC license: see LICENSE. */

#ifndef KETCH_SCHEDQ_H
#define KETCH_SCHEDQ_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/genalloc.h>

#include "queue.h"

/*
 * The scheduler's index of the queue: one compact entry per message it
 * knows (32 bytes: the id and the next attempt time), found by id through
 * an open-addressing hash table (4 bytes per slot, at most half full), and
 * kept in one of:
 *  - the fresh list: new mail, taken first, so that a backlog of retries
 *    never delays it;
 *  - the retry heap: a binary min-heap on (next, id), 4 bytes per entry;
 *  - detached: active (loaded by the scheduler) or held.
 * So a deferred message costs about 32 + 8..16 + 4 bytes in memory, and
 * nothing from its envelope: next may be 0 ("unknown, look when due"),
 * which is how start-up indexes a million messages without reading one.
 * Entry indices are stable while the entry lives (freed ones are reused).
 */

#define SCHEDQ_NONE UINT32_MAX
#define SCHEDQ_W_FRESH 0x1ffffffdu
#define SCHEDQ_W_DETACHED 0x1ffffffeu
#define SCHEDQ_W_FREE 0x1fffffffu
#define SCHEDQ_F_FORCE 0x80000000u   /* every recipient is due now (retry ID / all) */
#define SCHEDQ_F_FORCEDOM 0x40000000u /* recipients in the forced domains are due now (retry domain) */
#define SCHEDQ_F_NOSTATE 0x20000000u  /* no state file can exist: its first load need not look (the caller's knowledge, scheduler(8)) */
#define SCHEDQ_F_MASK (SCHEDQ_F_FORCE | SCHEDQ_F_FORCEDOM | SCHEDQ_F_NOSTATE)

typedef struct schedq_ent_s schedq_ent ;
struct schedq_ent_s
{
  char id[QUEUE_ID_LEN] ;
  uint32_t next ;      /* Unix time of the next attempt; 0: now, or unknown */
  uint32_t where ;     /* heap position, or SCHEDQ_W_*; top bits: SCHEDQ_F_* */
} ;

typedef struct schedq_s schedq ;
struct schedq_s
{
  genalloc ents ;      /* schedq_ent */
  genalloc freel ;     /* uint32_t: free entry indices */
  uint32_t *slots ;    /* hash: 0 empty, UINT32_MAX deleted, else index + 1 */
  uint32_t cap ;
  uint32_t used ;      /* occupied and deleted slots */
  genalloc heap ;      /* uint32_t entry indices */
  genalloc fresh ;     /* uint32_t entry indices, FIFO from freshhead */
  size_t freshhead ;
  uint32_t n ;         /* live entries */
} ;
#define SCHEDQ_ZERO { .ents = GENALLOC_ZERO, .freel = GENALLOC_ZERO, .slots = 0, .cap = 0, .used = 0, .heap = GENALLOC_ZERO, .fresh = GENALLOC_ZERO, .freshhead = 0, .n = 0 }

#define schedq_ent_at(q, i) (genalloc_s(schedq_ent, &(q)->ents) + (i))
#define schedq_where(q, i) (schedq_ent_at(q, i)->where & ~SCHEDQ_F_MASK)
#define schedq_heaplen(q) genalloc_len(uint32_t, &(q)->heap)

extern uint32_t schedq_find (schedq const *, char const *) ;
extern uint32_t schedq_insert (schedq *, char const *) ;    /* new, detached; SCHEDQ_NONE on ENOMEM */
extern void schedq_delete (schedq *, uint32_t) ;            /* must be detached */
extern void schedq_detach (schedq *, uint32_t) ;
extern int schedq_push_heap (schedq *, uint32_t, uint32_t) ;
extern int schedq_push_fresh (schedq *, uint32_t) ;
extern uint32_t schedq_pop_fresh (schedq *) ;
extern uint32_t schedq_top (schedq const *) ;               /* the heap's first, or SCHEDQ_NONE */
extern void schedq_force_all (schedq *, uint32_t) ;         /* every heap entry due now, with this flag */
/* the live entry with the smallest id (the oldest message: ids sort by
   arrival), or SCHEDQ_NONE; one pass over the entries (ketch-stats'
   oldest message: the scheduler calls it every few seconds, not per message) */
extern uint32_t schedq_oldest (schedq const *) ;
extern void schedq_free (schedq *) ;

#endif
