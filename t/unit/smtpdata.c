/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "tap.h"
#include "smtpdata.h"

static int enc (char const *in, size_t inlen, char const *want, uint64_t wantsize, int want8)
{
  stralloc sa = STRALLOC_ZERO ;
  uint64_t size = 12345 ;
  int e8 = 0, r ;
  r = smtpdata_encode(in, inlen, &sa, &size, &e8)
   && sa.len == strlen(want) && !memcmp(sa.s, want, sa.len)
   && size == wantsize && e8 == want8 ;
  if (!r) printf("# got %zu octets, size %llu: %.*s\n", sa.len, (unsigned long long)size, (int)sa.len, sa.s) ;
  stralloc_free(&sa) ;
  return r ;
}

#define ENC(in, want, size, e8) enc(in, sizeof(in) - 1, want, size, e8)

int main (void)
{
  tap_plan(11) ;
  ok(ENC("", ".\r\n", 0, 0), "empty message: just the final dot") ;
  ok(ENC("a\n", "a\r\n.\r\n", 3, 0), "LF becomes CRLF") ;
  ok(ENC("a\nb", "a\r\nb\r\n.\r\n", 6, 0), "a last line without LF gets CRLF") ;
  ok(ENC(".\n..\n.x\nx.\n", "..\r\n...\r\n..x\r\nx.\r\n.\r\n", 15, 0), "leading dots are doubled, others kept; size counts them once") ;
  ok(ENC(".", "..\r\n.\r\n", 3, 0), "a lone dot without LF is stuffed too") ;
  ok(ENC("a\r\nb\n", "a\r\nb\r\n.\r\n", 6, 0), "CRLF in the input stays one line end") ;
  ok(ENC("a\rb\n", "a b\r\n.\r\n", 5, 0), "a bare CR becomes a space") ;
  ok(ENC("a\r", "a \r\n.\r\n", 4, 0), "a final bare CR becomes a space") ;
  ok(ENC("\n\n", "\r\n\r\n.\r\n", 4, 0), "empty lines") ;
  ok(ENC("caf\303\251\n", "caf\303\251\r\n.\r\n", 7, 1), "8-bit octets are found") ;
  ok(ENC("\r\n.\r\n", "\r\n..\r\n.\r\n", 5, 0), "a dot after a CRLF is stuffed") ;
  return tap_done() ;
}
