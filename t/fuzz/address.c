/* ISC license: see LICENSE. */
/* libFuzzer: address_parse is total, bounded, and its output re-parses to itself. */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "address.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static unsigned int const opts[4] = { 0, ADDRESS_NULL_OK | ADDRESS_UTF8, ADDRESS_BRACKETS | ADDRESS_NODOMAIN_OK, ADDRESS_UTF8 | ADDRESS_BRACKETS } ;
  unsigned int i = 0 ;
  for (; i < 4 ; i++)
  {
    address a = ADDRESS_ZERO, b = ADDRESS_ZERO ;
    if (address_parse(&a, (char const *)data, size, opts[i])) continue ;
    if (a.len > ADDRESS_MAX || strlen(a.s) != a.len) abort() ;
    if (memchr(a.s, '\n', a.len) || memchr(a.s, '\r', a.len)) abort() ;
    /* canonical is a fixed point */
    if (a.len && !(a.flags & ADDRESS_F_ROUTE))
    {
      if (address_parse(&b, a.s, a.len, opts[i] & ~ADDRESS_BRACKETS)) abort() ;
      if (strcmp(a.s, b.s)) abort() ;
    }
  }
  return 0 ;
}
