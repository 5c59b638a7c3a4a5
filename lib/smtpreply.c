/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>

#include "smtpreply.h"

void smtpreply_reset (smtpreply *r)
{
  r->text.len = 0 ;
  r->code = 0 ;
  r->lines = 0 ;
  r->done = 0 ;
}

void smtpreply_free (smtpreply *r)
{
  stralloc_free(&r->text) ;
  smtpreply_reset(r) ;
}

int smtpreply_line (smtpreply *r, char const *s, size_t len)
{
  unsigned int code ;
  int last ;
  if (r->done) smtpreply_reset(r) ;
  if (len && s[len-1] == '\r') len-- ;
  if (len < 3
   || s[0] < '2' || s[0] > '5'
   || s[1] < '0' || s[1] > '5'
   || s[2] < '0' || s[2] > '9') return (errno = EPROTO, -1) ;
  code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0') ;
  if (len == 3) last = 1 ;
  else if (s[3] == ' ') last = 1 ;
  else if (s[3] == '-') last = 0 ;
  else return (errno = EPROTO, -1) ;
  if (r->lines && code != r->code) return (errno = EPROTO, -1) ;
  if (r->lines >= SMTPREPLY_LINES_MAX || r->text.len + len > SMTPREPLY_TEXT_MAX) return (errno = EPROTO, -1) ;
  r->code = code ;
  if (r->lines && !stralloc_catb(&r->text, "\n", 1)) return -1 ;
  if (len > 4 && !stralloc_catb(&r->text, s + 4, len - 4)) return -1 ;
  r->lines++ ;
  r->done = last ;
  return last ;
}

int smtpreply_oneline (smtpreply const *r, stralloc *sa)
{
  char fmt[UINT_FMT] ;
  size_t i = 0 ;
  size_t n = uint_fmt(fmt, r->code) ;
  if (!stralloc_catb(sa, fmt, n)) return 0 ;
  if (r->text.len && !stralloc_catb(sa, " ", 1)) return 0 ;
  for (; i < r->text.len ; i++)
  {
    char c = r->text.s[i] ;
    if (c == '\n') c = ' ' ;
    if (!stralloc_catb(sa, &c, 1)) return 0 ;
  }
  return 1 ;
}

int smtpreply_next (smtpreply const *r, size_t *pos, char const **s, size_t *len)
{
  size_t i = *pos ;
  size_t j ;
  if (i > r->text.len || !r->lines) return 0 ;
  for (j = i ; j < r->text.len && r->text.s[j] != '\n' ; j++) ;
  /* a reply without text ("250") has no storage yet: no pointer arithmetic on null */
  *s = r->text.len ? r->text.s + i : "" ;
  *len = j - i ;
  *pos = j + 1 ;
  return 1 ;
}

static int keyword_is (char const *s, size_t k, char const *kw)
{
  size_t n = strlen(kw) ;
  return k == n && !strncasecmp(s, kw, n) ;
}

void smtpreply_ehlo (smtpreply const *r, smtpreply_ext *e)
{
  size_t pos = 0, len ;
  char const *s ;
  static smtpreply_ext const zero = SMTPREPLY_EXT_ZERO ;
  *e = zero ;
  if (!smtpreply_next(r, &pos, &s, &len)) return ;   /* the greeting line */
  while (smtpreply_next(r, &pos, &s, &len))
  {
    size_t k = 0 ;
    while (k < len && s[k] != ' ' && s[k] != '=') k++ ;
    if (keyword_is(s, k, "PIPELINING")) e->pipelining = 1 ;
    else if (keyword_is(s, k, "8BITMIME")) e->eightbit = 1 ;
    else if (keyword_is(s, k, "STARTTLS")) e->starttls = 1 ;
    else if (keyword_is(s, k, "SMTPUTF8")) e->smtputf8 = 1 ;
    else if (keyword_is(s, k, "SIZE"))
    {
      /* RFC 1870 §4: SIZE alone, or SIZE 0, means no fixed limit */
      uint64_t n = 0 ;
      size_t i = k + 1 ;
      int bad = i >= len ;
      for (; i < len ; i++)
      {
        if (s[i] < '0' || s[i] > '9' || n > (UINT64_MAX - 9) / 10) { bad = 1 ; break ; }
        n = n * 10 + (s[i] - '0') ;
      }
      e->hassize = 1 ;
      e->size = bad ? 0 : n ;
    }
    else if (keyword_is(s, k, "AUTH"))
    {
      size_t i = k ;
      while (i < len)
      {
        size_t j ;
        while (i < len && (s[i] == ' ' || s[i] == '=')) i++ ;
        for (j = i ; j < len && s[j] != ' ' ; j++) ;
        if (keyword_is(s + i, j - i, "PLAIN")) e->auth_plain = 1 ;
        else if (keyword_is(s + i, j - i, "LOGIN")) e->auth_login = 1 ;
        i = j ;
      }
    }
  }
}
