/* ISC license: see LICENSE. */
/* libFuzzer: the configuration parser, through a real file. */

#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static char fn[64] ;
  conf c ;
  stralloc err = STRALLOC_ZERO ;
  FILE *f ;
  if (!fn[0]) snprintf(fn, sizeof(fn), "/tmp/ketch-fuzz-conf.%d", (int)getpid()) ;
  f = fopen(fn, "w") ;
  if (!f) return 0 ;
  fwrite(data, 1, size, f) ;
  fclose(f) ;
  if (conf_load(&c, fn, &err))
  {
    if (!c.spool || !c.hostname) abort() ;
    conf_free(&c) ;
  }
  stralloc_free(&err) ;
  return 0 ;
}
