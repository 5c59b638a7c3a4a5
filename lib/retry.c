/* ISC license: see LICENSE. */

#include "retry.h"

uint64_t retry_delay (uint64_t base, uint64_t max, unsigned int n)
{
  uint64_t sq = (uint64_t)n * n ;
  uint64_t d ;
  if (!n) return 0 ;
  d = base && sq > UINT64_MAX / base ? UINT64_MAX : base * sq ;
  return max && d > max ? max : d ;
}
