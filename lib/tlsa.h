/* ISC license: see LICENSE. */

#ifndef KETCH_TLSA_H
#define KETCH_TLSA_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * TLSA records (RFC 6698 §2.1): the RDATA is three octets, certificate
 * usage, selector and matching type, then the certificate association
 * data, as long as the RDATA says. The records come from the network
 * (the DNS answer of _PORT._tcp.HOST, lib/dns): tlsa_parse is total and
 * reads nothing past the length it is given.
 *
 * Which records SMTP can use (RFC 7672 §3.1, RFC 7671 §5):
 *  - usage DANE-TA(2) and DANE-EE(3) only; PKIX-TA(0) and PKIX-EE(1)
 *    are unusable for SMTP (RFC 7672 §3.1.3: an MTA has no agreed set
 *    of public CAs to check them against);
 *  - selector Cert(0) (the whole DER certificate) or SPKI(1) (its
 *    SubjectPublicKeyInfo);
 *  - matching type Full(0) (the data is the object itself), SHA2-256(1)
 *    (32 octets) or SHA2-512(2) (64 octets); a digest of the wrong
 *    length can never match and is unusable (RFC 6698 §2.1.3);
 *  - any other value of a field is unusable (RFC 6698 §7.2-7.4 leave
 *    room for new ones).
 * RFC 7672 §2.2: a secure TLSA RRset with no usable record still makes
 * TLS mandatory (the server said it does TLS) but cannot authenticate
 * it: tlsa_set keeps the count of every record and the usable ones.
 */

#define TLSA_USAGE_PKIX_TA 0
#define TLSA_USAGE_PKIX_EE 1
#define TLSA_USAGE_DANE_TA 2
#define TLSA_USAGE_DANE_EE 3
#define TLSA_SELECTOR_CERT 0
#define TLSA_SELECTOR_SPKI 1
#define TLSA_MATCH_FULL 0
#define TLSA_MATCH_SHA256 1
#define TLSA_MATCH_SHA512 2

typedef struct tlsa_rr_s tlsa_rr, *tlsa_rr_ref ;
struct tlsa_rr_s
{
  uint8_t usage ;
  uint8_t selector ;
  uint8_t mtype ;
  size_t data ;       /* offset of the association data (in the RDATA for tlsa_parse, in the set's data for a set) */
  size_t len ;
} ;

/* one RDATA: 1 and rr filled (data = 3), or 0 when it is shorter than the three fields */
extern int tlsa_parse (unsigned char const *, size_t, tlsa_rr *) ;

/* can RFC 7672 authenticate a server with this record? */
extern int tlsa_usable (tlsa_rr const *) ;

/* a TLSA RRset: every record counted, the usable ones kept */
typedef struct tlsa_set_s tlsa_set, *tlsa_set_ref ;
struct tlsa_set_s
{
  stralloc data ;     /* the usable records' association data, end to end */
  genalloc rrs ;      /* tlsa_rr, usable only, data offsets into data */
  unsigned int total ;/* every record seen, usable or not */
} ;
#define TLSA_SET_ZERO { .data = STRALLOC_ZERO, .rrs = GENALLOC_ZERO, .total = 0 }

#define tlsa_set_rrs(set) genalloc_s(tlsa_rr, &(set)->rrs)
#define tlsa_set_n(set) genalloc_len(tlsa_rr, &(set)->rrs)
#define tlsa_set_data(set, rr) ((unsigned char const *)(set)->data.s + (rr)->data)

/* one RDATA into the set: 1, or 0 (ENOMEM). A malformed or unusable record is counted only */
extern int tlsa_set_add (tlsa_set *, unsigned char const *, size_t) ;
extern void tlsa_set_reset (tlsa_set *) ;
extern void tlsa_set_free (tlsa_set *) ;

/* RFC 7218 §2 names, for logs and ketch-route: "DANE-EE", "SPKI", "SHA2-256"; a number as "?" */
extern char const *tlsa_usage_name (unsigned int) ;
extern char const *tlsa_selector_name (unsigned int) ;
extern char const *tlsa_mtype_name (unsigned int) ;

#endif
