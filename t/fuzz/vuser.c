/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/vuser's passwd-file scan: the input's first
 * line is the address looked for, the rest the file. The scan fed the
 * file at once, an octet at a time and in pieces the input chooses
 * gives one answer, the answer of a plain reading of the file line by
 * line (its first field, whole address or bare name, '#' comments).
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "vuser.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static char lower (char c)
{
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c ;
}

/* the reference: does a line of f name addr */
static int plain (char const *f, size_t n, char const *addr, size_t alen, size_t llen)
{
  size_t i = 0 ;
  while (i < n)
  {
    char const *nl = memchr(f + i, '\n', n - i) ;
    size_t end = nl ? (size_t)(nl - f) : n ;
    char const *colon = memchr(f + i, ':', end - i) ;
    if (end > i && f[i] != '#' && colon)
    {
      size_t fl = colon - (f + i), k = 0 ;
      int at = !!memchr(f + i, '@', fl) ;
      if (fl == alen || (fl == llen && !at))
      {
        for (; k < fl && lower(f[i + k]) == addr[k] ; k++) ;
        if (k == fl) return 1 ;
      }
    }
    i = end + 1 ;
  }
  return 0 ;
}

static int fed (char const *f, size_t n, char const *addr, size_t alen, size_t llen, size_t step, uint8_t const *steps, size_t nsteps)
{
  vuser_scan s ;
  size_t i = 0, k = 0 ;
  vuser_scan_init(&s, addr, alen, llen) ;
  while (i < n)
  {
    size_t m = step ? step : 1 + (nsteps ? steps[k++ % nsteps] : 0) ;
    if (m > n - i) m = n - i ;
    if (vuser_scan_feed(&s, f + i, m)) return 1 ;
    i += m ;
  }
  return 0 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  char const *nl = memchr(s, '\n', size) ;
  char const *at ;
  size_t alen, llen ;
  int r ;
  if (!nl) return 0 ;
  alen = nl - s ;
  at = memchr(s, '@', alen) ;
  if (!at) return 0 ;
  llen = at - s ;
  r = plain(nl + 1, size - alen - 1, s, alen, llen) ;
  if (fed(nl + 1, size - alen - 1, s, alen, llen, size, 0, 0) != r) abort() ;
  if (fed(nl + 1, size - alen - 1, s, alen, llen, 1, 0, 0) != r) abort() ;
  if (fed(nl + 1, size - alen - 1, s, alen, llen, 0, data, alen) != r) abort() ;
  return 0 ;
}
