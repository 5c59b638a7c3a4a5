/* ISC license: see LICENSE. */

/*
 * enqueue-listen: enqueue as a server, on the Unix socket named by
 * "enqueue-socket", for the programs that queue one message at a time
 * (smtp-session, sendmail). Each connection is served by a forked child
 * running enqueue's own code (bin/enqueue.c, linked in with its main
 * renamed) as the queue owner: a message costs a fork instead of a fork
 * and an exec, and the commit is the same one, byte for byte
 * (spool-layout/SPOOL, "commit"). The protocol is in lib/enqclient.h.
 *
 * The parent keeps each connection open until its child has exited, then
 * writes the child's exit code and what it wrote on stderr (also copied
 * to our stderr, the log), and closes: the client learns the outcome
 * exactly as from wait(2) on an enqueue it had spawned.
 */

#ifdef __linux__
/* prctl(PR_SET_NAME): a child shows as enqueue in ps and /proc/PID/comm;
   close_range(2) */
#define _GNU_SOURCE
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

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
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "conf.h"
#include "netstr.h"
#include "enqclient.h"

#define USAGE "enqueue-listen [ -C conf ] [ -d notif-fd ] [ -g grace-seconds ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define BACKLOG 1024
/* children at once; a connection beyond is closed at once, and its
   client spawns enqueue itself (lib/enqclient.h) */
#define CHILD_MAX 256
/* seconds a client has to send its envelope */
#define REQUEST_TIMEOUT 10

int enqueue_main (int, char const *const *) ;
extern conf const *enqueue_conf ;

typedef struct child_s child ;
struct child_s
{
  pid_t pid ;
  int fd ;     /* the connection, answered once the child has exited */
  int efd ;    /* the reading end of the child's stderr; -1 once answered */
  tain drain ; /* answered (pid 0): until then, what the client still sends is read and dropped */
} ;

static conf cf ;
static char const *conffile = 0 ;
static genalloc children = GENALLOC_ZERO ;  /* child */
static int lfd = -1 ;

/*
 * The queue has one owner: run by root, serve as the spool's owner, as
 * enqueue does. The socket's directory, when missing (/run is emptied at
 * boot), is made first, for that owner, mode 0755.
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
    if (n && mkdir(dir, 0755) == 0 && chown(dir, st.st_uid, st.st_gid) < 0) strerr_diefusys(KETCH_EX_TEMP, "chown ", dir) ;
  }
  if (!st.st_uid) return ;
  if (setgroups(0, 0) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "become the spool owner") ;
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
  if (ipc_bind(lfd, path) < 0) strerr_diefusys(KETCH_EX_TEMP, "bind to ", path) ;
  /* anyone who can reach the directory may enqueue, as anyone may run a
     set-uid enqueue: the directory's mode is the access control */
  if (chmod(path, 0666) < 0) strerr_diefusys(KETCH_EX_TEMP, "chmod ", path) ;
  if (ipc_listen(lfd, BACKLOG) < 0) strerr_diefusys(KETCH_EX_TEMP, "listen on ", path) ;
  strerr_warni("listening on ", path) ;
}

/* the envelope of lib/enqclient.h, read within REQUEST_TIMEOUT, into enqueue's argv */
static char const **read_request (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char const **argv ;
  size_t start, len, used, i, n = 0, nitems = 0 ;
  alarm(REQUEST_TIMEOUT) ;
  for (;;)
  {
    ssize_t r ;
    int k = netstr_next(sa.s, sa.len, ENQCLIENT_REQUEST_MAX, &start, &len, &used) ;
    if (k < 0) strerr_dief(KETCH_EX_PERM, "malformed request") ;
    if (k) break ;
    if (!stralloc_readyplus(&sa, 4096)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
    r = fd_read(0, sa.s + sa.len, 4096) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "read the request") ;
    if (!r) _exit(KETCH_EX_TEMP) ;
    sa.len += r ;
  }
  alarm(0) ;
  /* the message follows at once: a request is never followed by more bytes before the id */
  if (used != sa.len) strerr_dief(KETCH_EX_PERM, "malformed request: data before the id") ;
  for (i = 0 ; i < len ; i++) if (!sa.s[start + i]) nitems++ ;
  if (nitems < 3 || sa.s[start + len - 1]) strerr_dief(KETCH_EX_PERM, "malformed request") ;
  argv = malloc((nitems + 6) * sizeof(char const *)) ;
  if (!argv) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  argv[n++] = "enqueue" ;
  argv[n++] = "-S" ;
  {
    char const *s = sa.s + start ;
    char const *sender = s ;
    char const *auth = s + strlen(s) + 1 ;
    s = auth + strlen(auth) + 1 ;
    if (*auth) { argv[n++] = "-a" ; argv[n++] = auth ; }
    argv[n++] = "-f" ; argv[n++] = sender ;
    /* "--": a recipient may start with '-' and must stay data */
    argv[n++] = "--" ;
    for (i = 2 ; i < nitems ; i++) { argv[n++] = s ; s += strlen(s) + 1 ; }
  }
  argv[n] = 0 ;
  return argv ;
}

