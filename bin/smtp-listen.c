/* ISC license: see LICENSE. */

/*
 * smtp-listen: binds every "listen" line of the configuration, drops
 * privileges, and runs one smtp-session process per connection with the
 * UCSPI environment (the s6-tcpserver4d model). It enforces a global and
 * a per-client connection limit by answering 421 (never by leaving the
 * client hanging in the backlog).
 *
 * With -f a session process serves several clients in turn (see
 * "Session processes" below).
 *
 * One iopause loop; signals arrive through the selfpipe; the timed events
 * are the idle sessions' dismissal and the shutdown bound, absolute
 * deadlines.
 */

#ifdef __linux__
/* prctl(PR_SET_NAME): a forked session shows as smtp-session in ps and /proc/PID/comm */
#define _GNU_SOURCE
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <pwd.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <netinet/in.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/exec.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/selfpipe.h>
#include <skalibs/setgroups.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/tai.h>

#include "ecimpl.h"
#include "exitcodes.h"
#include "conf.h"
#include "smtpd.h"
#include "log.h"
#include "stats.h"

#define USAGE "smtp-listen [ -C conf ] [ -d notif-fd ] [ -g grace-seconds ] [ -f ]"

/*
 * By default each session is an exec of PROGRAMS/smtp-session, so that
 * every session facing the network gets a fresh address layout and stack
 * canary: a fork server's children share them, which lets a client probe
 * a memory bug one guess per connection. -f runs the session engine
 * (lib/smtpd.c, smtpd_run) in the forked child instead, without an exec:
 * about 0.5 ms of CPU and 60 KiB of private memory (ld.so's and libc's
 * relocated pages) less per session, for sites that need many idle
 * sessions and accept that trade-off.
 */
static int exec_sessions = 1 ;
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define BACKLOG 1024
#define LISTEN_MAX 32
#define ACCEPT_BURST 64

/*
 * Session processes (-f). A forked session process that ended its
 * client's session cleanly (QUIT, or the client's close, between
 * transactions) wipes that client's state, its TLS and AUTH secrets
 * included (smtpd_wipe in lib/smtpd.h says what and how), and
 * says so by writing its pid to the notification pipe, shared by all of
 * them (4 octets: one atomic write); we then hand it the next connection
 * over its own control socket instead of forking: one message, CONN_META
 * octets (the family, the address, the port and the index of the
 * listening socket it came in on) carrying the descriptor
 * (SCM_RIGHTS), which the session process waits for in one blocking
 * recvmsg (conn_send, conn_recv: one system call each side per
 * connection, not a poll, the descriptor and a read of the octets). One pipe, not a
 * socket per session polled by us: a poll set rebuilt at every event is
 * heap that each forked session would keep a stale private copy of (W3:
 * 8 to 13 KiB more per idle session). A fork and an exit per connection
 * were about a sixth of W1's CPU per message (t/bench/README.md). An idle session
 * process is told to go (end of file on its control socket) after
 * SESSION_IDLE seconds, after a SIGHUP (it has the old configuration), or
 * at shutdown; one retires by itself after SESSION_USES clients. Postfix's
 * smtpd does the same (max_use 100, max_idle 100 s).
 */
#define SESSION_USES 100
#define SESSION_IDLE 5
#define CONN_META 20

typedef struct session_s session ;
struct session_s
{
  pid_t pid ;
  int ctl ;          /* -f: our end of its control socket; -1 once told to go (or exec'd) */
  int busy ;         /* serving a client, whose address is ip */
  int old ;          /* forked before the last SIGHUP: told to go once idle */
  tain idle_until ;  /* idle: told to go then */
  char ip[16] ;
} ;

typedef struct listener_s listener ;
struct listener_s
{
  int fd ;
  int is6 ;
  /* the address it is bound to: a connection's own local address, unless
     it is the wildcard (then getsockname says which) */
  ip46 addr ;
  uint16_t port ;
  int wild ;
} ;

static conf cf ;
static char const *conffile = 0 ;
static genalloc sessions = GENALLOC_ZERO ;  /* session */
static listener listeners[LISTEN_MAX] ;
static int notify[2] = { -1, -1 } ;   /* -f: the session processes' pids when idle again */
static unsigned int nlisteners = 0 ;
static char const *session_argv[8] ;
static pid_t keyd_pid = 0 ;
static int door = -1 ;           /* smtp-keyd's door, or -1 */
static char doorfmt[INT_FMT] ;
static stralloc sessprog = STRALLOC_ZERO ;   /* PROGRAMS/smtp-session */
static tls_chain chain = TLS_CHAIN_ZERO ;    /* -f: the certificate chain, lent to the sessions */
static int paused = 0 ;          /* out of descriptors: stop accepting for a while */
static tain pause_deadline ;

/*
 * -f: the listener's ends of the control sockets are kept at ctl_low and
 * above, the rest (listeners, selfpipe, door, the connection being handed
 * over) below, so that a forked session closes all of its siblings'
 * with one close_range (child). 0: not set up, every one is closed alone.
 */
#define CTL_LOW 256
static int ctl_low = 0 ;

