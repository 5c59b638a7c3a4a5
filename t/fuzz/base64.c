/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/base64: any octets encode to BASE64_LEN of
 * them, in the alphabet, and decode back to themselves; whatever input
 * decodes stays within the bound and encodes to a string that decodes
 * to the same octets.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "base64.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static char out[4096], again[4096] ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *s = (char const *)data ;
  size_t n = 0, m = 0, i ;
  size_t max = size ? data[0] % (sizeof(out) + 1) : 0 ;
  if (!base64_cat(&sa, s, size) || sa.len != BASE64_LEN(size)) abort() ;
  for (i = 0 ; i < sa.len ; i++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", sa.s[i]) || !sa.s[i]) abort() ;
  if (size <= sizeof(out) && (!base64_decode(sa.s, sa.len, out, sizeof(out), &n) || n != size || memcmp(out, s, size))) abort() ;
  /* the input as base64, within a bound the first octet chooses */
  if (base64_decode(s, size, out, max, &n))
  {
    if (n > max || n > size / 4 * 3) abort() ;
    sa.len = 0 ;
    if (!base64_cat(&sa, out, n) || !base64_decode(sa.s, sa.len, again, sizeof(again), &m) || m != n || memcmp(again, out, n)) abort() ;
  }
  stralloc_free(&sa) ;
  return 0 ;
}
