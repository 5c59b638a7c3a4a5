/* ISC license: see LICENSE. */

/*
 * libFuzzer: the configuration parser, through a real file (t/fuzz/conf.dict
 * holds its keywords). A configuration that loads is printed; the printout
 * loads again and prints the same (conf_print's fixed point, conf-check(8)).
 */

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char fn[FUZZ_PATH_MAX] ;
  conf c ;
  stralloc err = STRALLOC_ZERO ;
  fuzz_write(fn, "ketch.conf", data, size) ;
  if (conf_load(&c, fn, &err))
  {
    stralloc p1 = STRALLOC_ZERO, p2 = STRALLOC_ZERO ;
    conf c2 ;
    if (!c.spool || !c.hostname) abort() ;
    if (conf_print(&c, &p1))
    {
      fuzz_write(fn, "printed.conf", p1.s, p1.len) ;
      if (!conf_load(&c2, fn, &err)) abort() ;
      if (!conf_print(&c2, &p2) || p1.len != p2.len || memcmp(p1.s, p2.s, p1.len)) abort() ;
      conf_free(&c2) ;
    }
    stralloc_free(&p1) ; stralloc_free(&p2) ;
    conf_free(&c) ;
  }
  stralloc_free(&err) ;
  return 0 ;
}
