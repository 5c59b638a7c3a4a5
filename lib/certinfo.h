/* ISC license: see LICENSE. */

#ifndef KETCH_CERTINFO_H
#define KETCH_CERTINFO_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

/*
 * What a certificate says about whom it is for and until when: the
 * dNSName entries of its subjectAltName (RFC 5280 §4.2.1.6), its
 * validity dates, and the name matching of RFC 6125 §6.4 that a client
 * applies to them. ketch-doctor checks its own certificate with it.
 *
 * The names come from a walk of the DER (Certificate, tbsCertificate,
 * extensions, the subjectAltName's GeneralNames), bounded by the lengths
 * it is given and total: a malformed certificate is an error, never a
 * read beyond its bytes. The dates come from BearSSL's X.509 decoder.
 * The subject's CN is not read: RFC 6125 §6.4.4 lets a client fall back
 * on it only when there is no dNSName, and the clients that matter
 * (RFC 7817 §3, the browsers' baseline) no longer do.
 */

/* appends each dNSName (NUL-terminated) to sa: their count, or -1 with errno (EINVAL: not a certificate, ENOMEM) */
extern int certinfo_names (unsigned char const *, size_t, stralloc *) ;

/* the validity (RFC 5280 §4.1.2.5) in seconds since the Unix epoch. 1, or 0 (EINVAL) */
extern int certinfo_dates (unsigned char const *, size_t, int64_t *, int64_t *) ;

/* RFC 6125 §6.4.1, §6.4.3: does the reference name host match the
   presented name (a wildcard only as the whole leftmost label, matching
   one label; case-insensitive; one final dot ignored on either side) */
extern int certinfo_match (char const *, char const *) ;

#endif
