/* ISC license: see LICENSE. */

/* Unit test of lib/log: the line format and the argument rings. */

#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "log.h"
#include "tap.h"

#define LINE(sa, id, ...) log_line(sa, id, (char const *const []){ __VA_ARGS__, 0 })

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *a[LOG_RING] ;
  unsigned int i = 0 ;
  tap_plan(12) ;
  ok(LINE(&sa, "0123", "delivery", "rcpt=", "\"a@b\"", "result=", "ok") && stralloc_0(&sa) && !strcmp(sa.s, "0123 delivery rcpt=\"a@b\" result=ok\n"), "id first, key= glued to its value") ;
  sa.len = 0 ;
  ok(LINE(&sa, "x", "a", "", "b", "next=", "", "c") && stralloc_0(&sa) && !strcmp(sa.s, "x a b next=c\n"), "empty strings skipped") ;
  sa.len = 0 ;
  ok(log_line(&sa, "x", (char const *const []){ 0 }) && sa.len == 2 && !memcmp(sa.s, "x\n", 2), "an id alone") ;
  ok(!strcmp(log_quote("plain"), "\"plain\""), "quoted in double quotes") ;
  ok(!strcmp(log_quote("a\nb\"c"), "\"a\\nb\\\"c\""), "a newline and a quote escaped: one line (%s)", log_quote("a\nb\"c")) ;
  ok(strchr(log_quote("\xff"), '\\') && !strchr(log_quote("\xff"), '\xff'), "an 8-bit octet escaped") ;
  ok(!strcmp(log_u64(0), "0") && !strcmp(log_u64(18446744073709551615ULL), "18446744073709551615"), "numbers") ;
  for (; i < LOG_RING ; i++) a[i] = log_quote(i & 1 ? "odd" : "even") ;
  ok(!strcmp(a[0], "\"even\"") && !strcmp(a[LOG_RING - 1], "\"odd\""), "LOG_RING quotes stay valid together") ;
  {
    char const *x = log_u64(1), *y = log_u64(2), *z = log_u64(3) ;
    ok(!strcmp(x, "1") && !strcmp(y, "2") && !strcmp(z, "3"), "so do numbers") ;
  }
  {
    /* log_put: the line made in the caller's buffer (emptied first), one write */
    int p[2] ;
    char buf[128] ;
    ssize_t r = -1 ;
    sa.len = 0 ;
    stralloc_cats(&sa, "leftover") ;
    if (pipe(p) == 0)
    {
      ok(log_put(p[1], &sa, "0a1b", (char const *const []){ "connect ip=", "127.0.0.1", "port=", "25", "", 0 }), "log_put writes") ;
      r = read(p[0], buf, sizeof(buf)) ;
      close(p[0]) ; close(p[1]) ;
    }
    else ok(0, "pipe") ;
    ok(r == 34 && !memcmp(buf, "0a1b connect ip=127.0.0.1 port=25\n", 34) && sa.len == 34, "one whole line, the buffer emptied first (%zd)", r) ;
  }
  {
    stralloc q = STRALLOC_ZERO ;
    char const *x = log_quoteb(&q, "a\0b\nc", 5) ;
    ok(x == q.s && !strcmp(x, "\"a\\0x00b\\nc\"") , "log_quoteb: a length, a NUL and a newline escaped, in the caller's buffer (%s)", x) ;
    stralloc_free(&q) ;
  }
  stralloc_free(&sa) ;
  return tap_done() ;
}
