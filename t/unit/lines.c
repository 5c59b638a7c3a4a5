/* ISC license: see LICENSE. */

/* Unit test of lib/lines: whole lines handed on, a partial one kept. */

#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>

#include <skalibs/stralloc.h>

#include "lines.h"
#include "tap.h"

static stralloc got = STRALLOC_ZERO ;
static unsigned int nlines = 0, badlen = 0 ;

/* each line as "[line]", so that empty lines and their order show */
static void one (char *s, size_t len)
{
  nlines++ ;
  if (strlen(s) != len) badlen++ ;
  stralloc_catb(&got, "[", 1) ;
  stralloc_catb(&got, s, len) ;
  stralloc_catb(&got, "]", 1) ;
}

int main (void)
{
  stralloc buf = STRALLOC_ZERO ;
  tap_plan(10) ;
  stralloc_cats(&buf, "abc\n\ndef\ngh") ;
  lines_take(&buf, &one) ;
  ok(nlines == 3 && !badlen && got.len == 12 && !memcmp(got.s, "[abc][][def]", 12), "whole lines in order, NUL-terminated with their lengths, an empty one too") ;
  ok(buf.len == 2 && !memcmp(buf.s, "gh", 2), "the partial line kept, at the start") ;
  stralloc_cats(&buf, "i\nj") ;
  got.len = 0 ;
  lines_take(&buf, &one) ;
  ok(nlines == 4 && got.len == 5 && !memcmp(got.s, "[ghi]", 5), "completed by the next read") ;
  ok(buf.len == 1 && buf.s[0] == 'j', "and the rest kept again") ;
  buf.len = 0 ;
  lines_take(&buf, &one) ;
  ok(nlines == 4 && !buf.len, "an empty buffer: nothing") ;
  {
    /* lines_read: a pipe read until empty; a partial line past max dropped */
    int p[2] ;
    char big[64] ;
    if (pipe(p) == 0 && fcntl(p[0], F_SETFL, O_NONBLOCK) == 0)
    {
      got.len = 0 ; nlines = 0 ;
      if (write(p[1], "one\ntw", 6) != 6) ok(0, "write") ;
      lines_read(p[0], &buf, 16, &one) ;
      ok(nlines == 1 && got.len == 5 && !memcmp(got.s, "[one]", 5) && buf.len == 2, "read until empty: a line handed on, the partial one kept (%u, %zu, %zu)", nlines, got.len, buf.len) ;
      memset(big, 'x', sizeof(big)) ;
      if (write(p[1], big, sizeof(big)) != sizeof(big)) ok(0, "write") ;
      lines_read(p[0], &buf, 16, &one) ;
      ok(nlines == 1 && !buf.len, "a partial line past max dropped") ;
      if (write(p[1], "xx\nok\n", 6) != 6) ok(0, "write") ;
      lines_read(p[0], &buf, 16, &one) ;
      ok(nlines == 3 && got.len == 13 && !memcmp(got.s + 5, "[xx][ok]", 8), "then resynchronised on the next newline") ;
      close(p[0]) ; close(p[1]) ;
    }
    else { ok(0, "pipe") ; ok(0, "pipe") ; ok(0, "pipe") ; }
  }
  {
    /*
     * A short read took all there was: lines_read returns without a read
     * more that would only hear EAGAIN. On a blocking pipe that read would
     * wait for ever: the alarm ends the test, which then fails.
     */
    int p[2] ;
    static char big[5000] ;
    size_t i = 0 ;
    alarm(10) ;
    if (pipe(p) == 0)
    {
      got.len = 0 ; nlines = 0 ; buf.len = 0 ;
      if (write(p[1], "a\nb\n", 4) != 4) ok(0, "write") ;
      lines_read(p[0], &buf, 8192, &one) ;
      ok(nlines == 2 && got.len == 6 && !memcmp(got.s, "[a][b]", 6), "a short read: its lines, and no read more") ;
      for (; i < sizeof(big) ; i += 5) memcpy(big + i, "line\n", 5) ;
      if (write(p[1], big, sizeof(big)) != sizeof(big)) ok(0, "write") ;
      lines_read(p[0], &buf, 8192, &one) ;
      ok(nlines == 1002 && !buf.len, "a full read is followed by another: 5000 octets at once (%u)", nlines) ;
      close(p[0]) ; close(p[1]) ;
    }
    else { ok(0, "pipe") ; ok(0, "pipe") ; }
    alarm(0) ;
  }
  stralloc_free(&buf) ; stralloc_free(&got) ;
  return tap_done() ;
}
