/* ISC license: see LICENSE. */

/*
 * local-deliver: one delivery of one message to one local recipient,
 * into a Maildir, an mbox, or an MDA program. The scheduler (or its root
 * helper local-spawn) runs it as the recipient user, with the queue
 * entry on fd 0 positioned at the message. Exit 0 delivered, 100
 * permanent failure, 111 temporary failure; one line on stderr says why.
 * The exact argv is in local-deliver(8).
 */

#ifdef __linux__
/* close_range */
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netdb.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/skamisc.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>
#include <skalibs/random.h>

#include "exitcodes.h"
#include "maildir.h"

#define USAGE "local-deliver [ -t timeout ] [ -e extension ] [ -o original ] [ -d domain ] sender recipient user home maildir DIR | mbox FILE | mda PROGRAM [ ARG... ] | lmtp unix:PATH|HOST:PORT"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define HEAD_MAX (1 << 20)

static char const *sender, *recipient, *user, *home, *ext = "", *orig = 0, *domain = "" ;
static unsigned int timeout = 600 ;
static stralloc pre = STRALLOC_ZERO ;   /* Return-Path, Delivered-To */
static stralloc head = STRALLOC_ZERO ;  /* the message's header block, as read */

/* ENOSPC and EDQUOT are temporary like every other I/O error: the mail waits for room */
#define dietemp(...) strerr_diefusys(KETCH_EX_TEMP, __VA_ARGS__)

static void read_head (void)
{
  for (;;)
  {
    ssize_t r ;
    if (!stralloc_readyplus(&head, 8192)) dietemp("allocate") ;
    r = fd_read(0, head.s + head.len, 8192) ;
    if (r < 0) dietemp("read the message") ;
    if (!r) return ;
    head.len += r ;
    if (head.len >= HEAD_MAX) return ;
    /* byte_search returns len - 1, not len, when the needle is absent: found only if both octets fit */
    if (byte_search(head.s, head.len, "\n\n", 2) + 2 <= head.len || (head.len && head.s[0] == '\n')) return ;
  }
}

/*
 * A Delivered-To for this very recipient already in the header means
 * the message went round in a loop (qmail's rule): permanent.
 */
static int looping (void)
{
  size_t end = byte_search(head.s, head.len, "\n\n", 2) ;
  size_t i = 0, rlen = strlen(recipient) ;
  if (end > head.len) end = head.len ;
  while (i < end)
  {
    char const *s = head.s + i ;
    size_t n = byte_chr(s, end - i, '\n') ;
    if (n > 13 && !strncasecmp(s, "Delivered-To:", 13))
    {
      size_t a = 13, b = n ;
      while (a < b && (s[a] == ' ' || s[a] == '\t')) a++ ;
      while (b > a && (s[b-1] == ' ' || s[b-1] == '\t' || s[b-1] == '\r')) b-- ;
      if (b - a == rlen && !strncasecmp(s + a, recipient, rlen)) return 1 ;
    }
    i += n + 1 ;
  }
  return 0 ;
}

static void do_maildir (char const *dir)
{
  stralloc name = STRALLOC_ZERO ;
  if (!maildir_deliver(dir, pre.s, pre.len, head.s, head.len, 0, &name)) dietemp("deliver to maildir ", dir) ;
  strerr_warni("delivered to maildir ", dir, "/new/", name.s) ;
}

/* mbox: O_APPEND, fcntl lock and FILE.lock, From_ line, >From quoting */

/*
 * FILE.lock by link(2) from a temporary file beside it. The mail spool
 * is often sticky and world-writable (/var/mail, mode 1777), so another
 * user may have put anything at any name there first: the temporary
 * name is unpredictable, and it is created O_EXCL|O_NOFOLLOW, never
 * opened through a planted symlink or over someone's file.
 */
