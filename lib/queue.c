/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <dirent.h>

#include <skalibs/types.h>
#include <skalibs/djbunix.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/error.h>
#include <skalibs/random.h>
#include <skalibs/setgroups.h>

#include "queue.h"

static char const hex[] = "0123456789abcdef" ;

static void puthex (char *s, uint64_t n, unsigned int digits)
{
  while (digits--) { s[digits] = hex[n & 15] ; n >>= 4 ; }
}

/*
 * Within one process, ids strictly increase (a second id in the same
 * microsecond takes the next one), so the pid makes them unique among
 * live processes; the random digits guard against a recycled pid.
 */
void queue_id_make (char *id)
{
  queue_id_make_pid(id, (uint32_t)getpid()) ;
}

void queue_id_make_pid (char *id, uint32_t pid)
{
  static uint64_t last = 0 ;
  struct timespec ts ;
  uint64_t us ;
  uint32_t r = random_uint32(4096) ;
  clock_gettime(CLOCK_REALTIME, &ts) ;
  us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)(ts.tv_nsec / 1000) ;
  if (us <= last) us = last + 1 ;
  last = us ;
  puthex(id, us / 1000000, 10) ;
  puthex(id + 10, us % 1000000, 5) ;
  puthex(id + 15, pid & 0xffffff, 6) ;
  puthex(id + 21, r, 3) ;
  id[QUEUE_ID_LEN] = 0 ;
}

