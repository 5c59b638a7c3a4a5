/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"

#define ISWSP(c) ((c) == ' ' || (c) == '\t')
#define ISALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define ISDIGIT(c) ((c) >= '0' && (c) <= '9')

/* v *WSP "=" *WSP "DMARC1" (section 6.4): the end of it, or 0 */
static size_t version (char const *s, size_t len)
{
  size_t i = 1 ;
  if (!len || s[0] != 'v') return 0 ;
  while (i < len && ISWSP(s[i])) i++ ;
  if (i >= len || s[i++] != '=') return 0 ;
  while (i < len && ISWSP(s[i])) i++ ;
  if (len - i < 6 || memcmp(s + i, "DMARC1", 6)) return 0 ;
  i += 6 ;
  if (i < len && !ISWSP(s[i]) && s[i] != ';') return 0 ;
  return i ;
}

int dmarc_is_record (char const *s, size_t len)
{
  return version(s, len) > 0 ;
}

char const *dmarc_policy_name (unsigned int p)
{
  static char const *const names[] = { "unset", "none", "quarantine", "reject" } ;
  return p <= DMARC_P_REJECT ? names[p] : "?" ;
}

static int is (char const *s, size_t len, char const *word)
{
  return strlen(word) == len && !strncasecmp(s, word, len) ;
}

static int policy (char const *s, size_t len, unsigned char *p)
{
  if (is(s, len, "none")) *p = DMARC_P_NONE ;
  else if (is(s, len, "quarantine")) *p = DMARC_P_QUARANTINE ;
  else if (is(s, len, "reject")) *p = DMARC_P_REJECT ;
  else return 0 ;
  return 1 ;
}

static int number (char const *s, size_t len, size_t maxdigits, unsigned long max, unsigned long *v)
{
  size_t i = 0 ;
  *v = 0 ;
  if (!len || len > maxdigits) return 0 ;
  for (; i < len ; i++)
  {
    if (!ISDIGIT(s[i])) return 0 ;
    if (*v <= max) *v = *v * 10 + (s[i] - '0') ;
  }
  return *v <= max ;
}

/* dmarc-uri *(*WSP "," *WSP dmarc-uri) (section 6.4): URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ]. The count, or 0 */
static unsigned int uris (char const *s, size_t len)
{
  unsigned int n = 0 ;
  size_t i = 0 ;
  for (;;)
  {
    size_t start, end, k ;
    while (i < len && ISWSP(s[i])) i++ ;
    start = i ;
    while (i < len && s[i] != ',') i++ ;
    end = i ;
    while (end > start && ISWSP(s[end-1])) end-- ;
    /* scheme ":" something (RFC 3986 section 3.1) */
    if (start >= end || !ISALPHA(s[start])) return 0 ;
    for (k = start ; k < end && s[k] != ':' ; k++)
      if (!ISALPHA(s[k]) && !ISDIGIT(s[k]) && s[k] != '+' && s[k] != '-' && s[k] != '.') return 0 ;
    if (k + 1 >= end) return 0 ;
    for (k++ ; k < end ; k++)
    {
      if ((unsigned char)s[k] <= 0x20 || (unsigned char)s[k] >= 0x7f) return 0 ;
      if (s[k] == '!')
      {
        /* the size limit: the rest is digits and one unit at most */
        size_t d = k + 1 ;
        while (d < end && ISDIGIT(s[d])) d++ ;
        if (d == k + 1) return 0 ;
        if (d < end && strchr("kmgtKMGT", s[d]) && s[d]) d++ ;
        if (d != end) return 0 ;
        break ;
      }
    }
    n++ ;
    if (i >= len) return n ;
    i++ ;
  }
}

/* fo: ( "0" / "1" / "d" / "s" ) *( *WSP ":" *WSP same ); rf: keyword *( ":" keyword ) */
static int colonlist (char const *s, size_t len, int fo)
{
  size_t i = 0 ;
  for (;;)
  {
    while (i < len && ISWSP(s[i])) i++ ;
    if (i >= len) return 0 ;
    if (fo) { if (!strchr("01dsDS", s[i]) || !s[i]) return 0 ; i++ ; }
    else
    {
      if (!ISALPHA(s[i])) return 0 ;
      while (i < len && (ISALPHA(s[i]) || ISDIGIT(s[i]))) i++ ;
    }
    while (i < len && ISWSP(s[i])) i++ ;
    if (i >= len) return 1 ;
    if (s[i++] != ':') return 0 ;
  }
}

#define SEEN(bit) do { if (seen & (bit)) { *why = "a tag given twice" ; goto bad ; } seen |= (bit) ; } while (0)

