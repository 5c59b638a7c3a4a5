/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "stspolicy.h"

#define ISWSP(c) ((c) == ' ' || (c) == '\t')
#define ISALNUM(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || ((c) >= '0' && (c) <= '9'))

static char const *const mode_names[] =
{
  [STSPOLICY_NONE] = "none",
  [STSPOLICY_TESTING] = "testing",
  [STSPOLICY_ENFORCE] = "enforce"
} ;

char const *stspolicy_mode_name (unsigned int m)
{
  return m <= STSPOLICY_ENFORCE ? mode_names[m] : "?" ;
}

/* a host name, or "*." and one (§3.2: sts-policy-mx-value = ["*."] Domain): labels of letters, digits, hyphens */
static int pattern_valid (char const *s, size_t len)
{
  size_t i = 0, lab = 0 ;
  if (len >= 2 && s[0] == '*' && s[1] == '.') i = 2 ;
  if (i == len || len > 255) return 0 ;
  for (; i < len ; i++)
  {
    if (s[i] == '.')
    {
      if (!lab || s[i-1] == '-') return 0 ;
      lab = 0 ;
      continue ;
    }
    if (!ISALNUM(s[i]) && !(s[i] == '-' && lab)) return 0 ;
    if (++lab > 63) return 0 ;
  }
  return lab && s[len-1] != '-' ;
}

/* sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / "."): the key of any line */
static int key_valid (char const *s, size_t len)
{
  size_t i = 1 ;
  if (!len || len > 32 || !ISALNUM(s[0])) return 0 ;
  for (; i < len ; i++) if (!ISALNUM(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.') return 0 ;
  return 1 ;
}

/* sts-policy-vchar and WSP: no control characters in a value */
static int printable (char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++) if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) return 0 ;
  return 1 ;
}

static int is (char const *s, size_t len, char const *word)
{
  return strlen(word) == len && !memcmp(s, word, len) ;
}

#define FAIL(w) do { *why = (w) ; *line = n ; return (errno = EINVAL, 0) ; } while (0)

int stspolicy_parse (char const *s, size_t len, stspolicy *p, char const **why, unsigned int *line)
{
  size_t i = 0 ;
  unsigned int n = 0 ;
  int seen_version = 0, seen_mode = 0, seen_maxage = 0 ;
  p->mode = STSPOLICY_NONE ;
  p->max_age = 0 ;
  p->nmx = 0 ;
  while (i < len)
  {
    size_t ks = i, ke, vs, ve, e ;
    char const *nl = memchr(s + i, '\n', len - i) ;
    e = nl ? (size_t)(nl - s) : len ;
    n++ ;
    i = nl ? e + 1 : len ;
    /* CRLF or LF (§3.2: sts-policy-term ends in CRLF or LF) */
    if (e > ks && s[e-1] == '\r') e-- ;
    if (e == ks) continue ;   /* an empty line, or the blank end of the file */
    for (ke = ks ; ke < e && s[ke] != ':' ; ke++) ;
    if (ke == e) FAIL("a line without a colon") ;
    if (!key_valid(s + ks, ke - ks)) FAIL("a bad key") ;
    for (vs = ke + 1 ; vs < e && ISWSP(s[vs]) ; vs++) ;
    for (ve = e ; ve > vs && ISWSP(s[ve-1]) ; ve--) ;
    if (!printable(s + vs, ve - vs)) FAIL("a control character in a value") ;
    if (is(s + ks, ke - ks, "version"))
    {
      if (seen_version++) FAIL("version given twice") ;
      if (!is(s + vs, ve - vs, "STSv1")) FAIL("the version is not STSv1") ;
    }
    else if (is(s + ks, ke - ks, "mode"))
    {
      unsigned int m = 0 ;
      if (seen_mode++) FAIL("mode given twice") ;
      for (; m <= STSPOLICY_ENFORCE && !is(s + vs, ve - vs, mode_names[m]) ; m++) ;
      if (m > STSPOLICY_ENFORCE) FAIL("the mode is not enforce, testing or none") ;
      p->mode = m ;
    }
    else if (is(s + ks, ke - ks, "max_age"))
    {
      uint32_t a = 0 ;
      size_t k = vs ;
      if (seen_maxage++) FAIL("max_age given twice") ;
      /* sts-policy-max-age-value = 1*10(DIGIT); the bound checked digit by digit, before any overflow */
      if (vs == ve || ve - vs > 10) FAIL("max_age is not 1 to 10 digits") ;
      for (; k < ve ; k++)
      {
        if (s[k] < '0' || s[k] > '9') FAIL("max_age is not a number") ;
        if (a > (STSPOLICY_MAXAGE_MAX - (uint32_t)(s[k] - '0')) / 10) FAIL("max_age is over 31557600") ;
        a = a * 10 + (uint32_t)(s[k] - '0') ;
      }
      p->max_age = a ;
    }
    else if (is(s + ks, ke - ks, "mx"))
    {
      if (!pattern_valid(s + vs, ve - vs)) FAIL("a bad mx pattern") ;
      if (p->nmx >= STSPOLICY_MX_MAX) FAIL("too many mx patterns") ;
      p->mx[p->nmx] = vs ;
      p->mxlen[p->nmx++] = ve - vs ;
    }
    /* else an extension: ignored (§3.2) */
  }
  n = 0 ;
  if (!seen_version) FAIL("no version") ;
  if (!seen_mode) FAIL("no mode") ;
  if (!seen_maxage) FAIL("no max_age") ;
  if (p->mode != STSPOLICY_NONE && !p->nmx) FAIL("no mx pattern") ;
  return 1 ;
}

int stspolicy_match (stspolicy const *p, char const *text, char const *host)
{
  size_t hlen = strlen(host) ;
  unsigned int i = 0 ;
  if (hlen && host[hlen-1] == '.') hlen-- ;
  for (; i < p->nmx ; i++)
  {
    char const *m = text + p->mx[i] ;
    size_t mlen = p->mxlen[i] ;
    if (mlen >= 2 && m[0] == '*' && m[1] == '.')
    {
      /* §4.1: "*." stands for one label, the leftmost: never for none, never for two */
      char const *dot = memchr(host, '.', hlen) ;
      if (!dot || dot == host) continue ;
      if ((size_t)(host + hlen - dot) == mlen - 1 && !strncasecmp(dot, m + 1, mlen - 1)) return (int)i ;
    }
    else if (hlen == mlen && !strncasecmp(host, m, mlen)) return (int)i ;
  }
  return -1 ;
}