int queue_id_valid (char const *s, size_t len)
{
  size_t i = 0 ;
  if (len != QUEUE_ID_LEN) return 0 ;
  for (; i < len ; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0 ;
  return 1 ;
}

uint64_t queue_id_time (char const *id)
{
  uint64_t n = 0 ;
  unsigned int i = 0 ;
  for (; i < 10 ; i++) n = (n << 4) | (uint64_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10) ;
  return n ;
}

/* the bucket is the last two digits: random, so buckets fill evenly */
void queue_bucket (char *b, char const *id)
{
  b[0] = id[QUEUE_ID_LEN - 2] ; b[1] = id[QUEUE_ID_LEN - 1] ; b[2] = 0 ;
}

void queue_path (char *buf, char const *dir, char const *id)
{
  size_t n = strlen(dir) ;
  memcpy(buf, dir, n) ;
  buf[n] = '/' ;
  queue_bucket(buf + n + 1, id) ;
  buf[n + 3] = '/' ;
  memcpy(buf + n + 4, id, QUEUE_ID_LEN) ;
  buf[n + 4 + QUEUE_ID_LEN] = 0 ;
}

/* bucket number b (0 to QUEUE_BUCKETS-1) of "queue" or "state": 8 chars and a NUL */
void queue_bucketdir (char *buf, char const *dir, unsigned int b)
{
  memcpy(buf, dir, 5) ;
  buf[5] = '/' ; buf[6] = hex[(b >> 4) & 15] ; buf[7] = hex[b & 15] ; buf[8] = 0 ;
}

/*
 * Call f(id, data) for every entry with a valid id in bucket b of dir
 * ("queue" or "state"). A missing bucket is empty. Returns 1, -1 if f
 * returned 0 (which stops the walk), or 0 with errno on a read error.
 */
int queue_foreach_bucket (char const *dir, unsigned int b, queue_foreach_func *f, void *data)
{
  char dn[9] ;
  DIR *d ;
  queue_bucketdir(dn, dir, b) ;
  d = opendir(dn) ;
  if (!d) return errno == ENOENT ;
  for (;;)
  {
    struct dirent *de ;
    errno = 0 ;
    de = readdir(d) ;
    if (!de) break ;
    if (queue_id_valid(de->d_name, strlen(de->d_name)) && !f(de->d_name, data)) { closedir(d) ; return -1 ; }
  }
  if (errno) { int e = errno ; closedir(d) ; errno = e ; return 0 ; }
  closedir(d) ;
  return 1 ;
}

/*
 * The same for every bucket, one directory at a time, so memory does not
 * grow with the queue. Returns 1 (also when f stopped the walk), or 0
 * with errno on a read error.
 */
int queue_foreach (char const *dir, queue_foreach_func *f, void *data)
{
  unsigned int b = 0 ;
  for (; b < QUEUE_BUCKETS ; b++)
  {
    int r = queue_foreach_bucket(dir, b, f, data) ;
    if (r <= 0) return r < 0 ;
  }
  return 1 ;
}

void queue_tmppath (char *buf, char const *id)
{
  memcpy(buf, "tmp/", 4) ;
  memcpy(buf + 4, id, QUEUE_ID_LEN) ;
  buf[4 + QUEUE_ID_LEN] = 0 ;
}

int queue_open (char const *id, size_t off)
{
  char fn[QUEUE_PATH_MAX] ;
  int fd ;
  queue_path(fn, "queue", id) ;
  fd = open(fn, O_RDONLY | O_CLOEXEC) ;
  if (fd < 0) return -1 ;
  if (off && lseek(fd, off, SEEK_SET) < 0) { fd_close(fd) ; return -1 ; }
  return fd ;
}

int queue_dir_sync (char const *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return 0 ;
  if (fsync(fd) < 0) { int e = errno ; fd_close(fd) ; errno = e ; return 0 ; }
  fd_close(fd) ;
  return 1 ;
}

/*
 * rename(tmp, fn) where fn is DIR/XX/ID. A bucket directory that is gone
 * (an operator's mistake, a half-restored backup) is made again, 0700,
 * and its parent synced so that the new bucket is as durable as the
 * rename into it; then the rename is tried once more. Without this, one
 * missing bucket would defer 1/256 of all mail until someone ran mkspool.
 */
int queue_rename_into (char const *tmp, char *fn)
{
  size_t n = strlen(fn) - QUEUE_ID_LEN - 1 ;
  int e ;
  if (rename(tmp, fn) == 0) return 1 ;
  if (errno != ENOENT) return 0 ;
  fn[n] = 0 ;
  if (mkdir(fn, 0700) < 0 && errno != EEXIST) { e = errno ; fn[n] = '/' ; errno = e ; return 0 ; }
  fn[n - 3] = 0 ;
  if (!queue_dir_sync(fn)) { e = errno ; fn[n - 3] = '/' ; fn[n] = '/' ; errno = e ; return 0 ; }
  fn[n - 3] = '/' ; fn[n] = '/' ;
  return rename(tmp, fn) == 0 ;
}

/*
 * Whether the spool's filesystem can take a message of about size octets
 * now, with QUEUE_ROOM_RESERVE to spare: smtp-session asks before MAIL is
 * accepted (RFC 1870 section 6.1), so that a client learns of a full disk
 * before it sends the message, not after. An error means "yes": the
 * commit itself still fails safely.
 */
int queue_has_room (char const *spool, uint64_t size)
{
  struct statvfs sv ;
  uint64_t avail ;
  if (statvfs(spool, &sv) < 0) return 1 ;
  avail = (uint64_t)sv.f_bavail * (uint64_t)(sv.f_frsize ? sv.f_frsize : sv.f_bsize) ;
  return avail >= QUEUE_ROOM_RESERVE && avail - QUEUE_ROOM_RESERVE >= size ;
}

/*
 * The commit point of a message (spool-layout/SPOOL, step "commit"):
 * the entry's data is made durable, then one rename publishes it, then the
 * directory is made durable so the rename survives a crash. Only after
 * this returns 1 may the message be acknowledged.
 */
int queue_commit (int fd, char const *id)
{
  char tmp[QUEUE_PATH_MAX] ;
  char fn[QUEUE_PATH_MAX] ;
  if (fsync(fd) < 0) return 0 ;
  queue_tmppath(tmp, id) ;
  queue_path(fn, "queue", id) ;
  if (!queue_rename_into(tmp, fn)) return 0 ;
  fn[8] = 0 ;
  if (!queue_dir_sync(fn))
  {
    /* not durable: take it back so the sender's retry cannot duplicate it */
    int e = errno ;
    fn[8] = '/' ;
    unlink(fn) ;
    errno = e ;
    return 0 ;
  }
  return 1 ;
}

/*
 * The wake-up hint (SPOOL, "trigger"): the id and a newline, written to
 * the FIFO in one write of fewer than PIPE_BUF bytes, so it is atomic.
 * Nobody reading, or a full FIFO, loses only the hint: the scheduler's
 * rescan finds the message anyway.
 *
 * The FIFO stays open for the next hint: an enqueue-listen worker commits
 * message after message, and an open and a close each time were two
 * system calls of its twenty-odd. The open fails (ENXIO) while no
 * scheduler reads; a write once it is gone fails (EPIPE: the caller
 * ignores SIGPIPE, or dies of it as it would have on a fresh open), and
 * the next hint opens the FIFO again. The spool is our working directory
 * for the whole process (enqueue, enqueue-listen), so the FIFO kept is
 * the one "trigger" names.
 */
static int trigfd = -1 ;

void queue_trigger (char const *id)
{
  char buf[QUEUE_ID_LEN + 1] ;
  if (trigfd < 0)
  {
    trigfd = open("trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
    if (trigfd < 0) return ;
  }
  memcpy(buf, id, QUEUE_ID_LEN) ;
  buf[QUEUE_ID_LEN] = '\n' ;
  if (fd_write(trigfd, buf, QUEUE_ID_LEN + 1) < 0 && !error_isagain(errno))
  {
    fd_close(trigfd) ;
    trigfd = -1 ;
  }
}

/*
 * A new temp file, locked and linked: 1 and id, fn, *fd filled, or 0 and
 * errno. The lock is what tells recovery a writer is alive, so recovery
 * may run between our open and our lock: it then takes the lock first
 * and unlinks the file. Either the lock is busy (recovery holds it) or,
 * once ours, the file has no link left; both mean "start again with a
 * new id". After this returns, recovery can never remove the file, and
 * no pid needs checking (pids wrap, and a reused one would pin a dead
 * writer's file).
 */
int queue_tmp_create (char *id, char *fn, int *fd)
{
  unsigned int tries = 0 ;
  for (;; tries++)
  {
    struct stat st ;
    int r ;
    if (tries >= 10) { errno = EBUSY ; return 0 ; }
    queue_id_make(id) ;
    queue_tmppath(fn, id) ;
    /* read-write: DKIM signing reads the header fields back before the commit (lib/dkimsign.h) */
    *fd = open(fn, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (*fd < 0)
    {
      if (errno == EEXIST) continue ;
      return 0 ;
    }
    r = fd_lock(*fd, 1, 1) ;
    if (r == 1 && fstat(*fd, &st) == 0 && st.st_nlink > 0) return 1 ;
    {
      int e = errno ;
      fd_close(*fd) ;
      *fd = -1 ;
      if (r < 0) { errno = e ; return 0 ; }
    }
  }
}

/*
 * Start-up recovery of tmp/ (SPOOL, "recovery"): an entry whose writer
 * is gone is deleted. A writer holds a lock on its temp file until it
 * exits, and queue_tmp_create closes the window between its open and its
 * lock, so a lock we can take means a dead writer. "s.ID" files are the
 * scheduler's state being written, stale whenever recovery runs (the
 * scheduler runs recovery before it writes any). Idempotent.
 */
int queue_recover_tmp (unsigned int *removed)
{
  DIR *dir = opendir("tmp") ;
  if (!dir) return 0 ;
  for (;;)
  {
    char fn[QUEUE_PATH_MAX + 8] ;
    struct dirent *d ;
    size_t len ;
    errno = 0 ;
    d = readdir(dir) ;
    if (!d) break ;
    len = strlen(d->d_name) ;
    if (d->d_name[0] == '.' || len > QUEUE_ID_LEN + 2) continue ;
    memcpy(fn, "tmp/", 4) ;
    memcpy(fn + 4, d->d_name, len + 1) ;
    if (queue_id_valid(d->d_name, len))
    {
      int fd = open(fn, O_RDWR | O_CLOEXEC | O_NONBLOCK) ;
      int r ;
      if (fd < 0) continue ;
      r = fd_lock(fd, 1, 1) ;
      if (r == 1 && unlink(fn) == 0 && removed) (*removed)++ ;
      fd_close(fd) ;
    }
    else if (len == QUEUE_ID_LEN + 2 && d->d_name[0] == 's' && d->d_name[1] == '.' && queue_id_valid(d->d_name + 2, QUEUE_ID_LEN))
    {
      if (unlink(fn) == 0 && removed) (*removed)++ ;
    }
  }
  {
    int e = errno ;
    closedir(dir) ;
    errno = e ;
    return !e ;
  }
}

/*
 * The queue has one owner: the programs that write it as root (enqueue
 * run by a script or by sendmail on an instance without a set-uid
 * enqueue, enqueue-listen started by s6) become that owner first, so the
 * scheduler can read every entry and root never owns a queue file.
 */
int queue_become_owner (void)
{
  struct stat st ;
  if (geteuid()) return 1 ;
  if (stat(".", &st) < 0) return 0 ;
  if (!st.st_uid) return 1 ;
  return skalibs_setgroups(0, 0) == 0 && setgid(st.st_gid) == 0 && setuid(st.st_uid) == 0 ;
}
