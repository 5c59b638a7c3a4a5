/* ISC license: see LICENSE. */

/*
 * Unit test of lib/callout: the callout's dialogue over
 * a socketpair (the test is the next hop, its replies written before the
 * client reads them), its answers for 2xx, 5xx, 4xx, a refused null
 * sender and a silent server (bounded in time); the cache's slots,
 * records, lifetimes and collisions.
 * The whole path through DNS and connections is t/relay-domain.t's.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "callout.h"
#include "conf.h"
#include "smtpclient.h"
#include "tap.h"

static smtpc c = SMTPC_ZERO ;
static callout co = CALLOUT_ZERO ;

/* the next hop's whole side, said before the client asks; the callout's return */
static int ask (char const *script, unsigned int secs)
{
  static tain limit ;
  tain_now_g() ;
  tain_addsec_g(&limit, secs) ;
  smtpc_close(&c) ;
  smtpc_init(&c, tap_pair(), &limit) ;
  tap_say(script) ;
  return callout_ask(&c, "next.example", "me.example", "u@relay.example", secs, &co) ;
}

static void dialogue (void)
{
  tain start, end ;
  ok(ask("220 next\r\n250 next\r\n250 2.1.0 ok\r\n250 2.1.5 ok\r\n221 bye\r\n", 5) == 1 && co.result == KETCH_RESULT_OK && !strcmp(co.answer.s, "250 2.1.5 ok"),
     "a 250 to RCPT: OK (%s)", co.answer.s) ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\nMAIL FROM:<>\r\nRCPT TO:<u@relay.example>\r\nQUIT\r\n"), "EHLO, MAIL FROM:<>, RCPT TO, QUIT: never DATA") ;
  ok(ask("220 next\r\n250 next\r\n250 2.1.0 ok\r\n550 5.1.1 no such user\r\n221 bye\r\n", 5) == 1 && co.result == KETCH_RESULT_PERM && !strcmp(co.answer.s, "550 5.1.1 no such user"),
     "a 550 to RCPT: PERM (%s)", co.answer.s) ;
  ok(ask("220 next\r\n250 next\r\n250 2.1.0 ok\r\n451 4.3.0 try later\r\n221 bye\r\n", 5) == 1 && co.result == KETCH_RESULT_TEMP, "a 451 to RCPT: TEMP") ;
  ok(ask("220 next\r\n250 next\r\n550 5.7.1 no null sender\r\n221 bye\r\n", 5) == 0 && !strcmp(co.answer.s, "MAIL FROM:<> refused: 550 5.7.1 no null sender")
     && !strcmp(tap_heard(), "EHLO me.example\r\nMAIL FROM:<>\r\nQUIT\r\n"), "a refused null sender: not asked, no RCPT (%s)", co.answer.s) ;
  ok(ask("554 5.3.2 go away\r\n221 bye\r\n", 5) == 0 && co.answer.len && strstr(co.answer.s, "554 5.3.2"), "a refused greeting: not asked (%s)", co.answer.s) ;
  tain_now_g() ; start = STAMP ;
  ok(ask("220 next\r\n", 1) == 0 && strstr(co.answer.s, "EHLO") && c.fd < 0, "a next hop silent after its greeting: not asked, closed (%s)", co.answer.s) ;
  tain_now_g() ; end = STAMP ;
  tain_addsec(&start, &start, 3) ;
  ok(tain_less(&end, &start), "... within the bound (1 s asked, less than 3 s taken)") ;
}

static void records (void)
{
  int pos ;
  uint64_t when ;
  size_t a, al ;
  stralloc sa = STRALLOC_ZERO ;
  ok(callout_record_parse("P 1700000000 u@x.example\n", 25, &pos, &when, &a, &al) && pos && when == 1700000000 && a == 13 && al == 11, "a positive record") ;
  ok(callout_record_parse("N 0 v\n", 6, &pos, &when, &a, &al) && !pos && !when && al == 1, "a negative record, time 0") ;
  ok(!callout_record_parse("P 1700000000 u@x.example", 24, &pos, &when, &a, &al), "no final newline: none") ;
  ok(!callout_record_parse("X 1 u\n", 6, &pos, &when, &a, &al) && !callout_record_parse("P1 u\n", 5, &pos, &when, &a, &al)
     && !callout_record_parse("P x u\n", 6, &pos, &when, &a, &al) && !callout_record_parse("P 1 \n", 5, &pos, &when, &a, &al), "a bad kind, no blank, no time, no address: none") ;
  ok(!callout_record_parse("P 123456789012345678901 u\n", 26, &pos, &when, &a, &al) && !callout_record_parse("P 99999999999999999999 u\n", 25, &pos, &when, &a, &al),
     "a time of 21 digits, or over 2^64: none") ;
  ok(!callout_record_parse("P 1 u\nv\n", 8, &pos, &when, &a, &al) && !callout_record_parse("P 1 u\0v\n", 8, &pos, &when, &a, &al), "two lines, a NUL: none") ;
  {
    char big[CALLOUT_RECORD_MAX + 2] ;
    memset(big, 'a', sizeof(big)) ;
    memcpy(big, "P 1 ", 4) ;
    big[sizeof(big) - 1] = '\n' ;
    ok(!callout_record_parse(big, sizeof(big), &pos, &when, &a, &al), "longer than CALLOUT_RECORD_MAX: none") ;
  }
  ok(callout_slot("/d", "u@x.example", &sa) && sa.len == 7 && !memcmp(sa.s, "/d/", 3) && !sa.s[6], "a slot: DIR/ and three hex digits (%s)", sa.s) ;
  stralloc_free(&sa) ;
}

