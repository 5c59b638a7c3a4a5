/* ISC license: see LICENSE. */

/*
 * local-spawn: the scheduler's root helper (qmail-lspawn's job). The
 * scheduler, started as root, runs it with a request socket on fd 0 and
 * a report pipe on fd 1, then drops to the queue user. Each request is
 * the message's descriptor, opened by the scheduler, and the facts of
 * one delivery (recipient, the alias it came from, sender); local-spawn
 * derives the user and the delivery itself (lib/decide: never taking a
 * uid, a path or an argument from the socket, never opening a path in
 * the spool, never running anything as root), and delivers as that
 * user, with a timeout: in a worker, a forked child that drops to the
 * user and calls the delivery engine (lib/deliver) without an exec (an
 * exec per delivery cost about half a millisecond of CPU, a third of a
 * message's whole budget), and that stays for the same user's next
 * deliveries (a fork per delivery cost a tenth of one). It never
 * executes anything. See local-spawn(8) for the protocol.
 */

/* initgroups and setgroups are not POSIX */
#define _DEFAULT_SOURCE
#ifdef __linux__
/* prctl(PR_SET_NAME): a delivery shows as local-deliver in ps and /proc/PID/comm */
#define _GNU_SOURCE
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <pwd.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>
#include <skalibs/unixmessage.h>

#include "exitcodes.h"
#include "conf.h"
#include "queue.h"
#include "lookup.h"
#include "decide.h"
#include "lspawn.h"
#include "deliver.h"

#define USAGE "local-spawn [ -C conf ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define S(x) x, sizeof(x) - 1
#define MAXCHILD 1000         /* deliveries at once */
#define WORKER_USES 1000      /* deliveries by one worker, then it is retired: whatever it leaks stays bounded */
#define WORKER_IDLE 5         /* seconds an idle worker waits for its user's next delivery */

/*
 * A worker: a forked child that dropped to one user (uid, gid, name)
 * and delivers that user's mail, one request at a time, until its
 * socket closes. The socket carries the requests out (local-deliver's
 * arguments as a netstring of NUL-terminated fields, as in the
 * scheduler's requests, with the message's descriptor attached: lib/lspawn,
 * lspawn_job_send) and back what
 * an MDA wrote and, after each delivery, its text and result
 * (worker_result). A failed delivery is reported like a good one; a
 * worker that exits busy crashed or was killed.
 */
typedef struct child_s child ;
struct child_s
{
  pid_t pid ;
  char tag[UINT_FMT] ;   /* the delivery in flight ("" when idle or unknown) */
  int busy ;
  int fd ;               /* the worker's socket; -1 once dismissed or closed */
  stralloc last ;        /* its last stderr line */
  stralloc cur ;
  tain deadline ;        /* busy: the delivery's; idle: its dismissal */
  int killed ;
  unsigned int uses ;
  uid_t uid ;
  gid_t gid ;
  char name[256] ;
} ;

static conf c ;
static char const *conffile = 0 ;
static genalloc children = GENALLOC_ZERO ;  /* child */

static void report (char const *tag, char const *code, char const *text, size_t len)
{
  stralloc sa = STRALLOC_ZERO ;
  if (lspawn_report(&sa, tag, code, text, len) && allwrite(1, sa.s, sa.len) < sa.len) strerr_diefusys(KETCH_EX_TEMP, "write a report") ;
  stralloc_free(&sa) ;
}

/*
 * The user's groups, as initgroups() would set them (at most NGROUPS_CAP).
 * The last answer is kept for one second: a burst of deliveries to one
 * user asks NSS once (with libnss_systemd, one getgrouplist is about 100
 * system calls). nscd keeps group answers far longer.
 */
#define NGROUPS_CAP 1024
static gid_t groups[NGROUPS_CAP] ;
static int gcache_n = -1 ;
static gid_t gcache_gid ;
static char gcache_name[256] ;
static tain gcache_until ;

