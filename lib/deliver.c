/* ISC license: see LICENSE. */

#ifdef __linux__
/* close_range */
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>
#include <skalibs/random.h>

#include "exitcodes.h"
#include "maildir.h"
#include "lmtp.h"
#include "bounce.h"
#include "enqclient.h"
#include "dotforward.h"
#include "deliver.h"

#define S(x) x, sizeof(x) - 1
#define HEAD_MAX (1 << 20)
#define MDA_OUT_MAX 65536

/* the methods: keyword, and whether it takes more than one operand */
static struct { char const *name ; unsigned int method ; int many ; } const methods[] =
{
  { "maildir", DELIVER_M_MAILDIR, 0 },
  { "mbox", DELIVER_M_MBOX, 0 },
  { "mda", DELIVER_M_MDA, 1 },
  { "lmtp", DELIVER_M_LMTP, 0 },
} ;

int deliver_req_argv (deliver_req *r, unsigned int argc, char const *const *argv)
{
  subgetopt l = SUBGETOPT_ZERO ;
  size_t i = 0 ;
  r->ext = "" ; r->orig = 0 ; r->domain = "" ; r->timeout = 600 ; r->forward = 0 ; r->conffile = 0 ;
  for (;;)
  {
    int opt = subgetopt_r(argc, argv, "t:e:o:d:FC:", &l) ;
    if (opt == -1) break ;
    switch (opt)
    {
      case 't' : if (!uint0_scan(l.arg, &r->timeout) || !r->timeout || r->timeout > INT_MAX) return 0 ; break ;
      case 'e' : r->ext = l.arg ; break ;
      case 'o' : r->orig = l.arg ; break ;
      case 'd' : r->domain = l.arg ; break ;
      case 'F' : r->forward = 1 ; break ;
      case 'C' : r->conffile = l.arg ; break ;
      default : return 0 ;
    }
  }
  argc -= l.ind ; argv += l.ind ;
  if (argc < 6 || !*argv[1]) return 0 ;
  r->sender = argv[0] ; r->rcpt = argv[1] ; r->user = argv[2] ; r->home = argv[3] ;
  for (; i < sizeof(methods) / sizeof(methods[0]) ; i++)
    if (!strcmp(argv[4], methods[i].name) && (methods[i].many || argc == 6))
    {
      r->method = methods[i].method ;
      r->args = argv + 5 ;
      return 1 ;
    }
  return 0 ;
}

/* text: the pieces (up to a null pointer); with sys, "unable to " before them and errno's words after. Returns res */
static enum ketch_result said (stralloc *text, enum ketch_result res, int sys, char const *const *s)
{
  int e = errno ;
  text->len = 0 ;
  if (sys) stralloc_cats(text, "unable to ") ;
  for (; *s ; s++) stralloc_cats(text, *s) ;
  if (sys) { stralloc_cats(text, ": ") ; stralloc_cats(text, strerror(e)) ; }
  if (stralloc_0(text)) text->len-- ;
  return res ;
}
#define say(text, res, ...) said(text, res, 0, (char const *const[]){ __VA_ARGS__, 0 })
/* ENOSPC and EDQUOT are temporary like every other I/O error: the mail waits for room */
#define unable(text, ...) said(text, KETCH_RESULT_TEMP, 1, (char const *const[]){ __VA_ARGS__, 0 })

/* the header block, at most HEAD_MAX octets, into d->head. 1, or 0 */
static int read_head (deliver *d, int fd)
{
  for (;;)
  {
    ssize_t r ;
    if (!stralloc_readyplus(&d->head, 8192)) return 0 ;
    r = fd_read(fd, d->head.s + d->head.len, 8192) ;
    if (r < 0) return 0 ;
    if (!r) return 1 ;
    d->head.len += r ;
    if (d->head.len >= HEAD_MAX) return 1 ;
    /* byte_search returns len - 1, not len, when the needle is absent: found only if both octets fit */
    if (byte_search(d->head.s, d->head.len, S("\n\n")) + 2 <= d->head.len || (d->head.len && d->head.s[0] == '\n')) return 1 ;
  }
}

/*
 * A Delivered-To for this very recipient already in the header means
 * the message went round in a loop (qmail's rule): permanent.
 */