static int dotlock_take (char const *file, stralloc *lockfn, tain const *deadline)
{
  stralloc tmp = STRALLOC_ZERO ;
  size_t base ;
  unsigned int tries = 0 ;
  if (!stralloc_cats(lockfn, file) || !stralloc_cats(lockfn, ".lock") || !stralloc_0(lockfn)) return 0 ;
  if (!stralloc_cats(&tmp, file) || !stralloc_cats(&tmp, ".lock.") || !stralloc_readyplus(&tmp, 17)) return 0 ;
  base = tmp.len ;
  for (;;)
  {
    int fd ;
    random_name(tmp.s + base, 16) ;
    tmp.s[base + 16] = 0 ;
    fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) ;
    if (fd >= 0) { fd_close(fd) ; break ; }
    /* a name taken by chance or by someone else: another one, a few times */
    if (errno != EEXIST || ++tries >= 8) { stralloc_free(&tmp) ; return 0 ; }
  }
  for (;;)
  {
    struct stat st ;
    /* link(2) is atomic even over NFS, where O_EXCL was not */
    if (link(tmp.s, lockfn->s) == 0) break ;
    if (errno != EEXIST) { int e = errno ; unlink(tmp.s) ; stralloc_free(&tmp) ; errno = e ; return 0 ; }
    /* a lock older than 5 minutes is stale: its holder died (lstat: the lock itself, not what it may point to) */
    if (lstat(lockfn->s, &st) == 0 && st.st_mtime + 300 < time(0)) unlink(lockfn->s) ;
    tain_now_g() ;
    if (!tain_less(&STAMP, deadline)) { unlink(tmp.s) ; stralloc_free(&tmp) ; errno = ETIMEDOUT ; return 0 ; }
    {
      struct timespec ts = { .tv_sec = 0, .tv_nsec = 100000000 } ;
      nanosleep(&ts, 0) ;
    }
  }
  unlink(tmp.s) ;
  stralloc_free(&tmp) ;
  return 1 ;
}

static int putline_quoted (buffer *b, char const *s, size_t n, int *bol)
{
  /* RFC 4155 mboxrd: a line matching ^>*From gets one more '>' */
  if (*bol)
  {
    size_t k = 0 ;
    while (k < n && s[k] == '>') k++ ;
    if (n - k >= 5 && !memcmp(s + k, "From ", 5) && buffer_put(b, ">", 1) < 0) return 0 ;
  }
  if (buffer_put(b, s, n) < 0) return 0 ;
  *bol = n && s[n-1] == '\n' ;
  return 1 ;
}

static int put_quoted (buffer *b, char const *s, size_t n, stralloc *line, int *bol)
{
  /* feed bytes; complete lines are quoted and written, a partial line waits in line */
  while (n)
  {
    size_t k = byte_chr(s, n, '\n') ;
    if (k < n) k++ ;
    if (!stralloc_catb(line, s, k)) return 0 ;
    s += k ; n -= k ;
    if (line->s[line->len - 1] == '\n')
    {
      if (!putline_quoted(b, line->s, line->len, bol)) return 0 ;
      line->len = 0 ;
    }
  }
  return 1 ;
}