/* the descriptor moved up to ctl_low or above (close-on-exec kept); left where it is if it cannot be */
static int move_ctl (int fd)
{
  int hi ;
  if (!ctl_low || fd >= ctl_low) return fd ;
  hi = fcntl(fd, F_DUPFD_CLOEXEC, ctl_low) ;
  if (hi < 0) return fd ;
  fd_close(fd) ;
  return hi ;
}

/* the limits count clients: busy sessions (or exiting ones), never idle ones */
static unsigned int count_busy (char const *ip)
{
  size_t n = genalloc_len(session, &sessions), i = 0, k = 0 ;
  session const *s = genalloc_s(session, &sessions) ;
  for (; i < n ; i++) if (s[i].busy && (!ip || !memcmp(s[i].ip, ip, 16))) k++ ;
  return k ;
}

/* an idle session process gets no more clients: it reads the end of its socket and exits; reap() forgets it */
static void dismiss (session *s)
{
  if (s->ctl >= 0) fd_close(s->ctl) ;
  s->ctl = -1 ;
}

/* the notification pipe: session processes idle again; one that died or retired is reaped on SIGCHLD */
static void from_sessions (int stopping)
{
  char buf[4 * 256] ;
  for (;;)
  {
    ssize_t r = fd_read(notify[0], buf, sizeof(buf)) ;
    size_t i = 0 ;
    if (r <= 0) return ;
    /* writes of 4 octets are atomic: r is a multiple of 4 */
    for (; i + 4 <= (size_t)r ; i += 4)
    {
      size_t n = genalloc_len(session, &sessions), k = 0 ;
      session *s = genalloc_s(session, &sessions) ;
      uint32_t pid ;
      uint32_unpack(buf + i, &pid) ;
      for (; k < n ; k++) if ((uint32_t)s[k].pid == pid && s[k].busy && s[k].ctl >= 0) break ;
      if (k == n) continue ;
      /* its client is gone */
      s[k].busy = 0 ;
      memset(s[k].ip, 0, 16) ;
      if (stopping || s[k].old) { dismiss(s + k) ; continue ; }
      tain_now_g() ;
      tain_addsec_g(&s[k].idle_until, SESSION_IDLE) ;
    }
    /* a pipe's read returns what it holds, up to the size asked: a short
       one emptied it, and another read would be an EAGAIN (one system
       call per wake-up, t/bench/README.md). The pipe is in the poll set
       (level-triggered): a pid written after this read wakes us again */
    if ((size_t)r < sizeof(buf)) return ;
  }
}

/* dismisses the idle session processes whose time is up (all with force);
   the earliest time left in *next, and 1, or 0 if none is idle */
static int trim_idle (int force, tain *next)
{
  size_t n = genalloc_len(session, &sessions), i = 0 ;
  session *s = genalloc_s(session, &sessions) ;
  int any = 0 ;
  tain_now_g() ;
  for (; i < n ; i++)
  {
    if (s[i].busy || s[i].ctl < 0) continue ;
    if (force || !tain_less(&STAMP, &s[i].idle_until)) dismiss(s + i) ;
    else if (!any++ || tain_less(&s[i].idle_until, next)) *next = s[i].idle_until ;
  }
  return any ;
}

static void reap (void)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = wait_nohang(&wstat) ;
    size_t n = genalloc_len(session, &sessions), i = 0 ;
    session *s = genalloc_s(session, &sessions) ;
    if (pid <= 0) break ;
    /* without it, no session can start TLS or check a password; a new
       one needs our lost privileges: supervision restarts us both */
    if (pid == keyd_pid) strerr_dief(KETCH_EX_TEMP, "smtp-keyd exited: stopping, for the supervisor to restart both") ;
    for (; i < n ; i++)
      if (s[i].pid == pid)
      {
        dismiss(s + i) ;
        s[i] = s[n-1] ;
        genalloc_setlen(session, &sessions, n - 1) ;
        paused = 0 ;   /* a descriptor was freed */
        break ;
      }
  }
}