static int looping (stralloc const *head, char const *rcpt)
{
  size_t end = byte_search(head->s, head->len, S("\n\n")) ;
  size_t i = 0, rlen = strlen(rcpt) ;
  if (end > head->len) end = head->len ;
  while (i < end)
  {
    char const *s = head->s + i ;
    size_t n = byte_chr(s, end - i, '\n') ;
    if (n > sizeof("Delivered-To:") - 1 && !strncasecmp(s, S("Delivered-To:")))
    {
      size_t a = sizeof("Delivered-To:") - 1, b = n ;
      while (a < b && (s[a] == ' ' || s[a] == '\t')) a++ ;
      while (b > a && (s[b-1] == ' ' || s[b-1] == '\t' || s[b-1] == '\r')) b-- ;
      if (b - a == rlen && !strncasecmp(s + a, rcpt, rlen)) return 1 ;
    }
    i += n + 1 ;
  }
  return 0 ;
}

static enum ketch_result do_maildir (deliver *d, deliver_req const *r, stralloc *text)
{
  stralloc name = STRALLOC_ZERO ;
  enum ketch_result res = maildir_deliver(&d->mp, r->args[0], d->pre.s, d->pre.len, d->head.s, d->head.len, r->fd, &name)
    ? say(text, KETCH_RESULT_OK, "delivered to maildir ", r->args[0], "/new/", name.s)
    : unable(text, "deliver to maildir ", r->args[0]) ;
  stralloc_free(&name) ;
  return res ;
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
    if (n - k >= sizeof("From ") - 1 && !memcmp(s + k, S("From ")) && buffer_put(b, S(">")) < 0) return 0 ;
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

/* the mbox is open and locked: the message appended, or a failure with errno */
static int mbox_append (deliver const *d, deliver_req const *r, int fd, stralloc *line)
{
  char obuf[65536], ibuf[65536] ;
  buffer b = BUFFER_INIT(&buffer_write, fd, obuf, sizeof(obuf)) ;
  int bol = 1 ;
  {
    /* the From_ line: envelope sender and the delivery time (asctime format) */
    char date[64] ;
    time_t now = time(0) ;
    struct tm tm ;
    size_t n ;
    gmtime_r(&now, &tm) ;
    n = strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm) ;
    if (buffer_puts(&b, "From ") < 0 || buffer_puts(&b, *r->sender ? r->sender : "MAILER-DAEMON") < 0
     || buffer_put(&b, S(" ")) < 0 || buffer_put(&b, date, n) < 0 || buffer_put(&b, S("\n")) < 0) return 0 ;
  }
  if (buffer_put(&b, d->pre.s, d->pre.len) < 0) return 0 ;
  if (!put_quoted(&b, d->head.s, d->head.len, line, &bol)) return 0 ;
  for (;;)
  {
    ssize_t n = fd_read(r->fd, ibuf, sizeof(ibuf)) ;
    if (n < 0) return 0 ;
    if (!n) break ;
    if (!put_quoted(&b, ibuf, n, line, &bol)) return 0 ;
  }
  if (line->len && (!putline_quoted(&b, line->s, line->len, &bol) || buffer_put(&b, S("\n")) < 0)) return 0 ;
  /* an empty line ends each message (RFC 4155) */
  return buffer_put(&b, S("\n")) >= 0 && buffer_flush(&b) && fsync(fd) == 0 ;
}

/*
 * The directory holding file made durable. An mbox that was empty under
 * the locks may have been created by this delivery, or by one beside it
 * that has not synced its name yet: fsync(2) of the mbox makes its data
 * durable, not its name, and a power cut would take the whole mailbox
 * away after the scheduler recorded the delivery (the power-cut run of
 * t/powercut.t, POWERCUT_DELIVER=mbox: lost=6 of 184 in 6 cuts). A
 * failure here is temporary and the message is delivered again: a
 * duplicate, never a loss.
 */
static int parent_sync (char const *file)
{
  size_t n = strlen(file) ;
  char dir[n + 2] ;
  int fd, e ;
  while (n && file[n-1] != '/') n-- ;
  if (!n) { dir[0] = '.' ; dir[1] = 0 ; }
  else { memcpy(dir, file, n) ; dir[n] = 0 ; }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return 0 ;
  if (fsync(fd) < 0) { e = errno ; fd_close(fd) ; errno = e ; return 0 ; }
  fd_close(fd) ;
  return 1 ;
}

