/* ISC license: see LICENSE. */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bearssl.h>

#include "tap.h"
#include "ecimpl.h"

#define C25519 BR_EC_curve25519

static br_hmac_drbg_context rng ;

static void unhex (unsigned char *out, char const *s)
{
  size_t i ;
  for (i = 0 ; s[2*i] ; i++)
  {
    unsigned int v ;
    if (sscanf(s + 2*i, "%2x", &v) != 1) abort() ;
    out[i] = v ;
  }
}

/* X25519(k, u) of RFC 7748 §5 through an implementation's mul */
static uint32_t x25519 (br_ec_impl const *ec, unsigned char *out, unsigned char const *k, unsigned char const *u)
{
  memcpy(out, u, 32) ;
  return ec->mul(out, 32, k, 32, C25519) ;
}

/* the RFC 7748 §5.2 vector (hex, little-endian) through ec: 1 if it gives the output */
static int vector (br_ec_impl const *ec, char const *k, char const *u, char const *want)
{
  unsigned char kb[32], ub[32], wb[32], out[32] ;
  unhex(kb, k) ; unhex(ub, u) ; unhex(wb, want) ;
  return x25519(ec, out, kb, ub) == 1 && !memcmp(out, wb, 32) ;
}

/* §5.2's iteration: k and u start as 9, then k <- X25519(k, u), u <- old k */
static int iterated (br_ec_impl const *ec, unsigned int n, char const *want)
{
  unsigned char k[32] = { 9 }, u[32] = { 9 }, r[32], wb[32] ;
  unsigned int i ;
  unhex(wb, want) ;
  for (i = 0 ; i < n ; i++)
  {
    if (x25519(ec, r, k, u) != 1) return 0 ;
    memcpy(u, k, 32) ;
    memcpy(k, r, 32) ;
  }
  return !memcmp(k, wb, 32) ;
}

static double cpu_now (void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) ;
  return ts.tv_sec + ts.tv_nsec / 1e9 ;
}

/* CPU microseconds of one ECDHE share: a mulgen (our key) and a mul (the secret) */
static double ecdhe_us (br_ec_impl const *ec, unsigned int n)
{
  unsigned char k[32], g[32] ;
  unsigned int i ;
  double t0 = cpu_now() ;
  for (i = 0 ; i < n ; i++)
  {
    br_hmac_drbg_generate(&rng, k, 32) ;
    ec->mulgen(g, k, 32, C25519) ;
    ec->mul(g, 32, k, 32, C25519) ;
  }
  return (cpu_now() - t0) * 1e6 / n ;
}

#define RANDOM 300

