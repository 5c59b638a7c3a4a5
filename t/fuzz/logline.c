/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/logline: any octets as a log line. The JSON
 * made of them is one line (a newline last, none before), starts as
 * every object does, and has no octet below 0x20 and no octet outside
 * UTF-8 (RFC 8259 sections 7 and 8.1); its length stays within the
 * bound of the header (6 octets out per octet in, plus the fixed names).
 * The level is one of the four.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "logline.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

/* 1 when s is UTF-8 (RFC 3629 section 4) */
static int utf8 (unsigned char const *s, size_t n)
{
  size_t i = 0 ;
  while (i < n)
  {
    unsigned char c = s[i] ;
    size_t k, need ;
    unsigned char lo = 0x80, hi = 0xbf ;
    if (c < 0x80) { i++ ; continue ; }
    if (c >= 0xc2 && c <= 0xdf) need = 1 ;
    else if (c >= 0xe0 && c <= 0xef) { need = 2 ; if (c == 0xe0) lo = 0xa0 ; if (c == 0xed) hi = 0x9f ; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3 ; if (c == 0xf0) lo = 0x90 ; if (c == 0xf4) hi = 0x8f ; }
    else return 0 ;
    for (k = 1 ; k <= need ; k++)
    {
      if (i + k >= n || s[i+k] < lo || s[i+k] > hi) return 0 ;
      lo = 0x80 ; hi = 0xbf ;
    }
    i += need + 1 ;
  }
  return 1 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static char const head[] = "{\"time\":\"t\",\"program\":\"p\",\"level\":\"" ;
  stralloc sa = STRALLOC_ZERO ;
  char const *s = (char const *)data ;
  size_t i ;
  if (logline_level(s, size) >= LOGLINE_LEVELS) abort() ;
  if (!logline_json(&sa, s, size, "t", "p")) abort() ;
  if (sa.len < sizeof(head) || memcmp(sa.s, head, sizeof(head) - 1) || sa.s[sa.len - 1] != '\n' || sa.s[sa.len - 2] != '}') abort() ;
  if (sa.len > 6 * size + 200) abort() ;
  for (i = 0 ; i + 1 < sa.len ; i++) if ((unsigned char)sa.s[i] < 0x20) abort() ;
  if (!utf8((unsigned char const *)sa.s, sa.len)) abort() ;
  stralloc_free(&sa) ;
  return 0 ;
}
