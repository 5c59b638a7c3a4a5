/* ISC license: see LICENSE. */

/*
 * enqueue-listen: enqueue as a server, on the Unix socket named by
 * "enqueue-socket", for the programs that queue one message at a time
 * (smtp-session, sendmail). The protocol is in lib/enqclient.h.
 *
 * Connections are served by a pool of worker processes running as the
 * queue owner, each taking one connection at a time and, through
 * lib/submit, making exactly the commit enqueue makes (spool-layout/SPOOL,
 * "commit"). A message then costs no process at all: no exec, and no fork
 * either once the pool is warm. The listener accepts, hands the
 * connection to an idle worker over the worker's control socket
 * (SCM_RIGHTS), and forks a new worker when none is idle, up to
 * WORKERS_MAX; a connection beyond that is closed unanswered and its
 * client runs enqueue itself. A worker says it is idle again by writing
 * one octet; it retires after WORKER_USES messages, and the idle workers
 * beyond IDLE_MAX are told to go (end of file on their control socket).
 *
 * A connection carries message after message (lib/enqclient.h): after a
 * success with nothing unread behind it, the worker waits for the next
 * request on the same connection, so that a session's second message
 * costs no connect, no accept, no hand-over and no wake-up of the
 * listener. The connection ends at its client's end of file, after
 * KEPT_IDLE (-k) seconds without a request, at WORKER_USES, or when the
 * worker is told to go; the worker is busy, for the listener's counts,
 * while it lasts. Nothing of one message is left for the next: the
 * submission and the request are reset, the peer's uid is asked again
 * for what only some may say, and the connection is kept only when the
 * worker read exactly the message, up to its final dot, and answered 0.
 *
 * A worker that dies mid-message leaves its client without an exit code:
 * the client answers 451 (lib/enqclient), and its tmp/ file, whose lock
 * died with it, is removed by the scheduler's recovery.
 */

#ifdef __linux__
/* prctl(PR_SET_NAME): a worker shows as enqueue in ps and /proc/PID/comm; close_range(2) */
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
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <skalibs/gccattributes.h>
#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/posixplz.h>
#include <skalibs/ancil.h>
#include <skalibs/tai.h>
#include <skalibs/posixplz.h>

#include "exitcodes.h"
#include "conf.h"
#include "netstr.h"
#include "submit.h"
#include "enqclient.h"
#include "stats.h"

#define USAGE "enqueue-listen [ -C conf ] [ -d notif-fd ] [ -g grace-seconds ] [ -k kept-idle-seconds ] [ -t deadline-seconds ] [ -u per-uid ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define BACKLOG 1024
#define WORKERS_MAX 256    /* workers at once, so connections served at once */
#define IDLE_MAX 16        /* idle workers kept */
#define WORKER_USES 1000   /* messages a worker takes before it retires */
#define REQUEST_TIMEOUT 10 /* seconds a client has to send its envelope */
#define DRAIN_TIMEOUT 10   /* seconds of silence after which an answered client is left */
#define DEADLINE 3600      /* -t: seconds a message may take in all, from its request to its answer, drain included */
#define KEPT_IDLE 120      /* -k: seconds a kept connection may wait for its next request */
#define PER_UID 128        /* -u: connections served at once for one uid: half of WORKERS_MAX, at least (per_uid_for) */

typedef struct worker_s worker ;
struct worker_s
{
  pid_t pid ;
  int ctl ;    /* our end of its control socket; -1 once told to go */
  int busy ;
  uid_t uid ;  /* its client's, while busy */
} ;

static conf cf ;
static char const *conffile = 0 ;
static genalloc workers = GENALLOC_ZERO ;  /* worker */
static int lfd = -1 ;
static stats_rec *stats = 0 ;   /* SPOOL/stats/enqueue (lib/stats), or 0: not counted */
static unsigned int deadline_secs = DEADLINE, per_uid = PER_UID, kept_idle = KEPT_IDLE ;
static int per_uid_given = 0 ;   /* -u: else per_uid follows the configuration (per_uid_for) */

