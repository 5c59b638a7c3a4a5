/* ISC license: see LICENSE. */

/*
 * ketch-log: the logger of a ketch service when s6-log's files are not
 * what the site wants (ketch.conf's "log syslog", "log-format json").
 * It reads the daemon's lines on stdin, as s6-log would, and
 *   - with -s: sends each to the syslog socket (/dev/log), facility mail,
 *     the severity from the line (lib/logline), tagged -t;
 *   - else writes each to stdout, or to the stdin of PROG (s6-log
 *     without its time stamp, for JSON files), which it spawns and waits
 *     for: this process stays the one the supervisor runs and signals,
 *     and PROG ends when it does (end of its input).
 * -j makes each line one JSON object (lib/logline). The programs are not
 * changed: they write the same lines on stderr whatever the logger.
 * See ketch-log(8).
 */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/posixplz.h>

#include "exitcodes.h"
#include "logline.h"

#define USAGE "ketch-log [ -j ] [ -s socket ] -t tag [ prog... ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

/* a longer line is cut there and each piece is a line: s6-log's own default bound is 8 kB too */
#define LINE_MAX_OCTETS 8192

/* RFC 5424 section 6.2.1: facility mail is 2; severities by lib/logline's level */
#define FACILITY_MAIL 2
static unsigned int const severity[LOGLINE_LEVELS] =
{
  [LOGLINE_INFO] = 6, [LOGLINE_WARNING] = 4, [LOGLINE_ERROR] = 3, [LOGLINE_FATAL] = 2
} ;

static char const *tag = 0 ;
static int json = 0 ;
static char const *sockpath = 0 ;
static int sock = -1 ;
static int down = 0 ;      /* the last line did not reach the socket */
static int out = 1 ;
static stralloc msg = STRALLOC_ZERO ;

/* the syslog socket is a datagram socket (rsyslog's imuxsock, journald's /dev/log) */
static int syslog_connect (void)
{
  struct sockaddr_un sa ;
  size_t n = strlen(sockpath) ;
  if (sock >= 0) fd_close(sock) ;
  sock = -1 ;
  if (n >= sizeof(sa.sun_path)) return (errno = ENAMETOOLONG, 0) ;
  memset(&sa, 0, sizeof sa) ;
  sa.sun_family = AF_UNIX ;
  memcpy(sa.sun_path, sockpath, n + 1) ;
  sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) ;
  if (sock < 0) return 0 ;
  if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) { fd_close(sock) ; sock = -1 ; return 0 ; }
  return 1 ;
}

/*
 * One record, RFC 3164 section 4.1's form as the C library's syslog()
 * sends it to /dev/log: "<PRI>Mmm dd hh:mm:ss TAG: MSG". A daemon that
 * restarted (a new socket) is connected again once; a line it still
 * does not take goes to stderr (the supervision tree's catch-all log),
 * never nowhere.
 */
static void syslog_send (char const *s, size_t len, unsigned int level, struct timespec const *now)
{
  char stamp[32] ;
  char pri[UINT_FMT + 2] ;
  struct tm tm ;
  size_t n = 0 ;
  pri[n++] = '<' ;
  n += uint_fmt(pri + n, FACILITY_MAIL * 8 + severity[level]) ;
  pri[n++] = '>' ;
  if (!localtime_r(&now->tv_sec, &tm) || !strftime(stamp, sizeof stamp, "%b %e %H:%M:%S ", &tm)) stamp[0] = 0 ;
  msg.len = 0 ;
  if (!stralloc_catb(&msg, pri, n) || !stralloc_cats(&msg, stamp) || !stralloc_cats(&msg, tag)
   || !stralloc_catb(&msg, ": ", 2) || !stralloc_catb(&msg, s, len))
    strerr_diefusys(KETCH_EX_TEMP, "make a syslog record") ;
  if (sock >= 0 && send(sock, msg.s, msg.len, 0) == (ssize_t)msg.len) { down = 0 ; return ; }
  if (syslog_connect() && send(sock, msg.s, msg.len, 0) == (ssize_t)msg.len) { down = 0 ; return ; }
  /* said once per outage, not once per line */
  if (!down) strerr_warnwusys("send to ", sockpath, " (lines follow here until it works again)") ;
  down = 1 ;
  if (!stralloc_catb(&msg, "\n", 1)) return ;
  allwrite(2, msg.s, msg.len) ;
}

