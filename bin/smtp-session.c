/* ISC license: see LICENSE. */

/*
 * smtp-session: one inbound SMTP session (RFC 5321) on fds 0 and 1,
 * spawned by smtp-listen or by ucspi-tcp's tcpserver (UCSPI environment),
 * or by sendmail -bs (-L). The session is lib/smtpd.c's; smtp-listen -f
 * runs the same engine in its forked processes without this program.
 */

#include <errno.h>
#include <stdlib.h>
#include <signal.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/env.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "conf.h"
#include "smtpd.h"
#include "stats.h"

#define USAGE "smtp-session [ -C conf ] [ -L user ] [ -K door ] [ -S stats-fd ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

/* in .bss: its buffers are pages an idle session writes (lib/smtpd.h) */
static smtpd_session session = SMTPD_SESSION_ZERO ;
static conf cf ;

int main (int argc, char const *const *argv)
{
  smtpd_io io = SMTPD_IO_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  PROG = "smtp-session" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:L:K:S:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'L' : io.localuser = l.arg ; break ;
        case 'K' :
        {
          unsigned int u ;
          if (!uint0_scan(l.arg, &u) || u < 3 || u > 65535) dieusage() ;
          io.door = (int)u ;
          break ;
        }
        case 'S' :
        {
          /* smtp-listen's SPOOL/stats/smtp: mapped, the descriptor closed; no mapping, no counts */
          unsigned int u ;
          if (!uint0_scan(l.arg, &u) || u < 3 || u > 65535) dieusage() ;
          io.stats = stats_map_fd((int)u) ;
          fd_close((int)u) ;
          break ;
        }
        default : dieusage() ;
      }
    }
  }
  /* the door is for us, not for enqueue */
  if (io.door >= 0 && coe(io.door) < 0) strerr_diefusys(KETCH_EX_TEMP, "set close-on-exec on the door") ;
  tain_now_set_stopwatch_g() ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  /* a parent that ignores SIGCHLD (swaks --pipe does) would make enqueue
     auto-reaped: its exit status, which decides our reply, would be lost */
  if (!sig_restore(SIGCHLD)) strerr_diefusys(KETCH_EX_TEMP, "restore SIGCHLD") ;
  io.confpath = conf_path(conffile) ;
  if (!conf_load(&cf, io.confpath, &err))
  {
    static char const msg[] = "421 4.3.0 Service temporarily unavailable\r\n" ;
    fd_write(1, msg, sizeof(msg) - 1) ;
    if (errno == EINVAL) strerr_dief(KETCH_EX_TEMP, err.s) ;
    strerr_diefusys(KETCH_EX_TEMP, "load the configuration ", io.confpath) ;
  }
  stralloc_free(&err) ;
  io.remoteip = ucspi_get("REMOTEIP") ;
  io.remoteport = ucspi_get("REMOTEPORT") ;
  io.localip = ucspi_get("LOCALIP") ;
  io.localport = ucspi_get("LOCALPORT") ;
  /* tcpserver -x rules (qmail's convention): the operator marks relay clients */
  io.relayclient = !!getenv("RELAYCLIENT") ;
  smtpd_run(&session, &cf, &io) ;
  return 0 ;
}
