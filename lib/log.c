/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/skamisc.h>

#include "log.h"

int log_line (stralloc *sa, char const *id, char const *const *v)
{
  int glue = 0 ;
  if (!stralloc_cats(sa, id)) return 0 ;
  for (; *v ; v++)
  {
    size_t n = strlen(*v) ;
    if (!n) continue ;
    if (!glue && !stralloc_catb(sa, " ", 1)) return 0 ;
    if (!stralloc_catb(sa, *v, n)) return 0 ;
    glue = (*v)[n-1] == '=' ;
  }
  return stralloc_catb(sa, "\n", 1) ;
}

int log_put (int fd, stralloc *sa, char const *id, char const *const *v)
{
  sa->len = 0 ;
  if (!log_line(sa, id, v)) return 0 ;
  return allwrite(fd, sa->s, sa->len) == sa->len ;
}

void log_batch_flush (log_batch *b)
{
  if (b->buf.len) allwrite(b->fd, b->buf.s, b->buf.len) ;
  b->buf.len = 0 ;
}

void log_batch_put (log_batch *b, char const *id, char const *const *v)
{
  b->line.len = 0 ;
  if (!log_line(&b->line, id, v)) return ;
  if (b->buf.len + b->line.len > LOG_BATCH) log_batch_flush(b) ;
  if (b->line.len > LOG_BATCH || !stralloc_catb(&b->buf, b->line.s, b->line.len)) allwrite(b->fd, b->line.s, b->line.len) ;
}

char const *log_quoteb (stralloc *sa, char const *s, size_t len)
{
  sa->len = 0 ;
  if (!string_quote(sa, s, len) || !stralloc_0(sa)) return "\"?\"" ;
  return sa->s ;
}

char const *log_quote (char const *s)
{
  static stralloc ring[LOG_RING] ;
  static unsigned int k = 0 ;
  stralloc *sa = ring + (k++ % LOG_RING) ;
  sa->len = 0 ;
  if (!string_quote(sa, s, strlen(s)) || !stralloc_0(sa)) return "\"?\"" ;
  return sa->s ;
}

char const *log_u64 (uint64_t n)
{
  static char ring[LOG_RING][UINT64_FMT] ;
  static unsigned int k = 0 ;
  char *s = ring[k++ % LOG_RING] ;
  s[uint64_fmt(s, n)] = 0 ;
  return s ;
}
