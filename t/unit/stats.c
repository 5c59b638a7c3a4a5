/* ISC license: see LICENSE. */

/* Unit test of lib/stats: the record file, its adds across mappings and restarts, the destination table, the reader's sum. */

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "stats.h"
#include "tap.h"

int main (void)
{
  stats_rec *a, *b ;
  stats_sum sum ;
  struct stat st ;
  char fn[4096], name[300] ;
  size_t i ;
  int r, fd ;
  pid_t pid ;
  tap_plan(15) ;
  if (!tap_tmpdir()) return 1 ;
  strcpy(fn, tap_path(STATS_FILE_SCHEDULER)) ;
  a = stats_open(fn) ;
  ok(a && stat(fn, &st) == 0 && (size_t)st.st_size == sizeof(stats_rec) && (st.st_mode & 0777) == 0640, "a new file: the record's size, mode 0640") ;
  if (!a) return 1 ;
  ok(!memcmp(a->magic, STATS_MAGIC, sizeof(STATS_MAGIC) - 1) && !a->v[0] && !a->v[STATS_SLOTS-1], "its magic, zero values") ;
  b = stats_open(fn) ;
  stats_add(a, STATS_DELIVERED_LOCAL, 2) ;
  stats_add(b, STATS_DELIVERED_LOCAL, 3) ;
  ok(a->v[STATS_DELIVERED_LOCAL] == 5, "two mappings of one file add to the same value") ;
  pid = fork() ;
  if (!pid) { for (i = 0 ; i < 10000 ; i++) stats_add(b, STATS_RECEIVED_SMTP, 1) ; _exit(0) ; }
  for (i = 0 ; i < 10000 ; i++) stats_add(a, STATS_RECEIVED_SMTP, 1) ;
  waitpid(pid, &r, 0) ;
  ok(a->v[STATS_RECEIVED_SMTP] == 20000, "20000 adds from two processes at once: none lost") ;
  stats_close(a) ;
  stats_close(b) ;
  a = stats_open(fn) ;
  ok(a && a->v[STATS_DELIVERED_LOCAL] == 5 && a->v[STATS_RECEIVED_SMTP] == 20000, "opened again (a restart): the counts are there") ;
  stats_add(0, STATS_RECEIVED_SMTP, 1) ;
  stats_set(0, STATS_G_QUEUE_SIZE, 1) ;
  ok(1, "no mapping: adds and sets do nothing") ;

  stats_dest_fail(a, "Example.ORG.", 12) ;
  stats_dest_fail(a, "example.org", 11) ;
  ok(a->dest[0].len == 11 && !strcmp(a->dest[0].name, "example.org") && a->dest[0].failures == 2, "a domain's failures in one slot, lower case, without the root dot") ;
  for (i = 0 ; i < STATS_DEST_MAX + 5 ; i++)
  {
    size_t n = (size_t)snprintf(name, sizeof(name), "d%zu.example", i) ;
    stats_dest_fail(a, name, n) ;
  }
  ok(a->dest[STATS_DEST_MAX-1].len && a->v[STATS_DEST_OTHER] == 6, "the table full: the rest go to other") ;
  memset(name, 'a', sizeof(name)) ;
  stats_dest_fail(a, name, STATS_DEST_LEN + 1) ;
  stats_dest_fail(a, name, 0) ;
  ok(a->v[STATS_DEST_OTHER] == 8, "an empty or too long name: other") ;

  stats_set(a, STATS_G_QUEUE_SIZE, 42) ;
  b = stats_open(tap_path(STATS_FILE_SMTP)) ;
  stats_add(b, STATS_RECEIVED_SMTP, 1) ;
  stats_set(b, STATS_G_SESSIONS_OPEN, 3) ;
  r = stats_read(tap_dir(), &sum) ;
  ok(r == 2 && sum.v[STATS_RECEIVED_SMTP] == 20001 && sum.v[STATS_G_QUEUE_SIZE] == 42 && sum.v[STATS_G_SESSIONS_OPEN] == 3, "the reader sums the files there are (2 of 4)") ;
  ok(sum.ndest == STATS_DEST_MAX && sum.dest[0].failures == 2 && !strcmp(sum.dest[0].name, "example.org") && sum.v[STATS_DEST_OTHER] == 8, "and their destinations") ;
  stats_close(b) ;

  /* an empty file (mkspool's) is initialised; a foreign one is refused and skipped */
  fd = open(tap_path(STATS_FILE_REMOTE), O_CREAT | O_WRONLY, 0600) ;
  close(fd) ;
  b = stats_open(tap_path(STATS_FILE_REMOTE)) ;
  ok(b && !memcmp(b->magic, STATS_MAGIC, sizeof(STATS_MAGIC) - 1), "an empty file is made a record") ;
  stats_close(b) ;
  ok(tap_put(STATS_FILE_ENQUEUE, "something else\n") && !stats_open(tap_path(STATS_FILE_ENQUEUE)) && errno == EPROTO, "a file of another size: EPROTO") ;
  fd = open(tap_path(STATS_FILE_ENQUEUE), O_WRONLY | O_TRUNC) ;
  r = ftruncate(fd, sizeof(stats_rec)) ;
  close(fd) ;
  ok(!r && !stats_open(tap_path(STATS_FILE_ENQUEUE)) && errno == EPROTO, "the right size and another magic: EPROTO") ;
  r = stats_read(tap_dir(), &sum) ;
  ok(r == 3 && sum.v[STATS_RECEIVED_SMTP] == 20001, "the reader skips the foreign file") ;
  stats_close(a) ;
  tap_rmtmp() ;
  return tap_done() ;
}
