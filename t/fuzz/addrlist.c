/* ISC license: see LICENSE. */

/*
 * libFuzzer target for addrlist_parse (RFC 5322 address lists, used by
 * sendmail -t). Build and run:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L \
 *     -D_XOPEN_SOURCE=700 -Ilib t/fuzz/addrlist.c lib/addrlist.c lib/address.c \
 *     -lskarnet -o build/fuzz-addrlist
 *   build/fuzz-addrlist -max_total_time=60 t/fuzz/corpus/addrlist
 * Invariants checked: every address returned is NUL-terminated, at most
 * 254 octets, holds an '@' and no control octet; the count matches.
 */

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "addrlist.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc out = STRALLOC_ZERO ;
  size_t n = 0, i = 0, count = 0 ;
  if (addrlist_parse(&out, &n, 50, (char const *)data, size, "host.example"))
  {
    while (i < out.len)
    {
      size_t len = strnlen(out.s + i, out.len - i), k = 0 ;
      if (i + len >= out.len || len > 254 || !memchr(out.s + i, '@', len)) abort() ;
      for (; k < len ; k++) if ((unsigned char)out.s[i + k] < 32 || out.s[i + k] == 127) abort() ;
      i += len + 1 ;
      count++ ;
    }
    if (count != n) abort() ;
  }
  stralloc_free(&out) ;
  return 0 ;
}
