/* ISC license: see LICENSE. */
/* libFuzzer harness for lib/dkimrec: the input as a DKIM key record. Run with `make fuzz` (t/fuzz/README). */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "dkimrec.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  dkimrec r ;
  size_t at ;
  char const *why = 0 ;
  char buf[256] ;
  if (dkimrec_parse(s, size, &r, &at, &why))
  {
    long n ;
    if (r.p > size || r.plen > size - r.p || r.k > size || r.klen > size - r.k) abort() ;
    n = dkimrec_pcompact(s, &r, buf, sizeof(buf)) ;
    if (n > (long)sizeof(buf) || n > (long)r.plen) abort() ;
  }
  else if (at > size || !why) abort() ;
  return 0 ;
}
