/* ISC license: see LICENSE. */

/*
 * Unit test of lib/relaydom: a relay domain's recipients under its
 * relay-domain line: a list (compiled by lib/tables, any case, +ext),
 * verify, no check, and a domain that is no relay domain.
 */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include "conf.h"
#include "relaydom.h"
#include "tables.h"
#include "tap.h"

static void relaydoms (void)
{
  conf cf ;
  stralloc err = STRALLOC_ZERO ;
  char text[512] ;
  snprintf(text, sizeof(text), "relay-domain l.example recipients %s\nrelay-domain v.example verify\nrelay-domain a.example\n", tap_path("list")) ;
  if (!tap_put("list", "# the users\nUser@l.example\n  other@l.example  \n\n") || !tap_put("relay.conf", text)) printf("Bail out! files\n") ;
  ok(tables_compile_list(tap_path("list"), &err), "a recipients list compiles") ;
  ok(conf_load(&cf, tap_path("relay.conf"), &err), "a configuration with three relay domains") ;
  ok(relaydom_rcpt(&cf, "user@l.example") == RELAYDOM_OK && relaydom_rcpt(&cf, "USER@L.example") == RELAYDOM_OK && relaydom_rcpt(&cf, "other@l.example") == RELAYDOM_OK,
     "listed recipients, in any case, blanks around them dropped") ;
  ok(relaydom_rcpt(&cf, "user+tag@l.example") == RELAYDOM_OK && relaydom_rcpt(&cf, "nobody@l.example") == RELAYDOM_UNKNOWN, "user+tag is user; an unlisted one is unknown") ;
  ok(relaydom_rcpt(&cf, "x@v.example") == RELAYDOM_VERIFY && relaydom_rcpt(&cf, "x@a.example") == RELAYDOM_OK && relaydom_rcpt(&cf, "x@other.example") == RELAYDOM_NONE,
     "verify asks for a callout, no check accepts, another domain is none") ;
  ok(!tap_put("list", "two words@l.example\n") || (!tables_compile_list(tap_path("list"), &err) && errno == EINVAL && strstr(err.s, ":1: expected one address")),
     "a line that is no address: refused at its line (%s)", err.len ? err.s : "") ;
  conf_free(&cf) ;
  stralloc_free(&err) ;
}

int main (void)
{
  tap_plan(6) ;
  if (!tap_tmpdir()) { printf("Bail out! mkdtemp\n") ; return 1 ; }
  relaydoms() ;
  tap_rmtmp() ;
  return tap_done() ;
}
