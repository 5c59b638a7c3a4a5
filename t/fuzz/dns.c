/* ISC license: see LICENSE. */
/* libFuzzer: DNS answers as remote-send reads them (MX, A, AAAA records). */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "dns.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  genalloc mxs = GENALLOC_ZERO, ips = GENALLOC_ZERO ;
  stralloc names = STRALLOC_ZERO ;
  if (dns_mx_parse(data, size, &mxs, &names) == DNS_OK)
  {
    size_t n = genalloc_len(dns_mx, &mxs), i = 0 ;
    dns_mx *m = genalloc_s(dns_mx, &mxs) ;
    for (; i < n ; i++) if (m[i].name >= names.len || strlen(names.s + m[i].name) > 1024) abort() ;
    dns_mx_sort(m, n) ;
    (void)dns_mx_isnull(m, n, names.s) ;
  }
  (void)dns_ip_parse(data, size, 0, &ips) ;
  (void)dns_ip_parse(data, size, 1, &ips) ;
  genalloc_free(dns_mx, &mxs) ; genalloc_free(dns_ip, &ips) ; stralloc_free(&names) ;
  return 0 ;
}
