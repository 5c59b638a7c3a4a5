/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "stats.h"

static int magic_ok (char const *m)
{
  char want[STATS_MAGIC_LEN] = { 0 } ;
  memcpy(want, STATS_MAGIC, sizeof(STATS_MAGIC) - 1) ;
  return !memcmp(m, want, STATS_MAGIC_LEN) ;
}

int stats_open_fd (char const *fn)
{
  int fd = open(fn, O_RDWR | O_CREAT | O_NOFOLLOW, 0640) ;
  return fd ;
}

/*
 * An empty file (mkspool's, or one just created) is grown to the
 * record's size, zeros, and given its magic. Two processes doing so at
 * once (two remote-sends) write the same octets: no harm. A file of
 * another size or magic is someone else's layout: left alone.
 */
stats_rec *stats_map_fd (int fd)
{
  struct stat st ;
  stats_rec *r ;
  if (fstat(fd, &st) < 0) return 0 ;
  if (!S_ISREG(st.st_mode)) { errno = EPROTO ; return 0 ; }
  if (!st.st_size)
  {
    char m[STATS_MAGIC_LEN] = { 0 } ;
    memcpy(m, STATS_MAGIC, sizeof(STATS_MAGIC) - 1) ;
    /* readable by the group, whatever the writer's umask: ketch-stats reads it as a member */
    if (fchmod(fd, 0640) < 0 && errno != EPERM) return 0 ;
    if (ftruncate(fd, sizeof(stats_rec)) < 0) return 0 ;
    if (pwrite(fd, m, STATS_MAGIC_LEN, 0) != STATS_MAGIC_LEN) return 0 ;
  }
  else if ((size_t)st.st_size != sizeof(stats_rec)) { errno = EPROTO ; return 0 ; }
  r = mmap(0, sizeof(stats_rec), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ;
  if (r == MAP_FAILED) return 0 ;
  if (!magic_ok(r->magic))
  {
    munmap(r, sizeof(stats_rec)) ;
    errno = EPROTO ;
    return 0 ;
  }
  return r ;
}

stats_rec *stats_open (char const *fn)
{
  stats_rec *r ;
  int fd = stats_open_fd(fn) ;
  if (fd < 0) return 0 ;
  r = stats_map_fd(fd) ;
  fd_close(fd) ;
  return r ;
}

void stats_close (stats_rec *r)
{
  if (r) munmap(r, sizeof(stats_rec)) ;
}

static size_t lower (char *dst, char const *s, size_t len)
{
  size_t i = 0 ;
  if (len && s[len-1] == '.') len-- ;   /* the root label: example.org. is example.org */
  for (; i < len ; i++) dst[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i] ;
  return len ;
}

void stats_dest_fail (stats_rec *r, char const *domain, size_t len)
{
  char name[STATS_DEST_LEN] ;
  size_t i = 0 ;
  if (!r) return ;
  if (!len || len > STATS_DEST_LEN) { stats_add(r, STATS_DEST_OTHER, 1) ; return ; }
  len = lower(name, domain, len) ;
  for (; i < STATS_DEST_MAX ; i++)
  {
    stats_dest *d = r->dest + i ;
    uint64_t l = __atomic_load_n(&d->len, __ATOMIC_ACQUIRE) ;
    if (!l)
    {
      /* the one writer claims it: the name first, then its length */
      memcpy(d->name, name, len) ;
      d->name[len] = 0 ;
      __atomic_store_n(&d->len, (uint64_t)len, __ATOMIC_RELEASE) ;
      __atomic_fetch_add(&d->failures, 1, __ATOMIC_RELAXED) ;
      return ;
    }
    if (l == len && !memcmp(d->name, name, len))
    {
      __atomic_fetch_add(&d->failures, 1, __ATOMIC_RELAXED) ;
      return ;
    }
  }
  stats_add(r, STATS_DEST_OTHER, 1) ;
}

static void merge (stats_sum *out, stats_rec const *r)
{
  size_t i = 0 ;
  for (; i < STATS_SLOTS ; i++) out->v[i] += __atomic_load_n(&r->v[i], __ATOMIC_RELAXED) ;
  for (i = 0 ; i < STATS_DEST_MAX ; i++)
  {
    stats_dest const *d = r->dest + i ;
    uint64_t l = __atomic_load_n(&d->len, __ATOMIC_ACQUIRE) ;
    uint64_t f ;
    size_t k = 0 ;
    if (!l || l > STATS_DEST_LEN) continue ;
    f = __atomic_load_n(&d->failures, __ATOMIC_RELAXED) ;
    for (; k < out->ndest ; k++)
      if (out->dest[k].len == l && !memcmp(out->dest[k].name, d->name, l)) break ;
    if (k == out->ndest)
    {
      if (k == sizeof(out->dest) / sizeof(out->dest[0])) { out->v[STATS_DEST_OTHER] += f ; continue ; }
      out->ndest++ ;
      out->dest[k].len = l ;
      out->dest[k].failures = 0 ;
      memcpy(out->dest[k].name, d->name, l) ;
      out->dest[k].name[l] = 0 ;
    }
    out->dest[k].failures += f ;
  }
}

/* 1: read; 0: nothing to read (missing, empty, foreign); -1: error */
int stats_read_file (char const *fn, stats_sum *out)
{
  struct stat st ;
  stats_rec const *r ;
  int fd = open(fn, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) ;
  if (fd < 0) return errno == ENOENT ? 0 : -1 ;
  if (fstat(fd, &st) < 0) { fd_close(fd) ; return -1 ; }
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size != sizeof(stats_rec)) { fd_close(fd) ; return 0 ; }
  r = mmap(0, sizeof(stats_rec), PROT_READ, MAP_SHARED, fd, 0) ;
  fd_close(fd) ;
  if (r == MAP_FAILED) return -1 ;
  if (!magic_ok(r->magic)) { munmap((void *)r, sizeof(stats_rec)) ; return 0 ; }
  merge(out, r) ;
  munmap((void *)r, sizeof(stats_rec)) ;
  return 1 ;
}

int stats_read (char const *dir, stats_sum *out)
{
  static char const *const files[] = { STATS_FILE_SMTP, STATS_FILE_ENQUEUE, STATS_FILE_SCHEDULER, STATS_FILE_REMOTE } ;
  stralloc fn = STRALLOC_ZERO ;
  size_t dlen = strlen(dir), i = 0 ;
  int n = 0 ;
  memset(out, 0, sizeof(*out)) ;
  for (; i < sizeof(files) / sizeof(files[0]) ; i++)
  {
    int r ;
    fn.len = 0 ;
    if (!stralloc_catb(&fn, dir, dlen) || !stralloc_catb(&fn, "/", 1) || !stralloc_cats(&fn, files[i]) || !stralloc_0(&fn)) { stralloc_free(&fn) ; return -1 ; }
    r = stats_read_file(fn.s, out) ;
    if (r < 0) { int e = errno ; stralloc_free(&fn) ; errno = e ; return -1 ; }
    n += r ;
  }
  stralloc_free(&fn) ;
  return n ;
}
