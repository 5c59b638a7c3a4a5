/* ISC license: see LICENSE. */

#ifndef KETCH_DKIMREC_H
#define KETCH_DKIMREC_H

#include <stddef.h>

/*
 * A DKIM key record (RFC 6376 §3.6.1), the TXT record at
 * SELECTOR._domainkey.DOMAIN, as a verifier reads it: a tag-list (§3.2),
 * v=DKIM1 first if present, k= (default rsa), p= required (empty: the
 * key is revoked, §3.6.1). ketch-doctor compares its p= with the key a
 * dkim-sign line names (lib/dkimkey); the key itself is not decoded here.
 *
 * Tag names are ALPHA *(ALPHA / DIGIT / "_"); values are VALCHARs
 * (%x21-3A / %x3C-7E) with spaces and tabs between them; a tag given
 * twice makes the record invalid (§3.2). Unknown tags are ignored.
 *
 * Bounded and total: one pass over the bytes given, no allocation; the
 * results are offsets into them.
 */

typedef struct dkimrec_s dkimrec ;
struct dkimrec_s
{
  size_t k ;      /* the key type: offset, length (length 0: not given, rsa) */
  size_t klen ;
  size_t p ;      /* the public key's base64, spaces inside it kept: offset, length (0: revoked) */
  size_t plen ;
} ;

/* 1 with r filled, or 0 (EINVAL) with *errpos and *why */
extern int dkimrec_parse (char const *, size_t, dkimrec *, size_t *, char const **) ;

/* the base64 of p= without its spaces, into buf of len octets at most: the length, or -1 when it does not fit */
extern long dkimrec_pcompact (char const *, dkimrec const *, char *, size_t) ;

#endif
