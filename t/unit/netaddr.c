/* ISC license: see LICENSE. */

/* Unit test of lib/netaddr: every scanner takes its word whole or not at all. */

#include <string.h>

#include "netaddr.h"
#include "tap.h"

static int ip4 (char const *s, char const *want)
{
  char ip[4] = { 9, 9, 9, 9 } ;
  if (!netaddr_ip4(s, strlen(s), ip)) return !want ;
  return want && !memcmp(ip, want, 4) ;
}

static int ip6 (char const *s, char const *want)
{
  char ip[16] ;
  memset(ip, 9, 16) ;
  if (!netaddr_ip6(s, strlen(s), ip)) return !want ;
  return want && !memcmp(ip, want, 16) ;
}

static int host (char const *s) { return netaddr_hostname(s, strlen(s)) ; }

static int port (char const *s, unsigned int want)
{
  uint16_t p = 7 ;
  int r = netaddr_port(s, strlen(s), &p) ;
  return want ? r && p == want : !r && p == 7 ;
}

static int prefix (char const *s, unsigned int max, int want)
{
  unsigned int b = 999 ;
  int r = netaddr_prefix(s, strlen(s), max, &b) ;
  return want >= 0 ? r && b == (unsigned int)want : !r && b == 999 ;
}

static int hostport (char const *s, int want, char const *h, unsigned int p)
{
  size_t start = 99, len = 99 ;
  uint16_t port = 0 ;
  int r = netaddr_hostport(s, strlen(s), &start, &len, &port) ;
  if (r != want) return 0 ;
  if (r != 1) return 1 ;
  return len == strlen(h) && !memcmp(s + start, h, len) && port == p ;
}

