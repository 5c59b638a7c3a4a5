/* ISC license: see LICENSE. */

#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>

#include "queue.h"
#include "qprefetch.h"
#include "tap.h"

/* bucket 00 holds more than a chunk, 01 and ff fewer; ff has no state/ff */
#define N00 40
#define N01 3
#define NFF 2

static unsigned int walked = 0 ;

static int put (char const *dir, char const *id)
{
  char fn[QUEUE_PATH_MAX] ;
  int fd ;
  queue_path(fn, dir, id) ;
  fd = open(fn, O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
  if (fd < 0) return 0 ;
  if (write(fd, "ketch 1\nfrom \nto a@b\nbody 7bit\n\nx\n", 34) != 34) { close(fd) ; return 0 ; }
  return close(fd) == 0 ;
}

static void mkid (char *id, unsigned int i, char const *bucket)
{
  static char const hex[] = "0123456789abcdef" ;
  memcpy(id, "006b0133f96614f000d0a000", QUEUE_ID_LEN + 1) ;
  id[19] = hex[(i >> 8) & 15] ; id[20] = hex[(i >> 4) & 15] ; id[21] = hex[i & 15] ;
  id[22] = bucket[0] ; id[23] = bucket[1] ;
}

static int walk (char const *id, void *data)
{
  qprefetch_seen(data, id) ;
  walked++ ;
  return 1 ;
}

int main (void)
{
  char tmpl[] = "/tmp/qprefetch.XXXXXX" ;
  char id[QUEUE_ID_LEN + 1] ;
  unsigned long files, small = 2 * N01 + NFF, all = 2 * N00 + 2 * N01 + NFF ;
  qprefetch p ;
  unsigned int i ;
  int r ;
  tap_plan(9) ;
  alarm(30) ;  /* a thread left waiting would hang the test: fail instead */
  if (!mkdtemp(tmpl) || chdir(tmpl) < 0) return 111 ;
  if (mkdir("queue", 0700) < 0 || mkdir("state", 0700) < 0
   || mkdir("queue/00", 0700) < 0 || mkdir("queue/01", 0700) < 0 || mkdir("queue/ff", 0700) < 0
   || mkdir("state/00", 0700) < 0 || mkdir("state/01", 0700) < 0) return 111 ;
  for (i = 0 ; i < N00 ; i++) { mkid(id, i, "00") ; if (!put("queue", id) || !put("state", id)) return 111 ; }
  for (i = 0 ; i < N01 ; i++) { mkid(id, i, "01") ; if (!put("queue", id) || !put("state", id)) return 111 ; }
  for (i = 0 ; i < NFF ; i++) { mkid(id, i, "ff") ; if (!put("queue", id)) return 111 ; }
  /* not an id: skipped; a FIFO under an id's name: must not block a thread */
  if ((r = open("queue/01/junk", O_WRONLY | O_CREAT, 0600)) < 0 || close(r) < 0) return 111 ;
  if (mkfifo("queue/01/006b0133f96614f000d0afff", 0600) < 0) return 111 ;

  r = qprefetch_start(&p, 2, 1) ;
  ok(r, "two threads start") ;
  if (!r) return 1 ;
  ok(queue_foreach("queue", &walk, &p), "the walk completes beside them") ;
  files = qprefetch_stop(&p) ;
  ok(walked == N00 + N01 + NFF + 1 && files <= all + 1, "the walk saw every id (%u), the threads opened %lu files", walked, files) ;

  /* allowed to run through the whole queue: wait (10 s at most) until they have */
  r = qprefetch_start(&p, 2, QUEUE_BUCKETS) ;
  for (i = 0 ; r && i < 1000 ; i++)
  {
    unsigned int n ;
    pthread_mutex_lock(&p.lock) ;
    n = p.exited ;
    pthread_mutex_unlock(&p.lock) ;
    if (n == p.nthreads) break ;
    { struct timespec ts = { .tv_sec = 0, .tv_nsec = 10000000 } ; nanosleep(&ts, 0) ; }
  }
  files = r ? qprefetch_stop(&p) : 0 ;
  /* buckets smaller than a chunk are read whole; bucket 00, in the cache, may be cut after one chunk */
  ok(files >= small && files <= all + 1, "left alone, the threads opened %lu files (%lu to %lu)", files, small, all + 1) ;

  r = qprefetch_start(&p, 3, 0) ;
  ok(r, "three threads start") ;
  files = qprefetch_stop(&p) ;
  ok(r && files <= all + 1, "a stop before the walk joins them (%lu files)", files) ;

  r = qprefetch_start(&p, 100, 4) ;
  ok(r && p.nthreads == QPREFETCH_THREADS_MAX, "the thread count is capped") ;
  if (r) qprefetch_stop(&p) ;

  r = qprefetch_start(&p, 0, 4) ;
  ok(r, "no thread is fine") ;
  qprefetch_seen(&p, id) ;
  ok(r && qprefetch_stop(&p) == 0, "and reads nothing") ;

  if (chdir("/") < 0 || rm_rf(tmpl) < 0) return 111 ;
  return tap_done() ;
}
