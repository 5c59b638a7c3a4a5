/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/cdb.h>

#include "address.h"
#include "conf.h"
#include "relaydom.h"

/* key in file.cdb: 1 found, 0 absent (or no cdb: an empty list), -1 error */
static int listed (char const *file, char const *key, size_t klen)
{
  size_t n = strlen(file) ;
  char fn[n + 5] ;
  cdb c = CDB_ZERO ;
  cdb_data d ;
  int r ;
  memcpy(fn, file, n) ;
  memcpy(fn + n, ".cdb", 5) ;
  /* opened for each lookup, as lib/lookup's tables: newaliases renames a new one in */
  if (!cdb_init(&c, fn)) return errno == ENOENT ? 0 : -1 ;
  r = cdb_find(&c, &d, key, klen) ;
  cdb_free(&c) ;
  return r ;
}

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
    r = listed(c->sa.s + d->list, key, len) ;
    plus = byte_chr(key, at, '+') ;
    if (!r && plus < at)
    {
      /* user+ext@domain: user@domain */
      memmove(key + plus, key + at, len - at + 1) ;
      r = listed(c->sa.s + d->list, key, plus + len - at) ;
    }
    return r < 0 ? RELAYDOM_TEMP : r ? RELAYDOM_OK : RELAYDOM_UNKNOWN ;
  }
}