static enum ketch_result do_mbox (deliver const *d, deliver_req const *r, stralloc *text)
{
  char const *file = r->args[0] ;
  stralloc lockfn = STRALLOC_ZERO, line = STRALLOC_ZERO ;
  tain deadline ;
  struct stat st ;
  enum ketch_result res ;
  int fd ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, r->timeout) ;
  /* O_NONBLOCK: a FIFO planted at the name must not hold the delivery in open() */
  fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600) ;
  if (fd < 0) return unable(text, "open mbox ", file) ;
  /*
   * In a sticky, world-writable spool anyone may create the mbox first
   * (and read what lands in it) or hard-link someone's file there: only
   * our own regular file with no other name takes our mail. Temporary:
   * the owner of the mailbox, or the administrator, can put it right.
   * Anything but a regular file (an alias to /dev/null) never will be.
   */
  if (fstat(fd, &st) < 0) res = unable(text, "stat ", file) ;
  else if (!S_ISREG(st.st_mode)) res = say(text, KETCH_RESULT_PERM, "refusing the mbox ", file, ": not a regular file") ;
  else if (st.st_uid != d->euid) res = say(text, KETCH_RESULT_TEMP, "refusing the mbox ", file, ": owned by another user") ;
  else if (st.st_nlink != 1) res = say(text, KETCH_RESULT_TEMP, "refusing the mbox ", file, ": it has other links") ;
  else if (ndelay_off(fd) < 0) res = unable(text, "set ", file, " blocking") ;
  else if (!dotlock_take(file, &lockfn, &deadline)) res = unable(text, "lock ", file, ".lock") ;
  else
  {
    if (fd_lock(fd, 1, 0) < 1) res = unable(text, "lock ", file) ;
    /* the size under the locks: where this message starts, and where a failure cuts back to */
    else if (fstat(fd, &st) < 0) res = unable(text, "stat ", file) ;
    else if (mbox_append(d, r, fd, &line)) res = say(text, KETCH_RESULT_OK, "delivered to mbox ", file) ;
    else
    {
      /* take the partial message back out: the mailbox stays as it was */
      res = unable(text, "write mbox ", file) ;
      if (ftruncate(fd, st.st_size) < 0)
      {
        stralloc_catb(text, S("; and to truncate it back: ")) ;
        stralloc_cats(text, strerror(errno)) ;
        if (stralloc_0(text)) text->len-- ;
      }
    }
    unlink(lockfn.s) ;
    /* after the unlock: a sync with the lock still there would make the
       lock durable too, and a power cut would leave it stale */
    if (res == KETCH_RESULT_OK && !st.st_size && !parent_sync(file))
      res = unable(text, "sync the directory of ", file) ;
  }
  fd_close(fd) ;
  stralloc_free(&lockfn) ;
  stralloc_free(&line) ;
  return res ;
}

/* MDA: a fixed argv, the envelope in the environment, never a shell */

static int addenv (stralloc *sa, char const *k, char const *v)
{
  return stralloc_cats(sa, k) && stralloc_catb(sa, S("=")) && stralloc_cats(sa, v) && stralloc_0(sa) ;
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
 * What the program writes, copied to r->out, at most MDA_OUT_MAX octets
 * in all (*done so far), with no control character but the newline (a
 * local-spawn worker's socket takes octets 0, 1 and 2 as the end of a
 * delivery and its result).
 */
static void mda_output (int fd, int *isopen, int out, size_t *done)
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
    if (out >= 0 && *done < MDA_OUT_MAX)
    {
      size_t n = (size_t)r < MDA_OUT_MAX - *done ? (size_t)r : MDA_OUT_MAX - *done ;
      allwrite(out, buf, n) ;
      *done += n ;
    }
  }
}

