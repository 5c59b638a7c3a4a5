/* ISC license: see LICENSE. */

/* Unit test of lib/rstream: a remote-send stream fed report lines through real pipes, its states and its results. */

#include <errno.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/tai.h>

#include "report.h"
#include "rstream.h"
#include "tap.h"

static int tain_equal (tain const *a, tain const *b)
{
  return !tain_less(a, b) && !tain_less(b, a) ;
}

static char const *const addrs[] = { "a@far.example", "b@far.example", "c@far.example" } ;

/* a job as the scheduler writes it: recipients n from addrs */
static char const *job (size_t *len, char const *id, unsigned int n)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!report_job_put(&sa, id, 100, "-", "s@x.example", addrs, n)) return 0 ;
  *len = sa.len ;
  return sa.s ;
}

static int add (rstream *s, int owner, unsigned int const *rcpts, unsigned int n, tain const *now)
{
  size_t len ;
  char const *j = job(&len, "0123456789abcdef0123456", n) ;
  return j && rstream_add(s, (void *)(size_t)owner, rcpts, n, j, len, now, 60) ;
}

/* the report end of a stream: its fd 1 is rp[1], its fd 0 wp[0] (both ours) */
static int rp[2], wp[2] ;

static rstream *started (size_t max, tain const *now, unsigned int const *rcpts, unsigned int n)
{
  rstream *s = rstream_new("far.example", max) ;
  if (!s || !add(s, 1, rcpts, n, now)) return 0 ;
  if (pipe(rp) < 0 || pipe(wp) < 0 || ndelay_on(rp[0]) < 0 || ndelay_on(wp[1]) < 0) return 0 ;
  rstream_start(s, 0, rp[0], wp[1], 1, now, 60) ;
  return s ;
}

static void say (rstream *s, char const *lines, tain const *now)
{
  if (write(rp[1], lines, strlen(lines)) < 0) return ;
  rstream_read(s, now, 60) ;
}

static int is (rstream_result const *r, int owner, unsigned int rcpt, enum ketch_result kind, char const *text, int last)
{
  return (size_t)r->job->owner == (size_t)owner && r->rcpt == rcpt && r->kind == kind && r->len == strlen(text) && !memcmp(r->text, text, r->len) && r->last == last ;
}

/* what the stream wrote on its fd 0 so far: 1 if it is exactly one job of n recipients */
static int wrote (unsigned int n)
{
  char buf[4096] ;
  size_t len ;
  char const *want = job(&len, "0123456789abcdef0123456", n) ;
  ssize_t r = read(wp[0], buf, sizeof(buf)) ;
  return r >= 0 && (size_t)r == len && !memcmp(buf, want, len) ;
}

