/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/types.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "queue.h"
#include "rbatch.h"
#include "report.h"

#define READ_SIZE 65536

int rbatch_parse (rbatch *b)
{
  for (;;)
  {
    size_t start, len, used, k ;
    unsigned int n ;
    char const *const *fs ;
    rbatch_job jb ;
    int r = report_job_next(b->input.s + b->parsed, b->input.len - b->parsed, &start, &len, &used) ;
    if (!r) break ;
    if (r < 0) return (errno = EPROTO, 0) ;
    genalloc_setlen(char const *, &b->scratch, 0) ;
    n = report_job_fields(b->input.s + b->parsed + start, len, &b->scratch) ;
    fs = genalloc_s(char const *, &b->scratch) ;
    if (n < 5 || !queue_id_valid(fs[0], strlen(fs[0]))
     || !(k = size_scan(fs[1], &jb.hdrlen)) || fs[1][k]
     || (strcmp(fs[2], "-") && strcmp(fs[2], "8") && strcmp(fs[2], "u") && strcmp(fs[2], "8u")))
      return (errno = EPROTO, 0) ;
    jb.id = fs[0] ;
    jb.eightbit = !!strchr(fs[2], '8') ;
    jb.utf8 = !!strchr(fs[2], 'u') ;
    jb.sender = fs[3] ;
    jb.rcpt0 = genalloc_len(char const *, &b->fields) ;
    jb.nrcpt = n - 4 ;
    if (!genalloc_catb(char const *, &b->fields, fs + 4, n - 4) || !genalloc_append(rbatch_job, &b->list, &jb)) return 0 ;
    b->parsed += used ;
    b->n = genalloc_len(rbatch_job, &b->list) ;
  }
  return 1 ;
}

/* the jobs known are over: forgotten, counted in base */
static void forget_jobs (rbatch *b)
{
  b->base += b->n ;
  genalloc_setlen(rbatch_job, &b->list, 0) ;
  genalloc_setlen(char const *, &b->fields, 0) ;
  b->n = b->cur = 0 ;
}

void rbatch_forget (rbatch *b)
{
  forget_jobs(b) ;
  if (b->parsed)
  {
    memmove(b->input.s, b->input.s + b->parsed, b->input.len - b->parsed) ;
    b->input.len -= b->parsed ;
    b->parsed = 0 ;
  }
}

int rbatch_read (rbatch *b, int fd)
{
  ssize_t r ;
  if (b->input.len - b->parsed >= RBATCH_INPUT_MAX) return (errno = EPROTO, 0) ;
  if (!stralloc_readyplus(&b->input, READ_SIZE)) return 0 ;
  r = fd_read(fd, b->input.s + b->input.len, READ_SIZE) ;
  if (r < 0 && !error_isagain(errno)) return 0 ;
  if (!r) b->eof = 1 ;
  if (r > 0) b->input.len += r ;
  /* the input may have moved under the fields of the jobs parsed so far, all over: parse from the first new one */
  forget_jobs(b) ;
  return 1 ;
}

void rbatch_free (rbatch *b)
{
  stralloc_free(&b->input) ;
  genalloc_free(rbatch_job, &b->list) ;
  genalloc_free(char const *, &b->fields) ;
  genalloc_free(char const *, &b->scratch) ;
}
