/* ISC license: see LICENSE. */
/* libFuzzer: DKIM key files (lib/dkimkey): PEM, DER inside it. */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#include "dkimkey.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  dkimkey k = DKIMKEY_ZERO ;
  int r = dkimkey_parse(&k, (char const *)data, size) ;
  if (r < 0 || r >= DKIMKEY_NRESULTS) abort() ;
  if (r == DKIMKEY_OK)
  {
    stralloc sa = STRALLOC_ZERO ;
    /* a key taken is one of ours, and its public half can be published */
    if (k.type == DKIMKEY_RSA && (k.bits < DKIMKEY_RSA_MIN || k.bits > DKIMKEY_RSA_MAX)) abort() ;
    if (k.type != DKIMKEY_RSA && k.type != DKIMKEY_ED25519) abort() ;
    if (!dkimkey_txt(&k, &sa)) abort() ;
    stralloc_free(&sa) ;
  }
  dkimkey_free(&k) ;
  return 0 ;
}
