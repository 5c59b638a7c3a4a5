/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "exitcodes.h"
#include "report.h"
#include "rjob.h"
#include "smtpdata.h"

int rjob_start (rjob *j, char const *id, char const *sender, char const *const *rcpts, unsigned int n, int utf8)
{
  static char const badsender[] = "501 5.1.7 invalid sender address" ;
  static char const badrcpt[] = "501 5.1.3 invalid recipient address" ;
  rjob_result r = { .status = RJOB_PENDING, .text = 0, .len = 0 } ;
  unsigned int i = 0 ;
  j->id = id ;
  j->sender = sender ;
  j->rcpts = rcpts ;
  j->nrcpt = n ;
  j->utf8 = utf8 ;
  j->eightbit = 0 ;
  j->wire.len = 0 ;
  j->size = 0 ;
  j->texts.len = 0 ;
  genalloc_setlen(rjob_result, &j->results, 0) ;
  if (!genalloc_ready(rjob_result, &j->results, n)) return 0 ;
  for (; i < n ; i++) genalloc_append(rjob_result, &j->results, &r) ;
  /* an address goes into a command line: a line end in it would be a command of its own
     (canonical addresses never hold one; this is the last line of defence) */
  if (strpbrk(sender, "\r\n") && !rjob_set_all(j, RJOB_PERM, badsender, sizeof(badsender) - 1, RJOB_PENDING)) return 0 ;
  for (i = 0 ; i < n ; i++)
    if (rjob_status(j, i) == RJOB_PENDING && (!*rcpts[i] || strpbrk(rcpts[i], "\r\n"))
     && !rjob_set(j, i, RJOB_PERM, badrcpt, sizeof(badrcpt) - 1)) return 0 ;
  return 1 ;
}

/*
 * An entry up to RJOB_READ_MAX is read into a buffer kept from job to
 * job; a larger one is mapped, so that it is not held twice in memory
 * (the wire form is a copy already). Not every entry mapped: the unmap
 * of each one flushes the TLBs of every CPU the process has run on, an
 * interprocessor interrupt each: 14 % of remote-send's CPU in W2 on the
 * bench machine, a PVM guest (t/bench/README.md).
 */
int rjob_body (rjob *j, int fd, size_t hdrlen)
{
  struct stat st ;
  char const *p ;
  void *m = 0 ;
  size_t len ;
  int eightbit = 0, ok ;
  if (fstat(fd, &st) < 0) return 0 ;
  if (hdrlen > (uint64_t)st.st_size) return (errno = EINVAL, 0) ;
  len = st.st_size - hdrlen ;
  if (!len) p = "" ;
  else if (len <= RJOB_READ_MAX)
  {
    size_t got = 0 ;
    if (!stralloc_ready(&j->raw, len)) return -1 ;
    while (got < len)
    {
      ssize_t r = pread(fd, j->raw.s + got, len - got, hdrlen + got) ;
      if (r < 0 && errno == EINTR) continue ;
      if (r < 0) return 0 ;
      /* the entry is immutable: shorter than fstat said is a broken one */
      if (!r) return (errno = EIO, 0) ;
      got += r ;
    }
    p = j->raw.s ;
  }
  else
  {
    if ((m = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) return 0 ;
    p = (char const *)m + hdrlen ;
  }
  ok = smtpdata_encode(p, len, &j->wire, &j->size, &eightbit) ;
  if (m) munmap(m, st.st_size) ;
  if (!ok) return -1 ;
  if (eightbit) j->eightbit = 1 ;
  return 1 ;
}

enum rjob_status rjob_reply_status (smtpreply const *r)
{
  return smtpreply_class(r) == 2 ? RJOB_OK : smtpreply_class(r) == 5 ? RJOB_PERM : RJOB_TEMP ;
}

int rjob_set (rjob *j, unsigned int i, enum rjob_status status, char const *s, size_t len)
{
  rjob_result *r = rjob_res(j, i) ;
  if (len > RJOB_TEXT_MAX) len = RJOB_TEXT_MAX ;
  r->status = status ;
  r->text = j->texts.len ;
  r->len = len ;
  return stralloc_catb(&j->texts, s, len) ;
}

int rjob_set_all (rjob *j, enum rjob_status status, char const *s, size_t len, enum rjob_status which)
{
  unsigned int i = 0 ;
  for (; i < j->nrcpt ; i++)
    if (rjob_status(j, i) == which && !rjob_set(j, i, status, s, len)) return 0 ;
  return 1 ;
}

int rjob_set_all_reply (rjob *j, smtpreply const *r, enum rjob_status which)
{
  j->scratch.len = 0 ;
  return smtpreply_oneline(r, &j->scratch) && rjob_set_all(j, rjob_reply_status(r), j->scratch.s, j->scratch.len, which) ;
}

int rjob_set_reply (rjob *j, unsigned int i, smtpreply const *r)
{
  j->scratch.len = 0 ;
  return smtpreply_oneline(r, &j->scratch) && rjob_set(j, i, rjob_reply_status(r), j->scratch.s, j->scratch.len) ;
}

int rjob_done (rjob const *j)
{
  unsigned int i = 0 ;
  for (; i < j->nrcpt ; i++)
    if (rjob_status(j, i) == RJOB_PENDING || rjob_status(j, i) == RJOB_ACCEPTED) return 0 ;
  return 1 ;
}

int rjob_report (rjob const *j, unsigned int job, stralloc *sa)
{
  unsigned int i = 0 ;
  for (; i < j->nrcpt ; i++)
  {
    rjob_result const *r = rjob_res(j, i) ;
    unsigned int kind = r->status == RJOB_OK ? KETCH_RESULT_OK : r->status == RJOB_PERM ? KETCH_RESULT_PERM : KETCH_RESULT_TEMP ;
    if (!report_put_job(sa, job, kind, i, j->texts.s + r->text, r->len)) return 0 ;
  }
  return 1 ;
}

void rjob_free (rjob *j)
{
  stralloc_free(&j->wire) ;
  stralloc_free(&j->raw) ;
  genalloc_free(rjob_result, &j->results) ;
  stralloc_free(&j->texts) ;
  stralloc_free(&j->scratch) ;
}
