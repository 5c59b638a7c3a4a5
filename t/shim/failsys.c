/* ISC license: see LICENSE. */

/*
 * Fault injection for tests, by LD_PRELOAD: KETCH_FAIL_FSYNC=n makes the
 * n-th fsync of the process fail with EIO, KETCH_FAIL_RENAME=n the n-th
 * rename, KETCH_FAIL_WRITE=n the n-th write to a regular file with ENOSPC.
 * n = 0 (or unset) fails none; "all" fails every one.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static int due (char const *var, unsigned long *count)
{
  char const *v = getenv(var) ;
  if (!v || !*v) return 0 ;
  ++*count ;
  if (!strcmp(v, "all")) return 1 ;
  return strtoul(v, 0, 10) == *count ;
}

int fsync (int fd)
{
  static unsigned long n = 0 ;
  static int (*real)(int) = 0 ;
  if (due("KETCH_FAIL_FSYNC", &n)) return (errno = EIO, -1) ;
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync") ;
  return real(fd) ;
}

int rename (char const *a, char const *b)
{
  static unsigned long n = 0 ;
  static int (*real)(char const *, char const *) = 0 ;
  if (due("KETCH_FAIL_RENAME", &n)) return (errno = EIO, -1) ;
  if (!real) real = (int (*)(char const *, char const *))dlsym(RTLD_NEXT, "rename") ;
  return real(a, b) ;
}

ssize_t write (int fd, void const *buf, size_t len)
{
  static unsigned long n = 0 ;
  static ssize_t (*real)(int, void const *, size_t) = 0 ;
  struct stat st ;
  if (!real) real = (ssize_t (*)(int, void const *, size_t))dlsym(RTLD_NEXT, "write") ;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && due("KETCH_FAIL_WRITE", &n)) return (errno = ENOSPC, -1) ;
  return real(fd, buf, len) ;
}
