/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/tlsrpt's reader: the input split at LF as
 * a records file is. A line it accepts has known names and is written
 * back by tlsrpt_line into one line, no longer, that reads back the same; every accepted record goes through lib/tlsrptrep's
 * aggregation and JSON, as tlsrpt-send does with the spool's files.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "tlsrpt.h"
#include "tlsrptrep.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static int same (tlsrpt_rec const *a, tlsrpt_rec const *b)
{
  unsigned int i = 0 ;
  if (a->policy != b->policy || a->result != b->result || a->nstrings != b->nstrings
   || strcmp(a->sendip, b->sendip) || strcmp(a->recvip, b->recvip) || strcmp(a->mx, b->mx)) return 0 ;
  for (; i < a->nstrings ; i++) if (strcmp(a->strings[i], b->strings[i])) return 0 ;
  return 1 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc sa = STRALLOC_ZERO, sb = STRALLOC_ZERO, line = STRALLOC_ZERO, json = STRALLOC_ZERO ;
  tlsrptrep t = TLSRPTREP_ZERO ;
  tlsrptrep_meta m = { .submitter = "mx.example", .domain = "example.net", .start = 0, .end = 86400, .id = "id" } ;
  char const *s = (char const *)data ;
  size_t i = 0 ;
  while (i < size)
  {
    char const *nl = memchr(s + i, '\n', size - i) ;
    size_t len = nl ? (size_t)(nl - s) - i : size - i ;
    tlsrpt_rec r, back ;
    if (tlsrpt_parse(s + i, len, &r, &sa))
    {
      if (r.policy >= TLSRPT_P_N || r.result >= TLSRPT_R_N || r.nstrings > TLSRPT_STRINGS_MAX) abort() ;
      /* written back: never longer than what was read (each decoded octet encodes as it was written, or shorter), one LF at its end */
      if (!tlsrpt_line(&line, &r) || line.len > len + 1 || memchr(line.s, '\n', line.len - 1) || line.s[line.len - 1] != '\n') abort() ;
      if (!tlsrpt_parse(line.s, line.len - 1, &back, &sb)) abort() ;
      if (!same(&r, &back)) abort() ;
      if (!tlsrptrep_add(&t, &r)) abort() ;
    }
    i += len + 1 ;
  }
  if (!tlsrptrep_json(&json, &t, &m)) abort() ;
  tlsrptrep_free(&t) ;
  stralloc_free(&sa) ; stralloc_free(&sb) ; stralloc_free(&line) ; stralloc_free(&json) ;
  return 0 ;
}
