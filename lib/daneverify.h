/* ISC license: see LICENSE. */

#ifndef KETCH_DANEVERIFY_H
#define KETCH_DANEVERIFY_H

#include <stddef.h>

#include <bearssl.h>

#include "tlsa.h"

/*
 * The X.509 engine of a DANE session (RFC 7672 §3, RFC 7671 §5): a
 * br_x509_class that BearSSL's TLS client runs over the server's chain
 * instead of br_x509_minimal, authenticating it by the usable TLSA
 * records (lib/tlsa) of the host.
 *
 * The chain is kept whole (at most DANEVERIFY_CERTS certificates and
 * DANEVERIFY_BYTES octets; more is a failure, never a truncated check),
 * because a DANE-TA record is known to match only once the certificate
 * it names is seen, and the chain below it must then be validated from
 * the leaf up. At the end of the chain:
 *  - DANE-EE(3): the leaf's DER (Cert) or SubjectPublicKeyInfo (SPKI),
 *    or its SHA2-256/SHA2-512 digest, equals a record's data. Nothing
 *    else is checked: no name, no dates, no issuer (RFC 7672 §3.1.1:
 *    the record is the key's binding to the host, and its expiry is the
 *    DNS signature's).
 *  - DANE-TA(2): a certificate of the chain above the leaf matches a
 *    record in the same way; it becomes the only trust anchor of a
 *    br_x509_minimal run over the certificates below it, which checks
 *    the signatures, the dates and the name: the reference identifier
 *    is the MX host's name (RFC 7672 §3.2.2; the TLSA base domain is
 *    that name, as CNAMEs of MX hosts are not followed here), matched
 *    against the leaf's subjectAltName dNSNames (wildcards in the first
 *    label, as BearSSL does).
 * DANE-EE is tried first: it cannot fail for reasons outside the record.
 * The leaf's key is what the TLS engine then uses (get_pkey).
 *
 * Why the session failed is dv->reason (a constant string) and, for a
 * DANE-TA chain, dv->x509err (BearSSL's code, lib/tlsname names it).
 */

#define DANEVERIFY_CERTS 10
#define DANEVERIFY_BYTES 65536
#define DANEVERIFY_DN_MAX 1024

typedef struct daneverify_s daneverify, *daneverify_ref ;
struct daneverify_s
{
  br_x509_class const *vtable ;     /* first: BearSSL passes &vtable around */
  tlsa_set const *tlsa ;            /* the usable records */
  char const *name ;                /* the reference identifier for DANE-TA */
  unsigned char chain[DANEVERIFY_BYTES] ;
  size_t off[DANEVERIFY_CERTS + 1] ; /* certificate i is chain[off[i] .. off[i+1]] */
  unsigned int n ;
  size_t used ;
  int overflow ;
  br_x509_decoder_context dec ;     /* the leaf, for its key */
  br_x509_decoder_context tadec ;   /* the matched DANE-TA certificate: the anchor's key points into it */
  unsigned char tadn[DANEVERIFY_DN_MAX] ;
  size_t tadnlen ;
  br_x509_trust_anchor ta ;
  br_x509_minimal_context xc ;
  br_x509_pkey const *pkey ;
  int usage ;                       /* the usage of the matching record, -1 until one matches */
  char const *reason ;              /* why no record authenticated the chain; 0 */
  int x509err ;                     /* BearSSL's verdict on a DANE-TA chain; 0 */
} ;

/* ready for a handshake: the records (their data must outlive it) and the host's name */
extern void daneverify_init (daneverify *, tlsa_set const *, char const *) ;

/*
 * The SubjectPublicKeyInfo of a DER certificate (RFC 5280 §4.1): 1 and
 * its offset and length (header included), or 0 when the certificate
 * is not well-formed up to it. Bounded by len; reads nothing past it.
 */
extern int daneverify_spki (unsigned char const *, size_t, size_t *, size_t *) ;

/* does the DER certificate match the record (selector, matching type)? */
extern int daneverify_match (tlsa_set const *, tlsa_rr const *, unsigned char const *, size_t) ;

#endif
