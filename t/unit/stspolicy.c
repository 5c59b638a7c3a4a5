/* ISC license: see LICENSE. */
/* lib/stspolicy (RFC 8461 §3.2, §4.1), lib/httpsget's response parser (§3.3), lib/stscache's file (§5.1), route_sts_apply */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "httpsget.h"
#include "route.h"
#include "stscache.h"
#include "stspolicy.h"

static stspolicy p ;
static char const *why ;
static unsigned int line ;
static char const *text ;

static int pp (char const *s) { text = s ; why = 0 ; return stspolicy_parse(s, strlen(s), &p, &why, &line) ; }
static int resp (char const *s, int eof, size_t *off, size_t *blen) { return httpsget_response(s, strlen(s), eof, off, blen, &why) ; }

#define RFC "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"

int main (void)
{
  size_t off, blen ;
  char big[STSPOLICY_MX_MAX * 12 + 64] ;
  unsigned int i ;
  tap_plan(44) ;

  ok(pp(RFC) && p.mode == STSPOLICY_ENFORCE && p.max_age == 604800 && p.nmx == 3, "RFC 8461 §3.2's example") ;
  ok(p.mxlen[1] == 13 && !memcmp(text + p.mx[1], "*.example.net", 13), "a pattern is an offset into the text") ;
  ok(pp("version: STSv1\nmode: testing\nmx: a.example\nmax_age: 0") && p.mode == STSPOLICY_TESTING && !p.max_age, "LF line ends, no end on the last line, max_age 0") ;
  ok(pp("version: STSv1\nmode: none\nmax_age: 86400\n") && p.mode == STSPOLICY_NONE && !p.nmx, "mode none needs no mx") ;
  ok(pp("mx: a.example\nmax_age: 1\nmode: enforce\nversion: STSv1\n"), "any order") ;
  ok(pp("version:STSv1\nmode:\tenforce \nmx:  a.example\t\nmax_age: 1\n") && p.mxlen[0] == 9, "spaces around values left out") ;
  ok(pp("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nfoo_bar.1: anything at all\n\n"), "an extension, an empty line") ;
  ok(!pp("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n") && line == 1 && !strcmp(why, "the version is not STSv1"), "version STSv2: refused, the line said") ;
  ok(!pp("Version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n") && !strcmp(why, "no version") && !line, "keys are case-sensitive") ;
  ok(!pp("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n"), "so are modes") ;
  ok(!pp("version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n") && line == 3, "mode twice") ;
  ok(!pp("version: STSv1\nmode: enforce\nmax_age: 1\n") && !strcmp(why, "no mx pattern"), "enforce without mx") ;
  ok(!pp("version: STSv1\nmode: enforce\nmx: a.example\n") && !strcmp(why, "no max_age"), "no max_age") ;
  ok(pp("version: STSv1\nmode: none\nmax_age: 31557600\n") && p.max_age == 31557600, "max_age 31557600 (a year)") ;
  ok(!pp("version: STSv1\nmode: none\nmax_age: 31557601\n"), "max_age one over") ;
  ok(!pp("version: STSv1\nmode: none\nmax_age: 99999999999\n") && !pp("version: STSv1\nmode: none\nmax_age: 4294967296\n"), "max_age: 11 digits, 2^32: no overflow") ;
  ok(!pp("version: STSv1\nmode: none\nmax_age: -1\n") && !pp("version: STSv1\nmode: none\nmax_age: \n"), "max_age not a number, empty") ;
  ok(!pp("version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n") && !pp("version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n")
    && !pp("version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 1\n") && !pp("version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n")
    && !pp("version: STSv1\nmode: enforce\nmx: a b\nmax_age: 1\n") && !pp("version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n"), "bad patterns") ;
  ok(!pp("version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n") && !strcmp(why, "a line without a colon") && line == 3, "a line without a colon") ;
  ok(!pp("version: STSv1\nmode: none\nmax_age: 1\nx: a\001b\n"), "a control character") ;
  ok(stspolicy_parse("version: STSv1\nmode: none\nmax_age: 1\n\0x: y\n", 44, &p, &why, &line) == 0, "a NUL byte") ;
  {
    size_t n = 0 ;
    static char const head[] = "version: STSv1\nmode: enforce\nmax_age: 1\n" ;
    memcpy(big, head, sizeof(head) - 1) ; n = sizeof(head) - 1 ;
    for (i = 0 ; i <= STSPOLICY_MX_MAX ; i++) { memcpy(big + n, "mx: a.exam\n", 11) ; n += 11 ; }
    ok(!stspolicy_parse(big, n, &p, &why, &line) && !strcmp(why, "too many mx patterns"), "more than %u patterns", STSPOLICY_MX_MAX) ;
    ok(stspolicy_parse(big, n - 11, &p, &why, &line) && p.nmx == STSPOLICY_MX_MAX, "exactly %u", STSPOLICY_MX_MAX) ;
  }
  ok(!pp("") && !pp("\n\n\n"), "empty") ;

  /* §4.1 matching */
  pp(RFC) ;
  ok(stspolicy_match(&p, text, "mail.example.com") == 0 && stspolicy_match(&p, text, "MAIL.Example.COM.") == 0, "a name, any case, a final dot") ;
  ok(stspolicy_match(&p, text, "mx1.example.net") == 1, "*. matches one label") ;
  ok(stspolicy_match(&p, text, "a.b.example.net") < 0 && stspolicy_match(&p, text, "example.net") < 0 && stspolicy_match(&p, text, ".example.net") < 0, "never two labels, never none") ;
  ok(stspolicy_match(&p, text, "mail.example.co") < 0 && stspolicy_match(&p, text, "xmail.example.com") < 0 && stspolicy_match(&p, text, "") < 0, "no other name") ;
  ok(!strcmp(stspolicy_mode_name(STSPOLICY_ENFORCE), "enforce") && !strcmp(stspolicy_mode_name(7), "?"), "mode names") ;

  /* the HTTP response */
  ok(resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc", 0, &off, &blen) == 1 && blen == 3 && off == 64, "200, text/plain, its length") ;
  ok(resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nabc", 0, &off, &blen) == 0
    && resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nabc", 1, &off, &blen) < 0, "short of its length: more, or refused at the end") ;
  ok(resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nabc", 0, &off, &blen) < 0, "more than its length") ;
  ok(resp("HTTP/1.1 200 OK\r\nContent-type: TEXT/PLAIN; charset=utf-8\r\n\r\nab", 0, &off, &blen) == 0
    && resp("HTTP/1.1 200 OK\r\nContent-type: TEXT/PLAIN; charset=utf-8\r\n\r\nab", 1, &off, &blen) == 1 && blen == 2, "no length: the end of the stream; names and type in any case, a charset") ;
  ok(resp("HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n", 0, &off, &blen) < 0 && strstr(why, "redirect"), "a redirect is refused") ;
  ok(resp("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n", 1, &off, &blen) < 0, "404") ;
  ok(resp("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\nx", 1, &off, &blen) < 0 && resp("HTTP/1.1 200 OK\r\nContent-Type: text/plainx\r\n\r\nx", 1, &off, &blen) < 0
    && resp("HTTP/1.1 200 OK\r\n\r\nx", 1, &off, &blen) < 0, "not text/plain, or no type") ;
  ok(resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 1, &off, &blen) < 0, "chunked: refused") ;
  ok(resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na", 0, &off, &blen) < 0
    && resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 99999999999999999999\r\n\r\na", 0, &off, &blen) < 0, "two lengths, a huge one") ;
  ok(resp("HTTP/1.1 200 OK\r\nContent-Ty", 0, &off, &blen) == 0 && resp("HTTP/1.1 200 OK\r\nContent-Ty", 1, &off, &blen) < 0 && resp("SMTP 220", 1, &off, &blen) < 0, "a cut header, not HTTP") ;

  /* the cache file and route_sts_apply */
  {
    stscache c = STSCACHE_ZERO ;
    route r = ROUTE_ZERO ;
    route_hop h ;
    route_tls t = ROUTE_TLS_ZERO ;
    conf cf ;
    char const *dir = tap_tmpdir() ;
    int okc = dir && chdir(dir) == 0 ;
    okc = okc && stscache_write("Example.NET", "abc1", 1000, RFC, strlen(RFC)) ;
    ok(okc && stscache_read("example.net", &c) && !strcmp(c.id, "abc1") && c.fetched == 1000 && c.pol.max_age == 604800 && c.pol.nmx == 3
      && stscache_fresh(&c, 1000 + 604799) && !stscache_fresh(&c, 1000 + 604800), "cache: written in lower case, read back, fresh for max_age") ;
    ok(!stscache_write("a.example", "x", 1, "version: STSv2\n", 15) && !stscache_read("a.example", &c) && errno == ENOENT
      && !stscache_read("../etc", &c), "cache: a bad policy is never written; none, a bad name") ;
    memset(&cf, 0, sizeof(cf)) ;
    cf.tls_outbound = CONF_TLS_OPPORTUNISTIC ;
    cf.mta_sts = CONF_MTASTS_ON ;
    cf.remote_port = 25 ;
    {
      dns_mx mx[2] = { { .pref = 10, .name = 0 }, { .pref = 20, .name = 16 } } ;
      route_from_mx(&r, &cf, "example.net", DNS_OK, mx, 2, "mx1.example.net\0mx.elsewhere.org") ;
    }
    stscache_read("example.net", &c) ;
    h = route_hops(&r)[0] ;
    route_tls_decide(&r, &h, 0, &t) ;
    route_sts_apply(&r, &h, &c.pol, stscache_text(&c), &t) ;
    ok(h.sts && t.sts == STSPOLICY_ENFORCE && t.stsmatch == 1 && t.tls == CONF_TLS_VERIFY && !t.temp, "enforce, a matching MX: verify") ;
    h = route_hops(&r)[1] ;
    route_tls_decide(&r, &h, 0, &t) ;
    route_sts_apply(&r, &h, &c.pol, stscache_text(&c), &t) ;
    ok(t.temp && t.stsmatch < 0, "enforce, an MX outside: deferred") ;
    h.sts = 0 ;
    route_tls_decide(&r, &h, 0, &t) ;
    route_sts_apply(&r, &h, &c.pol, stscache_text(&c), &t) ;
    ok(!t.temp && t.sts == STSPOLICY_NONE && t.tls == CONF_TLS_OPPORTUNISTIC, "a hop MTA-STS does not apply to (tls-policy): untouched") ;
    route_free(&r) ;
    route_tls_free(&t) ;
    stscache_free(&c) ;
    tap_rmtmp() ;
  }
  return tap_done() ;
}