/* the forked program's side: never returns */
static void mda_child (deliver_req const *r, char const *const *envp, int in, int out)
{
  char const *const *argv = r->args ;
  selfpipe_finish() ;
  /* its own process group: a timeout kills whatever it started */
  setpgid(0, 0) ;
  /* the message on a pipe, its output to a pipe of its own, nothing else */
  if (fd_move(0, in) < 0 || fd_copy(1, out) < 0 || fd_move(2, out) < 0) _exit(KETCH_EX_TEMP) ;
  close_above_2() ;
  if (chdir(r->home) < 0 && chdir("/") < 0) _exit(KETCH_EX_TEMP) ;
  execve(argv[0], (char *const *)argv, (char *const *)envp) ;
  {
    /* on its output: the engine copies it where the program's words go */
    char const *e = strerror(errno) ;
    allwrite(2, S("unable to exec ")) ; allwrite(2, argv[0], strlen(argv[0])) ;
    allwrite(2, S(": ")) ; allwrite(2, e, strlen(e)) ; allwrite(2, S("\n")) ;
  }
  _exit(KETCH_EX_TEMP) ;
}

/* the program's environment, each NUL-terminated */
static int mda_env (deliver_req const *r, stralloc *env)
{
  char const *at = strrchr(r->rcpt, '@') ;
  size_t n = at ? (size_t)(at - r->rcpt) : strlen(r->rcpt) ;
  char local[n + 1] ;
  memcpy(local, r->rcpt, n) ; local[n] = 0 ;
  return addenv(env, "SENDER", r->sender) && addenv(env, "RECIPIENT", r->rcpt)
   && addenv(env, "USER", r->user) && addenv(env, "LOGNAME", r->user) && addenv(env, "HOME", r->home)
   && addenv(env, "EXTENSION", r->ext) && addenv(env, "DOMAIN", at ? at + 1 : r->domain)
   && addenv(env, "LOCAL", local)
   && addenv(env, "ORIGINAL_RECIPIENT", r->orig ? r->orig : r->rcpt)
   && addenv(env, "PATH", "/usr/local/bin:/usr/bin:/bin") ;
}

/* the program is stopped, with whatever it started, and reaped */
static void mda_kill (pid_t pid, int *wstat)
{
  kill(-pid, SIGKILL) ;
  kill(pid, SIGKILL) ;
  waitpid(pid, wstat, 0) ;
}

/*
 * The program runs with the message on a pipe (*in: the prepended
 * header, the header block read, then the rest of r->fd) and its output
 * on another (*out); the loop feeds one, copies the other and waits for
 * its exit, within the timeout. A pipe closed here is set to -1; the
 * program is reaped whatever happens. OK with *wstat, or a failure.
 */
static enum ketch_result mda_feed (deliver const *d, deliver_req const *r, pid_t pid, int sfd, int *in, int *out, int *wstat, stralloc *text)
{
  char buf[65536] ;
  char const *cur = d->pre.s ;
  size_t curlen = d->pre.len, phase = 0, done = 0 ;
  int oopen = 1, exited = 0 ;
  tain deadline ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, r->timeout) ;
  while (!exited)
  {
    iopause_fd x[3] = { { .fd = sfd, .events = IOPAUSE_READ }, { .fd = *out, .events = IOPAUSE_READ }, { .fd = *in, .events = IOPAUSE_WRITE } } ;
    int k ;
    while (*in >= 0 && !curlen)
    {
      /* the next piece: the prepended headers, the head already read, then the rest of fd */
      if (phase == 0) { phase = 1 ; cur = d->head.s ; curlen = d->head.len ; continue ; }
      {
        ssize_t n = fd_read(r->fd, buf, sizeof(buf)) ;
        if (n < 0) { mda_kill(pid, wstat) ; return unable(text, "read the message") ; }
        if (!n) { fd_close(*in) ; *in = -1 ; break ; }
        cur = buf ; curlen = n ;
      }
    }
    x[2].fd = *in ;
    k = iopause_g(x, *in >= 0 ? 3 : 2, &deadline) ;
    if (k < 0) { mda_kill(pid, wstat) ; return unable(text, "iopause") ; }
    if (!k)
    {
      mda_kill(pid, wstat) ;
      return say(text, KETCH_RESULT_TEMP, "mda ", r->args[0], " timed out") ;
    }
    if (*out >= 0 && x[1].revents)
    {
      mda_output(*out, &oopen, r->out, &done) ;
      if (!oopen) *out = -1 ;
    }
    if (*in >= 0 && x[2].revents)
    {
      ssize_t w = fd_write(*in, cur, curlen) ;
      if (w < 0)
      {
        if (errno == EPIPE) { fd_close(*in) ; *in = -1 ; }
        else if (errno != EAGAIN) { mda_kill(pid, wstat) ; return unable(text, "write to the mda") ; }
      }
      else { cur += w ; curlen -= w ; }
    }
    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0)
        if (sig == SIGCHLD && waitpid(pid, wstat, WNOHANG) == pid) exited = 1 ;
      if (sig < 0 && !exited) { mda_kill(pid, wstat) ; return unable(text, "selfpipe_read") ; }
    }
  }
  /* what it wrote before it exited; a child it left may hold the pipe: no waiting for that */
  if (*out >= 0) { mda_output(*out, &oopen, r->out, &done) ; if (!oopen) *out = -1 ; }
  return KETCH_RESULT_OK ;
}

