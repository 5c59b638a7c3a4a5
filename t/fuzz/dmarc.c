/* ISC license: see LICENSE. */
/* libFuzzer harness for lib/dmarc: the input as a DMARC record. Run with `make fuzz` (t/fuzz/README). */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "dmarc.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  dmarc d ;
  size_t at ;
  char const *why = 0 ;
  (void)dmarc_is_record((char const *)data, size) ;
  if (dmarc_parse((char const *)data, size, &d, &at, &why))
  {
    if (d.p == DMARC_P_UNSET || d.p > DMARC_P_REJECT || d.sp > DMARC_P_REJECT || d.pct > 100) abort() ;
  }
  else if (at > size || !why) abort() ;
  return 0 ;
}
