/* ISC license: see LICENSE. */

/*
 * Fault injection for tests, by LD_PRELOAD: KETCH_FAIL_FSYNC=n makes the
 * n-th fsync of the process fail with EIO, KETCH_FAIL_RENAME=n the n-th
 * rename or renameat, KETCH_FAIL_WRITE=n the n-th write or writev to a regular file with ENOSPC.
 * n = 0 (or unset) fails none; "all" fails every one.
 *
 * KETCH_FAIL_FILE=path: while that file exists, each of its lines
 * "PROG CALL" (CALL is fsync, rename or write) makes every such call of a
 * process named PROG fail. A test starts a whole supervision tree with the
 * shim, then turns faults of one program on and off while it runs.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/prctl.h>

/* the process name (comm), not argv[0]: a child that local-spawn or
   smtp-listen forks without an exec is named by prctl(PR_SET_NAME) */
static char const *procname (void)
{
  static char name[17] ;
  if (prctl(PR_GET_NAME, name, 0, 0, 0) < 0) return program_invocation_short_name ;
  return name ;
}

static int in_file (char const *call)
{
  char const *fn = getenv("KETCH_FAIL_FILE") ;
  char buf[1024] ;
  char const *me = procname() ;
  size_t plen = strlen(me), clen = strlen(call) ;
  ssize_t r ;
  int fd, e = errno ;
  if (!fn || !*fn) return 0 ;
  fd = open(fn, O_RDONLY | O_CLOEXEC) ;
  if (fd < 0) { errno = e ; return 0 ; }
  r = read(fd, buf, sizeof(buf) - 1) ;
  close(fd) ;
  errno = e ;
  if (r <= 0) return 0 ;
  buf[r] = 0 ;
  for (char *line = buf ; *line ; )
  {
    char *end = strchr(line, '\n') ;
    if (end) *end = 0 ;
    if (!strncmp(line, me, plen) && line[plen] == ' '
     && !strncmp(line + plen + 1, call, clen) && !line[plen + 1 + clen]) return 1 ;
    if (!end) break ;
    line = end + 1 ;
  }
  return 0 ;
}

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
  if (due("KETCH_FAIL_FSYNC", &n) || in_file("fsync")) return (errno = EIO, -1) ;
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync") ;
  return real(fd) ;
}

static unsigned long nrename = 0 ;

int rename (char const *a, char const *b)
{
  static int (*real)(char const *, char const *) = 0 ;
  if (due("KETCH_FAIL_RENAME", &nrename) || in_file("rename")) return (errno = EIO, -1) ;
  if (!real) real = (int (*)(char const *, char const *))dlsym(RTLD_NEXT, "rename") ;
  return real(a, b) ;
}

/* renameat is counted as rename, one count and one CALL: lib/maildir renames through the directories it holds */
int renameat (int da, char const *a, int db, char const *b)
{
  static int (*real)(int, char const *, int, char const *) = 0 ;
  if (due("KETCH_FAIL_RENAME", &nrename) || in_file("rename")) return (errno = EIO, -1) ;
  if (!real) real = (int (*)(int, char const *, int, char const *))dlsym(RTLD_NEXT, "renameat") ;
  return real(da, a, db, b) ;
}

/* write and writev are one count and one CALL, "write": lib/maildir writes its first octets with writev */
static unsigned long nwrite = 0 ;

ssize_t write (int fd, void const *buf, size_t len)
{
  static ssize_t (*real)(int, void const *, size_t) = 0 ;
  struct stat st ;
  if (!real) real = (ssize_t (*)(int, void const *, size_t))dlsym(RTLD_NEXT, "write") ;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (due("KETCH_FAIL_WRITE", &nwrite) || in_file("write"))) return (errno = ENOSPC, -1) ;
  return real(fd, buf, len) ;
}

ssize_t writev (int fd, struct iovec const *v, int n)
{
  static ssize_t (*real)(int, struct iovec const *, int) = 0 ;
  struct stat st ;
  if (!real) real = (ssize_t (*)(int, struct iovec const *, int))dlsym(RTLD_NEXT, "writev") ;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (due("KETCH_FAIL_WRITE", &nwrite) || in_file("write"))) return (errno = ENOSPC, -1) ;
  return real(fd, v, n) ;
}
