/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/dotforward: the input is a user's .forward,
 * read from a home directory by dotforward_read and parsed by
 * dotforward_parse, then parsed again from the octets as they came. Every
 * target must be one of the four kinds, inside the buffer, an address
 * canonical (address_parse takes it again and gives it unchanged), a
 * program an absolute path; the counts must match the targets.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "address.h"
#include "dotforward.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static void check (dotforward const *f)
{
  size_t i = 0 ;
  unsigned int n = 0, na = 0, self = 0 ;
  while (i < f->sa.len)
  {
    char const *t = f->sa.s + i + 1 ;
    size_t len ;
    if (!memchr(f->sa.s + i, 0, f->sa.len - i)) abort() ;
    len = strlen(t) ;
    switch (f->sa.s[i])
    {
      case DOTFORWARD_SELF : if (len || self++) abort() ; break ;
      case DOTFORWARD_ADDRESS :
      {
        address a = ADDRESS_ZERO ;
        if (address_parse(&a, t, len, ADDRESS_UTF8) || a.len != len || memcmp(a.s, t, len)) abort() ;
        na++ ;
        break ;
      }
      case DOTFORWARD_FILE : if (t[0] != '/') abort() ; break ;
      case DOTFORWARD_PROGRAM : if (t[strspn(t, " ")] != '/') abort() ; break ;
      default : abort() ;
    }
    n++ ;
    i += len + 2 ;
  }
  if (n != f->n || na != f->naddr || n > DOTFORWARD_ENTRIES_MAX) abort() ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  dotforward f = DOTFORWARD_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  char fn[FUZZ_PATH_MAX] ;
  char const *why = 0 ;
  int r ;
  fuzz_write(fn, ".forward", data, size) ;
  /* its directory is the home: the one fuzzfile.h made, ours, 0700 */
  fn[strlen(fn) - sizeof("/.forward") + 1] = 0 ;
  if (dotforward_read(fn, getuid(), &sa, &why) == DOTFORWARD_R_READ)
  {
    if (sa.len != size || memcmp(sa.s, data, size)) abort() ;
    r = dotforward_parse(&f, sa.s, sa.len, "joe", "joe+x@test.example", "mx.test.example", &why) ;
    if (r > 0) check(&f) ;
    else if (!r && !why) abort() ;
  }
  r = dotforward_parse(&f, (char const *)data, size, "Joe", "joe@Test.Example", "mx.test.example", &why) ;
  if (r > 0) check(&f) ;
  stralloc_free(&sa) ;
  dotforward_free(&f) ;
  return 0 ;
}
