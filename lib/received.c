/* ISC license: see LICENSE. */

#include <string.h>
#include <time.h>

#include <skalibs/stralloc.h>

#include "received.h"

char const *received_proto (int ehlo, int tls, int auth)
{
  if (!ehlo) return "SMTP" ;
  return tls ? (auth ? "ESMTPSA" : "ESMTPS") : (auth ? "ESMTPA" : "ESMTP") ;
}

void received_name (char *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    char c = s[i] ;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
      s[i] = '_' ;
  }
}

int received_fmt (stralloc *sa, received const *r)
{
  char date[64] ;
  struct tm tm ;
  /* RFC 5322 §3.3 date-time; the C locale gives English names */
  if (!gmtime_r(&r->when, &tm) || !strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm))
    memcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", 32) ;
  if (!stralloc_cats(sa, "Received: from ") || !stralloc_cats(sa, r->helo)
   || !stralloc_cats(sa, r->is6 ? " ([IPv6:" : " ([") || !stralloc_cats(sa, r->ip)
   || !stralloc_cats(sa, "])\n\tby ") || !stralloc_cats(sa, r->host)
   || !stralloc_cats(sa, " (ketch) with ") || !stralloc_cats(sa, r->proto)) return 0 ;
  if (r->tlsversion && (!stralloc_cats(sa, " (") || !stralloc_cats(sa, r->tlsversion)
   || !stralloc_cats(sa, " cipher=") || !stralloc_cats(sa, r->cipher) || !stralloc_cats(sa, ")"))) return 0 ;
  if (!stralloc_cats(sa, " id ") || !stralloc_cats(sa, r->id)) return 0 ;
  if (r->rcpt && (!stralloc_cats(sa, "\n\tfor <") || !stralloc_cats(sa, r->rcpt) || !stralloc_cats(sa, ">"))) return 0 ;
  return stralloc_cats(sa, ";\n\t") && stralloc_cats(sa, date) && stralloc_cats(sa, "\n") ;
}