static void do_mbox (char const *file)
{
  stralloc lockfn = STRALLOC_ZERO, line = STRALLOC_ZERO ;
  tain deadline ;
  struct stat st ;
  off_t oldsize ;
  int fd, bol = 1 ;
  char obuf[65536], ibuf[65536] ;
  buffer b ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, timeout) ;
  /* O_NONBLOCK: a FIFO planted at the name must not hold the delivery in open() */
  fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600) ;
  if (fd < 0) dietemp("open mbox ", file) ;
  /*
   * In a sticky, world-writable spool anyone may create the mbox first
   * (and read what lands in it) or hard-link someone's file there: only
   * our own regular file with no other name takes our mail. Temporary:
   * the owner of the mailbox, or the administrator, can put it right.
   * Anything but a regular file (an alias to /dev/null) never will be.
   */
  if (fstat(fd, &st) < 0) dietemp("stat ", file) ;
  if (!S_ISREG(st.st_mode)) strerr_dief(KETCH_EX_PERM, "refusing the mbox ", file, ": not a regular file") ;
  if (st.st_uid != geteuid()) strerr_dief(KETCH_EX_TEMP, "refusing the mbox ", file, ": owned by another user") ;
  if (st.st_nlink != 1) strerr_dief(KETCH_EX_TEMP, "refusing the mbox ", file, ": it has other links") ;
  if (ndelay_off(fd) < 0) dietemp("set ", file, " blocking") ;
  if (!dotlock_take(file, &lockfn, &deadline)) dietemp("lock ", file, ".lock") ;
  if (fd_lock(fd, 1, 0) < 1) { unlink(lockfn.s) ; dietemp("lock ", file) ; }
  /* the size under the locks: where this message starts, and where a failure cuts back to */
  if (fstat(fd, &st) < 0) { unlink(lockfn.s) ; dietemp("stat ", file) ; }
  oldsize = st.st_size ;
  b = (buffer)BUFFER_INIT(&buffer_write, fd, obuf, sizeof(obuf)) ;
  {
    /* the From_ line: envelope sender and the delivery time (asctime format) */
    char date[64] ;
    time_t now = time(0) ;
    struct tm tm ;
    size_t n ;
    gmtime_r(&now, &tm) ;
    n = strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) ;
    if (buffer_puts(&b, "From ") < 0 || buffer_puts(&b, *sender ? sender : "MAILER-DAEMON") < 0
     || buffer_put(&b, " ", 1) < 0 || buffer_put(&b, date, n) < 0 || buffer_put(&b, "\n", 1) < 0) goto fail ;
  }
  if (buffer_put(&b, pre.s, pre.len) < 0) goto fail ;
  if (!put_quoted(&b, head.s, head.len, &line, &bol)) goto fail ;
  for (;;)
  {
    ssize_t r = fd_read(0, ibuf, sizeof(ibuf)) ;
    if (r < 0) goto fail ;
    if (!r) break ;
    if (!put_quoted(&b, ibuf, r, &line, &bol)) goto fail ;
  }
  if (line.len && (!putline_quoted(&b, line.s, line.len, &bol) || buffer_put(&b, "\n", 1) < 0)) goto fail ;
  /* an empty line ends each message (RFC 4155) */
  if (buffer_put(&b, "\n", 1) < 0 || !buffer_flush(&b) || fsync(fd) < 0) goto fail ;
  unlink(lockfn.s) ;
  fd_close(fd) ;
  strerr_warni("delivered to mbox ", file) ;
  return ;
 fail:
  {
    /* take the partial message back out: the mailbox stays as it was */
    int e = errno ;
    if (ftruncate(fd, oldsize) < 0) strerr_warnwusys("truncate ", file) ;
    unlink(lockfn.s) ;
    errno = e ;
    dietemp("write mbox ", file) ;
  }
}

/* MDA: a fixed argv, the envelope in the environment, never a shell */

static int addenv (stralloc *sa, char const *k, char const *v)
{
  return stralloc_cats(sa, k) && stralloc_catb(sa, "=", 1) && stralloc_cats(sa, v) && stralloc_0(sa) ;
}

/* every descriptor above 2: a user's program gets none of ours (the scheduler's, local-spawn's) */
static void close_above_2 (void)
{
  long n ;
  int fd = 3 ;
#ifdef __linux__
  if (!close_range(3, ~0U, 0)) return ;
#endif
  n = sysconf(_SC_OPEN_MAX) ;
  for (; fd < n ; fd++) close(fd) ;
}

/*
 * What the program writes, copied to our stderr, a bounded amount: no
 * NUL (a local-spawn worker's socket takes one as "delivered") and no
 * other control character but the newline.
 */
#define MDA_OUT_MAX 65536
static size_t mda_out = 0 ;

