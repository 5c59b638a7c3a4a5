/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/netstr: netstrings one after another, with a
 * payload limit; what is found lies inside the input and ends at its comma.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "netstr.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  size_t pos = 0, max = size ? data[0] * 16 : 0 ;
  while (pos < size)
  {
    size_t start, len, used ;
    int r = netstr_next(s + pos, size - pos, max, &start, &len, &used) ;
    if (r < 0 || !r) break ;
    if (r != 1 || len > max || start + len >= size - pos || s[pos + start + len] != ',' || used != start + len + 1 || s[pos + start - 1] != ':') abort() ;
    pos += used ;
  }
  return 0 ;
}
