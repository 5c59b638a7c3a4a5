/* ISC license: see LICENSE. */

/*
 * ketch-stats: the daemons' counters (SPOOL/stats, lib/stats) in the
 * Prometheus text format (lib/statsfmt), on stdout, or with -l served
 * over HTTP to GET /metrics (lib/httpreq), one connection at a time.
 * Every answer reads the record files again: 26 system calls in all and
 * about half a millisecond of CPU, whatever the size of the queue (its
 * gauges are the scheduler's, never a scan of the spool).
 */

/* initgroups is not POSIX: the user's groups are how it reads the stats files */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "conf.h"
#include "stats.h"
#include "statsfmt.h"
#include "httpreq.h"

#define USAGE "ketch-stats [ -C conf ] [ -l address:port [ -u user ] [ -t seconds ] ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

static stralloc dir = STRALLOC_ZERO ;   /* SPOOL/stats */

/* the exposition now, in out; 0 and errno when the files cannot be read */
static int expose (stralloc *out)
{
  static stats_sum sum ;   /* 37 KiB: not on the stack */
  out->len = 0 ;
  if (stats_read(dir.s, &sum) < 0) return 0 ;
  return statsfmt_all(out, &sum, (uint64_t)time(0)) ;
}

/* RFC 9110 §15: the answers a request can get, by lib/httpreq's verdict */
static char const *const status_line[] =
{
  [HTTPREQ_METRICS] = "200 OK",
  [HTTPREQ_NOTFOUND] = "404 Not Found",
  [HTTPREQ_METHOD] = "405 Method Not Allowed",
  [HTTPREQ_BAD] = "400 Bad Request",
  [HTTPREQ_TOOLONG] = "431 Request Header Fields Too Large",
} ;

static void answer (int fd, enum httpreq_status st, int head, stralloc *body, tain const *deadline)
{
  stralloc sa = STRALLOC_ZERO ;
  char fmt[SIZE_FMT] ;
  char const *line = status_line[st] ;
  int ok = st == HTTPREQ_METRICS ;
  if (ok && !expose(body)) { line = "500 Internal Server Error" ; ok = 0 ; strerr_warnwu("read ", dir.s) ; }
  if (!ok) { body->len = 0 ; if (!stralloc_cats(body, line) || !stralloc_catb(body, "\n", 1)) return ; }
  /* text/plain; version=0.0.4: the exposition format's content type */
  if (!stralloc_cats(&sa, "HTTP/1.1 ") || !stralloc_cats(&sa, line)
   || !stralloc_cats(&sa, ok ? "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8" : "\r\nContent-Type: text/plain")
   || !stralloc_cats(&sa, st == HTTPREQ_METHOD ? "\r\nAllow: GET, HEAD" : "")
   || !stralloc_cats(&sa, "\r\nContent-Length: ") || !stralloc_catb(&sa, fmt, size_fmt(fmt, body->len))
   || !stralloc_cats(&sa, "\r\nConnection: close\r\n\r\n")
   || (!head && !stralloc_catb(&sa, body->s, body->len))) { stralloc_free(&sa) ; return ; }
  {
    /* nonblocking socket: written as it drains, within the deadline */
    size_t w = 0 ;
    while (w < sa.len)
    {
      iopause_fd x = { .fd = fd, .events = IOPAUSE_WRITE } ;
      ssize_t r = fd_write(fd, sa.s + w, sa.len - w) ;
      if (r > 0) { w += r ; continue ; }
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break ;
      if (iopause_g(&x, 1, deadline) <= 0) break ;
    }
  }
  stralloc_free(&sa) ;
}

/*
 * One connection: its request head, read within the deadline and at most
 * HTTPREQ_MAX octets, then one answer, then close (no keep-alive: one
 * scrape every few seconds does not need it). A slow client holds the
 * listener for the deadline at most.
 */
