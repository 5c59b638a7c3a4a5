/* ISC license: see LICENSE. */

#ifndef KETCH_STSPOLICY_H
#define KETCH_STSPOLICY_H

#include <stddef.h>
#include <stdint.h>

/*
 * The MTA-STS policy (RFC 8461 §3.2): the body of
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt, lines of "key: value"
 * ending in CRLF or LF (the last line may lack its end). Keys are
 * case-sensitive; "version" (STSv1), "mode" (enforce, testing, none) and
 * "max_age" (at most 31557600 seconds, §3.2) appear once each, "mx" once
 * per pattern; other keys are extensions, checked for syntax and ignored.
 * A pattern is a host name, or "*." and a domain: the wildcard stands for
 * exactly one label (§4.1). A policy whose mode is not none needs at
 * least one mx line (§3.2: the patterns are what the policy is about).
 *
 * Bounded and total: one pass over the bytes given, no allocation; at
 * most STSPOLICY_MX_MAX patterns are kept (more is an error: a policy
 * file has a handful, and a hostile one must not cost a match loop of
 * thousands per host). Patterns are offsets into the caller's bytes,
 * which must outlive the struct.
 */

#define STSPOLICY_NONE 0
#define STSPOLICY_TESTING 1
#define STSPOLICY_ENFORCE 2

#define STSPOLICY_MX_MAX 64
#define STSPOLICY_MAXAGE_MAX 31557600u

typedef struct stspolicy_s stspolicy, *stspolicy_ref ;
struct stspolicy_s
{
  unsigned int mode ;      /* STSPOLICY_* */
  uint32_t max_age ;       /* seconds */
  unsigned int nmx ;
  size_t mx[STSPOLICY_MX_MAX] ;     /* offset of a pattern in the text */
  size_t mxlen[STSPOLICY_MX_MAX] ;
} ;

/* 1, or 0 (EINVAL) with *why (a constant) and *line (1-based; 0: the policy as a whole, a required key missing) */
extern int stspolicy_parse (char const *, size_t, stspolicy *, char const **, unsigned int *) ;

/*
 * Does host (a name, no final dot, any case) match one of the patterns
 * (§4.1)? The index of the first that does, or -1.
 */
extern int stspolicy_match (stspolicy const *, char const *, char const *) ;

/* "enforce", "testing", "none"; "?" out of range */
extern char const *stspolicy_mode_name (unsigned int) ;

#endif
