/* ISC license: see LICENSE. */
/* lib/ststxt: the _mta-sts (RFC 8461 §3.1) and _smtp._tls (RFC 8460 §3) records */

#include <string.h>

#include "tap.h"
#include "ststxt.h"

static size_t id, idlen, at ;
static char const *why ;
static ststxt_rua rua ;

static int sts (char const *s) { id = idlen = 0 ; return ststxt_sts_parse(s, strlen(s), &id, &idlen, &at, &why) ; }
static int rpt (char const *s) { return ststxt_tlsrpt_parse(s, strlen(s), &rua, &at, &why) ; }

int main (void)
{
  char const *s ;
  tap_plan(20) ;
  ok(ststxt_is_sts("v=STSv1; id=1", 13) && !ststxt_is_sts("v=STSv1 id=1", 12) && !ststxt_is_sts("v=stsv1; id=1", 13), "v=STSv1; begins an MTA-STS record (case-sensitive)") ;
  s = "v=STSv1; id=20160831085700Z;" ;
  ok(sts(s) && idlen == 15 && !memcmp(s + id, "20160831085700Z", 15), "RFC 8461's example, its id") ;
  ok(sts("v=STSv1;id=abc") && sts("v=STSv1 ;  id=abc ; ext_1=x.y"), "spaces around ;, an extension") ;
  ok(!sts("v=STSv1;") && !strcmp(why, "no id= field (required, RFC 8461 section 3.1)"), "no id=") ;
  ok(!sts("v=STSv1; id=2026-12-06") && at == 16, "id= letters and digits only: where") ;
  ok(!sts("v=STSv1; id=123456789012345678901234567890123"), "id= 32 characters at most") ;
  ok(sts("v=STSv1; id=12345678901234567890123456789012"), "32 is fine") ;
  ok(!sts("v=STSv1; id=1; id=2"), "id= twice") ;
  ok(!sts("v=STSv1; id="), "an empty id") ;
  ok(!sts("v=STSv1; id=1; x=a=b"), "= in an extension value") ;
  ok(!sts("v=STSv1; id=1; -x=1"), "an extension name starts with a letter or digit") ;
  ok(!sts("v=STSv2; id=1"), "another version") ;
  s = "v=TLSRPTv1; rua=mailto:reports@example.com" ;
  ok(ststxt_is_tlsrpt(s, strlen(s)) && rpt(s) && rua.n == 1 && rua.firstlen == 26 && !memcmp(s + rua.first, "mailto:reports@example.com", 26), "RFC 8460's example") ;
  ok(rpt("v=TLSRPTv1;rua=mailto:a@example.com , https://reporting.example.com/v1/tlsrpt") && rua.n == 2, "two URIs, mailto and https") ;
  ok(!rpt("v=TLSRPTv1; rua=ftp://x.example") && at == 16, "ftp: is not a report URI: where") ;
  ok(!rpt("v=TLSRPTv1;") && !strcmp(why, "no rua= field (required, RFC 8460 section 3)"), "no rua=") ;
  ok(!rpt("v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com"), "rua= twice") ;
  ok(!rpt("v=TLSRPTv1; rua=mailto:"), "mailto: with nothing after it") ;
  ok(!ststxt_is_tlsrpt("v=TLSRPTv10; rua=mailto:a@b", 27) && !rpt("v=TLSRPTv10; rua=mailto:a@b"), "v=TLSRPTv10 is not v=TLSRPTv1") ;
  ok(rpt("v=TLSRPTv1; rua=mailto:a@example.com; future=1"), "an extension") ;
  return tap_done() ;
}
