/* ISC license: see LICENSE. */

#ifndef KETCH_ECIMPL_H
#define KETCH_ECIMPL_H

#include <bearssl.h>

/*
 * The elliptic curve code of our TLS engines (lib/tls, the server;
 * lib/tlsclient, the client): a br_ec_impl whose X25519 (RFC 7748 §5)
 * is libsodium's and whose other curves are BearSSL's br_ec_all_m31.
 *
 * Why: Debian's BearSSL is 0.6, whose fastest Curve25519 code is
 * br_ec_c25519_m31 (31-bit limbs; the 64-bit br_ec_c25519_m64 came
 * later), and X25519 is what nearly every client offers first for
 * ECDHE. libsodium, linked anyway for DKIM's Ed25519, has 64-bit limb
 * code and an AVX one (sandy2x), several times faster (t/bench/README.md).
 * P-256 stays BearSSL's br_ec_p256_m31, its best in 0.6.
 *
 * BearSSL's conventions, kept exactly (t/unit/ecimpl.c checks them
 * against br_ec_c25519_m31 byte for byte):
 *   - a point is the 32-octet u-coordinate, little-endian (RFC 7748 §5),
 *     whose top bit is ignored; any other length is an error (0);
 *   - a scalar is little-endian, as in RFC 7748 §5, of at most 32
 *     octets, zero-extended: bearssl_ec.h says big-endian for every
 *     curve, but 0.6's Curve25519 code (m31, i31 and m15 alike) reads it
 *     little-endian, and the unit test pins that, so that a BearSSL that
 *     changes it is noticed; it is clamped as RFC 7748 §5 says (the 3 low
 *     bits cleared, bit 254 set, bit 255 cleared), so any 32 octets are a
 *     scalar;
 *   - generator, order and xoff are BearSSL's (order is 2^255-1 in 0.6,
 *     the X coordinate is the whole point), muladd fails (0) as BearSSL's
 *     does: X25519 is no ECDSA curve;
 *   - mulgen returns 32, and 0 for a scalar over 32 octets (where
 *     BearSSL returns 32 and an indeterminate point: the engines never
 *     pass one).
 * One departure, on purpose: mul of a point of small order (whose result
 * is the all-zero value) fails (0) where br_ec_c25519_m31 succeeds with
 * the all-zero value. RFC 8422 §5.11 makes TLS abort on that value (RFC
 * 7748 §6.1's check); on a 0 the BearSSL engine goes on with a random
 * premaster secret, so the handshake fails at the Finished messages
 * (server) or at once (client), instead of completing with keys known
 * to anyone who saw the point.
 *
 * libsodium wants sodium_init() once per process before use (it picks
 * the AVX code, and sets up its random source: two getrandom calls and
 * a few CPUID instructions, measured in t/unit/ecimpl.c's output).
 * ecimpl_get does it, once per process: after a fork, a child of a
 * process that called it calls it no more. Nothing here prints, exits
 * or allocates.
 */

/* the implementation for br_ssl_engine_set_ec: ours, or br_ec_all_m31
   if libsodium could not be initialised */
extern br_ec_impl const *ecimpl_get (void) ;

#endif