static void mda_output (int fd, int *isopen)
{
  char buf[4096] ;
  for (;;)
  {
    ssize_t r = fd_read(fd, buf, sizeof(buf)) ;
    size_t i = 0 ;
    if (r <= 0)
    {
      if (!r || (errno != EAGAIN && errno != EWOULDBLOCK)) { fd_close(fd) ; *isopen = 0 ; }
      return ;
    }
    for (; i < (size_t)r ; i++) if (((unsigned char)buf[i] < 32 && buf[i] != '\n') || buf[i] == 127) buf[i] = ' ' ;
    if (mda_out < MDA_OUT_MAX)
    {
      size_t n = (size_t)r < MDA_OUT_MAX - mda_out ? (size_t)r : MDA_OUT_MAX - mda_out ;
      buffer_putnoflush(buffer_2, buf, n) ;
      buffer_flush(buffer_2) ;
      mda_out += n ;
    }
  }
}

static void do_mda (char const *const *argv)
{
  stralloc env = STRALLOC_ZERO ;
  int p[2], o[2], oopen = 1 ;
  pid_t pid ;
  int sfd, wstat = 0, done = 0, writing = 1 ;
  tain deadline ;
  char buf[65536] ;
  char const *out = 0 ;
  size_t outlen = 0, phase = 0 ;
  if (argv[0][0] != '/') strerr_dief(KETCH_EX_PERM, "the mda program must be an absolute path: ", argv[0]) ;
  mda_out = 0 ;
  {
    char const *at = strrchr(recipient, '@') ;
    size_t n = at ? (size_t)(at - recipient) : strlen(recipient) ;
    char local[n + 1] ;
    memcpy(local, recipient, n) ; local[n] = 0 ;
    if (!addenv(&env, "SENDER", sender) || !addenv(&env, "RECIPIENT", recipient)
     || !addenv(&env, "USER", user) || !addenv(&env, "LOGNAME", user) || !addenv(&env, "HOME", home)
     || !addenv(&env, "EXTENSION", ext) || !addenv(&env, "DOMAIN", at ? at + 1 : domain)
     || !addenv(&env, "LOCAL", local)
     || !addenv(&env, "ORIGINAL_RECIPIENT", orig ? orig : recipient)
     || !addenv(&env, "PATH", "/usr/local/bin:/usr/bin:/bin")) dietemp("allocate") ;
  }
  {
    size_t n = 0, i = 0, k = 0 ;
    for (; i < env.len ; i++) if (!env.s[i]) n++ ;
    {
      char const *envp[n + 1] ;
      for (i = 0 ; k < n ; k++) { envp[k] = env.s + i ; i += strlen(env.s + i) + 1 ; }
      envp[n] = 0 ;
      sfd = selfpipe_init() ;
      if (sfd < 0) dietemp("selfpipe_init") ;
      if (!selfpipe_trap(SIGCHLD)) dietemp("trap SIGCHLD") ;
      if (!sig_altignore(SIGPIPE)) dietemp("ignore SIGPIPE") ;
      if (pipe(p) < 0 || pipe(o) < 0) dietemp("pipe") ;
      pid = fork() ;
      if (pid < 0) dietemp("fork") ;
      if (!pid)
      {
        selfpipe_finish() ;
        /* its own process group: a timeout kills whatever it started */
        setpgid(0, 0) ;
        /* the message on a pipe, its output to a pipe of its own, nothing else */
        if (fd_move(0, p[0]) < 0 || fd_copy(1, o[1]) < 0 || fd_move(2, o[1]) < 0) _exit(KETCH_EX_TEMP) ;
        close_above_2() ;
        if (chdir(home) < 0 && chdir("/") < 0) _exit(KETCH_EX_TEMP) ;
        execve(argv[0], (char *const *)argv, (char *const *)envp) ;
        strerr_warnwusys("exec ", argv[0]) ;
        _exit(KETCH_EX_TEMP) ;
      }
    }
  }
  fd_close(p[0]) ;
  fd_close(o[1]) ;
  if (ndelay_on(p[1]) < 0 || ndelay_on(o[0]) < 0) dietemp("set the pipes nonblocking") ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, timeout) ;
  out = pre.s ; outlen = pre.len ;
  while (!done)
  {
    iopause_fd x[3] = { { .fd = sfd, .events = IOPAUSE_READ }, { .fd = oopen ? o[0] : -1, .events = IOPAUSE_READ }, { .fd = p[1], .events = IOPAUSE_WRITE } } ;
    int r ;
    while (writing && !outlen)
    {
      /* the next piece: the prepended headers, the head already read, then the rest of fd 0 */
      if (phase == 0) { phase = 1 ; out = head.s ; outlen = head.len ; continue ; }
      {
        ssize_t n = fd_read(0, buf, sizeof(buf)) ;
        if (n < 0) { kill(pid, SIGKILL) ; dietemp("read the message") ; }
        if (!n) { writing = 0 ; fd_close(p[1]) ; break ; }
        out = buf ; outlen = n ;
      }
    }
    r = iopause_g(x, writing ? 3 : 2, &deadline) ;
    if (r < 0) dietemp("iopause") ;
    if (!r)
    {
      kill(-pid, SIGKILL) ;
      kill(pid, SIGKILL) ;
      waitpid(pid, &wstat, 0) ;
      strerr_dief(KETCH_EX_TEMP, "mda ", argv[0], " timed out") ;
    }
    if (oopen && x[1].revents) mda_output(o[0], &oopen) ;
    if (writing && x[2].revents)
    {
      ssize_t w = fd_write(p[1], out, outlen) ;
      if (w < 0)
      {
        if (errno == EPIPE) { writing = 0 ; fd_close(p[1]) ; }
        else if (errno != EAGAIN) dietemp("write to the mda") ;
      }
      else { out += w ; outlen -= w ; }
    }
    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
        if (sig == SIGCHLD && waitpid(pid, &wstat, WNOHANG) == pid) done = 1 ;
      if (sig < 0) dietemp("selfpipe_read") ;
    }
  }
  /* what it wrote before it exited; a child it left may hold the pipe: no waiting for that */
  if (oopen) { mda_output(o[0], &oopen) ; if (oopen) fd_close(o[0]) ; }
  if (WIFSIGNALED(wstat)) strerr_dief(KETCH_EX_TEMP, "mda ", argv[0], " crashed") ;
  {
    int code = WEXITSTATUS(wstat) ;
    char fmt[INT_FMT] ;
    fmt[int_fmt(fmt, code)] = 0 ;
    if (!code) { strerr_warni("delivered to mda ", argv[0]) ; return ; }
    /* sysexits EX_TEMPFAIL (75) and qmail's 111 mean: try again later */
    if (code == 75 || code == 111) strerr_dief(KETCH_EX_TEMP, "mda ", argv[0], " exited ", fmt) ;
    strerr_dief(KETCH_EX_PERM, "mda ", argv[0], " exited ", fmt) ;
  }
}

