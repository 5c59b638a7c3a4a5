/* ISC license: see LICENSE. */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <skalibs/types.h>
#include <skalibs/alloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/socket.h>

#include "conf.h"
#include "queue.h"
#include "netstr.h"
#include "enqclient.h"

extern char **environ ;

/* a connected, blocking, close-on-exec socket, or -1 (errno) */
static int enqclient_connect (char const *path)
{
  int fd = ipc_stream_internal(O_CLOEXEC) ;
  if (fd < 0) return -1 ;
  if (ipc_connect(fd, path) < 0)
  {
    int e = errno ;
    fd_close(fd) ;
    errno = e ;
    return -1 ;
  }
  return fd ;
}

int enqclient_request_encode (stralloc *sa, enqclient_req const *r)
{
  size_t start = sa->len ;
  /* without flags, the old form, which a server that predates them takes; a
     sender starting with ':' (no address does) gets the options all the same,
     so that it cannot be read as them */
  if (r->flags || r->sender[0] == ':')
  {
    char fmt[UINT_FMT] ;
    if (!stralloc_catb(sa, ":", 1) || !stralloc_catb(sa, fmt, uint_fmt(fmt, r->flags)) || !stralloc_catb(sa, ":", 1)
     || !netstr_field(sa, r->flags & ENQCLIENT_F_HOLD && r->reason ? r->reason : "")) goto err ;
  }
  if (netstr_field(sa, r->sender) && netstr_field(sa, r->auth ? r->auth : "")
   && stralloc_catb(sa, r->rcpts, r->rlen) && netstr_seal(sa, start, ENQCLIENT_REQUEST_MAX)) return 1 ;
 err:
  sa->len = start ;
  return 0 ;
}

int enqclient_request_parse (enqclient_req *r, char const *s, size_t len)
{
  size_t k ;
  r->flags = 0 ; r->reason = 0 ;
  /* every field with its NUL: the strlen calls below stay inside s */
  if (!len || s[len - 1]) return 0 ;
  if (s[0] == ':')
  {
    unsigned int flags = 0 ;
    size_t i = 1 ;
    for (; i < 11 && s[i] >= '0' && s[i] <= '9' ; i++)
    {
      unsigned int d = (unsigned int)(s[i] - '0') ;
      if (flags > (UINT_MAX - d) / 10) return 0 ;
      flags = flags * 10 + d ;
    }
    if (i == 1 || s[i] != ':') return 0 ;
    r->flags = flags ;
    if (s[i + 1]) r->reason = s + i + 1 ;
    k = strlen(s) + 1 ;
    s += k ; len -= k ;
  }
  /* sender, auth user, at least one recipient */
  if (netstr_fields(s, len, 0, 3) < 3) return 0 ;
  r->sender = s ;
  k = strlen(s) + 1 ; s += k ; len -= k ;
  r->auth = *s ? s : 0 ;
  k = strlen(s) + 1 ; s += k ; len -= k ;
  r->rcpts = s ;
  r->rlen = len ;
  return 1 ;
}

int enqclient_request (int fd, enqclient_req const *r)
{
  stralloc sa = STRALLOC_ZERO ;
  int ok = enqclient_request_encode(&sa, r) && allwrite(fd, sa.s, sa.len) == sa.len ;
  stralloc_free(&sa) ;
  return ok ;
}

/* the rest of the answer, to end of file, into diag (if any); bounded */
static void drain (int fd, stralloc *diag)
{
  char buf[1024] ;
  for (;;)
  {
    ssize_t r = fd_read(fd, buf, sizeof(buf)) ;
    if (r <= 0) break ;
    if (diag && diag->len < 4096) stralloc_catb(diag, buf, r) ;
  }
}

/* "CODE\n" at the start of s[0..n), an exit code of 1 to 3 digits: the
   code, or -1. The buffer is not terminated: nothing past n is read. */
static int scan_code (char const *s, size_t n, size_t *used)
{
  unsigned int code = 0 ;
  size_t k = 0 ;
  for (; k < n && k < 3 && s[k] >= '0' && s[k] <= '9' ; k++) code = code * 10 + (unsigned int)(s[k] - '0') ;
  if (!k || k >= n || s[k] != '\n' || code > 255) return -1 ;
  *used = k + 1 ;
  return (int)code ;
}

