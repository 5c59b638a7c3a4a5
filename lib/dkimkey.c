/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <stdint.h>

#include <bearssl.h>
#include <sodium.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/random.h>
#include <skalibs/stralloc.h>

#include "base64.h"
#include "dkimkey.h"

static char const *const errors[DKIMKEY_NRESULTS] =
{
  "ok",
  "system error",
  "not a PEM file",
  "no private key in the file",
  "not an RSA or Ed25519 private key",
  "the private key is malformed",
  "RSA key under 1024 bits (RFC 8301 §3.2)",
  "RSA key over 4096 bits (RFC 8301 §3.1)"
} ;

char const *dkimkey_strerror (int e)
{
  if (e == DKIMKEY_ESYS) return strerror(errno) ;
  return e >= 0 && e < DKIMKEY_NRESULTS ? errors[e] : "unknown error" ;
}

char const *dkimkey_k (int type)
{
  return type == DKIMKEY_ED25519 ? "ed25519" : "rsa" ;
}

char const *dkimkey_algorithm (int type)
{
  return type == DKIMKEY_ED25519 ? "ed25519-sha256" : "rsa-sha256" ;
}

size_t dkimkey_siglen (dkimkey const *k)
{
  return k->type == DKIMKEY_ED25519 ? DKIMKEY_ED25519_SIG : (k->bits + 7) >> 3 ;
}

/*
 * RFC 8410 §7: the whole PKCS#8 of an Ed25519 key is SEQUENCE { INTEGER 0,
 * SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }: a
 * fixed prefix and the seed. Only that form is taken (no attributes, no
 * public key: what OpenSSL writes).
 */
static unsigned char const ed25519_pkcs8[16] =
{
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
} ;

/* the DER of one PEM object, bounded: it never holds more than a key file */
typedef struct derbuf_s derbuf ;
struct derbuf_s
{
  unsigned char s[DKIMKEY_FILE_MAX] ;
  size_t len ;
  int over ;
} ;

static void der_append (void *ctx, void const *s, size_t len)
{
  derbuf *d = ctx ;
  if (d->over || len > sizeof(d->s) - d->len) { d->over = 1 ; return ; }
  memcpy(d->s + d->len, s, len) ;
  d->len += len ;
}

static int ed25519_set (dkimkey *k, unsigned char const *seed)
{
  unsigned char pk[crypto_sign_ed25519_PUBLICKEYBYTES] ;
  if (sodium_init() < 0) return (errno = EIO, 0) ;
  if (crypto_sign_ed25519_seed_keypair(pk, k->buf, seed) < 0) return (errno = EINVAL, 0) ;
  k->type = DKIMKEY_ED25519 ;
  k->bits = 256 ;
  return 1 ;
}

/* the RSA key of the decoder into k; DKIMKEY_OK or why not */
static int rsa_set (dkimkey *k, br_rsa_private_key const *sk)
{
  size_t total = sk->plen + sk->qlen + sk->dplen + sk->dqlen + sk->iqlen ;
  unsigned char *w = k->buf ;
  if (sk->n_bitlen < DKIMKEY_RSA_MIN) return DKIMKEY_ESMALL ;
  if (sk->n_bitlen > DKIMKEY_RSA_MAX) return DKIMKEY_EBIG ;
  if (total > sizeof(k->buf)) return DKIMKEY_EDER ;
  k->rsa.n_bitlen = sk->n_bitlen ;
#define COPY(f) k->rsa.f = w ; k->rsa.f##len = sk->f##len ; memcpy(w, sk->f, sk->f##len) ; w += sk->f##len
  COPY(p) ; COPY(q) ; COPY(dp) ; COPY(dq) ; COPY(iq) ;
#undef COPY
  /* a key whose modulus or public exponent cannot be computed cannot sign either */
  if (!br_rsa_compute_modulus_get_default()(0, &k->rsa) || !br_rsa_compute_pubexp_get_default()(&k->rsa))
  {
    byte_zzero((char *)k->buf, sizeof(k->buf)) ;
    return DKIMKEY_EDER ;
  }
  k->type = DKIMKEY_RSA ;
  k->bits = sk->n_bitlen ;
  return DKIMKEY_OK ;
}