/* LMTP (RFC 2033): one transaction for one recipient, to unix:PATH or HOST:PORT */

static int lmtp_connect (char const *target)
{
  struct timeval tv = { .tv_sec = timeout, .tv_usec = 0 } ;
  int fd = -1 ;
  if (!strncmp(target, "unix:", 5))
  {
    struct sockaddr_un sun ;
    size_t n = strlen(target + 5) ;
    if (n >= sizeof(sun.sun_path)) strerr_dief(KETCH_EX_TEMP, "lmtp socket path too long: ", target + 5) ;
    memset(&sun, 0, sizeof(sun)) ;
    sun.sun_family = AF_UNIX ;
    memcpy(sun.sun_path, target + 5, n + 1) ;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
    if (fd < 0) dietemp("create a socket") ;
    /* bounded: every read, write and the connect itself */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) dietemp("connect to ", target) ;
    return fd ;
  }
  {
    char const *colon = strrchr(target, ':') ;
    struct addrinfo hints, *res = 0, *ai ;
    size_t n = colon ? (size_t)(colon - target) : 0 ;
    char host[256] ;
    int e ;
    if (!colon || !n || n >= sizeof(host)) strerr_dief(KETCH_EX_TEMP, "bad lmtp target: ", target) ;
    memcpy(host, target, n) ; host[n] = 0 ;
    if (host[0] == '[' && host[n-1] == ']') { memmove(host, host + 1, n - 2) ; host[n-2] = 0 ; }
    memset(&hints, 0, sizeof(hints)) ;
    hints.ai_socktype = SOCK_STREAM ;
    e = getaddrinfo(host, colon + 1, &hints, &res) ;
    if (e) strerr_dief(KETCH_EX_TEMP, "unable to resolve ", host, ": ", gai_strerror(e)) ;
    for (ai = res ; ai ; ai = ai->ai_next)
    {
      fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
      if (fd < 0) continue ;
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ;
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ;
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break ;
      fd_close(fd) ; fd = -1 ;
    }
    freeaddrinfo(res) ;
    if (fd < 0) dietemp("connect to ", target) ;
    return fd ;
  }
}

