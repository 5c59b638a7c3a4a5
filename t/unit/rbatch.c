/* ISC license: see LICENSE. */

/* Unit test of lib/rbatch: remote-send's job input, written by the test on a pipe as the scheduler writes it. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/types.h>
#include <skalibs/stralloc.h>

#include "rbatch.h"
#include "report.h"
#include "tap.h"

#define ID1 "0123456789abcdef01234567"
#define ID2 "006b01754abaf1d0077cb041"

static int w = -1 ;

static void put (char const *s, size_t len)
{
  if (write(w, s, len) != (ssize_t)len) printf("# pipe write failed\n") ;
}

int main (void)
{
  static rbatch b = RBATCH_ZERO ;
  static char const *const rcpts[] = { "a@r.example", "b@r.example" } ;
  stralloc sa = STRALLOC_ZERO ;
  rbatch_job const *jb ;
  int p[2] ;
  tap_plan(20) ;
  if (pipe(p) < 0 || ndelay_on(p[0]) < 0) { printf("Bail out! pipe\n") ; return 1 ; }
  w = p[1] ;

  /* two jobs and half of a third in one read */
  if (!report_job_put(&sa, ID1, 42, "8u", "s@x", rcpts, 2) || !report_job_put(&sa, ID2, 7, "-", "", rcpts + 1, 1)) { printf("Bail out! report_job_put\n") ; return 1 ; }
  {
    size_t whole = sa.len ;
    if (!report_job_put(&sa, ID1, 1, "8", "t@x", rcpts, 1)) { printf("Bail out! report_job_put\n") ; return 1 ; }
    put(sa.s, whole + 5) ;
    ok(rbatch_read(&b, p[0]) && !b.eof && rbatch_parse(&b) && b.n == 2, "a read: two whole jobs") ;
    jb = rbatch_job_at(&b, 0) ;
    ok(!strcmp(jb->id, ID1) && jb->hdrlen == 42 && jb->eightbit && jb->utf8 && !strcmp(jb->sender, "s@x") && jb->nrcpt == 2
     && !strcmp(rbatch_rcpts(&b, jb)[0], "a@r.example") && !strcmp(rbatch_rcpts(&b, jb)[1], "b@r.example"), "the first, its fields and flags") ;
    jb = rbatch_job_at(&b, 1) ;
    ok(!strcmp(jb->id, ID2) && jb->hdrlen == 7 && !jb->eightbit && !jb->utf8 && !*jb->sender && jb->nrcpt == 1
     && !strcmp(rbatch_rcpts(&b, jb)[0], "b@r.example"), "the second: the null sender, no flags") ;
    ok(b.parsed == whole && rbatch_parse(&b) && b.n == 2, "the half job waits, parsing again finds nothing new") ;
    ok(rbatch_read(&b, p[0]) && !b.eof, "nothing to read (EAGAIN): not an error, not the end") ;
    ok(b.n == 0 && b.base == 2 && b.parsed == whole, "a read forgets the jobs known (the buffer may move), counted in base") ;
    b.n = 2 ; b.base = 0 ;  /* back as they were, as the program sees them */
    genalloc_setlen(rbatch_job, &b.list, 2) ;
    b.cur = 2 ;
    rbatch_forget(&b) ;
    ok(b.n == 0 && b.cur == 0 && b.base == 2 && !b.parsed && b.input.len == 5, "forget: the jobs over and their input dropped") ;
    put(sa.s + whole + 5, sa.len - whole - 5) ;
    ok(rbatch_read(&b, p[0]) && rbatch_parse(&b) && b.n == 1, "the rest of the third job") ;
    jb = rbatch_job_at(&b, 0) ;
    ok(!strcmp(jb->id, ID1) && jb->hdrlen == 1 && jb->eightbit && !jb->utf8 && !strcmp(rbatch_rcpts(&b, jb)[0], "a@r.example"), "its fields") ;
  }

  /* the end of the input */
  close(w) ; w = -1 ;
  ok(rbatch_read(&b, p[0]) && b.eof && !rbatch_truncated(&b), "EOF after whole jobs: the end") ;
  close(p[0]) ;

  /* garbled input */
  {
    /* payloads, netstring'd below; the first is not a netstring at all */
    static char const *const bad[] = {
      0,
      "ab",                                                     /* too few fields */
      "x23456789abcdef012345678\0" "1\0-\0s\0r",                /* a bad id */
      ID1 "\0" "1x\0-\0s\0r",                                  /* a bad header length */
      ID1 "\0" "1\0" "9\0s\0r",                                /* bad flags */
    } ;
    static size_t const len[] = { 0, 3, 33, 34, 33 } ;
    static rbatch g = RBATCH_ZERO ;
    unsigned int i = 0 ;
    for (; i < sizeof(len) / sizeof(len[0]) ; i++)
    {
      char fmt[UINT_FMT] ;
      int r ;
      g.input.len = 0 ; g.parsed = 0 ;
      r = bad[i] ? stralloc_catb(&g.input, fmt, uint_fmt(fmt, len[i])) && stralloc_catb(&g.input, ":", 1)
        && stralloc_catb(&g.input, bad[i], len[i]) && stralloc_catb(&g.input, ",", 1) : stralloc_cats(&g.input, "5:abcde;") ;
      ok(r && !rbatch_parse(&g) && errno == EPROTO && !g.n, "garbled %u: EPROTO", i) ;
    }
    /* the same field checks pass a good one */
    g.input.len = 0 ; g.parsed = 0 ;
    ok(stralloc_cats(&g.input, "34:" ID1) && stralloc_catb(&g.input, "\0" "12\0" "u\0s\0r\0,", 11) && rbatch_parse(&g) && g.n == 1
     && rbatch_job_at(&g, 0)->hdrlen == 12 && rbatch_job_at(&g, 0)->utf8, "a job written by hand parses") ;
    rbatch_free(&g) ;
  }

  /* input that ends inside a job; input that never makes a whole job */
  {
    static rbatch g = RBATCH_ZERO ;
    int q[2] ;
    size_t i ;
    if (pipe(q) < 0 || ndelay_on(q[0]) < 0) { printf("Bail out! pipe\n") ; return 1 ; }
    w = q[1] ;
    put("10:abc", 6) ;
    close(w) ;
    ok(rbatch_read(&g, q[0]) && rbatch_parse(&g) && !g.n && !rbatch_truncated(&g), "half a job: nothing yet") ;
    ok(rbatch_read(&g, q[0]) && g.eof && rbatch_truncated(&g), "then EOF: truncated") ;
    close(q[0]) ;
    rbatch_free(&g) ;
    g.input.len = 0 ; g.parsed = 0 ; g.eof = 0 ;
    if (!stralloc_readyplus(&g.input, RBATCH_INPUT_MAX)) { printf("Bail out! memory\n") ; return 1 ; }
    g.input.len = RBATCH_INPUT_MAX ;
    for (i = 0 ; i < g.input.len ; i++) g.input.s[i] = '9' ;
    ok(!rbatch_read(&g, 0) && errno == EPROTO, "a megabyte without a whole job: EPROTO, before any read") ;
    ok(g.input.len == RBATCH_INPUT_MAX, "nothing read") ;
    rbatch_free(&g) ;
  }
  rbatch_free(&b) ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