static void bind_all (void)
{
  size_t n = genalloc_len(conf_listen, &cf.listen), i = 0 ;
  conf_listen const *l = genalloc_s(conf_listen, &cf.listen) ;
  if (!n) strerr_dief(KETCH_EX_PERM, "no listen line in ", cf.sa.s + cf.file) ;
  if (n > LISTEN_MAX) strerr_dief(KETCH_EX_PERM, "too many listen lines") ;
  for (; i < n ; i++)
  {
    ip46 a ;
    char fmt[IP46_FMT], pfmt[UINT16_FMT] ;
    int s = socket_tcp46_nbcoe(l[i].is6) ;
    memcpy(a.ip, l[i].ip, 16) ;
    a.is6 = l[i].is6 ;
    fmt[ip46_fmt(fmt, &a)] = 0 ;
    pfmt[uint16_fmt(pfmt, l[i].port)] = 0 ;
    if (s < 0) strerr_diefusys(KETCH_EX_TEMP, "create a socket for ", fmt) ;
    if (l[i].is6)
    {
      /* so that "listen ::" and "listen 0.0.0.0" on one port can coexist */
      int one = 1 ;
      if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) strerr_diefusys(KETCH_EX_TEMP, "set IPV6_V6ONLY") ;
    }
    if (socket_bind46_reuse(s, &a, l[i].port) < 0) strerr_diefusys(KETCH_EX_TEMP, "bind to ", fmt, " port ", pfmt) ;
    if (socket_listen(s, BACKLOG) < 0) strerr_diefusys(KETCH_EX_TEMP, "listen on ", fmt, " port ", pfmt) ;
    /* replies are written once per client turn: never held back for an
       ACK. Set here once: Linux gives an accepted socket its listening
       socket's TCP options (the child is a copy of it), not a setsockopt
       per connection */
    if (socket_tcpnodelay(s) < 0) strerr_diefusys(KETCH_EX_TEMP, "set TCP_NODELAY on ", fmt, " port ", pfmt) ;
    listeners[nlisteners].fd = s ;
    listeners[nlisteners].is6 = l[i].is6 ;
    listeners[nlisteners].addr = a ;
    listeners[nlisteners].port = l[i].port ;
    {
      static char const zero[16] = { 0 } ;
      listeners[nlisteners++].wild = !memcmp(a.ip, zero, l[i].is6 ? 16 : 4) ;
    }
    strerr_warni("listening on ", fmt, " port ", pfmt) ;
  }
}

/*
 * Before the drop: smtp-keyd, the one process that reads the TLS key and
 * the auth table (smtp-keyd(8)), keeps the privileges we were started
 * with. The door, its descriptor 0, is a SOCK_SEQPACKET socket whose
 * other end every session inherits (smtp-session -K): an exec'd one
 * through the exec, so it is not close-on-exec here.
 */
static void spawn_keyd (int notif)
{
  static stralloc prog = STRALLOC_ZERO ;
  char const *argv[4] ;
  int d[2] ;
  if (!conf_prog(&cf, "smtp-keyd", &prog)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, d) < 0) strerr_diefusys(KETCH_EX_TEMP, "create the door to smtp-keyd") ;
  argv[0] = prog.s ; argv[1] = "-C" ; argv[2] = conffile ; argv[3] = 0 ;
  keyd_pid = fork() ;
  if (keyd_pid < 0) strerr_diefusys(KETCH_EX_TEMP, "fork") ;
  if (!keyd_pid)
  {
    if (notif >= 0) fd_close(notif) ;
    fd_close(d[0]) ;
    if (fd_move(0, d[1]) < 0) strerr_diefusys(KETCH_EX_TEMP, "set up descriptors") ;
    xexec(argv) ;
  }
  fd_close(d[1]) ;
  door = d[0] ;
  doorfmt[int_fmt(doorfmt, d[0])] = 0 ;
  session_argv[3] = "-K" ;
  session_argv[4] = doorfmt ;
  session_argv[5] = 0 ;
}

/*
 * Before the drop too: SPOOL/stats/smtp (lib/stats), which mkspool made
 * for the queue owner. We keep the sessions-open gauge in it; the
 * sessions add their own counts: a forked one through our mapping, an
 * exec'd one through the descriptor (smtp-session -S), which it maps
 * once per session. A session can thereby write counters, and nothing
 * else: the file is no part of any message's state. Without the file
 * nothing is counted.
 */
static stats_rec *stats = 0 ;
static int statsfd = -1 ;   /* close-on-exec but in an exec'd session: never given to enqueue */
static char statsfmt[INT_FMT] ;

