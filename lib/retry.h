/* ISC license: see LICENSE. */

#ifndef KETCH_RETRY_H
#define KETCH_RETRY_H

#include <stdint.h>

/*
 * The retry schedule (qmail, OpenSMTPD): after the n-th failed attempt
 * (n >= 1) the next one waits base * n^2 seconds, capped at max. Never
 * overflows: the product saturates before the cap is applied.
 */
extern uint64_t retry_delay (uint64_t, uint64_t, unsigned int) ;

#endif
