/* ISC license: see LICENSE. */
/*
 * libFuzzer harness for what an MTA-STS policy server sends (RFC 8461
 * §3.2, §3.3): the input as a policy body (lib/stspolicy: the parser,
 * then every pattern matched against host names), and as an HTTP
 * response (lib/httpsget's parser, at every prefix length and at the
 * end of the stream, as the fetch loop feeds it). Run with `make fuzz`.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "httpsget.h"
#include "stspolicy.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static char const *const hosts[] = { "mx1.example.net", "example.net", "a.b.example.net", "MX1.EXAMPLE.NET.", "", "." } ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  stspolicy p ;
  char const *why = 0 ;
  unsigned int line, i ;
  size_t off, blen, k ;
  if (stspolicy_parse(s, size, &p, &why, &line))
  {
    if (p.mode > STSPOLICY_ENFORCE || p.max_age > STSPOLICY_MAXAGE_MAX || p.nmx > STSPOLICY_MX_MAX) abort() ;
    if (p.mode != STSPOLICY_NONE && !p.nmx) abort() ;
    for (i = 0 ; i < p.nmx ; i++) if (p.mx[i] > size || p.mxlen[i] > size - p.mx[i] || !p.mxlen[i]) abort() ;
    for (i = 0 ; i < sizeof(hosts) / sizeof(*hosts) ; i++)
    {
      int m = stspolicy_match(&p, s, hosts[i]) ;
      if (m >= (int)p.nmx) abort() ;
    }
  }
  else if (!why) abort() ;
  /* the response parser, as the fetch loop calls it: growing prefixes, then the end */
  for (k = 0 ; k <= size ; k += 1 + k / 4)
  {
    int r = httpsget_response(s, k, 0, &off, &blen, &why) ;
    if (r > 0 && (off > k || blen > k - off)) abort() ;
  }
  if (httpsget_response(s, size, 1, &off, &blen, &why) > 0 && (off > size || blen > size - off)) abort() ;
  return 0 ;
}
