/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/authtable: a table file (user:crypt-hash
 * lines) checked against user and password pairs taken from the input:
 * its first line is "user:password" to try, the whole input the table.
 * Run with `make fuzz` (t/fuzz/README).
 */

#define _GNU_SOURCE   /* memmem */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "authtable.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  char fn[FUZZ_PATH_MAX] ;
  char const *nl = memchr(s, '\n', size) ;
  size_t first = nl ? (size_t)(nl - s) : size ;
  char const *colon = memchr(s, ':', first) ;
  int r ;
  /* a table's hash chooses its cost (bcrypt's "$2b$31$", "rounds="): the operator's choice, not input to bound here */
  if (memmem(s, size, "$2", 2) || memmem(s, size, "$y$", 3) || memmem(s, size, "$gy$", 4) || memmem(s, size, "$7$", 3) || memmem(s, size, "rounds=", 7)) return 0 ;
  fuzz_write(fn, "table", data, size) ;
  if (colon) r = authtable_check(fn, s, colon - s, colon + 1, first - (colon - s) - 1) ;
  else r = authtable_check(fn, s, first, "", 0) ;
  if (r < -1 || r > 1) abort() ;
  if (authtable_check(fn, "", 0, "x", 1) > 0) abort() ;
  return 0 ;
}
