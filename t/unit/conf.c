/* ISC license: see LICENSE. */

/*
 * Unit test of lib/conf's numbers: every size, count and duration is in
 * range or refused, never wrapped (17179869185G was read as 1G), and
 * every address word is taken whole.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "tap.h"

static char dir[] = "/tmp/ketch-conf.XXXXXX" ;
static stralloc err = STRALLOC_ZERO ;

/* the configuration text loaded into c; 1 if it loads */
static int load (conf *c, char const *text)
{
  stralloc fn = STRALLOC_ZERO ;
  int r ;
  stralloc_cats(&fn, dir) ; stralloc_cats(&fn, "/ketch.conf") ; stralloc_0(&fn) ;
  if (!openwritenclose_unsafe(fn.s, text, strlen(text))) _exit(111) ;
  err.len = 0 ;
  r = conf_load(c, fn.s, &err) ;
  unlink(fn.s) ;
  stralloc_free(&fn) ;
  return r ;
}

/* text loads, and c is freed again */
static int loads (char const *text)
{
  conf c ;
  if (!load(&c, text)) return 0 ;
  conf_free(&c) ;
  return 1 ;
}

static int size_is (char const *text, uint64_t want)
{
  conf c ;
  int r ;
  if (!load(&c, text)) return 0 ;
  r = c.message_size == want ;
  conf_free(&c) ;
  return r ;
}

/* text is refused, and the message holds what */
static int refused (char const *text, char const *what)
{
  conf c ;
  if (load(&c, text)) { conf_free(&c) ; return 0 ; }
  if (!err.len || !strstr(err.s, what)) { printf("# got: %.*s\n", (int)err.len, err.s) ; return 0 ; }
  return 1 ;
}

int main (void)
{
  conf c ;
  tap_plan(20) ;
  if (!mkdtemp(dir)) return 111 ;

  ok(refused("limit message-size 17179869185G\n", "too large"), "size: 17179869185G refused (2^64 + 1G wrapped to 1G)") ;
  ok(refused("limit message-size 1025G\n", "too large"), "size: 1025G refused") ;
  ok(refused("limit message-size 1099511627777\n", "too large"), "size: 2^40 + 1 octets refused") ;
  ok(refused("limit message-size 18446744073709551616\n", "bad size"), "size: 2^64 refused") ;
  ok(refused("limit message-size 99999999999999999999999K\n", "bad size"), "size: too many digits refused") ;
  ok(size_is("limit message-size 1024G\n", (uint64_t)1 << 40), "size: 1024G, the largest, is 2^40") ;
  ok(size_is("limit message-size 1099511627776\n", (uint64_t)1 << 40), "size: 2^40 octets") ;
  ok(size_is("limit message-size 1048576K\n", (uint64_t)1 << 30), "size: 1048576K is 1G") ;
  ok(refused("limit message-size 0\n", "bad size") && refused("limit message-size 0G\n", "bad size"), "size: 0 refused, with or without a unit") ;
  ok(refused("limit message-size 10MB\n", "bad size") && refused("limit message-size M\n", "bad size") && refused("limit message-size -1\n", "bad size"), "size: junk refused") ;

  ok(load(&c, "timeout command 2147483647\nexpire 2147483647\n") && c.timeout_command == 2147483647u && c.expire == 2147483647u, "duration: 2^31 - 1 seconds (tain_addsec takes an int)") ;
  conf_free(&c) ;
  ok(refused("timeout delivery 4294967295\n", "duration too long") && refused("timeout command 2147483648\n", "duration too long"), "duration: 2^32 - 1 and 2^31 seconds refused (a negative int to tain_addsec)") ;
  ok(refused("expire 3551w\n", "duration too long") && loads("expire 3550w\n"), "duration: 3551w refused, 3550w taken") ;
  ok(refused("retry max 18446744073709551615w\n", "duration too long"), "duration: 2^64 - 1 weeks refused") ;
  ok(refused("rescan 99999999999999999999\n", "not a duration"), "duration: beyond 2^64 refused") ;
  ok(refused("warn 5x\n", "not a duration") && refused("warn 5mm\n", "not a duration") && refused("warn 0\n", "not a duration"), "duration: junk and 0 refused") ;

  ok(load(&c, "limit recipients 1000000\n") && c.max_recipients == 1000000, "count: 1000000") ;
  conf_free(&c) ;
  ok(refused("limit recipients 1000001\n", "not a positive number") && refused("limit recipients 4294967297\n", "not a positive number"), "count: over 1000000 refused, 2^32 + 1 not wrapped to 1") ;
  ok(refused("limit errors 5x\n", "not a positive number") && refused("limit errors -5\n", "not a positive number"), "count: junk refused") ;

  ok(load(&c, "relay-from 10.0.0.0/8 ::1\n") && genalloc_len(conf_net, &c.relay_nets) == 2
     && genalloc_s(conf_net, &c.relay_nets)[0].bits == 8 && genalloc_s(conf_net, &c.relay_nets)[1].bits == 128, "relay-from: the prefix, and a full one by default") ;
  conf_free(&c) ;
  rmdir(dir) ;
  stralloc_free(&err) ;
  return tap_done() ;
}