static void open_stats (void)
{
  stralloc fn = STRALLOC_ZERO ;
  size_t n = 0 ;
  int fd ;
  if (!stralloc_cats(&fn, cf.sa.s + cf.spool) || !stralloc_cats(&fn, "/" STATS_DIR "/" STATS_FILE_SMTP) || !stralloc_0(&fn)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  fd = stats_open_fd(fn.s) ;
  if (fd >= 0) stats = stats_map_fd(fd) ;
  if (!stats)
  {
    strerr_warnwu("map ", fn.s, ": no statistics") ;
    if (fd >= 0) fd_close(fd) ;
    stralloc_free(&fn) ;
    return ;
  }
  stralloc_free(&fn) ;
  if (coe(fd) < 0) strerr_diefusys(KETCH_EX_TEMP, "set close-on-exec on the statistics") ;
  statsfd = fd ;
  statsfmt[int_fmt(statsfmt, fd)] = 0 ;
  while (session_argv[n]) n++ ;
  session_argv[n++] = "-S" ;
  session_argv[n++] = statsfmt ;
  session_argv[n] = 0 ;
}

/* after bind: the sessions parse hostile input, so never as root */
static void drop_privileges (void)
{
  struct passwd *pw ;
  if (geteuid()) return ;
  pw = getpwnam(cf.sa.s + cf.smtp_user) ;
  if (!pw) strerr_dief(KETCH_EX_PERM, "unknown smtp-user: ", cf.sa.s + cf.smtp_user) ;
  /* said in so many words (tests, a container whose root is confined): allowed, not quietly */
  if (!pw->pw_uid) strerr_warnw("smtp-user is root: the sessions run as root") ;
  if (setgroups_and_gid(pw->pw_gid, 1, &pw->pw_gid) < 0) strerr_diefusys(KETCH_EX_TEMP, "set groups") ;
  if (setgid(pw->pw_gid) < 0) strerr_diefusys(KETCH_EX_TEMP, "setgid") ;
  if (setuid(pw->pw_uid) < 0) strerr_diefusys(KETCH_EX_TEMP, "setuid") ;
}

/*
 * -f: what every forked session would do first, done once here and
 * inherited: glibc's set-up of the passwd database (nsswitch.conf, and
 * two probes for an nscd socket) for the RCPT lookups, and the time zone
 * (strftime reads /etc/localtime) for the Received line. About twenty
 * system calls, and a tenth of a session's CPU, per connection. And
 * libsodium's initialisation for STARTTLS's X25519 (lib/ecimpl): two
 * getrandom calls, CPUID traps and copy-on-write faults, about 0.25 ms
 * of a forked session's CPU.
 */
static void warm_up (void)
{
  tzset() ;
  getpwuid(getuid()) ;
  ecimpl_get() ;
}

/*
 * Answered and closed without a session: the client learns to come back
 * later. Logged as an event (conf/LOGS.md), with smtp-listen as its id
 * since no session exists, so that a log reader (fail2ban, JSON) sees
 * the address in the key=value form of the sessions' connect lines.
 */
static void refuse (int fd, char const *ipstr, uint16_t port, char const *why)
{
  static char const msg[] = "421 4.7.0 Too many connections, try again later\r\n" ;
  static stralloc sa = STRALLOC_ZERO ;
  fd_write(fd, msg, sizeof(msg) - 1) ;
  fd_close(fd) ;
  log_put(2, &sa, "smtp-listen", (char const *const []){ "connect", "ip=", ipstr, "port=", log_u64(port), "result=refused", "reason=", why, 0 }) ;
}

/* the connection fd on descriptors 0 and 1, and its UCSPI environment;
   -f: on descriptor 0 alone (io->fdw is 0: no dup2 and no close of a
   copy per client; descriptor 1 stays the listener's, as 2 does), its
   facts in io. TCP_NODELAY comes from the listening socket (bind_all);
   so does the local address, unless that socket is bound to the
   wildcard (li: its index in listeners). */
static void connection (int fd, ip46 const *remote, uint16_t rport, unsigned int li, smtpd_io *io)
{
  char fmt[IP46_FMT], pfmt[UINT16_FMT] ;
  ip46 local = listeners[li].addr ;
  uint16_t lport = listeners[li].port ;
  if (fd_move(0, fd) < 0 || (exec_sessions && fd_copy(1, 0) < 0)) strerr_diefusys(KETCH_EX_TEMP, "set up descriptors") ;
  if (listeners[li].wild && socket_local46(0, &local, &lport) < 0) strerr_diefusys(KETCH_EX_TEMP, "get the local address") ;
  if (!exec_sessions)
  {
    /* the linked-in session takes them from us, not from the environment:
       setenv's copy of environ would be heap of each session's own (W3) */
    static char rip[IP46_FMT], rp[UINT16_FMT], lip[IP46_FMT], lp[UINT16_FMT] ;
    rip[ip46_fmt(rip, remote)] = 0 ;
    rp[uint16_fmt(rp, rport)] = 0 ;
    lip[ip46_fmt(lip, &local)] = 0 ;
    lp[uint16_fmt(lp, lport)] = 0 ;
    io->remoteip = rip ; io->remoteport = rp ;
    io->localip = lip ; io->localport = lp ;
    return ;
  }
  if (setenv("PROTO", remote->is6 ? "TCP6" : "TCP", 1) < 0) goto err ;
  {
    char const *p = remote->is6 ? "TCP6" : "TCP" ;
    char name[16] ;
    size_t pl = strlen(p) ;
    memcpy(name, p, pl) ;
    fmt[ip46_fmt(fmt, remote)] = 0 ;
    memcpy(name + pl, "REMOTEIP", 9) ;
    if (setenv(name, fmt, 1) < 0) goto err ;
    pfmt[uint16_fmt(pfmt, rport)] = 0 ;
    memcpy(name + pl, "REMOTEPORT", 11) ;
    if (setenv(name, pfmt, 1) < 0) goto err ;
    fmt[ip46_fmt(fmt, &local)] = 0 ;
    memcpy(name + pl, "LOCALIP", 8) ;
    if (setenv(name, fmt, 1) < 0) goto err ;
    pfmt[uint16_fmt(pfmt, lport)] = 0 ;
    memcpy(name + pl, "LOCALPORT", 10) ;
    if (setenv(name, pfmt, 1) < 0) goto err ;
  }
  return ;
 err:
  strerr_diefusys(KETCH_EX_TEMP, "set up the environment") ;
}

/* the control message that carries one descriptor */
typedef union conn_cmsg_u conn_cmsg ;
union conn_cmsg_u
{
  struct cmsghdr h ;
  char buf[CMSG_SPACE(sizeof(int))] ;
} ;

/* -f: a connection to a session process, fd with its meta octets in one
   message; 1, or 0 (errno) */
static int conn_send (int ctl, int fd, char const *meta)
{
  struct iovec v = { .iov_base = (char *)meta, .iov_len = CONN_META } ;
  conn_cmsg u ;
  struct msghdr msg = { .msg_name = 0, .msg_namelen = 0, .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf), .msg_flags = 0 } ;
  struct cmsghdr *c ;
  memset(&u, 0, sizeof(u)) ;
  c = CMSG_FIRSTHDR(&msg) ;
  c->cmsg_level = SOL_SOCKET ;
  c->cmsg_type = SCM_RIGHTS ;
  c->cmsg_len = CMSG_LEN(sizeof(int)) ;
  memcpy(CMSG_DATA(c), &fd, sizeof(int)) ;
  return sendmsg(ctl, &msg, MSG_NOSIGNAL) == CONN_META ;
}