/* ---- the worker ---- */

/*
 * One read that waits at most idle seconds for octets to come, and never
 * past the connection's deadline: a client dripping one octet just
 * before each idle limit still ends at the deadline. -1 ETIMEDOUT then.
 */
static ssize_t read_within (int fd, char *buf, size_t n, unsigned int idle, tain const *deadline)
{
  iopause_fd x = { .fd = fd, .events = IOPAUSE_READ, .revents = 0 } ;
  tain d ;
  int r ;
  tain_now_g() ;
  tain_addsec_g(&d, idle) ;
  if (tain_less(deadline, &d)) d = *deadline ;
  r = iopause_g(&x, 1, &d) ;
  if (r < 0) return -1 ;
  if (!r) return (errno = ETIMEDOUT, -1) ;
  return fd_read(fd, buf, n) ;
}

/*
 * The envelope of lib/enqclient.h, read within REQUEST_TIMEOUT and the
 * deadline (ready: the first read does not wait, a kept connection was
 * seen readable); 1, or 0 with code and err, or -1 when the client
 * closed before any octet of it: nothing asked, nothing to answer.
 */
static int read_request (int fd, stralloc *req, submit *s, int *code, stralloc *err, tain const *conndl, int ready)
{
  size_t start, len, used ;
  char const *p ;
  enqclient_req rq ;
  uid_t uid = 0 ;
  gid_t gid ;
  tain deadline ;
  req->len = 0 ;
  tain_now_g() ;
  tain_addsec_g(&deadline, REQUEST_TIMEOUT) ;
  if (tain_less(conndl, &deadline)) deadline = *conndl ;
  for (;;)
  {
    iopause_fd x = { .fd = fd, .events = IOPAUSE_READ, .revents = 0 } ;
    ssize_t r ;
    int k = netstr_next(req->s, req->len, ENQCLIENT_REQUEST_MAX, &start, &len, &used) ;
    if (k < 0) goto malformed ;
    if (k) break ;
    if (!ready)
    {
      r = iopause_g(&x, 1, &deadline) ;
      if (r <= 0) { *code = KETCH_EX_TEMP ; err->len = 0 ; return 0 ; }
    }
    ready = 0 ;
    if (!stralloc_readyplus(req, 4096)) goto nomem ;
    r = fd_read(fd, req->s + req->len, 4096) ;
    if (!r && !req->len) return -1 ;
    if (r <= 0) { *code = KETCH_EX_TEMP ; err->len = 0 ; return 0 ; }
    req->len += r ;
  }
  /* a client waits for the id before it sends the message */
  if (used != req->len || !enqclient_request_parse(&rq, req->s + start, len)) goto malformed ;
  *code = submit_sender(s, rq.sender, strlen(rq.sender), err) ;
  if (*code) return 0 ;
  /* the peer's uid (SO_PEERCRED), for what only some may say: the socket is open to every local user */
  if ((rq.auth || rq.flags || genalloc_len(conf_dkim, &cf.dkim)) && getpeereid(fd, &uid, &gid) < 0) { *code = KETCH_EX_TEMP ; err->len = 0 ; return 0 ; }
  if (rq.auth)
  {
    *code = submit_auth_from(s, rq.auth, &cf, uid, err) ;
    if (*code) return 0 ;
  }
  for (p = rq.rcpts ; p < rq.rcpts + rq.rlen ; p += strlen(p) + 1)
  {
    *code = submit_rcpt(s, p, strlen(p), err) ;
    if (*code) return 0 ;
  }
  if (rq.flags)
  {
    *code = submit_flags(s, rq.flags, rq.reason, &cf, uid, err) ;
    if (*code) return 0 ;
  }
  /* DKIM: a local user's mail is signed, the smtp-user's only when it says so */
  *code = submit_dkim(s, &cf, uid, err) ;
  if (*code) return 0 ;
  return 1 ;
 malformed:
  *code = KETCH_EX_PERM ;
  if (!stralloc_copys(err, "malformed request") || !stralloc_0(err)) err->len = 0 ;
  return 0 ;
 nomem:
  *code = KETCH_EX_TEMP ;
  if (!stralloc_copys(err, "unable to allocate") || !stralloc_0(err)) err->len = 0 ;
  return 0 ;
}

