/* ISC license: see LICENSE. */

#include <errno.h>

#include <bearssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "keysign.h"

int keysign_load (keysign *k, char const *der, size_t len, int type)
{
  unsigned char const *p = (unsigned char const *)der ;
  EVP_PKEY *pkey ;
  keysign_free(k) ;
  if (type != BR_KEYTYPE_RSA && type != BR_KEYTYPE_EC) return (errno = EINVAL, 0) ;
  pkey = d2i_AutoPrivateKey(0, &p, (long)len) ;
  ERR_clear_error() ;
  if (!pkey) return (errno = EINVAL, 0) ;
  /* the sessions choose their suites by BearSSL's type: the key must sign as they expect */
  if (EVP_PKEY_get_base_id(pkey) != (type == BR_KEYTYPE_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC)
   || EVP_PKEY_get_size(pkey) <= 0 || EVP_PKEY_get_size(pkey) > KEYSIGN_SIG_MAX)
  {
    EVP_PKEY_free(pkey) ;
    return (errno = EINVAL, 0) ;
  }
  k->pkey = pkey ;
  k->type = type ;
  return 1 ;
}

size_t keysign_sign (keysign const *k, unsigned int id, unsigned char const *hash, size_t len, unsigned char *sig)
{
  /* indexed by TLS 1.2 hash id (RFC 5246 §7.4.1.4.1) */
  static EVP_MD const *(*const md[7])(void) = { 0, 0, &EVP_sha1, &EVP_sha224, &EVP_sha256, &EVP_sha384, &EVP_sha512 } ;
  size_t siglen = KEYSIGN_SIG_MAX ;
  EVP_PKEY_CTX *c ;
  if (!k->pkey || id >= 7 || !md[id] || len != (size_t)EVP_MD_get_size((*md[id])())) return 0 ;
  c = EVP_PKEY_CTX_new(k->pkey, 0) ;
  /* PKCS#1 v1.5 with the hash's DigestInfo (RFC 5246 §4.7); ECDSA checks the hash's length against it */
  if (!c || EVP_PKEY_sign_init(c) <= 0
   || (k->type == BR_KEYTYPE_RSA && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0)
   || EVP_PKEY_CTX_set_signature_md(c, (*md[id])()) <= 0
   || EVP_PKEY_sign(c, sig, &siglen, hash, len) <= 0) siglen = 0 ;
  EVP_PKEY_CTX_free(c) ;
  ERR_clear_error() ;
  return siglen ;
}

void keysign_free (keysign *k)
{
  EVP_PKEY_free(k->pkey) ;
  k->pkey = 0 ;
  k->type = 0 ;
}
