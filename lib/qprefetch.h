/* ISC license: see LICENSE. */

#ifndef KETCH_QPREFETCH_H
#define KETCH_QPREFETCH_H

#include <pthread.h>

/*
 * Read-ahead for a walk of the whole queue in queue_foreach's order
 * (queue-ls). A walker that reads queue/XX/ID and state/XX/ID one after
 * the other waits on the disk for every file in turn when the cache is
 * cold: two small synchronous reads per message, one request in flight.
 * Here, threads walk the buckets a little ahead of the caller, open each
 * entry and its state file (the inode reads happen then, in parallel with
 * the caller's work) and ask the kernel for their first pages with
 * posix_fadvise(POSIX_FADV_WILLNEED), which queues the reads without
 * waiting for them: the disk gets many requests at once, and the caller
 * then finds its files in the page cache.
 *
 * Only a hint: every error is ignored, and the caller reads the files
 * itself as before, so what it sees never depends on the threads. The
 * threads read only directory entries and hold one directory open each;
 * they stay at most `ahead` buckets in front of the caller, so the page
 * cache they fill is bounded by a few buckets, not by the queue.
 */

#define QPREFETCH_THREADS_MAX 8
#define QPREFETCH_HEAD 4096   /* octets of a queue entry asked for: its envelope head */

typedef struct qprefetch_s qprefetch, *qprefetch_ref ;
struct qprefetch_s
{
  pthread_mutex_t lock ;
  pthread_cond_t cond ;
  pthread_t thread[QPREFETCH_THREADS_MAX] ;
  unsigned int nthreads ;
  unsigned int ahead ;
  unsigned int at ;       /* the bucket the caller is in */
  unsigned int next ;     /* the next bucket a thread takes */
  unsigned int exited ;   /* threads that have finished */
  unsigned long files ;   /* files the threads opened */
  int stop ;
} ;

/* starts n threads (at most QPREFETCH_THREADS_MAX); 1, or 0 and errno */
extern int qprefetch_start (qprefetch *, unsigned int n, unsigned int ahead) ;
/* the caller has reached the entry id: the threads may go on */
extern void qprefetch_seen (qprefetch *, char const *) ;
/* stops and joins the threads; returns how many files they opened */
extern unsigned long qprefetch_stop (qprefetch *) ;

#endif