/* what becomes of a connection after a message */
enum conn_next_e
{
  CONN_KEEP,   /* answered 0, nothing unread: it may carry the next message */
  CONN_CLOSE,  /* answered: a refusal's words end at our close */
  CONN_DRAIN,  /* answered with input unread: drained first (drain) */
  CONN_NONE    /* the client closed without a request: nothing asked, no message */
} ;

/*
 * The outcome: code, LF, the diagnostic (also to the log). CONN_DRAIN
 * when the client's input still holds unread octets (a message refused
 * for its size while the client is still sending): closing then would
 * reset the connection and destroy the answer in flight, so the caller
 * drains first. A success is kept only when the client sent nothing
 * beyond its final dot (left: octets of ours after it): the next
 * request then starts on an empty stream.
 */
static enum conn_next_e answer (int fd, int code, stralloc const *err, size_t left)
{
  char fmt[UINT_FMT + 1] ;
  size_t n = uint_fmt(fmt, code) ;
  int pending = 0, sent ;
  fmt[n++] = '\n' ;
  sent = allwrite(fd, fmt, n) == n ;
  if (sent && code && err->len)
  {
    if (allwrite(fd, "enqueue: fatal: ", 16) == 16 && allwrite(fd, err->s, err->len - 1) == err->len - 1) allwrite(fd, "\n", 1) ;
  }
  if (code && err->len) { fmt[n - 1] = 0 ; strerr_warnw("refused (", fmt, "): ", err->s) ; }
  if (ioctl(fd, FIONREAD, &pending) == 0 && pending) return CONN_DRAIN ;
  return !code && sent && !left ? CONN_KEEP : CONN_CLOSE ;
}

/* our writing side ends; the rest is read and dropped until the client closes, stays silent DRAIN_TIMEOUT, or the deadline comes */
static void drain (int fd, tain const *deadline)
{
  char buf[4096] ;
  shutdown(fd, SHUT_WR) ;
  while (read_within(fd, buf, sizeof(buf), DRAIN_TIMEOUT, deadline) > 0) ;
}

/* one message on a connection, answered (ready: as for read_request) */
static enum conn_next_e serve (int fd, submit *s, stralloc *req, stralloc *err, tain const *deadline, int ready)
{
  int code ;
  size_t left = 0 ;
  char buf[65536] ;
  int asked = read_request(fd, req, s, &code, err, deadline, ready) ;
  if (asked < 0) { submit_free(s) ; return CONN_NONE ; }
  if (!asked) goto end ;
  code = submit_open(s, cf.message_size, MESSAGE_DOTS, err) ;
  if (code) goto end ;
  s->m.maxhops = cf.max_hops ;
  {
    char line[QUEUE_ID_LEN + 1] ;
    memcpy(line, s->id, QUEUE_ID_LEN) ; line[QUEUE_ID_LEN] = '\n' ;
    if (allwrite(fd, line, sizeof(line)) < sizeof(line)) { code = KETCH_EX_TEMP ; err->len = 0 ; goto end ; }
  }
  while (!s->m.done)
  {
    /* a client silent for the DATA timeout, or slower in all than the deadline, costs a worker no longer */
    ssize_t r = read_within(fd, buf, sizeof(buf), cf.timeout_data, deadline) ;
    if (r < 0)
    {
      code = KETCH_EX_TEMP ;
      err->len = 0 ;
      if (errno == ETIMEDOUT && (!stralloc_copys(err, "connection timed out") || !stralloc_0(err))) err->len = 0 ;
      goto end ;
    }
    if (!r) break ;
    code = submit_feed(s, buf, r, err) ;
    if (code) goto end ;
  }
  left = s->left ;
  code = submit_commit(s, err) ;
  if (!code && (s->flags & SUBMIT_F_LOCAL)) stats_add(stats, STATS_RECEIVED_LOCAL, 1) ;
 end:
  submit_free(s) ;
  return answer(fd, code, err, left) ;
}

