/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <crypt.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "authtable.h"

/* a comparison whose time does not depend on where the strings differ */
static int same (char const *a, char const *b, size_t n)
{
  unsigned char d = 0 ;
  size_t i = 0 ;
  for (; i < n ; i++) d |= (unsigned char)(a[i] ^ b[i]) ;
  return !d ;
}

int authtable_check (char const *file, char const *user, size_t ulen, char const *pass, size_t plen)
{
  stralloc sa = STRALLOC_ZERO ;
  char pw[1025] ;
  size_t i = 0 ;
  int r = 0 ;
  if (!ulen || plen >= sizeof(pw) || memchr(user, ':', ulen) || memchr(user, '\n', ulen) || memchr(pass, 0, plen)) return 0 ;
  if (!openslurpclose(&sa, file)) return -1 ;
  memcpy(pw, pass, plen) ; pw[plen] = 0 ;
  while (i < sa.len)
  {
    char *line = sa.s + i ;
    char *nl = memchr(line, '\n', sa.len - i) ;
    size_t len = nl ? (size_t)(nl - line) : sa.len - i ;
    i += len + 1 ;
    if (len && line[len-1] == '\r') len-- ;
    if (!len || line[0] == '#') continue ;
    if (len > ulen && line[ulen] == ':' && !memcmp(line, user, ulen))
    {
      char hash[512] ;
      size_t hlen = len - ulen - 1 ;
      char const *h ;
      if (hlen >= sizeof(hash) || !hlen) break ;
      memcpy(hash, line + ulen + 1, hlen) ; hash[hlen] = 0 ;
      /* "*" or "!" locks an account: crypt never produces them */
      if (hash[0] == '*' || hash[0] == '!') break ;
      h = crypt(pw, hash) ;
      if (h && h[0] != '*' && strlen(h) == hlen && same(h, hash, hlen)) r = 1 ;
      break ;
    }
  }
  byte_zzero(pw, sizeof(pw)) ;
  stralloc_free(&sa) ;
  return r ;
}
