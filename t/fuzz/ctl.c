/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/ctl, the requests queue-ctl leaves for the
 * scheduler: a line is parsed, written back with ctl_format, and must
 * parse to the same operation and argument.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc line = STRALLOC_ZERO, w = STRALLOC_ZERO ;
  char const *arg, *arg2 ;
  unsigned int op ;
  if (!stralloc_catb(&line, (char const *)data, size) || !stralloc_0(&line)) abort() ;
  op = ctl_parse(line.s, &arg) ;
  if (op > CTL_NOP) abort() ;
  if (op < CTL_NOP)
  {
    if (arg < line.s || arg > line.s + strlen(line.s)) abort() ;
    if (!ctl_format(&w, op, arg) || !stralloc_0(&w)) abort() ;
    if (ctl_parse(w.s, &arg2) != op || (op != CTL_RETRY_ALL && strcmp(arg, arg2))) abort() ;
  }
  /* what queue-ctl asks for, from two words of the line */
  {
    char *sp = strchr(line.s, ' ') ;
    if (sp) { *sp = 0 ; if (ctl_op(line.s, sp + 1) > CTL_NOP) abort() ; }
  }
  stralloc_free(&line) ; stralloc_free(&w) ;
  return 0 ;
}
