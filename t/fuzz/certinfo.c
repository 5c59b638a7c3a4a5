/* ISC license: see LICENSE. */
/* libFuzzer harness for lib/certinfo: the input as a DER certificate (names, dates), and as two names to match. Run with `make fuzz` (t/fuzz/README). */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "certinfo.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc sa = STRALLOC_ZERO ;
  int64_t nb, na ;
  int n = certinfo_names(data, size, &sa) ;
  if (n >= 0)
  {
    size_t pos = 0 ;
    int k = 0 ;
    for (; pos < sa.len ; pos += strlen(sa.s + pos) + 1) k++ ;
    if (k != n) abort() ;
  }
  (void)certinfo_dates(data, size, &nb, &na) ;
  /* two NUL-terminated names from the input: "pattern\0host\0" */
  {
    char const *s = (char const *)data ;
    char const *z = memchr(s, 0, size) ;
    if (z && memchr(z + 1, 0, size - (z + 1 - s))) (void)certinfo_match(s, z + 1) ;
  }
  stralloc_free(&sa) ;
  return 0 ;
}