int dmarc_parse (char const *s, size_t len, dmarc *d, size_t *errpos, char const **why)
{
  size_t i = version(s, len) ;
  unsigned int seen = 0 ;
  size_t at = 0 ;
  d->p = d->sp = DMARC_P_UNSET ;
  d->pct = 100 ;
  d->nrua = d->nruf = 0 ;
  d->adkim = d->aspf = 'r' ;
  if (!i) { *why = "not starting with v=DMARC1" ; goto bad ; }
  for (;;)
  {
    size_t ns, ne, vs, ve ;
    unsigned long v ;
    while (i < len && ISWSP(s[i])) i++ ;
    if (i >= len) break ;
    if (s[i] != ';') { at = i ; *why = "tags are separated by ;" ; goto bad ; }
    i++ ;
    while (i < len && ISWSP(s[i])) i++ ;
    if (i >= len) break ;
    if (s[i] == ';') continue ;
    at = ns = i ;
    if (!ISALPHA(s[i])) { *why = "a tag name must start with a letter" ; goto bad ; }
    while (i < len && (ISALPHA(s[i]) || ISDIGIT(s[i]) || s[i] == '_')) i++ ;
    ne = i ;
    while (i < len && ISWSP(s[i])) i++ ;
    if (i >= len || s[i] != '=') { at = i ; *why = "expected = after the tag name" ; goto bad ; }
    i++ ;
    while (i < len && ISWSP(s[i])) i++ ;
    vs = i ;
    while (i < len && s[i] != ';') i++ ;
    ve = i ;
    while (ve > vs && ISWSP(s[ve-1])) ve-- ;
    if (is(s + ns, ne - ns, "v")) { *why = "v= again" ; goto bad ; }
    else if (is(s + ns, ne - ns, "p"))
    {
      SEEN(1) ;
      if (!policy(s + vs, ve - vs, &d->p)) { *why = "p= must be none, quarantine or reject" ; goto bad ; }
    }
    else if (is(s + ns, ne - ns, "sp") || is(s + ns, ne - ns, "np"))
    {
      SEEN(ne - ns == 2 && (s[ns] == 's' || s[ns] == 'S') ? 2 : 512) ;
      if (!policy(s + vs, ve - vs, &d->sp)) { *why = "sp= and np= must be none, quarantine or reject" ; goto bad ; }
    }
    else if (is(s + ns, ne - ns, "rua"))
    {
      SEEN(4) ;
      if (!(d->nrua = uris(s + vs, ve - vs))) { *why = "rua= must be a list of URIs (mailto:address)" ; goto bad ; }
    }
    else if (is(s + ns, ne - ns, "ruf"))
    {
      SEEN(8) ;
      if (!(d->nruf = uris(s + vs, ve - vs))) { *why = "ruf= must be a list of URIs (mailto:address)" ; goto bad ; }
    }
    else if (is(s + ns, ne - ns, "adkim") || is(s + ns, ne - ns, "aspf"))
    {
      int dk = ne - ns == 5 ;
      SEEN(dk ? 16 : 32) ;
      if (ve - vs != 1 || !strchr("rsRS", s[vs]) || !s[vs]) { *why = "adkim= and aspf= must be r or s" ; goto bad ; }
      if (dk) d->adkim = s[vs] | 0x20 ; else d->aspf = s[vs] | 0x20 ;
    }
    else if (is(s + ns, ne - ns, "pct"))
    {
      SEEN(64) ;
      if (!number(s + vs, ve - vs, 3, 100, &v)) { *why = "pct= must be a number from 0 to 100" ; goto bad ; }
      d->pct = v ;
    }
    else if (is(s + ns, ne - ns, "ri"))
    {
      SEEN(128) ;
      size_t k = vs ;
      while (k < ve && ISDIGIT(s[k])) k++ ;
      if (k != ve || vs == ve || ve - vs > 32) { *why = "ri= must be a number of seconds" ; goto bad ; }
    }
    else if (is(s + ns, ne - ns, "fo") || is(s + ns, ne - ns, "rf"))
    {
      int fo = s[ns] == 'f' || s[ns] == 'F' ;
      SEEN(fo ? 256 : 1024) ;
      if (!colonlist(s + vs, ve - vs, fo)) { *why = fo ? "fo= must be 0, 1, d or s, separated by :" : "rf= must be report formats separated by :" ; goto bad ; }
    }
    /* else: §6.3, unknown tags are ignored */
  }
  if (d->p == DMARC_P_UNSET) { at = len ; *why = "no p= tag (required, section 6.3)" ; goto bad ; }
  return 1 ;
 bad:
  *errpos = at ;
  return (errno = EINVAL, 0) ;
}
