/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>

#include "cmd.h"

extern char **environ ;

int cmd_add (stralloc *sa, char const *s)
{
  return stralloc_cats(sa, s) && stralloc_0(sa) ;
}

int cmd_argv (stralloc const *sa, genalloc *ga, char const *const **argv)
{
  size_t pos = 0 ;
  char const *z = 0 ;
  genalloc_setlen(char const *, ga, 0) ;
  for (; pos < sa->len ; pos += strlen(sa->s + pos) + 1)
  {
    char const *s = sa->s + pos ;
    if (!genalloc_append(char const *, ga, &s)) return 0 ;
  }
  if (!genalloc_append(char const *, ga, &z)) return 0 ;
  *argv = genalloc_s(char const *, ga) ;
  return 1 ;
}

pid_t cmd_spawn (char const *const *argv, int fd0, int outfd, int *rfd)
{
  posix_spawn_file_actions_t fa ;
  posix_spawnattr_t attr ;
  sigset_t none ;
  int p[2], e ;
  pid_t pid ;
  if (fd0 < 0) return (errno = EBADF, 0) ;
  if (pipecoe(p) < 0) return 0 ;
  e = posix_spawnattr_init(&attr) ;
  if (e) goto closep ;
  e = posix_spawn_file_actions_init(&fa) ;
  if (e) goto attr ;
  sigemptyset(&none) ;
  /* the child's mask without the signals selfpipe blocks here (what selfpipe_finish did after a fork) */
  e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK) ;
  if (!e) e = posix_spawnattr_setpgroup(&attr, 0) ;
  if (!e) e = posix_spawnattr_setsigmask(&attr, &none) ;
  /* both pipe ends are close-on-exec: the dup2 of the write end is the child's copy without it */
  if (!e) e = posix_spawn_file_actions_adddup2(&fa, fd0, 0) ;
  if (!e && fd0) e = posix_spawn_file_actions_addclose(&fa, fd0) ;
  if (!e && outfd != 1) e = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) ;
  if (!e) e = posix_spawn_file_actions_adddup2(&fa, p[1], outfd == 1 ? 1 : 2) ;
  if (!e) e = posix_spawn(&pid, argv[0], &fa, &attr, (char *const *)argv, environ) ;
  posix_spawn_file_actions_destroy(&fa) ;
 attr:
  posix_spawnattr_destroy(&attr) ;
 closep:
  fd_close(p[1]) ;
  if (!e && ndelay_on(p[0]) < 0) { e = errno ; kill(pid, SIGKILL) ; waitpid(pid, 0, 0) ; }
  if (e) { fd_close(p[0]) ; return (errno = e, 0) ; }
  *rfd = p[0] ;
  return pid ;
}
