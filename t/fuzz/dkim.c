/* ISC license: see LICENSE. */
/* libFuzzer: what the DKIM signer reads from a message (lib/dkim): the
   header fields it keeps and the body it hashes, fed in two pieces; the
   From domain; the canonical forms. */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "address.h"
#include "dkim.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  char dom[DKIM_DOMAIN_MAX + 1] ;
  unsigned char bh[32] ;
  stralloc sa = STRALLOC_ZERO ;
  dkim d ;
  size_t cut = size ? data[0] % (size + 1) : 0 ;
  unsigned int i = 0, j ;
  dkim_init(&d) ;
  dkim_feed(&d, s, cut) ;
  dkim_feed(&d, s + cut, size - cut) ;
  dkim_end(&d, bh) ;
  /* every field kept lies inside the message */
  for (; i < DKIM_NAMES ; i++)
    for (j = 0 ; j < DKIM_PER_NAME && j < d.count[i] ; j++)
      if (d.ring[i][j].off + d.ring[i][j].len > size || !d.ring[i][j].len) abort() ;
  if (d.pos != size) abort() ;
  if (dkim_from_domain(s, size, dom))
  {
    /* a domain found is a host name, lower case */
    size_t n = strlen(dom) ;
    if (!n || n > DKIM_DOMAIN_MAX || !address_domain_valid(dom, n, 0)) abort() ;
    for (i = 0 ; i < n ; i++) if (dom[i] >= 'A' && dom[i] <= 'Z') abort() ;
  }
  if (!dkim_canon_header(s, size, &sa)) abort() ;
  /* a canonical header field ends with its CRLF and holds no other line end */
  if (sa.len < 2 || memcmp(sa.s + sa.len - 2, "\r\n", 2) || memchr(sa.s, '\n', sa.len - 1)) abort() ;
  sa.len = 0 ;
  if (!dkim_canon_body(s, size, &sa)) abort() ;
  /* a canonical body is empty or ends with one CRLF, never with an empty line */
  if (sa.len && (sa.len < 2 || memcmp(sa.s + sa.len - 2, "\r\n", 2) || (sa.len >= 4 && !memcmp(sa.s + sa.len - 4, "\r\n\r\n", 4)))) abort() ;
  stralloc_free(&sa) ;
  return 0 ;
}
