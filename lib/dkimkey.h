/* ISC license: see LICENSE. */

#ifndef KETCH_DKIMKEY_H
#define KETCH_DKIMKEY_H

#include <stddef.h>

#include <bearssl.h>

#include <skalibs/stralloc.h>

/*
 * A DKIM signing key (RFC 6376 §3.3): what a dkim-sign line's key file
 * holds. lib/dkim signs with it as mail goes into the queue, conf-check
 * checks it, ketch-dkim makes one and prints the TXT record to publish,
 * ketch-doctor compares that record with what DNS says.
 *
 * Files are PEM. RSA: PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY",
 * what BearSSL's br_skey_decoder reads. Ed25519 (RFC 8463): the PKCS#8
 * "PRIVATE KEY" of RFC 8410 §7, as `openssl genpkey -algorithm ed25519`
 * writes it (the 32-octet seed). The first private key object of the
 * file counts; other objects are ignored. RSA keys under 1024 bits are
 * refused (RFC 8301 §3.2: verifiers must not accept them), and over 4096
 * bits too: RFC 8301 makes verifiers take 1024 to 4096 bits, no more,
 * and the spool reserves room for a signature of that size (lib/dkim.h).
 *
 * The public key, as the TXT record's p= carries it (RFC 6376 §3.6.1):
 * the DER SubjectPublicKeyInfo for RSA (what OpenDKIM and every verifier
 * read), the 32 raw octets for Ed25519 (RFC 8463 §4).
 *
 * Ed25519 is libsodium's (BearSSL has only X25519): a program that loads
 * or makes an Ed25519 key links it (Makefile, LIBS_KETCH: a static
 * archive, so only the programs that use this module carry it).
 *
 * Nothing here prints or exits. The key lives in the structure (no
 * allocation holds it); dkimkey_free wipes it.
 */

enum dkimkey_type_e
{
  DKIMKEY_NONE = 0,
  DKIMKEY_RSA,
  DKIMKEY_ED25519
} ;

#define DKIMKEY_RSA_MIN 1024
#define DKIMKEY_RSA_MAX 4096
#define DKIMKEY_RSA_DEFAULT 2048
#define DKIMKEY_FILE_MAX 16384      /* a PEM file larger than this holds no key of ours */
#define DKIMKEY_SIG_MAX (DKIMKEY_RSA_MAX / 8)  /* octets of the longest signature */
#define DKIMKEY_ED25519_SIG 64
#define DKIMKEY_ED25519_PUB 32

/* what dkimkey_parse and dkimkey_load return; DKIMKEY_ESYS: errno says */
enum dkimkey_result_e
{
  DKIMKEY_OK = 0,
  DKIMKEY_ESYS,
  DKIMKEY_EPEM,
  DKIMKEY_ENOKEY,
  DKIMKEY_ETYPE,
  DKIMKEY_EDER,
  DKIMKEY_ESMALL,
  DKIMKEY_EBIG,
  DKIMKEY_NRESULTS
} ;

typedef struct dkimkey_s dkimkey ;
struct dkimkey_s
{
  int type ;                 /* enum dkimkey_type_e */
  unsigned int bits ;        /* RSA: of the modulus; Ed25519: 256 */
  br_rsa_private_key rsa ;   /* RSA: its elements point into buf */
  /* RSA: p, q, dp, dq, iq; Ed25519: the seed then the public key (libsodium's secret key) */
  unsigned char buf[BR_RSA_KBUF_PRIV_SIZE(DKIMKEY_RSA_MAX)] ;
} ;
#define DKIMKEY_ZERO { .type = DKIMKEY_NONE, .bits = 0 }

/* the key of a PEM text; DKIMKEY_OK, or why not */
extern int dkimkey_parse (dkimkey *, char const *, size_t) ;
/* the same, from a file of at most DKIMKEY_FILE_MAX octets */
extern int dkimkey_load (dkimkey *, char const *) ;
/* "not PEM", "no private key in the file", ...; for DKIMKEY_ESYS, strerror(errno) */
extern char const *dkimkey_strerror (int) ;
/* "rsa" or "ed25519": the k= of the TXT record (RFC 6376 §3.6.1, RFC 8463 §4) */
extern char const *dkimkey_k (int) ;
/* "rsa-sha256" or "ed25519-sha256": the a= of a signature */
extern char const *dkimkey_algorithm (int) ;
/* the octets of a signature: the modulus's for RSA, 64 for Ed25519 */
extern size_t dkimkey_siglen (dkimkey const *) ;

/*
 * Signs a SHA-256 digest (RFC 6376 §3.7's data-hash): RSASSA-PKCS1-v1_5
 * with the SHA-256 OID (RFC 8017 §8.2), or PureEdDSA Ed25519 over the 32
 * octets (RFC 8463 §3). sig receives dkimkey_siglen octets. 1, or 0.
 */
extern int dkimkey_sign (dkimkey const *, unsigned char const *, unsigned char *) ;

/* appends the public key as p= carries it, before base64. 1, or 0 (ENOMEM) */
extern int dkimkey_public (dkimkey const *, stralloc *) ;
/* appends the TXT record's text: "v=DKIM1; k=rsa; p=BASE64". 1, or 0 */
extern int dkimkey_txt (dkimkey const *, stralloc *) ;
/*
 * Appends the zone file line that publishes txt[0..len) for selector in
 * domain: SEL._domainkey.DOMAIN. IN TXT ( "..." "..." ) and a newline,
 * the text cut into strings of at most 255 octets (RFC 1035 §3.3.14),
 * one per line. 1, or 0.
 */
extern int dkimkey_zone (char const *, char const *, char const *, size_t, stralloc *) ;

/* a new key: RSA of bits (DKIMKEY_RSA_MIN..MAX), or Ed25519 (bits ignored), from the system's RNG. 1, or 0 */
extern int dkimkey_generate (dkimkey *, int, unsigned int) ;
/* appends the key as a PKCS#8 PEM "PRIVATE KEY" (what dkimkey_parse reads back). 1, or 0 */
extern int dkimkey_pem (dkimkey const *, stralloc *) ;
extern void dkimkey_free (dkimkey *) ;

#endif
