/* ISC license: see LICENSE. */

/* lib/qscan: the spool walked into the scheduler's index one bucket per step, at start and on rescan */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/tai.h>

#include "queue.h"
#include "schedq.h"
#include "qremove.h"
#include "qscan.h"
#include "tap.h"

static int exists (char const *dir, char const *id)
{
  char fn[QUEUE_PATH_MAX] ;
  queue_path(fn, dir, id) ;
  return access(fn, F_OK) == 0 ;
}

static void mk (char const *dir, char const *id)
{
  char fn[QUEUE_PATH_MAX] ;
  int fd ;
  queue_path(fn, dir, id) ;
  fn[strlen(dir) + 3] = 0 ;
  mkdir(fn, 0700) ;
  queue_path(fn, dir, id) ;
  fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
  if (fd >= 0) close(fd) ;
}

static uint32_t busy = SCHEDQ_NONE ;   /* the one entry the test says is loaded */

static int is_active (uint32_t k, void *data)
{
  return k == busy ;
}

static unsigned int where (schedq const *q, char const *id)
{
  uint32_t k = schedq_find(q, id) ;
  return k == SCHEDQ_NONE ? SCHEDQ_W_FREE : schedq_where(q, k) ;
}

/* steps until the scan is over: the number of steps, or 0 past a bound */
static unsigned int run (qscan *s, int *errs)
{
  unsigned int n = 0 ;
  *errs = 0 ;
  while (n < 4 * QUEUE_BUCKETS)
  {
    int r = qscan_step(s) ;
    n++ ;
    if (r & QSCAN_ERROR) ++*errs ;
    if (r & QSCAN_OVER) return n ;
  }
  return 0 ;
}

int main (void)
{
  static schedq sq = SCHEDQ_ZERO ;
  static qremove qr = QREMOVE_ZERO ;
  qscan s = { .phase = QSCAN_NONE, .sq = &sq, .qr = &qr, .active = &is_active } ;
  char tmpl[] = "/tmp/qscan.XXXXXX" ;
  /* tried (entry and state), new (entry only), active (entry only, loaded), orphan (state only), removed (state only, its removal not committed) */
  char const *tried = "006b0000000000000000100a", *fresh = "006b0000000000000000200b", *loaded = "006b0000000000000000300c",
    *orphan = "006b0000000000000000400d", *removed = "006b0000000000000000500e", *later = "006b0000000000000000600f" ;
  tain t ;
  int errs ;
  unsigned int n ;
  tap_plan(15) ;
  if (!mkdtemp(tmpl) || chdir(tmpl) < 0 || mkdir("queue", 0700) < 0 || mkdir("state", 0700) < 0) return 111 ;
  mk("queue", tried) ; mk("state", tried) ; mk("queue", fresh) ; mk("queue", loaded) ; mk("state", orphan) ;
  mk("queue", removed) ; mk("state", removed) ;
  tain_addsec(&t, &tain_zero, 1000) ;
  ok(qremove_entry(&qr, removed, 1, &t), "one message removed, its commit pending") ;

  ok(!qscan_running(&s) && (qscan_step(&s) & QSCAN_OVER), "no scan: over at once") ;
  qscan_start(&s, 1) ;
  ok(qscan_running(&s) && qscan_starting(&s), "the start-up scan runs") ;
  for (n = 0 ; n < QUEUE_BUCKETS ; n++) qscan_step(&s) ;
  ok(s.phase == QSCAN_STATE && where(&sq, tried) == SCHEDQ_W_DETACHED && where(&sq, fresh) == SCHEDQ_W_DETACHED, "after queue/'s buckets, one step each: every message indexed, detached") ;
  busy = schedq_find(&sq, loaded) ;
  n = run(&s, &errs) ;
  ok(n == QUEUE_BUCKETS && !errs, "then state/'s, one step each (%u)", n) ;
  ok(!qscan_running(&s) && !qscan_starting(&s), "over") ;
  ok(where(&sq, tried) < SCHEDQ_W_FRESH && schedq_ent_at(&sq, schedq_find(&sq, tried))->next == 0, "a message with a state file: in the heap, its time unknown") ;
  ok(where(&sq, fresh) == SCHEDQ_W_FRESH, "one without: fresh") ;
  ok(where(&sq, loaded) == SCHEDQ_W_DETACHED, "an active one is left alone") ;
  ok(!exists("state", orphan) && s.orphans == 1, "an orphan state file is unlinked, and counted") ;
  ok(exists("state", removed), "a removed message's state file waits for its removal's commit") ;

  /* a rescan: what the index does not know is new mail */
  mk("queue", later) ;
  qscan_start(&s, 0) ;
  ok(qscan_running(&s) && !qscan_starting(&s), "a rescan is not a start-up scan") ;
  n = run(&s, &errs) ;
  ok(n == QUEUE_BUCKETS && where(&sq, later) == SCHEDQ_W_FRESH && where(&sq, loaded) == SCHEDQ_W_DETACHED, "a rescan reads queue/ only: a lost hint is fresh mail, the rest unchanged") ;

  /* buckets that cannot be read: said once, and the scan goes on */
  {
    char cmd[80] ;
    int fd ;
    if (system("rm -rf queue/0b queue/0c") != 0) return 111 ;
    fd = open("queue/0b", O_WRONLY | O_CREAT, 0600) ; if (fd >= 0) close(fd) ;
    fd = open("queue/0c", O_WRONLY | O_CREAT, 0600) ; if (fd >= 0) close(fd) ;
    mk("queue", "006b0000000000000000700f") ;
    qscan_start(&s, 0) ;
    n = run(&s, &errs) ;
    ok(n == QUEUE_BUCKETS && errs == 1 && !strcmp(s.errdir, "queue"), "two unreadable buckets: one error, the walk completes (%u steps, %d errors)", n, errs) ;
    ok(where(&sq, "006b0000000000000000700f") == SCHEDQ_W_FRESH, "... and the buckets after them are read") ;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl) ;
    if (chdir("/") < 0 || system(cmd) != 0) return 111 ;
  }
  schedq_free(&sq) ;
  return tap_done() ;
}
