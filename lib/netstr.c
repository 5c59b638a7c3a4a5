/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include "netstr.h"

int netstr_field (stralloc *sa, char const *s)
{
  return stralloc_catb(sa, s, strlen(s) + 1) ;
}

int netstr_seal (stralloc *sa, size_t start, size_t max)
{
  char fmt[SIZE_FMT + 1] ;
  size_t plen = sa->len - start, h = size_fmt(fmt, plen) ;
  fmt[h++] = ':' ;
  if (plen > max) { sa->len = start ; return (errno = E2BIG, 0) ; }
  if (!stralloc_readyplus(sa, h + 1)) { sa->len = start ; return 0 ; }
  memmove(sa->s + start + h, sa->s + start, plen) ;
  memcpy(sa->s + start, fmt, h) ;
  sa->len += h ;
  sa->s[sa->len++] = ',' ;
  return 1 ;
}

int netstr_next (char const *s, size_t n, size_t max, size_t *start, size_t *len, size_t *used)
{
  size_t k = byte_chr(s, n, ':') ;
  char num[SIZE_FMT + 1] ;
  if (k >= n) return n > SIZE_FMT ? -1 : 0 ;
  if (!k || k > SIZE_FMT) return -1 ;
  memcpy(num, s, k) ; num[k] = 0 ;
  if (size_scan(num, len) != k || *len > max) return -1 ;
  if (n < k + 1 + *len + 1) return 0 ;
  if (s[k + 1 + *len] != ',') return -1 ;
  *start = k + 1 ;
  *used = k + 2 + *len ;
  return 1 ;
}

size_t netstr_fields (char const *s, size_t len, char const **f, size_t max)
{
  size_t pos = 0, n = 0 ;
  while (pos < len && n < max)
  {
    size_t k = byte_chr(s + pos, len - pos, 0) ;
    if (pos + k >= len) break ;
    if (f) f[n] = s + pos ;
    n++ ;
    pos += k + 1 ;
  }
  return n ;
}
