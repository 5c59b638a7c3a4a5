/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/bounce: the status code of a remote reply
 * (written into a buffer with guard octets after it), the report built
 * from replies and addresses, and the original header read from a pipe.
 * Input: lines; the first are recipients' replies, the rest the header.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "bounce.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static void status_checked (char const *s, int failed, size_t n)
{
  struct { char st[BOUNCE_STATUS_MAX] ; char guard[8] ; } g ;
  size_t k ;
  int r ;
  memset(g.guard, 'G', sizeof(g.guard)) ;
  r = bounce_status(s, failed, g.st, n) ;
  if (memcmp(g.guard, "GGGGGGGG", 8)) abort() ;
  if (!n) return ;
  k = strnlen(g.st, n) ;
  if (k >= n) abort() ;
  /* class.subject.detail: 5 to 9 octets, the class ours */
  if (r && (k < 5 || k > 9 || g.st[0] != (failed ? '5' : '4') || g.st[1] != '.')) abort() ;
  if (!r && k && strcmp(g.st, failed ? "5.0.0" : "4.0.0")) abort() ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc in = STRALLOC_ZERO, out = STRALLOC_ZERO, hdr = STRALLOC_ZERO ;
  bounce_rcpt r[8] ;
  unsigned int n = 0 ;
  size_t pos = 0 ;
  if (!stralloc_catb(&in, (char const *)data, size) || !stralloc_0(&in)) abort() ;
  /* the lines, NUL-terminated in place: the first 8 are replies */
  while (pos < size && n < 8)
  {
    char *nl = memchr(in.s + pos, '\n', size - pos) ;
    size_t e = nl ? (size_t)(nl - in.s) : size ;
    in.s[e] = 0 ;
    r[n].addr = in.s + pos ;
    r[n].orig = n & 1 ? in.s + pos : 0 ;
    r[n].result = n == 3 ? 0 : in.s + pos ;
    status_checked(in.s + pos, n & 1, BOUNCE_STATUS_MAX) ;
    status_checked(in.s + pos, !(n & 1), n) ;
    n++ ;
    pos = e + 1 ;
  }
  {
    /* the rest: an original header, through a pipe (it holds at most 4 KiB here, within a pipe's buffer) */
    int p[2] ;
    size_t rest = pos < size ? size - pos : 0 ;
    if (pipe(p) < 0) abort() ;
    if (rest && write(p[1], data + pos, rest) != (ssize_t)rest) abort() ;
    close(p[1]) ;
    bounce_read_header(p[0], &hdr) ;
    close(p[0]) ;
    if (hdr.len > rest) abort() ;
  }
  {
    bounce b = { .action = size & 1 ? BOUNCE_FAILED : BOUNCE_DELAYED, .hostname = n ? r[0].addr : "mx.example", .id = "0123456789abcdef01234567", .to = "s@x.example", .arrival = size, .now = (uint64_t)size << 20, .boundary = "b/mx.example/failed" } ;
    size_t i ;
    if (!bounce_format(&out, &b, r, n, hdr.s, hdr.len)) abort() ;
    /* the parts before the attached header are clean 7-bit text */
    for (i = 0 ; i < out.len ; i++)
    {
      unsigned char c = out.s[i] ;
      if (!memcmp(out.s + i, "Content-Type: text/rfc822-headers", 33)) break ;
      if (c != '\n' && (c < 32 || c > 126)) abort() ;
    }
  }
  stralloc_free(&in) ; stralloc_free(&out) ; stralloc_free(&hdr) ;
  return 0 ;
}
