/* ISC license: see LICENSE. */

#include <skalibs/stralloc.h>

#include "smtpdata.h"

int smtpdata_encode (char const *s, size_t len, stralloc *wire, uint64_t *size, int *has8bit)
{
  size_t i = 0, start = wire->len, stuffed = 0 ;
  int bol = 1, eightbit = 0 ;
  /* one allocation for the common case: a CR per line, a few dots */
  if (!stralloc_readyplus(wire, len + len / 16 + 8)) return 0 ;
  while (i < len)
  {
    /* copy the run of ordinary octets up to the next LF or CR in one go */
    size_t j = i ;
    if (bol && s[i] == '.')
    {
      if (!stralloc_catb(wire, ".", 1)) return 0 ;
      stuffed++ ;
    }
    bol = 0 ;
    while (j < len && s[j] != '\n' && s[j] != '\r')
    {
      if ((unsigned char)s[j] >= 128) eightbit = 1 ;
      j++ ;
    }
    if (!stralloc_catb(wire, s + i, j - i)) return 0 ;
    if (j == len) { i = j ; break ; }
    if (s[j] == '\n' || (j + 1 < len && s[j+1] == '\n'))
    {
      if (!stralloc_catb(wire, "\r\n", 2)) return 0 ;
      i = j + (s[j] == '\n' ? 1 : 2) ;
      bol = 1 ;
    }
    else
    {
      if (!stralloc_catb(wire, " ", 1)) return 0 ;
      i = j + 1 ;
    }
  }
  if (!bol && !stralloc_catb(wire, "\r\n", 2)) return 0 ;
  *size = wire->len - start - stuffed ;
  if (!stralloc_catb(wire, ".\r\n", 3)) return 0 ;
  if (eightbit) *has8bit = 1 ;
  return 1 ;
}
