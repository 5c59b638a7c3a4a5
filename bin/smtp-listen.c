/* ISC license: see LICENSE. */

/*
 * smtp-listen: binds every "listen" line of the configuration, drops
 * privileges, and runs one smtp-session process per connection with the
 * UCSPI environment (the s6-tcpserver4d model). It enforces a global and
 * a per-client connection limit by answering 421 (never by leaving the
 * client hanging in the backlog).
 *
 * With -f the session processes accept their own connections and
 * serve several clients in turn (see "Session processes" below).
 *
 * One iopause loop; signals arrive through the selfpipe; the timed events
 * are the pool's recount (-f, every second), the accept pause and the
 * shutdown bound, absolute deadlines.
 */

/* Linux: epoll with EPOLLEXCLUSIVE (4.5) for the session processes of -f,
   prctl for their name (ps shows smtp-session) and their parent-death
   signal; Debian, what ketch is made for, runs Linux */
#define _GNU_SOURCE
#include <sys/prctl.h>

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
#include <sys/epoll.h>
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

#include "connslots.h"
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
 * Session processes (-f). Each session process accepts its own
 * connections: it waits in epoll_pwait on every listening socket, added
 * with EPOLLEXCLUSIVE, so that a connection wakes one waiting process,
 * not all (Linux 4.5), and the one woken is the first that waited (the
 * wait queue's order), so the same few processes serve client after
 * client. It takes the connection with a nonblocking accept (another
 * may have taken it: EAGAIN), claims its slot in the table of
 * lib/connslots, which holds the connection limits for all of them, and
 * answers 421 itself when a limit is passed. A session that ended
 * cleanly (QUIT, or the client's close, between transactions) wipes that
 * client's state, its TLS and AUTH secrets included (smtpd_wipe in
 * lib/smtpd.h says what and how), and waits again. Why not hand each
 * connection over from here: that was two wake-ups across processes per
 * connection (our accept and sendmsg, the session's recvmsg, and its
 * notice back when idle); without them W1 ran 6 % faster at 8 % less
 * CPU per message, at the medians of six alternating pairs
 * (t/bench/README.md, "Sessions that accept their own connections").
 *
 * We keep POOL_IDLE processes waiting, forking more when a session that
 * takes a connection sees fewer than POOL_LOW left (one octet on the
 * notification pipe) and at every recount: each SIGCHLD, and once a
 * second, so a hint lost to a full pipe costs a second at most, while
 * the connections wait in the listen backlog. At most limit connections
 * + POOL_IDLE session processes: at the limit, an idle one is still
 * there to answer 421. A process idle for SESSION_IDLE seconds exits if
 * more than POOL_IDLE are idle; one retires after SESSION_USES clients.
 * Postfix's smtpd does the same (max_use 100, max_idle 100 s).
 *
 * SIGTERM ends a session process only while it waits for a client: it
 * is blocked the rest of the time and let through by epoll_pwait's mask.
 * A reload (SIGHUP: the sessions have the old configuration) sends it to
 * every session process and forks fresh ones; the busy ones finish their
 * client first. A stop shuts the listening sockets down (shutdown(2)):
 * every waiting process wakes, its accept fails with EINVAL and it exits,
 * and the busy ones exit the same way after their client.
 */
#define SESSION_USES 100
#define SESSION_IDLE 5
#define POOL_IDLE 8
#define POOL_LOW 4

typedef struct session_s session ;
struct session_s
{
  pid_t pid ;
  unsigned int slot ;  /* its slot in the table of lib/connslots */
  int old ;            /* -f: forked before the last SIGHUP, and told to go */
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
static connslots *slots ;        /* the limits' table, shared with the session processes (-f) */
static listener listeners[LISTEN_MAX] ;
static int notify[2] = { -1, -1 } ;   /* -f: a session's hint that the pool runs low; the read end ours */
static unsigned int nlisteners = 0 ;
static char const *session_argv[8] ;
static pid_t keyd_pid = 0 ;
static int door = -1 ;           /* smtp-keyd's door, or -1 */
static char doorfmt[INT_FMT] ;
static stralloc sessprog = STRALLOC_ZERO ;   /* PROGRAMS/smtp-session */
static tls_chain chain = TLS_CHAIN_ZERO ;    /* -f: the certificate chain, lent to the sessions */
static int paused = 0 ;          /* out of descriptors: stop accepting for a while */
static tain pause_deadline ;

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
        /* its counts go with it, however it ended */
        connslots_free(slots, s[i].slot) ;
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

/* without -f: the child of one connection, which becomes smtp-session */
static void child_exec (int fd, ip46 const *remote, uint16_t rport, unsigned int li) gccattr_noreturn ;
static void child_exec (int fd, ip46 const *remote, uint16_t rport, unsigned int li)
{
  selfpipe_finish() ;
  connection(fd, remote, rport, li, 0) ;
  if (statsfd >= 0 && uncoe(statsfd) < 0) strerr_diefusys(KETCH_EX_TEMP, "clear close-on-exec on the statistics") ;
  xexec(session_argv) ;
}

/* -f: a session process's own state */
static unsigned int myslot ;      /* its slot in the limits' table */
static int epfd = -1 ;            /* every listening socket, EPOLLEXCLUSIVE */
static pid_t listener_pid ;       /* smtp-listen's, asked before the fork */
static sigset_t waitmask ;        /* the signal mask inside the wait: SIGTERM let through */

/* smtpd_io.next, at a clean end: serve another client, unless this one was the SESSION_USES-th */
static int session_next (void *ctx)
{
  static unsigned int uses = 0 ;
  return ++uses < SESSION_USES ;
}

/* -f: accept errors that a pause waits out (the socket stays readable: without one the loop would spin) */
static int accept_pause (void)
{
  return errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM ;
}

/*
 * -f: waits for a connection, accepts it (nonblocking, as the session
 * wants it: smtpd_io.nonblock) and claims this process's slot for it;
 * the descriptor, with its address and its listener's index. Returns
 * only with a client within the limits: a connection over one is
 * answered 421 here. The process ends in the wait: on SIGTERM, when the
 * listening sockets are shut down (smtp-listen stops: accept fails with
 * EINVAL), or after SESSION_IDLE seconds without a client if the pool
 * has more than POOL_IDLE waiting.
 */
static int next_client (ip46 *remote, uint16_t *rport, unsigned int *li)
{
  for (;;)
  {
    struct epoll_event ev[LISTEN_MAX] ;
    int n = epoll_pwait(epfd, ev, LISTEN_MAX, SESSION_IDLE * 1000, &waitmask), i ;
    if (n < 0)
    {
      if (errno == EINTR) continue ;
      strerr_diefusys(KETCH_EX_TEMP, "epoll_pwait") ;
    }
    if (!n && connslots_n(slots, CONNSLOT_IDLE) > POOL_IDLE) _exit(0) ;
    for (i = 0 ; i < n ; i++)
    {
      listener const *l = listeners + ev[i].data.u32 ;
      connslots_count c ;
      char fmt[IP46_FMT] ;
      int fd, over ;
      remote->is6 = l->is6 ;
      memset(remote->ip, 0, 16) ;
      fd = l->is6 ? socket_accept6_nbcoe(l->fd, remote->ip, rport) : socket_accept4_nbcoe(l->fd, remote->ip, rport) ;
      if (fd < 0)
      {
        if (errno == EINVAL) _exit(0) ;
        if (accept_pause())
        {
          struct timespec second = { .tv_sec = 1, .tv_nsec = 0 } ;
          strerr_warnwusys("accept (pausing for a second)") ;
          ppoll(0, 0, &second, &waitmask) ;
        }
        else if (!error_isagain(errno) && errno != ECONNABORTED && errno != EINTR) strerr_warnwusys("accept") ;
        continue ;
      }
      over = connslots_claim(slots, myslot, remote->ip, cf.max_connections, cf.max_per_client, &c) ;
      if (over)
      {
        fmt[ip46_fmt(fmt, remote)] = 0 ;
        refuse(fd, fmt, *rport, over == CONNSLOTS_OVER_ALL ? "connections" : "connections-per-client") ;
        continue ;
      }
      /* nonblocking: a full pipe holds hints enough */
      if (c.idle < POOL_LOW) fd_write(notify[1], "", 1) ;
      *li = ev[i].data.u32 ;
      return fd ;
    }
  }
}

/* -f: a session process, from its fork to its exit; slot is its own */
static void session_process (unsigned int slot) gccattr_noreturn ;
static void session_process (unsigned int slot)
{
  /* in .bss: its buffers are pages an idle session writes (lib/smtpd.h) */
  static smtpd_session sess = SMTPD_SESSION_ZERO ;
  uint32_t pid ;
  sigset_t term ;
  unsigned int i ;
  selfpipe_finish() ;
  /* a SIGTERM until here ends a process that has no client yet */
  sigemptyset(&term) ;
  sigaddset(&term, SIGTERM) ;
  if (sigprocmask(SIG_BLOCK, &term, &waitmask) < 0) strerr_diefusys(KETCH_EX_TEMP, "block SIGTERM") ;
  sigdelset(&waitmask, SIGTERM) ;
  /* smtp-listen gone (a fatal error, smtp-keyd's exit): the same as its
     stop, so that the waiting processes let the listening sockets go at
     once for its supervisor's next smtp-listen, and the busy ones after
     their client. Checked once by hand: it may have gone before the prctl */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0) strerr_diefusys(KETCH_EX_TEMP, "set the parent-death signal") ;
  if (getppid() != listener_pid) _exit(0) ;
  myslot = slot ;
  fd_close(notify[0]) ;
  prctl(PR_SET_NAME, "smtp-session", 0, 0, 0) ;
  /* asked once: getpid is a system call, and the session id needs it per client */
  pid = (uint32_t)getpid() ;
  /* what smtp-session does first, done once for all our clients */
  if (door >= 0 && coe(door) < 0) strerr_diefusys(KETCH_EX_TEMP, "set close-on-exec on the door") ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  if (!sig_restore(SIGCHLD)) strerr_diefusys(KETCH_EX_TEMP, "restore SIGCHLD") ;
  /* made while descriptors 0 to 2 are open (fd_sanitize), so never 0, which each client's connection takes */
  epfd = epoll_create1(EPOLL_CLOEXEC) ;
  if (epfd < 0) strerr_diefusys(KETCH_EX_TEMP, "create an epoll instance") ;
  for (i = 0 ; i < nlisteners ; i++)
  {
    struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data = { .u32 = i } } ;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, listeners[i].fd, &ev) < 0) strerr_diefusys(KETCH_EX_TEMP, "add a listening socket to the epoll set") ;
  }
  for (;;)
  {
    smtpd_io io = SMTPD_IO_ZERO ;
    ip46 rip ;
    uint16_t rp ;
    unsigned int li ;
    int fd = next_client(&rip, &rp, &li) ;
    io.door = door ;
    io.stats = stats ;
    io.confpath = conffile ;
    io.chain = &chain ;
    io.relayclient = !!getenv("RELAYCLIENT") ;
    io.next = &session_next ;
    io.fdw = 0 ;
    io.nonblock = 1 ;
    io.pid = pid ;
    connection(fd, &rip, rp, li, &io) ;
    /* the listener's configuration: the child parses nothing, and its
       pages stay shared with the listener's (reloaded there on SIGHUP,
       for the processes forked after) */
    if (!smtpd_run(&sess, &cf, &io)) _exit(0) ;
    /* the session ended cleanly: nothing of this client for the next one */
    smtpd_wipe(&sess) ;
    fd_close(0) ;
    connslots_release(slots, myslot) ;
  }
}

