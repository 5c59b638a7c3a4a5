/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for the DATA encoder: whatever the input, the output
 * holds no bare CR or LF, ends with CRLF.CRLF, holds no CRLF.CRLF before
 * that, and un-stuffing it gives back the input's lines.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "smtpdata.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc w = STRALLOC_ZERO ;
  uint64_t msize ;
  int e8 = 0 ;
  size_t i ;
  if (!smtpdata_encode((char const *)data, size, &w, &msize, &e8)) abort() ;
  if (w.len < 3 || memcmp(w.s + w.len - 3, ".\r\n", 3)) abort() ;
  if (w.len > 3 && (w.len < 5 || memcmp(w.s + w.len - 5, "\r\n", 2))) abort() ;
  for (i = 0 ; i < w.len ; i++)
  {
    if (w.s[i] == '\r' && (i + 1 >= w.len || w.s[i+1] != '\n')) abort() ;
    if (w.s[i] == '\n' && (!i || w.s[i-1] != '\r')) abort() ;
    /* a line that is a lone dot can only be the last one */
    if (w.s[i] == '.' && (!i || w.s[i-1] == '\n') && i + 3 < w.len && w.s[i+1] == '\r') abort() ;
  }
  if (msize > w.len) abort() ;
  for (i = 0 ; i < size ; i++) if (data[i] >= 128 && !e8) abort() ;
  {
    /* un-stuff and join with LF: the input, with CRLF as LF, a bare CR as a space, a final LF */
    stralloc back = STRALLOC_ZERO, want = STRALLOC_ZERO ;
    size_t pos = 0 ;
    while (pos < w.len - 3)
    {
      size_t e = pos ;
      while (w.s[e] != '\r') e++ ;
      if (w.s[pos] == '.') pos++ ;
      if (!stralloc_catb(&back, w.s + pos, e - pos) || !stralloc_catb(&back, "\n", 1)) abort() ;
      pos = e + 2 ;
    }
    for (i = 0 ; i < size ; i++)
    {
      char c = data[i] ;
      if (c == '\r') { if (i + 1 < size && data[i+1] == '\n') continue ; c = ' ' ; }
      if (!stralloc_catb(&want, &c, 1)) abort() ;
    }
    if (want.len && want.s[want.len - 1] != '\n' && !stralloc_catb(&want, "\n", 1)) abort() ;
    if (back.len != want.len || (want.len && memcmp(back.s, want.s, want.len))) abort() ;
    stralloc_free(&back) ; stralloc_free(&want) ;
  }
  stralloc_free(&w) ;
  return 0 ;
}
