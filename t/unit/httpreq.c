/* ISC license: see LICENSE. */

/* Unit test of lib/httpreq: the request line of GET /metrics, and every way a head can be refused. */

#include <string.h>

#include "httpreq.h"
#include "tap.h"

static enum httpreq_status p (char const *s, int *head)
{
  return httpreq_parse(s, strlen(s), head) ;
}

int main (void)
{
  int head = 7 ;
  char big[HTTPREQ_MAX + 10] ;
  tap_plan(14) ;
  ok(p("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", &head) == HTTPREQ_METRICS && !head, "GET /metrics with header fields") ;
  ok(p("HEAD /metrics HTTP/1.0\r\n\r\n", &head) == HTTPREQ_METRICS && head, "HEAD: the same, without a body") ;
  ok(p("GET /metrics?x=1 HTTP/1.1\n\n", &head) == HTTPREQ_METRICS, "bare LF line ends (RFC 9112 §2.2), a query ignored") ;
  ok(p("GET /metrics HTTP/1.1\r\nHost: x\r\n", &head) == HTTPREQ_MORE, "no empty line yet: more") ;
  ok(p("GET /metr", &head) == HTTPREQ_MORE, "a partial request line: more") ;
  ok(p("GET / HTTP/1.1\r\n\r\n", &head) == HTTPREQ_NOTFOUND, "another target: 404") ;
  ok(p("GET /metricsx HTTP/1.1\r\n\r\n", &head) == HTTPREQ_NOTFOUND, "a longer target: 404") ;
  ok(p("POST /metrics HTTP/1.1\r\n\r\n", &head) == HTTPREQ_METHOD, "another method: 405") ;
  ok(p("GET  /metrics HTTP/1.1\r\n\r\n", &head) == HTTPREQ_BAD, "two spaces: 400") ;
  ok(p("GET /metrics HTTP/2.0\r\n\r\n", &head) == HTTPREQ_BAD && p("GET /metrics\r\n\r\n", &head) == HTTPREQ_BAD, "not HTTP/1.x, or HTTP/0.9's line: 400") ;
  ok(p("GET http://x/metrics HTTP/1.1\r\n\r\n", &head) == HTTPREQ_BAD, "absolute form: 400") ;
  ok(p("G\001T /metrics HTTP/1.1\r\n\r\n", &head) == HTTPREQ_BAD && p("\r\n\r\n", &head) == HTTPREQ_BAD, "a control octet in the method, an empty request line: 400") ;
  memset(big, 'a', sizeof(big)) ;
  ok(httpreq_parse(big, sizeof(big), &head) == HTTPREQ_TOOLONG && httpreq_parse(big, HTTPREQ_MAX - 1, &head) == HTTPREQ_MORE, "no end within HTTPREQ_MAX: 431; one octet short of it: more") ;
  memcpy(big + HTTPREQ_MAX - 4, "\r\n\r\n", 4) ;
  memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26) ;
  ok(httpreq_parse(big, sizeof(big), &head) == HTTPREQ_METRICS, "a head that ends at HTTPREQ_MAX exactly") ;
  return tap_done() ;
}