static enum ketch_result do_mda (deliver const *d, deliver_req const *r, stralloc *text)
{
  char const *prog = r->args[0] ;
  stralloc env = STRALLOC_ZERO ;
  int p[2], o[2], sfd, wstat = 0 ;
  enum ketch_result res ;
  pid_t pid ;
  if (prog[0] != '/') return say(text, KETCH_RESULT_PERM, "the mda program must be an absolute path: ", prog) ;
  if (!mda_env(r, &env)) { stralloc_free(&env) ; return unable(text, "allocate") ; }
  sfd = selfpipe_init() ;
  if (sfd < 0) { stralloc_free(&env) ; return unable(text, "selfpipe_init") ; }
  if (!selfpipe_trap(SIGCHLD) || !sig_altignore(SIGPIPE)) { stralloc_free(&env) ; return unable(text, "trap SIGCHLD") ; }
  if (pipe(p) < 0) { stralloc_free(&env) ; return unable(text, "pipe") ; }
  if (pipe(o) < 0) { fd_close(p[0]) ; fd_close(p[1]) ; stralloc_free(&env) ; return unable(text, "pipe") ; }
  {
    size_t n = 0, i = 0, k = 0 ;
    for (; i < env.len ; i++) if (!env.s[i]) n++ ;
    {
      char const *envp[n + 1] ;
      for (i = 0 ; k < n ; k++) { envp[k] = env.s + i ; i += strlen(env.s + i) + 1 ; }
      envp[n] = 0 ;
      pid = fork() ;
      if (!pid) mda_child(r, envp, p[0], o[1]) ;
    }
  }
  stralloc_free(&env) ;
  fd_close(p[0]) ;
  fd_close(o[1]) ;
  if (pid < 0) res = unable(text, "fork") ;
  else if (ndelay_on(p[1]) < 0 || ndelay_on(o[0]) < 0)
  {
    res = unable(text, "set the pipes nonblocking") ;
    mda_kill(pid, &wstat) ;
  }
  else res = mda_feed(d, r, pid, sfd, &p[1], &o[0], &wstat, text) ;
  if (p[1] >= 0) fd_close(p[1]) ;
  if (o[0] >= 0) fd_close(o[0]) ;
  if (res != KETCH_RESULT_OK) return res ;
  if (WIFSIGNALED(wstat)) return say(text, KETCH_RESULT_TEMP, "mda ", prog, " crashed") ;
  {
    int code = WEXITSTATUS(wstat) ;
    char fmt[INT_FMT] ;
    fmt[int_fmt(fmt, code)] = 0 ;
    if (!code) return say(text, KETCH_RESULT_OK, "delivered to mda ", prog) ;
    /* sysexits EX_TEMPFAIL (75) and qmail's 111 mean: try again later */
    return say(text, code == 75 || code == 111 ? KETCH_RESULT_TEMP : KETCH_RESULT_PERM, "mda ", prog, " exited ", fmt) ;
  }
}

