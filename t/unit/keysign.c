/* ISC license: see LICENSE. */

/* lib/keysign: keys made by libcrypto, in the DER forms smtp-keyd reads
   (PKCS#8, PKCS#1, SEC1), sign TLS 1.2 hashes; every signature is
   checked with BearSSL, as a client's library would check it */

#include <errno.h>
#include <string.h>

#include <bearssl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "keysign.h"
#include "tap.h"

static unsigned char der[8192] ;

/* the key's DER: PKCS#8 when pk8, else the type's own (PKCS#1, SEC1) */
static size_t der_of (EVP_PKEY *pkey, int pk8)
{
  unsigned char *p = der ;
  int n = -1 ;
  if (pk8)
  {
    PKCS8_PRIV_KEY_INFO *inf = EVP_PKEY2PKCS8(pkey) ;
    if (inf && i2d_PKCS8_PRIV_KEY_INFO(inf, 0) <= (int)sizeof(der)) n = i2d_PKCS8_PRIV_KEY_INFO(inf, &p) ;
    PKCS8_PRIV_KEY_INFO_free(inf) ;
  }
  else if (i2d_PrivateKey(pkey, 0) <= (int)sizeof(der)) n = i2d_PrivateKey(pkey, &p) ;
  return n > 0 ? (size_t)n : 0 ;
}

static size_t bn (EVP_PKEY *pkey, char const *name, unsigned char *buf)
{
  BIGNUM *x = 0 ;
  int n = EVP_PKEY_get_bn_param(pkey, name, &x) ? BN_bn2bin(x, buf) : 0 ;
  BN_free(x) ;
  return n ;
}

static int rsa_verify (EVP_PKEY *pkey, unsigned int id, unsigned char const *hash, size_t hlen, unsigned char const *sig, size_t len)
{
  static unsigned char const *const oid[7] = { 0, 0, BR_HASH_OID_SHA1, BR_HASH_OID_SHA224, BR_HASH_OID_SHA256, BR_HASH_OID_SHA384, BR_HASH_OID_SHA512 } ;
  unsigned char n[512], e[8], out[64] ;
  br_rsa_public_key pk = { .n = n, .e = e } ;
  pk.nlen = bn(pkey, OSSL_PKEY_PARAM_RSA_N, n) ;
  pk.elen = bn(pkey, OSSL_PKEY_PARAM_RSA_E, e) ;
  return br_rsa_pkcs1_vrfy_get_default()(sig, len, oid[id], hlen, &pk, out) && !memcmp(out, hash, hlen) ;
}

static int ec_verify (EVP_PKEY *pkey, unsigned char const *hash, size_t hlen, unsigned char const *sig, size_t len)
{
  unsigned char q[160] ;
  size_t qlen = 0 ;
  br_ec_public_key pk = { .curve = BR_EC_secp256r1, .q = q } ;
  if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &qlen)) return 0 ;
  pk.qlen = qlen ;
  return br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), hash, hlen, &pk, sig, len) ;
}

int main (void)
{
  static size_t const hlen[7] = { 0, 0, 20, 28, 32, 48, 64 } ;
  EVP_PKEY *rsa = EVP_PKEY_Q_keygen(0, 0, "RSA", (size_t)2048) ;
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(0, 0, "EC", "P-256") ;
  keysign k = KEYSIGN_ZERO ;
  unsigned char hash[64], sig[KEYSIGN_SIG_MAX] ;
  size_t len, n ;
  unsigned int id ;
  int pk8, good ;
  tap_plan(15) ;
  ok(rsa && ec, "libcrypto made an RSA-2048 and a P-256 key") ;
  memset(hash, 0x5a, sizeof(hash)) ;
  for (pk8 = 0 ; pk8 < 2 ; pk8++)
  {
    len = der_of(rsa, pk8) ;
    ok(len && keysign_load(&k, (char *)der, len, BR_KEYTYPE_RSA) && k.type == BR_KEYTYPE_RSA, "an RSA key in %s loads", pk8 ? "PKCS#8" : "PKCS#1") ;
    for (good = 1, id = 2 ; id <= 6 ; id++)
    {
      n = keysign_sign(&k, id, hash, hlen[id], sig) ;
      if (n != 256 || !rsa_verify(rsa, id, hash, hlen[id], sig, n)) good = 0 ;
    }
    ok(good, "RSA (%s): PKCS#1 v1.5 signatures of hash ids 2 to 6, 256 octets, that BearSSL verifies", pk8 ? "PKCS#8" : "PKCS#1") ;
    len = der_of(ec, pk8) ;
    ok(len && keysign_load(&k, (char *)der, len, BR_KEYTYPE_EC) && k.type == BR_KEYTYPE_EC, "an EC key in %s loads", pk8 ? "PKCS#8" : "SEC1") ;
    for (good = 1, id = 2 ; id <= 6 ; id++)
    {
      n = keysign_sign(&k, id, hash, hlen[id], sig) ;
      if (!n || n > 72 || !ec_verify(ec, hash, hlen[id], sig, n)) good = 0 ;
    }
    ok(good, "ECDSA (%s): DER signatures of hash ids 2 to 6 that BearSSL verifies", pk8 ? "PKCS#8" : "SEC1") ;
  }
  ok(!keysign_sign(&k, 4, hash, 31, sig) && !keysign_sign(&k, 4, hash, 48, sig), "a hash of another length than its id's is not signed") ;
  ok(!keysign_sign(&k, 1, hash, 16, sig) && !keysign_sign(&k, 7, hash, 32, sig) && !keysign_sign(&k, 0, hash, 0, sig), "hash ids out of 2 to 6 are not signed") ;
  len = der_of(ec, 0) ;
  errno = 0 ;
  ok(!keysign_load(&k, (char *)der, len, BR_KEYTYPE_RSA) && errno == EINVAL && !k.pkey && !k.type, "an EC key said to be RSA: EINVAL, nothing kept") ;
  ok(!keysign_sign(&k, 4, hash, 32, sig), "no key, no signature") ;
  len = der_of(rsa, 1) ;
  errno = 0 ;
  ok(!keysign_load(&k, (char *)der, len, BR_KEYTYPE_EC) && errno == EINVAL && !k.pkey, "an RSA key said to be EC: EINVAL") ;
  errno = 0 ;
  ok(!keysign_load(&k, (char *)der, len / 2, BR_KEYTYPE_RSA) && errno == EINVAL && !keysign_load(&k, "\x30\x03\x02\x01\x00", 5, BR_KEYTYPE_RSA) && !k.pkey, "a truncated or broken DER: EINVAL") ;
  keysign_free(&k) ;
  EVP_PKEY_free(rsa) ;
  EVP_PKEY_free(ec) ;
  return tap_done() ;
}
