/* ISC license: see LICENSE. */

#ifndef KETCH_TLSRPTREP_H
#define KETCH_TLSRPTREP_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "tlsrpt.h"

/*
 * One TLS-RPT report (RFC 8460): a policy domain's records of one period
 * (lib/tlsrpt) aggregated, then written as the §4.4 JSON, gzipped, and
 * wrapped in the §5.3 message that goes to a mailto: rua.
 *
 * Aggregation: one policy per distinct (policy type, policy strings),
 * its successful and failed sessions counted, its failures grouped by
 * (result type, sending IP, receiving IP, MX host). The groups are
 * bounded (TLSRPTREP_POLICIES_MAX, TLSRPTREP_DETAILS_MAX): a record past
 * them still counts in its policy's summary, or is counted in dropped.
 *
 * The gzip member is written by hand with stored (uncompressed) deflate
 * blocks (RFC 1952, RFC 1951 §3.2.4) and its CRC-32: a report is a few
 * kilobytes, and any gunzip reads it; no compression library needed.
 */

#define TLSRPTREP_POLICIES_MAX 64
#define TLSRPTREP_DETAILS_MAX 256

typedef struct tlsrptrep_detail_s tlsrptrep_detail ;
struct tlsrptrep_detail_s
{
  unsigned int result ;
  size_t sendip, recvip, mx ;   /* offsets in the report's sa */
  uint64_t count ;
} ;

typedef struct tlsrptrep_policy_s tlsrptrep_policy ;
struct tlsrptrep_policy_s
{
  unsigned int type ;
  size_t strings ;        /* offset in sa: the policy strings, each NUL-terminated */
  size_t stringslen ;
  unsigned int nstrings ;
  uint64_t ok, failed ;
  genalloc details ;      /* tlsrptrep_detail */
} ;

typedef struct tlsrptrep_s tlsrptrep ;
struct tlsrptrep_s
{
  stralloc sa ;
  genalloc policies ;     /* tlsrptrep_policy */
  uint64_t dropped ;
} ;
#define TLSRPTREP_ZERO { .sa = STRALLOC_ZERO, .policies = GENALLOC_ZERO, .dropped = 0 }

/* what names the report */
typedef struct tlsrptrep_meta_s tlsrptrep_meta ;
struct tlsrptrep_meta_s
{
  char const *submitter ; /* our host name: organization-name, contact-info's domain, the mail's submitter */
  char const *domain ;    /* the policy domain */
  uint64_t start, end ;   /* the period, seconds since the epoch, end excluded */
  char const *id ;        /* the report-id */
} ;

/* one record in: 1, or 0 (ENOMEM) */
extern int tlsrptrep_add (tlsrptrep *, tlsrpt_rec const *) ;
/* RFC 8460 §4.4's JSON, appended: 1, or 0 (ENOMEM) */
extern int tlsrptrep_json (stralloc *, tlsrptrep const *, tlsrptrep_meta const *) ;
/* s as a JSON string, quoted, appended: 1, or 0 */
extern int tlsrptrep_jstring (stralloc *, char const *) ;
/* s[0..len) as a gzip member of stored blocks, appended: 1, or 0 */
extern int tlsrptrep_gzip (stralloc *, char const *, size_t) ;
/* the CRC-32 of gzip (RFC 1952 §8) */
extern uint32_t tlsrptrep_crc32 (uint32_t, char const *, size_t) ;
/* the §5.3 message to address to (its header and body, LF line ends), json gzipped inside: 1, or 0 */
extern int tlsrptrep_mail (stralloc *, tlsrptrep_meta const *, char const *, char const *, size_t, uint64_t) ;
extern void tlsrptrep_free (tlsrptrep *) ;

#endif
