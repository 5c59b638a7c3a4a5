/* ISC license: see LICENSE. */

/* lib/qremove: entries go at once, state files only after their bucket's commit, and only those that may exist */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/tai.h>

#include "qremove.h"
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

int main (void)
{
  static qremove q = QREMOVE_ZERO ;
  char tmpl[] = "/tmp/qremove.XXXXXX" ;
  /* two messages in bucket 0a, one in ff */
  char const *a = "006b0000000000000000100a", *b = "006b0000000000000000200a", *c = "006b00000000000000003fff" ;
  tain t0, t, next ;
  int left ;
  unsigned int failed ;
  tap_plan(16) ;
  if (!mkdtemp(tmpl) || chdir(tmpl) < 0 || mkdir("queue", 0700) < 0 || mkdir("state", 0700) < 0) return 111 ;
  mk("queue", a) ; mk("state", a) ; mk("queue", b) ; mk("queue", c) ; mk("state", c) ;
  /* b's caller will say it has no state file: one put there anyway shows that nothing is unlinked for it */
  mk("state", b) ;
  tain_addsec(&t0, &tain_zero, 1000) ;
  ok(qremove_entry(&q, a, 1, &t0) && !exists("queue", a) && exists("state", a), "an entry is unlinked at once, its state file stays") ;
  tain_addsec(&t, &t0, 0) ;
  t.nano = 500000000 ;
  ok(qremove_entry(&q, b, 0, &t) && qremove_entry(&q, c, 1, &t) && qremove_pending(&q) == 3, "three removals wait for their commits") ;
  ok(qremove_entry(&q, "006b0000000000000000900a", 1, &t) && qremove_pending(&q) == 4, "an entry already gone is no error") ;
  ok(qremove_waiting(&q, a) && qremove_waiting(&q, c) && !qremove_waiting(&q, "006b0000000000000000300a"), "qremove_waiting: the ids booked, and no other of their buckets") ;
  ok(!qremove_waiting(&q, b), "... nor one without a state file") ;
  failed = qremove_commit(&q, &t, 0, &next, &left) ;
  ok(!failed && exists("state", a) && qremove_pending(&q) == 4, "nothing is committed before its time") ;
  ok(left && next.sec.x == t0.sec.x + QREMOVE_DELAY && next.nano == t0.nano, "the next commit is the first removal's bucket's, QREMOVE_DELAY after it") ;
  tain_addsec(&t, &t0, QREMOVE_DELAY) ;
  failed = qremove_commit(&q, &t, 0, &next, &left) ;
  ok(!failed && !exists("state", a) && exists("state", c) && qremove_pending(&q) == 1, "bucket 0a's commit removes its state files, in one go for its three messages") ;
  ok(exists("state", b), "... and unlinks none for the message without one") ;
  ok(left && next.nano == 500000000, "bucket ff is due half a second later") ;
  failed = qremove_commit(&q, &t, 1, &next, &left) ;
  ok(!failed && !exists("state", c) && !qremove_pending(&q) && !left, "a forced commit takes every bucket") ;
  ok(!qremove_waiting(&q, a) && !qremove_waiting(&q, c), "committed: no longer waiting") ;
  /* a bucket whose fsync fails keeps its state files */
  mk("queue", a) ; mk("state", a) ;
  ok(qremove_entry(&q, a, 1, &t), "a removal in bucket 0a again") ;
  if (rmdir("queue/0a") < 0) return 111 ;
  failed = qremove_commit(&q, &t, 1, &next, &left) ;
  ok(failed == 1 && exists("state", a), "a bucket that cannot be synced is counted, and its state file stays") ;
  ok(!qremove_pending(&q), "... and is not retried: recovery removes the state file") ;
  {
    char cmd[64] ;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl) ;
    ok(system(cmd) == 0, "clean up") ;
  }
  return tap_done() ;
}
