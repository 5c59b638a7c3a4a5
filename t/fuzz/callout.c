/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/callout's cache record parser: any octets,
 * as a slot file holds them (a hostile or broken cache is a miss, never
 * a crash). On a record, the address lies inside the input, without a
 * newline or a NUL, and the record read back from its parts is the input.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/types.h>

#include "callout.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  int positive ;
  uint64_t when ;
  size_t addr, addrlen ;
  if (!callout_record_parse(s, size, &positive, &when, &addr, &addrlen)) return 0 ;
  if (size > CALLOUT_RECORD_MAX || addr > size || addrlen > size - addr || !addrlen) abort() ;
  if (memchr(s + addr, '\n', addrlen) || memchr(s + addr, 0, addrlen)) abort() ;
  {
    char fmt[UINT64_FMT] ;
    size_t n = uint64_fmt(fmt, when) ;
    /* leading zeros read as the same time: the parts say no more than the input */
    if (s[0] != (positive ? 'P' : 'N') || s[size - 1] != '\n' || n > addr - 3) abort() ;
  }
  return 0 ;
}
