/* ISC license: see LICENSE. */

#ifndef KETCH_STATSFMT_H
#define KETCH_STATSFMT_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include "stats.h"

/*
 * The Prometheus text exposition format, version 0.0.4, of the figures
 * in a stats_sum (lib/stats): for each metric family a "# HELP" and a
 * "# TYPE" line, then its samples, "name{label="value",...} number".
 * Counters are named *_total. Label values are escaped as the format
 * says (backslash, double quote and line feed as \\, \" and \n), HELP
 * texts likewise (backslash and line feed): a domain name from a
 * recipient address is not trusted to be a plain word.
 *
 * The families are one table (statsfmt.c), in the order printed; the
 * exposition of the same sum is the same octets every time.
 */

/* a label value or HELP text, escaped (quote: escape '"' too) */
extern int statsfmt_escape (stralloc *, char const *, size_t, int quote) ;
extern int statsfmt_family (stralloc *, char const *name, char const *type, char const *help) ;
/* name{l[0]="l[1]",l[2]="l[3]"...} value: nl label pairs */
extern int statsfmt_sample (stralloc *, char const *name, char const *const *l, size_t nl, uint64_t value) ;
/* the whole exposition; now: Unix time, for the oldest message's age */
extern int statsfmt_all (stralloc *, stats_sum const *, uint64_t now) ;

#endif
