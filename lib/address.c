/* ISC license: see LICENSE. */

/*
 * RFC 5321 §4.1.2 (Path, Mailbox, Local-part, Domain, address-literal)
 * and RFC 6531 §3.3 (UTF-8 in both parts). The parser is total: every
 * input gives a canonical address or an error code, and no output byte is
 * written past the fixed buffer, because every length is checked first.
 */

#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/fmtscan.h>

#include "address.h"

static char const *const errors[ADDRESS_NERRORS] =
{
  "ok",
  "empty address",
  "address syntax error",
  "invalid local part",
  "invalid domain",
  "invalid address literal",
  "local part longer than 64 octets",
  "domain longer than 255 octets",
  "address longer than 256 octets",
  "8-bit address without SMTPUTF8",
  "control character in address"
} ;

char const *address_strerror (int e)
{
  return e >= 0 && e < ADDRESS_NERRORS ? errors[e] : "unknown error" ;
}

/* atext, RFC 5322 §3.2.3 */
static int isatext (unsigned char c, unsigned int options)
{
  if (c >= 0x80) return !!(options & ADDRESS_UTF8) ;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1 ;
  return !!memchr("!#$%&'*+-/=?^_`{|}~", c, 19) ;
}

static int isletdig (unsigned char c, unsigned int options)
{
  if (c >= 0x80) return !!(options & ADDRESS_UTF8) ;
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ;
}

int address_local_isdotstring (char const *s, size_t len, unsigned int options)
{
  size_t i = 0 ;
  if (!len || s[0] == '.' || s[len-1] == '.') return 0 ;
  for (; i < len ; i++)
  {
    if (s[i] == '.') { if (s[i-1] == '.') return 0 ; }
    else if (!isatext(s[i], options)) return 0 ;
  }
  return 1 ;
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str] */
int address_domain_valid (char const *s, size_t len, unsigned int options)
{
  size_t i = 0, label = 0 ;
  if (!len || len > ADDRESS_DOMAIN_MAX) return 0 ;
  for (; i <= len ; i++)
  {
    if (i == len || s[i] == '.')
    {
      if (!label || label > 63 || s[i-1] == '-') return 0 ;
      label = 0 ;
      continue ;
    }
    if (!label && !isletdig(s[i], options)) return 0 ;
    if (s[i] != '-' && !isletdig(s[i], options)) return 0 ;
    label++ ;
  }
  return 1 ;
}

/* IPv4-address-literal = Snum 3("." Snum), Snum at most 255 */
static int ip4_literal_valid (char const *s)
{
  unsigned int part = 0 ;
  for (; part < 4 ; part++)
  {
    unsigned int v = 0, digits = 0 ;
    for (; *s >= '0' && *s <= '9' ; s++)
    {
      v = v * 10 + (*s - '0') ;
      if (++digits > 3 || v > 255) return 0 ;
    }
    if (!digits) return 0 ;
    if (part < 3 && *s++ != '.') return 0 ;
  }
  return !*s ;
}

/* address-literal: [IPv4] or [IPv6:...]; the general form is refused */
static int literal_valid (char const *s, size_t len)
{
  char buf[64] ;
  char ip[16] ;
  size_t n ;
  if (len < 3 || s[0] != '[' || s[len-1] != ']' || len - 2 >= sizeof(buf)) return 0 ;
  memcpy(buf, s + 1, len - 2) ; buf[len-2] = 0 ;
  if (case_startb(buf, len - 2, "IPv6:"))
  {
    n = ip6_scan(buf + 5, ip) ;
    return n && n == len - 7 ;
  }
  return ip4_literal_valid(buf) ;
}

static int checkbytes (char const *s, size_t len, unsigned int options, unsigned int *flags)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    unsigned char c = s[i] ;
    if (c < 32 || c == 127) return ADDRESS_ECTRL ;
    if (c >= 0x80)
    {
      if (!(options & ADDRESS_UTF8)) return ADDRESS_E8BIT ;
      *flags |= ADDRESS_F_8BIT ;
    }
  }
  return 0 ;
}

/* skip an A-d-l source route "@a,@b:"; returns the index after ':' or 0 */
static size_t skip_route (char const *s, size_t len, unsigned int options)
{
  size_t i = 0 ;
  while (i < len && s[i] == '@')
  {
    size_t j = i + 1 ;
    while (j < len && s[j] != ',' && s[j] != ':') j++ ;
    if (j == len || !address_domain_valid(s + i + 1, j - i - 1, options)) return 0 ;
    if (s[j] == ':') return j + 1 ;
    i = j + 1 ;
  }
  return 0 ;
}

