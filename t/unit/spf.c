/* ISC license: see LICENSE. */
/* lib/spf: the record syntax of RFC 7208 §12, and the walk over a zone given by callbacks */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "tap.h"
#include "dns.h"
#include "spf.h"

static int parses (char const *s)
{
  genalloc ga = GENALLOC_ZERO ;
  size_t pos ;
  char const *why ;
  int r = spf_parse(s, strlen(s), &ga, &pos, &why) ;
  genalloc_free(spf_term, &ga) ;
  return r ;
}

static size_t errat (char const *s)
{
  genalloc ga = GENALLOC_ZERO ;
  size_t pos = (size_t)-1 ;
  char const *why ;
  if (spf_parse(s, strlen(s), &ga, &pos, &why)) pos = (size_t)-1 ;
  genalloc_free(spf_term, &ga) ;
  return pos ;
}

/* the zone: TXT records, A records (IPv4 only), MX records */
static char const *const txt[][2] =
{
  { "ex.test", "v=spf1 mx include:inc.test -all" },
  { "ex.test", "some other text" },
  { "inc.test", "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 ~all" },
  { "two.test", "v=spf1 -all" },
  { "two.test", "v=spf1 +all" },
  { "red.test", "v=spf1 redirect=ex.test" },
  { "deep.test", "v=spf1 include:deep.test -all" },
  { "many.test", "v=spf1 a a a a a include:five.test -all" },
  { "five.test", "v=spf1 a a a a ?all" },
  { "noinc.test", "v=spf1 include:nothing.test -all" },
  { "macro.test", "v=spf1 exists:%{i}.rbl.test ip4:192.0.2.1 -all" },
  { "bad.test", "v=spf1 ip4:1.2.3 -all" },
  { "temp.test", "TEMP" },
  { 0, 0 }
} ;
static char const *const a4[][2] =
{
  { "mx.ex.test", "\300\0\2\31" },   /* 192.0.2.25 */
  { 0, 0 }
} ;

static int ftxt (void *ctx, char const *name, stralloc *sa)
{
  unsigned int i = 0 ;
  int found = 0 ;
  (void)ctx ;
  for (; txt[i][0] ; i++)
    if (!strcmp(txt[i][0], name))
    {
      if (!strcmp(txt[i][1], "TEMP")) return DNS_TEMP ;
      if (!stralloc_cats(sa, txt[i][1]) || !stralloc_0(sa)) return DNS_TEMP ;
      found = 1 ;
    }
  return found ? DNS_OK : DNS_NXDOMAIN ;
}

static int fip (void *ctx, char const *name, genalloc *ga)
{
  unsigned int i = 0 ;
  (void)ctx ;
  for (; a4[i][0] ; i++)
    if (!strcmp(a4[i][0], name))
    {
      dns_ip ip ;
      memset(&ip, 0, sizeof(ip)) ;
      memcpy(ip.ip, a4[i][1], 4) ;
      return genalloc_append(dns_ip, ga, &ip) ? DNS_OK : DNS_TEMP ;
    }
  return DNS_NXDOMAIN ;
}

static int fmx (void *ctx, char const *name, genalloc *ga, stralloc *names)
{
  dns_mx mx = { .pref = 10, .name = names->len } ;
  (void)ctx ;
  if (strcmp(name, "ex.test")) return DNS_NODATA ;
  return stralloc_cats(names, "mx.ex.test") && stralloc_0(names) && genalloc_append(dns_mx, ga, &mx) ? DNS_OK : DNS_TEMP ;
}

static spf_dns const zone = { .txt = &ftxt, .ip = &fip, .mx = &fmx, .ctx = 0 } ;

static int walk (char const *domain, char const *ip, spf_report *r)
{
  return spf_walk(&zone, domain, ip, 0, r) ;
}

