/* ISC license: see LICENSE. */

#ifndef KETCH_KEYSIGN_H
#define KETCH_KEYSIGN_H

#include <stddef.h>

/*
 * The TLS private key's signatures, in smtp-keyd (smtp-keyd(8)): the
 * one private key operation of a handshake, the signature of a TLS 1.2
 * ServerKeyExchange hash (RFC 5246 §7.4.3), made with OpenSSL's
 * libcrypto.
 *
 * Why not BearSSL, which does everything else of TLS here: on this
 * machine Debian's BearSSL 0.6 signs with RSA-2048 in 1.5 ms (br_rsa_i62,
 * its fastest: i31 is 2x slower, i32 4x, i15 9x) and with ECDSA P-256 in
 * 0.45 ms (br_ec_p256_m31: 0.6 has no 64-bit P-256), libcrypto in 0.3 ms
 * and 0.02 ms (its assembly Montgomery multiplication, and P-256's
 * nistz256); that signature was the largest part of a full handshake's
 * CPU (t/bench/README.md). Nothing else of OpenSSL is used: no
 * parsing of anything from the network, only hashes of a fixed length
 * that smtp-keyd's parser (lib/keyd) has checked.
 *
 * The key comes in as the DER that BearSSL's decoder took (smtp-keyd
 * reads the PEM file and checks the key with br_skey_decoder, as the
 * sessions' suites follow its type): PKCS#8, PKCS#1 (RSA) or SEC1
 * (EC), whose type must be the one BearSSL found. RSA signs with
 * PKCS#1 v1.5 (what TLS 1.2's ServerKeyExchange takes), with blinding;
 * ECDSA's signature is DER (RFC 5246 §4.7, as br_ecdsa_sign_asn1's),
 * its nonce derived from the key, the hash and fresh random octets
 * (OpenSSL's hedged nonces: a weak random source alone does not give
 * the key away, the property RFC 6979's deterministic nonces gave).
 *
 * The key is decoded once per key file: a keysign holds it until
 * keysign_free, which frees it with its secret numbers cleared
 * (OpenSSL's BN_clear_free). A failing libcrypto call leaves nothing in
 * OpenSSL's error queue.
 */

typedef struct keysign_s keysign ;
struct keysign_s
{
  struct evp_pkey_st *pkey ;  /* OpenSSL's EVP_PKEY, or 0: no key */
  int type ;                  /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC, or 0 */
} ;
#define KEYSIGN_ZERO { .pkey = 0, .type = 0 }

/* the key from its DER, of BearSSL type (BR_KEYTYPE_RSA or
   BR_KEYTYPE_EC), replacing what k held: 1, or 0 (EINVAL: not a key of
   that type, or one whose signature exceeds KEYSIGN_SIG_MAX), k empty */
extern int keysign_load (keysign *, char const *, size_t, int) ;
/* the signature of a hash of TLS 1.2 hash id (2 to 6: lib/keyd's
   keyd_hash_len) into sig (KEYSIGN_SIG_MAX octets): its length, or 0 */
extern size_t keysign_sign (keysign const *, unsigned int, unsigned char const *, size_t, unsigned char *) ;
extern void keysign_free (keysign *) ;

/* RSA-4096 (the largest key BearSSL's decoder takes) signs in 512 octets, ECDSA P-521 in 139 */
#define KEYSIGN_SIG_MAX 512

#endif