/*
 * -f: the next connection from the listener, or the end (0: end of file,
 * the listener dismissed us; or anything but one descriptor with its
 * CONN_META octets). The wait is the blocking recvmsg itself: an idle
 * session process has nothing else to wait for (a signal that ends it
 * ends it in the call).
 */
static int next_connection (int ctl, int *fd, ip46 *remote, uint16_t *rport, unsigned int *li)
{
  char meta[CONN_META] ;
  struct iovec v = { .iov_base = meta, .iov_len = CONN_META } ;
  conn_cmsg u ;
  struct msghdr msg = { .msg_name = 0, .msg_namelen = 0, .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf), .msg_flags = 0 } ;
  struct cmsghdr *c ;
  ssize_t r ;
  do r = recvmsg(ctl, &msg, MSG_WAITALL | MSG_CMSG_CLOEXEC) ;
  while (r < 0 && errno == EINTR) ;
  if (r <= 0) return 0 ;
  c = CMSG_FIRSTHDR(&msg) ;
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return 0 ;
  memcpy(fd, CMSG_DATA(c), sizeof(int)) ;
  /* sent in one message, by the listener alone */
  if (r != CONN_META || (msg.msg_flags & MSG_CTRUNC) || meta[0] > 1 || (unsigned char)meta[19] >= nlisteners) { fd_close(*fd) ; return 0 ; }
  remote->is6 = meta[0] ;
  memcpy(remote->ip, meta + 1, 16) ;
  uint16_unpack_big(meta + 17, rport) ;
  *li = (unsigned char)meta[19] ;
  return 1 ;
}

/* smtpd_io.next, in a session process at a clean end: tells the
   listener it is idle, unless it served its SESSION_USES clients */
static uint32_t session_pid_n ;  /* a session process's pid, asked once (child): getpid is a system call */
static char session_pid[4] ;     /* packed */

static int session_next (void *ctx)
{
  static unsigned int uses = 0 ;
  if (++uses >= SESSION_USES) return 0 ;
  return fd_write(notify[1], session_pid, 4) == 4 ;
}

static void child (int fd, int ctl, ip46 const *remote, uint16_t rport, unsigned int li) gccattr_noreturn ;
static void child (int fd, int ctl, ip46 const *remote, uint16_t rport, unsigned int li)
{
  /* in .bss: its buffers are pages an idle session writes (lib/smtpd.h) */
  static smtpd_session sess = SMTPD_SESSION_ZERO ;
  ip46 rip = *remote ;
  uint16_t rp = rport ;
  selfpipe_finish() ;
  if (exec_sessions)
  {
    connection(fd, remote, rport, li, 0) ;
    if (statsfd >= 0 && uncoe(statsfd) < 0) strerr_diefusys(KETCH_EX_TEMP, "clear close-on-exec on the statistics") ;
    xexec(session_argv) ;
  }
  {
    size_t n = genalloc_len(session, &sessions), i = 0 ;
    session const *s = genalloc_s(session, &sessions) ;
    /* what an exec would have closed: the listening sockets (coe), and
       the listener's ends of the other session processes' control
       sockets (through them, one session could feed another connections).
       Those live from ctl_low up (move_ctl): one close_range, not one
       close per session process, so that a fork does not cost more with
       every session open (10,000 idle ones: 2.4 ms per fork at 4,000,
       the closes of the fds) unless what we keep is up there too */
    int ranged = ctl_low > 0 && fd < ctl_low && ctl < ctl_low && door < ctl_low && notify[1] < ctl_low && statsfd < ctl_low ;
    for (i = 0 ; i < nlisteners ; i++) fd_close(listeners[i].fd) ;
    for (i = 0 ; i < n ; i++) if (s[i].ctl >= 0 && (!ranged || s[i].ctl < ctl_low)) fd_close(s[i].ctl) ;
    if (ranged && close_range(ctl_low, ~0U, 0) < 0)
      for (i = 0 ; i < n ; i++) if (s[i].ctl >= ctl_low) fd_close(s[i].ctl) ;
    fd_close(notify[0]) ;
  }
#ifdef __linux__
  prctl(PR_SET_NAME, "smtp-session", 0, 0, 0) ;
#endif
  session_pid_n = (uint32_t)getpid() ;
  uint32_pack(session_pid, session_pid_n) ;
  /* what smtp-session does first, done once for all our clients */
  if (door >= 0 && coe(door) < 0) strerr_diefusys(KETCH_EX_TEMP, "set close-on-exec on the door") ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  if (!sig_restore(SIGCHLD)) strerr_diefusys(KETCH_EX_TEMP, "restore SIGCHLD") ;
  for (;;)
  {
    smtpd_io io = SMTPD_IO_ZERO ;
    io.door = door ;
    io.stats = stats ;
    io.confpath = conffile ;
    io.chain = &chain ;
    io.relayclient = !!getenv("RELAYCLIENT") ;
    io.next = &session_next ;
    io.fdw = 0 ;
    io.nonblock = 1 ;
    io.pid = session_pid_n ;
    connection(fd, &rip, rp, li, &io) ;
    /* the listener's configuration: the child parses nothing, and its
       pages stay shared with the listener's (reloaded there on SIGHUP) */
    if (!smtpd_run(&sess, &cf, &io)) _exit(0) ;
    /* the session ended cleanly and told the listener we are idle */
    smtpd_wipe(&sess) ;
    fd_close(0) ;
    if (!next_connection(ctl, &fd, &rip, &rp, &li)) _exit(0) ;
  }
}