/* the delivery r says, once the header is read */
static enum ketch_result method (deliver *d, deliver_req const *r, stralloc *text)
{
  switch (r->method)
  {
    case DELIVER_M_MAILDIR : return do_maildir(d, r, text) ;
    case DELIVER_M_MBOX : return do_mbox(d, r, text) ;
    case DELIVER_M_MDA : return do_mda(d, r, text) ;
    case DELIVER_M_LMTP : return lmtp_deliver(r->args[0], r->timeout, r->sender, r->rcpt, d->pre.s, d->pre.len, d->head.s, d->head.len, r->fd, text) ;
    default : return say(text, KETCH_RESULT_PERM, "unknown delivery method") ;
  }
}

/* ~/.forward (lib/dotforward): the targets the user's own file names */

/* a message as enqueue -S reads it (RFC 5321 §4.5.2 with LF), in pieces: a leading dot doubled; *bol carries over */
static int put_stuffed (buffer *b, char const *s, size_t n, int *bol)
{
  while (n)
  {
    size_t k = byte_chr(s, n, '\n') ;
    if (k < n) k++ ;
    if (*bol && s[0] == '.' && buffer_put(b, S(".")) < 0) return 0 ;
    if (buffer_put(b, s, k) < 0) return 0 ;
    *bol = s[k-1] == '\n' ;
    s += k ; n -= k ;
  }
  return 1 ;
}

/*
 * The message to h: Delivered-To (the next delivery to this recipient
 * finds the loop, as qmail's forward), a Received field (the hop count
 * of RFC 5321 §6.3 grows with each turn of a loop that changes
 * recipients), the header read, the rest of r->fd, the final dot.
 */
static int inject_write (deliver const *d, deliver_req const *r, enqclient const *h)
{
  char obuf[65536], ibuf[65536] ;
  buffer b = BUFFER_INIT(&buffer_write, h->fd, obuf, sizeof(obuf)) ;
  stralloc hd = STRALLOC_ZERO ;
  int bol = 1, ok ;
  ok = stralloc_cats(&hd, "Delivered-To: ") && stralloc_cats(&hd, r->rcpt)
    && stralloc_cats(&hd, "\nReceived: by ") && stralloc_cats(&hd, r->cf->sa.s + r->cf->hostname)
    && stralloc_cats(&hd, " (ketch, ~/.forward of ") && stralloc_cats(&hd, r->user) && stralloc_cats(&hd, ") id ")
    && stralloc_cats(&hd, h->id) && stralloc_cats(&hd, ";\n\t") && bounce_date((uint64_t)time(0), &hd) && stralloc_catb(&hd, S("\n"))
    && put_stuffed(&b, hd.s, hd.len, &bol) && put_stuffed(&b, d->head.s, d->head.len, &bol) ;
  stralloc_free(&hd) ;
  while (ok)
  {
    ssize_t n = fd_read(r->fd, ibuf, sizeof(ibuf)) ;
    if (n < 0) return 0 ;
    if (!n) break ;
    ok = put_stuffed(&b, ibuf, n, &bol) ;
  }
  return ok && (bol || buffer_put(&b, S("\n")) >= 0) && buffer_put(&b, S(".\n")) >= 0 && buffer_flush(&b) ;
}

/*
 * The addresses (f's, each NUL-terminated) queued as one new message
 * with the same envelope sender: a forward is an alias the user keeps
 * (RFC 5321 §3.9.1: the reverse-path stays). Never DKIM-signed: the
 * message came from anywhere, and the user's forward vouches for none
 * of it (ENQCLIENT_F_NOSIGN). enqueue's refusal (100, too many hops
 * among them) is permanent: a bounce.
 */