/*
 * A kept connection: 1 when it is readable (the next request, or its
 * end of file); 0 after kept_idle seconds, or when the control socket
 * is (the listener writes to a busy worker's only by closing it: told
 * to go).
 */
static int next_request (int fd)
{
  iopause_fd x[2] = { { .fd = fd, .events = IOPAUSE_READ, .revents = 0 }, { .fd = 3, .events = IOPAUSE_READ, .revents = 0 } } ;
  tain d ;
  int r ;
  tain_now_g() ;
  tain_addsec_g(&d, kept_idle) ;
  do r = iopause_g(x, 2, &d) ;
  while (r < 0 && errno == EINTR) ;
  return r > 0 && !x[1].revents && x[0].revents ;
}

/* a worker: connections from its control socket (fd 3) until told to go or used up */
static void worker_main (void) gccattr_noreturn ;
static void worker_main (void)
{
  submit s = SUBMIT_ZERO ;
  stralloc req = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  unsigned int uses = 0 ;
#ifdef __linux__
  prctl(PR_SET_NAME, "enqueue", 0, 0, 0) ;
#endif
  PROG = "enqueue-listen" ;
  for (;;)
  {
    enum conn_next_e next ;
    int fd, last, ready = 0 ;
    tain deadline ;
    /* ancil_recv_fd does not wait (MSG_DONTWAIT) */
    for (;;)
    {
      iopause_fd x = { .fd = 3, .events = IOPAUSE_READ, .revents = 0 } ;
      if (iopause_g(&x, 1, 0) < 0 && errno != EINTR) _exit(KETCH_EX_TEMP) ;
      fd = ancil_recv_fd(3, 'c') ;
      if (fd >= 0 || !error_isagain(errno)) break ;
    }
    if (fd < 0) _exit(0) ;
    /* the deadline is each message's: the first from the hand-over, the next ones from their first octet */
    do
    {
      tain_now_g() ;
      tain_addsec_g(&deadline, deadline_secs) ;
      next = serve(fd, &s, &req, &err, &deadline, ready) ;
      if (next != CONN_NONE) uses++ ;
      last = uses >= WORKER_USES ;
      /* lean again between messages: a large message's buffers are not kept */
      if (req.a > 65536) stralloc_free(&req) ;
      ready = 1 ;
    }
    while (next == CONN_KEEP && !last && next_request(fd)) ;
    /* idle again before the close, unless a drain is due: the listener
       can hand over the next client while this one reads its answer */
    if (next != CONN_DRAIN && !last && fd_write(3, "i", 1) != 1) last = 1 ;
    if (next == CONN_DRAIN) drain(fd, &deadline) ;
    fd_close(fd) ;
    if (last) _exit(0) ;
    if (next == CONN_DRAIN && fd_write(3, "i", 1) != 1) _exit(0) ;
  }
}

/* ---- the listener ---- */

/*
 * Run by root: the socket's directory, when missing (/run is emptied at
 * boot), is made for the spool's owner, mode 0755; then we become that
 * owner (lib/queue.c), as enqueue does, before the socket is bound.
 */
