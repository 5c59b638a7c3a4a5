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
  int gap ;       /* blanks or a comment since the last octet */
  int phrase ;    /* two words side by side: a display name, never an addr-spec */
} ;

#define PART_ZERO { .len = 0, .at = 0, .over = 0, .gap = 0, .phrase = 0 }

static void part_reset (part *p)
{
  p->len = 0 ; p->at = 0 ; p->over = 0 ; p->gap = 0 ; p->phrase = 0 ;
}

/* the octets that an addr-spec's CFWS may stand beside: "." and "@" (§3.4.1, §4.4), "," and ":" of a route */
static int part_sep (char c)
{
  return c == '.' || c == '@' || c == ',' || c == ':' ;
}

static void part_add (part *p, char c)
{
  /*
   * RFC 5322 §3.4.1: CFWS may surround an addr-spec's words, dots and
   * "@", but two words with only CFWS between them are a phrase. "bob
   * smith@x" and "info@x y" are not addresses: joining their words
   * would send the mail to another mailbox, or another domain.
   */
  if (p->gap && p->len && !part_sep(p->buf[p->len - 1]) && !part_sep(c)) p->phrase = 1 ;
  p->gap = 0 ;
  if (p->len >= ADDRESS_PATH_MAX) { p->over = 1 ; return ; }
  p->buf[p->len++] = c ;
}

/* one list member is complete: qualify, check, append */
static int emit (part *p, stralloc *out, size_t *n, size_t max, char const *domain)
{
  address a = ADDRESS_ZERO ;
  if (p->over || p->phrase) return (errno = EINVAL, 0) ;
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
  part_reset(p) ;
  return 1 ;
}

int addrlist_parse (stralloc *out, size_t *n, size_t max, char const *s, size_t len, char const *domain)
{
  part spec = PART_ZERO ;   /* a bare addr-spec, or the display name */
  part angle = PART_ZERO ;  /* the content of <...> */
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
      p->gap = 1 ;
      continue ;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') { i++ ; p->gap = 1 ; continue ; }
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
        part_reset(&spec) ;   /* that was the display name */
        break ;
      case '>' : return (errno = EINVAL, 0) ;
      case ':' :
        /* group = display-name ":" [group-list] ";" (§3.4); groups do not nest */
        if (ingroup || hadangle) return (errno = EINVAL, 0) ;
        ingroup = 1 ;
        part_reset(&spec) ;
        break ;
      case ';' :
        if (!ingroup) return (errno = EINVAL, 0) ;
        ingroup = 0 ;
        /* fall through */
      case ',' :
        if (!emit(hadangle ? &angle : &spec, out, n, max, domain)) return 0 ;
        part_reset(&spec) ;
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
