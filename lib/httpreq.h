/* ISC license: see LICENSE. */

#ifndef KETCH_HTTPREQ_H
#define KETCH_HTTPREQ_H

#include <stddef.h>

/*
 * The request head of an HTTP/1.x client (RFC 9112 §2-3), as far as
 * ketch-stats -l needs it: is it a complete head, and does its request
 * line ask for GET (or HEAD) /metrics. Header fields are not read (no
 * body is ever accepted: a GET has none that we care for, and the
 * connection is closed after the answer). Total and bounded: any octets
 * give one of the answers below, looking at no more than
 * HTTPREQ_MAX of them; a head that does not end within them is refused
 * (431, RFC 6585 §5).
 *
 * A line ends with CRLF; a bare LF is taken for one as well (RFC 9112
 * §2.2 allows it of a recipient), so the head ends at the first empty
 * line. The request line is method SP request-target SP HTTP-version,
 * single spaces (§3), the version "HTTP/1." and one digit; an
 * origin-form target (§3.2.1), its query ignored.
 */

#define HTTPREQ_MAX 4096

enum httpreq_status
{
  HTTPREQ_MORE,        /* no end of the head yet: read more */
  HTTPREQ_METRICS,     /* GET or HEAD /metrics: 200 */
  HTTPREQ_NOTFOUND,    /* another target: 404 */
  HTTPREQ_METHOD,      /* a well-formed request with another method: 405 */
  HTTPREQ_BAD,         /* not an HTTP/1.x request: 400 */
  HTTPREQ_TOOLONG      /* no end within HTTPREQ_MAX: 431 */
} ;

/* *head is set to 1 for a well-formed HEAD request (METRICS or NOTFOUND: the answer without its body), else 0 */
extern enum httpreq_status httpreq_parse (char const *s, size_t len, int *head) ;

#endif