static void become_owner (char const *path)
{
  struct stat st ;
  if (geteuid()) return ;
  if (stat(".", &st) < 0) strerr_diefusys(KETCH_EX_TEMP, "stat the spool") ;
  {
    size_t n = strlen(path) ;
    char dir[n + 1] ;
    while (n && path[n-1] != '/') n-- ;
    while (n > 1 && path[n-1] == '/') n-- ;
    memcpy(dir, path, n) ; dir[n] = 0 ;
    if (n && mkdir(dir, 0755) == 0)
    {
      /*
       * The directory we just made, and not whatever a writer of its
       * parent has put at its name since (a symlink to a file of
       * root's): opened without following, checked to be ours, then
       * changed through the descriptor.
       */
      struct stat d ;
      int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) ;
      if (fd < 0) strerr_diefusys(KETCH_EX_TEMP, "open the directory just made ", dir) ;
      if (fstat(fd, &d) < 0) strerr_diefusys(KETCH_EX_TEMP, "stat ", dir) ;
      if (d.st_uid != geteuid()) strerr_dief(KETCH_EX_TEMP, dir, " was replaced after it was made") ;
      if (fchown(fd, st.st_uid, st.st_gid) < 0) strerr_diefusys(KETCH_EX_TEMP, "chown ", dir) ;
      fd_close(fd) ;
    }
  }
  if (!queue_become_owner()) strerr_diefusys(KETCH_EX_TEMP, "become the spool owner") ;
}

static void bind_socket (char const *path)
{
  struct stat st ;
  /* a socket left by a previous run is replaced; anything else is an error */
  if (lstat(path, &st) == 0)
  {
    if (!S_ISSOCK(st.st_mode)) strerr_dief(KETCH_EX_PERM, path, " exists and is not a socket") ;
    if (unlink(path) < 0) strerr_diefusys(KETCH_EX_TEMP, "remove the old socket ", path) ;
  }
  lfd = ipc_stream_nbcoe() ;
  if (lfd < 0) strerr_diefusys(KETCH_EX_TEMP, "create a socket") ;
  /* anyone who can reach the directory may enqueue, as anyone may run a
     set-uid enqueue: the directory's mode is the access control. The
     mode comes from the umask at bind, with no chmod by name after it. */
  umask(0111) ;
  if (ipc_bind(lfd, path) < 0) strerr_diefusys(KETCH_EX_TEMP, "bind to ", path) ;
  umask(077) ;
  if (ipc_listen(lfd, BACKLOG) < 0) strerr_diefusys(KETCH_EX_TEMP, "listen on ", path) ;
  {
    char fmt[UINT_FMT], max[UINT_FMT] ;
    fmt[uint_fmt(fmt, per_uid)] = 0 ;
    max[uint_fmt(max, WORKERS_MAX)] = 0 ;
    strerr_warni("listening on ", path, ", at most ", max, " workers, ", fmt, " for one uid") ;
  }
}

/* a new worker; its index, or -1 */
static int spawn_worker (void)
{
  worker w = { .pid = 0, .ctl = -1, .busy = 0, .uid = 0 } ;
  int p[2] ;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) { strerr_warnwusys("create a socket pair") ; return -1 ; }
  w.pid = fork() ;
  if (w.pid < 0)
  {
    strerr_warnwusys("fork") ;
    fd_close(p[0]) ; fd_close(p[1]) ;
    return -1 ;
  }
  if (!w.pid)
  {
    selfpipe_finish() ;
    if (fd_move(3, p[1]) < 0) _exit(KETCH_EX_TEMP) ;
    /* everything else is the listener's: the socket, the other workers' control ends, the selfpipe */
#ifdef __linux__
    if (close_range(4, ~0U, 0) < 0)
#endif
    {
      int i = 4 ;
      for (; i < 1024 ; i++) close(i) ;
    }
    worker_main() ;
  }
  fd_close(p[1]) ;
  w.ctl = p[0] ;
  if (!genalloc_append(worker, &workers, &w)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  return genalloc_len(worker, &workers) - 1 ;
}

/*
 * Each uid gets at most per_uid workers at once, so that one local user
 * cannot hold the whole pool; root and the spool's owner are not
 * counted. The smtp-user is (its name would need NSS, which this static
 * program does not load): its sessions are fewer than the default cap.
 */
/*
 * Without -u, the cap is PER_UID or, when more, every session the
 * listeners may run at once (limit connections for each listen line)
 * and IDLE_MAX more, up to the pool: each session process keeps one
 * connection (lib/enqclient), and the smtp-user's sessions must never
 * meet the cap meant for one local user (they would answer 451).
 * Beyond the pool, a client runs enqueue itself, as when it is full.
 */
