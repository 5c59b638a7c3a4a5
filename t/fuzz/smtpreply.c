/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for the SMTP client's reply parser and EHLO reader.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "smtpreply.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  smtpreply r = SMTPREPLY_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  char const *s = (char const *)data ;
  size_t pos = 0 ;
  while (pos < size)
  {
    char const *nl = memchr(s + pos, '\n', size - pos) ;
    size_t len = nl ? (size_t)(nl - (s + pos)) : size - pos ;
    int x = smtpreply_line(&r, s + pos, len) ;
    pos += len + 1 ;
    if (x < 0) { smtpreply_reset(&r) ; continue ; }
    if (x)
    {
      smtpreply_ext e ;
      size_t p = 0, l ;
      char const *t ;
      if (r.code < 200 || r.code > 559) abort() ;
      sa.len = 0 ;
      if (!smtpreply_oneline(&r, &sa)) abort() ;
      if (memchr(sa.s, '\n', sa.len)) abort() ;
      smtpreply_ehlo(&r, &e) ;
      while (smtpreply_next(&r, &p, &t, &l)) if (l && (t < r.text.s || l > r.text.len || t > r.text.s + (r.text.len - l))) abort() ;
    }
  }
  smtpreply_free(&r) ;
  stralloc_free(&sa) ;
  return 0 ;
}
