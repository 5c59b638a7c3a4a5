/* ISC license: see LICENSE. */

#include <skalibs/stralloc.h>

#include "base64.h"

static char const alphabet[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" ;

int base64_cat (stralloc *sa, char const *s, size_t len)
{
  unsigned char const *u = (unsigned char const *)s ;
  size_t i = 0 ;
  char *out ;
  if (!stralloc_readyplus(sa, BASE64_LEN(len))) return 0 ;
  out = sa->s + sa->len ;
  for (; i + 2 < len ; i += 3)
  {
    *out++ = alphabet[u[i] >> 2] ;
    *out++ = alphabet[((u[i] & 3) << 4) | (u[i+1] >> 4)] ;
    *out++ = alphabet[((u[i+1] & 15) << 2) | (u[i+2] >> 6)] ;
    *out++ = alphabet[u[i+2] & 63] ;
  }
  if (i < len)
  {
    /* the last one or two octets, padded to a quantum of four */
    unsigned int b = i + 1 < len ? u[i+1] : 0 ;
    *out++ = alphabet[u[i] >> 2] ;
    *out++ = alphabet[((u[i] & 3) << 4) | (b >> 4)] ;
    *out++ = i + 1 < len ? alphabet[(b & 15) << 2] : '=' ;
    *out++ = '=' ;
  }
  sa->len = (size_t)(out - sa->s) ;
  return 1 ;
}

static int value (char c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A' ;
  if (c >= 'a' && c <= 'z') return c - 'a' + 26 ;
  if (c >= '0' && c <= '9') return c - '0' + 52 ;
  if (c == '+') return 62 ;
  if (c == '/') return 63 ;
  return -1 ;
}

int base64_decode (char const *s, size_t len, char *out, size_t max, size_t *outlen)
{
  size_t i = 0, w = 0 ;
  if (len % 4) return 0 ;
  for (; i < len ; i += 4)
  {
    int v[4] ;
    unsigned int j = 0, pad = 0 ;
    for (; j < 4 ; j++)
    {
      if (s[i+j] == '=' && i + 4 == len && j >= 2) { v[j] = 0 ; pad++ ; continue ; }
      if (pad) return 0 ;
      v[j] = value(s[i+j]) ;
      if (v[j] < 0) return 0 ;
    }
    if (w + 3 - pad > max) return 0 ;
    out[w++] = (char)((v[0] << 2) | (v[1] >> 4)) ;
    if (pad < 2) out[w++] = (char)(((v[1] & 15) << 4) | (v[2] >> 2)) ;
    if (!pad) out[w++] = (char)(((v[2] & 3) << 6) | v[3]) ;
  }
  *outlen = w ;
  return 1 ;
}
