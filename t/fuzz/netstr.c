/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/netstr: netstrings one after another, with a
 * payload limit; what is found lies inside the input and ends at its
 * comma. A payload made only of fields, split and written back with
 * netstr_field and netstr_seal, is the same netstring.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "netstr.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc w = STRALLOC_ZERO ;
  char const *s = (char const *)data ;
  size_t pos = 0, max = size ? data[0] * 16 : 0 ;
  while (pos < size)
  {
    char const *f[64] ;
    size_t start, len, used, n, i ;
    int r = netstr_next(s + pos, size - pos, max, &start, &len, &used) ;
    if (r < 0 || !r) break ;
    if (r != 1 || len > max || start + len >= size - pos || s[pos + start + len] != ',' || used != start + len + 1 || s[pos + start - 1] != ':') abort() ;
    n = netstr_fields(s + pos + start, len, f, 64) ;
    if (n > 64 || n != netstr_fields(s + pos + start, len, 0, 64)) abort() ;
    w.len = 0 ;
    for (i = 0 ; i < n ; i++)
    {
      if (f[i] < s + pos + start || f[i] + strlen(f[i]) >= s + pos + start + len) abort() ;
      if (!netstr_field(&w, f[i])) abort() ;
    }
    if (!netstr_seal(&w, 0, max)) abort() ;
    /* all of it in fields: written back, the same octets (a length with leading zeros aside) */
    if (len && !s[pos + start + len - 1] && n < 64 && s[pos] != '0' && (w.len != used || memcmp(w.s, s + pos, used))) abort() ;
    pos += used ;
  }
  stralloc_free(&w) ;
  return 0 ;
}
