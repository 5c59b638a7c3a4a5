/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>

#include "netstr.h"

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