static void serve (int fd, int efd)
{
  char const **argv ;
  selfpipe_finish() ;
  if (fd_move(0, fd) < 0 || fd_copy(1, 0) < 0 || fd_move(2, efd) < 0) _exit(KETCH_EX_TEMP) ;
  /* everything else is the listener's: other connections, the selfpipe */
#ifdef __linux__
  if (close_range(3, ~0U, 0) < 0)
#endif
  {
    int i = 3 ;
    for (; i < 1024 ; i++) close(i) ;
  }
#ifdef __linux__
  prctl(PR_SET_NAME, "enqueue", 0, 0, 0) ;
#endif
  PROG = "enqueue" ;
  argv = read_request() ;
  enqueue_conf = &cf ;
  {
    unsigned int argc = 0 ;
    while (argv[argc]) argc++ ;
    exit(enqueue_main(argc, argv)) ;
  }
}

/* a connection the listener cannot serve: closed unanswered, its client spawns enqueue */
static void accept_all (void)
{
  unsigned int k = 0 ;
  for (; k < 64 ; k++)
  {
    child c ;
    int p[2] ;
    int fd = ipc_accept(lfd, 0, 0, 0) ;
    if (fd < 0)
    {
      if (!error_isagain(errno) && errno != ECONNABORTED && errno != EINTR) strerr_warnwusys("accept") ;
      return ;
    }
    if (genalloc_len(child, &children) >= CHILD_MAX) { fd_close(fd) ; continue ; }
    if (pipe(p) < 0) { strerr_warnwusys("create a pipe") ; fd_close(fd) ; continue ; }
    c.pid = fork() ;
    if (c.pid < 0)
    {
      strerr_warnwusys("fork") ;
      fd_close(fd) ; fd_close(p[0]) ; fd_close(p[1]) ;
      continue ;
    }
    if (!c.pid) { fd_close(p[0]) ; serve(fd, p[1]) ; }
    fd_close(p[1]) ;
    c.fd = fd ;
    c.efd = p[0] ;
    if (!genalloc_append(child, &children, &c)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  }
}

/* seconds an answered client has to stop sending (a child that refused a message early) */
#define DRAIN_TIMEOUT 10

/*
 * The child's outcome to its client: code, LF, its stderr (to the log as
 * well). Closing a socket whose input holds unread octets would reset the
 * connection and destroy the answer in flight (a child that refused an
 * oversized message exits while its client is still sending): then only
 * our writing side ends, and the rest is read and dropped until the client
 * closes. 1: done, closed; 0: draining.
 */
static int answer (child *c, int wstat)
{
  char buf[UINT_FMT + 1 + 1024] ;
  unsigned int code = WIFEXITED(wstat) ? WEXITSTATUS(wstat) : KETCH_EX_TEMP ;
  size_t n = uint_fmt(buf, code) ;
  ssize_t r ;
  buf[n++] = '\n' ;
  /* the child has exited: all it wrote is in the pipe, and the pipe is at EOF after it */
  r = fd_read(c->efd, buf + n, sizeof(buf) - n) ;
  if (r > 0)
  {
    allwrite(2, buf + n, r) ;
    n += r ;
  }
  if (!WIFEXITED(wstat))
  {
    char sig[UINT_FMT] ;
    sig[uint_fmt(sig, WTERMSIG(wstat))] = 0 ;
    strerr_warnw("enqueue child killed by signal ", sig) ;
  }
  /* a few hundred octets into an idle socket's buffer: never blocks; a gone client is no matter */
  send(c->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) ;
  fd_close(c->efd) ;
  c->efd = -1 ;
  {
    int pending = 0 ;
    if (ioctl(c->fd, FIONREAD, &pending) == 0 && !pending) { fd_close(c->fd) ; return 1 ; }
  }
  shutdown(c->fd, SHUT_WR) ;
  ndelay_on(c->fd) ;
  c->pid = 0 ;
  tain_now_g() ;
  tain_addsec_g(&c->drain, DRAIN_TIMEOUT) ;
  return 0 ;
}

static void remove_at (size_t i)
{
  size_t n = genalloc_len(child, &children) ;
  child *s = genalloc_s(child, &children) ;
  s[i] = s[n-1] ;
  genalloc_setlen(child, &children, n - 1) ;
}

/* reads and drops a draining client's input; closes at its EOF or past the bound */
static void drain (size_t i, int readable)
{
  child *c = genalloc_s(child, &children) + i ;
  if (readable)
  {
    char buf[4096] ;
    ssize_t r ;
    unsigned int k = 0 ;
    for (; k < 16 ; k++)
    {
      r = fd_read(c->fd, buf, sizeof(buf)) ;
      if (r > 0) continue ;
      if (r < 0 && error_isagain(errno)) break ;
      fd_close(c->fd) ;
      remove_at(i) ;
      return ;
    }
  }
  if (!tain_less(&STAMP, &c->drain)) { fd_close(c->fd) ; remove_at(i) ; }
}

static void reap (void)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = wait_nohang(&wstat) ;
    size_t n = genalloc_len(child, &children), i = 0 ;
    child *s = genalloc_s(child, &children) ;
    if (pid <= 0) break ;
    for (; i < n ; i++)
      if (s[i].pid == pid)
      {
        if (answer(s + i, wstat)) remove_at(i) ;
        break ;
      }
  }
}