static int parse_der (dkimkey *k, unsigned char const *s, size_t len)
{
  br_skey_decoder_context sd ;
  int r ;
  if (len == sizeof(ed25519_pkcs8) + 32 && !memcmp(s, ed25519_pkcs8, sizeof(ed25519_pkcs8)))
    return ed25519_set(k, s + sizeof(ed25519_pkcs8)) ? DKIMKEY_OK : DKIMKEY_ESYS ;
  br_skey_decoder_init(&sd) ;
  br_skey_decoder_push(&sd, s, len) ;
  if (br_skey_decoder_last_error(&sd))
  {
    /* an Ed448 or other PKCS#8 key reads as an unknown key type */
    r = br_skey_decoder_last_error(&sd) == BR_ERR_X509_UNSUPPORTED ? DKIMKEY_ETYPE : DKIMKEY_EDER ;
  }
  else if (br_skey_decoder_key_type(&sd) != BR_KEYTYPE_RSA) r = DKIMKEY_ETYPE ;
  else r = rsa_set(k, br_skey_decoder_get_rsa(&sd)) ;
  byte_zzero((char *)&sd, sizeof(sd)) ;
  return r ;
}

int dkimkey_parse (dkimkey *k, char const *s, size_t len)
{
  static derbuf d ;  /* 16 KiB: off the stack, wiped after use */
  br_pem_decoder_context pc ;
  int inobj = 0, keyobj = 0, r = DKIMKEY_ENOKEY, sawobj = 0 ;
  k->type = DKIMKEY_NONE ; k->bits = 0 ;
  if (len > DKIMKEY_FILE_MAX) return DKIMKEY_EPEM ;
  d.len = 0 ; d.over = 0 ;
  br_pem_decoder_init(&pc) ;
  /* the decoder ends an object only at a newline: one is pushed after the text */
  for (unsigned int seg = 0 ; seg < 2 ; seg++)
  {
    char const *p = seg ? "\n" : s ;
    size_t n = seg ? 1 : len ;
    while (n)
    {
      size_t w = br_pem_decoder_push(&pc, p, n) ;
      p += w ; n -= w ;
      switch (br_pem_decoder_event(&pc))
      {
        case BR_PEM_BEGIN_OBJ :
        {
          char const *name = br_pem_decoder_name(&pc) ;
          sawobj = 1 ;
          inobj = 1 ;
          keyobj = !strcmp(name, "PRIVATE KEY") || !strcmp(name, "RSA PRIVATE KEY") ;
          if (!strcmp(name, "EC PRIVATE KEY") && r == DKIMKEY_ENOKEY) r = DKIMKEY_ETYPE ;
          d.len = 0 ; d.over = 0 ;
          br_pem_decoder_setdest(&pc, keyobj ? &der_append : 0, &d) ;
          break ;
        }
        case BR_PEM_END_OBJ :
          if (inobj && keyobj)
          {
            r = d.over ? DKIMKEY_EDER : parse_der(k, d.s, d.len) ;
            byte_zzero((char *)d.s, d.len) ;
            byte_zzero((char *)&pc, sizeof(pc)) ;
            return r ;
          }
          inobj = 0 ;
          break ;
        case BR_PEM_ERROR :
          byte_zzero((char *)d.s, d.len) ;
          return DKIMKEY_EPEM ;
        default : break ;
      }
    }
  }
  byte_zzero((char *)d.s, d.len) ;
  if (inobj) return DKIMKEY_EPEM ;
  return sawobj ? r : DKIMKEY_EPEM ;
}

int dkimkey_load (dkimkey *k, char const *file)
{
  char buf[DKIMKEY_FILE_MAX + 1] ;
  ssize_t n = openreadnclose(file, buf, sizeof(buf)) ;
  int r ;
  if (n < 0) return DKIMKEY_ESYS ;
  if ((size_t)n > DKIMKEY_FILE_MAX) { byte_zzero(buf, sizeof(buf)) ; return DKIMKEY_EPEM ; }
  r = dkimkey_parse(k, buf, n) ;
  byte_zzero(buf, n) ;
  return r ;
}

int dkimkey_sign (dkimkey const *k, unsigned char const *hash, unsigned char *sig)
{
  if (k->type == DKIMKEY_ED25519)
    return crypto_sign_ed25519_detached(sig, 0, hash, 32, k->buf) == 0 ;
  if (k->type == DKIMKEY_RSA)
    return br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hash, 32, &k->rsa, sig) == 1 ;
  return (errno = EINVAL, 0) ;
}

