/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/spf: the input as one SPF record (spf_parse),
 * then as the only TXT record of every name of a zone that the walk
 * (spf_walk) follows, so that includes and redirects recurse into it
 * until the walk's bounds stop them. Every term's domain must lie inside
 * the record. Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "dns.h"
#include "spf.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static char const *rec ;
static size_t reclen ;

static int ftxt (void *ctx, char const *name, stralloc *sa)
{
  (void)ctx ; (void)name ;
  if (memchr(rec, 0, reclen)) return DNS_NODATA ;   /* lib/dns drops such records */
  return stralloc_catb(sa, rec, reclen) && stralloc_0(sa) ? DNS_OK : DNS_TEMP ;
}

static int fip (void *ctx, char const *name, genalloc *ga)
{
  dns_ip ip ;
  (void)ctx ;
  memset(&ip, 0, sizeof(ip)) ;
  ip.ip[0] = (char)strlen(name) ;
  return genalloc_append(dns_ip, ga, &ip) ? DNS_OK : DNS_TEMP ;
}

static int fmx (void *ctx, char const *name, genalloc *ga, stralloc *names)
{
  unsigned int i = 0 ;
  (void)ctx ;
  /* more exchangers than the walk may look up (§4.6.4: 10) */
  for (; i < 12 ; i++)
  {
    dns_mx mx = { .pref = i, .name = names->len } ;
    if (!stralloc_cats(names, name) || !stralloc_0(names) || !genalloc_append(dns_mx, ga, &mx)) return DNS_TEMP ;
  }
  return DNS_OK ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static spf_dns const zone = { .txt = &ftxt, .ip = &fip, .mx = &fmx, .ctx = 0 } ;
  genalloc ga = GENALLOC_ZERO ;
  spf_report r = SPF_REPORT_ZERO ;
  size_t pos ;
  char const *why ;
  rec = (char const *)data ;
  reclen = size ;
  if (spf_parse(rec, size, &ga, &pos, &why))
  {
    size_t n = genalloc_len(spf_term, &ga), i = 0 ;
    spf_term const *t = genalloc_s(spf_term, &ga) ;
    for (; i < n ; i++)
      if (t[i].pos >= size || t[i].dom > size || t[i].domlen > size - t[i].dom || t[i].bits4 > 32 || t[i].bits6 > 128) abort() ;
  }
  else if (pos > size || !why) abort() ;
  if (!spf_walk(&zone, "fuzz.example", "\300\0\2\1", 0, &r)) abort() ;
  if (r.result > SPF_R_PERMERROR) abort() ;
  genalloc_free(spf_term, &ga) ;
  spf_report_free(&r) ;
  return 0 ;
}
