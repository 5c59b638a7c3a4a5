/* ISC license: see LICENSE. */

#include <string.h>
#include <errno.h>

#include <skalibs/stralloc.h>

#include "tap.h"
#include "smtpreply.h"

static int feed (smtpreply *r, char const *s)
{
  return smtpreply_line(r, s, strlen(s)) ;
}

static int oneline_is (smtpreply const *r, char const *want)
{
  stralloc sa = STRALLOC_ZERO ;
  int ok_ = smtpreply_oneline(r, &sa) && sa.len == strlen(want) && !memcmp(sa.s, want, sa.len) ;
  stralloc_free(&sa) ;
  return ok_ ;
}

int main (void)
{
  smtpreply r = SMTPREPLY_ZERO ;
  size_t pos = 0, len ;
  char const *s ;
  tap_plan(35) ;

  ok(feed(&r, "220 mx.example ESMTP ready") == 1, "single line reply is complete") ;
  ok(r.code == 220 && smtpreply_class(&r) == 2, "code 220, class 2") ;
  ok(oneline_is(&r, "220 mx.example ESMTP ready"), "oneline form of a single line") ;

  ok(feed(&r, "250-mx.example hello") == 0, "first line of a multiline reply wants more") ;
  ok(feed(&r, "250-PIPELINING") == 0, "continuation line wants more") ;
  ok(feed(&r, "250-SIZE 1000") == 0, "another continuation") ;
  ok(feed(&r, "250 8BITMIME\r") == 1, "last line (a stray CR is dropped) completes the reply") ;
  ok(r.lines == 4 && r.code == 250, "four lines, code 250") ;
  ok(oneline_is(&r, "250 mx.example hello PIPELINING SIZE 1000 8BITMIME"), "oneline joins the lines") ;
  ok(smtpreply_next(&r, &pos, &s, &len) && len == 16 && !memcmp(s, "mx.example hello", 16), "walk: line 1") ;
  ok(smtpreply_next(&r, &pos, &s, &len) && len == 10 && !memcmp(s, "PIPELINING", 10), "walk: line 2") ;
  ok(smtpreply_next(&r, &pos, &s, &len) && smtpreply_next(&r, &pos, &s, &len) && len == 8 && !memcmp(s, "8BITMIME", 8), "walk: line 4") ;
  ok(!smtpreply_next(&r, &pos, &s, &len), "walk: end") ;

  ok(feed(&r, "354") == 1 && r.code == 354 && !r.text.len, "bare code is a complete reply") ;
  ok(oneline_is(&r, "354"), "oneline of a bare code") ;

  ok(feed(&r, "250-a") == 0, "multiline start") ;
  errno = 0 ;
  ok(feed(&r, "251 b") == -1 && errno == EPROTO, "code change inside a reply is an error") ;
  smtpreply_reset(&r) ;
  ok(feed(&r, "hello") == -1, "text without a code is an error") ;
  ok(feed(&r, "25") == -1, "short code is an error") ;
  ok(feed(&r, "250x") == -1, "bad separator is an error") ;
  ok(feed(&r, "150 go") == -1, "1yz is not an SMTP reply") ;
  ok(feed(&r, "260 x") == -1, "second digit above 5 is an error") ;
  ok(feed(&r, "6xx no") == -1, "first digit above 5 is an error") ;
  ok(feed(&r, "") == -1, "empty line is an error") ;
  ok(feed(&r, "421 4.3.0 bye") == 1 && smtpreply_class(&r) == 4, "4xx class") ;
  {
    unsigned int i = 0 ;
    int x = 0 ;
    smtpreply_reset(&r) ;
    for (; i <= SMTPREPLY_LINES_MAX && x == 0 ; i++) x = feed(&r, "250-x") ;
    ok(x == -1, "too many lines are refused") ;
  }
  smtpreply_reset(&r) ;
  ok(feed(&r, "550 5.1.1 <a@b>: no such user") == 1 && smtpreply_class(&r) == 5, "5xx class") ;

  {
    smtpreply_ext e ;
    char const *lines[] = { "250-mx.example", "250-pipelining", "250-SIZE 52428800", "250-8BITMIME",
      "250-AUTH=LOGIN", "250-AUTH CRAM-MD5 PLAIN", "250-STARTTLS", "250-SMTPUTF8", "250 DSN" } ;
    unsigned int i = 0 ;
    smtpreply_reset(&r) ;
    for (; i < 9 ; i++) feed(&r, lines[i]) ;
    smtpreply_ehlo(&r, &e) ;
    ok(e.pipelining && e.eightbit && e.starttls && e.smtputf8, "EHLO: keywords, case-insensitive") ;
    ok(e.hassize && e.size == 52428800, "EHLO: SIZE with a limit") ;
    ok(e.auth_plain && e.auth_login, "EHLO: AUTH mechanisms from both AUTH= and AUTH lines") ;
    smtpreply_reset(&r) ;
    feed(&r, "250-mx.example PIPELINING") ; feed(&r, "250-SIZE") ; feed(&r, "250 STARTTLSX") ;
    smtpreply_ehlo(&r, &e) ;
    ok(!e.pipelining && !e.starttls, "EHLO: the greeting line and keyword prefixes do not count") ;
    ok(e.hassize && !e.size, "EHLO: SIZE alone is no fixed limit") ;
    smtpreply_reset(&r) ;
    feed(&r, "250-x") ; feed(&r, "250 SIZE 99999999999999999999999") ;
    smtpreply_ehlo(&r, &e) ;
    ok(e.hassize && !e.size, "EHLO: an overflowing SIZE is no fixed limit") ;
    smtpreply_reset(&r) ;
    feed(&r, "250 mx.example") ;
    smtpreply_ehlo(&r, &e) ;
    ok(!e.hassize && !e.pipelining && !e.auth_plain, "EHLO: a one-line reply offers nothing") ;
  }
  {
    /* a reply without text has no text storage: one empty line all the same (UBSan found null + 0) */
    smtpreply b = SMTPREPLY_ZERO ;
    pos = 0 ;
    ok(feed(&b, "250") == 1 && smtpreply_next(&b, &pos, &s, &len) && !len && s && !smtpreply_next(&b, &pos, &s, &len), "a reply without text: one empty line") ;
    smtpreply_free(&b) ;
  }
  smtpreply_free(&r) ;
  return tap_done() ;
}
