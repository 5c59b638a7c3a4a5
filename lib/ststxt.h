/* ISC license: see LICENSE. */

#ifndef KETCH_STSTXT_H
#define KETCH_STSTXT_H

#include <stddef.h>

/*
 * The two TXT records of SMTP transport security reporting and policy:
 * _mta-sts.DOMAIN (RFC 8461 §3.1: "v=STSv1; id=...") and _smtp._tls.DOMAIN
 * (RFC 8460 §3: "v=TLSRPTv1; rua=..."). Both are a version, then fields
 * name=value separated by *WSP ";" *WSP, an optional delimiter at the
 * end; names and versions are case-sensitive (%s in the ABNF). Unknown
 * fields (extensions) are checked for syntax and otherwise ignored; a
 * required field missing or given twice is an error.
 *
 * Bounded and total: one pass over the bytes given, no allocation. The
 * results are offsets into the caller's bytes.
 */

/* RFC 8461 §3.1: records that do not begin with "v=STSv1;" are discarded */
extern int ststxt_is_sts (char const *, size_t) ;
/* 1 with the id (1 to 32 letters and digits) at *id, *idlen; or 0 (EINVAL) with *errpos and *why */
extern int ststxt_sts_parse (char const *, size_t, size_t *, size_t *, size_t *, char const **) ;

/* RFC 8460 §3: a record beginning with "v=TLSRPTv1" */
extern int ststxt_is_tlsrpt (char const *, size_t) ;
typedef struct ststxt_rua_s ststxt_rua ;
struct ststxt_rua_s
{
  unsigned int n ;     /* report URIs, mailto: or https: (§3) */
  size_t first ;       /* the first of them: offset, length */
  size_t firstlen ;
} ;
/* 1 with *rua filled, or 0 (EINVAL) with *errpos and *why */
extern int ststxt_tlsrpt_parse (char const *, size_t, ststxt_rua *, size_t *, char const **) ;

#endif