static int grouplist (char const *name, gid_t gid, int *n)
{
  int ng = NGROUPS_CAP ;
  size_t len = strlen(name) ;
  tain_now_g() ;
  if (gcache_n >= 0 && gid == gcache_gid && len < sizeof(gcache_name) && !strcmp(name, gcache_name) && tain_less(&STAMP, &gcache_until))
  {
    *n = gcache_n ;
    return 1 ;
  }
  gcache_n = -1 ;
  if (getgrouplist(name, gid, groups, &ng) < 0) return (errno = E2BIG, 0) ;
  *n = ng ;
  if (len < sizeof(gcache_name))
  {
    memcpy(gcache_name, name, len + 1) ;
    gcache_gid = gid ;
    gcache_n = ng ;
    tain_addsec(&gcache_until, &STAMP, 1) ;
  }
  return 1 ;
}

static size_t busy_count (void)
{
  size_t n = genalloc_len(child, &children), i = 0, k = 0 ;
  for (; i < n ; i++) if (genalloc_s(child, &children)[i].busy) k++ ;
  return k ;
}

/* an idle worker for this user, or 0 */
static child *worker_idle (uid_t uid, gid_t gid, char const *name)
{
  size_t n = genalloc_len(child, &children), i = 0 ;
  for (; i < n ; i++)
  {
    child *ch = genalloc_s(child, &children) + i ;
    if (!ch->busy && ch->fd >= 0 && !ch->killed && ch->uid == uid && ch->gid == gid && !strcmp(ch->name, name)) return ch ;
  }
  return 0 ;
}

/* an idle worker gets no more requests: it reads the end of its socket and exits; reap() forgets it */
static void worker_dismiss (child *ch)
{
  if (ch->fd >= 0) fd_close(ch->fd) ;
  ch->fd = -1 ;
}

/*
 * The end of one delivery on the worker's socket: a line with the
 * engine's text, every control character blanked, then one octet, the
 * result (lib/exitcodes.h: 0 delivered, 1 temporary, 2 permanent),
 * which no text and no program's output (lib/deliver blanks it) holds.
 * The line starts on a line of its own, after whatever an MDA wrote.
 */
static int worker_result (enum ketch_result res, stralloc const *text, stralloc *out)
{
  size_t i = 0 ;
  char mark = (char)res ;
  out->len = 0 ;
  if (!stralloc_catb(out, S("\n")) || !stralloc_catb(out, text->s, text->len)) return 0 ;
  for (i = 1 ; i < out->len ; i++) if ((unsigned char)out->s[i] < 32 || out->s[i] == 127) out->s[i] = ' ' ;
  if (!stralloc_catb(out, S("\n")) || !stralloc_catb(out, &mark, 1)) return 0 ;
  return allwrite(2, out->s, out->len) == out->len ;
}

/*
 * The worker's side: requests until the end of its socket (fd 2), each
 * delivered by lib/deliver; a failed delivery is a result like any
 * other, and the worker takes the next request.
 */
static void worker_loop (void)
{
  stralloc a = STRALLOC_ZERO, text = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  deliver d = DELIVER_ZERO ;
  for (;;)
  {
    char const *argv[LSPAWN_FIELDS_MAX + 2] ;
    deliver_req r = DELIVER_REQ_ZERO ;
    enum ketch_result res ;
    size_t start, len ;
    unsigned int n ;
    int mfd, k ;
    /* the descriptor and the arguments in one blocking recvmsg (lib/lspawn) */
    k = lspawn_job_recv(2, &a, &start, &len, &mfd) ;
    if (!k) _exit(0) ;
    if (k < 0) _exit(KETCH_EX_TEMP) ;
    argv[0] = "local-deliver" ;
    n = lspawn_fields(a.s + start, len, argv + 1, LSPAWN_FIELDS_MAX) ;
    /* every octet in a field (local-spawn sends at most LSPAWN_FIELDS_MAX) */
    if (!n || argv[n] + strlen(argv[n]) + 1 != a.s + start + len) _exit(KETCH_EX_TEMP) ;
    argv[n + 1] = 0 ;
    r.fd = mfd ;
    r.out = 2 ;
    text.len = 0 ;
    /* lib/decide made the arguments: a request they do not make is a bug, permanent as local-deliver's usage */
    if (!deliver_req_argv(&r, n + 1, argv))
    {
      res = KETCH_RESULT_PERM ;
      if (stralloc_cats(&text, "bad delivery arguments") && stralloc_0(&text)) text.len-- ;
    }
    else
    {
      /* a forward (-F) goes into the queue of our own configuration */
      r.cf = &c ;
      r.conffile = conffile ;
      res = deliver_run(&d, &r, &text) ;
    }
    fd_close(mfd) ;
    if (!worker_result(res, &text, &out)) _exit(KETCH_EX_TEMP) ;
  }
}

