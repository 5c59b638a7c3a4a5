/* ISC license: see LICENSE. */
/* libFuzzer harness for lib/ststxt: the input as an MTA-STS and as a TLS-RPT TXT record. Run with `make fuzz` (t/fuzz/README). */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "ststxt.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  size_t id, idlen, at ;
  char const *why = 0 ;
  ststxt_rua rua ;
  (void)ststxt_is_sts(s, size) ;
  if (ststxt_sts_parse(s, size, &id, &idlen, &at, &why)) { if (!idlen || idlen > 32 || id > size || idlen > size - id) abort() ; }
  else if (at > size || !why) abort() ;
  why = 0 ;
  if (ststxt_tlsrpt_parse(s, size, &rua, &at, &why)) { if (!rua.n || rua.first > size || rua.firstlen > size - rua.first) abort() ; }
  else if (at > size || !why) abort() ;
  return 0 ;
}
