/* ISC license: see LICENSE. */
/* libFuzzer: queue entry heads and state files, as read back from disk. */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "envelope.h"
#include "qstate.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  envelope e = ENVELOPE_ZERO, f = ENVELOPE_ZERO ;
  qstate q = QSTATE_ZERO, r = QSTATE_ZERO ;
  stralloc sa = STRALLOC_ZERO, sb = STRALLOC_ZERO ;
  if (envelope_decode(&e, (char const *)data, size))
  {
    /* whatever decodes, encodes back to the same head, but for the pad lines (DKIM's room) before its empty line */
    if (e.hdrlen > size || !envelope_encode(&e, &sa)) abort() ;
    if (sa.len > e.hdrlen || memcmp(sa.s, data, sa.len - 1) || data[e.hdrlen - 1] != '\n') abort() ;
    if (!envelope_decode(&f, sa.s, sa.len)) abort() ;
  }
  if (qstate_decode(&q, (char const *)data, size))
  {
    if (!qstate_encode(&q, &sb) || !qstate_decode(&r, sb.s, sb.len)) abort() ;
  }
  envelope_free(&e) ; envelope_free(&f) ; qstate_free(&q) ; qstate_free(&r) ;
  stralloc_free(&sa) ; stralloc_free(&sb) ;
  return 0 ;
}
