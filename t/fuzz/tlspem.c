/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for tls_pem_read (lib/tls): a certificate or key
 * file in PEM; every object found lies inside the output and is named.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "tls.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc sa = STRALLOC_ZERO ;
  genalloc list = GENALLOC_ZERO ;
  char fn[FUZZ_PATH_MAX] ;
  fuzz_write(fn, "pem", data, size) ;
  if (tls_pem_read(fn, &sa, &list))
  {
    size_t i, n = genalloc_len(tls_pemobj, &list) ;
    for (i = 0 ; i < n ; i++)
    {
      tls_pemobj const *o = genalloc_s(tls_pemobj, &list) + i ;
      if (o->name >= sa.len || !memchr(sa.s + o->name, 0, sa.len - o->name)) abort() ;
      if (o->data > sa.len || o->len > sa.len - o->data) abort() ;
    }
  }
  stralloc_free(&sa) ;
  genalloc_free(tls_pemobj, &list) ;
  return 0 ;
}
