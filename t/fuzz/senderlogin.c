/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/senderlogin: the input as a message whose
 * From fields are kept as it streams by (in pieces of 1 and 7 octets,
 * which must give the same value), each address of them taken out, and
 * the input as the map, asked for a login and an address of its own.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "senderlogin.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static void feed (senderlogin_from *f, char const *s, size_t len, size_t step)
{
  size_t i = 0 ;
  senderlogin_from_reset(f) ;
  for (; i < len ; i += step)
    if (!senderlogin_from_feed(f, s + i, len - i < step ? len - i : step)) abort() ;
  if (f->value.len > SENDERLOGIN_FROM_MAX) abort() ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static senderlogin_from a = SENDERLOGIN_FROM_ZERO, b = SENDERLOGIN_FROM_ZERO ;
  char const *s = (char const *)data ;
  char addr[SENDERLOGIN_ADDR_MAX + 1] ;
  stralloc owners = STRALLOC_ZERO ;
  size_t pos = 0 ;
  unsigned int n = 0 ;
  int r ;
  feed(&a, s, size, 1) ;
  feed(&b, s, size, 7) ;
  if (a.over != b.over || a.count != b.count || a.value.len != b.value.len || (a.value.len && memcmp(a.value.s, b.value.s, a.value.len))) abort() ;
  while ((r = senderlogin_from_next(a.value.s, a.value.len, &pos, addr)) > 0)
  {
    size_t k = strlen(addr) ;
    if (!k || k > SENDERLOGIN_ADDR_MAX) abort() ;
    if (++n > a.value.len) abort() ;
  }
  senderlogin_from_allowed(&a, s, size, "alice", 5) ;
  {
    /* the map's first two words: the login may use that entry's address */
    size_t i = 0, l, w ;
    while (i < size && data[i] != ' ' && data[i] != '\n' && data[i] != '\t' && data[i] != ',' && data[i] != '\r') i++ ;
    l = i ;
    while (i < size && data[i] == ' ') i++ ;
    w = i ;
    while (i < size && data[i] != ' ' && data[i] != '\n' && data[i] != '\t' && data[i] != ',' && data[i] != '\r') i++ ;
    /* an address entry covers itself (an @domain entry holding another @ covers nothing) */
    if (l && i > w && data[0] != '#' && data[w] != '@' && !senderlogin_allowed(s, size, s, l, s + w, i - w)) abort() ;
    if (!senderlogin_owners(s, size, s + w, i - w, &owners)) abort() ;
  }
  stralloc_free(&owners) ;
  return 0 ;
}
