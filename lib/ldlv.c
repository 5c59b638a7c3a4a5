/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/alloc.h>
#include <skalibs/allreadwrite.h>

#include "exitcodes.h"
#include "outcome.h"
#include "report.h"
#include "ldlv.h"

ldlv *ldlv_new (job *j, unsigned int i)
{
  ldlv *d = alloc(sizeof(ldlv)) ;
  if (!d) return 0 ;
  memset(d, 0, sizeof(ldlv)) ;
  {
    stralloc sz = STRALLOC_ZERO ;
    d->out = sz ;
  }
  d->j = j ;
  d->rcpt = i ;
  d->fd = -1 ;
  return d ;
}

void ldlv_free (ldlv *d)
{
  if (d->fd >= 0) fd_close(d->fd) ;
  stralloc_free(&d->out) ;
  alloc_free(d) ;
}

int ldlv_read (ldlv *d)
{
  char buf[4096] ;
  ssize_t r = fd_read(d->fd, buf, sizeof(buf)) ;
  if (r > 0)
  {
    if (d->out.len < LDLV_OUT_MAX) stralloc_catb(&d->out, buf, (size_t)r > LDLV_OUT_MAX - d->out.len ? LDLV_OUT_MAX - d->out.len : (size_t)r) ;
    return 1 ;
  }
  if (!r || (errno != EAGAIN && errno != EWOULDBLOCK)) { fd_close(d->fd) ; d->fd = -1 ; }
  return 0 ;
}

enum ketch_result ldlv_result (ldlv *d, int wstat, char const **text, size_t *len)
{
  enum ketch_result kind = d->killed ? KETCH_RESULT_TEMP : outcome_of_exit(wstat) ;
  *text = d->killed ? "local delivery timed out" : WIFEXITED(wstat) ? "" : "local-deliver crashed" ;
  *len = strlen(*text) ;
  while (d->fd >= 0 && ldlv_read(d)) ;
  if (!*len && d->out.len) *len = report_local_text(d->out.s, d->out.len, text) ;
  if (!*len) { *text = kind == KETCH_RESULT_OK ? "delivered" : "local-deliver failed" ; *len = strlen(*text) ; }
  return kind ;
}

ldlv *ldlv_take (genalloc *list, size_t i)
{
  size_t n = genalloc_len(ldlv *, list) ;
  ldlv *d = genalloc_s(ldlv *, list)[i] ;
  genalloc_s(ldlv *, list)[i] = genalloc_s(ldlv *, list)[n-1] ;
  genalloc_setlen(ldlv *, list, n - 1) ;
  return d ;
}

ldlv *ldlv_find (genalloc *list, pid_t pid, unsigned int tag)
{
  size_t n = genalloc_len(ldlv *, list), i = 0 ;
  for (; i < n ; i++)
  {
    ldlv *d = genalloc_s(ldlv *, list)[i] ;
    if (d->pid == pid && (pid || d->tag == tag)) return ldlv_take(list, i) ;
  }
  return 0 ;
}