/* SIGHUP: a new size limit takes effect at once; a new socket path needs a restart */
static void reload (void)
{
  conf nc ;
  stralloc e = STRALLOC_ZERO ;
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
  strerr_warni("SIGHUP: configuration reloaded") ;
}

int main (int argc, char const *const *argv)
{
  stralloc sa = STRALLOC_ZERO ;
  unsigned int notif = 0, grace = 30 ;
  int hasnotif = 0, stopping = 0 ;
  char const *path ;
  tain stopdeadline ;
  iopause_fd x[2 + CHILD_MAX] ;
  PROG = "enqueue-listen" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:d:g:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'd' : if (!uint0_scan(l.arg, &notif) || notif < 3) dieusage() ; hasnotif = 1 ; break ;
        case 'g' : if (!uint0_scan(l.arg, &grace)) dieusage() ; break ;
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
  if (!cf.enqueue_socket) strerr_dief(KETCH_EX_PERM, "no enqueue-socket line in ", conffile) ;
  /* copied: a reload frees the old configuration, and the socket stays where it was bound */
  path = strdup(cf.sa.s + cf.enqueue_socket) ;
  if (!path) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  if (chdir(cf.sa.s + cf.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", cf.sa.s + cf.spool) ;
  become_owner(path) ;
  umask(077) ;
  bind_socket(path) ;

  x[0].fd = selfpipe_init() ;
  if (x[0].fd < 0) strerr_diefusys(KETCH_EX_TEMP, "init the selfpipe") ;
  x[0].events = IOPAUSE_READ ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  /* an inherited SIG_IGN would make the children auto-reaped, and their codes lost */
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
    unsigned int n = 1, nd = 0, i ;
    size_t draining[CHILD_MAX] ;   /* indices into children of the x[] entries after the listener */
    tain deadline = stopping ? stopdeadline : tain_infinite ;
    int r ;
    if (!stopping)
    {
      x[n].fd = lfd ;
      x[n].events = IOPAUSE_READ ;
      x[n++].revents = 0 ;
    }
    {
      size_t k = genalloc_len(child, &children), j = 0 ;
      child const *c = genalloc_s(child, &children) ;
      for (; j < k ; j++)
        if (!c[j].pid)
        {
          draining[nd++] = j ;
          x[n].fd = c[j].fd ;
          x[n].events = IOPAUSE_READ ;
          x[n++].revents = 0 ;
          if (tain_less(&c[j].drain, &deadline)) deadline = c[j].drain ;
        }
    }
    r = iopause_g(x, n, stopping || nd ? &deadline : 0) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    if (stopping && !tain_less(&STAMP, &stopdeadline))
    {
      /* the shutdown bound is over: a child still reading is ended, its client sees 111 */
      size_t k = genalloc_len(child, &children), j = 0 ;
      strerr_warni("shutdown: ending remaining children") ;
      for (; j < k ; j++) if (genalloc_s(child, &children)[j].pid) kill(genalloc_s(child, &children)[j].pid, SIGKILL) ;
      return 0 ;
    }
    /* from the last index down: drain() may move the last entry into a freed slot */
    for (i = nd ; i-- ; ) drain(draining[i], !!(x[n - nd + i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT))) ;
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
          /* new clients find no socket and spawn enqueue; the children finish */
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
      if (!genalloc_len(child, &children)) return 0 ;
      continue ;
    }
    if (x[1].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT)) accept_all() ;
  }
}