static enum ketch_result inject (deliver const *d, deliver_req const *r, stralloc const *rcpts, stralloc *text)
{
  enqclient h = ENQCLIENT_ZERO ;
  stralloc diag = STRALLOC_ZERO ;
  tain deadline ;
  enqclient_req q = { .conffile = r->conffile, .sender = r->sender, .auth = 0, .rcpts = rcpts->s, .rlen = rcpts->len, .flags = ENQCLIENT_F_NOSIGN, .reason = 0, .deadline = &deadline } ;
  int e ;
  if (!r->cf) return say(text, KETCH_RESULT_TEMP, "no configuration to forward with") ;
  if (!sig_altignore(SIGPIPE)) return unable(text, "ignore SIGPIPE") ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&deadline, r->timeout) ;
  e = enqclient_submit(&h, r->cf, &q, &diag) ;
  if (e < 0) return unable(text, "start enqueue") ;
  if (!e)
  {
    /* a write cut short is enqueue refusing the message: its code says why */
    if (!inject_write(d, r, &h)) enqclient_abort(&h) ;
    e = enqclient_finish(&h, &diag) ;
  }
  if (!e) { stralloc_free(&diag) ; return say(text, KETCH_RESULT_OK, "forwarded as ", h.id) ; }
  {
    char fmt[INT_FMT] ;
    size_t i = 0 ;
    fmt[int_fmt(fmt, e)] = 0 ;
    /* one line of enqueue's words: they end up in a log line */
    while (diag.len && (diag.s[diag.len-1] == '\n' || diag.s[diag.len-1] == ' ')) diag.len-- ;
    for (; i < diag.len ; i++) if ((unsigned char)diag.s[i] < 32 || diag.s[i] == 127) diag.s[i] = ' ' ;
    i = diag.len ;
    if (!stralloc_0(&diag)) i = 0 ;
    say(text, e == KETCH_EX_PERM ? KETCH_RESULT_PERM : KETCH_RESULT_TEMP, "unable to forward: enqueue exited ", fmt, i ? ": " : "", i ? diag.s : "") ;
  }
  stralloc_free(&diag) ;
  return e == KETCH_EX_PERM ? KETCH_RESULT_PERM : KETCH_RESULT_TEMP ;
}

/* "|program args": argv split on spaces, never a shell (as an alias's program, lib/expand) */
static enum ketch_result program (deliver const *d, deliver_req const *r, char const *cmd, stralloc *text)
{
  size_t n = strlen(cmd), k = 0, i = 0 ;
  char buf[n + 1] ;
  char const *argv[n / 2 + 2] ;
  deliver_req q = *r ;
  memcpy(buf, cmd, n + 1) ;
  while (i < n)
  {
    while (i < n && buf[i] == ' ') buf[i++] = 0 ;
    if (i >= n) break ;
    argv[k++] = buf + i ;
    while (i < n && buf[i] != ' ') i++ ;
  }
  argv[k] = 0 ;
  q.method = DELIVER_M_MDA ; q.args = argv ;
  return do_mda(d, &q, text) ;
}

static enum ketch_result targets (deliver *d, deliver_req const *r, dotforward const *f, stralloc *text)
{
  stralloc one = STRALLOC_ZERO, all = STRALLOC_ZERO ;
  enum ketch_result res = KETCH_RESULT_OK ;
  /* where the rest of the message starts: every target reads it again from here */
  off_t at = lseek(r->fd, 0, SEEK_CUR) ;
  size_t i = 0 ;
  int first = 1 ;
  if (at < 0) return unable(text, "seek in the message") ;
  if (f->naddr)
  {
    stralloc rcpts = STRALLOC_ZERO ;
    for (; i < f->sa.len ; i += strlen(f->sa.s + i) + 1)
      if (f->sa.s[i] == DOTFORWARD_ADDRESS && (!stralloc_cats(&rcpts, f->sa.s + i + 1) || !stralloc_0(&rcpts)))
      { stralloc_free(&rcpts) ; return unable(text, "allocate") ; }
    res = inject(d, r, &rcpts, &one) ;
    stralloc_free(&rcpts) ;
    if (!stralloc_catb(&all, one.s, one.len)) res = unable(&one, "allocate") ;
    first = 0 ;
  }
  for (i = 0 ; res == KETCH_RESULT_OK && i < f->sa.len ; i += strlen(f->sa.s + i) + 1)
  {
    char const *t = f->sa.s + i + 1 ;
    if (f->sa.s[i] == DOTFORWARD_ADDRESS) continue ;
    if (!first && lseek(r->fd, at, SEEK_SET) < 0) { res = unable(&one, "seek in the message") ; break ; }
    first = 0 ;
    switch (f->sa.s[i])
    {
      case DOTFORWARD_SELF : res = method(d, r, &one) ; break ;
      case DOTFORWARD_FILE :
      {
        char const *argv[2] = { t, 0 } ;
        deliver_req q = *r ;
        q.method = DELIVER_M_MBOX ; q.args = argv ;
        res = do_mbox(d, &q, &one) ;
        break ;
      }
      default : res = program(d, r, t, &one) ; break ;
    }
    if ((all.len && !stralloc_catb(&all, S("; "))) || !stralloc_catb(&all, one.s, one.len)) res = unable(&one, "allocate") ;
  }
  /* the failure alone when there is one: it is the result, and the log line stays short */
  text->len = 0 ;
  if (res != KETCH_RESULT_OK) stralloc_catb(text, one.s, one.len) ;
  else if (stralloc_cats(text, "followed ~/.forward: ")) stralloc_catb(text, all.s, all.len) ;
  if (stralloc_0(text)) text->len-- ;
  stralloc_free(&one) ; stralloc_free(&all) ;
  return res ;
}

