/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include <skalibs/djbunix.h>
#include <skalibs/socket.h>

#include "httpsget.h"

/* the header section is small for a static file: more is a hostile server */
#define HEADER_MAX 8192

static int ci_prefix (char const *s, size_t len, char const *p)
{
  size_t n = strlen(p) ;
  return len >= n && !strncasecmp(s, p, n) ;
}

int httpsget_response (char const *s, size_t len, int eof, size_t *off, size_t *blen, char const **why)
{
  char const *end = 0 ;
  size_t i, hend, clen = 0 ;
  int haslen = 0, type = 0 ;
  /* the header section ends at the first empty line (RFC 9112 §2.1; a bare LF tolerated, §2.2) */
  for (i = 0 ; i < len && i < HEADER_MAX ; i++)
    if (s[i] == '\n' && ((i >= 1 && s[i-1] == '\n') || (i >= 2 && s[i-1] == '\r' && s[i-2] == '\n'))) { end = s + i + 1 ; break ; }
  if (!end)
  {
    if (len >= HEADER_MAX) return (*why = "the response header is too long", -1) ;
    return eof ? (*why = "the response ended in its header", -1) : 0 ;
  }
  hend = (size_t)(end - s) ;
  /* status-line = HTTP-version SP status-code SP [reason-phrase] (RFC 9112 §4) */
  if (hend < 12 || memcmp(s, "HTTP/1.", 7) || s[8] != ' ') return (*why = "not an HTTP/1 response", -1) ;
  if (memcmp(s + 9, "200", 3) || (s[12] != ' ' && s[12] != '\r' && s[12] != '\n'))
    return (*why = s[9] == '3' ? "a redirect (RFC 8461 §3.3: not followed)" : "the status is not 200", -1) ;
  for (i = 0 ; i < hend && s[i] != '\n' ; i++) ;
  for (i++ ; i < hend ;)
  {
    char const *nl = memchr(s + i, '\n', hend - i) ;
    size_t e = nl ? (size_t)(nl - s) : hend, ls = i, vs ;
    i = e + 1 ;
    if (e > ls && s[e-1] == '\r') e-- ;
    if (e == ls) break ;
    if (ci_prefix(s + ls, e - ls, "content-length:"))
    {
      size_t k ;
      for (vs = ls + 15 ; vs < e && (s[vs] == ' ' || s[vs] == '\t') ; vs++) ;
      if (haslen++ || vs == e) return (*why = "a bad Content-Length", -1) ;
      for (k = vs ; k < e && s[k] != ' ' && s[k] != '\t' ; k++)
      {
        if (s[k] < '0' || s[k] > '9' || clen > ((size_t)1 << 30)) return (*why = "a bad Content-Length", -1) ;
        clen = clen * 10 + (size_t)(s[k] - '0') ;
      }
    }
    else if (ci_prefix(s + ls, e - ls, "content-type:"))
    {
      for (vs = ls + 13 ; vs < e && (s[vs] == ' ' || s[vs] == '\t') ; vs++) ;
      /* §3.3: the policy is text/plain; parameters (charset) allowed */
      if (type++ || !ci_prefix(s + vs, e - vs, "text/plain") || (e - vs > 10 && s[vs+10] != ';' && s[vs+10] != ' ' && s[vs+10] != '\t'))
        return (*why = "the Content-Type is not text/plain", -1) ;
    }
    else if (ci_prefix(s + ls, e - ls, "transfer-encoding:"))
      return (*why = "a transfer coding (not taken for a policy)", -1) ;
  }
  if (!type) return (*why = "the Content-Type is not text/plain", -1) ;
  *off = hend ;
  if (haslen)
  {
    if (len - hend > clen) return (*why = "more body than its Content-Length", -1) ;
    if (len - hend < clen) return eof ? (*why = "the body is shorter than its Content-Length", -1) : 0 ;
    *blen = clen ;
    return 1 ;
  }
  if (!eof) return 0 ;
  *blen = len - hend ;
  return 1 ;
}

#define REQ_TAIL "\r\nAccept: text/plain\r\nConnection: close\r\nUser-Agent: ketch\r\n\r\n"

static int get (tlsclient *t, int fd, char const *host, char const *path, tlsclient_anchors const *a, size_t max, tain const *deadline, stralloc *body, char const **why)
{
  stralloc r = STRALLOC_ZERO ;
  size_t off = 0, blen = 0 ;
  int done = 0 ;
  if (!tlsclient_start(t, fd, host, TLSCLIENT_VERIFY, a, deadline))
  {
    int be = tlsclient_error(t) ;
    *why = be >= 32 && be < 64 ? "the certificate was not verified" : errno == ETIMEDOUT ? "timed out" : "TLS handshake failed" ;
    return 0 ;
  }
  if (!tlsclient_write(t, "GET ", 4) || !tlsclient_write(t, path, strlen(path))
   || !tlsclient_write(t, " HTTP/1.1\r\nHost: ", 17) || !tlsclient_write(t, host, strlen(host))
   || !tlsclient_write(t, REQ_TAIL, sizeof(REQ_TAIL) - 1)
   || !tlsclient_flush(t))
  {
    *why = errno == ETIMEDOUT ? "timed out" : "unable to send the request" ;
    return 0 ;
  }
  while (!done)
  {
    ssize_t n ;
    if (!stralloc_readyplus(&r, 4096)) { *why = "out of memory" ; goto err ; }
    n = tlsclient_read(t, r.s + r.len, 4096) ;
    if (n < 0) { *why = errno == ETIMEDOUT ? "timed out" : "the connection broke" ; goto err ; }
    r.len += n ;
    done = httpsget_response(r.s, r.len, !n, &off, &blen, why) ;
    if (done < 0) goto err ;
    if (!done && r.len > max + HEADER_MAX) { *why = "the response is too big" ; goto err ; }
  }
  if (blen > max) { *why = "the body is too big" ; goto err ; }
  if (!stralloc_catb(body, r.s + off, blen)) { *why = "out of memory" ; goto err ; }
  stralloc_free(&r) ;
  return 1 ;
 err:
  stralloc_free(&r) ;
  return 0 ;
}

int httpsget (ip46 const *ip, uint16_t port, char const *host, char const *path, tlsclient_anchors const *a, size_t max, tain const *deadline, stralloc *body, char const **why)
{
  /* the client's context holds a full-duplex record buffer: not on the stack */
  tlsclient *t = malloc(sizeof(tlsclient)) ;
  int fd, r = 0 ;
  if (!t) { *why = "out of memory" ; return 0 ; }
  fd = socket_tcp46_nbcoe(ip46_is6(ip)) ;
  if (fd < 0) { *why = "socket failed" ; free(t) ; return 0 ; }
  if (!socket_deadlineconnstamp46_g(fd, ip, port, deadline)) *why = errno == ETIMEDOUT ? "connection timed out" : "connection failed" ;
  else r = get(t, fd, host, path, a, max, deadline, body, why) ;
  fd_close(fd) ;
  free(t) ;
  return r ;
}
