/* ISC license: see LICENSE. */

/* Unit test of lib/report: remote-send's jobs and report lines and local-deliver's last word, both ways. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "report.h"
#include "tap.h"

static char const *T (char const *s, size_t len)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  stralloc_catb(&sa, s, len) ; stralloc_0(&sa) ;
  return sa.s ;
}

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  unsigned int index = 99, job = 99 ;
  char const *text = 0 ;
  size_t n ;
  tap_plan(33) ;
  ok(report_put_job(&sa, 0, KETCH_RESULT_OK, 0, "250 2.0.0 Ok", 12) && sa.len == 20 && !memcmp(sa.s, "0 ok 0 250 2.0.0 Ok\n", 20), "an ok line") ;
  sa.len = 0 ;
  ok(report_put_job(&sa, 0, KETCH_RESULT_PERM, 12, "550 no\r\nRSET\x7f", 13) && !strcmp(T(sa.s, sa.len), "0 perm 12 550 no  RSET \n"), "control characters become spaces: one line") ;
  sa.len = 0 ;
  ok(report_put_job(&sa, 0, KETCH_RESULT_TEMP, 3, "", 0) && !strcmp(T(sa.s, sa.len), "0 temp 3 \n"), "a temp line with no text") ;
  ok(!strcmp(report_kind_name(KETCH_RESULT_OK), "ok") && !strcmp(report_kind_name(KETCH_RESULT_TEMP), "temp") && !strcmp(report_kind_name(KETCH_RESULT_PERM), "perm"), "the kinds' names") ;

  ok(report_parse_job("0 ok 0 250 2.0.0 Ok", &job, &index, &text) == KETCH_RESULT_OK && index == 0 && !strcmp(text, "250 2.0.0 Ok"), "ok parsed") ;
  ok(report_parse_job("0 temp 7 451 later", &job, &index, &text) == KETCH_RESULT_TEMP && index == 7 && !strcmp(text, "451 later"), "temp parsed") ;
  ok(report_parse_job("0 perm 3 550 5.1.1 no", &job, &index, &text) == KETCH_RESULT_PERM && index == 3 && !strcmp(text, "550 5.1.1 no"), "perm parsed") ;
  ok(report_parse_job("0 perm 4", &job, &index, &text) == KETCH_RESULT_PERM && index == 4 && !*text, "no text") ;
  ok(report_parse_job("0 OK 0 x", &job, &index, &text) < 0, "the kind is lower case") ;
  ok(report_parse_job("0 ok x 250", &job, &index, &text) < 0, "no index: garbled") ;
  ok(report_parse_job("0 fine 0 250", &job, &index, &text) < 0, "an unknown kind: garbled") ;
  ok(report_parse_job("0 ok 3x 250", &job, &index, &text) < 0, "junk after the index: garbled") ;
  ok(report_parse_job("0 perm 42949672961 550 no", &job, &index, &text) < 0, "an index past 2^32: garbled, not cut to its first digits") ;
  ok(report_parse_job("", &job, &index, &text) < 0, "an empty line: garbled") ;
  sa.len = 0 ;
  ok(report_put_job(&sa, 0, KETCH_RESULT_TEMP, 41, "421 bye\n", 8) && (sa.s[sa.len - 1] = 0, report_parse_job(sa.s, &job, &index, &text) == KETCH_RESULT_TEMP) && index == 41 && !strcmp(text, "421 bye "), "a line written is read back") ;

  {
    static char const e[] = "local-deliver: info: something\nlocal-deliver: fatal: unable to open /x: Permission denied\n\n" ;
    n = report_local_text(e, sizeof(e) - 1, &text) ;
    ok(!strcmp(T(text, n), "unable to open /x: Permission denied"), "the last line, without fatal's prefix (%s)", T(text, n)) ;
  }
  {
    static char const e[] = "local-deliver: info: delivered to /m/new/1\n" ;
    n = report_local_text(e, sizeof(e) - 1, &text) ;
    ok(!strcmp(T(text, n), "delivered to /m/new/1"), "info's prefix dropped") ;
  }
  {
    static char const e[] = "procmail: oops" ;
    n = report_local_text(e, sizeof(e) - 1, &text) ;
    ok(!strcmp(T(text, n), "procmail: oops"), "another program's line kept whole, no newline needed") ;
  }
  n = report_local_text("\n\n", 2, &text) ;
  ok(!n, "only newlines: no text") ;
  n = report_local_text("local-deliver: fatal: ", 22, &text) ;
  ok(n == 22, "a bare prefix is kept (nothing follows it)") ;

  /* batch mode: the jobs the scheduler writes, the lines remote-send writes back */
  {
    char const *rcpts[2] = { "a@r.example", "b@r.example" } ;
    genalloc f = GENALLOC_ZERO ;
    size_t start, len, used, k ;
    char const *const *fs ;
    sa.len = 0 ;
    ok(report_job_put(&sa, "0123", 42, "8u", "s@x", rcpts, 2) && report_job_put(&sa, "4567", 7, "-", "", rcpts + 1, 1), "two jobs written") ;
    ok(report_job_next(sa.s, sa.len, &start, &len, &used) == 1 && report_job_fields(sa.s + start, len, &f) == 6, "the first job: six fields") ;
    fs = genalloc_s(char const *, &f) ;
    ok(!strcmp(fs[0], "0123") && !strcmp(fs[1], "42") && !strcmp(fs[2], "8u") && !strcmp(fs[3], "s@x") && !strcmp(fs[4], "a@r.example") && !strcmp(fs[5], "b@r.example"), "its fields") ;
    k = used ;
    ok(report_job_next(sa.s + k, sa.len - k, &start, &len, &used) == 1 && report_job_fields(sa.s + k + start, len, &f) == 5 && k + used == sa.len, "the second job: five fields, the end of the buffer") ;
    fs = genalloc_s(char const *, &f) ;
    ok(!strcmp(fs[0], "4567") && !*fs[3] && !strcmp(fs[4], "b@r.example"), "the null sender is an empty field") ;
    ok(report_job_next(sa.s, k - 1, &start, &len, &used) == 0 && report_job_next(sa.s, 2, &start, &len, &used) == 0, "an incomplete job: read more") ;
    ok(report_job_next("5:abcde;", 8, &start, &len, &used) < 0, "no comma: garbled") ;
    ok(report_job_next("x:", 2, &start, &len, &used) < 0 && report_job_next(":a,", 3, &start, &len, &used) < 0, "no length: garbled") ;
    ok(report_job_next("99999999:", 9, &start, &len, &used) < 0, "too long: garbled") ;
    ok(!report_job_fields("ab", 2, &f) && !report_job_fields("", 0, &f), "a payload not ending with NUL: garbled") ;
    genalloc_free(char const *, &f) ;
    sa.len = 0 ;
    ok(report_put_job(&sa, 3, KETCH_RESULT_PERM, 1, "550 no\r\n", 8) && !strcmp(T(sa.s, sa.len), "3 perm 1 550 no  \n"), "a batch line") ;
    sa.s[sa.len - 1] = 0 ;
    ok(report_parse_job(sa.s, &job, &index, &text) == KETCH_RESULT_PERM && job == 3 && index == 1 && !strcmp(text, "550 no  "), "read back") ;
    ok(report_parse_job("ok 0 250", &job, &index, &text) < 0 && report_parse_job("3ok 0 250", &job, &index, &text) < 0 && report_parse_job("3 good 0 250", &job, &index, &text) < 0, "garbled batch lines") ;
  }
  stralloc_free(&sa) ;
  return tap_done() ;
}
