/* ISC license: see LICENSE. */

#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/selfpipe.h>

#include "exitcodes.h"
#include "cmd.h"

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
  int p[2] ;
  pid_t pid ;
  if (pipe(p) < 0) return 0 ;
  pid = fork() ;
  if (pid < 0) { fd_close(p[0]) ; fd_close(p[1]) ; return 0 ; }
  if (!pid)
  {
    selfpipe_finish() ;
    setpgid(0, 0) ;
    fd_close(p[0]) ;
    if (fd_move(0, fd0) < 0) _exit(KETCH_EX_TEMP) ;
    if (outfd == 1) { if (fd_move(1, p[1]) < 0) _exit(KETCH_EX_TEMP) ; }
    else
    {
      int null = open("/dev/null", O_WRONLY) ;
      if (null < 0 || fd_move(1, null) < 0 || fd_move(2, p[1]) < 0) _exit(KETCH_EX_TEMP) ;
    }
    execv(argv[0], (char *const *)argv) ;
    _exit(KETCH_EX_TEMP) ;
  }
  fd_close(p[1]) ;
  if (ndelay_on(p[0]) < 0 || coe(p[0]) < 0) { fd_close(p[0]) ; kill(pid, SIGKILL) ; return 0 ; }
  *rfd = p[0] ;
  return pid ;
}
