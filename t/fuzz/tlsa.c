/* ISC license: see LICENSE. */
/*
 * libFuzzer: TLSA records as remote-send reads them (lib/tlsa, the TLSA
 * answer of lib/dns) and server certificates as lib/daneverify reads
 * them: the input is a TLSA RDATA, a DNS answer, a certificate whose
 * SubjectPublicKeyInfo is looked for and matched, and a chain of two
 * "certificates" (its halves) run through the X.509 class with a
 * DANE-TA record naming the second, so that arbitrary bytes reach the
 * chain validation too.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include <bearssl.h>

#include "daneverify.h"
#include "dns.h"
#include "tlsa.h"

static daneverify dv ;

static void chain (tlsa_set const *set, uint8_t const *const *c, size_t const *len, unsigned int n)
{
  br_x509_class const **x = &dv.vtable ;
  unsigned int i ;
  unsigned r ;
  daneverify_init(&dv, set, "mx.example") ;
  (*x)->start_chain(x, "mx.example") ;
  for (i = 0 ; i < n ; i++)
  {
    (*x)->start_cert(x, (uint32_t)len[i]) ;
    (*x)->append(x, c[i], len[i]) ;
    (*x)->end_cert(x) ;
  }
  r = (*x)->end_chain(x) ;
  /* accepted: a key and the usage that matched; refused: a reason and no key */
  if (!r && (!dv.pkey || (dv.usage != TLSA_USAGE_DANE_EE && dv.usage != TLSA_USAGE_DANE_TA))) abort() ;
  if (r && (!dv.reason || (*x)->get_pkey((br_x509_class const *const *)x, 0))) abort() ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  tlsa_set set = TLSA_SET_ZERO, ans = TLSA_SET_ZERO ;
  size_t off, len, i ;
  if (!tlsa_set_add(&set, data, size)) abort() ;
  if (set.total != 1 || tlsa_set_n(&set) > 1) abort() ;
  if (dns_tlsa_parse(data, size, &ans) == DNS_OK && !ans.total) abort() ;
  for (i = 0 ; i < tlsa_set_n(&ans) ; i++)
    if (!tlsa_usable(tlsa_set_rrs(&ans) + i) || tlsa_set_rrs(&ans)[i].data + tlsa_set_rrs(&ans)[i].len > ans.data.len) abort() ;
  if (daneverify_spki(data, size, &off, &len) && (off > size || len > size - off)) abort() ;
  for (i = 0 ; i < tlsa_set_n(&ans) ; i++) (void)daneverify_match(&ans, tlsa_set_rrs(&ans) + i, data, size) ;
  {
    uint8_t const *one[1] = { data } ;
    size_t onelen[1] = { size } ;
    chain(&set, one, onelen, 1) ;
  }
  if (size >= 2)
  {
    /* a DANE-TA record for the second half, in full */
    uint8_t const *two[2] = { data, data + size / 2 } ;
    size_t twolen[2] = { size / 2, size - size / 2 } ;
    unsigned char *rd = malloc(3 + twolen[1]) ;
    size_t k ;
    if (!rd) abort() ;
    rd[0] = 2 ; rd[1] = 0 ; rd[2] = 0 ;
    for (k = 0 ; k < twolen[1] ; k++) rd[3 + k] = two[1][k] ;
    tlsa_set_reset(&set) ;
    if (!tlsa_set_add(&set, rd, 3 + twolen[1])) abort() ;
    free(rd) ;
    chain(&set, two, twolen, 2) ;
  }
  tlsa_set_free(&set) ;
  tlsa_set_free(&ans) ;
  return 0 ;
}
