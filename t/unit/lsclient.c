/* ISC license: see LICENSE. */

/* Unit test of lib/lsclient: local-spawn's process forked with its socket and pipe, tagged requests, reports read. */

#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>

#include "lsclient.h"
#include "tap.h"

int main (void)
{
  lsclient l = LSCLIENT_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  char const *what = "" ;
  int fd = open("/dev/null", O_RDONLY) ;
  int r = 1, wstat = -1 ;
  unsigned int i = 0, t1, t2, t3 ;
  pid_t pid ;
  tap_plan(8) ;
  pid = lsclient_fork(&l, &what) ;
  if (!pid)
  {
    /* the child: requests arrive on fd 0 until the scheduler closes it; a report goes on fd 1, then it is gone */
    static char const rep[] = "1 0 got it\n" ;
    char b[512] ;
    size_t total = 0 ;
    ssize_t n ;
    while ((n = read(0, b, sizeof(b))) > 0) total += n ;
    if (total && write(1, rep, sizeof(rep) - 1) < 0) _exit(1) ;
    _exit(0) ;
  }
  ok(pid > 0 && l.pid == pid && l.w >= 0 && l.r >= 0, "forked, the socket and the pipe kept (%s)", what) ;
  ok((fcntl(l.r, F_GETFL) & O_NONBLOCK) && (fcntl(l.r, F_GETFD) & FD_CLOEXEC) && (fcntl(l.w, F_GETFD) & FD_CLOEXEC), "the pipe non-blocking, both close-on-exec") ;
  ok(lsclient_read(&l, &sa) == 1 && !sa.len, "nothing reported yet: drained") ;
  t1 = lsclient_request(&l, fd, "0123456789abcdef01234567", 60, "s@x", "u@y", 0) ;
  t2 = lsclient_request(&l, fd, "0123456789abcdef01234567", 60, "s@x", "v@y", "o@y") ;
  ok(t1 == 1 && t2 == 2, "tags in turn (%u, %u)", t1, t2) ;
  l.tag = UINT_MAX ;
  t3 = lsclient_request(&l, fd, "0123456789abcdef01234567", 60, "s@x", "w@y", 0) ;
  ok(t3 == 1, "never tag 0 (%u)", t3) ;
  close(l.w) ;
  /* bounded: 50 waits of at most 100 ms */
  for (; i < 50 && r == 1 ; i++)
  {
    struct pollfd p = { .fd = l.r, .events = POLLIN, .revents = 0 } ;
    poll(&p, 1, 100) ;
    r = lsclient_read(&l, &sa) ;
  }
  ok(!r, "local-spawn gone: 0 (%d)", r) ;
  ok(sa.len == 11 && !memcmp(sa.s, "1 0 got it\n", 11), "its report appended (%zu)", sa.len) ;
  ok(waitpid(pid, &wstat, 0) == pid && WIFEXITED(wstat) && !WEXITSTATUS(wstat), "the child exited") ;
  close(l.r) ; close(fd) ;
  stralloc_free(&sa) ; stralloc_free(&l.req) ;
  return tap_done() ;
}