/* the user's ~/.forward decides; refused or empty, the delivery is the one without it */
static enum ketch_result follow (deliver *d, deliver_req const *r, stralloc *text)
{
  stralloc sa = STRALLOC_ZERO ;
  dotforward f = DOTFORWARD_ZERO ;
  char const *why = 0 ;
  enum ketch_result res ;
  int p = 0 ;
  unsigned int k ;
  struct timespec ts ;
  size_t hlen = strlen(r->home) ;
  clock_gettime(CLOCK_REALTIME, &ts) ;
  if ((int64_t)ts.tv_sec < d->nofwd_until && d->nofwd.len == hlen + 1 && !memcmp(d->nofwd.s, r->home, hlen + 1)) return method(d, r, text) ;
  k = dotforward_read(r->home, d->euid, &sa, &why) ;
  if (k == DOTFORWARD_R_NONE)
  {
    d->nofwd.len = 0 ;
    if (stralloc_catb(&d->nofwd, r->home, hlen + 1)) d->nofwd_until = (int64_t)ts.tv_sec + DELIVER_NOFWD_SECS ;
    return method(d, r, text) ;
  }
  if (k == DOTFORWARD_R_ERROR) { res = unable(text, "read ", r->home, "/.forward") ; goto end ; }
  if (k == DOTFORWARD_R_READ)
  {
    p = dotforward_parse(&f, sa.s, sa.len, r->user, r->rcpt, r->cf ? r->cf->sa.s + r->cf->hostname : "localhost", &why) ;
    if (p < 0) { res = unable(text, "parse ", r->home, "/.forward") ; goto end ; }
    if (p && f.n) { res = targets(d, r, &f, text) ; goto end ; }
    if (p) { res = method(d, r, text) ; goto end ; }
  }
  /* refused: the mailbox, and the log line says what was not followed */
  res = method(d, r, text) ;
  {
    size_t n = text->len ;
    if (stralloc_cats(text, "; ignored ") && stralloc_cats(text, r->home) && stralloc_cats(text, "/.forward: ") && stralloc_cats(text, why)
     && stralloc_0(text)) text->len-- ;
    else text->len = n ;
  }
 end:
  stralloc_free(&sa) ;
  dotforward_free(&f) ;
  return res ;
}

enum ketch_result deliver_run (deliver *d, deliver_req const *r, stralloc *text)
{
  d->pre.len = 0 ; d->head.len = 0 ;
  if (!stralloc_cats(&d->pre, "Return-Path: <") || !stralloc_cats(&d->pre, r->sender) || !stralloc_cats(&d->pre, ">\nDelivered-To: ")
   || !stralloc_cats(&d->pre, r->rcpt) || !stralloc_catb(&d->pre, S("\n"))) return unable(text, "allocate") ;
  if (!read_head(d, r->fd)) return unable(text, "read the message") ;
  /* a worker delivers for one user all its life: its euid, once (a system call per delivery otherwise) */
  if (!d->euid_known) { d->euid = geteuid() ; d->euid_known = 1 ; }
  if (looping(&d->head, r->rcpt)) return say(text, KETCH_RESULT_PERM, "mail loop: Delivered-To: ", r->rcpt, " is already in the header") ;
  return r->forward ? follow(d, r, text) : method(d, r, text) ;
}

void deliver_free (deliver *d)
{
  stralloc_free(&d->pre) ;
  stralloc_free(&d->head) ;
  maildir_proc_free(&d->mp) ;
  stralloc_free(&d->nofwd) ;
}
