/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <time.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "exitcodes.h"
#include "dkimkey.h"
#include "dkimsign.h"

size_t dkimsign_reserve (conf const *c)
{
  size_t n = genalloc_len(conf_dkim, &c->dkim), i = 0, best = 0 ;
  conf_dkim const *d = genalloc_s(conf_dkim, &c->dkim) ;
  for (; i < n ; i++)
  {
    /* every key of i's domain signs the same message */
    size_t j = 0, sum = 0 ;
    char const *dom = c->sa.s + d[i].domain ;
    for (; j < n ; j++)
      if (!strcmp(c->sa.s + d[j].domain, dom))
        sum += dkim_reserve(strlen(dom), strlen(c->sa.s + d[j].selector), d[j].alg == CONF_DKIM_ED25519 ? DKIMKEY_ED25519 : DKIMKEY_RSA) ;
    if (sum > best) best = sum ;
  }
  return best ? best + 5 : 0 ;
}

int dkimsign_room (size_t len, char const *sig, size_t siglen, stralloc *out)
{
  size_t p ;
  if (len < siglen + 5) return (errno = EINVAL, 0) ;
  p = len - 1 - siglen ;
  while (p)
  {
    /* lines of 4 to DKIMSIGN_PAD_LINE octets, so that the last is never shorter than "pad\n" */
    size_t line = p <= DKIMSIGN_PAD_LINE ? p : p - DKIMSIGN_PAD_LINE >= 4 ? DKIMSIGN_PAD_LINE : p - 4 ;
    if (!stralloc_readyplus(out, line) || !stralloc_cats(out, "pad")) return 0 ;
    memset(out->s + out->len, ' ', line - 4) ;
    out->len += line - 4 ;
    if (!stralloc_catb(out, "\n", 1)) return 0 ;
    p -= line ;
  }
  return stralloc_catb(out, "\n", 1) && stralloc_catb(out, sig, siglen) ;
}

/* err = "a b c d e: f g h" from the words given, the last ones optional; returns KETCH_EX_TEMP */
static int failw (stralloc *err, char const *const *w, unsigned int n)
{
  unsigned int i = 0 ;
  err->len = 0 ;
  for (; i < n ; i++) if (w[i] && !stralloc_cats(err, w[i])) { err->len = 0 ; return KETCH_EX_TEMP ; }
  if (!stralloc_0(err)) err->len = 0 ;
  return KETCH_EX_TEMP ;
}

int dkimsign_sign (dkim *d, conf const *c, int fd, uint64_t base, stralloc *out, stralloc *err)
{
  char domain[DKIM_DOMAIN_MAX + 1] ;
  unsigned char bh[32] ;
  conf_dkim const *cd ;
  size_t i = 0, start = out->len ;
  uint64_t now = (uint64_t)time(0) ;
  int r ;
  dkim_end(d, bh) ;
  r = dkim_from(d, fd, base, domain) ;
  if (r < 0)
  {
    char const *w[2] = { "unable to read the message back for DKIM: ", strerror(errno) } ;
    return failw(err, w, 2) ;
  }
  if (!r) return 0 ;
  while ((cd = conf_dkim_next(c, domain, &i)))
  {
    dkimkey k = DKIMKEY_ZERO ;
    char const *file = c->sa.s + cd->key ;
    char const *dom = c->sa.s + cd->domain, *sel = c->sa.s + cd->selector ;
    int kr = dkimkey_load(&k, file) ;
    char const *why = kr ? dkimkey_strerror(kr) : 0 ;
    if (!why && cd->alg != CONF_DKIM_ANY && (int)cd->alg != k.type) why = "not a key of the line's algorithm" ;
    if (!why && !dkim_sign(d, &k, dom, sel, now, bh, fd, base, out)) why = strerror(errno) ;
    dkimkey_free(&k) ;
    if (why)
    {
      char const *w[8] = { "unable to sign with DKIM key ", file, " for d=", dom, " s=", sel, ": ", why } ;
      out->len = start ;
      return failw(err, w, 8) ;
    }
  }
  return 0 ;
}