/* a DER tag and length (lengths up to 65535: what a 4096-bit key needs) */
static int der_head (stralloc *sa, unsigned char tag, size_t len)
{
  unsigned char h[4] = { tag } ;
  size_t n = 2 ;
  if (len < 0x80) h[1] = len ;
  else if (len < 0x100) { h[1] = 0x81 ; h[2] = len ; n = 3 ; }
  else { h[1] = 0x82 ; h[2] = len >> 8 ; h[3] = len & 0xff ; n = 4 ; }
  return stralloc_catb(sa, (char *)h, n) ;
}

/* an unsigned big-endian integer as a DER INTEGER: no leading zeros, one if the top bit is set */
static int der_uint (stralloc *sa, unsigned char const *s, size_t len)
{
  int pad ;
  while (len > 1 && !*s) { s++ ; len-- ; }
  pad = !len || *s & 0x80 ;
  return der_head(sa, 0x02, len + pad) && (!pad || stralloc_catb(sa, "", 1)) && stralloc_catb(sa, (char const *)s, len) ;
}

/* RFC 3279 §2.3.1: the rsaEncryption OID and a NULL */
static unsigned char const rsa_alg[15] =
{
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00
} ;

int dkimkey_public (dkimkey const *k, stralloc *sa)
{
  if (k->type == DKIMKEY_ED25519) return stralloc_catb(sa, (char const *)k->buf + 32, DKIMKEY_ED25519_PUB) ;
  if (k->type != DKIMKEY_RSA) return (errno = EINVAL, 0) ;
  {
    unsigned char n[DKIMKEY_RSA_MAX / 8] ;
    unsigned char e[4] ;
    uint32_t pubexp = br_rsa_compute_pubexp_get_default()(&k->rsa) ;
    size_t nlen = br_rsa_compute_modulus_get_default()(n, &k->rsa) ;
    stralloc ints = STRALLOC_ZERO ;
    size_t keylen ;
    int ok ;
    if (!nlen || !pubexp) return (errno = EINVAL, 0) ;
    e[0] = pubexp >> 24 ; e[1] = pubexp >> 16 ; e[2] = pubexp >> 8 ; e[3] = pubexp ;
    /* RSAPublicKey (RFC 8017 A.1.1), inside a BIT STRING, inside SubjectPublicKeyInfo (RFC 5280 §4.1) */
    ok = der_uint(&ints, n, nlen) && der_uint(&ints, e, 4) ;
    keylen = ints.len + (ints.len < 0x80 ? 2 : ints.len < 0x100 ? 3 : 4) ;
    ok = ok && der_head(sa, 0x30, sizeof(rsa_alg) + (keylen + 1) + (keylen + 1 < 0x80 ? 2 : keylen + 1 < 0x100 ? 3 : 4))
      && stralloc_catb(sa, (char const *)rsa_alg, sizeof(rsa_alg))
      && der_head(sa, 0x03, keylen + 1) && stralloc_catb(sa, "", 1)
      && der_head(sa, 0x30, ints.len) && stralloc_catb(sa, ints.s, ints.len) ;
    stralloc_free(&ints) ;
    return ok ;
  }
}

int dkimkey_txt (dkimkey const *k, stralloc *sa)
{
  stralloc pub = STRALLOC_ZERO ;
  int ok = dkimkey_public(k, &pub)
    && stralloc_cats(sa, "v=DKIM1; k=") && stralloc_cats(sa, dkimkey_k(k->type))
    && stralloc_cats(sa, "; p=") && base64_cat(sa, pub.s, pub.len) ;
  stralloc_free(&pub) ;
  return ok ;
}

int dkimkey_zone (char const *domain, char const *selector, char const *txt, size_t len, stralloc *sa)
{
  size_t dlen = strlen(domain) ;
  if (!stralloc_cats(sa, selector) || !stralloc_cats(sa, "._domainkey.") || !stralloc_cats(sa, domain)
   || ((!dlen || domain[dlen - 1] != '.') && !stralloc_catb(sa, ".", 1))
   || !stralloc_cats(sa, " IN TXT (")) return 0 ;
  do
  {
    size_t n = len > 255 ? 255 : len ;
    if (!stralloc_cats(sa, " \"") || !stralloc_catb(sa, txt, n) || !stralloc_catb(sa, "\"", 1)) return 0 ;
    txt += n ; len -= n ;
    if (len && !stralloc_cats(sa, "\n   ")) return 0 ;
  } while (len) ;
  return stralloc_cats(sa, " )\n") ;
}