int enqclient_id (int fd, char *id, tain const *deadline, int *status, stralloc *diag)
{
  char buf[QUEUE_ID_LEN + 1] ;
  size_t n = 0, used ;
  /* exactly the id line: what follows it belongs to enqclient_status */
  while (n < sizeof(buf))
  {
    ssize_t r ;
    if (deadline)
    {
      iopause_fd x = { .fd = fd, .events = IOPAUSE_READ, .revents = 0 } ;
      int e = iopause_g(&x, 1, deadline) ;
      if (e < 0) break ;
      if (!e) { errno = ETIMEDOUT ; break ; }
    }
    r = fd_read(fd, buf + n, sizeof(buf) - n) ;
    if (r < 0 && deadline && error_isagain(errno)) continue ;
    if (!r && !n) errno = EPIPE ;
    if (r <= 0) break ;
    n += r ;
    if (memchr(buf, '\n', n)) break ;
  }
  if (n == sizeof(buf) && buf[QUEUE_ID_LEN] == '\n' && queue_id_valid(buf, QUEUE_ID_LEN))
  {
    memcpy(id, buf, QUEUE_ID_LEN) ;
    id[QUEUE_ID_LEN] = 0 ;
    return 1 ;
  }
  *status = scan_code(buf, n, &used) ;
  /* garbage is not a closed connection (enqclient_submit tries a new one only for that) */
  if (*status < 0 && n) errno = EPROTO ;
  if (*status >= 0)
  {
    if (diag) stralloc_catb(diag, buf + used, n - used) ;
    drain(fd, diag) ;
  }
  return 0 ;
}

int enqclient_answer (int fd, stralloc *diag, int *clean)
{
  char buf[1024] ;
  size_t n = 0, used = 0 ;
  int code ;
  for (;;)
  {
    ssize_t r = fd_read(fd, buf + n, sizeof(buf) - n) ;
    if (r <= 0) break ;
    n += r ;
    if (memchr(buf, '\n', n) || n == sizeof(buf)) break ;
  }
  code = scan_code(buf, n, &used) ;
  *clean = !code && used == n ;
  if (code < 0) code = 111 ;
  /* a success has no words: no read for the end of file */
  else if (code)
  {
    if (diag) stralloc_catb(diag, buf + used, n - used) ;
    drain(fd, diag) ;
  }
  return code ;
}

int enqclient_status (int fd, stralloc *diag)
{
  int clean ;
  int code = enqclient_answer(fd, diag, &clean) ;
  fd_close(fd) ;
  return code ;
}

/* a spawned enqueue's exit code; 111 when it has none, and diag says why */
static int reap (pid_t pid, stralloc *diag)
{
  int wstat ;
  if (wait_pid(pid, &wstat) < 0) return 111 ;
  if (WIFEXITED(wstat)) return WEXITSTATUS(wstat) ;
  if (diag)
  {
    char fmt[UINT_FMT] ;
    size_t n = uint_fmt(fmt, WIFSIGNALED(wstat) ? WTERMSIG(wstat) : 0) ;
    if (!stralloc_cats(diag, "enqueue crashed (signal ") || !stralloc_catb(diag, fmt, n) || !stralloc_cats(diag, ")\n")) return 111 ;
  }
  return 111 ;
}

/* PROGRAMS/enqueue -S with pipes (child_spawn2 resets the signal mask, as a selfpipe user needs) */
static int spawn (enqclient *h, conf const *c, enqclient_req const *r, stralloc *diag)
{
  stralloc path = STRALLOC_ZERO ;
  size_t nrcpt = netstr_fields(r->rcpts, r->rlen, 0, r->rlen), n = 0, off = 0 ;
  char const **argv = alloc((15 + nrcpt) * sizeof(char const *)) ;
  int fds[2] = { 0, 1 } ;   /* the child's stdin and stdout */
  int code = -1, st ;
  pid_t pid ;
  if (!argv || !conf_prog(c, "enqueue", &path)) goto end ;
  argv[n++] = path.s ;
  if (r->conffile) { argv[n++] = "-C" ; argv[n++] = r->conffile ; }
  argv[n++] = "-S" ;
  if (r->auth) { argv[n++] = "-a" ; argv[n++] = r->auth ; }
  if (r->flags & ENQCLIENT_F_HOLD) { argv[n++] = "-H" ; argv[n++] = r->reason ? r->reason : "" ; }
  if (r->flags & ENQCLIENT_F_SIGN) argv[n++] = "-D" ;
  if (r->flags & ENQCLIENT_F_LOCAL) argv[n++] = "-l" ;
  if (r->flags & ENQCLIENT_F_NOSIGN) argv[n++] = "-N" ;
  argv[n++] = "-f" ; argv[n++] = r->sender ;
  /* "--": a recipient may start with '-' and must stay data */
  argv[n++] = "--" ;
  for (; nrcpt-- ; off += strlen(r->rcpts + off) + 1) argv[n++] = r->rcpts + off ;
  argv[n] = 0 ;
  pid = child_spawn2(path.s, argv, (char const *const *)environ, fds) ;
  if (!pid) goto end ;
  /* child_spawn2's pipes are nonblocking: enqclient_id waits on a deadline, or blocks without one */
  if ((r->deadline || ndelay_off(fds[0]) == 0) && enqclient_id(fds[0], h->id, r->deadline, &st, 0))
  {
    fd_close(fds[0]) ;
    /* enqueue is a local, bounded reader: the message is written blocking */
    if (ndelay_off(fds[1]) == 0) { h->fd = fds[1] ; h->pid = pid ; code = 0 ; goto end ; }
    fd_close(fds[1]) ;
    reap(pid, 0) ;
    goto end ;
  }
  /* no id: it refused the envelope, said why on stderr, and exits */
  fd_close(fds[1]) ;
  fd_close(fds[0]) ;
  code = reap(pid, diag) ;
  if (!code) code = 111 ;
 end:
  alloc_free(argv) ;
  stralloc_free(&path) ;
  return code ;
}

