/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/bytestr.h>

#include "address.h"
#include "conf.h"
#include "lookup.h"
#include "relaydom.h"

enum relaydom_e relaydom_rcpt (conf const *c, char const *rcpt)
{
  size_t len = strlen(rcpt), at = byte_rchr(rcpt, len, '@') ;
  conf_relaydomain const *d = at < len ? conf_relaydomain_find(c, rcpt + at + 1) : 0 ;
  if (!d) return RELAYDOM_NONE ;
  if (d->check == CONF_RELAY_CHECK_VERIFY) return RELAYDOM_VERIFY ;
  if (d->check != CONF_RELAY_CHECK_LIST) return RELAYDOM_OK ;
  if (len > ADDRESS_MAX) return RELAYDOM_UNKNOWN ;
  {
    /* the list's keys are lower case (lib/tables) */
    char key[len + 1] ;
    size_t plus ;
    int r ;
    memcpy(key, rcpt, len + 1) ;
    case_lowerb(key, len) ;
    r = lookup_cdb(c->sa.s + d->list, key, len, 0, 0, 0) ;
    plus = byte_chr(key, at, '+') ;
    if (!r && plus < at)
    {
      /* user+ext@domain: user@domain */
      memmove(key + plus, key + at, len - at + 1) ;
      r = lookup_cdb(c->sa.s + d->list, key, plus + len - at, 0, 0, 0) ;
    }
    return r < 0 ? RELAYDOM_TEMP : r ? RELAYDOM_OK : RELAYDOM_UNKNOWN ;
  }
}
