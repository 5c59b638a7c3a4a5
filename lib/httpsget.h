/* ISC license: see LICENSE. */

#ifndef KETCH_HTTPSGET_H
#define KETCH_HTTPSGET_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "tlsclient.h"

/*
 * One HTTPS GET, as MTA-STS fetches its policy (RFC 8461 §3.3): HTTP/1.1
 * over TLS whose certificate must chain to the anchors and name the host
 * (PKIX, RFC 6125, through lib/tlsclient's verify mode), "Connection:
 * close", one request. Only a 200 with a text/plain body is taken: a
 * redirect is a failure (§3.3: senders MUST NOT follow redirects), so is
 * any other status. The body is bounded (max bytes: more is a failure,
 * never a truncated policy), and so is the whole exchange: everything,
 * connection included, ends by *deadline, so a server that drips a byte
 * a second costs that time at most. A body ends at its Content-Length;
 * without one, only at a TLS close_notify (a bare TCP close could be a
 * truncation). Chunked transfer coding is not taken (a policy is a small
 * static file; servers send it with a length).
 *
 * httpsget_response is the parser of what came back, apart for the
 * fuzzer: bounded and total over any bytes.
 */

/* 1 with the body in *body (appended), or 0 with *why (a constant; errno ENOMEM for memory); no anchors (0): nothing verifies */
extern int httpsget (ip46 const *, uint16_t, char const *, char const *, tlsclient_anchors const *, size_t, tain const *, stralloc *, char const **) ;

/*
 * The response in s, len bytes read so far (eof: the stream ended
 * cleanly). 1: complete, the body at *off, *blen bytes; 0: need more;
 * -1: refused, *why.
 */
extern int httpsget_response (char const *, size_t, int, size_t *, size_t *, char const **) ;

#endif
