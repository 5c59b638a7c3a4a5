/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "ststxt.h"

#define ISWSP(c) ((c) == ' ' || (c) == '\t')
#define ISALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define ISDIGIT(c) ((c) >= '0' && (c) <= '9')
#define ISALNUM(c) (ISALPHA(c) || ISDIGIT(c))
/* ext-value = 1*(%x21-3A / %x3C / %x3E-7E): printable, without ";" and "=" */
#define ISEXTV(c) ((c) >= 0x21 && (c) <= 0x7e && (c) != ';' && (c) != '=')

static int prefix (char const *s, size_t len, char const *p)
{
  size_t n = strlen(p) ;
  return len >= n && !memcmp(s, p, n) ;
}

int ststxt_is_sts (char const *s, size_t len)
{
  return prefix(s, len, "v=STSv1;") ;
}

int ststxt_is_tlsrpt (char const *s, size_t len)
{
  return prefix(s, len, "v=TLSRPTv1") && (len == 10 || s[10] == ';' || ISWSP(s[10])) ;
}

/*
 * The field after i: *WSP ";" *WSP, then name "=" value, where the name
 * is (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") and the value
 * runs to the next ";" (trailing spaces left out). 1 with the field, 0 at
 * the end of the record, -1 on a syntax error (*at, *why).
 */
static int field (char const *s, size_t len, size_t *i, size_t *ns, size_t *ne, size_t *vs, size_t *ve, size_t *at, char const **why)
{
  size_t k = *i ;
  while (k < len && ISWSP(s[k])) k++ ;
  if (k >= len) { *i = k ; return 0 ; }
  if (s[k] != ';') { *at = k ; *why = "fields are separated by ;" ; return -1 ; }
  k++ ;
  while (k < len && ISWSP(s[k])) k++ ;
  if (k >= len) { *i = k ; return 0 ; }
  *at = *ns = k ;
  if (!ISALNUM(s[k])) { *why = "a field name must start with a letter or digit" ; return -1 ; }
  for (k++ ; k < len && (ISALNUM(s[k]) || s[k] == '_' || s[k] == '-' || s[k] == '.') ; k++) ;
  *ne = k ;
  if (*ne - *ns > 32) { *why = "a field name longer than 32 characters" ; return -1 ; }
  if (k >= len || s[k] != '=') { *at = k ; *why = "expected = after the field name" ; return -1 ; }
  *vs = ++k ;
  while (k < len && s[k] != ';') k++ ;
  *i = k ;
  while (k > *vs && ISWSP(s[k-1])) k-- ;
  *ve = k ;
  *at = *vs ;
  if (*ve == *vs) { *why = "an empty value" ; return -1 ; }
  return 1 ;
}

static int name_is (char const *s, size_t ns, size_t ne, char const *name)
{
  return ne - ns == strlen(name) && !memcmp(s + ns, name, ne - ns) ;
}

/* an extension's value: 1*(%x21-3A / %x3C / %x3E-7E) */
static int extvalue (char const *s, size_t vs, size_t ve, size_t *at)
{
  for (; vs < ve ; vs++) if (!ISEXTV((unsigned char)s[vs])) { *at = vs ; return 0 ; }
  return 1 ;
}

int ststxt_sts_parse (char const *s, size_t len, size_t *id, size_t *idlen, size_t *errpos, char const **why)
{
  size_t i = 7, at = 0, ns, ne, vs, ve ;
  int seen = 0, r ;
  if (!prefix(s, len, "v=STSv1")) { *why = "not starting with v=STSv1" ; goto bad ; }
  /* sts-version 1*(sts-field-delim sts-field) [sts-field-delim] (§3.1) */
  while ((r = field(s, len, &i, &ns, &ne, &vs, &ve, &at, why)) > 0)
  {
    if (name_is(s, ns, ne, "id"))
    {
      size_t k = vs ;
      if (seen++) { at = ns ; *why = "id= twice" ; goto bad ; }
      for (; k < ve ; k++) if (!ISALNUM(s[k])) { at = k ; *why = "id= is 1 to 32 letters and digits" ; goto bad ; }
      if (ve - vs > 32) { *why = "id= is 1 to 32 letters and digits" ; goto bad ; }
      *id = vs ; *idlen = ve - vs ;
    }
    else if (!extvalue(s, vs, ve, &at)) { *why = "a character not allowed in a field value" ; goto bad ; }
  }
  if (r < 0) goto bad ;
  if (!seen) { at = len ; *why = "no id= field (required, RFC 8461 section 3.1)" ; goto bad ; }
  return 1 ;
 bad:
  *errpos = at ;
  return (errno = EINVAL, 0) ;
}

/* tlsrpt-uri: mailto: with something after it, or https:// with a host (RFC 8460 §3) */
static int rua_uri (char const *s, size_t len)
{
  size_t i = 0, start ;
  if (len > 7 && !strncasecmp(s, "mailto:", 7)) start = 7 ;
  else if (len > 8 && !strncasecmp(s, "https://", 8)) start = 8 ;
  else return 0 ;
  for (i = start ; i < len ; i++) if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == ',') return 0 ;
  return 1 ;
}

int ststxt_tlsrpt_parse (char const *s, size_t len, ststxt_rua *rua, size_t *errpos, char const **why)
{
  size_t i = 10, at = 0, ns, ne, vs, ve ;
  int r ;
  rua->n = 0 ;
  rua->first = rua->firstlen = 0 ;
  if (!ststxt_is_tlsrpt(s, len)) { *why = "not starting with v=TLSRPTv1" ; goto bad ; }
  while ((r = field(s, len, &i, &ns, &ne, &vs, &ve, &at, why)) > 0)
  {
    if (name_is(s, ns, ne, "rua"))
    {
      /* tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri) */
      size_t k = vs ;
      if (rua->n) { at = ns ; *why = "rua= twice" ; goto bad ; }
      for (;;)
      {
        size_t us, ue ;
        while (k < ve && ISWSP(s[k])) k++ ;
        us = k ;
        while (k < ve && s[k] != ',') k++ ;
        ue = k ;
        while (ue > us && ISWSP(s[ue-1])) ue-- ;
        if (!rua_uri(s + us, ue - us)) { at = us ; *why = "rua= takes mailto: or https:// URIs separated by ," ; goto bad ; }
        if (!rua->n++) { rua->first = us ; rua->firstlen = ue - us ; }
        if (k >= ve) break ;
        k++ ;
      }
    }
    else if (!extvalue(s, vs, ve, &at)) { *why = "a character not allowed in a field value" ; goto bad ; }
  }
  if (r < 0) goto bad ;
  if (!rua->n) { at = len ; *why = "no rua= field (required, RFC 8460 section 3)" ; goto bad ; }
  return 1 ;
 bad:
  *errpos = at ;
  return (errno = EINVAL, 0) ;
}
