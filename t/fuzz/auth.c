/* ISC license: see LICENSE. */
/* libFuzzer: AUTH blobs (base64, RFC 4648) and the alias-entry splitter. */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "base64.h"
#include "lookup.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char out[1024] ;
  size_t olen = 0 ;
  stralloc sa = STRALLOC_ZERO ;
  ssize_t n ;
  if (base64_decode((char const *)data, size, out, sizeof(out), &olen))
  {
    /* whatever decodes, encodes to a decodable string of the same bytes */
    char again[1024] ;
    size_t alen = 0 ;
    if (olen > sizeof(out)) abort() ;
    if (!base64_cat(&sa, out, olen) || !base64_decode(sa.s, sa.len, again, sizeof(again), &alen) || alen != olen || memcmp(again, out, olen)) abort() ;
    sa.len = 0 ;
  }
  n = lookup_split_entries((char const *)data, size, &sa) ;
  if (n > 0)
  {
    size_t pos = 0 ;
    ssize_t k = 0 ;
    for (; k < n ; k++)
    {
      if (pos >= sa.len) abort() ;
      (void)lookup_entry_kind(sa.s + pos) ;
      pos += strlen(sa.s + pos) + 1 ;
    }
  }
  stralloc_free(&sa) ;
  return 0 ;
}
