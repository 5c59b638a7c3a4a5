/* ISC license: see LICENSE. */

#include <string.h>

#include "httpreq.h"

/* RFC 9110 §5.6.2: tchar, the octets of a method token */
static int tchar (unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c)) ;
}

/* the request target's octets: visible ASCII (RFC 3986 characters and more; a bad one is a 400) */
static int vchar (unsigned char c)
{
  return c > 0x20 && c < 0x7f ;
}

/* the length of the request line (without its end), or len when there is no end within len */
static size_t line_end (char const *s, size_t len)
{
  char const *p = memchr(s, '\n', len) ;
  return p ? (size_t)(p - s) : len ;
}

/* the position after the empty line that ends the head, or 0 */
static size_t head_end (char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    if (s[i] != '\n') continue ;
    if (i + 1 < len && s[i+1] == '\n') return i + 2 ;
    if (i + 2 < len && s[i+1] == '\r' && s[i+2] == '\n') return i + 3 ;
  }
  return 0 ;
}

enum httpreq_status httpreq_parse (char const *s, size_t len, int *head)
{
  size_t n, i = 0, m, t, tl ;
  *head = 0 ;
  if (len > HTTPREQ_MAX) len = HTTPREQ_MAX ;
  if (!head_end(s, len)) return len >= HTTPREQ_MAX ? HTTPREQ_TOOLONG : HTTPREQ_MORE ;
  n = line_end(s, len) ;
  if (n && s[n-1] == '\r') n-- ;
  while (i < n && tchar((unsigned char)s[i])) i++ ;
  m = i ;
  if (!m || i >= n || s[i] != ' ') return HTTPREQ_BAD ;
  t = ++i ;
  while (i < n && vchar((unsigned char)s[i])) i++ ;
  tl = i - t ;
  if (!tl || i >= n || s[i] != ' ') return HTTPREQ_BAD ;
  i++ ;
  if (n - i != 8 || memcmp(s + i, "HTTP/1.", 7) || s[i+7] < '0' || s[i+7] > '9') return HTTPREQ_BAD ;
  if (s[t] != '/') return HTTPREQ_BAD ;
  if (!(m == 3 && !memcmp(s, "GET", 3)) && !(m == 4 && !memcmp(s, "HEAD", 4))) return HTTPREQ_METHOD ;
  *head = m == 4 ;
  {
    char const *q = memchr(s + t, '?', tl) ;
    if (q) tl = (size_t)(q - (s + t)) ;
  }
  return tl == 8 && !memcmp(s + t, "/metrics", 8) ? HTTPREQ_METRICS : HTTPREQ_NOTFOUND ;
}
