/* ISC license: see LICENSE. */
/* lib/dns: the TXT and PTR answers ketch-doctor reads (dns_txt_parse, dns_ptr_parse), reverse names */

#include <string.h>

#include <skalibs/stralloc.h>

#include "tap.h"
#include "dns.h"

/* an answer for "a.example" with n records of type, each rdata given with its length */
static size_t answer (unsigned char *b, unsigned int type, unsigned int n, unsigned char const *const *rd, size_t const *rdlen, unsigned int rcode)
{
  static unsigned char const q[] = "\1a\7example" ;
  size_t w = 0, i ;
  unsigned char h[12] = { 0x12, 0x34, 0x81, 0x80 | rcode, 0, 1, 0, n, 0, 0, 0, 0 } ;
  memcpy(b, h, 12) ; w = 12 ;
  memcpy(b + w, q, sizeof(q)) ; w += sizeof(q) ;
  b[w++] = 0 ; b[w++] = type ; b[w++] = 0 ; b[w++] = 1 ;
  for (i = 0 ; i < n ; i++)
  {
    b[w++] = 0xc0 ; b[w++] = 12 ;
    b[w++] = 0 ; b[w++] = type ; b[w++] = 0 ; b[w++] = 1 ;
    b[w++] = 0 ; b[w++] = 0 ; b[w++] = 1 ; b[w++] = 0 ;
    b[w++] = rdlen[i] >> 8 ; b[w++] = rdlen[i] & 255 ;
    memcpy(b + w, rd[i], rdlen[i]) ; w += rdlen[i] ;
  }
  return w ;
}

int main (void)
{
  unsigned char b[1024] ;
  stralloc sa = STRALLOC_ZERO ;
  char name[DNS_PTRNAME_MAX] ;
  size_t len ;
  tap_plan(11) ;
  {
    unsigned char const *rd[3] = { (unsigned char const *)"\6v=spf1\4 -al\1l", (unsigned char const *)"\5hello", (unsigned char const *)"\3a\0b" } ;
    size_t rl[3] = { 14, 6, 4 } ;
    len = answer(b, 16, 3, rd, rl, 0) ;
    ok(dns_txt_parse(b, len, &sa) == DNS_OK, "three TXT records") ;
    ok(sa.len == 18 && !strcmp(sa.s, "v=spf1 -all") && !strcmp(sa.s + 12, "hello"), "strings of a record joined, each record NUL-terminated; one with a NUL dropped") ;
  }
  {
    unsigned char const *rd[1] = { (unsigned char const *)"\11short" } ;
    size_t rl[1] = { 6 } ;
    sa.len = 0 ;
    len = answer(b, 16, 1, rd, rl, 0) ;
    ok(dns_txt_parse(b, len, &sa) == DNS_TEMP && !sa.len, "a string longer than its record: a bad answer, nothing kept") ;
  }
  {
    unsigned char const *rd[1] = { (unsigned char const *)"\2mx\7example\0" } ;
    size_t rl[1] = { 12 } ;
    sa.len = 0 ;
    len = answer(b, 12, 1, rd, rl, 0) ;
    ok(dns_ptr_parse(b, len, &sa) == DNS_OK && !strcmp(sa.s, "mx.example"), "a PTR record: its name, no final dot") ;
    ok(dns_txt_parse(b, len, &sa) == DNS_NODATA, "no TXT among PTR records: NODATA") ;
    len = answer(b, 12, 0, rd, rl, 3) ;
    ok(dns_ptr_parse(b, len, &sa) == DNS_NXDOMAIN, "NXDOMAIN") ;
    len = answer(b, 12, 0, rd, rl, 2) ;
    ok(dns_ptr_parse(b, len, &sa) == DNS_TEMP, "SERVFAIL: temporary") ;
    ok(dns_ptr_parse(b, 5, &sa) == DNS_TEMP, "a truncated answer: temporary") ;
  }
  dns_ptr_name(name, "\300\0\2\31", 0) ;
  ok(!strcmp(name, "25.2.0.192.in-addr.arpa"), "IPv4 reverse name") ;
  dns_ptr_name(name, "\377\377\377\377", 0) ;
  ok(!strcmp(name, "255.255.255.255.in-addr.arpa"), "the longest IPv4 one") ;
  dns_ptr_name(name, "\040\001\015\270\0\0\0\0\0\0\0\0\0\0\0\1", 1) ;
  ok(!strcmp(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa") && strlen(name) + 1 == DNS_PTRNAME_MAX, "IPv6 reverse name (RFC 3596 §2.5), DNS_PTRNAME_MAX long") ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