int main (void)
{
  /* the points whose X25519 is the all-zero value (RFC 7748 §6.1), little-endian:
     0 (order 2), 1 (order 4), the two of order 8 (found as l times random points,
     l the prime order), p-1 (order 4 on the twist), p and p+1 (0 and 1 again) */
  static char const *const small[7] =
  {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
  } ;
  static int const curves[4] = { BR_EC_secp256r1, BR_EC_secp384r1, BR_EC_secp521r1, C25519 } ;
  br_ec_impl const *m31 = &br_ec_c25519_m31 ;
  br_ec_impl const *ec ;
  unsigned char k[40], g[32], h[32], r1[160], r2[160] ;
  double t0 ;
  unsigned int i, bad, badgen ;
  int same ;

  tap_plan(23) ;
  br_hmac_drbg_init(&rng, &br_sha256_vtable, "t/unit/ecimpl", 13) ;

  t0 = cpu_now() ;
  ec = ecimpl_get() ;
  printf("# ecimpl_get (sodium_init) the first time: %.1f us of CPU\n", (cpu_now() - t0) * 1e6) ;
  ok(ec != &br_ec_all_m31 && ecimpl_get() == ec, "libsodium initialised: our implementation, the same one each time") ;

  /* what BearSSL's engines read of an implementation, identical to br_ec_all_m31's */
  ok(ec->supported_curves == br_ec_all_m31.supported_curves, "the curves of br_ec_all_m31") ;
  same = 1 ;
  for (i = 0 ; i < 4 ; i++)
  {
    size_t l1, l2 ;
    unsigned char const *a = ec->generator(curves[i], &l1), *b = br_ec_all_m31.generator(curves[i], &l2) ;
    if (a != b || l1 != l2) same = 0 ;
    a = ec->order(curves[i], &l1) ; b = br_ec_all_m31.order(curves[i], &l2) ;
    if (a != b || l1 != l2) same = 0 ;
    if (ec->xoff(curves[i], &l1) != br_ec_all_m31.xoff(curves[i], &l2) || l1 != l2) same = 0 ;
  }
  ok(same, "generator, order and xoff: BearSSL's, for every curve") ;
  {
    size_t len, xlen ;
    unsigned char const *o = ec->order(C25519, &len) ;
    unsigned char const *gen = ec->generator(C25519, &xlen) ;
    ok(len == 32 && o[0] == 0x7f && o[31] == 0xff && xlen == 32 && gen[0] == 9 && ec->xoff(C25519, &xlen) == 0 && xlen == 32,
      "Curve25519: order 2^255-1, generator u = 9, the X coordinate the whole 32 octets") ;
  }

  /* RFC 7748 §5.2, through BearSSL's own code first: its scalar is RFC 7748's, little-endian */
  ok(vector(m31, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"), "RFC 7748 5.2 vector 1, br_ec_c25519_m31 (little-endian scalar)") ;
  ok(vector(ec, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"), "RFC 7748 5.2 vector 1, ours") ;
  /* its u has the top bit set, which X25519 ignores */
  ok(vector(m31, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"), "RFC 7748 5.2 vector 2 (u's top bit set), br_ec_c25519_m31") ;
  ok(vector(ec, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"), "RFC 7748 5.2 vector 2 (u's top bit set), ours") ;
  ok(iterated(ec, 1, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
    && iterated(ec, 1000, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"), "RFC 7748 5.2 iterated: 1 and 1000 times") ;

  /* RFC 7748 §6.1: the keys by mulgen, the shared secret by mul, both ways */
  {
    unsigned char a[32], b[32], apub[32], bpub[32], s1[32], s2[32], want[32] ;
    unhex(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a") ;
    unhex(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb") ;
    unhex(want, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a") ;
    ok(ec->mulgen(apub, a, 32, C25519) == 32 && !memcmp(apub, want, 32), "RFC 7748 6.1: Alice's public key by mulgen") ;
    unhex(want, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f") ;
    ok(ec->mulgen(bpub, b, 32, C25519) == 32 && !memcmp(bpub, want, 32), "RFC 7748 6.1: Bob's public key by mulgen") ;
    unhex(want, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742") ;
    memcpy(s1, bpub, 32) ; memcpy(s2, apub, 32) ;
    ok(ec->mul(s1, 32, a, 32, C25519) == 1 && ec->mul(s2, 32, b, 32, C25519) == 1 && !memcmp(s1, want, 32) && !memcmp(s2, want, 32),
      "RFC 7748 6.1: the shared secret K by mul, on both sides") ;
  }

  /* random scalars (1 to 32 octets) and points (any 32 octets: top bit, twist), against br_ec_c25519_m31 */
  bad = badgen = 0 ;
  for (i = 0 ; i < RANDOM ; i++)
  {
    size_t klen ;
    uint32_t ra, rb ;
    br_hmac_drbg_generate(&rng, k, 33) ;
    klen = 1 + k[32] % 32 ;
    if (i < 32) klen = i + 1 ;
    br_hmac_drbg_generate(&rng, g, 32) ;
    memcpy(h, g, 32) ;
    ra = ec->mul(g, 32, k, klen, C25519) ;
    rb = m31->mul(h, 32, k, klen, C25519) ;
    if (ra != 1 || rb != 1 || memcmp(g, h, 32)) bad++ ;
    if (ec->mulgen(g, k, klen, C25519) != 32 || m31->mulgen(h, k, klen, C25519) != 32 || memcmp(g, h, 32)) badgen++ ;
  }
  ok(!bad, "mul: %u random scalars and points, the bytes of br_ec_c25519_m31 (%u differ)", RANDOM, bad) ;
  ok(!badgen, "mulgen: %u random scalars, the bytes of br_ec_c25519_m31 (%u differ)", RANDOM, badgen) ;

  /* u >= p: reduced mod p by both (2^255-1 is p+18) */
  br_hmac_drbg_generate(&rng, k, 32) ;
  memset(g, 0xff, 32) ; g[31] = 0x7f ;
  memcpy(h, g, 32) ;
  ok(ec->mul(g, 32, k, 32, C25519) == 1 && m31->mul(h, 32, k, 32, C25519) == 1 && !memcmp(g, h, 32), "a non-canonical u (p+18): br_ec_c25519_m31's result") ;
  memset(h, 0, 32) ; h[0] = 18 ;
  ok(ec->mul(h, 32, k, 32, C25519) == 1 && !memcmp(g, h, 32), "and that of u = 18") ;

  /* the points of small order: 0 from us (RFC 8422 5.11), the all-zero value from BearSSL 0.6 */
  {
    static unsigned char const zero[32] = { 0 } ;
    unsigned int ours = 0, theirs = 0, n = 0, j ;
    for (i = 0 ; i < 7 ; i++)
      for (j = 0 ; j < 2 ; j++, n++)
      {
        unhex(g, small[i]) ;
        g[31] |= j << 7 ;   /* the top bit, ignored */
        memcpy(h, g, 32) ;
        br_hmac_drbg_generate(&rng, k, 32) ;
        if (ec->mul(g, 32, k, 32, C25519) == 0 && !memcmp(g, zero, 32)) ours++ ;
        if (m31->mul(h, 32, k, 32, C25519) == 1 && !memcmp(h, zero, 32)) theirs++ ;
      }
    ok(ours == n, "mul of the %u encodings of points of small order: 0, the point zeroed (%u of them)", n, ours) ;
    ok(theirs == n, "where br_ec_c25519_m31 gives 1 and the all-zero value (%u of %u)", theirs, n) ;
  }

  /* lengths out of the contract */
  br_hmac_drbg_generate(&rng, k, 33) ;
  memset(g, 0, 32) ; g[0] = 9 ;
  ok(!ec->mul(g, 31, k, 32, C25519) && !ec->mul(g, 33, k, 32, C25519), "a point of 31 or 33 octets: 0") ;
  ok(!ec->mul(g, 32, k, 33, C25519) && !ec->mulgen(h, k, 33, C25519), "a scalar of 33 octets: 0 from mul and mulgen") ;
  ok(!ec->muladd(g, 0, 32, k, 32, k, 32, C25519), "muladd on Curve25519: 0, as BearSSL's") ;

  /* the NIST curves are br_ec_all_m31's: mulgen, mul, muladd give its bytes */
  same = 1 ;
  for (i = 0 ; i < 3 ; i++)
  {
    size_t len1, len2 ;
    unsigned char y[66] ;
    br_hmac_drbg_generate(&rng, k, 32) ;
    br_hmac_drbg_generate(&rng, y, 32) ;
    k[0] &= 0x7f ; y[0] &= 0x7f ;   /* below every order */
    len1 = ec->mulgen(r1, k, 32, curves[i]) ;
    len2 = br_ec_all_m31.mulgen(r2, k, 32, curves[i]) ;
    if (!len1 || len1 != len2 || memcmp(r1, r2, len1)) same = 0 ;
    if (ec->mul(r1, len1, y, 32, curves[i]) != 1 || br_ec_all_m31.mul(r2, len2, y, 32, curves[i]) != 1 || memcmp(r1, r2, len1)) same = 0 ;
    if (ec->muladd(r1, 0, len1, k, 32, y, 32, curves[i]) != 1 || br_ec_all_m31.muladd(r2, 0, len2, k, 32, y, 32, curves[i]) != 1 || memcmp(r1, r2, len1)) same = 0 ;
    r1[len1 - 1] ^= 1 ;   /* off the curve */
    if (ec->mul(r1, len1, y, 32, curves[i]) != 0) same = 0 ;
  }
  ok(same, "P-256, P-384, P-521: the bytes of br_ec_all_m31, and 0 for a point off the curve") ;

  /* a whole ECDSA P-256 signature through it, checked by BearSSL */
  {
    unsigned char sk[32], pub[65], hash[32], sig[80] ;
    br_ec_private_key priv = { .curve = BR_EC_secp256r1, .x = sk, .xlen = 32 } ;
    br_ec_public_key pk = { .curve = BR_EC_secp256r1, .q = pub, .qlen = 65 } ;
    size_t slen ;
    br_hmac_drbg_generate(&rng, sk, 32) ; sk[0] &= 0x7f ;
    br_hmac_drbg_generate(&rng, hash, 32) ;
    ec->mulgen(pub, sk, 32, BR_EC_secp256r1) ;
    slen = br_ecdsa_i31_sign_asn1(ec, &br_sha256_vtable, hash, &priv, sig) ;
    ok(slen && br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, 32, &pk, sig, slen), "an ECDSA P-256 signature made with it verifies") ;
  }

  /* diagnostics: CPU per ECDHE share (timings under load are noise; the ratio holds) */
  ecdhe_us(ec, 20) ;
  {
    double a = ecdhe_us(m31, 200), b = ecdhe_us(ec, 200) ;
    printf("# X25519 mulgen+mul, CPU per share: br_ec_c25519_m31 %.1f us, ours (libsodium) %.1f us, %.1fx\n", a, b, a / b) ;
  }
  return tap_done() ;
}
