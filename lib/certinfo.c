/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <bearssl.h>

#include <skalibs/stralloc.h>

#include "certinfo.h"

/* one DER element at *pos within [0, end): its tag, its contents [*cs, *ce). 1, or 0 */
static int der (unsigned char const *p, size_t end, size_t *pos, unsigned char *tag, size_t *cs, size_t *ce)
{
  size_t i = *pos, len ;
  if (i >= end || end - i < 2) return 0 ;
  *tag = p[i++] ;
  if ((*tag & 0x1f) == 0x1f) return 0 ;  /* high tag numbers: none in a certificate */
  len = p[i++] ;
  if (len & 0x80)
  {
    unsigned int n = len & 0x7f ;
    if (!n || n > 3 || end - i < n) return 0 ;
    for (len = 0 ; n-- ; ) len = (len << 8) | p[i++] ;
  }
  if (len > end - i) return 0 ;
  *cs = i ; *ce = i + len ;
  *pos = i + len ;
  return 1 ;
}

int certinfo_names (unsigned char const *p, size_t len, stralloc *sa)
{
  static unsigned char const san_oid[] = { 0x55, 0x1d, 0x11 } ;  /* 2.5.29.17 */
  size_t pos = 0, cs, ce, tpos, tend ;
  unsigned char tag ;
  int n = 0, k ;
  /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, ... } */
  if (!der(p, len, &pos, &tag, &cs, &ce) || tag != 0x30) goto bad ;
  pos = cs ;
  if (!der(p, ce, &pos, &tag, &cs, &ce) || tag != 0x30) goto bad ;
  tpos = cs ; tend = ce ;
  /* version [0] optional, then serial, signature, issuer, validity, subject, spki: six elements */
  if (tpos < tend && p[tpos] == 0xa0 && !der(p, tend, &tpos, &tag, &cs, &ce)) goto bad ;
  for (k = 0 ; k < 6 ; k++) if (!der(p, tend, &tpos, &tag, &cs, &ce)) goto bad ;
  while (tpos < tend)
  {
    size_t epos, eend ;
    if (!der(p, tend, &tpos, &tag, &cs, &ce)) goto bad ;
    if (tag != 0xa3) continue ;   /* issuerUniqueID [1], subjectUniqueID [2] */
    /* extensions [3] EXPLICIT SEQUENCE OF Extension */
    epos = cs ;
    if (!der(p, ce, &epos, &tag, &cs, &ce) || tag != 0x30) goto bad ;
    epos = cs ; eend = ce ;
    while (epos < eend)
    {
      size_t xpos, xend, os, oe ;
      if (!der(p, eend, &epos, &tag, &cs, &ce) || tag != 0x30) goto bad ;
      xpos = cs ; xend = ce ;
      if (!der(p, xend, &xpos, &tag, &os, &oe) || tag != 0x06) goto bad ;
      if (xpos < xend && p[xpos] == 0x01 && !der(p, xend, &xpos, &tag, &cs, &ce)) goto bad ;
      if (!der(p, xend, &xpos, &tag, &cs, &ce) || tag != 0x04) goto bad ;
      if (oe - os != sizeof(san_oid) || memcmp(p + os, san_oid, sizeof(san_oid))) continue ;
      {
        /* GeneralNames ::= SEQUENCE OF GeneralName; dNSName [2] IA5String */
        size_t gpos = cs, gend ;
        if (!der(p, ce, &gpos, &tag, &cs, &ce) || tag != 0x30) goto bad ;
        gpos = cs ; gend = ce ;
        while (gpos < gend)
        {
          size_t i ;
          if (!der(p, gend, &gpos, &tag, &cs, &ce)) goto bad ;
          if (tag != 0x82) continue ;
          for (i = cs ; i < ce ; i++) if (p[i] < 0x21 || p[i] > 0x7e) goto bad ;
          if (!stralloc_catb(sa, (char const *)p + cs, ce - cs) || !stralloc_0(sa)) return -1 ;
          n++ ;
        }
      }
    }
  }
  return n ;
 bad:
  return (errno = EINVAL, -1) ;
}

static void nodn (void *ctx, void const *buf, size_t len)
{
  (void)ctx ; (void)buf ; (void)len ;
}

/* BearSSL counts days from 0000-01-01 (proleptic Gregorian); the Unix epoch is its day 719528 */
#define EPOCH_DAYS 719528

int certinfo_dates (unsigned char const *p, size_t len, int64_t *notbefore, int64_t *notafter)
{
  br_x509_decoder_context xd ;
  br_x509_decoder_init(&xd, &nodn, 0) ;
  br_x509_decoder_push(&xd, p, len) ;
  if (!br_x509_decoder_get_pkey(&xd)) return (errno = EINVAL, 0) ;
  *notbefore = ((int64_t)xd.notbefore_days - EPOCH_DAYS) * 86400 + xd.notbefore_seconds ;
  *notafter = ((int64_t)xd.notafter_days - EPOCH_DAYS) * 86400 + xd.notafter_seconds ;
  return 1 ;
}

int certinfo_match (char const *pattern, char const *host)
{
  size_t pl = strlen(pattern), hl = strlen(host) ;
  if (pl && pattern[pl-1] == '.') pl-- ;
  if (hl && host[hl-1] == '.') hl-- ;
  if (!pl || !hl) return 0 ;
  if (pl > 2 && pattern[0] == '*' && pattern[1] == '.')
  {
    /* §6.4.3: "*" is the whole leftmost label and stands for exactly one label; a bare "*.tld" is refused */
    char const *dot = memchr(host, '.', hl) ;
    size_t rest ;
    if (!memchr(pattern + 2, '.', pl - 2)) return 0 ;
    if (!dot || dot == host) return 0 ;
    rest = hl - (dot - host) ;
    return rest == pl - 1 && !strncasecmp(dot, pattern + 1, rest) ;
  }
  if (memchr(pattern, '*', pl)) return 0 ;
  return pl == hl && !strncasecmp(pattern, host, hl) ;
}
