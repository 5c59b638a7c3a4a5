/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/fmtscan.h>

#include "netaddr.h"

/* a decimal number of 1 to digits digits, no leading zero, at most max */
static int scan_dec (char const *s, size_t len, unsigned int digits, uint32_t max, uint32_t *u)
{
  uint32_t v = 0 ;
  size_t i = 0 ;
  if (!len || len > digits || (len > 1 && s[0] == '0')) return 0 ;
  for (; i < len ; i++)
  {
    if (s[i] < '0' || s[i] > '9') return 0 ;
    v = v * 10 + (uint32_t)(s[i] - '0') ;
  }
  if (v > max) return 0 ;
  *u = v ;
  return 1 ;
}

int netaddr_ip4 (char const *s, size_t len, char *ip)
{
  char out[4] ;
  size_t i = 0 ;
  unsigned int part = 0 ;
  for (; part < 4 ; part++)
  {
    size_t j = i ;
    uint32_t v ;
    while (j < len && s[j] != '.') j++ ;
    if (!scan_dec(s + i, j - i, 3, 255, &v)) return 0 ;
    out[part] = (char)v ;
    if (part < 3 && j == len) return 0 ;
    i = j + 1 ;
  }
  if (i != len + 1) return 0 ;
  memcpy(ip, out, 4) ;
  return 1 ;
}

int netaddr_ip6 (char const *s, size_t len, char *ip)
{
  unsigned char g[16] ;
  unsigned int n = 0 ;  /* octets so far */
  int gap = -1 ;        /* where "::" stands, in octets */
  size_t i = 0 ;
  if (len < 2) return 0 ;
  if (s[0] == ':')
  {
    if (s[1] != ':') return 0 ;
    gap = 0 ; i = 2 ;
  }
  while (i < len)
  {
    size_t j = i ;
    uint32_t v = 0 ;
    for (; j < len && j - i < 5 && fmtscan_num(s[j], 16) < 16 ; j++) v = (v << 4) | fmtscan_num(s[j], 16) ;
    if (j < len && s[j] == '.')
    {
      /* RFC 4291 §2.2 3.: the last 32 bits as a dotted quad */
      if (n > 12 || !netaddr_ip4(s + i, len - i, (char *)g + n)) return 0 ;
      n += 4 ;
      break ;
    }
    if (j == i || j - i > 4 || n > 14) return 0 ;
    g[n++] = v >> 8 ; g[n++] = v & 0xff ;
    if (j == len) break ;
    if (s[j] != ':' || ++j == len) return 0 ;
    if (s[j] == ':')
    {
      if (gap >= 0) return 0 ;
      gap = n ;
      j++ ;
    }
    i = j ;
  }
  /* "::" stands for at least one group of zeros */
  if (gap < 0 ? n != 16 : n > 14) return 0 ;
  if (gap >= 0)
  {
    unsigned int tail = n - gap ;
    memmove(g + 16 - tail, g + gap, tail) ;
    memset(g + gap, 0, 16 - n) ;
  }
  memcpy(ip, g, 16) ;
  return 1 ;
}

int netaddr_ip (char const *s, size_t len, char *ip, int *is6)
{
  int six = !!memchr(s, ':', len) ;
  if (!(six ? netaddr_ip6(s, len, ip) : netaddr_ip4(s, len, ip))) return 0 ;
  *is6 = six ;
  return 1 ;
}

int netaddr_prefix (char const *s, size_t len, unsigned int max, unsigned int *bits)
{
  uint32_t v ;
  if (!scan_dec(s, len, 3, max, &v)) return 0 ;
  *bits = v ;
  return 1 ;
}

int netaddr_port (char const *s, size_t len, uint16_t *port)
{
  uint32_t v ;
  if (!scan_dec(s, len, 5, 65535, &v) || !v) return 0 ;
  *port = (uint16_t)v ;
  return 1 ;
}

static int ldh (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ;
}

int netaddr_hostname (char const *s, size_t len)
{
  size_t i = 0, start = 0 ;
  int numeric = 1 ;
  if (!len || len > 253) return 0 ;
  for (; i <= len ; i++)
  {
    if (i == len || s[i] == '.')
    {
      if (i == start || i - start > 63 || s[start] == '-' || s[i-1] == '-') return 0 ;
      if (i < len) { start = i + 1 ; numeric = 1 ; }
      continue ;
    }
    if (!ldh(s[i])) return 0 ;
    if (s[i] < '0' || s[i] > '9') numeric = 0 ;
  }
  return !numeric ;
}

int netaddr_hostport (char const *s, size_t len, size_t *hstart, size_t *hlen, uint16_t *port)
{
  char ip[16] ;
  size_t end, next ;
  int is6 ;
  if (len && s[0] == '[')
  {
    char const *close = memchr(s, ']', len) ;
    if (!close) return 0 ;
    end = close - s ;
    if (!netaddr_ip(s + 1, end - 1, ip, &is6)) return 0 ;
    next = end + 1 ;
    if (next < len && s[next] != ':') return 0 ;
    if (next < len && !netaddr_port(s + next + 1, len - next - 1, port)) return -1 ;
    *hstart = 1 ; *hlen = end - 1 ;
    return 1 ;
  }
  {
    char const *colon = memchr(s, ':', len) ;
    end = colon ? (size_t)(colon - s) : len ;
  }
  /* an IPv6 address needs its brackets, or its last group reads as a port */
  if (!netaddr_ip4(s, end, ip) && !netaddr_hostname(s, end)) return 0 ;
  if (end < len && !netaddr_port(s + end + 1, len - end - 1, port)) return -1 ;
  *hstart = 0 ; *hlen = end ;
  return 1 ;
}
