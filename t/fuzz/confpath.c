/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for conf_expand_path (lib/expand), the mailbox path
 * templates: input lines template, user, domain, home. A user or domain
 * that could climb out of its directory is refused, so an expanded path
 * holds no "/." that the template and home did not hold.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "expand.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc in = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  char *f[4] = { "", 0, 0, 0 } ;
  unsigned int n = 0 ;
  size_t pos = 0 ;
  if (!stralloc_catb(&in, (char const *)data, size) || !stralloc_0(&in)) abort() ;
  while (n < 4 && pos <= size)
  {
    char *nl = memchr(in.s + pos, '\n', size - pos) ;
    size_t e = nl ? (size_t)(nl - in.s) : size ;
    in.s[e] = 0 ;
    f[n++] = in.s + pos ;
    pos = e + 1 ;
  }
  if (conf_expand_path(f[0], f[1], f[2], f[3], &out))
  {
    if (!out.len || out.s[out.len - 1] || strlen(out.s) != out.len - 1) abort() ;
    if (strstr(out.s, "/.") && !strstr(f[0], "/.") && !(f[3] && strstr(f[3], "/.")) && !(f[0][0] == '~' && f[3] && strlen(f[3]) && f[3][strlen(f[3]) - 1] == '/' && f[0][2] == '.')) abort() ;
  }
  stralloc_free(&in) ; stralloc_free(&out) ;
  return 0 ;
}
