/* ISC license: see LICENSE. */

/*
 * Unit test of lib/route: the choices remote-send makes and ketch-route
 * prints, where no resolver is needed (routes, smarthost, literals, the
 * MX list and the loop check from a given answer, our own listeners).
 * The DNS cases are covered by t/remote-send-mx.t and t/ketch-route.t.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/ip46.h>

#include "conf.h"
#include "dns.h"
#include "route.h"
#include "tap.h"

static int load (conf *c, char const *text)
{
  stralloc err = STRALLOC_ZERO ;
  int r ;
  tap_put("ketch.conf", text) ;
  r = conf_load(c, tap_path("ketch.conf"), &err) ;
  if (!r) printf("# %.*s\n", (int)err.len, err.s) ;
  stralloc_free(&err) ;
  return r ;
}

static char const *H (route const *r, size_t i) { return route_str(r, route_hops(r)[i].host) ; }

int main (void)
{
  conf c, s, d ;
  route r = ROUTE_ZERO ;
  route_tls t = ROUTE_TLS_ZERO ;
  stralloc names = STRALLOC_ZERO ;
  dns_mx mx[4] ;
  ip46 ip ;
  tap_plan(46) ;
  if (!tap_tmpdir()) return 111 ;
  ok(load(&c,
    "hostname mx.test.example\n"
    "listen 127.0.0.1 port 2525\n"
    "listen :: port 25\n"
    "route special.example via relay.test.example:2526 tls verify auth creds\n"
    "remote-port 2500\n"), "conf with a route loads") ;

  ok(route_static(&r, &c, "special.example") && r.kind == ROUTE_K_ROUTE && r.result == ROUTE_OK && route_nhops(&r) == 1, "a route: one hop") ;
  ok(!strcmp(H(&r, 0), "relay.test.example") && route_hops(&r)[0].port == 2526, "the route's host and port (%s)", H(&r, 0)) ;
  ok(route_hops(&r)[0].tls == CONF_TLS_VERIFY && route_hops(&r)[0].gai, "the route's tls policy, resolved by getaddrinfo first") ;
  ok(route_hops(&r)[0].auth && strstr(r.sa.s + route_hops(&r)[0].auth, "creds"), "the route's credentials file") ;
  ok(route_static(&r, &c, "other.example") && r.kind == ROUTE_K_MX && !route_nhops(&r), "no route: the MX, hops left to the DNS") ;

  ok(route_static(&r, &c, "[192.0.2.7]") && r.kind == ROUTE_K_LITERAL && r.result == ROUTE_OK && route_nhops(&r) == 1, "an IPv4 literal: one hop") ;
  ok(!strcmp(H(&r, 0), "192.0.2.7") && route_hops(&r)[0].port == 2500 && !route_hops(&r)[0].gai, "the literal's address and remote-port") ;
  ok(route_static(&r, &c, "[IPv6:2001:db8::1]") && r.result == ROUTE_OK && !strcmp(H(&r, 0), "2001:db8::1"), "an IPv6 literal") ;
  ok(route_static(&r, &c, "[]") && r.result == ROUTE_BADLITERAL, "an empty literal is bad") ;
  ok(route_static(&r, &c, "[1.2.3.4") && r.result == ROUTE_BADLITERAL, "an unterminated literal is bad") ;

  /* the MX answers, without a resolver: names and preferences as dns_mx_lookup gives them */
  stralloc_catb(&names, "", 1) ;
  mx[0].pref = 20 ; mx[0].name = names.len ; stralloc_catb(&names, "b.example", 10) ;
  mx[1].pref = 10 ; mx[1].name = names.len ; stralloc_catb(&names, "a.example", 10) ;
  mx[2].pref = 30 ; mx[2].name = names.len ; stralloc_catb(&names, "MX.test.example", 16) ;
  mx[3].pref = 40 ; mx[3].name = names.len ; stralloc_catb(&names, "z.example", 10) ;
  ok(route_from_mx(&r, &c, "d.example", DNS_OK, mx, 2, names.s) && r.result == ROUTE_OK && route_nhops(&r) == 2, "two MX: two hops") ;
  ok(!strcmp(H(&r, 0), "a.example") && !strcmp(H(&r, 1), "b.example"), "in preference order") ;
  ok(route_hops(&r)[0].port == 2500 && route_hops(&r)[0].tls == CONF_TLS_OPPORTUNISTIC && !route_hops(&r)[0].auth, "remote-port, outbound tls, no auth") ;
  ok(route_from_mx(&r, &c, "d.example", DNS_OK, mx, 4, names.s) && r.result == ROUTE_OK && route_nhops(&r) == 4, "this host among the MX") ;
  ok(!route_hops(&r)[1].self && route_hops(&r)[2].self && route_hops(&r)[3].self, "this host (any case) and worse are not tried") ;
  ok(route_from_mx(&r, &c, "d.example", DNS_OK, mx + 2, 2, names.s) && r.result == ROUTE_LOOP, "this host is the best MX: a loop") ;
  mx[0].pref = 0 ; mx[0].name = 0 ;  /* route_from_mx sorted the array in place: set both again */
  mx[1].pref = 10 ; mx[1].name = 11 ;
  ok(route_from_mx(&r, &c, "d.example", DNS_OK, mx, 1, names.s) && r.result == ROUTE_NULLMX, "MX 0 . : null MX (RFC 7505)") ;
  ok(route_from_mx(&r, &c, "d.example", DNS_OK, mx, 2, names.s) && r.result == ROUTE_OK && route_nhops(&r) == 1 && !strcmp(H(&r, 0), "a.example"), "a stray . beside a real exchanger is skipped") ;
  ok(route_from_mx(&r, &c, "d.example", DNS_NODATA, 0, 0, "") && r.kind == ROUTE_K_IMPLICIT && route_nhops(&r) == 1 && !strcmp(H(&r, 0), "d.example"), "no MX records: the implicit MX") ;
  ok(route_from_mx(&r, &c, "d.example", DNS_NXDOMAIN, 0, 0, "") && r.result == ROUTE_NXDOMAIN, "NXDOMAIN") ;
  ok(route_from_mx(&r, &c, "d.example", DNS_TEMP, 0, 0, "") && r.result == ROUTE_TEMP, "a temporary DNS failure") ;
  {
    /* a long answer, worst first: only the ROUTE_MX_MAX best are kept */
    dns_mx many[3 * ROUTE_MX_MAX] ;
    size_t k = 0, off = names.len ;
    stralloc_catb(&names, "many.example", 13) ;
    for (; k < 3 * ROUTE_MX_MAX ; k++) { many[k].pref = 3 * ROUTE_MX_MAX - k ; many[k].name = off ; }
    ok(route_from_mx(&r, &c, "d.example", DNS_OK, many, 3 * ROUTE_MX_MAX, names.s) && r.result == ROUTE_OK && route_nhops(&r) == ROUTE_MX_MAX
       && route_hops(&r)[0].pref == 1 && route_hops(&r)[ROUTE_MX_MAX - 1].pref == ROUTE_MX_MAX, "%u MX records: the %u best kept", 3 * ROUTE_MX_MAX, ROUTE_MX_MAX) ;
  }

  ip46_scan("127.0.0.1", &ip) ;
  ok(route_is_myself(&c, &ip, 2525), "our listener's address and port: myself") ;
  ok(!route_is_myself(&c, &ip, 25), "another port: not myself") ;
  ip46_scan("::1", &ip) ;
  ok(route_is_myself(&c, &ip, 25), "::1 on a wildcard :: listener: myself") ;
  ip46_scan("2001:db8::5", &ip) ;
  ok(!route_is_myself(&c, &ip, 25), "another address on a wildcard listener: not known as myself") ;

  ok(load(&s, "hostname h.example\nsmarthost out.example tls required\n"), "conf with a smarthost loads") ;
  ok(route_plan(&r, &s, "anything.example") && r.kind == ROUTE_K_SMARTHOST && route_nhops(&r) == 1 && !strcmp(H(&r, 0), "out.example"), "the smarthost takes every domain, without the DNS") ;
  ok(route_hops(&r)[0].port == 25 && route_hops(&r)[0].tls == CONF_TLS_REQUIRED, "the smarthost's default port and tls policy") ;
  ok(route_plan(&r, &s, "[10.0.0.1]") && r.kind == ROUTE_K_SMARTHOST, "the smarthost takes literals too") ;

  /* the TLS policy of MX hosts: tls-policy, else outbound-tls with DANE where it applies (no resolver here: dns_dnssec_init never ran) */
  ok(load(&d, "hostname h.example\noutbound-tls required\ntls-policy none.example none\ntls-policy enc.example encrypt\n"
    "tls-policy dane.example dane\ntls-policy only.example dane-only\ntls-policy ver.example verify\n"), "conf with tls-policy rules loads") ;
  ok(route_from_mx(&r, &d, "other.example", DNS_OK, mx + 1, 1, names.s) && route_hops(&r)[0].tls == CONF_TLS_REQUIRED && route_hops(&r)[0].dane == ROUTE_DANE_MAY,
    "no rule: outbound-tls, DANE where it applies") ;
  ok(route_tls_decide(&r, route_hops(&r), 1, &t) && !t.temp && t.tls == CONF_TLS_REQUIRED && !strcmp(t.why, "no DNSSEC-validating resolver is trusted"),
    "no trusted resolver: outbound-tls, and why") ;
  ok(route_from_mx(&r, &d, "None.Example", DNS_OK, mx + 1, 1, names.s) && route_hops(&r)[0].tls == CONF_TLS_NONE && route_hops(&r)[0].dane == ROUTE_DANE_OFF,
    "tls-policy none (the domain in any case): no DANE") ;
  ok(route_tls_decide(&r, route_hops(&r), 1, &t) && !t.temp && t.tls == CONF_TLS_NONE && !strcmp(t.why, "configured"), "tls-policy none: configured") ;
  ok(route_from_mx(&r, &d, "enc.example", DNS_OK, mx + 1, 1, names.s) && route_hops(&r)[0].tls == CONF_TLS_REQUIRED && route_hops(&r)[0].dane == ROUTE_DANE_OFF, "tls-policy encrypt: required") ;
  ok(route_from_mx(&r, &d, "ver.example", DNS_OK, mx + 1, 1, names.s) && route_hops(&r)[0].tls == CONF_TLS_VERIFY && route_hops(&r)[0].dane == ROUTE_DANE_OFF, "tls-policy verify") ;
  ok(route_from_mx(&r, &d, "dane.example", DNS_NODATA, 0, 0, "") && route_hops(&r)[0].tls == CONF_TLS_OPPORTUNISTIC && route_hops(&r)[0].dane == ROUTE_DANE_MAY,
    "tls-policy dane, the implicit MX: opportunistic without records") ;
  ok(route_from_mx(&r, &d, "only.example", DNS_OK, mx + 1, 1, names.s) && route_hops(&r)[0].dane == ROUTE_DANE_ONLY, "tls-policy dane-only") ;
  ok(route_tls_decide(&r, route_hops(&r), 1, &t) && t.temp, "dane-only without a trusted resolver: deferred") ;

  /* relay domains: the via host, else a route line, else the MX hosts, never the smarthost */
  conf_free(&s) ;
  ok(load(&s, "hostname h.example\nsmarthost out.example\nrelay-domain via.example via [192.0.2.9]:2525\nrelay-domain mx.example\n"
    "relay-domain rt.example\nroute rt.example via in.example tls verify\n"), "conf with relay domains and a smarthost loads") ;
  ok(route_static(&r, &s, "VIA.example") && r.kind == ROUTE_K_ROUTE && route_nhops(&r) == 1 && !strcmp(H(&r, 0), "192.0.2.9")
     && route_hops(&r)[0].port == 2525 && route_hops(&r)[0].tls == CONF_TLS_OPPORTUNISTIC, "relay-domain via: one hop, its port, opportunistic TLS") ;
  ok(route_static(&r, &s, "mx.example") && r.kind == ROUTE_K_MX && !route_nhops(&r), "relay-domain without via: its MX, not the smarthost") ;
  ok(route_static(&r, &s, "rt.example") && r.kind == ROUTE_K_ROUTE && !strcmp(H(&r, 0), "in.example") && route_hops(&r)[0].tls == CONF_TLS_VERIFY,
     "relay-domain with a route line: the route, with its options") ;
  ok(route_static(&r, &s, "other.example") && r.kind == ROUTE_K_SMARTHOST, "any other domain: still the smarthost") ;

  route_tls_free(&t) ;
  route_free(&r) ;
  stralloc_free(&names) ;
  conf_free(&c) ; conf_free(&s) ; conf_free(&d) ;
  tap_rmtmp() ;
  return tap_done() ;
}
