/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/smtpauth: a credentials file (read through
 * its checks from a file of mode 0600), the search for a host's
 * credentials in it, and base64 (lib/base64) of any octets.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "smtpauth.h"
#include "base64.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static void find_checked (char const *s, size_t len, char const *host)
{
  stralloc user = STRALLOC_ZERO, pass = STRALLOC_ZERO ;
  int r = smtpauth_creds_find(s, len, host, &user, &pass) ;
  if (r < 0) abort() ;
  if (r)
  {
    /* one word each, out of the file: no blank, no line end */
    if (!user.len || !pass.len || user.s[user.len - 1] || pass.s[pass.len - 1]) abort() ;
    if (strpbrk(user.s, " \t\n") || strpbrk(pass.s, " \t\n")) abort() ;
    if (user.len > len || pass.len > len) abort() ;
  }
  stralloc_free(&user) ; stralloc_free(&pass) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc sa = STRALLOC_ZERO, b = STRALLOC_ZERO ;
  char fn[FUZZ_PATH_MAX] ;
  size_t i ;
  fuzz_write(fn, "creds", data, size) ;
  if (!smtpauth_creds_read(fn, &sa)) abort() ;
  if (sa.len != size || (size && memcmp(sa.s, data, size))) abort() ;
  find_checked(sa.s, sa.len, "mx.example") ;
  find_checked(sa.s, sa.len, "") ;
  {
    /* the first word of the input as the host: lines for it are found */
    size_t k = 0 ;
    char host[64] ;
    while (k < size && k < sizeof(host) - 1 && data[k] > ' ' && data[k] != '#') { host[k] = data[k] ; k++ ; }
    host[k] = 0 ;
    find_checked(sa.s, sa.len, host) ;
  }
  /* RFC 4648 §4: 4 octets for every 3 or part of 3, from the alphabet */
  if (!base64_cat(&b, (char const *)data, size)) abort() ;
  if (b.len != (size + 2) / 3 * 4) abort() ;
  for (i = 0 ; i < b.len ; i++)
    if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", b.s[i]) || !b.s[i]) abort() ;
  stralloc_free(&sa) ; stralloc_free(&b) ;
  return 0 ;
}
