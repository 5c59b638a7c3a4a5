/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include "dkimrec.h"

#define ISWSP(c) ((c) == ' ' || (c) == '\t')
#define ISFWS(c) (ISWSP(c) || (c) == '\r' || (c) == '\n')
#define ISALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define ISDIGIT(c) ((c) >= '0' && (c) <= '9')
/* VALCHAR = %x21-3A / %x3C-7E (§3.2): printable, without ";" */
#define ISVAL(c) ((c) >= 0x21 && (c) <= 0x7e && (c) != ';')

static int name_is (char const *s, size_t ns, size_t ne, char const *name)
{
  return ne - ns == strlen(name) && !memcmp(s + ns, name, ne - ns) ;
}

int dkimrec_parse (char const *s, size_t len, dkimrec *r, size_t *errpos, char const **why)
{
  size_t i = 0, at = 0 ;
  unsigned int ntag = 0 ;
  int seenv = 0, seenk = 0, seenp = 0 ;
  r->k = r->klen = r->p = r->plen = 0 ;
  for (;;)
  {
    size_t ns, ne, vs, ve ;
    /* tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS] */
    while (i < len && ISFWS((unsigned char)s[i])) i++ ;
    if (i >= len) break ;
    at = ns = i ;
    if (!ISALPHA(s[i])) { *why = "a tag name must start with a letter" ; goto bad ; }
    while (i < len && (ISALPHA(s[i]) || ISDIGIT(s[i]) || s[i] == '_')) i++ ;
    ne = i ;
    while (i < len && ISFWS((unsigned char)s[i])) i++ ;
    if (i >= len || s[i] != '=') { at = i ; *why = "expected = after the tag name" ; goto bad ; }
    i++ ;
    while (i < len && ISFWS((unsigned char)s[i])) i++ ;
    vs = i ;
    while (i < len && s[i] != ';')
    {
      if (!ISVAL((unsigned char)s[i]) && !ISFWS((unsigned char)s[i])) { at = i ; *why = "a character not allowed in a tag value" ; goto bad ; }
      i++ ;
    }
    ve = i ;
    while (ve > vs && ISFWS((unsigned char)s[ve-1])) ve-- ;
    at = ns ;
    if (name_is(s, ns, ne, "v"))
    {
      /* §3.6.1: if present, the first tag, and DKIM1 */
      if (ntag || seenv++) { *why = "v= must be the first tag" ; goto bad ; }
      if (!name_is(s, vs, ve, "DKIM1")) { at = vs ; *why = "v= must be DKIM1" ; goto bad ; }
    }
    else if (name_is(s, ns, ne, "k"))
    {
      if (seenk++) { *why = "k= twice" ; goto bad ; }
      r->k = vs ; r->klen = ve - vs ;
    }
    else if (name_is(s, ns, ne, "p"))
    {
      size_t k = vs ;
      if (seenp++) { *why = "p= twice" ; goto bad ; }
      /* base64string = ALPHADIGITPS *([FWS] ALPHADIGITPS) (§2.4) */
      for (; k < ve ; k++)
        if (!ISALPHA(s[k]) && !ISDIGIT(s[k]) && s[k] != '+' && s[k] != '/' && s[k] != '=' && !ISFWS((unsigned char)s[k]))
          { at = k ; *why = "p= is base64" ; goto bad ; }
      r->p = vs ; r->plen = ve - vs ;
    }
    ntag++ ;
    if (i >= len) break ;
    i++ ;  /* ";" */
  }
  if (!seenp) { at = len ; *why = "no p= tag (required, RFC 6376 section 3.6.1)" ; goto bad ; }
  return 1 ;
 bad:
  *errpos = at ;
  return (errno = EINVAL, 0) ;
}

long dkimrec_pcompact (char const *s, dkimrec const *r, char *buf, size_t max)
{
  size_t i = r->p, w = 0 ;
  for (; i < r->p + r->plen ; i++)
  {
    if (ISFWS((unsigned char)s[i])) continue ;
    if (w >= max) return -1 ;
    buf[w++] = s[i] ;
  }
  return (long)w ;
}
