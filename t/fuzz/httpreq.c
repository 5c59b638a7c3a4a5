/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/httpreq: any octets give one of the answers;
 * HEAD only for a well-formed request (200 or 404); the answer depends
 * on no octet beyond HTTPREQ_MAX, and a complete head
 * keeps its answer whatever follows it.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "httpreq.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  int head, head2 ;
  enum httpreq_status r = httpreq_parse(s, size, &head), r2 ;
  if (r > HTTPREQ_TOOLONG || (head && r != HTTPREQ_METRICS && r != HTTPREQ_NOTFOUND)) abort() ;
  if (r == HTTPREQ_TOOLONG && size < HTTPREQ_MAX) abort() ;
  if (size > HTTPREQ_MAX && httpreq_parse(s, HTTPREQ_MAX, &head2) != r) abort() ;
  /* a prefix that already answers gives the same answer as the whole */
  if (size > 1)
  {
    r2 = httpreq_parse(s, size - 1, &head2) ;
    if (r2 != HTTPREQ_MORE && r2 != HTTPREQ_TOOLONG && (r2 != r || head2 != head)) abort() ;
  }
  return 0 ;
}