int main (void)
{
  static char const v6loop[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } ;
  static char const v6mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (char)0xff, (char)0xff, 1, 2, 3, 4 } ;
  static char const v6full[16] = { 0x20, 0x01, 0x0d, (char)0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6 } ;
  static char const v6mid[16] = { (char)0xfe, (char)0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34 } ;
  static char const zero[16] = { 0 } ;
  tap_plan(62) ;

  ok(ip4("127.0.0.1", "\177\0\0\1"), "ip4: 127.0.0.1") ;
  ok(ip4("255.255.255.255", "\377\377\377\377"), "ip4: 255.255.255.255") ;
  ok(ip4("0.0.0.0", "\0\0\0\0"), "ip4: 0.0.0.0") ;
  ok(ip4("300.1.2.3", 0), "ip4: 300.1.2.3 refused (skalibs reads 44.1.2.3)") ;
  ok(ip4("256.0.0.0", 0), "ip4: 256.0.0.0 refused") ;
  ok(ip4("10.0.0.999", 0), "ip4: 10.0.0.999 refused") ;
  ok(ip4("1.2.3", 0), "ip4: three octets refused") ;
  ok(ip4("1.2.3.4.5", 0), "ip4: five octets refused") ;
  ok(ip4("1.2.3.4.", 0), "ip4: a trailing dot refused") ;
  ok(ip4(".1.2.3.4", 0), "ip4: a leading dot refused") ;
  ok(ip4("1..2.3", 0), "ip4: an empty octet refused") ;
  ok(ip4("010.0.0.1", 0), "ip4: a leading zero refused (octal to inet_aton)") ;
  ok(ip4("1.2.3.4x", 0), "ip4: trailing junk refused") ;
  ok(ip4(" 1.2.3.4", 0), "ip4: leading junk refused") ;
  ok(ip4("1.2.3.4/8", 0), "ip4: a prefix is not part of the address") ;
  ok(ip4("1.2.3.0004", 0), "ip4: four digits refused") ;
  ok(ip4("", 0), "ip4: empty refused") ;
  {
    char ip[4] ;
    ok(netaddr_ip4("1.2.3.45", 7, ip) && !memcmp(ip, "\1\2\3\4", 4), "ip4: the length bounds the scan") ;
  }

  ok(ip6("::1", v6loop), "ip6: ::1") ;
  ok(ip6("::", zero), "ip6: ::") ;
  ok(ip6("::ffff:1.2.3.4", v6mapped), "ip6: a dotted-quad tail") ;
  ok(ip6("2001:db8:1:2:3:4:5:6", v6full), "ip6: eight groups") ;
  ok(ip6("2001:DB8:1:2:3:4:5:6", v6full), "ip6: upper-case hex") ;
  ok(ip6("fe80::1234", v6mid), "ip6: a gap in the middle") ;
  ok(ip6("1::2::3", 0), "ip6: two gaps refused") ;
  ok(ip6("1:2:3:4:5:6:7:8:9", 0), "ip6: nine groups refused") ;
  ok(ip6("1:2:3:4:5:6:7", 0), "ip6: seven groups without a gap refused") ;
  ok(ip6("1:2:3:4::5:6:7:8", 0), "ip6: a gap standing for no group refused") ;
  ok(ip6("12345::1", 0), "ip6: five hex digits refused") ;
  ok(ip6(":1::", 0), "ip6: a single leading colon refused") ;
  ok(ip6("1::2:", 0), "ip6: a single trailing colon refused") ;
  ok(ip6(":::1", 0), "ip6: three colons refused") ;
  ok(ip6("::1%eth0", 0), "ip6: a zone index refused") ;
  ok(ip6("::g", 0), "ip6: a non-hex digit refused") ;
  ok(ip6("::ffff:300.1.2.3", 0), "ip6: a bad dotted-quad tail refused") ;
  ok(ip6("1:2:3:4:5:6:7:1.2.3.4", 0), "ip6: a dotted-quad tail after seven groups refused") ;
  ok(ip6("::1.2.3.4:5", 0), "ip6: a group after the dotted quad refused") ;
  ok(ip6("1.2.3.4", 0), "ip6: a bare dotted quad refused") ;

  ok(host("mx.example.org"), "host: mx.example.org") ;
  ok(host("localhost"), "host: one label") ;
  ok(host("3com.example"), "host: a leading digit (RFC 1123 §2.1)") ;
  ok(!host("smtp..example.net"), "host: an empty label refused") ;
  ok(!host("-bad-"), "host: a leading hyphen refused") ;
  ok(!host("bad-.example"), "host: a trailing hyphen refused") ;
  ok(!host("a_b.example"), "host: an underscore refused") ;
  ok(!host("h.example."), "host: a trailing dot refused") ;
  ok(!host("300.1.2.3"), "host: all-numeric refused") ;
  ok(!host("012345678901234567890123456789012345678901234567890123456789012345.example"), "host: a 64-octet label refused") ;
  ok(host("01234567890123456789012345678901234567890123456789012345678901a.example"), "host: a 63-octet label") ;
  {
    char big[300] ;
    size_t i ;
    for (i = 0 ; i < 254 ; i++) big[i] = i % 2 ? '.' : 'a' ;
    big[253] = 'a' ;
    ok(netaddr_hostname(big, 253) && !netaddr_hostname(big, 254) && !netaddr_hostname(big, 252), "host: 253 octets at most") ;
  }

  ok(port("25", 25) && port("65535", 65535) && port("1", 1), "port: 25, 65535, 1") ;
  ok(port("0", 0) && port("65536", 0) && port("99999", 0) && port("100000", 0), "port: 0 and above 65535 refused") ;
  ok(port("25x", 0) && port("", 0) && port("-1", 0) && port("025", 0) && port(" 25", 0), "port: junk, empty, sign, leading zero refused") ;

  ok(prefix("0", 32, 0) && prefix("32", 32, 32) && prefix("128", 128, 128), "prefix: 0, 32, 128") ;
  ok(prefix("33", 32, -1) && prefix("129", 128, -1) && prefix("4294967304", 32, -1), "prefix: over the maximum refused, never wrapped") ;
  ok(prefix("8x", 32, -1) && prefix("", 32, -1) && prefix("08", 32, -1), "prefix: junk, empty, leading zero refused") ;

  ok(hostport("h.example", 1, "h.example", 0), "hostport: a host name") ;
  ok(hostport("h.example:587", 1, "h.example", 587), "hostport: a host name and port") ;
  ok(hostport("[::1]:26", 1, "::1", 26) && hostport("[::1]", 1, "::1", 0), "hostport: a bracketed IPv6 address, with and without a port") ;
  ok(hostport("192.0.2.1:25", 1, "192.0.2.1", 25) && hostport("[192.0.2.1]", 1, "192.0.2.1", 0), "hostport: a dotted quad, bare or bracketed") ;
  ok(hostport("300.1.2.3:25", 0, 0, 0) && hostport("::1", 0, 0, 0) && hostport("[::1", 0, 0, 0) && hostport("[::1]x", 0, 0, 0)
     && hostport("-bad-", 0, 0, 0) && hostport("", 0, 0, 0) && hostport("[h.example]", 0, 0, 0), "hostport: bad hosts refused") ;
  ok(hostport("h.example:0", -1, 0, 0) && hostport("h.example:", -1, 0, 0) && hostport("[::1]:65536", -1, 0, 0) && hostport("h.example:25:25", -1, 0, 0), "hostport: bad ports told apart") ;
  return tap_done() ;
}
