/* ISC license: see LICENSE. */

#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "queue.h"
#include "tap.h"

static int cmp (void const *a, void const *b) { return memcmp(a, b, QUEUE_ID_LEN + 1) ; }

#define N 20000

int main (void)
{
  static char ids[N][QUEUE_ID_LEN + 1] ;
  char buf[QUEUE_PATH_MAX] ;
  unsigned int i, dup = 0, invalid = 0, unsorted = 0 ;
  int fds[2] ;
  tap_plan(9) ;
  for (i = 0 ; i < N ; i++)
  {
    queue_id_make(ids[i]) ;
    if (!queue_id_valid(ids[i], strlen(ids[i]))) invalid++ ;
    if (i && memcmp(ids[i-1], ids[i], 15) > 0) unsorted++ ;
  }
  ok(!invalid, "every id is 24 lower-case hex digits") ;
  ok(!unsorted, "ids sort by creation time") ;
  /* ids from another process in the same instants must differ too */
  if (pipe(fds) < 0) return 111 ;
  {
    pid_t pid = fork() ;
    if (!pid)
    {
      char id[QUEUE_ID_LEN + 1] ;
      for (i = 0 ; i < N / 2 ; i++) { queue_id_make(id) ; if (write(fds[1], id, QUEUE_ID_LEN + 1) < 0) _exit(1) ; }
      _exit(0) ;
    }
    close(fds[1]) ;
    for (i = N / 2 ; i < N ; i++) if (read(fds[0], ids[i], QUEUE_ID_LEN + 1) != QUEUE_ID_LEN + 1) break ;
    waitpid(pid, 0, 0) ;
  }
  qsort(ids, N, QUEUE_ID_LEN + 1, &cmp) ;
  for (i = 1 ; i < N ; i++) if (!memcmp(ids[i-1], ids[i], QUEUE_ID_LEN)) dup++ ;
  ok(!dup, "%u ids from two processes are distinct", N) ;
  ok(!queue_id_valid("006b0133f96614f000d0af1", 23), "short id refused") ;
  ok(!queue_id_valid("006b0133f96614f000d0af1G", 24), "non-hex id refused") ;
  ok(!queue_id_valid("../../../../etc/passwd00", 24), "path id refused") ;
  {
    char a[QUEUE_ID_LEN + 1], b[QUEUE_ID_LEN + 1] ;
    queue_id_make(a) ;
    queue_id_make_pid(b, (uint32_t)getpid()) ;
    ok(!memcmp(a + 15, b + 15, 6) && memcmp(a, b, 15) < 0, "an id made with the pid given is one made with getpid, later") ;
  }
  queue_path(buf, "queue", "006b0133f96614f000d0af13") ;
  ok(!strcmp(buf, "queue/13/006b0133f96614f000d0af13"), "bucket path %s", buf) ;
  {
    time_t now = time(0) ;
    uint64_t t = queue_id_time(ids[0]) ;
    ok(t <= (uint64_t)now && t + 60 >= (uint64_t)now, "id holds the arrival time") ;
  }
  return tap_done() ;
}