/*
 * SIGHUP: a session exec'd per connection reads ketch.conf itself; a forked
 * one (-f) uses ours, so read it again. A broken file keeps the old one.
 * Listening sockets are bound once: a change of listen lines needs a restart.
 */
/* session_argv[0] from the configuration's programs directory */
static int set_sessprog (void)
{
  if (!conf_prog(&cf, "smtp-session", &sessprog)) return 0 ;
  session_argv[0] = sessprog.s ;
  return 1 ;
}

/*
 * -f: the certificate chain decoded here once per configuration load, and
 * inherited by every session forked after (the exec'd sessions read it
 * themselves). Each session still compares the file's stat to the chain's
 * and reads a changed file itself (lib/tls.h), so a certificate renewed
 * without a reload is served at once; the reload decodes it once again.
 * A chain that does not load is left to the sessions, which say why
 * (454 to STARTTLS, and a log line).
 */
static void load_chain (void)
{
  if (exec_sessions) return ;
  if (!cf.cert) { tls_chain_free(&chain) ; return ; }
  if (!tls_chain_load(&chain, cf.sa.s + cf.cert))
    strerr_warnwu("decode the certificate chain in ", cf.sa.s + cf.cert) ;
}

static void reload (void)
{
  conf nc ;
  stralloc e = STRALLOC_ZERO ;
  if (!conf_load(&nc, conffile, &e))
  {
    if (errno == EINVAL) strerr_warnw("SIGHUP: keeping the old configuration: ", e.s) ;
    else strerr_warnwu("SIGHUP: keeping the old configuration: unable to load ", conffile) ;
    stralloc_free(&e) ;
    return ;
  }
  stralloc_free(&e) ;
  conf_free(&cf) ;
  cf = nc ;
  if (!set_sessprog()) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  load_chain() ;
  {
    /* -f: the running session processes have the old configuration */
    size_t n = genalloc_len(session, &sessions), i = 0 ;
    session *s = genalloc_s(session, &sessions) ;
    for (; i < n ; i++)
    {
      s[i].old = 1 ;
      if (!s[i].busy) dismiss(s + i) ;
    }
  }
  strerr_warni("SIGHUP: configuration reloaded; a change of listen lines needs a restart") ;
}

/* -f: the connection to an idle session process; 0 if none took it */
static int to_idle (int fd, ip46 const *remote, uint16_t rport, unsigned int li)
{
  size_t n = genalloc_len(session, &sessions), i = 0 ;
  session *s = genalloc_s(session, &sessions) ;
  for (; i < n ; i++)
  {
    char meta[CONN_META] ;
    if (s[i].busy || s[i].ctl < 0) continue ;
    meta[0] = !!remote->is6 ;
    memcpy(meta + 1, remote->ip, 16) ;
    uint16_pack_big(meta + 17, rport) ;
    meta[19] = (char)li ;
    /* its socket is empty while it is idle: the message does not block */
    if (!conn_send(s[i].ctl, fd, meta))
    {
      strerr_warnwusys("pass a connection to a session process") ;
      dismiss(s + i) ;
      continue ;
    }
    s[i].busy = 1 ;
    memcpy(s[i].ip, remote->ip, 16) ;
    return 1 ;
  }
  return 0 ;
}

