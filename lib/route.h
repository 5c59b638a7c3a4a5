/* ISC license: see LICENSE. */

#ifndef KETCH_ROUTE_H
#define KETCH_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/ip46.h>

#include "conf.h"
#include "dns.h"
#include "tlsa.h"
#include "stspolicy.h"

/*
 * Where mail for a destination domain goes: the ordered list of hops
 * remote-send tries, and the outcomes that stop it before any
 * connection. remote-send delivers by it and ketch-route prints it, so
 * the dry run cannot drift from the real thing.
 *
 * The choice, in order:
 *  - a relay-domain's via host: one hop, opportunistic TLS, resolved as
 *    a route's; a relay-domain without via takes its route line if it
 *    has one, else its MX records, never the smarthost;
 *  - a "route" for the domain, else a "smarthost": one hop, its own port,
 *    TLS policy and credentials file; its host is resolved with
 *    getaddrinfo first (it may live in /etc/hosts), then the DNS.
 *  - an address literal "[1.2.3.4]", "[IPv6:...]" (RFC 5321 §4.1.3): one
 *    hop, no MX; a malformed one is ROUTE_BADLITERAL.
 *  - the MX records (RFC 5321 §5.1), sorted; NODATA: the domain is its
 *    own exchanger (implicit MX); NXDOMAIN and "MX 0 ." (RFC 7505) stop.
 *    If this host (the hostname) is an exchanger, it and every worse
 *    exchanger are kept with self set and are not tried; when no better
 *    one is left the outcome is ROUTE_LOOP. Only the ROUTE_MX_MAX best
 *    exchangers are kept: a hostile answer with thousands of names must
 *    not cost thousands of address lookups per attempt.
 *
 * The TLS policy of a hop: a route's or smarthost's own (its tls word);
 * else, for the MX hosts (and the implicit MX), the domain's tls-policy
 * rule if any, else outbound-tls with DANE where it applies (RFC 7672:
 * on by default, so an attacker cannot strip TLS from a domain that
 * publishes TLSA records). Where DANE applies is known only at
 * connection time, once the host's addresses are looked up:
 * route_tls_decide then makes the TLSA lookup and says the policy of
 * the session. It is the one place that decides; remote-send follows it
 * and ketch-route prints it. MTA-STS (RFC 8461) is the step after it,
 * route_sts_apply, with the domain's policy (lib/stscache): DANE takes
 * precedence where both exist (RFC 8461 §2), and a tls-policy rule for
 * the domain overrides both.
 */

/*
 * 10 exchangers, each with an IPv4 and an IPv6 address, fill remote-send's
 * 20 address tries; more names cannot be tried. (Postfix stops sooner
 * still: smtp_mx_address_limit 5, smtp_mx_session_limit 2.)
 */
#define ROUTE_MX_MAX 10

#define ROUTE_OK 0          /* hops to try */
#define ROUTE_TEMP 1        /* temporary DNS failure: 451 4.4.3 */
#define ROUTE_NXDOMAIN 2    /* the domain does not exist: 550 5.1.2 */
#define ROUTE_NULLMX 3      /* RFC 7505: 556 5.1.10 */
#define ROUTE_LOOP 4        /* no exchanger better than this host: 554 5.4.6 */
#define ROUTE_BADLITERAL 5  /* 553 5.1.2 */

#define ROUTE_K_ROUTE 0     /* a route for the domain */
#define ROUTE_K_SMARTHOST 1 /* the smarthost */
#define ROUTE_K_LITERAL 2   /* an address literal */
#define ROUTE_K_MX 3        /* the MX records (hops empty until route_mx) */
#define ROUTE_K_IMPLICIT 4  /* no MX records: the domain itself */

typedef struct route_hop_s route_hop, *route_hop_ref ;
struct route_hop_s
{
  size_t host ;       /* offset in sa, NUL-terminated */
  uint16_t port ;
  uint16_t pref ;     /* MX preference; 0 otherwise */
  unsigned int tls ;  /* CONF_TLS_* */
  size_t auth ;       /* offset in sa of the credentials file, or 0 */
  int gai ;           /* resolve with getaddrinfo before the DNS */
  int self ;          /* this host or a worse exchanger: not tried */
  unsigned int dane ; /* ROUTE_DANE_* */
  int sts ;           /* the domain's MTA-STS policy applies (an MX host, no tls-policy rule) */
} ;

#define ROUTE_DANE_OFF 0    /* no TLSA lookup: tls is the session's policy */
#define ROUTE_DANE_MAY 1    /* DANE where it applies, else tls (RFC 7672 opportunistic DANE) */
#define ROUTE_DANE_ONLY 2   /* DANE, or the host is deferred (tls-policy dane-only) */