int dkimkey_generate (dkimkey *k, int type, unsigned int bits)
{
  k->type = DKIMKEY_NONE ; k->bits = 0 ;
  if (type == DKIMKEY_ED25519)
  {
    unsigned char seed[32] ;
    int ok ;
    random_buf((char *)seed, sizeof(seed)) ;
    ok = ed25519_set(k, seed) ;
    byte_zzero((char *)seed, sizeof(seed)) ;
    return ok ;
  }
  if (type != DKIMKEY_RSA || bits < DKIMKEY_RSA_MIN || bits > DKIMKEY_RSA_MAX) return (errno = EINVAL, 0) ;
  {
    br_hmac_drbg_context rng ;
    br_prng_seeder seeder = br_prng_seeder_system(0) ;
    int ok ;
    br_hmac_drbg_init(&rng, &br_sha256_vtable, 0, 0) ;
    if (!seeder || !seeder(&rng.vtable)) return (errno = EIO, 0) ;
    /* 65537, the exponent every verifier expects (RFC 8017 leaves it open; BearSSL's default is 3) */
    ok = br_rsa_keygen_get_default()(&rng.vtable, &k->rsa, k->buf, 0, 0, bits, 65537) ;
    byte_zzero((char *)&rng, sizeof(rng)) ;
    if (!ok) return (errno = EIO, 0) ;
    k->type = DKIMKEY_RSA ;
    k->bits = k->rsa.n_bitlen ;
    return 1 ;
  }
}

int dkimkey_pem (dkimkey const *k, stralloc *sa)
{
  unsigned char der[2 * DKIMKEY_FILE_MAX / 4] ;
  size_t len ;
  int ok ;
  if (k->type == DKIMKEY_ED25519)
  {
    memcpy(der, ed25519_pkcs8, sizeof(ed25519_pkcs8)) ;
    memcpy(der + sizeof(ed25519_pkcs8), k->buf, 32) ;
    len = sizeof(ed25519_pkcs8) + 32 ;
  }
  else if (k->type == DKIMKEY_RSA)
  {
    unsigned char n[DKIMKEY_RSA_MAX / 8], d[DKIMKEY_RSA_MAX / 8], e[4] ;
    br_rsa_public_key pk ;
    uint32_t pubexp = br_rsa_compute_pubexp_get_default()(&k->rsa) ;
    size_t dlen ;
    pk.n = n ; pk.nlen = br_rsa_compute_modulus_get_default()(n, &k->rsa) ;
    e[0] = pubexp >> 24 ; e[1] = pubexp >> 16 ; e[2] = pubexp >> 8 ; e[3] = pubexp ;
    pk.e = e ; pk.elen = 4 ;
    while (pk.elen > 1 && !*pk.e) { pk.e++ ; pk.elen-- ; }
    dlen = pubexp && pk.nlen ? br_rsa_compute_privexp_get_default()(d, &k->rsa, pubexp) : 0 ;
    if (!dlen || br_encode_rsa_pkcs8_der(0, &k->rsa, &pk, d, dlen) > sizeof(der)) { byte_zzero((char *)d, sizeof(d)) ; return (errno = EINVAL, 0) ; }
    len = br_encode_rsa_pkcs8_der(der, &k->rsa, &pk, d, dlen) ;
    byte_zzero((char *)d, sizeof(d)) ;
  }
  else return (errno = EINVAL, 0) ;
  {
    size_t plen = br_pem_encode(0, der, len, "PRIVATE KEY", BR_PEM_LINE64) ;
    ok = stralloc_readyplus(sa, plen + 1) ;
    if (ok) sa->len += br_pem_encode(sa->s + sa->len, der, len, "PRIVATE KEY", BR_PEM_LINE64) ;
  }
  byte_zzero((char *)der, sizeof(der)) ;
  return ok ;
}

void dkimkey_free (dkimkey *k)
{
  byte_zzero((char *)k->buf, sizeof(k->buf)) ;
  byte_zzero((char *)&k->rsa, sizeof(k->rsa)) ;
  k->type = DKIMKEY_NONE ;
  k->bits = 0 ;
}
