/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <skalibs/types.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include "maildir.h"

/* fn's parent directory made durable: fn[i] is its last '/' */
static int parent_sync (char *fn, size_t i)
{
  int fd, e ;
  fn[i] = 0 ;
  fd = open(fn, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  e = errno ;
  fn[i] = '/' ;
  if (fd < 0) { errno = e ; return 0 ; }
  if (fsync(fd) < 0) { e = errno ; fd_close(fd) ; errno = e ; return 0 ; }
  fd_close(fd) ;
  return 1 ;
}

/*
 * dir, dir/tmp, dir/new, dir/cur; the parents of dir too (mode 0700).
 * Each directory's parent (but the first component's) is fsynced after its mkdir, made now or found
 * made (by a delivery running beside this one, which may not have
 * synced it yet): the fsync of new/ that ends a delivery makes the
 * message's name durable, not new/ itself, nor dir (fsync(2); the
 * power-cut run of t/powercut.t lost the whole Maildir, and every
 * message delivered into it, without these). Only a missing Maildir
 * comes here: no cost per delivery.
 */
int maildir_make (char const *dir)
{
  size_t n = strlen(dir) ;
  char fn[n + 5] ;
  static char const *const sub[3] = { "/tmp", "/new", "/cur" } ;
  size_t last = 0 ;
  unsigned int i = 0 ;
  memcpy(fn, dir, n + 1) ;
  for (i = 1 ; i < n ; i++)
    if (fn[i] == '/')
    {
      fn[i] = 0 ;
      if (mkdir(fn, 0700) < 0 && errno != EEXIST) return 0 ;
      fn[i] = '/' ;
      if (last && !parent_sync(fn, last)) return 0 ;
      last = i ;
    }
  if (mkdir(fn, 0700) < 0 && errno != EEXIST) return 0 ;
  if (last && !parent_sync(fn, last)) return 0 ;
  for (i = 0 ; i < 3 ; i++)
  {
    memcpy(fn + n, sub[i], 5) ;
    if (mkdir(fn, 0700) < 0 && errno != EEXIST) return 0 ;
  }
  return parent_sync(fn, n) ;
}

/*
 * The unique name: seconds, then M<usec>P<pid>Q<n>, then the host name
 * with '/' and ':' encoded as the specification asks. No process makes
 * two names with one Q, and no two processes alive at once share a pid:
 * the name is unique on this host without a random part (a getrandom
 * per delivery). The pid is asked once per process (mp) and the host
 * name once per program (a system call per delivery otherwise, and a
 * delivery worker lives for at most a thousand deliveries); the host
 * name only tells a reader where it was made.
 */
static char host[256] ;

static int uniquename (maildir_proc *mp, struct timespec const *ts, stralloc *sa)
{
  char fmt[UINT64_FMT] ;
  size_t i = 0 ;
  if (!mp->pid) mp->pid = (uint64_t)getpid() ;
  if (!stralloc_catb(sa, fmt, uint64_fmt(fmt, (uint64_t)ts->tv_sec))) return 0 ;
  if (!stralloc_catb(sa, ".M", 2) || !stralloc_catb(sa, fmt, uint64_fmt(fmt, (uint64_t)(ts->tv_nsec / 1000)))) return 0 ;
  if (!stralloc_catb(sa, "P", 1) || !stralloc_catb(sa, fmt, uint64_fmt(fmt, mp->pid))) return 0 ;
  if (!stralloc_catb(sa, "Q", 1) || !stralloc_catb(sa, fmt, uint64_fmt(fmt, ++mp->q))) return 0 ;
  if (!stralloc_catb(sa, ".", 1)) return 0 ;
  if (!host[0])
  {
    if (gethostname(host, sizeof(host) - 1) < 0 || !host[0]) memcpy(host, "localhost", 10) ;
    host[sizeof(host) - 1] = 0 ;
  }
  for (i = 0 ; host[i] ; i++)
  {
    if (host[i] == '/') { if (!stralloc_cats(sa, "\\057")) return 0 ; }
    else if (host[i] == ':') { if (!stralloc_cats(sa, "\\072")) return 0 ; }
    else if (!stralloc_catb(sa, host + i, 1)) return 0 ;
  }
  return stralloc_0(sa) ;
}

static void dirs_close (maildir_proc *mp)
{
  if (mp->tmpfd >= 0) fd_close(mp->tmpfd) ;
  if (mp->newfd >= 0) fd_close(mp->newfd) ;
  mp->tmpfd = mp->newfd = -1 ;
  mp->dir.len = 0 ;
}

/* dir's tmp/ and new/, held (maildir_proc): the ones open if they are dir's and young enough. 1, or 0 and errno */
static int dirs_open (maildir_proc *mp, char const *dir, struct timespec const *now)
{
  size_t n = strlen(dir) ;
  char fn[n + 5] ;
  if (mp->tmpfd >= 0 && now->tv_sec < mp->until && mp->dir.len == n + 1 && !memcmp(mp->dir.s, dir, n + 1)) return 1 ;
  dirs_close(mp) ;
  memcpy(fn, dir, n) ;
  memcpy(fn + n, "/tmp", 5) ;
  mp->tmpfd = open(fn, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (mp->tmpfd < 0) return 0 ;
  memcpy(fn + n, "/new", 5) ;
  mp->newfd = open(fn, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (mp->newfd < 0 || !stralloc_catb(&mp->dir, dir, n + 1)) { int e = errno ; dirs_close(mp) ; errno = e ; return 0 ; }
  mp->until = (int64_t)now->tv_sec + MAILDIR_DIRS_SECS ;
  return 1 ;
}

void maildir_proc_free (maildir_proc *mp)
{
  dirs_close(mp) ;
  stralloc_free(&mp->dir) ;
}

int maildir_deliver (maildir_proc *mp, char const *dir, char const *pre, size_t prelen, char const *head, size_t headlen, int fd, stralloc *name)
{
  int out = -1 ;
  unsigned int tries = 0 ;
  char buf[65536] ;
  for (;;)
  {
    struct timespec ts ;
    clock_gettime(CLOCK_REALTIME, &ts) ;
    if (dirs_open(mp, dir, &ts))
    {
      name->len = 0 ;
      if (!uniquename(mp, &ts, name)) return 0 ;
      out = openat(mp->tmpfd, name->s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
      if (out >= 0) break ;
    }
    /* a Maildir missing, or gone since it was opened: made (once), and opened again */
    if (errno == ENOENT && !tries)
    {
      dirs_close(mp) ;
      if (!maildir_make(dir)) return 0 ;
    }
    else if (errno != EEXIST || tries >= 5) return 0 ;
    tries++ ;
  }
  {
    /* the added header and the head already read, in one system call */
    struct iovec v[2] = { { .iov_base = (char *)pre, .iov_len = prelen }, { .iov_base = (char *)head, .iov_len = headlen } } ;
    if (allwritev(out, v, 2) < prelen + headlen) goto errunlink ;
  }
  for (;;)
  {
    ssize_t r = fd_read(fd, buf, sizeof(buf)) ;
    if (r < 0) goto errunlink ;
    if (!r) break ;
    if (allwrite(out, buf, r) < (size_t)r) goto errunlink ;
  }
  if (fsync(out) < 0) goto errunlink ;
  if (close(out) < 0) { out = -1 ; goto errunlink ; }
  out = -1 ;
  /* rename, not link: some filesystems (and AFS, per the spec's notes) lack link; into the new/ that is synced next */
  if (renameat(mp->tmpfd, name->s, mp->newfd, name->s) < 0) goto errunlink ;
  if (fsync(mp->newfd) < 0) { int e = errno ; dirs_close(mp) ; errno = e ; return 0 ; }
  return 1 ;
 errunlink:
  {
    int e = errno ;
    if (out >= 0) fd_close(out) ;
    unlinkat(mp->tmpfd, name->s, 0) ;
    errno = e ;
  }
  return 0 ;
}
