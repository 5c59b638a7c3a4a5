/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for the DATA encoder: whatever the input, the output
 * holds no bare CR or LF, ends with CRLF.CRLF, holds no CRLF.CRLF before
 * that, and un-stuffing it gives back the input's lines.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L \
 *     -D_XOPEN_SOURCE=700 -Ilib t/fuzz/smtpdata.c lib/smtpdata.c -lskarnet -o /tmp/fz
 *   /tmp/fz -max_total_time=60 t/fuzz/corpus/smtpdata
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
  stralloc_free(&w) ;
  return 0 ;
}
