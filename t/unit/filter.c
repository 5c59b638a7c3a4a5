/* ISC license: see LICENSE. */

/*
 * Unit test of lib/filter without a filter process: the held message
 * unstuffed across any chunking and bounded, the greeting code set on
 * every line of a reply, the client's macros, and the verdicts when a
 * filter is down: on-failure tempfail answers 451 4.7.1 at every later
 * stage, on-failure accept goes on without it; an empty set passes and
 * a message left without recipients is discarded. The stages against a
 * real libmilter peer are t/filter.t's.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "filter.h"
#include "tap.h"

static char dir[] = "/tmp/ketch-filter.XXXXXX" ;

static int load (conf *c, char const *text)
{
  stralloc fn = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  int r ;
  stralloc_cats(&fn, dir) ; stralloc_cats(&fn, "/ketch.conf") ; stralloc_0(&fn) ;
  if (!openwritenclose_unsafe(fn.s, text, strlen(text))) _exit(111) ;
  r = conf_load(c, fn.s, &err) ;
  if (!r) printf("# %.*s\n", (int)err.len, err.s) ;
  unlink(fn.s) ;
  stralloc_free(&fn) ; stralloc_free(&err) ;
  return r ;
}

/* the stream smtp_data_feed makes of in, fed in chunks of k octets */
static int hold_is (char const *in, size_t k, char const *want)
{
  filterset fs = FILTERSET_ZERO ;
  size_t n = strlen(in), i = 0 ;
  int r = 1 ;
  for (; i < n ; i += k) r &= filter_hold(&fs, in + i, n - i < k ? n - i : k, 1000) ;
  filter_hold_end(&fs) ;
  r &= fs.msg.len == strlen(want) && !memcmp(fs.msg.s, want, fs.msg.len) ;
  if (!r) printf("# got: %.*s\n", (int)fs.msg.len, fs.msg.s) ;
  filterset_close(&fs) ;
  return r ;
}

int main (void)
{
  conf c ;
  filterset fs = FILTERSET_ZERO ;
  tain limit ;
  size_t names[2] ;
  stralloc sender = STRALLOC_ZERO, rcpts = STRALLOC_ZERO ;
  unsigned int nrcpt = 0 ;
  tap_plan(14) ;
  if (!mkdtemp(dir)) return 111 ;

  {
    static char const in[] = "Subject: x\n\n..dot\n.\n..\nend\n.\n" ;
    static char const want[] = "Subject: x\n\n.dot\n\n.\nend\n" ;
    size_t k = 1 ;
    int r = 1 ;
    for (; k <= sizeof(in) ; k++) r &= hold_is(in, k, want) ;
    ok(r, "filter_hold: the stuffing dots and the final dot's line go, in chunks of any size") ;
  }
  {
    filterset f = FILTERSET_ZERO ;
    ok(!filter_hold(&f, "0123456789\n", 11, 10) && errno == EFBIG, "filter_hold: past the bound, EFBIG") ;
    stralloc_copys(&f.reply, "550-5.7.1 one\r\n550 5.7.1 two") ;
    filter_reply_code(&f, "554") ;
    ok(f.reply.len == 28 && !memcmp(f.reply.s, "554-5.7.1 one\r\n554 5.7.1 two", 28), "filter_reply_code: every line's code") ;
    filterset_close(&f) ;
  }

  ok(load(&c, "hostname h.example\nfilter down unix:nonexistent.sock\nfilter downok unix:nonexistent.sock on-failure accept\n"
    "listen 127.0.0.1 filter down filter downok\ntimeout filter-connect 1s\n"), "a configuration with two filters that are down") ;
  names[0] = genalloc_s(size_t, &c.filter_use)[0] ;
  names[1] = genalloc_s(size_t, &c.filter_use)[1] ;
  tain_now_g() ;
  tain_addsec_g(&limit, 10) ;

  ok(filterset_init(&fs, &c, names + 1, 1, -1, "sid", &limit) && filter_client(&fs, "192.0.2.1", "2525", "127.0.0.1"), "filterset_init, filter_client") ;
  ok(fs.mac[FILTER_MAC_CLIENT_ADDR] && !strcmp(fs.mac[FILTER_MAC_CLIENT_ADDR], "192.0.2.1") && !strcmp(fs.mac[FILTER_MAC_CLIENT_PORT], "2525")
     && !strcmp(fs.mac[FILTER_MAC_DAEMON_ADDR], "127.0.0.1") && !strcmp(fs.mac[FILTER_MAC_UNDERSCORE], "unknown [192.0.2.1]")
     && !strcmp(fs.host, "[192.0.2.1]") && fs.port == 2525 && !strcmp(fs.mac[FILTER_MAC_I], "sid") && !strcmp(fs.mac[FILTER_MAC_J], "h.example"),
     "the client's macros, i and j") ;
  ok(filter_connect(&fs, 0, '4', fs.port, "192.0.2.1") == MILTER_CONTINUE && fs.failed[0], "down, on-failure accept: connect goes on") ;
  ok(filter_mail(&fs, "a@b.example", "SIZE=10", 7, 0) == MILTER_CONTINUE && filter_data(&fs) == MILTER_CONTINUE, "and the later stages too") ;
  stralloc_copyb(&sender, "a@b.example", 12) ;
  stralloc_copyb(&rcpts, "c@d.example", 12) ;
  nrcpt = 1 ;
  ok(filter_eom(&fs, &sender, &rcpts, &nrcpt, 0) == MILTER_CONTINUE && nrcpt == 1, "and the end of message") ;
  filterset_close(&fs) ;

  ok(filterset_init(&fs, &c, names, 1, -1, "sid", &limit) && filter_client(&fs, 0, 0, 0) && !strcmp(fs.host, "localhost"), "a local submission's host: localhost") ;
  ok(filter_connect(&fs, 0, 'L', 0, "localhost") == MILTER_TEMPFAIL && !strcmp(fs.reply.s, "451 4.7.1 Service unavailable - try again later"),
     "down, on-failure tempfail: 451 4.7.1 at connect") ;
  ok(filter_helo(&fs, "x", 0, 0) == MILTER_TEMPFAIL && filter_eom(&fs, &sender, &rcpts, &nrcpt, 0) == MILTER_TEMPFAIL, "and at every later stage") ;
  filterset_close(&fs) ;

  ok(filterset_init(&fs, &c, names, 0, -1, "sid", &limit) && filter_connect(&fs, 0, '4', 25, "x") == MILTER_CONTINUE && !fs.m, "no filter: nothing allocated, everything goes on") ;
  nrcpt = 0 ; rcpts.len = 0 ;
  ok(filter_eom(&fs, &sender, &rcpts, &nrcpt, 0) == MILTER_DISCARD && fs.discard, "no recipient left: discarded") ;
  filterset_close(&fs) ;
  conf_free(&c) ;
  stralloc_free(&sender) ; stralloc_free(&rcpts) ;
  rmdir(dir) ;
  return tap_done() ;
}