typedef struct route_s route, *route_ref ;
struct route_s
{
  stralloc sa ;       /* starts with a NUL: offset 0 = none */
  genalloc hops ;     /* route_hop */
  unsigned int kind ; /* ROUTE_K_* */
  int result ;        /* ROUTE_* */
  int mxsecure ;      /* the MX answer (records, or NODATA for the implicit MX) was DNSSEC-validated */
} ;
#define ROUTE_ZERO { .sa = STRALLOC_ZERO, .hops = GENALLOC_ZERO, .kind = ROUTE_K_MX, .result = ROUTE_OK, .mxsecure = 0 }

#define route_str(r, off) ((off) ? (r)->sa.s + (off) : (char const *)0)
#define route_hops(r) genalloc_s(route_hop, &(r)->hops)
#define route_nhops(r) genalloc_len(route_hop, &(r)->hops)

/* route, smarthost or literal, without the DNS; kind ROUTE_K_MX: call route_mx. 1, or 0 and errno */
extern int route_static (route *, conf const *, char const *) ;

/* the MX records of the domain (dns_init first). 1, or 0 and errno (ENOMEM) */
extern int route_mx (route *, conf const *, char const *) ;

/* route_static, then route_mx when needed */
extern int route_plan (route *, conf const *, char const *) ;

/* the MX part without a resolver: dnsr the DNS_* of the MX lookup, mx and names its answer (sorted here) */
extern int route_from_mx (route *, conf const *, char const *, int, dns_mx *, size_t, char const *) ;

/* the addresses of a hop's host, appended to genalloc (dns_ip): a literal, else getaddrinfo (gai), else the DNS. DNS_*;
   *secure: the DNS answered them, DNSSEC-validated (dns_secure) */
extern int route_addresses (char const *, int, genalloc *, int *) ;

/* is ip:port one of our own listeners (a wildcard listener counts for the loopback addresses)? */
extern int route_is_myself (conf const *, ip46 const *, uint16_t) ;

extern void route_free (route *) ;

/* the policy of one session with a hop's host (route_tls_decide) */
typedef struct route_tls_s route_tls, *route_tls_ref ;
struct route_tls_s
{
  unsigned int tls ;  /* CONF_TLS_*: CONF_TLS_DANE when tlsa's usable records authenticate the server */
  int temp ;          /* no session: the host is deferred (DANE required, or the TLSA lookup failed) */
  int lookupfail ;    /* temp because the TLSA lookup failed (TLS-RPT's dnssec-invalid, not dane-required) */
  char const *why ;   /* why this policy, or why deferred: a constant string */
  tlsa_set tlsa ;     /* the host's TLSA records, when looked up */
  unsigned int sts ;  /* the MTA-STS mode that applied (STSPOLICY_*; NONE: none did) */
  int stsmatch ;      /* the mx pattern the host matched, or -1 */
} ;
#define ROUTE_TLS_ZERO { .tls = CONF_TLS_OPPORTUNISTIC, .temp = 0, .lookupfail = 0, .why = "", .tlsa = TLSA_SET_ZERO, .sts = STSPOLICY_NONE, .stsmatch = -1 }

/*
 * The policy of a session with a hop's host, whose addresses were just
 * looked up (addrsecure: dns_secure() of that lookup; 0 for a literal or
 * getaddrinfo). TLSA records are looked up, at _PORT._tcp.HOST, only
 * when the MX answer and the host's addresses are validated. RFC 7672
 * §2.2.3 requires the addresses to be; for an MX RRset that is not,
 * §2.2.1 allows DANE (MAY: a hosted domain unsigned, its provider's MX
 * hosts signed) but gains nothing against an attacker who can forge the
 * MX answer and pick a host without TLSA records: we do not, so an
 * unsigned domain costs no TLSA queries (the rule). A failed
 * lookup (SERVFAIL: bogus, or unreachable) defers the host; a validated
 * RRset with usable records makes the session DANE; a validated RRset
 * without any makes TLS mandatory without authentication (§2.2); an
 * unvalidated or empty answer leaves the hop's own policy. 1, or 0 (ENOMEM).
 */
extern int route_tls_decide (route const *, route_hop const *, int, route_tls *) ;
extern void route_tls_free (route_tls *) ;

/*
 * MTA-STS (RFC 8461 §4.1, §5) on a session's policy decided by
 * route_tls_decide, with the domain's policy p and its text (0: the
 * domain has none). Only for a hop whose h->sts says the policy applies,
 * and not when DANE decided (§2: DANE first, a deferral included). In
 * enforce mode, a host matching a pattern gets verify (PKIX, the name of
 * the MX host), one matching none is deferred; testing changes nothing
 * (the caller logs what enforce would do: t->sts, t->stsmatch).
 */
extern void route_sts_apply (route const *, route_hop const *, stspolicy const *, char const *, route_tls *) ;

#endif