/* one reply, possibly multi-line (RFC 5321 §4.2.1): its code, its last line in text */
static unsigned int lmtp_reply (buffer *b, stralloc *text)
{
  stralloc line = STRALLOC_ZERO ;
  unsigned int code = 0 ;
  unsigned int lines = 0 ;
  for (;;)
  {
    int r ;
    line.len = 0 ;
    r = skagetln(b, &line, '\n') ;
    if (r <= 0) dietemp("read the lmtp reply") ;
    if (++lines > 100 || line.len > 2048) strerr_dief(KETCH_EX_TEMP, "lmtp reply too long") ;
    while (line.len && (line.s[line.len-1] == '\n' || line.s[line.len-1] == '\r')) line.len-- ;
    if (line.len < 3 || line.s[0] < '2' || line.s[0] > '5' || line.s[1] < '0' || line.s[1] > '9' || line.s[2] < '0' || line.s[2] > '9')
      strerr_dief(KETCH_EX_TEMP, "garbled lmtp reply") ;
    code = (line.s[0] - '0') * 100 + (line.s[1] - '0') * 10 + (line.s[2] - '0') ;
    if (line.len == 3 || line.s[3] == ' ') break ;
    if (line.s[3] != '-') strerr_dief(KETCH_EX_TEMP, "garbled lmtp reply") ;
  }
  text->len = 0 ;
  {
    size_t i = 0 ;
    for (; i < line.len ; i++) { char ch = (unsigned char)line.s[i] < 32 ? ' ' : line.s[i] ; stralloc_catb(text, &ch, 1) ; }
  }
  stralloc_0(text) ;
  stralloc_free(&line) ;
  return code ;
}

static void lmtp_expect (buffer *in, stralloc *text, char const *what)
{
  unsigned int code = lmtp_reply(in, text) ;
  if (code >= 200 && code < 400) return ;
  strerr_dief(code >= 500 ? KETCH_EX_PERM : KETCH_EX_TEMP, "lmtp ", what, ": ", text->s) ;
}

static void lmtp_put (buffer *out, char const *s, size_t n)
{
  if (buffer_put(out, s, n) < 0) dietemp("write to the lmtp server") ;
}

/* the message as DATA: CRLF line ends, dot-stuffed (RFC 5321 §4.5.2) */
static void lmtp_data (buffer *out, char const *s, size_t n, int *bol)
{
  size_t i = 0 ;
  for (; i < n ; i++)
  {
    if (*bol && s[i] == '.') lmtp_put(out, ".", 1) ;
    if (s[i] == '\n') lmtp_put(out, "\r\n", 2) ;
    else lmtp_put(out, s + i, 1) ;
    *bol = s[i] == '\n' ;
  }
}