static unsigned int per_uid_for (conf const *c)
{
  uint64_t n = (uint64_t)genalloc_len(conf_listen, &c->listen) * c->max_connections + IDLE_MAX ;
  if (n < PER_UID) n = PER_UID ;
  return n > WORKERS_MAX ? WORKERS_MAX : (unsigned int)n ;
}

static int uid_over (uid_t uid)
{
  size_t n = genalloc_len(worker, &workers), i = 0 ;
  worker const *w = genalloc_s(worker, &workers) ;
  unsigned int k = 0 ;
  if (!uid || uid == geteuid()) return 0 ;
  for (; i < n ; i++) if (w[i].busy && w[i].uid == uid) k++ ;
  return k >= per_uid ;
}

/* told so (111) and closed; never given to a worker */
static void refuse_uid (int fd, uid_t uid)
{
  char fmt[UINT_FMT], cap[UINT_FMT] ;
  char buf[4096] ;
  unsigned int k = 0 ;
  fmt[uint_fmt(fmt, uid)] = 0 ;
  cap[uint_fmt(cap, per_uid)] = 0 ;
  strerr_warnw("refused uid=", fmt, ": over its ", cap, " connections at once") ;
  if (ndelay_on(fd) < 0) return ;
  {
    static char const head[] = "111\nenqueue: fatal: too many connections at once from uid " ;
    size_t n = uint_fmt(fmt, uid) ;
    char line[sizeof(head) + UINT_FMT] ;
    memcpy(line, head, sizeof(head) - 1) ;
    memcpy(line + sizeof(head) - 1, fmt, n) ;
    line[sizeof(head) - 1 + n] = '\n' ;
    fd_write(fd, line, sizeof(head) + n) ;
  }
  shutdown(fd, SHUT_WR) ;
  /* the envelope already sent is read away (no waiting): a close with unread input would reset the answer */
  while (k++ < 256 && fd_read(fd, buf, sizeof(buf)) > 0) ;
}

static void dismiss (worker *w)
{
  if (w->ctl >= 0) { fd_close(w->ctl) ; w->ctl = -1 ; }
}

static void accept_all (void)
{
  unsigned int k = 0 ;
  for (; k < 64 ; k++)
  {
    size_t n = genalloc_len(worker, &workers), i = 0 ;
    worker *w = genalloc_s(worker, &workers) ;
    int j = -1 ;
    uid_t uid ;
    gid_t gid ;
    int fd = ipc_accept(lfd, 0, 0, 0) ;
    if (fd < 0)
    {
      if (!error_isagain(errno) && errno != ECONNABORTED && errno != EINTR) strerr_warnwusys("accept") ;
      return ;
    }
    /* the kernel's word for who connected (SO_PEERCRED on Linux) */
    if (getpeereid(fd, &uid, &gid) < 0) { strerr_warnwusys("get the credentials of a client") ; fd_close(fd) ; continue ; }
    if (uid_over(uid)) { refuse_uid(fd, uid) ; fd_close(fd) ; continue ; }
    for (; i < n ; i++) if (!w[i].busy && w[i].ctl >= 0) { j = i ; break ; }
    if (j < 0 && n < WORKERS_MAX) j = spawn_worker() ;
    /* none to serve it: closed unanswered, its client runs enqueue */
    if (j < 0) { fd_close(fd) ; continue ; }
    w = genalloc_s(worker, &workers) + j ;
    if (!ancil_send_fd(w->ctl, fd, 'c'))
    {
      strerr_warnwusys("pass a connection to worker") ;
      dismiss(w) ;
    }
    else { w->busy = 1 ; w->uid = uid ; }
    fd_close(fd) ;
  }
}

/* a worker's octet: idle again; end of file: it retired or died (reaped on SIGCHLD) */
static void from_worker (worker *w)
{
  char c ;
  ssize_t r = fd_read(w->ctl, &c, 1) ;
  if (r == 1) w->busy = 0 ;
  else if (r == 0 || !error_isagain(errno)) dismiss(w) ;
}

