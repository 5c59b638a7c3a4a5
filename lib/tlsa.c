/* ISC license: see LICENSE. */

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "tlsa.h"

int tlsa_parse (unsigned char const *s, size_t len, tlsa_rr *rr)
{
  /* RFC 6698 §2.1: three one-octet fields, then the data (RFC 6698 §2.1.4 sets no bound on it but the RDATA's) */
  if (len < 3) return 0 ;
  rr->usage = s[0] ;
  rr->selector = s[1] ;
  rr->mtype = s[2] ;
  rr->data = 3 ;
  rr->len = len - 3 ;
  return 1 ;
}

int tlsa_usable (tlsa_rr const *rr)
{
  if (rr->usage != TLSA_USAGE_DANE_TA && rr->usage != TLSA_USAGE_DANE_EE) return 0 ;
  if (rr->selector != TLSA_SELECTOR_CERT && rr->selector != TLSA_SELECTOR_SPKI) return 0 ;
  switch (rr->mtype)
  {
    case TLSA_MATCH_FULL : return rr->len > 0 ;
    case TLSA_MATCH_SHA256 : return rr->len == 32 ;
    case TLSA_MATCH_SHA512 : return rr->len == 64 ;
    default : return 0 ;
  }
}

int tlsa_set_add (tlsa_set *set, unsigned char const *s, size_t len)
{
  tlsa_rr rr ;
  set->total++ ;
  if (!tlsa_parse(s, len, &rr) || !tlsa_usable(&rr)) return 1 ;
  rr.data = set->data.len ;
  if (!stralloc_catb(&set->data, (char const *)s + 3, rr.len)) return 0 ;
  if (!genalloc_append(tlsa_rr, &set->rrs, &rr)) { set->data.len = rr.data ; return 0 ; }
  return 1 ;
}

void tlsa_set_reset (tlsa_set *set)
{
  set->data.len = 0 ;
  genalloc_setlen(tlsa_rr, &set->rrs, 0) ;
  set->total = 0 ;
}

void tlsa_set_free (tlsa_set *set)
{
  stralloc_free(&set->data) ;
  genalloc_free(tlsa_rr, &set->rrs) ;
  set->total = 0 ;
}

/* RFC 7218 §2.1-2.3 */
static char const *const usages[] = { "PKIX-TA", "PKIX-EE", "DANE-TA", "DANE-EE" } ;
static char const *const selectors[] = { "Cert", "SPKI" } ;
static char const *const mtypes[] = { "Full", "SHA2-256", "SHA2-512" } ;

char const *tlsa_usage_name (unsigned int u)
{
  return u < sizeof(usages) / sizeof(*usages) ? usages[u] : "?" ;
}

char const *tlsa_selector_name (unsigned int u)
{
  return u < sizeof(selectors) / sizeof(*selectors) ? selectors[u] : "?" ;
}

char const *tlsa_mtype_name (unsigned int u)
{
  return u < sizeof(mtypes) / sizeof(*mtypes) ? mtypes[u] : "?" ;
}