int address_parse (address *a, char const *s, size_t len, unsigned int options)
{
  char local[ADDRESS_PATH_MAX] ;
  size_t llen = 0, i = 0, dstart, dlen ;
  int e ;
  a->len = 0 ; a->at = 0 ; a->flags = 0 ; a->s[0] = 0 ;
  if (len > ADDRESS_PATH_MAX) return ADDRESS_EPATHLEN ;
  e = checkbytes(s, len, options, &a->flags) ;
  if (e) return e ;
  if (len >= 2 && s[0] == '<' && s[len-1] == '>') { s++ ; len -= 2 ; }
  else if (options & ADDRESS_BRACKETS) return ADDRESS_ESYNTAX ;
  if (len > ADDRESS_MAX) return ADDRESS_EPATHLEN ;
  if (!len) return options & ADDRESS_NULL_OK ? ADDRESS_OK : ADDRESS_EEMPTY ;
  if (s[0] == '@')
  {
    i = skip_route(s, len, options) ;
    if (!i || i >= len) return ADDRESS_ESYNTAX ;
    a->flags |= ADDRESS_F_ROUTE ;
  }

  if (s[i] == '"')
  {
    /* quoted-string: qtextSMTP / quoted-pairSMTP, collected unescaped */
    for (i++ ; ; i++)
    {
      if (i >= len) return ADDRESS_ELOCAL ;
      if (s[i] == '"') { i++ ; break ; }
      if (s[i] == '\\')
      {
        if (++i >= len) return ADDRESS_ELOCAL ;
      }
      if (llen >= ADDRESS_LOCAL_MAX) return ADDRESS_ELOCALLEN ;
      local[llen++] = s[i] ;
    }
    if (!address_local_isdotstring(local, llen, options)) a->flags |= ADDRESS_F_QUOTED ;
  }
  else
  {
    size_t j = i ;
    while (j < len && s[j] != '@') j++ ;
    if (j - i > ADDRESS_LOCAL_MAX) return ADDRESS_ELOCALLEN ;
    if (!address_local_isdotstring(s + i, j - i, options)) return ADDRESS_ELOCAL ;
    memcpy(local, s + i, j - i) ; llen = j - i ; i = j ;
  }
  if (!llen) return ADDRESS_ELOCAL ;

  if (a->flags & ADDRESS_F_QUOTED)
  {
    size_t k = 0 ;
    a->s[a->len++] = '"' ;
    for (; k < llen ; k++)
    {
      if (local[k] == '"' || local[k] == '\\') a->s[a->len++] = '\\' ;
      a->s[a->len++] = local[k] ;
    }
    a->s[a->len++] = '"' ;
    if (a->len > ADDRESS_LOCAL_MAX) return ADDRESS_ELOCALLEN ;
  }
  else { memcpy(a->s, local, llen) ; a->len = llen ; }

  if (i == len)
  {
    /* RFC 5321 §4.5.1: RCPT TO:<Postmaster> with no domain */
    if ((options & ADDRESS_NODOMAIN_OK) && !(a->flags & ADDRESS_F_QUOTED) && a->len == 10 && case_equalb(a->s, 10, "postmaster"))
    {
      a->at = a->len ; a->s[a->len] = 0 ;
      return ADDRESS_OK ;
    }
    return ADDRESS_ESYNTAX ;
  }
  if (s[i] != '@') return ADDRESS_ESYNTAX ;
  dstart = i + 1 ; dlen = len - dstart ;
  if (dlen > ADDRESS_DOMAIN_MAX) return ADDRESS_EDOMAINLEN ;
  if (dlen && s[dstart] == '[')
  {
    if (!literal_valid(s + dstart, dlen)) return ADDRESS_ELITERAL ;
    a->flags |= ADDRESS_F_LITERAL ;
  }
  else if (!address_domain_valid(s + dstart, dlen, options)) return ADDRESS_EDOMAIN ;
  if (a->len + 1 + dlen > ADDRESS_MAX) return ADDRESS_EPATHLEN ;
  a->at = a->len ;
  a->s[a->len++] = '@' ;
  memcpy(a->s + a->len, s + dstart, dlen) ;
  case_lowerb(a->s + a->len, dlen) ;
  a->len += dlen ;
  a->s[a->len] = 0 ;
  return ADDRESS_OK ;
}
