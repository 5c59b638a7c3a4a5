/* ISC license: see LICENSE. */
/* lib/certinfo: subjectAltName DNS names, validity, RFC 6125 matching */

#include <string.h>

#include <skalibs/stralloc.h>

#include "tap.h"
#include "certinfo.h"

/* made with openssl: CN cn.example.org, SAN DNS:mx.example.org, IP:192.0.2.1, DNS:*.example.net,
   valid 2026-01-01 to 2027-01-01 (UTC) */
static unsigned char const cert[] =
  "\060\202\001\206\060\202\001\053\240\003\002\001\002\002\024\157\217\013\312\351\131\217\242\073"
  "\111\130\166\320\034\135\153\064\365\063\146\060\012\006\010\052\206\110\316\075\004\003\002\060"
  "\031\061\027\060\025\006\003\125\004\003\014\016\143\156\056\145\170\141\155\160\154\145\056\157"
  "\162\147\060\036\027\015\062\066\060\061\060\061\060\060\060\060\060\060\132\027\015\062\067\060"
  "\061\060\061\060\060\060\060\060\060\132\060\031\061\027\060\025\006\003\125\004\003\014\016\143"
  "\156\056\145\170\141\155\160\154\145\056\157\162\147\060\131\060\023\006\007\052\206\110\316\075"
  "\002\001\006\010\052\206\110\316\075\003\001\007\003\102\000\004\327\325\011\035\147\027\322\360"
  "\013\360\000\324\254\001\201\076\332\313\047\170\202\166\075\302\330\214\064\052\165\270\122\241"
  "\343\033\121\253\212\105\041\230\244\312\233\223\370\214\105\262\012\155\306\160\152\220\251\217"
  "\346\002\314\140\264\212\265\363\243\121\060\117\060\056\006\003\125\035\021\004\047\060\045\202"
  "\016\155\170\056\145\170\141\155\160\154\145\056\157\162\147\207\004\300\000\002\001\202\015\052"
  "\056\145\170\141\155\160\154\145\056\156\145\164\060\035\006\003\125\035\016\004\026\004\024\155"
  "\156\102\364\056\005\303\146\061\145\037\067\136\010\017\351\073\067\276\365\060\012\006\010\052"
  "\206\110\316\075\004\003\002\003\111\000\060\106\002\041\000\273\347\161\173\062\127\201\056\002"
  "\075\275\207\247\232\367\207\165\106\013\306\201\161\164\134\210\222\111\215\063\277\154\374\002"
  "\041\000\203\020\332\161\273\205\077\260\340\301\056\076\255\337\300\125\164\061\346\055\071\372"
  "\114\171\215\026\136\141\044\040\164\243"
  ;

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  int64_t nb = 0, na = 0 ;
  size_t len = sizeof(cert) - 1 ;
  unsigned char bad[sizeof(cert)] ;
  size_t i ;
  int all = 1 ;
  tap_plan(16) ;
  ok(certinfo_names(cert, len, &sa) == 2, "two DNS names (the IP address entry is not one)") ;
  ok(sa.len == 29 && !strcmp(sa.s, "mx.example.org") && !strcmp(sa.s + 15, "*.example.net"), "in order, NUL-terminated") ;
  ok(certinfo_dates(cert, len, &nb, &na) && nb == 1767225600 && na == 1798761600, "validity from BearSSL's decoder, in Unix time") ;
  sa.len = 0 ;
  ok(certinfo_names(cert, 100, &sa) < 0 && !sa.len, "a truncated certificate is an error") ;
  ok(certinfo_names((unsigned char const *)"", 0, &sa) < 0, "nothing is an error") ;
  /* every truncation and every single-byte change: no crash, nothing past the end (ASan) */
  for (i = 0 ; i < len ; i++)
  {
    sa.len = 0 ;
    if (certinfo_names(cert, i, &sa) >= 0) all = 0 ;
  }
  ok(all, "every truncation is an error") ;
  for (i = 0 ; i < len ; i++)
  {
    memcpy(bad, cert, len) ;
    bad[i] ^= 0x80 ;
    sa.len = 0 ;
    (void)certinfo_names(bad, len, &sa) ;
  }
  ok(1, "every flipped byte read within bounds") ;
  ok(certinfo_match("mx.example.org", "MX.Example.Org."), "case and a final dot do not matter") ;
  ok(!certinfo_match("mx.example.org", "mx2.example.org"), "another name does not match") ;
  ok(certinfo_match("*.example.net", "mx.example.net"), "a wildcard matches one label") ;
  ok(!certinfo_match("*.example.net", "a.b.example.net"), "not two labels") ;
  ok(!certinfo_match("*.example.net", "example.net"), "nor none") ;
  ok(!certinfo_match("*.net", "example.net"), "*.tld matches nothing") ;
  ok(!certinfo_match("m*.example.net", "mx.example.net") && !certinfo_match("mx.*.net", "mx.example.net"), "a wildcard only as the whole leftmost label") ;
  ok(!certinfo_match("", "x.example") && !certinfo_match("x.example", ""), "empty names never match") ;
  ok(!certinfo_match("*.example.net", ".example.net"), "an empty leftmost label does not match") ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