int main (void)
{
  tain now, t ;
  rstream_result r ;
  rstream *s, *v[2] ;
  unsigned int const r02[2] = { 0, 2 }, r1[1] = { 1 }, r5[2] = { 5, 7 } ;
  char jobs[8192] ;
  size_t len, len2 ;
  char buf[16] ;

  tap_plan(51) ;
  signal(SIGPIPE, SIG_IGN) ;
  tain_now(&now) ;
  memset(jobs, 'x', 300) ; jobs[300] = 0 ;
  ok(!rstream_new(jobs, 10) && errno == EINVAL, "a domain too long is refused") ;

  /* starting: jobs collected, nothing written yet */
  s = rstream_new("far.example", 10) ;
  ok(s && s->state == RSTREAM_STARTING && !rstream_open(s), "new: STARTING, takes no job from the streams yet") ;
  ok(add(s, 1, r02, 2, &now) && add(s, 2, r1, 1, &now) && rstream_njobs(s) == 2, "two jobs collected while STARTING") ;
  {
    char const *j = job(&len, "0123456789abcdef0123456", 2) ;
    memcpy(jobs, j, len) ;
    j = job(&len2, "0123456789abcdef0123456", 1) ;
    memcpy(jobs + len, j, len2) ;
  }
  ok(pipe(rp) == 0 && pipe(wp) == 0 && ndelay_on(rp[0]) == 0 && ndelay_on(wp[1]) == 0, "pipes") ;
  rstream_start(s, 0, rp[0], wp[1], 1, &now, 60) ;
  ok(s->state == RSTREAM_BUSY && rstream_open(s) && !rstream_wants_write(s), "started: BUSY, its jobs written") ;
  {
    ssize_t n = read(wp[0], jobs + 4096, 4096) ;
    ok(n >= 0 && (size_t)n == len + len2 && !memcmp(jobs, jobs + 4096, n), "both jobs on its fd 0, in order") ;
  }
  tain_addsec(&t, &now, 60) ;
  ok(tain_equal(&s->deadline, &t), "deadline: now + timeout") ;

  /* results as they come, partial lines kept */
  say(s, "0 ok 0 250 fine\n1 temp 0 451 la", &now) ;
  ok(rstream_next(s, &now, &r) && is(&r, 1, 0, KETCH_RESULT_OK, "250 fine", 0), "job 0, its first recipient (index 0 = ours 0): ok, not the last") ;
  ok(!rstream_next(s, &now, &r), "a partial line waits") ;
  say(s, "ter\n", &now) ;
  ok(rstream_next(s, &now, &r) && is(&r, 2, 1, KETCH_RESULT_TEMP, "451 later", 1), "the line completed: job 1, ours 1, temp, its last") ;
  ok(s->state == RSTREAM_BUSY, "still BUSY: job 0 lacks a line") ;

  /* garbage is ignored */
  say(s, "garbage\n7 ok 0 no such job\n0 ok 5 no such index\n0 ok 0 a second line\n1 ok 0 job 1 is done\n0 fine 1 bad kind\n\n", &now) ;
  ok(!rstream_next(s, &now, &r), "garbled lines, unknown jobs and indices, second lines: ignored") ;
  ok(s->out.len == 0, "consumed lines are dropped") ;

  /* the last line: IDLE */
  tain_addsec(&t, &now, 5) ;
  say(s, "0 perm 1 550 no\n", &t) ;
  ok(rstream_next(s, &t, &r) && is(&r, 1, 2, KETCH_RESULT_PERM, "550 no", 1), "job 0's index 1 is our recipient 2: perm, its last") ;
  ok(s->state == RSTREAM_IDLE, "every job done: IDLE") ;
  {
    tain idle, d = TAIN_INFINITE ;
    tain_addsec(&idle, &t, RSTREAM_LINGER) ;
    ok(tain_equal(&s->idle, &idle), "idle deadline: the last line + RSTREAM_LINGER") ;
    rstream_deadline(s, &d) ;
    ok(tain_equal(&d, &idle), "an idle stream's deadline is its idle one") ;
  }
  v[0] = s ;
  ok(rstream_find(v, 1, "FAR.example", 0) == s && rstream_count(v, 1, "far.example") == 1 && !rstream_find(v, 1, "near.example", 1), "found by domain, idle: taken even if busy ones are not") ;

  /* a job for the idle stream */
  tain_addsec(&t, &now, 10) ;
  ok(add(s, 3, r5, 2, &t) && s->state == RSTREAM_BUSY, "a job for an idle stream: BUSY") ;
  {
    tain d ;
    tain_addsec(&d, &t, 60) ;
    ok(tain_equal(&s->deadline, &d), "its deadline starts again") ;
  }
  ok(wrote(2), "the job written at once") ;
  ok(!rstream_find(v, 1, "far.example", 0) && rstream_find(v, 1, "far.example", 1) == s, "busy: found only when busy ones may take more") ;
  say(s, "2 ok 1 250 b\n2 ok 0 250 a\n", &t) ;
  ok(rstream_next(s, &t, &r) && is(&r, 3, 7, KETCH_RESULT_OK, "250 b", 0) && rstream_next(s, &t, &r) && is(&r, 3, 5, KETCH_RESULT_OK, "250 a", 1), "lines in any order within a job") ;
  ok(s->state == RSTREAM_IDLE, "IDLE again") ;
  rstream_check(s, &t, 0, 0, 60) ;
  ok(s->state == RSTREAM_IDLE, "before its idle deadline: still IDLE") ;
  tain_addsec(&t, &t, RSTREAM_LINGER + 1) ;
  rstream_check(s, &t, 0, 0, 60) ;
  ok(s->state == RSTREAM_CLOSING && s->wfd < 0, "past it: CLOSING, its fd 0 closed") ;
  ok(read(wp[0], buf, sizeof(buf)) == 0, "remote-send sees the end of its jobs") ;
  ok(!add(s, 4, r1, 1, &t) && errno == EPIPE && rstream_njobs(s) == 3, "a closing stream takes no job") ;
  ok(!rstream_find(v, 1, "far.example", 1), "and is not found") ;
  close(rp[1]) ;
  rstream_read(s, &t, 60) ;
  ok(s->fd < 0, "its report at end of file") ;
  rstream_reaped(s, 0) ;
  ok(s->state == RSTREAM_EXITED && !rstream_next(s, &t, &r), "reaped with every line in: nothing missing") ;
  close(wp[0]) ;
  rstream_free(s) ;

  /* a stream that dies mid-job */
  s = started(10, &now, r02, 2) ;
  ok(s && wrote(2), "a second stream, one job of two recipients") ;
  say(s, "0 ok 1 250 c\n0 temp 0 4", &now) ;
  close(rp[1]) ;
  rstream_read(s, &now, 60) ;
  rstream_read(s, &now, 60) ;
  ok(s->fd < 0 && s->state == RSTREAM_CLOSING && s->wfd < 0, "its report ends: CLOSING, fd 0 closed") ;
  ok(rstream_next(s, &now, &r) && is(&r, 1, 2, KETCH_RESULT_OK, "250 c", 0), "the whole line counts") ;
  ok(!rstream_next(s, &now, &r), "not the partial one, and nothing missing before the reap") ;
  rstream_reaped(s, SIGSEGV) ;
  ok(rstream_next(s, &now, &r) && is(&r, 1, 0, KETCH_RESULT_TEMP, "remote-send crashed", 1), "reaped after a signal: the recipient without its line is temporary") ;
  ok(!rstream_next(s, &now, &r), "once") ;
  close(wp[0]) ;
  rstream_free(s) ;

  /* one that exits without a word */
  s = started(10, &now, r02, 2) ;
  close(rp[1]) ;
  rstream_reaped(s, 111 << 8) ;
  ok(rstream_next(s, &now, &r) && is(&r, 1, 0, KETCH_RESULT_TEMP, "remote-send gave no report for this recipient", 0)
   && rstream_next(s, &now, &r) && is(&r, 1, 2, KETCH_RESULT_TEMP, "remote-send gave no report for this recipient", 1) && !rstream_next(s, &now, &r), "no report at all: every recipient temporary") ;
  close(wp[0]) ;
  rstream_free(s) ;

  /* a late one: killed */
  s = started(10, &now, r1, 1) ;
  tain_addsec(&t, &now, 59) ;
  rstream_check(s, &t, 0, 0, 60) ;
  ok(s->state == RSTREAM_BUSY, "before its deadline: BUSY") ;
  say(s, "garbage\n", &t) ;
  tain_addsec(&t, &now, 61) ;
  rstream_check(s, &t, 0, 0, 60) ;
  ok(s->state == RSTREAM_BUSY, "a read moved its deadline") ;
  tain_addsec(&t, &now, 120) ;
  rstream_check(s, &t, 0, 0, 60) ;
  ok(s->state == RSTREAM_KILLED && !rstream_open(s), "past its deadline: KILLED") ;
  rstream_reaped(s, SIGKILL) ;
  ok(rstream_next(s, &t, &r) && is(&r, 1, 1, KETCH_RESULT_TEMP, "remote-send timed out", 1), "killed: timed out") ;
  close(rp[1]) ; close(wp[0]) ;
  rstream_free(s) ;

  /* messages-per-connection */
  s = started(1, &now, r1, 1) ;
  ok(s && s->state == RSTREAM_CLOSING && s->wfd < 0, "max 1: CLOSING once its one job is written") ;
  ok(wrote(1) && read(wp[0], buf, sizeof(buf)) == 0, "the job, then the end") ;
  close(rp[1]) ; close(wp[0]) ;
  rstream_free(s) ;

  /* stopping: an idle stream closes at once, a busy one only when all must go */
  s = started(10, &now, r1, 1) ;
  say(s, "0 ok 0 250 x\n", &now) ;
  ok(rstream_next(s, &now, &r) && s->state == RSTREAM_IDLE, "idle") ;
  rstream_check(s, &now, 1, 0, 60) ;
  ok(s->state == RSTREAM_CLOSING, "stopping: an idle stream is closed at once") ;
  rstream_check(s, &now, 1, 1, 60) ;
  ok(s->state == RSTREAM_KILLED, "past the stop grace: killed") ;
  close(rp[1]) ; close(wp[0]) ;
  rstream_free(s) ;

  /* a stream whose fd 0 is gone */
  s = started(10, &now, r1, 1) ;
  close(wp[0]) ;
  ok(add(s, 2, r02, 2, &now) && s->state == RSTREAM_CLOSING, "a job whose write fails: taken (its report will say), CLOSING") ;
  ok(s->state == RSTREAM_CLOSING && s->wfd < 0, "its fd 0 closed, it takes no more") ;
  close(rp[1]) ;
  rstream_free(s) ;

  /* rstream_take: by the child's pid, the last taking its place */
  {
    genalloc list = GENALLOC_ZERO ;
    rstream *a = rstream_new("a.example", 10), *b = rstream_new("b.example", 10) ;
    a->pid = 101 ; b->pid = 102 ;
    genalloc_append(rstream *, &list, &a) ;
    genalloc_append(rstream *, &list, &b) ;
    ok(!rstream_take(&list, 103) && genalloc_len(rstream *, &list) == 2, "no stream for that pid: the list stays") ;
    ok(rstream_take(&list, 101) == a && genalloc_len(rstream *, &list) == 1 && genalloc_s(rstream *, &list)[0] == b, "taken out by its pid: the last takes its place") ;
    a->pid = b->pid = 0 ;
    rstream_free(a) ; rstream_free(b) ;
    genalloc_free(rstream *, &list) ;
  }
  return tap_done() ;
}
