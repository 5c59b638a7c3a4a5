/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/lspawn, the pipe protocol between the
 * scheduler and local-spawn: requests (netstrings of fields) and report
 * lines, which written back must parse the same.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "lspawn.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc in = STRALLOC_ZERO, w = STRALLOC_ZERO ;
  char const *s = (char const *)data ;
  size_t pos = 0, start, len, used ;
  while (pos < size)
  {
    char const *f[LSPAWN_FIELDS_MAX] ;
    unsigned int k, i ;
    int r = lspawn_request_next(s + pos, size - pos, &start, &len, &used) ;
    if (r <= 0) break ;
    if (start + len > size - pos || used > size - pos || !used) abort() ;
    k = lspawn_fields(s + pos + start, len, f, LSPAWN_FIELDS_MAX) ;
    if (k > LSPAWN_FIELDS_MAX) abort() ;
    for (i = 0 ; i < k ; i++)
      if (f[i] < s + pos + start || f[i] + strlen(f[i]) >= s + pos + start + len) abort() ;
    pos += used ;
  }
  if (!stralloc_catb(&in, s, size) || !stralloc_0(&in)) abort() ;
  pos = 0 ;
  while (pos < size)
  {
    char *nl = memchr(in.s + pos, '\n', size - pos) ;
    size_t e = nl ? (size_t)(nl - in.s) : size ;
    unsigned int tag, code, tag2, code2 ;
    char const *text, *text2 ;
    in.s[e] = 0 ;
    if (lspawn_report_parse(in.s + pos, &tag, &code, &text))
    {
      char fmt[16], cfmt[16] ;
      if (code > 255) abort() ;
      snprintf(fmt, sizeof(fmt), "%u", tag) ;
      snprintf(cfmt, sizeof(cfmt), "%u", code) ;
      w.len = 0 ;
      if (!lspawn_report(&w, fmt, cfmt, text, strlen(text)) || !stralloc_0(&w)) abort() ;
      if (strchr(w.s, '\n') != w.s + w.len - 2) abort() ;
      w.s[w.len - 2] = 0 ;
      if (!lspawn_report_parse(w.s, &tag2, &code2, &text2) || tag2 != tag || code2 != code) abort() ;
    }
    pos = e + 1 ;
  }
  stralloc_free(&in) ; stralloc_free(&w) ;
  return 0 ;
}