static stralloc jline = STRALLOC_ZERO ;  /* the JSON of the line */

/* one line, without its newline */
static void line (char const *s, size_t len)
{
  struct timespec now ;
  if (clock_gettime(CLOCK_REALTIME, &now) < 0) strerr_diefusys(KETCH_EX_TEMP, "read the clock") ;
  if (json)
  {
    /* RFC 3339 section 5.6, UTC, microseconds */
    char t[40] ;
    struct tm tm ;
    size_t n ;
    if (!gmtime_r(&now.tv_sec, &tm) || !(n = strftime(t, sizeof t - 9, "%Y-%m-%dT%H:%M:%S.", &tm))) strerr_diefu(KETCH_EX_TEMP, "format the time") ;
    {
      unsigned long us = (unsigned long)now.tv_nsec / 1000 ;
      unsigned int k = 6 ;
      while (k--) { t[n + k] = '0' + us % 10 ; us /= 10 ; }
    }
    t[n + 6] = 'Z' ; t[n + 7] = 0 ;
    jline.len = 0 ;
    if (!logline_json(&jline, s, len, t, tag)) strerr_diefusys(KETCH_EX_TEMP, "make a JSON line") ;
    if (sockpath) syslog_send(jline.s, jline.len - 1, logline_level(s, len), &now) ;
    else if (allwrite(out, jline.s, jline.len) < jline.len) strerr_diefusys(KETCH_EX_TEMP, "write") ;
  }
  else if (sockpath) syslog_send(s, len, logline_level(s, len), &now) ;
  else if (allwrite(out, s, len) < len || allwrite(out, "\n", 1) < 1) strerr_diefusys(KETCH_EX_TEMP, "write") ;
}

int main (int argc, char const *const *argv)
{
  static char buf[LINE_MAX_OCTETS] ;
  size_t have = 0 ;
  pid_t pid = 0 ;
  PROG = "ketch-log" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "js:t:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'j' : json = 1 ; break ;
        case 's' : sockpath = l.arg ; break ;
        case 't' : tag = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (!tag || !*tag || (sockpath && argc)) dieusage() ;
  /* a syslog daemon not there yet is tried again at each line */
  if (sockpath) syslog_connect() ;
  if (argc)
  {
    pid = child_spawn1_pipe(argv[0], argv, (char const *const *)environ, &out, 0) ;
    if (!pid) strerr_diefusys(KETCH_EX_TEMP, "spawn ", argv[0]) ;
  }
  for (;;)
  {
    ssize_t r = fd_read(0, buf + have, sizeof buf - have) ;
    size_t start = 0, i ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "read stdin") ;
    if (!r) break ;
    for (i = have ; i < have + (size_t)r ; i++)
      if (buf[i] == '\n') { line(buf + start, i - start) ; start = i + 1 ; }
    have += (size_t)r ;
    if (!start && have == sizeof buf) { line(buf, have) ; have = 0 ; }
    else { memmove(buf, buf + start, have - start) ; have -= start ; }
  }
  if (have) line(buf, have) ;
  if (pid)
  {
    int wstat ;
    fd_close(out) ;
    if (wait_pid(pid, &wstat) < 0) strerr_diefusys(KETCH_EX_TEMP, "wait for ", argv[0]) ;
    return WIFEXITED(wstat) ? WEXITSTATUS(wstat) : KETCH_EX_TEMP ;
  }
  return 0 ;
}
