/* ISC license: see LICENSE. */
/* libFuzzer: the message normaliser never emits a bare CR, NUL or long line,
   whatever the input and however it is split. */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "message.h"

static void run (uint8_t const *data, size_t size, unsigned int options, size_t step)
{
  message m = MESSAGE_ZERO ;
  stralloc out = STRALLOC_ZERO ;
  size_t i = 0, k, line = 0 ;
  m.options = options ;
  m.max = 1 << 20 ;
  while (i < size && !m.err && !m.done)
  {
    size_t n = size - i < step ? size - i : step ;
    size_t used = message_feed(&m, (char const *)data + i, n, &out) ;
    if (used == (size_t)-1) abort() ;
    if (used > n) abort() ;
    i += used ;
    if (used < n && !m.err && !m.done) abort() ;
  }
  if (!m.err && !m.done) message_finish(&m, &out) ;
  for (k = 0 ; k < out.len ; k++)
  {
    if (!out.s[k] || out.s[k] == '\r') abort() ;
    if (out.s[k] == '\n') line = 0 ;
    else if (++line > MESSAGE_LINE_MAX) abort() ;
  }
  if (!m.err && out.len && out.s[out.len - 1] != '\n') abort() ;
  stralloc_free(&out) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  size_t step = size ? (data[0] % 7) + 1 : 1 ;
  run(data, size, 0, size ? size : 1) ;
  run(data, size, MESSAGE_DOTS, step) ;
  return 0 ;
}