/*
 * A new worker for this user: forked now, it drops to the user at once
 * and waits for requests (its first comes right after).
 */
static child *worker_start (uid_t uid, gid_t gid, char const *name)
{
  child ch = { .fd = -1, .busy = 0, .last = STRALLOC_ZERO, .cur = STRALLOC_ZERO, .killed = 0, .uses = 0, .uid = uid, .gid = gid } ;
  int p[2], ng ;
  pid_t pid ;
  /*
   * The supplementary groups are resolved here, in the long-lived parent,
   * not by initgroups() in the child: in a fresh child every delivery
   * would load the NSS modules (libnss_systemd and its libraries) again,
   * about 200 system calls and a millisecond of CPU per message.
   */
  if (strlen(name) >= sizeof(ch.name) || !grouplist(name, gid, &ng)) return 0 ;
  memcpy(ch.name, name, strlen(name) + 1) ;
  if (genalloc_len(child, &children) >= MAXCHILD)
  {
    /* full of idle workers: dismiss them, they are reaped soon */
    size_t i = 0 ;
    for (; i < genalloc_len(child, &children) ; i++) if (!genalloc_s(child, &children)[i].busy) worker_dismiss(genalloc_s(child, &children) + i) ;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) return 0 ;
  pid = fork() ;
  if (pid < 0) { fd_close(p[0]) ; fd_close(p[1]) ; return 0 ; }
  if (!pid)
  {
    int null = open("/dev/null", O_RDWR) ;
    selfpipe_finish() ;
    /* its own process group: a timeout kills what it started too */
    setpgid(0, 0) ;
    fd_close(p[0]) ;
    if (null < 0 || fd_copy(0, null) < 0 || fd_move(1, null) < 0 || fd_move(2, p[1]) < 0) _exit(KETCH_EX_TEMP) ;
    if (setgroups(ng, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) _exit(KETCH_EX_TEMP) ;
    if (!getuid() || !geteuid()) _exit(KETCH_EX_TEMP) ;
    /* what an exec would have closed: the other workers' sockets */
    {
      size_t j = 0 ;
      for (; j < genalloc_len(child, &children) ; j++)
        if (genalloc_s(child, &children)[j].fd >= 0) fd_close(genalloc_s(child, &children)[j].fd) ;
    }
#ifdef __linux__
    prctl(PR_SET_NAME, "local-deliver", 0, 0, 0) ;
#endif
    /* no exec: the worker stays non-dumpable after the setuid, so the
       user cannot ptrace a process that began as root */
    worker_loop() ;
  }
  fd_close(p[1]) ;
  if (ndelay_on(p[0]) < 0) { fd_close(p[0]) ; kill(pid, SIGKILL) ; return 0 ; }
  ch.pid = pid ;
  ch.fd = p[0] ;
  if (!genalloc_append(child, &children, &ch)) { fd_close(p[0]) ; kill(pid, SIGKILL) ; return 0 ; }
  return genalloc_s(child, &children) + genalloc_len(child, &children) - 1 ;
}

/* one request down a worker's socket: the message's descriptor with the arguments, in one sendmsg. 1, or 0 */
static int worker_send (child *ch, int fd, stralloc const *args)
{
  static stralloc buf = STRALLOC_ZERO ;   /* the netstring, reused from request to request */
  return ch->fd >= 0 && lspawn_job_send(ch->fd, fd, args->s, args->len, &buf) ;
}

/* no control character: the fields become arguments and header lines */
static int clean (char const *s)
{
  for (; *s ; s++) if ((unsigned char)*s < 32 || *s == 127) return 0 ;
  return 1 ;
}

/*
 * The message's descriptor, as the scheduler opened it: a regular file
 * open for reading only, or nothing. Root opens no path in the spool,
 * which the queue user controls (a symbolic link, a FIFO).
 */
static int message_ok (int fd)
{
  struct stat st ;
  int fl = fcntl(fd, F_GETFL) ;
  return fl >= 0 && (fl & O_ACCMODE) == O_RDONLY && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ;
}

/*
 * The delivery is decided here, from the request's facts (recipient,
 * and the alias it came from), by lib/decide: a scheduler that lost its
 * integrity can have a message delivered to a recipient it names, but
 * chooses no program, file, argument, option or user. The sender and
 * the message are the queue's, which that scheduler could write anyway:
 * they are data here, never a reason to run anything.
 */
static void handle (char const *tag, char const *const *f, int fd)
{
  decide d = DECIDE_ZERO ;
  lookup l = LOOKUP_ZERO ;
  unsigned int timeout ;
  child *ch ;
  if (!queue_id_valid(f[1], strlen(f[1])) || !uint0_scan(f[2], &timeout) || !clean(f[3]) || !clean(f[4]) || !clean(f[5]) || !*f[4])
  { report(tag, "t", S("bad request")) ; return ; }
  if (fd < 0 || !message_ok(fd)) { report(tag, "t", S("no message descriptor, or not a regular file open for reading")) ; return ; }
  if (!decide_local(&c, &l, f[3], f[4], f[5], timeout, DECIDE_F_SPAWN, &d)) d.why = DECIDE_T_REFUSED ;
  lookup_free(&l) ;
  if (d.why)
  {
    strerr_warnw("refused a delivery request for ", f[4], " in ", f[1], ": ", d.why) ;
    report(tag, "t", d.why, strlen(d.why)) ;
    goto end ;
  }
  /* a permanent failure (a bad mailbox path): local-deliver's code for it */
  if (d.fail) { report(tag, "100", d.fail, strlen(d.fail)) ; goto end ; }
  if (busy_count() >= MAXCHILD) { report(tag, "t", S("too many deliveries")) ; goto end ; }
  {
    /* what a worker takes in one request (local-spawn(8)) */
    size_t k = 0, nf = 0 ;
    for (; k < d.args.len ; k++) if (!d.args.s[k]) nf++ ;
    if (nf > LSPAWN_FIELDS_MAX || d.args.len > LSPAWN_REQ_MAX) { report(tag, "t", S("too many or too long delivery arguments")) ; goto end ; }
  }
  ch = worker_idle(d.uid, d.gid, d.name) ;
  if (!ch) ch = worker_start(d.uid, d.gid, d.name) ;
  if (!ch) { report(tag, "t", S("cannot start a delivery worker")) ; goto end ; }
  if (!worker_send(ch, fd, &d.args))
  {
    /* it is gone or broken: retire it, this delivery is temporary */
    worker_dismiss(ch) ;
    report(tag, "t", S("cannot reach the delivery worker")) ;
    goto end ;
  }
  ch->busy = 1 ;
  ch->uses++ ;
  ch->last.len = ch->cur.len = 0 ;
  memcpy(ch->tag, tag, strlen(tag) + 1) ;
  tain_now_g() ;
  /* tain_addsec takes an int: timeout + 5 must not wrap to a past deadline */
  tain_addsec_g(&ch->deadline, timeout > INT_MAX - 5 ? INT_MAX : (int)timeout + 5) ;
 end:
  decide_free(&d) ;
}

/* one request (lib/lspawn): its fields and its descriptor, which is closed here whatever happens */
/*
 * The scheduler reloaded (lib/lspawn.h, LSPAWN_RELOAD): deliveries are
 * decided again from the same file, the one our -C named, never from
 * anything the socket says. A file that does not load keeps the old one.
 */
static void reload (void)
{
  conf nc ;
  stralloc err = STRALLOC_ZERO ;
  if (!conf_load_default(&nc, conffile, &err)) strerr_warnw("keeping the old configuration: ", err.len ? err.s : "unable to load it") ;
  else { conf_free(&c) ; c = nc ; }
  stralloc_free(&err) ;
}

static int request (unixmessage const *m, void *unused)
{
  if (!m->nfds && m->len == sizeof(LSPAWN_RELOAD) && !memcmp(m->s, LSPAWN_RELOAD, sizeof(LSPAWN_RELOAD))) { reload() ; return 1 ; }
  char const *f[LSPAWN_REQ_FIELDS + 1] ;
  unsigned int n = m->len <= LSPAWN_REQ_MAX ? lspawn_fields(m->s, m->len, f, LSPAWN_REQ_FIELDS + 1) : 0 ;
  unsigned int i = 1 ;
  for (; i < m->nfds ; i++) fd_close(m->fds[i]) ;
  if (n != LSPAWN_REQ_FIELDS || f[n-1] + strlen(f[n-1]) + 1 != m->s + m->len || !*f[0] || strlen(f[0]) >= UINT_FMT)
    strerr_warnw("bad request") ;
  else handle(f[0], f, m->nfds ? m->fds[0] : -1) ;
  if (m->nfds) fd_close(m->fds[0]) ;
  return 1 ;
}

/* a worker's result octet: its delivery is done, reported with local-deliver's exit code; it is idle now, or retired */
static void worker_done (child *ch, unsigned int res)
{
  static char const *const codes[] = { [KETCH_RESULT_OK] = "0", [KETCH_RESULT_TEMP] = "111", [KETCH_RESULT_PERM] = "100" } ;
  if (!ch->busy || ch->killed) return ;
  if (ch->cur.len) { ch->last.len = 0 ; stralloc_catb(&ch->last, ch->cur.s, ch->cur.len) ; ch->cur.len = 0 ; }
  report(ch->tag, codes[res], ch->last.s ? ch->last.s : "", ch->last.len) ;
  ch->busy = 0 ;
  ch->tag[0] = 0 ;
  ch->last.len = 0 ;
  tain_now_g() ;
  tain_addsec_g(&ch->deadline, WORKER_IDLE) ;
  if (ch->uses >= WORKER_USES) worker_dismiss(ch) ;
}

/*
 * What a worker wrote. all: until the end or EAGAIN (it exited: the
 * last of it now); otherwise a read shorter than the buffer took all
 * there was, and the poll wakes us for what comes next.
 */
static void child_read (child *ch, int all)
{
  char buf[4096] ;
  for (;;)
  {
    ssize_t r = fd_read(ch->fd, buf, sizeof(buf)) ;
    size_t i = 0 ;
    if (r <= 0)
    {
      if (!r || (errno != EAGAIN && errno != EWOULDBLOCK)) { fd_close(ch->fd) ; ch->fd = -1 ; }
      return ;
    }
    /* keep its last line: the scheduler logs it with the delivery's result */
    for (; i < (size_t)r ; i++)
    {
      if (buf[i] == '\n') { if (ch->cur.len) { ch->last.len = 0 ; stralloc_catb(&ch->last, ch->cur.s, ch->cur.len) ; ch->cur.len = 0 ; } }
      else if ((unsigned char)buf[i] <= KETCH_RESULT_PERM) worker_done(ch, (unsigned char)buf[i]) ;
      else if (ch->cur.len < 1024) stralloc_catb(&ch->cur, buf + i, 1) ;
    }
    if (!all && (size_t)r < sizeof(buf)) return ;
  }
}

static void reap (void)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = waitpid(-1, &wstat, WNOHANG) ;
    size_t n = genalloc_len(child, &children), i = 0 ;
    if (pid <= 0) return ;
    for (; i < n ; i++)
    {
      child *ch = genalloc_s(child, &children) + i ;
      char code[INT_FMT] ;
      if (ch->pid != pid) continue ;
      if (ch->fd >= 0) { child_read(ch, 1) ; if (ch->fd >= 0) fd_close(ch->fd) ; }
      if (ch->cur.len) { ch->last.len = 0 ; stralloc_catb(&ch->last, ch->cur.s, ch->cur.len) ; }
      /* a worker that exits busy: its delivery timed out, crashed, or lost its request (its exit code); idle, it was retired */
      if (ch->busy)
      {
        if (ch->killed) report(ch->tag, "t", S("local delivery timed out")) ;
        else if (WIFSIGNALED(wstat)) report(ch->tag, "t", S("local-deliver crashed")) ;
        else
        {
          /* a 0 exit without its result (it never should): not known delivered */
          int e = WEXITSTATUS(wstat) ;
          code[int_fmt(code, e ? e : KETCH_EX_TEMP)] = 0 ;
          report(ch->tag, code, ch->last.s ? ch->last.s : "", ch->last.len) ;
        }
      }
      stralloc_free(&ch->last) ; stralloc_free(&ch->cur) ;
      *ch = genalloc_s(child, &children)[n-1] ;
      genalloc_setlen(child, &children, n - 1) ;
      break ;
    }
  }
}

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  char mainbuf[UNIXMESSAGE_BUFSIZE], auxbuf[UNIXMESSAGE_AUXBUFSIZE] ;
  unixmessage_receiver rcv ;
  int sfd, eof = 0 ;
  PROG = "local-spawn" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        default : dieusage() ;
      }
    }
  }
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  if (chdir(c.sa.s + c.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", c.sa.s + c.spool) ;
  sfd = selfpipe_init() ;
  if (sfd < 0) strerr_diefusys(KETCH_EX_TEMP, "selfpipe_init") ;
  /* SIGTERM, or a terminal's SIGINT to the process group, ends us as the end of the requests does: busy workers finish and are reported first */
  if (!selfpipe_trap(SIGCHLD) || !selfpipe_trap(SIGTERM) || !selfpipe_trap(SIGINT) || !sig_altignore(SIGPIPE) || !sig_altignore(SIGHUP) || !sig_altignore(SIGALRM)) strerr_diefusys(KETCH_EX_TEMP, "trap signals") ;
  if (ndelay_on(0) < 0) strerr_diefusys(KETCH_EX_TEMP, "set fd 0 nonblocking") ;
  if (!unixmessage_receiver_init(&rcv, 0, mainbuf, sizeof(mainbuf), auxbuf, sizeof(auxbuf))) strerr_diefusys(KETCH_EX_TEMP, "set up the request socket") ;
  tain_now_set_stopwatch_g() ;
  for (;;)
  {
    size_t n = genalloc_len(child, &children), i, nx = 2 ;
    iopause_fd x[2 + n] ;
    tain deadline = TAIN_INFINITE ;
    int r ;
    if (eof)
    {
      /* the scheduler is gone: idle workers are dismissed, busy ones finish */
      for (i = 0 ; i < n ; i++) if (!genalloc_s(child, &children)[i].busy) worker_dismiss(genalloc_s(child, &children) + i) ;
      if (!n) return 0 ;
    }
    x[0].fd = sfd ; x[0].events = IOPAUSE_READ ;
    x[1].fd = 0 ; x[1].events = eof ? 0 : IOPAUSE_READ ;
    for (i = 0 ; i < n ; i++)
    {
      child *ch = genalloc_s(child, &children) + i ;
      if (ch->fd >= 0) { x[nx].fd = ch->fd ; x[nx].events = IOPAUSE_READ ; nx++ ; }
      if (tain_less(&ch->deadline, &deadline)) deadline = ch->deadline ;
    }
    r = iopause_g(x, nx, &deadline) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    for (i = 0 ; i < n ; i++)
    {
      child *ch = genalloc_s(child, &children) + i ;
      if (ch->killed || tain_less(&STAMP, &ch->deadline)) continue ;
      if (ch->busy) { ch->killed = 1 ; kill(-ch->pid, SIGKILL) ; kill(ch->pid, SIGKILL) ; }
      else worker_dismiss(ch) ;   /* idle too long */
      tain_addsec_g(&ch->deadline, 3600) ;
    }
    if (!r) continue ;
    for (i = 2 ; i < nx ; i++)
      if (x[i].revents)
      {
        size_t k = 0 ;
        for (; k < genalloc_len(child, &children) ; k++)
          if (genalloc_s(child, &children)[k].fd == x[i].fd) { child_read(genalloc_s(child, &children) + k, 0) ; break ; }
      }
    if (x[1].revents)
    {
      int rr = unixmessage_handle(&rcv, &request, 0) ;
      if (rr < 0)
      {
        if (errno == EPIPE) eof = 1 ;
        else if (errno == EPROTO || errno == ENOBUFS || errno == EMSGSIZE) strerr_dief(KETCH_EX_BUG, "garbled request stream") ;
        else strerr_diefusys(KETCH_EX_TEMP, "read requests") ;
      }
    }
    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
      {
        if (sig == SIGCHLD) reap() ;
        else if (sig == SIGTERM || sig == SIGINT) eof = 1 ;
      }
      if (sig < 0) strerr_diefusys(KETCH_EX_TEMP, "selfpipe_read") ;
    }
  }
}