static void do_lmtp (char const *target)
{
  int fd = lmtp_connect(target) ;
  char ibuf[4096], obuf[65536], rbuf[65536] ;
  buffer in = BUFFER_INIT(&buffer_read, fd, ibuf, sizeof(ibuf)) ;
  buffer out = BUFFER_INIT(&buffer_write, fd, obuf, sizeof(obuf)) ;
  stralloc text = STRALLOC_ZERO ;
  char host[256] ;
  int bol = 1 ;
  if (gethostname(host, sizeof(host) - 1) < 0) memcpy(host, "localhost", 10) ;
  host[sizeof(host) - 1] = 0 ;
  lmtp_expect(&in, &text, "greeting") ;
  lmtp_put(&out, "LHLO ", 5) ; lmtp_put(&out, host, strlen(host)) ; lmtp_put(&out, "\r\n", 2) ;
  if (!buffer_flush(&out)) dietemp("write to ", target) ;
  lmtp_expect(&in, &text, "LHLO") ;
  lmtp_put(&out, "MAIL FROM:<", 11) ; lmtp_put(&out, sender, strlen(sender)) ; lmtp_put(&out, ">\r\n", 3) ;
  if (!buffer_flush(&out)) dietemp("write to ", target) ;
  lmtp_expect(&in, &text, "MAIL") ;
  lmtp_put(&out, "RCPT TO:<", 9) ; lmtp_put(&out, recipient, strlen(recipient)) ; lmtp_put(&out, ">\r\n", 3) ;
  if (!buffer_flush(&out)) dietemp("write to ", target) ;
  lmtp_expect(&in, &text, "RCPT") ;
  lmtp_put(&out, "DATA\r\n", 6) ;
  if (!buffer_flush(&out)) dietemp("write to ", target) ;
  lmtp_expect(&in, &text, "DATA") ;
  lmtp_data(&out, pre.s, pre.len, &bol) ;
  lmtp_data(&out, head.s, head.len, &bol) ;
  for (;;)
  {
    ssize_t r = fd_read(0, rbuf, sizeof(rbuf)) ;
    if (r < 0) dietemp("read the message") ;
    if (!r) break ;
    lmtp_data(&out, rbuf, r, &bol) ;
  }
  if (!bol) lmtp_put(&out, "\r\n", 2) ;
  lmtp_put(&out, ".\r\n", 3) ;
  if (!buffer_flush(&out)) dietemp("write to ", target) ;
  /* RFC 2033 §4.2: one reply per accepted recipient after the dot; we sent one */
  lmtp_expect(&in, &text, "delivery") ;
  lmtp_put(&out, "QUIT\r\n", 6) ;
  buffer_flush(&out) ;
  fd_close(fd) ;
  strerr_warni("delivered by lmtp to ", target, ": ", text.s) ;
}

#ifdef KETCH_DELIVER_MAIN
/* linked into local-spawn, which calls it in a forked child running as the user */
#define main KETCH_DELIVER_MAIN
int main (int, char const *const *) ;
#endif

int main (int argc, char const *const *argv)
{
  PROG = "local-deliver" ;
  /* a local-spawn worker calls this once per delivery: nothing is left from the last one */
  ext = "" ; orig = 0 ; domain = "" ; timeout = 600 ;
  pre.len = 0 ; head.len = 0 ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "t:e:o:d:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 't' : if (!uint0_scan(l.arg, &timeout) || !timeout || timeout > INT_MAX) dieusage() ; break ;
        case 'e' : ext = l.arg ; break ;
        case 'o' : orig = l.arg ; break ;
        case 'd' : domain = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc < 6) dieusage() ;
  sender = argv[0] ; recipient = argv[1] ; user = argv[2] ; home = argv[3] ;
  if (!*recipient) dieusage() ;
  if (!stralloc_cats(&pre, "Return-Path: <") || !stralloc_cats(&pre, sender) || !stralloc_cats(&pre, ">\nDelivered-To: ")
   || !stralloc_cats(&pre, recipient) || !stralloc_catb(&pre, "\n", 1)) dietemp("allocate") ;
  read_head() ;
  if (looping()) strerr_dief(KETCH_EX_PERM, "mail loop: Delivered-To: ", recipient, " is already in the header") ;
  if (!strcmp(argv[4], "maildir") && argc == 6) do_maildir(argv[5]) ;
  else if (!strcmp(argv[4], "mbox") && argc == 6) do_mbox(argv[5]) ;
  else if (!strcmp(argv[4], "mda")) do_mda(argv + 5) ;
  else if (!strcmp(argv[4], "lmtp") && argc == 6) do_lmtp(argv[5]) ;
  else dieusage() ;
  return 0 ;
}
