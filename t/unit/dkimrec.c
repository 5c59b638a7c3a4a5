/* ISC license: see LICENSE. */
/* lib/dkimrec: DKIM key records (RFC 6376 §3.6.1) */

#include <string.h>

#include "tap.h"
#include "dkimrec.h"

static dkimrec r ;
static size_t at ;
static char const *why ;

static int parse (char const *s) { return dkimrec_parse(s, strlen(s), &r, &at, &why) ; }

int main (void)
{
  char const *s ;
  char buf[64] ;
  tap_plan(15) ;
  s = "v=DKIM1; k=rsa; p=MIGf MA0G\tCSqG" ;
  ok(parse(s) && r.klen == 3 && !memcmp(s + r.k, "rsa", 3) && r.plen == 14, "v, k and p; spaces inside p kept") ;
  ok(dkimrec_pcompact(s, &r, buf, sizeof(buf)) == 12 && !memcmp(buf, "MIGfMA0GCSqG", 12), "p without its spaces") ;
  ok(dkimrec_pcompact(s, &r, buf, 5) == -1, "a buffer too small") ;
  ok(parse("p=abc") && !r.klen, "p alone: k= not given") ;
  ok(parse("k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=;") && r.plen == 44, "Ed25519 (RFC 8463's example), a final ;") ;
  ok(parse("v=DKIM1; p=") && r.plen == 0, "an empty p=: revoked") ;
  ok(parse("v=DKIM1; h=sha256; t=y; s=email; n=notes here; p=abc"), "other tags ignored") ;
  ok(!parse("v=DKIM1; k=rsa") && !strcmp(why, "no p= tag (required, RFC 6376 section 3.6.1)"), "no p=") ;
  ok(!parse("k=rsa; v=DKIM1; p=abc") && at == 7, "v= not first: where") ;
  ok(!parse("v=DKIM2; p=abc"), "v=DKIM2") ;
  ok(!parse("v=DKIM1; p=abc; p=def"), "p= twice") ;
  ok(!parse("v=DKIM1; p=ab!c"), "p= is base64") ;
  ok(!parse("v=DKIM1; 1p=abc"), "a tag name starts with a letter") ;
  ok(!parse("v=DKIM1; p abc"), "= after the name") ;
  ok(!parse("v=DKIM1; n=caf\303\251; p=abc"), "8-bit in a value") ;
  return tap_done() ;
}
