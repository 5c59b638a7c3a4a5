/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/types.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "base64.h"
#include "dovecotauth.h"

/* the protocol's major version (a different major is not spoken) and our minor */
#define MAJOR 1
#define MINOR 2

/* a field of the line: [*pos, next TAB or end); 1, or 0 at the end */
static int field (char const *s, size_t len, size_t *pos, char const **f, size_t *flen)
{
  size_t i = *pos ;
  if (i > len) return 0 ;
  *f = s + i ;
  while (i < len && s[i] != '\t') i++ ;
  *flen = i - *pos ;
  *pos = i + 1 ;
  return 1 ;
}

static int is (char const *f, size_t n, char const *word)
{
  size_t w = strlen(word) ;
  return n == w && !memcmp(f, word, n) ;
}

/* a decimal number of the whole field, at most 10 digits (no overflow of 2^32) */
static int number (char const *f, size_t n, unsigned int *u)
{
  uint64_t v = 0 ;
  size_t i = 0 ;
  if (!n || n > 10) return 0 ;
  for (; i < n ; i++)
  {
    if (f[i] < '0' || f[i] > '9') return 0 ;
    v = v * 10 + (f[i] - '0') ;
  }
  if (v > 0xffffffffu) return 0 ;
  *u = v ;
  return 1 ;
}

/* the names of the commands a server sends, and their kinds */
static struct { char const *name ; enum dovecotauth_kind_e kind ; } const commands[] =
{
  { "VERSION", DOVECOTAUTH_VERSION },
  { "MECH", DOVECOTAUTH_MECH },
  { "SPID", DOVECOTAUTH_SPID },
  { "CUID", DOVECOTAUTH_CUID },
  { "COOKIE", DOVECOTAUTH_COOKIE },
  { "DONE", DOVECOTAUTH_DONE },
  { "OK", DOVECOTAUTH_OK },
  { "FAIL", DOVECOTAUTH_FAIL },
  { "CONT", DOVECOTAUTH_CONT },
} ;

enum dovecotauth_kind_e dovecotauth_parse (char const *s, size_t len, dovecotauth_reply *r)
{
  char const *f ;
  size_t n, pos = 0, i = 0 ;
  *r = (dovecotauth_reply)DOVECOTAUTH_REPLY_ZERO ;
  if (len > DOVECOTAUTH_LINE_MAX || !field(s, len, &pos, &f, &n) || !n) return r->kind = DOVECOTAUTH_BAD ;
  for (; i < sizeof(commands) / sizeof(commands[0]) ; i++) if (is(f, n, commands[i].name)) break ;
  if (i == sizeof(commands) / sizeof(commands[0])) return r->kind = DOVECOTAUTH_UNKNOWN ;
  switch (commands[i].kind)
  {
    case DOVECOTAUTH_VERSION :
    {
      unsigned int minor ;
      if (!field(s, len, &pos, &f, &n) || !number(f, n, &r->major)) return r->kind = DOVECOTAUTH_BAD ;
      if (!field(s, len, &pos, &f, &n) || !number(f, n, &minor)) return r->kind = DOVECOTAUTH_BAD ;
      break ;
    }
    case DOVECOTAUTH_MECH :
    {
      unsigned int m ;
      if (!field(s, len, &pos, &f, &n) || !n) return r->kind = DOVECOTAUTH_BAD ;
      m = n == 5 && case_startb(f, 5, "PLAIN") ? DOVECOTAUTH_PLAIN : n == 5 && case_startb(f, 5, "LOGIN") ? DOVECOTAUTH_LOGIN : 0 ;
      /* the flags: "private" is a mechanism not to be offered to clients */
      while (field(s, len, &pos, &f, &n)) if (is(f, n, "private")) m = 0 ;
      r->mech = m ;
      break ;
    }
    case DOVECOTAUTH_OK :
    case DOVECOTAUTH_FAIL :
      if (!field(s, len, &pos, &f, &n) || !number(f, n, &r->id)) return r->kind = DOVECOTAUTH_BAD ;
      /* optional fields: unknown ones are ignored (the protocol says so) */
      while (field(s, len, &pos, &f, &n))
      {
        if (n >= 5 && !memcmp(f, "user=", 5)) { r->data = f + 5 ; r->datalen = n - 5 ; }
        else if (is(f, n, "temp") || is(f, n, "code=temp_fail")) r->temp = 1 ;
      }
      break ;
    case DOVECOTAUTH_CONT :
      if (!field(s, len, &pos, &f, &n) || !number(f, n, &r->id)) return r->kind = DOVECOTAUTH_BAD ;
      if (!field(s, len, &pos, &f, &n)) { f = s + len ; n = 0 ; }
      r->data = f ; r->datalen = n ;
      break ;
    default : break ;
  }
  return r->kind = commands[i].kind ;
}