static void trim_idle (void)
{
  size_t n = genalloc_len(worker, &workers), i = 0, idle = 0 ;
  worker *w = genalloc_s(worker, &workers) ;
  for (; i < n ; i++) if (!w[i].busy && w[i].ctl >= 0 && ++idle > IDLE_MAX) dismiss(w + i) ;
}

static void reap (void)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = wait_nohang(&wstat) ;
    size_t n = genalloc_len(worker, &workers), i = 0 ;
    worker *w = genalloc_s(worker, &workers) ;
    if (pid <= 0) break ;
    for (; i < n ; i++)
      if (w[i].pid == pid)
      {
        if (!WIFEXITED(wstat) || WEXITSTATUS(wstat))
        {
          char fmt[UINT_FMT] ;
          fmt[uint_fmt(fmt, WIFEXITED(wstat) ? WEXITSTATUS(wstat) : WTERMSIG(wstat))] = 0 ;
          strerr_warnw("worker ", WIFEXITED(wstat) ? "exited " : "killed by signal ", fmt, w[i].busy ? " while serving a client" : "") ;
        }
        dismiss(w + i) ;
        w[i] = w[n-1] ;
        genalloc_setlen(worker, &workers, n - 1) ;
        break ;
      }
  }
}

/* SIGHUP: new workers use the new configuration; the running ones go once idle */
static void reload (void)
{
  conf nc ;
  stralloc e = STRALLOC_ZERO ;
  size_t n = genalloc_len(worker, &workers), i = 0 ;
  worker *w = genalloc_s(worker, &workers) ;
  if (!conf_load(&nc, conffile, &e))
  {
    if (errno == EINVAL) strerr_warnw("SIGHUP: keeping the old configuration: ", e.s) ;
    else strerr_warnwu("load ", conffile, " on SIGHUP: keeping the old configuration") ;
    stralloc_free(&e) ;
    return ;
  }
  stralloc_free(&e) ;
  conf_free(&cf) ;
  cf = nc ;
  if (!per_uid_given) per_uid = per_uid_for(&cf) ;
  for (; i < n ; i++) dismiss(w + i) ;
  strerr_warni("SIGHUP: configuration reloaded") ;
}

