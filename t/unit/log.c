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
  tap_plan(16) ;
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
  {
    /* log_batch: lines kept until flushed, whole lines, at most LOG_BATCH octets a write */
    int p[2] ;
    char buf[LOG_BATCH * 2] ;
    char big[LOG_BATCH + 1] ;
    ssize_t r = -1, r2 = -1, r3 = -1 ;
    unsigned int k = 0 ;
    if (pipe(p) == 0)
    {
      log_batch b = LOG_BATCH_ZERO(p[1]) ;
      log_batch_put(&b, "a", (char const *const []){ "one", 0 }) ;
      log_batch_put(&b, "b", (char const *const []){ "two", 0 }) ;
      ok(b.buf.len == 12, "two lines kept, nothing written (%zu)", b.buf.len) ;
      log_batch_flush(&b) ;
      r = read(p[0], buf, sizeof(buf)) ;
      ok(r == 12 && !memcmp(buf, "a one\nb two\n", 12) && !b.buf.len, "flushed in one write (%zd)", r) ;
      /* 100-octet lines: the one that would pass LOG_BATCH flushes what is kept first */
      memset(big, 'x', 97) ; big[97] = 0 ;
      for (k = 0 ; k < LOG_BATCH / 100 + 1 ; k++) log_batch_put(&b, "i", (char const *const []){ big, 0 }) ;
      r2 = read(p[0], buf, sizeof(buf)) ;
      log_batch_flush(&b) ;
      r3 = read(p[0], buf, sizeof(buf)) ;
      ok(r2 == (LOG_BATCH / 100) * 100 && r3 == 100, "a write holds whole lines, at most LOG_BATCH octets (%zd, %zd)", r2, r3) ;
      memset(big, 'y', LOG_BATCH) ; big[LOG_BATCH] = 0 ;
      log_batch_put(&b, "z", (char const *const []){ big, 0 }) ;
      r = read(p[0], buf, sizeof(buf)) ;
      ok(r == LOG_BATCH + 3 && !b.buf.len, "a line longer than LOG_BATCH written alone, at once (%zd)", r) ;
      stralloc_free(&b.buf) ; stralloc_free(&b.line) ;
      close(p[0]) ; close(p[1]) ;
    }
    else { ok(0, "pipe") ; ok(0, "pipe") ; ok(0, "pipe") ; ok(0, "pipe") ; }
  }
  stralloc_free(&sa) ;
  return tap_done() ;
}
