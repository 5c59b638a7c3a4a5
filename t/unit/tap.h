/* ISC license: see LICENSE. */

#ifndef KETCH_TAP_H
#define KETCH_TAP_H

/* A minimal TAP producer for the unit tests of lib/. */

#include <stdio.h>

static unsigned int tap_n = 0, tap_failed = 0 ;

#define tap_plan(n) printf("1..%u\n", (unsigned int)(n))
#define ok(cond, ...) do { int c_ = !!(cond) ; tap_n++ ; if (!c_) tap_failed++ ; \
  printf("%sok %u - ", c_ ? "" : "not ", tap_n) ; printf(__VA_ARGS__) ; printf("\n") ; } while (0)
#define tap_done() (fflush(stdout), tap_failed ? 1 : 0)

#endif