int enqclient_submit (enqclient *h, conf const *c, enqclient_req const *r, stralloc *diag)
{
  int fd = h->kept ;
  h->fd = -1 ; h->pid = 0 ; h->id[0] = 0 ; h->shut = 0 ; h->kept = -1 ;
  if (c->enqueue_socket)
  {
    /* a kept socket first, then at most one new one */
    int fresh = fd < 0 ;
    for (;;)
    {
      int st = -1, e ;
      if (fd < 0) fd = enqclient_connect(c->sa.s + c->enqueue_socket) ;
      if (fd < 0) break ;
      if (enqclient_request(fd, r) && enqclient_id(fd, h->id, r->deadline, &st, diag))
      {
        h->fd = fd ;
        return 0 ;
      }
      e = errno ;
      fd_close(fd) ;
      fd = -1 ;
      if (st >= 0) return st ? st : 111 ;
      /* closed by the server since the last message: no id, nothing queued (enqclient.h) */
      if (fresh || (e != EPIPE && e != ECONNRESET)) break ;
      fresh = 1 ;
    }
    /* no server, or none that answered: enqueue, as without the socket (enqclient.h) */
  }
  else if (fd >= 0) fd_close(fd) ;
  return spawn(h, c, r, diag) ;
}

char const *enqclient_reason (char *dst, char const *s, size_t len)
{
  size_t i = 0 ;
  if (len > ENQCLIENT_REASON_MAX) len = ENQCLIENT_REASON_MAX ;
  for (; i < len ; i++) dst[i] = (unsigned char)s[i] < 32 || (unsigned char)s[i] > 126 ? '?' : s[i] ;
  dst[len] = 0 ;
  return len ? dst : 0 ;
}

int enqclient_stuff_to (enqclient_put_fn *put, void *ctx, char const *s, size_t len)
{
  size_t pos = 0 ;
  while (pos < len)
  {
    char const *nl = memchr(s + pos, '\n', len - pos) ;
    size_t n = nl ? (size_t)(nl - (s + pos)) + 1 : len - pos ;
    if ((s[pos] == '.' && !(*put)(ctx, ".", 1)) || !(*put)(ctx, s + pos, n) || (!nl && !(*put)(ctx, "\n", 1))) return 0 ;
    pos += n ;
  }
  return (*put)(ctx, ".\n", 2) ;
}

static int stuff_sa (void *sa, char const *s, size_t len)
{
  return stralloc_catb((stralloc *)sa, s, len) ;
}

int enqclient_stuff (stralloc *sa, char const *s, size_t len)
{
  size_t start = sa->len ;
  if (enqclient_stuff_to(&stuff_sa, sa, s, len)) return 1 ;
  sa->len = start ;
  return 0 ;
}

void enqclient_abort (enqclient *h)
{
  if (h->fd < 0) return ;
  /* a socket stays open for the code: only its writing side ends */
  if (!h->pid) { shutdown(h->fd, SHUT_WR) ; h->shut = 1 ; }
  else { fd_close(h->fd) ; h->fd = -1 ; }
}

int enqclient_finish (enqclient *h, stralloc *diag)
{
  int code = 111 ;
  if (!h->pid)
  {
    if (h->fd >= 0)
    {
      int clean ;
      code = enqclient_answer(h->fd, diag, &clean) ;
      if (h->keep && clean && !h->shut) h->kept = h->fd ;
      else fd_close(h->fd) ;
    }
  }
  else
  {
    if (h->fd >= 0) fd_close(h->fd) ;
    code = reap(h->pid, diag) ;
  }
  h->fd = -1 ; h->pid = 0 ;
  return code ;
}

void enqclient_close (enqclient *h)
{
  if (h->kept >= 0) fd_close(h->kept) ;
  h->kept = -1 ;
}
