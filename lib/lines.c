/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>

#include "lines.h"

void lines_take (stralloc *buf, void (*f)(char *, size_t))
{
  size_t pos = 0 ;
  for (;;)
  {
    size_t len = byte_chr(buf->s + pos, buf->len - pos, '\n') ;
    if (pos + len >= buf->len) break ;
    buf->s[pos + len] = 0 ;
    f(buf->s + pos, len) ;
    pos += len + 1 ;
  }
  memmove(buf->s, buf->s + pos, buf->len - pos) ;
  buf->len -= pos ;
}

void lines_read (int fd, stralloc *buf, size_t max, void (*f)(char *, size_t))
{
  char b[4096] ;
  for (;;)
  {
    ssize_t r = fd_read(fd, b, sizeof(b)) ;
    if (r <= 0) break ;
    if (!stralloc_catb(buf, b, r)) break ;
    lines_take(buf, f) ;
    if (buf->len > max) buf->len = 0 ;
    /* drained: what comes next wakes the caller's poll again */
    if ((size_t)r < sizeof(b)) break ;
  }
}