int main (int argc, char const *const *argv)
{
  stralloc sa = STRALLOC_ZERO ;
  unsigned int notif = 0, grace = 30 ;
  int hasnotif = 0, stopping = 0 ;
  char const *path ;
  tain stopdeadline ;
  iopause_fd x[2 + WORKERS_MAX] ;
  PROG = "enqueue-listen" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:d:g:k:t:u:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'd' : if (!uint0_scan(l.arg, &notif) || notif < 3) dieusage() ; hasnotif = 1 ; break ;
        case 'g' : if (!uint0_scan(l.arg, &grace) || grace > INT_MAX) dieusage() ; break ;
        case 'k' : if (!uint0_scan(l.arg, &kept_idle) || !kept_idle || kept_idle > 86400) dieusage() ; break ;
        case 't' : if (!uint0_scan(l.arg, &deadline_secs) || !deadline_secs) dieusage() ; break ;
        case 'u' : if (!uint0_scan(l.arg, &per_uid) || !per_uid) dieusage() ; per_uid_given = 1 ; break ;
        default : dieusage() ;
      }
    }
  }
  if (!fd_sanitize()) strerr_diefusys(KETCH_EX_TEMP, "sanitize standard descriptors") ;
  conffile = conf_path(conffile) ;
  /* we chdir to the spool: a reload needs the file's absolute path */
  if (conffile[0] != '/')
  {
    char *abs = realpath(conffile, 0) ;
    if (!abs) strerr_diefusys(KETCH_EX_TEMP, "find the absolute path of ", conffile) ;
    conffile = abs ;
  }
  if (!conf_load(&cf, conffile, &sa))
  {
    if (errno == EINVAL) strerr_dief(KETCH_EX_PERM, sa.s) ;
    strerr_diefusys(KETCH_EX_TEMP, "load the configuration ", conffile) ;
  }
  stralloc_free(&sa) ;
  if (!per_uid_given) per_uid = per_uid_for(&cf) ;
  if (!cf.enqueue_socket) strerr_dief(KETCH_EX_PERM, "no enqueue-socket line in ", conffile) ;
  /* copied: a reload frees the old configuration, and the socket stays where it was bound */
  path = strdup(cf.sa.s + cf.enqueue_socket) ;
  if (!path) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  if (chdir(cf.sa.s + cf.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", cf.sa.s + cf.spool) ;
  become_owner(path) ;
  umask(077) ;
  /* mapped before the workers are forked: they inherit it, no system call per message (lib/stats) */
  stats = stats_open(STATS_DIR "/" STATS_FILE_ENQUEUE) ;
  if (!stats) strerr_warnwu("map ", cf.sa.s + cf.spool, "/" STATS_DIR "/" STATS_FILE_ENQUEUE, ": no statistics") ;
  bind_socket(path) ;

  x[0].fd = selfpipe_init() ;
  if (x[0].fd < 0) strerr_diefusys(KETCH_EX_TEMP, "init the selfpipe") ;
  x[0].events = IOPAUSE_READ ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  /* an inherited SIG_IGN would make the workers auto-reaped, and their deaths unseen */
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
    size_t nw = genalloc_len(worker, &workers), i ;
    size_t idx[WORKERS_MAX] ;   /* the worker of each x[] entry after the first two */
    unsigned int n = 2, nx = 0 ;
    int r ;
    x[1].fd = lfd ;
    x[1].events = stopping ? 0 : IOPAUSE_READ ;
    x[1].revents = 0 ;
    if (stopping) x[1].fd = -1 ;
    for (i = 0 ; i < nw ; i++)
    {
      worker const *w = genalloc_s(worker, &workers) + i ;
      if (w->ctl < 0) continue ;
      idx[nx++] = i ;
      x[n].fd = w->ctl ;
      x[n].events = IOPAUSE_READ ;
      x[n++].revents = 0 ;
    }
    r = iopause_g(x, n, stopping ? &stopdeadline : 0) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    if (stopping && !tain_less(&STAMP, &stopdeadline))
    {
      /* the shutdown bound is over: a worker still serving is ended, its client sees 111 */
      strerr_warni("shutdown: ending the remaining workers") ;
      for (i = 0 ; i < genalloc_len(worker, &workers) ; i++) kill(genalloc_s(worker, &workers)[i].pid, SIGKILL) ;
      strerr_warni("stopped") ;
      return 0 ;
    }
    for (i = 0 ; i < nx ; i++)
      if (x[2 + i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT)) from_worker(genalloc_s(worker, &workers) + idx[i]) ;
    if (x[0].revents & IOPAUSE_READ)
      for (;;)
      {
        int sig = selfpipe_read() ;
        if (sig < 0) strerr_diefusys(KETCH_EX_TEMP, "read the selfpipe") ;
        if (!sig) break ;
        if (sig == SIGCHLD) reap() ;
        else if (sig == SIGHUP) reload() ;
        else if (!stopping)
        {
          /* new clients find no socket and run enqueue; idle workers go, busy ones finish */
          stopping = 1 ;
          unlink(path) ;
          fd_close(lfd) ;
          tain_now_g() ;
          tain_addsec_g(&stopdeadline, grace) ;
          strerr_warni("shutdown: no longer accepting") ;
        }
      }
    if (stopping)
    {
      size_t k = genalloc_len(worker, &workers) ;
      worker *w = genalloc_s(worker, &workers) ;
      /* a busy worker told to go finishes its message, then ends its connection (next_request) */
      for (i = 0 ; i < k ; i++) dismiss(w + i) ;
      if (!k) { strerr_warni("stopped") ; return 0 ; }
      continue ;
    }
    if (x[1].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT)) accept_all() ;
    trim_idle() ;
  }
}
