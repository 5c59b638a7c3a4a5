/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include "address.h"
#include "addrlist.h"

typedef struct part_s part ;
struct part_s
{
  char buf[ADDRESS_PATH_MAX + 1] ;
  size_t len ;
  int at ;        /* an '@' outside quotes and literals was seen */
  int over ;      /* longer than any address may be */
} ;

static void part_add (part *p, char c)
{
  if (p->len >= ADDRESS_PATH_MAX) { p->over = 1 ; return ; }
  p->buf[p->len++] = c ;
}

/* one list member is complete: qualify, check, append */
static int emit (part *p, stralloc *out, size_t *n, size_t max, char const *domain)
{
  address a = ADDRESS_ZERO ;
  if (p->over) return (errno = EINVAL, 0) ;
  if (!p->len) return 1 ;   /* an empty member ("a, , b") or an empty group */
  if (!p->at)
  {
    size_t dlen = domain ? strlen(domain) : 0 ;
    if (!dlen || p->len + 1 + dlen > ADDRESS_PATH_MAX) return (errno = EINVAL, 0) ;
    p->buf[p->len++] = '@' ;
    memcpy(p->buf + p->len, domain, dlen) ;
    p->len += dlen ;
  }
  if (address_parse(&a, p->buf, p->len, ADDRESS_UTF8)) return (errno = EINVAL, 0) ;
  if (*n >= max) return (errno = ERANGE, 0) ;
  if (!stralloc_catb(out, a.s, a.len + 1)) return 0 ;
  (*n)++ ;
  p->len = 0 ; p->at = 0 ; p->over = 0 ;
  return 1 ;
}

int addrlist_parse (stralloc *out, size_t *n, size_t max, char const *s, size_t len, char const *domain)
{
  part spec = { .len = 0, .at = 0, .over = 0 } ;   /* a bare addr-spec, or the display name */
  part angle = { .len = 0, .at = 0, .over = 0 } ;  /* the content of <...> */
  int inangle = 0, hadangle = 0, ingroup = 0 ;
  size_t i = 0 ;
  while (i < len)
  {
    char c = s[i] ;
    part *p = inangle ? &angle : &spec ;
    if (c == '(')
    {
      /* a comment (§3.2.2): nested, with quoted-pairs; it separates like a blank */
      unsigned int depth = 0 ;
      for (; i < len ; i++)
      {
        if (s[i] == '\\') { i++ ; continue ; }
        if (s[i] == '(') depth++ ;
        else if (s[i] == ')' && !--depth) break ;
      }
      if (i >= len) return (errno = EINVAL, 0) ;
      i++ ;
      continue ;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { i++ ; continue ; }
    if (c == '"' || c == '[')
    {
      /* quoted-string or domain-literal, kept whole; folding inside is removed (§3.2.2) */
      char end = c == '"' ? '"' : ']' ;
      part_add(p, s[i++]) ;
      for (; i < len && s[i] != end ; i++)
      {
        if (s[i] == '\r' || s[i] == '\n') continue ;
        if (s[i] == '\\' && i + 1 < len) part_add(p, s[i++]) ;
        part_add(p, s[i]) ;
      }
      if (i >= len) return (errno = EINVAL, 0) ;
      part_add(p, s[i++]) ;
      continue ;
    }
    i++ ;
    if (inangle)
    {
      if (c == '>') inangle = 0 ;
      else if (c == '<') return (errno = EINVAL, 0) ;
      else
      {
        /* an obsolete route "@a,@b:" (§4.4) belongs to the angle-addr; address_parse drops it */
        if (c == '@') angle.at = 1 ;
        if (c == ':') angle.at = 0 ;
        part_add(&angle, c) ;
      }
      continue ;
    }
    switch (c)
    {
      case '<' :
        if (hadangle) return (errno = EINVAL, 0) ;
        inangle = hadangle = 1 ;
        spec.len = 0 ; spec.at = 0 ; spec.over = 0 ;   /* that was the display name */
        break ;
      case '>' : return (errno = EINVAL, 0) ;
      case ':' :
        /* group = display-name ":" [group-list] ";" (§3.4); groups do not nest */
        if (ingroup || hadangle) return (errno = EINVAL, 0) ;
        ingroup = 1 ;
        spec.len = 0 ; spec.at = 0 ; spec.over = 0 ;
        break ;
      case ';' :
        if (!ingroup) return (errno = EINVAL, 0) ;
        ingroup = 0 ;
        /* fall through */
      case ',' :
        if (!emit(hadangle ? &angle : &spec, out, n, max, domain)) return 0 ;
        spec.len = 0 ; spec.at = 0 ; spec.over = 0 ;
        hadangle = 0 ;
        break ;
      default :
        /* text after an angle-addr can only be junk: refuse rather than guess */
        if (hadangle) return (errno = EINVAL, 0) ;
        if (c == '@') spec.at = 1 ;
        part_add(&spec, c) ;
    }
  }
  if (inangle || ingroup) return (errno = EINVAL, 0) ;
  return emit(hadangle ? &angle : &spec, out, n, max, domain) ;
}
