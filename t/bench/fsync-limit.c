/* ISC license: see LICENSE. */
/*
 * fsync-limit: workload L of shared/benchmarks.md, the physical limit of
 * this machine for an MTA that makes one durable commit per step.
 * Per message: create a 4 KiB file in DIR/tmp, write it, fsync it, rename
 * it into DIR/new, fsync DIR/new (-n: skip the directory fsync).
 * THREADS threads run for SECONDS; prints "threads=T msgs=N secs=S rate=R".
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

static char const *top ;
static int nodirsync = 0 ;
static volatile int stop = 0 ;
static char block[4096] ;

struct worker { unsigned int n ; unsigned long done ; int err ; pthread_t t ; } ;

static double now (void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_MONOTONIC, &ts) ;
  return ts.tv_sec + ts.tv_nsec / 1e9 ;
}

static void *run (void *arg)
{
  struct worker *w = arg ;
  char tmp[4096], new[4096], newdir[4096] ;
  int dfd ;
  if ((size_t)snprintf(newdir, sizeof newdir, "%s/new", top) >= sizeof newdir) { w->err = ENAMETOOLONG ; return 0 ; }
  dfd = open(newdir, O_RDONLY | O_DIRECTORY) ;
  if (dfd < 0) { w->err = errno ; return 0 ; }
  while (!stop)
  {
    int fd ;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/tmp/%u.%lu", top, w->n, w->done) >= sizeof tmp
     || (size_t)snprintf(new, sizeof new, "%s/new/%u.%lu", top, w->n, w->done) >= sizeof new)
    { w->err = ENAMETOOLONG ; break ; }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600) ;
    if (fd < 0) { w->err = errno ; break ; }
    if (write(fd, block, sizeof block) != (ssize_t)sizeof block || fsync(fd) < 0)
    { w->err = errno ; close(fd) ; break ; }
    close(fd) ;
    if (rename(tmp, new) < 0) { w->err = errno ; break ; }
    if (!nodirsync && fsync(dfd) < 0) { w->err = errno ; break ; }
    w->done++ ;
  }
  close(dfd) ;
  return 0 ;
}

int main (int argc, char const *const *argv)
{
  unsigned int threads, i ;
  double secs, t0, t1 ;
  unsigned long total = 0 ;
  struct worker *w ;
  if (argc >= 2 && !strcmp(argv[1], "-n")) { nodirsync = 1 ; argv++ ; argc-- ; }
  if (argc != 4) { fprintf(stderr, "usage: fsync-limit [-n] DIR THREADS SECONDS\n") ; return 100 ; }
  top = argv[1] ;
  threads = (unsigned int)strtoul(argv[2], 0, 10) ;
  secs = strtod(argv[3], 0) ;
  if (!threads || threads > 256 || secs <= 0 || secs > 600) { fprintf(stderr, "fsync-limit: fatal: bad THREADS or SECONDS\n") ; return 100 ; }
  memset(block, 'x', sizeof block) ;
  w = calloc(threads, sizeof *w) ;
  if (!w) return 111 ;
  t0 = now() ;
  for (i = 0 ; i < threads ; i++)
  {
    w[i].n = i ;
    if (pthread_create(&w[i].t, 0, run, &w[i])) { fprintf(stderr, "fsync-limit: fatal: unable to create thread\n") ; return 111 ; }
  }
  {
    struct timespec ts = { (time_t)secs, (long)((secs - (time_t)secs) * 1e9) } ;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) ;
  }
  stop = 1 ;
  for (i = 0 ; i < threads ; i++) pthread_join(w[i].t, 0) ;
  t1 = now() ;
  for (i = 0 ; i < threads ; i++)
  {
    if (w[i].err) { fprintf(stderr, "fsync-limit: fatal: thread %u: %s\n", i, strerror(w[i].err)) ; return 111 ; }
    total += w[i].done ;
  }
  printf("threads=%u msgs=%lu secs=%.3f rate=%.1f\n", threads, total, t1 - t0, total / (t1 - t0)) ;
  return 0 ;
}
