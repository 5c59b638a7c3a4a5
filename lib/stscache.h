/* ISC license: see LICENSE. */

#ifndef KETCH_STSCACHE_H
#define KETCH_STSCACHE_H

#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "stspolicy.h"
#include "tlsclient.h"

/*
 * The MTA-STS policy of a destination domain (RFC 8461), as remote-send
 * applies it: looked up, fetched, cached, refreshed.
 *
 * The cache is one file per domain, sts/DOMAIN in the spool (its cwd;
 * spool-layout/SPOOL), written whole to sts/.DOMAIN.PID, fsynced and
 * renamed over: a reader sees the old policy or the new one. It holds
 * the TXT record's id, the fetch time, max_age and the policy text
 * itself, which is parsed again on every read (the file is ours, but a
 * parse is cheap and a damaged file is then just no cache).
 *
 * stscache_get follows §5.1: the _mta-sts TXT record is looked up; with
 * a valid record whose id is the cached one and an unexpired cache, the
 * cache is the policy; otherwise the policy is fetched (lib/httpsget,
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt, PKIX against the
 * anchors, at most STSCACHE_BODY_MAX bytes, by the deadline) and, parsed,
 * cached. A failed fetch, a missing or bad TXT record, or a DNS failure
 * keep the unexpired cached policy (§5.1: an attacker who blocks the
 * refresh must not strip the policy); without one, there is no policy.
 * So the domain has a policy (1) or none (0); the other fields say why,
 * for the log.
 */

#define STSCACHE_BODY_MAX 65536
#define STSCACHE_DIR "sts"

typedef struct stscache_s stscache, *stscache_ref ;
struct stscache_s
{
  stralloc sa ;          /* the cache file, or the fetched text */
  size_t text ;          /* the policy text: offset in sa */
  size_t textlen ;
  char id[33] ;          /* the TXT id of the policy (§3.1: 1 to 32 letters and digits) */
  uint64_t fetched ;     /* when it was fetched, seconds since the epoch */
  stspolicy pol ;
  char const *source ;   /* "cache", "fetched", or why there is no policy (constants) */
  char const *fetchfail ; /* why a fetch failed, 0 if none was tried or it worked */
} ;
#define STSCACHE_ZERO { .sa = STRALLOC_ZERO, .text = 0, .textlen = 0, .id = "", .fetched = 0, .source = "", .fetchfail = 0 }

/* the text of the policy, for stspolicy_match */
#define stscache_text(c) ((c)->sa.s + (c)->text)

/* the cached policy of domain: 1; 0 and errno (ENOENT: none; EINVAL: unreadable as a cache) */
extern int stscache_read (char const *, stscache *) ;
/* the same from another directory than the spool's sts/ (ketch-route: SPOOL/sts) */
extern int stscache_read_in (char const *, char const *, stscache *) ;
/* the cache file of domain; 1, or 0 and errno */
extern int stscache_write (char const *, char const *, uint64_t, char const *, size_t) ;
/* unexpired at now */
extern int stscache_fresh (stscache const *, uint64_t) ;

/*
 * The policy of domain at now: 1 (c->pol), 0 none, -1 out of memory.
 * port: the HTTPS port (443, RFC 8461 §3.3; another for tests); anchors:
 * the PKIX trust anchors; deadline: the end of the fetch, connection
 * included.
 */
extern int stscache_get (char const *, uint16_t, tlsclient_anchors const *, uint64_t, tain const *, stscache *) ;

extern void stscache_free (stscache *) ;

#endif
