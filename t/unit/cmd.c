/* ISC license: see LICENSE. */

/*
 * lib/cmd: an argv built in one stralloc; a child started with a file on
 * its fd 0 and a pipe back on its fd 1 or 2 (the other to /dev/null), in
 * a process group of its own, exiting 111 when it cannot exec.
 */

#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <poll.h>
#include <signal.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>

#include "cmd.h"
#include "tap.h"

static pid_t pgid = 0 ;   /* the child's process group, as it ended */

/* everything the child writes on the pipe (within 10 s), then its exit status */
static int collect (pid_t pid, int fd, stralloc *out)
{
  int wstat ;
  for (;;)
  {
    char buf[256] ;
    ssize_t r = read(fd, buf, sizeof(buf)) ;
    if (r > 0) { stralloc_catb(out, buf, r) ; continue ; }
    if (!r) break ;
    if (errno == EAGAIN)
    {
      struct pollfd x = { .fd = fd, .events = POLLIN } ;
      if (poll(&x, 1, 10000) <= 0) break ;
      continue ;
    }
    break ;
  }
  close(fd) ;
  pgid = getpgid(pid) ;   /* a zombie until waited for */
  if (waitpid(pid, &wstat, 0) != pid) return -1 ;
  stralloc_0(out) ;
  return wstat ;
}

int main (void)
{
  stralloc sa = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  genalloc ga = GENALLOC_ZERO ;
  char const *const *argv = 0 ;
  int in, rfd = -1, w ;
  pid_t pid ;
  tap_plan(10) ;
  if (!tap_tmpdir() || !tap_put("in", "the message\n")) return 111 ;

  ok(cmd_add(&sa, "/bin/sh") && cmd_add(&sa, "-c") && cmd_add(&sa, "cat ; echo to-stderr >&2") && cmd_argv(&sa, &ga, &argv),
    "an argv from three strings") ;
  ok(genalloc_len(char const *, &ga) == 4 && !strcmp(argv[0], "/bin/sh") && !strcmp(argv[1], "-c") && !argv[3], "in order, null-terminated") ;

  in = open(tap_path("in"), O_RDONLY) ;
  pid = cmd_spawn(argv, in, 1, &rfd) ;
  close(in) ;
  ok(pid > 0 && rfd >= 0 && (fcntl(rfd, F_GETFL) & O_NONBLOCK) && (fcntl(rfd, F_GETFD) & FD_CLOEXEC), "started: a non-blocking close-on-exec pipe") ;
  w = collect(pid, rfd, &out) ;
  ok(WIFEXITED(w) && !WEXITSTATUS(w) && !strcmp(out.s, "the message\n"), "fd 0 the file, fd 1 the pipe") ;
  ok(pgid == pid && pgid != getpgid(0), "a process group of its own (%d)", (int)pgid) ;

  out.len = 0 ;
  in = open(tap_path("in"), O_RDONLY) ;
  pid = cmd_spawn(argv, in, 2, &rfd) ;
  close(in) ;
  w = pid > 0 ? collect(pid, rfd, &out) : -1 ;
  ok(WIFEXITED(w) && !WEXITSTATUS(w) && !strcmp(out.s, "to-stderr\n"), "outfd 2: fd 2 the pipe, fd 1 gone to /dev/null") ;

  /* the scheduler blocks the signals its selfpipe catches: the child must not inherit that */
  {
    sigset_t set, old ;
    sigemptyset(&set) ; sigaddset(&set, SIGTERM) ; sigaddset(&set, SIGCHLD) ;
    sigprocmask(SIG_BLOCK, &set, &old) ;
    sa.len = 0 ;
    cmd_add(&sa, "/bin/sh") ; cmd_add(&sa, "-c") ; cmd_add(&sa, "grep '^SigBlk:' /proc/self/status") ; cmd_argv(&sa, &ga, &argv) ;
    out.len = 0 ;
    in = open(tap_path("in"), O_RDONLY) ;
    pid = cmd_spawn(argv, in, 1, &rfd) ;
    close(in) ;
    sigprocmask(SIG_SETMASK, &old, 0) ;
    w = pid > 0 ? collect(pid, rfd, &out) : -1 ;
    ok(WIFEXITED(w) && !WEXITSTATUS(w) && strstr(out.s, "SigBlk:\t0000000000000000"), "no signal blocked in the child (%s)", out.len ? out.s : "") ;
  }

  sa.len = 0 ;
  ok(cmd_add(&sa, "/nonexistent/program") && cmd_argv(&sa, &ga, &argv) && genalloc_len(char const *, &ga) == 2, "the argv reused") ;
  out.len = 0 ;
  in = open(tap_path("in"), O_RDONLY) ;
  errno = 0 ;
  pid = cmd_spawn(argv, in, 2, &rfd) ;
  close(in) ;
  ok(!pid && errno == ENOENT, "no such program: an error, ENOENT") ;
  sa.len = 0 ;
  cmd_add(&sa, "/bin/true") ; cmd_argv(&sa, &ga, &argv) ;
  errno = 0 ;
  pid = cmd_spawn(argv, -1, 1, &rfd) ;
  ok(!pid && errno == EBADF, "no fd 0 to give: an error, EBADF") ;

  stralloc_free(&sa) ; stralloc_free(&out) ;
  genalloc_free(char const *, &ga) ;
  tap_rmtmp() ;
  return tap_done() ;
}
