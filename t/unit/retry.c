/* ISC license: see LICENSE. */

/* Unit test of the retry schedule: base * n^2, capped, no overflow. */

#include <stdint.h>

#include "retry.h"
#include "tap.h"

int main (void)
{
  tap_plan(7) ;
  ok(retry_delay(400, 14400, 0) == 0, "no failure yet: no wait") ;
  ok(retry_delay(400, 14400, 1) == 400, "first retry waits base") ;
  ok(retry_delay(400, 14400, 2) == 1600, "second waits 4 * base") ;
  ok(retry_delay(400, 14400, 6) == 14400, "sixth is capped (14400 = max)") ;
  ok(retry_delay(400, 14400, 100000) == 14400, "large n stays capped") ;
  ok(retry_delay(UINT64_MAX / 2, 0, 3) == UINT64_MAX, "no overflow without a cap") ;
  ok(retry_delay(1, 0, 4000000000u) == (uint64_t)4000000000u * 4000000000u, "n^2 computed in 64 bits") ;
  return tap_done() ;
}