int main (void)
{
  spf_report r = SPF_REPORT_ZERO ;
  genalloc ga = GENALLOC_ZERO ;
  size_t pos ;
  char const *why ;
  tap_plan(44) ;

  ok(spf_is_record("v=spf1", 6) && spf_is_record("V=SPF1 -all", 11), "v=spf1 alone or before a space, any case (§4.5)") ;
  ok(!spf_is_record("v=spf10 -all", 12) && !spf_is_record("v=spf", 5), "v=spf10 and v=spf are not SPF records") ;
  ok(parses("v=spf1 mx a:mail.example.com/24//64 ip4:192.0.2.0/24 ip6:2001:db8::1 include:_spf.example.net ~all"), "a full record parses") ;
  ok(parses("v=spf1   -all  "), "several spaces and trailing spaces") ;
  ok(parses("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all"), "macros in exists") ;
  ok(parses("v=spf1 redirect=_spf.example.com"), "redirect=") ;
  ok(parses("v=spf1 foo=bar -all"), "an unknown modifier is allowed (§6)") ;
  ok(parses("v=spf1 exp=explain.%{d}"), "exp= with a macro") ;
  ok(!parses("v=spf1 ip4:192.0.2 -all") && errat("v=spf1 ip4:192.0.2 -all") == 11, "ip4 with three octets: the error is at the address") ;
  ok(!parses("v=spf1 ip4:192.0.2.1/33"), "ip4 prefix over 32") ;
  ok(!parses("v=spf1 ip6:2001:db8::/129"), "ip6 prefix over 128") ;
  ok(!parses("v=spf1 ip4:192.0.2.0/024"), "a prefix with a leading zero") ;
  ok(!parses("v=spf1 include"), "include needs a domain") ;
  ok(!parses("v=spf1 include:localhost"), "a domain needs two labels (domain-end)") ;
  ok(!parses("v=spf1 include:example.123"), "an all-numeric top label") ;
  ok(!parses("v=spf1 allow"), "an unknown mechanism") ;
  ok(!parses("v=spf1 -all:x"), "all takes nothing") ;
  ok(!parses("v=spf1 redirect=a.example redirect=b.example"), "redirect= twice") ;
  ok(!parses("v=spf1 -redirect=a.example"), "a modifier with a qualifier") ;
  ok(!parses("v=spf1 exists:%{x}.example"), "an unknown macro letter") ;
  ok(!parses("v=spf1 exists:%{d.example"), "an unclosed macro") ;
  ok(!parses("v=spf1 a:ex%ample.com"), "a lone percent sign") ;
  ok(!parses("v=spf1 exists:%{c}.example.com"), "c is for exp= only") ;
  ok(!parses("v=spf1 a:exa\001mple.com"), "a control character") ;
  ok(!parses("v=spf1\t-all"), "a tab is not a separator") ;
  {
    spf_term const *t ;
    int k = spf_parse("v=spf1 ?a:x.example/24//64 -ip6:2001:db8::/48", 45, &ga, &pos, &why) ;
    t = genalloc_s(spf_term, &ga) ;
    ok(k && genalloc_len(spf_term, &ga) == 2 && t[0].kind == SPF_A && t[0].qual == '?' && t[0].bits4 == 24 && t[0].bits6 == 64
      && t[0].domlen == 9 && !memcmp("v=spf1 ?a:x.example/24//64" + t[0].dom, "x.example", 9), "a:domain/24//64: qualifier, domain and both prefixes") ;
    ok(k && t[1].kind == SPF_IP6 && t[1].qual == '-' && t[1].bits6 == 48 && t[1].ip[0] == 0x20 && t[1].ip[1] == 0x01, "ip6: address and prefix") ;
    ok(spf_term_queries(t) && !spf_term_queries(t + 1), "a queries the DNS, ip6 does not") ;
  }

  ok(walk("ex.test", "\300\0\2\31", &r) && r.result == SPF_R_PASS && r.lookups == 2 && r.nrecords == 1, "mx matches the exchanger's address: pass, 2 lookups") ;
  ok(!strcmp(r.record.s, "v=spf1 mx include:inc.test -all") && !r.why.s[0], "the top record kept, no problem") ;
  ok(walk("ex.test", "\306\063\144\7", &r) && r.result == SPF_R_PASS, "an address of the include's ip4 network: pass") ;
  ok(walk("ex.test", "\313\0\161\1", &r) && r.result == SPF_R_FAIL, "another address: -all, fail (the include's ~all does not match)") ;
  ok(walk("inc.test", "\313\0\161\1", &r) && r.result == SPF_R_SOFTFAIL, "~all: softfail") ;
  ok(walk("red.test", "\300\0\2\31", &r) && r.result == SPF_R_PASS && r.lookups == 3, "redirect= follows, and counts") ;
  ok(walk("two.test", "\300\0\2\31", &r) && r.result == SPF_R_PERMERROR && r.nrecords == 2, "two records: permerror") ;
  ok(walk("nothing.test", "\300\0\2\31", &r) && r.result == SPF_R_NONE && r.nrecords == 0, "no record: none") ;
  ok(walk("deep.test", "\300\0\2\31", &r) && r.result == SPF_R_PERMERROR && r.lookups > 10, "an include loop ends, permerror") ;
  ok(walk("many.test", "\300\0\2\31", &r) && r.lookups == 10 && r.result == SPF_R_FAIL, "10 lookups through an include: allowed") ;
  ok(walk("noinc.test", "\300\0\2\31", &r) && r.result == SPF_R_PERMERROR && strstr(r.why.s, "include:nothing.test has no SPF record"), "an include without a record: permerror, said") ;
  ok(walk("macro.test", "\300\0\2\1", &r) && r.result == SPF_R_PASS && r.unchecked && r.lookups == 1, "a macro term: counted, not followed, said") ;
  ok(walk("bad.test", "\300\0\2\1", &r) && r.result == SPF_R_PERMERROR && strstr(r.why.s, "syntax error at character 12"), "a syntax error: permerror, where") ;
  ok(walk("temp.test", "\300\0\2\1", &r) && r.result == SPF_R_TEMPERROR, "a DNS failure: temperror") ;
  {
    spf_report r6 = SPF_REPORT_ZERO ;
    char ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } ;
    ok(spf_walk(&zone, "inc.test", ip6, 1, &r6) && r6.result == SPF_R_PASS, "an IPv6 address in ip6:2001:db8::/32") ;
    spf_report_free(&r6) ;
  }
  ok(!strcmp(spf_result_name(SPF_R_PERMERROR), "permerror") && !strcmp(spf_result_name(99), "?"), "result names") ;
  genalloc_free(spf_term, &ga) ;
  spf_report_free(&r) ;
  return tap_done() ;
}