/* -f: one more session process; 0 if none could be made */
static int fork_session (void)
{
  session s = { .pid = 0, .slot = 0, .old = 0 } ;
  int i = connslots_take(slots) ;
  if (i < 0) return 0 ;
  s.slot = (unsigned int)i ;
  if (!listener_pid) listener_pid = getpid() ;
  s.pid = fork() ;
  if (s.pid < 0)
  {
    strerr_warnwusys("fork") ;
    connslots_free(slots, s.slot) ;
    return 0 ;
  }
  if (!s.pid) session_process(s.slot) ;
  if (!genalloc_append(session, &sessions, &s)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  return 1 ;
}

/* -f: the recount: POOL_IDLE processes of the current configuration waiting, within the bound */
static void refill (void)
{
  size_t n = genalloc_len(session, &sessions), i = 0 ;
  session const *s = genalloc_s(session, &sessions) ;
  size_t most = (size_t)cf.max_connections + POOL_IDLE ;
  unsigned int idle = 0 ;
  for (; i < n ; i++) if (!s[i].old && connslots_state(slots, s[i].slot) == CONNSLOT_IDLE) idle++ ;
  for (; idle < POOL_IDLE && n < most ; idle++, n++) if (!fork_session()) break ;
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
  if (!exec_sessions)
  {
    /* -f: the running session processes have the old configuration: the
       waiting ones end now, the busy ones after their client (SIGTERM is
       let through only in the wait); the main loop's refill forks fresh ones */
    size_t n = genalloc_len(session, &sessions), i = 0 ;
    session *s = genalloc_s(session, &sessions) ;
    for (; i < n ; i++)
      if (!s[i].old)
      {
        s[i].old = 1 ;
        kill(s[i].pid, SIGTERM) ;
      }
  }
  strerr_warni("SIGHUP: configuration reloaded; a change of listen lines needs a restart") ;
}

/* without -f: the connections of a readable listening socket, a child each */
static void accept_on (listener const *l)
{
  unsigned int k = 0 ;
  for (; k < ACCEPT_BURST ; k++)
  {
    ip46 remote ;
    uint16_t rport ;
    char fmt[IP46_FMT] ;
    session s = { .pid = 0, .slot = 0, .old = 0 } ;
    int fd, i, over ;
    remote.is6 = l->is6 ;
    memset(remote.ip, 0, 16) ;
    fd = l->is6 ? socket_accept6_coe(l->fd, remote.ip, &rport) : socket_accept4_coe(l->fd, remote.ip, &rport) ;
    if (fd < 0)
    {
      if (accept_pause())
      {
        strerr_warnwusys("accept (pausing for a second)") ;
        paused = 1 ;
        tain_now_g() ;
        tain_addsec_g(&pause_deadline, 1) ;
      }
      else if (!error_isagain(errno) && errno != ECONNABORTED && errno != EINTR) strerr_warnwusys("accept") ;
      return ;
    }
    fmt[ip46_fmt(fmt, &remote)] = 0 ;
    /* the slot claimed on the session's behalf: we are its one writer */
    i = connslots_take(slots) ;
    if (i < 0) { refuse(fd, fmt, rport, "connections") ; continue ; }
    s.slot = (unsigned int)i ;
    over = connslots_claim(slots, s.slot, remote.ip, cf.max_connections, cf.max_per_client, 0) ;
    if (over)
    {
      connslots_free(slots, s.slot) ;
      refuse(fd, fmt, rport, over == CONNSLOTS_OVER_ALL ? "connections" : "connections-per-client") ;
      continue ;
    }
    s.pid = fork() ;
    if (s.pid < 0)
    {
      strerr_warnwusys("fork") ;
      connslots_free(slots, s.slot) ;
      refuse(fd, fmt, rport, "fork") ;
      continue ;
    }
    if (!s.pid) child_exec(fd, &remote, rport, l - listeners) ;
    fd_close(fd) ;
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
 * smtp-keyd, which inherits our limits, holds one channel per session
 * that uses TLS or AUTH: the usual soft limit of 1024 descriptors would
 * cap it near a thousand sessions, well below what the memory allows
 * (issue 18: 10,000 idle sessions). The soft limit is raised to the hard
 * one, which needs no privilege; the hard limit is the operator's (the
 * service manager's) to set. At the hard limit accept fails with EMFILE
 * and the accepting process pauses (accept_on, next_client). A failure
 * here only leaves the limit as it was: it is a ceiling, not a
 * requirement.
 */
static void raise_nofile (void)
{
  struct rlimit r ;
  if (getrlimit(RLIMIT_NOFILE, &r) < 0) return ;
  if (r.rlim_cur < r.rlim_max)
  {
    r.rlim_cur = r.rlim_max ;
    if (setrlimit(RLIMIT_NOFILE, &r) < 0) strerr_warnwusys("raise the descriptor limit") ;
  }
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

  slots = connslots_map() ;
  if (!slots) strerr_diefusys(KETCH_EX_TEMP, "map the table of session slots") ;
  /* the read end: ours; the write end: every session process's; both nonblocking */
  if (!exec_sessions && pipe2(notify, O_CLOEXEC | O_NONBLOCK) < 0) strerr_diefusys(KETCH_EX_TEMP, "create the notification pipe") ;
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

  /* -f: the first waiting processes, before we say we are ready */
  if (!exec_sessions) refill() ;
  if (hasnotif)
  {
    fd_write(notif, "\n", 1) ;
    fd_close(notif) ;
  }

  for (;;)
  {
    size_t nx, i ;
    tain tick ;
    tain const *d = 0 ;
    int r ;
    if (paused)
    {
      tain_now_g() ;
      if (!tain_less(&STAMP, &pause_deadline)) paused = 0 ;
    }
    x[0].fd = sfd ;
    x[0].events = IOPAUSE_READ ;
    x[1].fd = notify[0] ;
    x[1].events = notify[0] >= 0 ? IOPAUSE_READ : 0 ;
    nx = 2 ;
    /* -f: the session processes accept; if we polled the listening sockets too, we would be woken for every connection */
    if (exec_sessions && !stopping && !paused)
      for (i = 0 ; i < nlisteners ; i++)
      {
        x[nx].fd = listeners[i].fd ;
        x[nx++].events = IOPAUSE_READ ;
      }
    for (i = 0 ; i < nx ; i++) x[i].revents = 0 ;
    if (stopping) d = &stopdeadline ;
    else if (paused) d = &pause_deadline ;
    else if (!exec_sessions)
    {
      tain_now_g() ;
      tain_addsec_g(&tick, 1) ;
      d = &tick ;
    }
    /* a store into the mapping: the busy sessions (exiting ones too, as the limits count them) */
    if (stats) stats_set(stats, STATS_G_SESSIONS_OPEN, connslots_n(slots, CONNSLOT_BUSY)) ;
    r = iopause_g(x, nx, d) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    if (!r && stopping)
    {
      tain_now_g() ;
      if (tain_less(&STAMP, &stopdeadline)) continue ;
      /* the shutdown bound is over: sessions still running are ended */
      strerr_warni("shutdown: ending remaining sessions") ;
      kill_all(SIGKILL) ;
      strerr_warni("stopped") ;
      return 0 ;
    }
    if (x[1].revents & IOPAUSE_READ)
    {
      /* the hints only say "recount": what they hold does not matter. A
         short read emptied the pipe; the pipe is in the poll set
         (level-triggered): a hint written after this read wakes us again */
      char buf[256] ;
      while (fd_read(notify[0], buf, sizeof(buf)) == (ssize_t)sizeof(buf)) ;
    }
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
          /* shutdown(2), not only close: the session processes (-f), and a
             child between its fork and its exec, hold the sockets too;
             this stops them listening for all, and wakes every process
             waiting on them */
          for (i = 0 ; i < nlisteners ; i++)
          {
            shutdown(listeners[i].fd, SHUT_RDWR) ;
            fd_close(listeners[i].fd) ;
          }
          tain_now_g() ;
          tain_addsec_g(&stopdeadline, grace) ;
          strerr_warni("shutdown: no longer accepting") ;
        }
      }
    }
    if (stopping)
    {
      if (!genalloc_len(session, &sessions)) { strerr_warni("stopped") ; return 0 ; }
      continue ;
    }
    if (!exec_sessions) refill() ;
    else
      for (i = 2 ; i < nx ; i++)
        if (x[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT)) accept_on(&listeners[i - 2]) ;
  }
}