int dovecotauth_escape (stralloc *sa, char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    char e = s[i] == 0 ? '0' : s[i] == 1 ? '1' : s[i] == '\t' ? 't' : s[i] == '\r' ? 'r' : s[i] == '\n' ? 'n' : 0 ;
    if (e ? !stralloc_catb(sa, "\001", 1) || !stralloc_catb(sa, &e, 1) : !stralloc_catb(sa, s + i, 1)) return 0 ;
  }
  return 1 ;
}

ssize_t dovecotauth_unescape (char const *s, size_t len, char *out, size_t max)
{
  size_t i = 0, n = 0 ;
  for (; i < len ; i++)
  {
    char c = s[i] ;
    if (c == 1 && i + 1 < len)
    {
      c = s[++i] ;
      c = c == '0' ? 0 : c == '1' ? 1 : c == 't' ? '\t' : c == 'r' ? '\r' : c == 'n' || c == 'l' ? '\n' : c ;
    }
    if (n >= max) return -1 ;
    out[n++] = c ;
  }
  return n ;
}

static int catu (stralloc *sa, unsigned int u)
{
  char fmt[UINT_FMT] ;
  return stralloc_catb(sa, fmt, uint_fmt(fmt, u)) ;
}

int dovecotauth_hello_fmt (stralloc *sa, unsigned int pid)
{
  return stralloc_cats(sa, "VERSION\t") && catu(sa, MAJOR) && stralloc_catb(sa, "\t", 1) && catu(sa, MINOR)
    && stralloc_cats(sa, "\nCPID\t") && catu(sa, pid) && stralloc_catb(sa, "\n", 1) ;
}

int dovecotauth_auth_fmt (stralloc *sa, unsigned int id, unsigned int mech, unsigned int flags, char const *rip, char const *lip, char const *resp, size_t rlen)
{
  /* nologin: we only ask whether the credentials are right, no login follows (no userdb lookup) */
  if (!stralloc_cats(sa, "AUTH\t") || !catu(sa, id) || !stralloc_cats(sa, mech == DOVECOTAUTH_LOGIN ? "\tLOGIN" : "\tPLAIN")
   || !stralloc_cats(sa, "\tservice=smtp\tnologin")) return 0 ;
  /* secured: the client's connection is encrypted (Dovecot's disable_plaintext_auth looks at it) */
  if ((flags & DOVECOTAUTH_SECURED) && !stralloc_cats(sa, "\tsecured")) return 0 ;
  if (rip && (!stralloc_cats(sa, "\trip=") || !dovecotauth_escape(sa, rip, strlen(rip)))) return 0 ;
  if (lip && (!stralloc_cats(sa, "\tlip=") || !dovecotauth_escape(sa, lip, strlen(lip)))) return 0 ;
  /* an empty initial response is "resp=" (nothing), which base64 gives */
  return stralloc_cats(sa, "\tresp=") && base64_cat(sa, resp, rlen) && stralloc_catb(sa, "\n", 1) ;
}

int dovecotauth_cont_fmt (stralloc *sa, unsigned int id, char const *resp, size_t rlen)
{
  return stralloc_cats(sa, "CONT\t") && catu(sa, id) && stralloc_catb(sa, "\t", 1) && base64_cat(sa, resp, rlen) && stralloc_catb(sa, "\n", 1) ;
}

/* the client's I/O, every wait bounded by the deadline */

static int put (dovecotauth *d, char const *s, size_t len, tain const *deadline)
{
  while (len)
  {
    iopause_fd x = { .fd = d->fd, .events = IOPAUSE_WRITE, .revents = 0 } ;
    ssize_t r = fd_write(d->fd, s, len) ;
    int e ;
    if (r > 0) { s += r ; len -= r ; continue ; }
    if (r < 0 && !error_isagain(errno)) return 0 ;
    e = iopause_g(&x, 1, deadline) ;
    if (e < 0) return 0 ;
    if (!e) return (errno = ETIMEDOUT, 0) ;
  }
  return 1 ;
}

/* the next line (its LF removed, NUL-ended) at d->buf, its length in *n;
   the one returned before is dropped first. 1, or 0 and errno */
static void drop (dovecotauth *d)
{
  memmove(d->buf, d->buf + d->skip, d->len - d->skip) ;
  d->len -= d->skip ;
  d->skip = 0 ;
}

static int line_get (dovecotauth *d, size_t *n, tain const *deadline)
{
  drop(d) ;
  for (;;)
  {
    char *lf = memchr(d->buf, '\n', d->len) ;
    iopause_fd x = { .fd = d->fd, .events = IOPAUSE_READ, .revents = 0 } ;
    ssize_t r ;
    int e ;
    if (lf)
    {
      *n = lf - d->buf ;
      *lf = 0 ;
      d->skip = *n + 1 ;
      return 1 ;
    }
    /* a line longer than the protocol's limit: not Dovecot */
    if (d->len >= DOVECOTAUTH_LINE_MAX) return (errno = EPROTO, 0) ;
    r = fd_read(d->fd, d->buf + d->len, DOVECOTAUTH_LINE_MAX - d->len) ;
    if (r > 0) { d->len += r ; continue ; }
    if (!r) return (errno = ECONNRESET, 0) ;
    if (!error_isagain(errno)) return 0 ;
    e = iopause_g(&x, 1, deadline) ;
    if (e < 0) return 0 ;
    if (!e) return (errno = ETIMEDOUT, 0) ;
  }
}