static void accept_on (listener const *l)
{
  unsigned int k = 0 ;
  for (; k < ACCEPT_BURST ; k++)
  {
    ip46 remote ;
    uint16_t rport ;
    char fmt[IP46_FMT] ;
    session s ;
    pid_t pid ;
    int fd, ctl[2] ;
    remote.is6 = l->is6 ;
    memset(remote.ip, 0, 16) ;
    /* -f: nonblocking from the accept, as the session wants it (smtpd_io.nonblock) */
    fd = exec_sessions ? l->is6 ? socket_accept6_coe(l->fd, remote.ip, &rport) : socket_accept4_coe(l->fd, remote.ip, &rport)
      : l->is6 ? socket_accept6_nbcoe(l->fd, remote.ip, &rport) : socket_accept4_nbcoe(l->fd, remote.ip, &rport) ;
    if (fd < 0)
    {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
      {
        /* the socket stays readable: without a pause this would spin */
        strerr_warnwusys("accept (pausing for a second)") ;
        paused = 1 ;
        tain_now_g() ;
        tain_addsec_g(&pause_deadline, 1) ;
      }
      else if (!error_isagain(errno) && errno != ECONNABORTED && errno != EINTR) strerr_warnwusys("accept") ;
      return ;
    }
    fmt[ip46_fmt(fmt, &remote)] = 0 ;
    if (count_busy(0) >= cf.max_connections) { refuse(fd, fmt, rport, "connections") ; continue ; }
    if (count_busy(remote.ip) >= cf.max_per_client) { refuse(fd, fmt, rport, "connections-per-client") ; continue ; }
    if (!exec_sessions && to_idle(fd, &remote, rport, l - listeners)) { fd_close(fd) ; continue ; }
    memset(&s, 0, sizeof(s)) ;
    memcpy(s.ip, remote.ip, 16) ;
    s.busy = 1 ;
    s.ctl = -1 ;
    if (!exec_sessions && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0)
    {
      strerr_warnwusys("create a socket pair") ;
      refuse(fd, fmt, rport, "socketpair") ;
      continue ;
    }
    pid = fork() ;
    if (pid < 0)
    {
      strerr_warnwusys("fork") ;
      refuse(fd, fmt, rport, "fork") ;
      if (!exec_sessions) { fd_close(ctl[0]) ; fd_close(ctl[1]) ; }
      continue ;
    }
    if (!pid)
    {
      if (!exec_sessions) fd_close(ctl[0]) ;
      child(fd, ctl[1], &remote, rport, l - listeners) ;
    }
    fd_close(fd) ;
    if (!exec_sessions)
    {
      fd_close(ctl[1]) ;
      s.ctl = move_ctl(ctl[0]) ;
    }
    s.pid = pid ;
    if (!genalloc_append(session, &sessions, &s)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  }
}

static void kill_all (int sig)
{
  size_t n = genalloc_len(session, &sessions), i = 0 ;
  session const *s = genalloc_s(session, &sessions) ;
  for (; i < n ; i++) kill(s[i].pid, sig) ;
}

/*
 * With -f we hold one control socket per session process, busy or idle,
 * and smtp-keyd, which inherits our limits, one channel per session that
 * uses TLS or AUTH: the usual soft limit of 1024 descriptors would cap
 * either near a thousand sessions, well below what the memory allows
 * (issue 18: 10,000 idle sessions). The soft limit is raised to the hard
 * one, which needs no privilege; the hard limit is the operator's (the
 * service manager's) to set. At the hard limit accept fails with EMFILE
 * and we pause (accept_on). A failure here only leaves the limit as it
 * was: it is a ceiling, not a requirement.
 */
static void raise_nofile (void)
{
  struct rlimit r ;
  if (getrlimit(RLIMIT_NOFILE, &r) < 0) return ;
  if (r.rlim_cur < r.rlim_max)
  {
    r.rlim_cur = r.rlim_max ;
    if (setrlimit(RLIMIT_NOFILE, &r) < 0) { strerr_warnwusys("raise the descriptor limit") ; getrlimit(RLIMIT_NOFILE, &r) ; }
  }
  /* an eighth of the descriptors for everything else: listeners, the
     selfpipe, the door, a connection being handed over (a few dozen) */
  ctl_low = r.rlim_cur >= CTL_LOW * 8 ? CTL_LOW : r.rlim_cur / 8 ;
}

int main (int argc, char const *const *argv)
{
  stralloc sa = STRALLOC_ZERO ;
  unsigned int notif = 0, grace = 30 ;
  int hasnotif = 0, stopping = 0 ;
  tain stopdeadline ;
  iopause_fd x[2 + LISTEN_MAX] ;
  int sfd ;
  PROG = "smtp-listen" ;
  raise_nofile() ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:d:g:f", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'd' : if (!uint0_scan(l.arg, &notif) || notif < 3) dieusage() ; hasnotif = 1 ; break ;
        case 'g' : if (!uint0_scan(l.arg, &grace) || grace > INT_MAX) dieusage() ; break ;
        case 'f' : exec_sessions = 0 ; break ;
        default : dieusage() ;
      }
    }
  }
  if (!fd_sanitize()) strerr_diefusys(KETCH_EX_TEMP, "sanitize standard descriptors") ;
  conffile = conf_path(conffile) ;
  if (!conf_load(&cf, conffile, &sa))
  {
    if (errno == EINVAL) strerr_dief(KETCH_EX_PERM, sa.s) ;
    strerr_diefusys(KETCH_EX_TEMP, "load the configuration ", conffile) ;
  }
  /* the certificate, the key and the auth table: there, and readable by their readers (lib/conffiles.c) */
  sa.len = 0 ;
  if (conf_files_check(&cf, CONF_FILES_SMTP, &sa)) strerr_dief(KETCH_EX_PERM, sa.len ? sa.s : "unable to check the files of the configuration") ;
  /* a forgotten line must not leave the sessions, which parse hostile input, running as root */
  if (!geteuid() && !cf.smtp_user) strerr_dief(KETCH_EX_PERM, "started as root without smtp-user in ", conffile, ": the sessions would run as root") ;
  if (!set_sessprog()) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  session_argv[1] = "-C" ;
  session_argv[2] = conffile ;
  session_argv[3] = 0 ;

  bind_all() ;
  /* a certificate or an auth-table added later by SIGHUP is read by the
     sessions themselves: smtp-keyd needs the privileges we drop here */
  if (cf.cert || cf.auth_table) spawn_keyd(hasnotif ? (int)notif : -1) ;
  open_stats() ;
  drop_privileges() ;
  if (!exec_sessions) warm_up() ;
  load_chain() ;

  /* the read end: ours, nonblocking; the write end: every session process's */
  if (!exec_sessions && (pipe2(notify, O_CLOEXEC) < 0 || ndelay_on(notify[0]) < 0)) strerr_diefusys(KETCH_EX_TEMP, "create the notification pipe") ;
  sfd = selfpipe_init() ;
  if (sfd < 0) strerr_diefusys(KETCH_EX_TEMP, "init the selfpipe") ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  /* an inherited SIG_IGN would make the sessions auto-reaped, and the limits blind */
  if (!sig_restore(SIGCHLD)) strerr_diefusys(KETCH_EX_TEMP, "restore SIGCHLD") ;
  {
    sigset_t set ;
    sigemptyset(&set) ;
    sigaddset(&set, SIGTERM) ;
    sigaddset(&set, SIGINT) ;
    sigaddset(&set, SIGCHLD) ;
    sigaddset(&set, SIGHUP) ;
    if (!selfpipe_trapset(&set)) strerr_diefusys(KETCH_EX_TEMP, "trap signals") ;
  }
  tain_now_set_stopwatch_g() ;

  if (hasnotif)
  {
    fd_write(notif, "\n", 1) ;
    fd_close(notif) ;
  }

  for (;;)
  {
    size_t nx, nl, i ;
    tain idle_next ;
    tain const *d ;
    int r, idle ;
    if (paused)
    {
      tain_now_g() ;
      if (!tain_less(&STAMP, &pause_deadline)) paused = 0 ;
    }
    idle = trim_idle(stopping, &idle_next) ;
    x[0].fd = sfd ;
    x[0].events = IOPAUSE_READ ;
    x[1].fd = notify[0] ;
    x[1].events = notify[0] >= 0 ? IOPAUSE_READ : 0 ;
    nx = 2 ;
    if (!stopping && !paused)
      for (i = 0 ; i < nlisteners ; i++)
      {
        x[nx].fd = listeners[i].fd ;
        x[nx++].events = IOPAUSE_READ ;
      }
    nl = nx ;
    for (i = 0 ; i < nx ; i++) x[i].revents = 0 ;
    d = stopping ? &stopdeadline : paused ? &pause_deadline : 0 ;
    if (idle && (!d || tain_less(&idle_next, d))) d = &idle_next ;
    /* a store into the mapping: the busy sessions (exiting ones too, as the limits count them) */
    if (stats) stats_set(stats, STATS_G_SESSIONS_OPEN, count_busy(0)) ;
    r = iopause_g(x, nx, d) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    if (!r)
    {
      tain_now_g() ;
      if (!stopping || tain_less(&STAMP, &stopdeadline)) continue ;
      /* the shutdown bound is over: sessions still running are ended */
      strerr_warni("shutdown: ending remaining sessions") ;
      kill_all(SIGKILL) ;
      strerr_warni("stopped") ;
      return 0 ;
    }
    if (x[1].revents & IOPAUSE_READ) from_sessions(stopping) ;
    if (x[0].revents & IOPAUSE_READ)
    {
      for (;;)
      {
        int sig = selfpipe_read() ;
        if (sig < 0) strerr_diefusys(KETCH_EX_TEMP, "read the selfpipe") ;
        if (!sig) break ;
        if (sig == SIGCHLD) reap() ;
        else if (sig == SIGHUP) reload() ;
        else if (!stopping)
        {
          stopping = 1 ;
          for (i = 0 ; i < nlisteners ; i++) fd_close(listeners[i].fd) ;
          tain_now_g() ;
          tain_addsec_g(&stopdeadline, grace) ;
          strerr_warni("shutdown: no longer accepting") ;
          nl = 2 ;
        }
      }
    }
    if (stopping)
    {
      if (!genalloc_len(session, &sessions)) { strerr_warni("stopped") ; return 0 ; }
      continue ;
    }
    for (i = 2 ; i < nl ; i++)
      if (x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT)) accept_on(&listeners[i - 2]) ;
  }
}
