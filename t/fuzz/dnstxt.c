/* ISC license: see LICENSE. */
/* libFuzzer harness for lib/dns: TXT and PTR answers as ketch-doctor reads them. Run with `make fuzz` (t/fuzz/README). */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "dns.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc sa = STRALLOC_ZERO ;
  if (dns_txt_parse(data, size, &sa) == DNS_OK && (!sa.len || sa.s[sa.len - 1])) abort() ;
  sa.len = 0 ;
  if (dns_ptr_parse(data, size, &sa) == DNS_OK && (!sa.len || sa.s[sa.len - 1])) abort() ;
  stralloc_free(&sa) ;
  return 0 ;
}
