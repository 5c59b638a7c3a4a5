/* ISC license: see LICENSE. */

#ifndef KETCH_SPF_H
#define KETCH_SPF_H

#include <stddef.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * SPF records (RFC 7208): the syntax of one record, and the walk a
 * receiver makes from a domain through its include and redirect terms,
 * as ketch-doctor needs it: does the record parse, how many DNS-querying
 * terms does the whole tree hold (§4.6.4: more than 10 is a permerror),
 * and what result would a receiver give to one of our addresses (§4.6).
 *
 * The parser (spf_parse) follows the ABNF of §12, bounded and total: it
 * reads the bytes it is given and nothing else, allocates only the term
 * list, and says where the first error is. A domain-spec may hold macros
 * (§7); they are checked for syntax, never expanded: a term whose
 * target holds a macro is counted but not followed, and never matches
 * (spf_walk says so in its report: unchecked). ptr (§5.5, "do not use") is counted
 * and never matches.
 *
 * The walk (spf_walk) asks its DNS through callbacks, so that the unit
 * test gives it a zone of its own and ketch-doctor gives it lib/dns. It
 * counts every DNS-querying term of the whole tree, not only the terms a
 * receiver evaluates before its first match for one address: a receiver
 * checking another sender address may go further, and the limit then
 * applies. Its work is bounded: at most SPF_WALK_MAX records fetched,
 * nesting at most SPF_DEPTH_MAX deep, at most 10 exchangers per mx
 * term (§4.6.4).
 */

enum spf_kind
{
  SPF_ALL, SPF_INCLUDE, SPF_A, SPF_MX, SPF_PTR, SPF_IP4, SPF_IP6, SPF_EXISTS,
  SPF_REDIRECT, SPF_EXP, SPF_MODIFIER  /* modifiers: redirect=, exp=, any other name= (ignored, §6) */
} ;

typedef struct spf_term_s spf_term ;
struct spf_term_s
{
  unsigned char kind ;   /* enum spf_kind */
  char qual ;            /* '+', '-', '~' or '?' (§4.6.2) */
  size_t pos ;           /* where the term starts in the record */
  size_t dom ;           /* its domain-spec (include, a, mx, ptr, exists, redirect, exp): offset, length; length 0 = none */
  size_t domlen ;
  int macro ;            /* the domain-spec holds a macro */
  char ip[16] ;          /* ip4, ip6 */
  unsigned int bits4 ;   /* ip4, a, mx: prefix length (32 when not given) */
  unsigned int bits6 ;   /* ip6, a, mx: prefix length (128 when not given) */
} ;

/* "v=spf1" alone or followed by a space (§4.5): the TXT records that are SPF records */
extern int spf_is_record (char const *, size_t) ;

/* parses one record, appending its terms (spf_term) to ga. 1, or 0 with
   errno: EINVAL (syntax: *errpos is where, *why says what) or ENOMEM */
extern int spf_parse (char const *, size_t, genalloc *, size_t *, char const **) ;

/* does the term query the DNS (include, a, mx, ptr, exists, redirect: §4.6.4) */
extern int spf_term_queries (spf_term const *) ;

enum spf_result { SPF_R_NONE, SPF_R_NEUTRAL, SPF_R_PASS, SPF_R_FAIL, SPF_R_SOFTFAIL, SPF_R_TEMPERROR, SPF_R_PERMERROR } ;
extern char const *spf_result_name (int) ;

/* the DNS a walk uses. Each returns DNS_* (lib/dns.h) and appends as
   dns_txt_lookup, dns_ip_lookup and dns_mx_lookup do */
typedef struct spf_dns_s spf_dns ;
struct spf_dns_s
{
  int (*txt) (void *, char const *, stralloc *) ;
  int (*ip) (void *, char const *, genalloc *) ;
  int (*mx) (void *, char const *, genalloc *, stralloc *) ;
  void *ctx ;
} ;

#define SPF_LOOKUP_LIMIT 10   /* §4.6.4 */
#define SPF_DEPTH_MAX 10
#define SPF_WALK_MAX 40       /* records fetched by one walk */

typedef struct spf_report_s spf_report ;
struct spf_report_s
{
  int result ;            /* enum spf_result, for the address */
  unsigned int lookups ;  /* DNS-querying terms in the whole tree (stops counting past SPF_WALK_MAX records) */
  stralloc record ;       /* the top record, NUL-terminated ("" when none) */
  unsigned int nrecords ; /* SPF records at the top domain */
  stralloc why ;          /* the first problem found anywhere in the tree, in words, NUL-terminated; "" if none */
  int unchecked ;         /* a term was not followed: its domain holds a macro */
} ;
#define SPF_REPORT_ZERO { .result = SPF_R_NONE, .lookups = 0, .record = STRALLOC_ZERO, .nrecords = 0, .why = STRALLOC_ZERO, .unchecked = 0 }

/* walks domain's record for the address ip (4 or 16 bytes, is6). 1, or 0 (ENOMEM) */
extern int spf_walk (spf_dns const *, char const *, char const *, int, spf_report *) ;
extern void spf_report_free (spf_report *) ;

#endif
