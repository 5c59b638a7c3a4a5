/* ISC license: see LICENSE. */

#include <skalibs/stralloc.h>

#include "text.h"

void text_printable (char *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    unsigned char c = s[i] ;
    if (c < 32 || c == 127) s[i] = ' ' ;
  }
}

int text_printable_cat (stralloc *sa, char const *s, size_t len)
{
  size_t off = sa->len ;
  if (!stralloc_catb(sa, s, len)) return 0 ;
  text_printable(sa->s + off, len) ;
  return 1 ;
}
