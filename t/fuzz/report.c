/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/report, what delivery programs tell the
 * scheduler: the report lines, the batch's
 * netstring jobs and their fields, local-deliver's last stderr line.
 * What a line parses into is written back and must parse the same.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "report.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static void line_checked (char const *s)
{
  stralloc w = STRALLOC_ZERO ;
  unsigned int idx, job, idx2, job2 ;
  char const *text, *text2 ;
  int k = report_parse_job(s, &job, &idx, &text) ;
  if (k >= 0)
  {
    if (k > KETCH_RESULT_PERM || text < s || text > s + strlen(s)) abort() ;
    if (!report_put_job(&w, job, k, idx, text, strlen(text)) || !stralloc_0(&w)) abort() ;
    /* written back: one line, the same job, kind and index */
    if (strchr(w.s, '\n') != w.s + w.len - 2) abort() ;
    w.s[w.len - 2] = 0 ;
    if (report_parse_job(w.s, &job2, &idx2, &text2) != k || job2 != job || idx2 != idx) abort() ;
  }
  stralloc_free(&w) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc in = STRALLOC_ZERO ;
  genalloc f = GENALLOC_ZERO ;
  char const *s = (char const *)data ;
  char const *t ;
  size_t pos = 0, start, len, used, n ;
  /* as report lines */
  if (!stralloc_catb(&in, s, size) || !stralloc_0(&in)) abort() ;
  while (pos < size)
  {
    char *nl = memchr(in.s + pos, '\n', size - pos) ;
    size_t e = nl ? (size_t)(nl - in.s) : size ;
    in.s[e] = 0 ;
    line_checked(in.s + pos) ;
    pos = e + 1 ;
  }
  /* as a batch of jobs */
  pos = 0 ;
  while (pos < size)
  {
    int r = report_job_next(s + pos, size - pos, &start, &len, &used) ;
    if (r <= 0) break ;
    if (start + len > size - pos || used > size - pos || !used) abort() ;
    genalloc_setlen(char const *, &f, 0) ;
    {
      unsigned int k = report_job_fields(s + pos + start, len, &f), i ;
      for (i = 0 ; i < k ; i++)
      {
        char const *x = genalloc_s(char const *, &f)[i] ;
        if (x < s + pos + start || x >= s + pos + start + len) abort() ;
      }
    }
    pos += used ;
  }
  /* as local-deliver's stderr */
  n = report_local_text(s, size, &t) ;
  if (n && (t < s || t + n > s + size)) abort() ;
  genalloc_free(char const *, &f) ;
  stralloc_free(&in) ;
  return 0 ;
}