void dovecotauth_close (dovecotauth *d)
{
  if (d->fd >= 0) fd_close(d->fd) ;
  d->fd = -1 ;
  d->len = d->skip = 0 ;
  d->mechs = 0 ;
}

int dovecotauth_open (dovecotauth *d, char const *path, tain const *deadline)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t n = 0 ;
  int version = 0 ;
  d->len = d->skip = 0 ; d->mechs = 0 ; d->id = 0 ;
  d->fd = ipc_stream_nbcoe() ;
  if (d->fd < 0) return 0 ;
  if (!ipc_timed_connect_g(d->fd, path, deadline)) goto err ;
  /* the client's half of the handshake goes at once, not after the server's (the protocol allows it) */
  if (!dovecotauth_hello_fmt(&sa, getpid())) goto err ;
  if (!put(d, sa.s, sa.len, deadline)) goto err ;
  stralloc_free(&sa) ;
  for (;;)
  {
    dovecotauth_reply r ;
    if (!line_get(d, &n, deadline)) goto err ;
    switch (dovecotauth_parse(d->buf, n, &r))
    {
      case DOVECOTAUTH_VERSION :
        if (r.major != MAJOR) { errno = EPROTO ; goto err ; }
        version = 1 ;
        break ;
      case DOVECOTAUTH_MECH : d->mechs |= r.mech ; break ;
      case DOVECOTAUTH_DONE :
        if (!version) { errno = EPROTO ; goto err ; }
        drop(d) ;
        return 1 ;
      case DOVECOTAUTH_SPID :
      case DOVECOTAUTH_CUID :
      case DOVECOTAUTH_COOKIE :
      case DOVECOTAUTH_UNKNOWN : break ;  /* a newer minor version may send more */
      default : errno = EPROTO ; goto err ;
    }
  }
 err:
  {
    int e = errno ;
    stralloc_free(&sa) ;
    dovecotauth_close(d) ;
    errno = e ;
    return 0 ;
  }
}

enum ketch_result dovecotauth_check (dovecotauth *d, unsigned int mech, char const *const *resp, size_t const *rlen, unsigned int nresp, unsigned int flags, char const *rip, char const *lip, stralloc *user, tain const *deadline)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t n = 0 ;
  unsigned int next = 1 ;
  user->len = 0 ;
  if (d->fd < 0 || !nresp) return (errno = EINVAL, KETCH_RESULT_TEMP) ;
  d->id++ ;
  if (!dovecotauth_auth_fmt(&sa, d->id, mech, flags, rip, lip, resp[0], rlen[0])) goto temp ;
  for (;;)
  {
    dovecotauth_reply r ;
    int ok = put(d, sa.s, sa.len, deadline) ;
    /* the request held a password: it leaves no copy behind */
    if (sa.s) byte_zzero(sa.s, sa.a) ;
    sa.len = 0 ;
    if (!ok) goto temp ;
    if (!line_get(d, &n, deadline)) goto temp ;
    dovecotauth_parse(d->buf, n, &r) ;
    /* an answer to another request, or no answer: not the protocol */
    if ((r.kind != DOVECOTAUTH_OK && r.kind != DOVECOTAUTH_FAIL && r.kind != DOVECOTAUTH_CONT) || r.id != d->id) { errno = EPROTO ; goto temp ; }
    if (r.kind == DOVECOTAUTH_CONT)
    {
      /* a challenge past our last response: a mechanism we do not drive */
      if (next >= nresp) { errno = EPROTO ; goto temp ; }
      if (!dovecotauth_cont_fmt(&sa, d->id, resp[next], rlen[next])) goto temp ;
      next++ ;
      continue ;
    }
    stralloc_free(&sa) ;
    if (r.kind == DOVECOTAUTH_FAIL)
    {
      if (r.temp) { dovecotauth_close(d) ; return (errno = EAGAIN, KETCH_RESULT_TEMP) ; }
      return KETCH_RESULT_PERM ;
    }
    if (r.data)
    {
      ssize_t k ;
      if (!stralloc_ready(user, DOVECOTAUTH_USER_MAX + 1)) { dovecotauth_close(d) ; return KETCH_RESULT_TEMP ; }
      k = dovecotauth_unescape(r.data, r.datalen, user->s, DOVECOTAUTH_USER_MAX) ;
      user->len = k > 0 ? k : 0 ;
      user->s[user->len] = 0 ;
    }
    return KETCH_RESULT_OK ;
  }
 temp:
  {
    int e = errno ;
    if (sa.s) byte_zzero(sa.s, sa.a) ;
    stralloc_free(&sa) ;
    dovecotauth_close(d) ;
    errno = e ;
    return KETCH_RESULT_TEMP ;
  }
}
