/* ISC license: see LICENSE. */
/* lib/dmarc: DMARC records as RFC 7489 §6.3-6.4 write them */

#include <string.h>

#include "tap.h"
#include "dmarc.h"

static dmarc d ;
static size_t at ;
static char const *why ;

static int parse (char const *s)
{
  at = (size_t)-1 ; why = 0 ;
  return dmarc_parse(s, strlen(s), &d, &at, &why) ;
}

int main (void)
{
  tap_plan(22) ;
  ok(dmarc_is_record("v=DMARC1; p=none", 16) && dmarc_is_record("v = DMARC1;p=none", 17), "v=DMARC1, spaces around = allowed") ;
  ok(!dmarc_is_record("v=dmarc1; p=none", 16) && !dmarc_is_record("v=DMARC10; p=none", 17) && !dmarc_is_record("p=none; v=DMARC1", 16), "DMARC1 in capitals, exactly, first") ;
  ok(parse("v=DMARC1; p=reject; rua=mailto:a@example.org,mailto:b@example.net!10m; pct=50; adkim=s; aspf=r; sp=none; ri=86400; fo=0:d; rf=afrf")
    && d.p == DMARC_P_REJECT && d.sp == DMARC_P_NONE && d.pct == 50 && d.nrua == 2 && d.adkim == 's' && d.aspf == 'r', "every tag of §6.3") ;
  ok(parse("v=DMARC1;p=none") && d.p == DMARC_P_NONE && d.pct == 100 && !d.nrua, "the least record") ;
  ok(parse("v=DMARC1 ; p = quarantine ; ") && d.p == DMARC_P_QUARANTINE, "spaces around ; and =, a final ;") ;
  ok(parse("v=DMARC1; p=none; future=thing") , "an unknown tag is ignored (§6.3)") ;
  ok(parse("v=DMARC1; p=NONE") && d.p == DMARC_P_NONE, "policy words in any case") ;
  ok(parse("v=DMARC1; p=none; np=reject") && d.sp == DMARC_P_REJECT, "np= (RFC 9091)") ;
  ok(!parse("v=DMARC1") && !strcmp(why, "no p= tag (required, section 6.3)"), "no p=") ;
  ok(!parse("v=DMARC1; p=maybe") && at == 10, "a bad policy: where") ;
  ok(!parse("v=DMARC1; p=none; p=reject"), "p= twice") ;
  ok(!parse("v=DMARC1; p=none; pct=101") && !parse("v=DMARC1; p=none; pct=") && !parse("v=DMARC1; p=none; pct=5x"), "pct= 0 to 100") ;
  ok(parse("v=DMARC1; p=none; pct=0") && d.pct == 0, "pct=0") ;
  ok(!parse("v=DMARC1; p=none; rua=postmaster@example.org"), "rua= needs a URI scheme") ;
  ok(!parse("v=DMARC1; p=none; rua=mailto:a@example.org!"), "a size limit needs digits") ;
  ok(!parse("v=DMARC1; p=none; rua=mailto:a@example.org,"), "an empty URI after a comma") ;
  ok(!parse("v=DMARC1; p=none; adkim=x"), "adkim= r or s") ;
  ok(!parse("v=DMARC1; p=none; fo=2"), "fo= 0, 1, d or s") ;
  ok(!parse("v=DMARC1; p=none; ri=1h"), "ri= digits") ;
  ok(!parse("v=DMARC1 p=none"), "tags need ;") ;
  ok(!parse("v=DMARC1; =none"), "a tag needs a name") ;
  ok(!strcmp(dmarc_policy_name(DMARC_P_QUARANTINE), "quarantine") && !strcmp(dmarc_policy_name(9), "?"), "policy names") ;
  return tap_done() ;
}