/* two addresses of one slot */
static void collide (char *a, char *b)
{
  stralloc s1 = STRALLOC_ZERO, s2 = STRALLOC_ZERO ;
  unsigned int i = 0, j ;
  sprintf(a, "a0@x.example") ;
  callout_slot("", a, &s1) ;
  for (j = 1 ; j < 100000 ; j++)
  {
    sprintf(b, "a%u@x.example", j) ;
    callout_slot("", b, &s2) ;
    if (s1.len == s2.len && !memcmp(s1.s, s2.s, s1.len)) { i = j ; break ; }
  }
  if (!i) printf("# no collision found\n") ;
  stralloc_free(&s1) ; stralloc_free(&s2) ;
}

static void cache (void)
{
  char const *d = tap_path("cache") ;
  char dir[256], a[64], b[64] ;
  enum ketch_result r = KETCH_RESULT_TEMP ;
  stralloc fn = STRALLOC_ZERO ;
  strcpy(dir, d) ;
  mkdir(dir, 0700) ;
  ok(!callout_cache_get(dir, "u@x.example", 1000, 60, 10, &r), "an empty cache: a miss") ;
  ok(callout_cache_put(dir, "u@x.example", KETCH_RESULT_OK, 1000) && callout_cache_get(dir, "u@x.example", 1059, 60, 10, &r) && r == KETCH_RESULT_OK,
     "a positive answer, kept for its lifetime") ;
  ok(!callout_cache_get(dir, "u@x.example", 1060, 60, 10, &r), "... and no longer") ;
  ok(!callout_cache_get(dir, "u@x.example", 999, 60, 10, &r), "an answer from the future (the clock stepped back): a miss") ;
  ok(!callout_cache_get(dir, "U@x.example", 1001, 60, 10, &r), "another address (case counts in a local part): a miss") ;
  ok(callout_cache_put(dir, "u@x.example", KETCH_RESULT_PERM, 2000) && callout_cache_get(dir, "u@x.example", 2009, 60, 10, &r) && r == KETCH_RESULT_PERM
     && !callout_cache_get(dir, "u@x.example", 2010, 60, 10, &r), "a negative answer replaces it, for its own lifetime") ;
  ok(!callout_cache_put(dir, "u@x.example", KETCH_RESULT_TEMP, 2000) && errno == EINVAL, "a temporary answer is never kept") ;
  collide(a, b) ;
  ok(callout_cache_put(dir, a, KETCH_RESULT_OK, 3000) && callout_cache_put(dir, b, KETCH_RESULT_OK, 3000)
     && callout_cache_get(dir, b, 3001, 60, 10, &r) && !callout_cache_get(dir, a, 3001, 60, 10, &r), "two addresses of one slot: the last one holds it (%s, %s)", a, b) ;
  {
    /* made-up addresses fill slots, never more files: as many files as distinct slots */
    char d2[256] ;
    unsigned char seen[CALLOUT_SLOTS] ;
    unsigned int i = 0, n = 0, distinct = 0 ;
    stralloc ls = STRALLOC_ZERO, sl = STRALLOC_ZERO ;
    size_t max = 0 ;
    strcpy(d2, tap_path("cache2")) ;
    mkdir(d2, 0700) ;
    memset(seen, 0, sizeof(seen)) ;
    for (; i < 600 ; i++)
    {
      char x[64] ;
      unsigned int h ;
      sprintf(x, "h%u@x.example", i) ;
      if (!callout_cache_put(d2, x, KETCH_RESULT_PERM, 4000) || !callout_slot("", x, &sl)) break ;
      h = strtoul(sl.s + 1, 0, 16) ;
      if (!seen[h]) { seen[h] = 1 ; distinct++ ; }
    }
    if (sals(d2, &ls, &max) >= 0)
    {
      size_t k = 0 ;
      for (; k < ls.len ; k += strlen(ls.s + k) + 1) n++ ;
    }
    ok(i == 600 && n == distinct, "600 made-up addresses: one file per slot they hash to, %u, no temporary file left (%u files)", distinct, n) ;
    stralloc_free(&ls) ; stralloc_free(&sl) ;
  }
  callout_slot(dir, "u@x.example", &fn) ;
  ok(openwritenclose_unsafe(fn.s, "garbage\n", 8) && !callout_cache_get(dir, "u@x.example", 2001, 60, 10, &r), "a broken record: a miss") ;
  ok(!callout_cache_get(tap_path("nonexistent"), "u@x.example", 2001, 60, 10, &r), "no cache directory: a miss") ;
  stralloc_free(&fn) ;
}

int main (void)
{
  tap_plan(27) ;
  signal(SIGPIPE, SIG_IGN) ;
  tain_now_set_stopwatch_g() ;
  if (!tap_tmpdir()) { printf("Bail out! mkdtemp\n") ; return 1 ; }
  dialogue() ;
  records() ;
  cache() ;
  smtpc_free(&c) ;
  callout_free(&co) ;
  tap_rmtmp() ;
  return tap_done() ;
}
