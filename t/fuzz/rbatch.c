/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/rbatch, remote-send's job input: whatever
 * the input, the jobs parsed point inside it, their recipients inside
 * the fields, and a garbled input says EPROTO. Run with `make fuzz`
 * (t/fuzz/README).
 */

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "rbatch.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static int inside (rbatch const *b, char const *p)
{
  return p >= b->input.s && p + strlen(p) < b->input.s + b->input.len ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  rbatch b = RBATCH_ZERO ;
  unsigned int i ;
  int r ;
  errno = 0 ;
  if (!stralloc_catb(&b.input, (char const *)data, size)) abort() ;
  r = rbatch_parse(&b) ;
  if (!r && errno != EPROTO && errno != ENOMEM) abort() ;
  if (b.parsed > b.input.len || b.n != genalloc_len(rbatch_job, &b.list)) abort() ;
  for (i = 0 ; i < b.n ; i++)
  {
    rbatch_job const *jb = rbatch_job_at(&b, i) ;
    unsigned int k ;
    if (!inside(&b, jb->id) || !inside(&b, jb->sender) || !jb->nrcpt) abort() ;
    if (jb->rcpt0 + jb->nrcpt > genalloc_len(char const *, &b.fields)) abort() ;
    for (k = 0 ; k < jb->nrcpt ; k++) if (!inside(&b, rbatch_rcpts(&b, jb)[k])) abort() ;
  }
  /* forgetting the jobs drops the input they took, and only that */
  {
    size_t parsed = b.parsed ;
    rbatch_forget(&b) ;
    if (b.n || b.parsed || b.input.len != size - parsed || (b.input.len && memcmp(b.input.s, data + parsed, b.input.len))) abort() ;
  }
  rbatch_free(&b) ;
  return 0 ;
}
