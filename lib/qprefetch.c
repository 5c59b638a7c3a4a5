/* ISC license: see LICENSE. */

/* _GNU_SOURCE: getrusage(RUSAGE_THREAD), Linux's per-thread count of disk reads */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>

#include "queue.h"
#include "qprefetch.h"

/* a thread only opens, advises and closes: no deep calls on its stack */
#define QPREFETCH_STACK 65536
/*
 * How many entries a thread handles before it looks whether they made it
 * read the disk at all (and at the stop flag): when they did not, the
 * cache already holds the bucket (a warm run, or the caller got ahead),
 * and the rest of the bucket is left alone, so a warm run pays for one
 * chunk per bucket, not for every file twice.
 */
#define QPREFETCH_CHUNK 32

static unsigned int hexval (char c)
{
  return c <= '9' ? (unsigned int)(c - '0') : (unsigned int)(c - 'a' + 10) ;
}

/*
 * The open does the inode read; WILLNEED queues the data read and returns.
 * O_NONBLOCK: a FIFO planted under an id's name must not hang the thread.
 */
static int fetch (int dfd, char const *name, off_t len)
{
  int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK) ;
  if (fd < 0) return 0 ;
  (void)posix_fadvise(fd, 0, len, POSIX_FADV_WILLNEED) ;
  close(fd) ;
  return 1 ;
}

/*
 * Whether this thread read from the disk since the last call. Without a
 * per-thread count, the answer is always yes: every file is advised.
 */
static int hasread (long *last)
{
#ifdef RUSAGE_THREAD
  struct rusage ru ;
  long was = *last ;
  if (getrusage(RUSAGE_THREAD, &ru) < 0) return 1 ;
  *last = ru.ru_inblock ;
  return ru.ru_inblock != was ;
#else
  (void)last ;
  return 1 ;
#endif
}

static int stopped (qprefetch *p)
{
  int r ;
  pthread_mutex_lock(&p->lock) ;
  r = p->stop ;
  pthread_mutex_unlock(&p->lock) ;
  return r ;
}

/* queue/XX in readdir order, the order of queue_foreach, so the caller follows */
static unsigned long bucket (qprefetch *p, unsigned int b)
{
  char dn[9] ;
  unsigned long n = 0, seen = 0 ;
  long inblock = -1 ;
  DIR *d ;
  int sfd ;
  queue_bucketdir(dn, "queue", b) ;
  d = opendir(dn) ;
  if (!d) return 0 ;
  queue_bucketdir(dn, "state", b) ;
  sfd = open(dn, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  (void)hasread(&inblock) ;
  for (;;)
  {
    struct dirent *de = readdir(d) ;
    if (!de) break ;
    if (!queue_id_valid(de->d_name, strlen(de->d_name))) continue ;
    n += fetch(dirfd(d), de->d_name, QPREFETCH_HEAD) ;
    if (sfd >= 0) n += fetch(sfd, de->d_name, 0) ;
    if (!(++seen % QPREFETCH_CHUNK) && (!hasread(&inblock) || stopped(p))) break ;
  }
  if (sfd >= 0) close(sfd) ;
  closedir(d) ;
  return n ;
}

static void *worker (void *arg)
{
  qprefetch *p = arg ;
  unsigned long files = 0 ;
  for (;;)
  {
    unsigned int b ;
    pthread_mutex_lock(&p->lock) ;
    while (!p->stop && p->next < QUEUE_BUCKETS && p->next > p->at + p->ahead)
      pthread_cond_wait(&p->cond, &p->lock) ;
    if (p->stop || p->next >= QUEUE_BUCKETS)
    {
      p->files += files ;
      p->exited++ ;
      pthread_mutex_unlock(&p->lock) ;
      return 0 ;
    }
    b = p->next++ ;
    pthread_mutex_unlock(&p->lock) ;
    files += bucket(p, b) ;
  }
}

static void joinall (qprefetch *p)
{
  unsigned int i = 0 ;
  pthread_mutex_lock(&p->lock) ;
  p->stop = 1 ;
  pthread_cond_broadcast(&p->cond) ;
  pthread_mutex_unlock(&p->lock) ;
  for (; i < p->nthreads ; i++) pthread_join(p->thread[i], 0) ;
  p->nthreads = 0 ;
}

int qprefetch_start (qprefetch *p, unsigned int n, unsigned int ahead)
{
  pthread_attr_t attr ;
  int e ;
  if (n > QPREFETCH_THREADS_MAX) n = QPREFETCH_THREADS_MAX ;
  p->nthreads = 0 ;
  p->ahead = ahead ;
  p->at = 0 ;
  p->next = 0 ;
  p->exited = 0 ;
  p->files = 0 ;
  p->stop = 0 ;
  e = pthread_mutex_init(&p->lock, 0) ;
  if (e) return (errno = e, 0) ;
  e = pthread_cond_init(&p->cond, 0) ;
  if (e) { pthread_mutex_destroy(&p->lock) ; return (errno = e, 0) ; }
  e = pthread_attr_init(&attr) ;
  if (!e)
  {
    e = pthread_attr_setstacksize(&attr, QPREFETCH_STACK) ;
    while (!e && p->nthreads < n)
    {
      e = pthread_create(&p->thread[p->nthreads], &attr, &worker, p) ;
      if (!e) p->nthreads++ ;
    }
    pthread_attr_destroy(&attr) ;
  }
  if (e)
  {
    joinall(p) ;
    pthread_cond_destroy(&p->cond) ;
    pthread_mutex_destroy(&p->lock) ;
    return (errno = e, 0) ;
  }
  return 1 ;
}

void qprefetch_seen (qprefetch *p, char const *id)
{
  unsigned int b = hexval(id[QUEUE_ID_LEN - 2]) << 4 | hexval(id[QUEUE_ID_LEN - 1]) ;
  /* only this thread writes at: reading it here without the lock is safe */
  if (b == p->at) return ;
  pthread_mutex_lock(&p->lock) ;
  p->at = b ;
  pthread_cond_broadcast(&p->cond) ;
  pthread_mutex_unlock(&p->lock) ;
}

unsigned long qprefetch_stop (qprefetch *p)
{
  joinall(p) ;
  pthread_cond_destroy(&p->cond) ;
  pthread_mutex_destroy(&p->lock) ;
  return p->files ;
}
