/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for the request a client sends enqueue-listen
 * (lib/enqclient.h): the payload of its netstring, either form, as
 * enqclient_request_parse reads it for the worker. Whatever parses has
 * its strings inside the input, NUL-terminated there, the recipients
 * ending at its end; and a request built again from what was read
 * (enqclient_request_encode) parses to the same, flags and reason
 * included. Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "netstr.h"
#include "enqclient.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static int inside (char const *p, char const *s, size_t len)
{
  return p >= s && p < s + len && memchr(p, 0, s + len - p) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  enqclient_req r, b ;
  stralloc sa = STRALLOC_ZERO ;
  size_t start, len, used ;
  if (!enqclient_request_parse(&r, s, size)) return 0 ;
  if (!inside(r.sender, s, size) || (r.auth && (!inside(r.auth, s, size) || !*r.auth)) || (r.reason && (!inside(r.reason, s, size) || !*r.reason))) abort() ;
  if (!r.rlen || r.rcpts < s || r.rcpts + r.rlen != s + size || r.rcpts[r.rlen - 1]) abort() ;
  /* the options field is sent only with flags (or a sender that would look like them): a reason without the hold is not sent */
  if (!enqclient_request_encode(&sa, &r)) return 0 ;
  if (netstr_next(sa.s, sa.len, ENQCLIENT_REQUEST_MAX, &start, &len, &used) != 1 || used != sa.len) abort() ;
  if (!enqclient_request_parse(&b, sa.s + start, len)) abort() ;
  if (b.flags != r.flags || strcmp(b.sender, r.sender) || !b.auth != !r.auth || (b.auth && strcmp(b.auth, r.auth))) abort() ;
  if (b.rlen != r.rlen || memcmp(b.rcpts, r.rcpts, r.rlen)) abort() ;
  if (r.flags & ENQCLIENT_F_HOLD ? (!b.reason != !r.reason || (b.reason && strcmp(b.reason, r.reason))) : !!b.reason) abort() ;
  stralloc_free(&sa) ;
  return 0 ;
}