static void serve (int fd, unsigned int secs, stralloc *body)
{
  char buf[HTTPREQ_MAX] ;
  size_t len = 0 ;
  int head = 0 ;
  enum httpreq_status st = HTTPREQ_MORE ;
  tain deadline ;
  tain_now_g() ;
  tain_addsec_g(&deadline, secs) ;
  if (ndelay_on(fd) < 0) return ;
  while (st == HTTPREQ_MORE)
  {
    iopause_fd x = { .fd = fd, .events = IOPAUSE_READ } ;
    ssize_t r ;
    if (len == sizeof(buf)) break ;
    r = fd_read(fd, buf + len, sizeof(buf) - len) ;
    if (r == 0) return ;
    if (r > 0) { len += r ; st = httpreq_parse(buf, len, &head) ; continue ; }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return ;
    if (iopause_g(&x, 1, &deadline) <= 0) return ;
  }
  answer(fd, st, head, body, &deadline) ;
}

static int listen_on (char const *spec, ip46 *a, uint16_t *port)
{
  char host[IP46_FMT + 2] ;
  char const *colon = strrchr(spec, ':') ;
  size_t hl ;
  int s ;
  if (!colon || !uint160_scan(colon + 1, port)) dieusage() ;
  hl = (size_t)(colon - spec) ;
  /* [::1]:9100, the usual way to write an IPv6 address with a port */
  if (hl >= 2 && spec[0] == '[' && spec[hl-1] == ']') { spec++ ; hl -= 2 ; }
  if (!hl || hl >= sizeof(host)) dieusage() ;
  memcpy(host, spec, hl) ;
  host[hl] = 0 ;
  if (ip46_scan(host, a) != hl) dieusage() ;
  s = socket_tcp46_coe(ip46_is6(a)) ;
  if (s < 0) strerr_diefusys(KETCH_EX_TEMP, "create a socket") ;
  if (socket_bind46_reuse(s, a, *port) < 0) strerr_diefusys(KETCH_EX_TEMP, "bind to ", spec) ;
  if (socket_listen(s, 16) < 0) strerr_diefusys(KETCH_EX_TEMP, "listen on ", spec) ;
  return s ;
}

/* after the bind: the server answers the network, never as root (the stats files are group-readable) */
static void drop_to (char const *user)
{
  struct passwd *pw = getpwnam(user) ;
  if (!pw) strerr_dief(KETCH_EX_PERM, "unknown user: ", user) ;
  if (!pw->pw_uid) strerr_dief(KETCH_EX_PERM, "-u names root") ;
  if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "drop privileges to ", user) ;
}

int main (int argc, char const *const *argv)
{
  conf c ;
  stralloc err = STRALLOC_ZERO, body = STRALLOC_ZERO ;
  char const *conffile = 0, *addr = 0, *user = 0 ;
  unsigned int secs = 5 ;
  PROG = "ketch-stats" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:l:u:t:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'l' : addr = l.arg ; break ;
        case 'u' : user = l.arg ; break ;
        case 't' : if (!uint0_scan(l.arg, &secs) || !secs || secs > 3600) dieusage() ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc || (user && !addr)) dieusage() ;
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  if (!stralloc_cats(&dir, c.sa.s + c.spool) || !stralloc_cats(&dir, "/" STATS_DIR) || !stralloc_0(&dir)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  if (!addr)
  {
    if (!expose(&body)) strerr_diefusys(KETCH_EX_TEMP, "read ", dir.s) ;
    if (allwrite(1, body.s, body.len) < body.len) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
    return 0 ;
  }
  {
    ip46 a ;
    uint16_t port ;
    int s = listen_on(addr, &a, &port) ;
    if (user) drop_to(user) ;
    else if (!geteuid()) strerr_dief(KETCH_EX_PERM, "-l as root needs -u user") ;
    /* a client that goes away mid-answer is an EPIPE, not our death */
    if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
    tain_now_set_stopwatch_g() ;
    for (;;)
    {
      char peer[16] ;
      uint16_t pport ;
      int fd = ip46_is6(&a) ? socket_accept6_coe(s, peer, &pport) : socket_accept4_coe(s, peer, &pport) ;
      if (fd < 0)
      {
        if (errno == EINTR || errno == ECONNABORTED) continue ;
        /* out of descriptors or memory: a second's pause, not a busy loop */
        tain d ;
        strerr_warnwusys("accept") ;
        tain_now_g() ;
        tain_addsec_g(&d, 1) ;
        iopause_g(0, 0, &d) ;
        continue ;
      }
      serve(fd, secs, &body) ;
      fd_close(fd) ;
    }
  }
}
