/* ISC license: see LICENSE. */

/* Unit test of lib/ctl: queue-ctl's request lines, as written and as the scheduler reads them. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "ctl.h"
#include "tap.h"

/* format, then parse back: the same operation and argument */
static int round_trip (unsigned int op, char const *arg)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *got ;
  int r = ctl_format(&sa, op, arg) && stralloc_0(&sa) && ctl_parse(sa.s, &got) == op && (op == CTL_RETRY_ALL || !strcmp(got, arg)) ;
  stralloc_free(&sa) ;
  return r ;
}

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char line[64] ;
  char const *arg ;
  tap_plan(17) ;
  ok(ctl_op("retry", "all") == CTL_RETRY_ALL && ctl_op("retry", "domain") == CTL_RETRY_DOMAIN && ctl_op("retry", "0123") == CTL_RETRY, "retry all, domain, id") ;
  ok(ctl_op("remove", "sender") == CTL_REMOVE_SENDER && ctl_op("remove", "0123") == CTL_REMOVE, "remove sender, id") ;
  ok(ctl_op("hold", "x") == CTL_HOLD && ctl_op("release", "x") == CTL_RELEASE, "hold, release") ;
  ok(ctl_op("delete", "x") == CTL_NOP, "an unknown verb") ;
  ok(ctl_format(&sa, CTL_RETRY_ALL, 0) && sa.len == 10 && !memcmp(sa.s, "retry all\n", 10), "retry all is one line") ;
  sa.len = 0 ;
  ok(ctl_format(&sa, CTL_REMOVE_SENDER, "<>") && sa.len == 17 && !memcmp(sa.s, "remove sender <>\n", 17), "remove sender <>") ;
  ok(!ctl_format(&sa, CTL_NOP, "x"), "no line for no operation") ;
  ok(round_trip(CTL_RETRY_ALL, 0), "retry all round trip") ;
  ok(round_trip(CTL_RETRY_DOMAIN, "example.org"), "retry domain round trip") ;
  ok(round_trip(CTL_REMOVE_SENDER, "\"a b\"@example.org"), "remove sender round trip, a quoted local part") ;
  ok(round_trip(CTL_RETRY, "0123456789abcdef01234567") && round_trip(CTL_HOLD, "0123456789abcdef01234567"), "retry, hold round trip") ;
  ok(round_trip(CTL_RELEASE, "0123456789abcdef01234567") && round_trip(CTL_REMOVE, "0123456789abcdef01234567"), "release, remove round trip") ;
  strcpy(line, "hold 0123 \r\n") ;
  ok(ctl_parse(line, &arg) == CTL_HOLD && !strcmp(arg, "0123") && !strcmp(line, "hold 0123"), "trailing blanks and CRLF cut off in place") ;
  strcpy(line, "retry domain") ;
  ok(ctl_parse(line, &arg) == CTL_RETRY && !strcmp(arg, "domain"), "retry domain without a domain: an id named domain (the scheduler finds no such message)") ;
  strcpy(line, "retry all\n") ;
  ok(ctl_parse(line, &arg) == CTL_RETRY_ALL, "retry all with its newline") ;
  strcpy(line, "retry allx") ;
  ok(ctl_parse(line, &arg) == CTL_RETRY && !strcmp(arg, "allx"), "retry allx is an id") ;
  strcpy(line, "frobnicate 1") ;
  ok(ctl_parse(line, &arg) == CTL_NOP, "an unknown command") ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
