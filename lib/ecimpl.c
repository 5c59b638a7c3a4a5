/* ISC license: see LICENSE. */

#include <stdint.h>
#include <string.h>

#include <bearssl.h>
#include <sodium.h>

#include <skalibs/bytestr.h>

#include "ecimpl.h"

/* BearSSL 0.6's little-endian scalar of up to 32 octets, zero-extended to libsodium's 32 */
static int scalar_get (unsigned char *k, unsigned char const *x, size_t xlen)
{
  if (xlen > 32) return 0 ;
  memcpy(k, x, xlen) ;
  memset(k + xlen, 0, 32 - xlen) ;
  return 1 ;
}

static uint32_t ec_mul (unsigned char *g, size_t glen, unsigned char const *x, size_t xlen, int curve)
{
  unsigned char k[32], u[32] ;
  int r ;
  if (curve != BR_EC_curve25519) return br_ec_all_m31.mul(g, glen, x, xlen, curve) ;
  if (glen != 32 || !scalar_get(k, x, xlen)) return 0 ;
  /* libsodium clamps k and ignores u's top bit; -1 for the all-zero result (RFC 7748 §6.1) */
  memcpy(u, g, 32) ;
  r = crypto_scalarmult_curve25519(g, k, u) ;
  byte_zzero((char *)k, sizeof(k)) ;
  if (r < 0) { memset(g, 0, 32) ; return 0 ; }
  return 1 ;
}

static size_t ec_mulgen (unsigned char *r, unsigned char const *x, size_t xlen, int curve)
{
  unsigned char k[32] ;
  if (curve != BR_EC_curve25519) return br_ec_all_m31.mulgen(r, x, xlen, curve) ;
  if (!scalar_get(k, x, xlen)) return 0 ;
  /* never fails: the generator has the large prime order and k is clamped */
  crypto_scalarmult_curve25519_base(r, k) ;
  byte_zzero((char *)k, sizeof(k)) ;
  return 32 ;
}

static unsigned char const *ec_generator (int curve, size_t *len)
{
  return br_ec_all_m31.generator(curve, len) ;
}

static unsigned char const *ec_order (int curve, size_t *len)
{
  return br_ec_all_m31.order(curve, len) ;
}

static size_t ec_xoff (int curve, size_t *len)
{
  return br_ec_all_m31.xoff(curve, len) ;
}

static uint32_t ec_muladd (unsigned char *a, unsigned char const *b, size_t len, unsigned char const *x, size_t xlen, unsigned char const *y, size_t ylen, int curve)
{
  return br_ec_all_m31.muladd(a, b, len, x, xlen, y, ylen, curve) ;
}

/* br_ec_all_m31's curves (a constant: its field is no constant expression) */
static br_ec_impl const ecimpl =
{
  .supported_curves = (uint32_t)1 << BR_EC_secp256r1 | (uint32_t)1 << BR_EC_secp384r1 | (uint32_t)1 << BR_EC_secp521r1 | (uint32_t)1 << BR_EC_curve25519,
  .generator = &ec_generator,
  .order = &ec_order,
  .xoff = &ec_xoff,
  .mul = &ec_mul,
  .mulgen = &ec_mulgen,
  .muladd = &ec_muladd
} ;

br_ec_impl const *ecimpl_get (void)
{
  static br_ec_impl const *x = 0 ;
  if (!x) x = sodium_init() < 0 ? &br_ec_all_m31 : &ecimpl ;
  return x ;
}
