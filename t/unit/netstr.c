/* ISC license: see LICENSE. */

/* lib/netstr: netstrings of NUL-terminated fields, written and read back */

#include <errno.h>
#include <string.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include "netstr.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *f[8] ;
  size_t start, len, used, n ;
  tap_plan(24) ;

  ok(netstr_field(&sa, "a@b.example") && netstr_field(&sa, "") && netstr_field(&sa, "x") && netstr_seal(&sa, 0, 100), "three fields sealed") ;
  ok(sa.len == 19 && !memcmp(sa.s, "15:a@b.example\0\0x\0,", 19), "... as 15:a@b.example NUL NUL x NUL,") ;
  ok(netstr_next(sa.s, sa.len, 100, &start, &len, &used) == 1 && start == 3 && len == 15 && used == 19, "read back whole") ;
  n = netstr_fields(sa.s + start, len, f, 8) ;
  ok(n == 3 && !strcmp(f[0], "a@b.example") && !*f[1] && !strcmp(f[2], "x"), "its three fields, the empty one kept") ;

  {
    size_t k = sa.len ;
    ok(netstr_field(&sa, "second") && netstr_seal(&sa, k, 100) && sa.len == k + 10 && !memcmp(sa.s + k, "7:second\0,", 10), "a second netstring sealed after the first, which stays") ;
    ok(!memcmp(sa.s, "15:a@b.example\0\0x\0,", 19), "the first untouched") ;
    ok(netstr_next(sa.s + 19, sa.len - 19, 100, &start, &len, &used) == 1 && used == 10, "the second read back") ;
  }
  sa.len = 0 ;
  ok(netstr_seal(&sa, 0, 0) && sa.len == 3 && !memcmp(sa.s, "0:,", 3), "an empty payload: 0:,") ;
  sa.len = 0 ;
  ok(netstr_field(&sa, "0123456789") && !netstr_seal(&sa, 0, 10) && errno == E2BIG && !sa.len, "over max: E2BIG, the buffer back to its start") ;
  ok(netstr_field(&sa, "abc") && netstr_field(&sa, "de") && netstr_seal(&sa, 4, 10) && sa.len == 10 && !memcmp(sa.s, "abc\0" "3:de\0,", 10), "sealed from an offset: what precedes stays") ;
  {
    /* a payload of 1000 octets: the header's four digits move it, intact */
    static char big[1000] ;
    sa.len = 0 ;
    memset(big, 'z', 999) ;
    ok(netstr_field(&sa, big) && netstr_seal(&sa, 0, 1000) && sa.len == 1006 && !memcmp(sa.s, "1000:zzz", 8) && !sa.s[1004] && sa.s[1005] == ',', "a four-digit length, the payload moved intact") ;
  }

  ok(netstr_next(S("3:abc"), 10, &start, &len, &used) == 0, "without its comma: read more") ;
  ok(netstr_next(S("3:a"), 10, &start, &len, &used) == 0 && netstr_next(S("12"), 10, &start, &len, &used) == 0 && netstr_next("", 0, 10, &start, &len, &used) == 0, "a few octets or digits: read more") ;
  ok(netstr_next(S("12x:abc"), 100, &start, &len, &used) < 0 && netstr_next(S(":abc,"), 10, &start, &len, &used) < 0, "no length, or not one: garbled") ;
  ok(netstr_next(S("3:abc;"), 10, &start, &len, &used) < 0, "no comma: garbled") ;
  ok(netstr_next(S("11:"), 10, &start, &len, &used) < 0, "over max: garbled at once, not waited for") ;
  ok(netstr_next(S("012345678901234567890123"), SIZE_MAX, &start, &len, &used) < 0, "more than 20 digits: garbled") ;
  ok(netstr_next(S("99999999999999999999999:"), SIZE_MAX, &start, &len, &used) < 0, "a length past 2^64: garbled") ;

  ok(netstr_fields(S("a\0b\0c"), f, 8) == 2 && !strcmp(f[1], "b"), "an unterminated last field is not a field") ;
  ok(netstr_fields(S("a\0b\0c\0"), f, 2) == 2, "at most max fields") ;
  ok(netstr_fields(S("a\0b\0c\0"), 0, SIZE_MAX) == 3, "counted without pointers") ;
  ok(netstr_fields("", 0, f, 8) == 0 && netstr_fields(S("abc"), f, 8) == 0, "no NUL: no field") ;
  ok(netstr_fields(S("\0\0"), f, 8) == 2 && !*f[0] && !*f[1], "two empty fields") ;
  ok(netstr_fields(S("a\0b\0"), f, 0) == 0, "max 0: none") ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
