/* ISC license: see LICENSE. */

/*
 * Unit test of lib/tlsrpt: result classification, the record line and
 * its reading back (encoding, strings, damaged lines refused), the
 * period's bounds and directory name, and tlsrpt_record's appends.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bearssl.h>
#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "smtpsess.h"
#include "tlsrpt.h"
#include "tap.h"

static int parses (char const *s)
{
  stralloc sa = STRALLOC_ZERO ;
  tlsrpt_rec r ;
  int ok = tlsrpt_parse(s, strlen(s), &r, &sa) ;
  stralloc_free(&sa) ;
  return ok ;
}

int main (void)
{
  stralloc line = STRALLOC_ZERO, sa = STRALLOC_ZERO, file = STRALLOC_ZERO ;
  tlsrpt_rec r = { .policy = TLSRPT_P_TLSA, .result = TLSRPT_CERT_NOT_TRUSTED, .sendip = "192.0.2.1", .recvip = "2001:db8::25",
                   .mx = "mx.example.net", .nstrings = 2, .strings = { "3 1 1 abcd", "odd\tone %\n\xc3\xa9" } } ;
  tlsrpt_rec back ;
  uint64_t s, e ;
  char big[5000] ;
  tap_plan(27) ;

  /* the table of results */
  ok(tlsrpt_classify(SMTPSESS_TLS_OK, 0) == TLSRPT_SUCCESS, "classify: TLS is success") ;
  ok(tlsrpt_classify(SMTPSESS_TLS_NOTOFFERED, 0) == TLSRPT_STARTTLS_NOT_SUPPORTED && tlsrpt_classify(SMTPSESS_TLS_REFUSED, 0) == TLSRPT_STARTTLS_NOT_SUPPORTED,
     "classify: STARTTLS not offered or refused is starttls-not-supported") ;
  ok(tlsrpt_classify(SMTPSESS_TLS_HANDSHAKE, BR_ERR_X509_BAD_SERVER_NAME) == TLSRPT_CERT_HOST_MISMATCH, "classify: another name") ;
  ok(tlsrpt_classify(SMTPSESS_TLS_HANDSHAKE, BR_ERR_X509_EXPIRED) == TLSRPT_CERT_EXPIRED, "classify: expired") ;
  ok(tlsrpt_classify(SMTPSESS_TLS_HANDSHAKE, BR_ERR_X509_NOT_TRUSTED) == TLSRPT_CERT_NOT_TRUSTED, "classify: not trusted (also DANE's no match)") ;
  ok(tlsrpt_classify(SMTPSESS_TLS_HANDSHAKE, BR_ERR_BAD_VERSION) == TLSRPT_VALIDATION_FAILURE && tlsrpt_classify(SMTPSESS_TLS_HANDSHAKE, 0) == TLSRPT_VALIDATION_FAILURE,
     "classify: anything else is validation-failure") ;
  ok(tlsrpt_classify(SMTPSESS_TLS_NOTTRIED, 0) == -1, "classify: no negotiation, nothing to record") ;
  ok(!strcmp(tlsrpt_result_names[TLSRPT_STS_WEBPKI_INVALID], "sts-webpki-invalid") && !strcmp(tlsrpt_policy_names[TLSRPT_P_NONE], "no-policy-found"), "the RFC's names") ;

  /* a line and back */
  ok(tlsrpt_line(&line, &r), "line: made") ;
  ok(line.len && line.s[line.len - 1] == '\n' && !memchr(line.s, '\n', line.len - 1), "line: one LF, at the end") ;
  ok(line.len > 3 && !memcmp(line.s, "v1\ttlsa\tcertificate-not-trusted\t192.0.2.1\t2001:db8::25\tmx.example.net\t3%201%201%20abcd\todd%09one%20%25%0A%C3%A9\n", line.len),
     "line: the fields percent-encoded") ;
  ok(tlsrpt_parse(line.s, line.len - 1, &back, &sa), "parse: read back") ;
  ok(back.policy == r.policy && back.result == r.result && !strcmp(back.sendip, r.sendip) && !strcmp(back.recvip, r.recvip) && !strcmp(back.mx, r.mx), "parse: the fields") ;
  ok(back.nstrings == 2 && !strcmp(back.strings[0], r.strings[0]) && !strcmp(back.strings[1], r.strings[1]), "parse: the strings, decoded") ;
  ok(parses("v1\tsts\tsuccess\t\t\t") , "parse: empty addresses and host") ;
  ok(!parses("v1\tsts\tsuccess\t\t") && !parses("v1\tsts\tsuccess") && !parses("v2\tsts\tsuccess\t\t\t") && !parses(""), "parse: too few fields, another version") ;
  ok(!parses("v1\tdane\tsuccess\t\t\t") && !parses("v1\tsts\tfine\t\t\t"), "parse: an unknown type or result") ;
  ok(!parses("v1\tsts\tsuccess\ta%\t\t") && !parses("v1\tsts\tsuccess\ta%4\t\t") && !parses("v1\tsts\tsuccess\ta%zz\t\t") && !parses("v1\tsts\tsuccess\ta%00\t\t"),
     "parse: a bad or NUL escape") ;
  ok(!parses("v1\tsts\tsuccess\ta b\t\t") && !parses("v1\tsts\tsuccess\t\xff\t\t"), "parse: a raw blank or 8-bit byte") ;

  /* too long: the strings go first */
  memset(big, 'x', sizeof big - 1) ; big[sizeof big - 1] = 0 ;
  r.strings[0] = big ; r.nstrings = 1 ;
  ok(tlsrpt_line(&line, &r) && line.len < TLSRPT_LINE_MAX && tlsrpt_parse(line.s, line.len - 1, &back, &sa) && !back.nstrings, "line: too long, without its strings") ;
  r.mx = big ; r.nstrings = 0 ;
  ok(!tlsrpt_line(&line, &r) && errno == EMSGSIZE, "line: too long even so: refused") ;
  r.mx = "mx.example.net" ;
  if (!tlsrpt_line(&line, &r)) return 111 ;

  /* periods */
  tlsrpt_period(86400 * 3 + 5, 86400, &s, &e) ;
  ok(s == 86400 * 3 && e == 86400 * 4, "period: the UTC day") ;
  ok(tlsrpt_period_scan("100-200", &s, &e) && s == 100 && e == 200, "period_scan: a directory name") ;
  ok(!tlsrpt_period_scan("200-100", &s, &e) && !tlsrpt_period_scan("100-", &s, &e) && !tlsrpt_period_scan("100-200x", &s, &e) && !tlsrpt_period_scan(".", &s, &e),
     "period_scan: not one") ;

  /* appends */
  if (!tap_tmpdir() || mkdir(tap_path("tlsrpt"), 0700) < 0) { perror("tmpdir") ; return 111 ; }
  ok(tlsrpt_record(tap_dir(), "example.net", 10, 25, &r) && tlsrpt_record(tap_dir(), "example.net", 10, 29, &r), "record: two lines") ;
  ok(openslurpclose(&file, tap_path("tlsrpt/20-30/example.net")) && file.len == 2 * (line.len), "record: both in the period's file") ;
  ok(!tlsrpt_record(tap_dir(), "../x", 10, 25, &r) && errno == EINVAL && !tlsrpt_record(tap_dir(), "a/b", 10, 25, &r) && !tlsrpt_record(tap_dir(), "", 10, 25, &r),
     "record: a domain that is no file name is refused") ;
  tap_rmtmp() ;
  stralloc_free(&line) ; stralloc_free(&sa) ; stralloc_free(&file) ;
  return tap_done() ;
}
