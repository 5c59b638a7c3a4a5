/* ISC license: see LICENSE. */

/* lib/base64: RFC 4648 §10's vectors both ways, the decoder's refusals and its bound */

#include <string.h>

#include <skalibs/stralloc.h>

#include "base64.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

static int enc_is (char const *in, size_t len, char const *want)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = stralloc_catb(&sa, "x", 1) && base64_cat(&sa, in, len) && sa.len == 1 + strlen(want) && sa.s[0] == 'x' && !memcmp(sa.s + 1, want, sa.len - 1) ;
  stralloc_free(&sa) ;
  return r ;
}

static int dec_is (char const *in, char const *want, size_t wlen)
{
  char out[64] ;
  size_t n = 99 ;
  return base64_decode(in, strlen(in), out, sizeof(out), &n) && n == wlen && !memcmp(out, want, wlen) ;
}

int main (void)
{
  static char const *const vec[7][2] = { { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } } ;
  char out[64] ;
  size_t n ;
  unsigned int i ;
  tap_plan(27) ;

  /* RFC 4648 §10 test vectors */
  for (i = 0 ; i < 7 ; i++) ok(enc_is(vec[i][0], strlen(vec[i][0]), vec[i][1]), "encode \"%s\", appended", vec[i][0]) ;
  for (i = 0 ; i < 7 ; i++) ok(dec_is(vec[i][1], vec[i][0], strlen(vec[i][0])), "decode \"%s\"", vec[i][1]) ;
  ok(enc_is("\0u\0p", 4, "AHUAcA=="), "AUTH PLAIN with NULs") ;
  ok(enc_is("Username:", 9, "VXNlcm5hbWU6"), "the LOGIN prompt") ;
  ok(enc_is("\377\376\375", 3, "//79"), "the last two letters of the alphabet") ;
  ok(dec_is("AGFsaWNlAHNlY3JldA==", "\0alice\0secret", 13), "decode with padding, NULs inside") ;

  ok(!base64_decode(S("AGFsaWNl*HNlY3JldA=="), out, sizeof(out), &n), "a character outside the alphabet: refused") ;
  ok(!base64_decode(S("AGF"), out, sizeof(out), &n) && !base64_decode(S("Zg="), out, sizeof(out), &n), "a length not a multiple of 4: refused") ;
  ok(!base64_decode(S("Zg==Zg=="), out, sizeof(out), &n), "padding before the last quantum: refused") ;
  ok(!base64_decode(S("Z==="), out, sizeof(out), &n) && !base64_decode(S("===="), out, sizeof(out), &n), "three or four pads: refused") ;
  ok(!base64_decode(S("Zm=v"), out, sizeof(out), &n), "a letter after a pad: refused") ;
  ok(!base64_decode(S("Zm9v YmFy"), out, sizeof(out), &n) && !base64_decode(S("Zm9v\r\n"), out, sizeof(out), &n), "blanks and line ends: refused") ;
  ok(base64_decode(S("Zm9vYmFy"), out, 6, &n) && n == 6, "exactly max octets: decoded") ;
  ok(!base64_decode(S("Zm9vYmFy"), out, 5, &n) && !base64_decode(S("Zm9vYg=="), out, 3, &n), "one octet more than max: refused") ;
  ok(base64_decode("", 0, out, 0, &n) && !n, "empty: nothing, with no room") ;
  return tap_done() ;
}
