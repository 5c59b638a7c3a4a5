/* ISC license: see LICENSE. */

/* MAP_ANONYMOUS: not in POSIX.1-2008 (it is in POSIX.1-2024), in Linux and every BSD */
#define _DEFAULT_SOURCE

/* lib/connslots: slots taken and freed by one writer, claims within the limits, and never past them when processes claim at once */

#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "connslots.h"
#include "tap.h"

#define KIDS 6
#define ROUNDS 100000
#define LIMIT 3

int main (void)
{
  static char const a[16] = { 127, 0, 0, 1 }, b[16] = { 127, 0, 0, 2 } ;
  connslots *t = connslots_map() ;
  connslots_count c ;
  uint32_t *shared ;
  int i0, i1, i2, i3, bad = 0, k ;
  tap_plan(17) ;
  if (!t) { ok(0, "map the table") ; return tap_done() ; }
  i0 = connslots_take(t) ; i1 = connslots_take(t) ; i2 = connslots_take(t) ;
  ok(i0 == 0 && i1 == 1 && i2 == 2 && t->top == 3, "take: the lowest free slots, in order, top raised (%d %d %d top %u)", i0, i1, i2, (unsigned int)t->top) ;
  ok(connslots_n(t, CONNSLOT_IDLE) == 3 && !connslots_n(t, CONNSLOT_BUSY), "taken slots are idle") ;
  ok(!connslots_claim(t, 0, a, 3, 2, &c) && c.busy == 1 && c.client == 1 && c.idle == 2, "a claim within the limits counts itself (busy %u client %u idle %u)", c.busy, c.client, c.idle) ;
  ok(!connslots_claim(t, 1, a, 3, 2, &c) && c.busy == 2 && c.client == 2, "a second claim from the same address, at the per-client limit") ;
  ok(connslots_claim(t, 2, a, 3, 2, &c) == CONNSLOTS_OVER_CLIENT && c.client == 3, "a third from it: over the per-client limit") ;
  ok(t->slot[2].state == CONNSLOT_IDLE, "a refused claim leaves its slot idle") ;
  ok(!connslots_claim(t, 2, b, 3, 2, &c) && c.busy == 3 && c.client == 1, "another address, at the total limit") ;
  i3 = connslots_take(t) ;
  ok(i3 == 3 && connslots_claim(t, 3, b, 3, 2, &c) == CONNSLOTS_OVER_ALL, "over the total limit") ;
  connslots_release(t, 0) ;
  ok(!connslots_claim(t, 3, b, 3, 2, 0), "a released slot no longer counts") ;
  connslots_free(t, 1) ;
  ok(t->top == 4 && connslots_take(t) == 1, "a freed slot below the top is taken again first") ;
  connslots_free(t, 1) ; connslots_free(t, 2) ; connslots_free(t, 3) ;
  ok(t->top == 1, "freeing the last slots lowers the top past every free one (top %u)", (unsigned int)t->top) ;
  connslots_free(t, 0) ;
  ok(t->top == 0 && !connslots_n(t, CONNSLOT_IDLE) && !connslots_n(t, CONNSLOT_BUSY), "all free: top 0, nothing counted") ;
  {
    /* a freed slot's old address counts nowhere */
    int x = connslots_take(t) ;
    ok(x == 0 && !connslots_claim(t, 0, b, 1, 1, &c) && c.busy == 1, "a slot taken again starts afresh") ;
    connslots_free(t, 0) ;
  }

  /* KIDS processes claim and release at once against a limit of LIMIT:
     each one that holds a claim counts itself in a shared counter, which
     must never pass LIMIT (the invariant of lib/connslots.h) */
  shared = mmap(0, 3 * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) ;
  ok(shared != MAP_FAILED, "map the counter") ;
  if (shared == MAP_FAILED) return tap_done() ;
  shared[0] = shared[1] = shared[2] = 0 ;
  for (k = 0 ; k < KIDS ; k++)
  {
    int slot = connslots_take(t) ;
    pid_t pid = fork() ;
    if (pid < 0) { ok(0, "fork") ; return tap_done() ; }
    if (!pid)
    {
      unsigned int r = 0, spin ;
      for (; r < ROUNDS ; r++)
      {
        if (connslots_claim(t, slot, (k & 1) ? a : b, LIMIT, LIMIT, 0)) continue ;
        __atomic_add_fetch(&shared[2], 1, __ATOMIC_RELAXED) ;
        if (__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST) > LIMIT) __atomic_store_n(&shared[1], 1, __ATOMIC_SEQ_CST) ;
        /* held a while, as a session holds its client: claims overlap */
        for (spin = 0 ; spin < 200 ; spin++) __atomic_load_n(&shared[1], __ATOMIC_RELAXED) ;
        __atomic_sub_fetch(&shared[0], 1, __ATOMIC_SEQ_CST) ;
        connslots_release(t, slot) ;
      }
      _exit(0) ;
    }
  }
  for (k = 0 ; k < KIDS ; k++)
  {
    int w ;
    if (wait(&w) < 0 || !WIFEXITED(w) || WEXITSTATUS(w)) bad++ ;
  }
  /* not every process: two claims at once may both be refused, and one
     process can lose every time to the others (a client gets a 421) */
  ok(!bad && shared[2] > ROUNDS, "claims got through (%u of %u), every process exited 0", shared[2], KIDS * ROUNDS) ;
  ok(!shared[1], "%u processes, %u claims each: never more than %u held at once", KIDS, ROUNDS, LIMIT) ;
  ok(!connslots_n(t, CONNSLOT_BUSY), "all released") ;
  return tap_done() ;
}
