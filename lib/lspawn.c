/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/unixmessage.h>
#include <skalibs/netstring.h>
#include <skalibs/djbunix.h>
#include <skalibs/allreadwrite.h>

#include "exitcodes.h"
#include "lspawn.h"
#include "netstr.h"
#include "text.h"

int lspawn_request (stralloc *sa, unsigned int tag, char const *id, unsigned int timeout, char const *sender, char const *rcpt, char const *orig)
{
  char t[UINT_FMT], d[UINT_FMT] ;
  size_t len = sa->len ;
  t[uint_fmt(t, tag)] = 0 ;
  d[uint_fmt(d, timeout)] = 0 ;
  if (netstr_field(sa, t) && netstr_field(sa, id) && netstr_field(sa, d)
   && netstr_field(sa, sender) && netstr_field(sa, rcpt) && netstr_field(sa, orig ? orig : "")) return 1 ;
  sa->len = len ;
  return 0 ;
}

int lspawn_request_next (char const *s, size_t n, size_t *start, size_t *len, size_t *used)
{
  return netstr_next(s, n, LSPAWN_REQ_MAX, start, len, used) ;
}

unsigned int lspawn_fields (char const *s, size_t len, char const **f, unsigned int max)
{
  return netstr_fields(s, len, f, max) ;
}

int lspawn_report (stralloc *sa, char const *tag, char const *code, char const *text, size_t len)
{
  return stralloc_cats(sa, tag) && stralloc_catb(sa, " ", 1) && stralloc_cats(sa, code) && stralloc_catb(sa, " ", 1)
   && text_printable_cat(sa, text, len) && stralloc_catb(sa, "\n", 1) ;
}

int lspawn_report_parse (char const *line, unsigned int *tag, unsigned int *code, char const **text)
{
  size_t k = uint_scan(line, tag) ;
  *code = KETCH_EX_TEMP ;
  *text = "" ;
  if (!k || line[k] != ' ') return 0 ;
  if (line[k+1] == 't') { if (line[k+2] == ' ') *text = line + k + 3 ; }
  else
  {
    size_t m = uint_scan(line + k + 1, code) ;
    /* a garbled code (junk after it, or beyond 255) is temporary, never a delivery */
    if (!m || *code > 255 || (line[k+1+m] && line[k+1+m] != ' ')) *code = KETCH_EX_TEMP ;
    else if (line[k+1+m] == ' ') *text = line + k + 2 + m ;
  }
  return 1 ;
}

int lspawn_send (unixmessage_sender *s, char const *payload, size_t len, int *fds, unsigned int nfds)
{
  unixmessage m = { .s = (char *)payload, .len = len, .fds = fds, .nfds = nfds } ;
  int ok ;
  if (!unixmessage_put(s, &m)) return 0 ;
  /* a blocking socket: flush returns once all is sent, or on an error */
  while (!(ok = unixmessage_sender_flush(s)) && errno == EINTR) ;
  if (!ok)
  {
    int e = errno ;
    unixmessage_unput(s) ;
    errno = e ;
  }
  return ok ;
}

int lspawn_job_send (int s, int fd, char const *args, size_t len, stralloc *buf)
{
  union { struct cmsghdr h ; char b[CMSG_SPACE(sizeof(int))] ; } ctl ;
  struct iovec v ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) } ;
  struct cmsghdr *c ;
  ssize_t w ;
  if (len > LSPAWN_REQ_MAX) return (errno = EMSGSIZE, 0) ;
  buf->len = 0 ;
  if (!netstring_appendb(buf, args, len)) return 0 ;
  memset(&ctl, 0, sizeof(ctl)) ;
  c = CMSG_FIRSTHDR(&m) ;
  c->cmsg_level = SOL_SOCKET ;
  c->cmsg_type = SCM_RIGHTS ;
  c->cmsg_len = CMSG_LEN(sizeof(int)) ;
  memcpy(CMSG_DATA(c), &fd, sizeof(int)) ;
  v.iov_base = buf->s ;
  v.iov_len = buf->len ;
  do w = sendmsg(s, &m, MSG_NOSIGNAL) ;
  while (w < 0 && errno == EINTR) ;
  if (w <= 0) return 0 ;
  /* the descriptor went with the first octet; a stream socket may take the rest later */
  return (size_t)w == buf->len || allwrite(s, buf->s + w, buf->len - w) == buf->len - (size_t)w ;
}

int lspawn_job_recv (int s, stralloc *sa, size_t *start, size_t *len, int *fd)
{
  union { struct cmsghdr h ; char b[CMSG_SPACE(sizeof(int))] ; } ctl ;
  struct iovec v ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) } ;
  struct cmsghdr *c ;
  size_t used ;
  ssize_t r ;
  int k, got = -1 ;
  sa->len = 0 ;
  if (!stralloc_readyplus(sa, 4096)) return -1 ;
  v.iov_base = sa->s ;
  v.iov_len = 4096 ;
  do
#ifdef MSG_CMSG_CLOEXEC
    r = recvmsg(s, &m, MSG_CMSG_CLOEXEC) ;
#else
    r = recvmsg(s, &m, 0) ;
#endif
  while (r < 0 && errno == EINTR) ;
  if (r <= 0) return r ? -1 : 0 ;
  sa->len = r ;
  for (c = CMSG_FIRSTHDR(&m) ; c ; c = CMSG_NXTHDR(&m, c))
  {
    size_t i = 0, n ;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0)) continue ;
    n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) ;
    for (; i < n ; i++)
    {
      int x ;
      memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int)) ;
      /* one descriptor, the first: any other is closed */
      if (got < 0) got = x ; else fd_close(x) ;
    }
  }
#ifndef MSG_CMSG_CLOEXEC
  if (got >= 0 && coe(got) < 0) goto err ;
#endif
  if (got < 0 || m.msg_flags & MSG_CTRUNC) { errno = EPROTO ; goto err ; }
  while (!(k = lspawn_request_next(sa->s, sa->len, start, len, &used)))
  {
    if (!stralloc_readyplus(sa, 4096)) goto err ;
    r = fd_read(s, sa->s + sa->len, 4096) ;
    if (r <= 0) { if (!r) errno = EPROTO ; goto err ; }
    sa->len += r ;
  }
  /* nothing may follow a request before its answer */
  if (k < 0 || used != sa->len) { errno = EPROTO ; goto err ; }
  *fd = got ;
  return 1 ;
 err:
  if (got >= 0) { int e = errno ; fd_close(got) ; errno = e ; }
  return -1 ;
}
