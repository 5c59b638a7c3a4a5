/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/ip46.h>

#include "conf.h"
#include "dns.h"
#include "route.h"

static int reset (route *r)
{
  r->sa.len = 0 ;
  genalloc_setlen(route_hop, &r->hops, 0) ;
  r->result = ROUTE_OK ;
  r->mxsecure = 0 ;
  return stralloc_catb(&r->sa, "", 1) ;
}

static size_t str_add (route *r, char const *s, size_t len)
{
  size_t off = r->sa.len ;
  if (!stralloc_catb(&r->sa, s, len) || !stralloc_0(&r->sa)) return 0 ;
  return off ;
}

static int hop_add (route *r, char const *host, size_t len, uint16_t port, uint16_t pref, unsigned int tls, char const *auth, int gai)
{
  route_hop h = { .host = 0, .port = port, .pref = pref, .tls = tls, .auth = 0, .gai = gai, .self = 0, .dane = ROUTE_DANE_OFF, .sts = 0 } ;
  h.host = str_add(r, host, len) ;
  if (!h.host) return 0 ;
  if (auth && !(h.auth = str_add(r, auth, strlen(auth)))) return 0 ;
  return genalloc_append(route_hop, &r->hops, &h) ;
}

int route_static (route *r, conf const *cf, char const *domain)
{
  conf_route const *cr = conf_route_find(cf, domain) ;
  conf_relaydomain const *rd = conf_relaydomain_find(cf, domain) ;
  if (!reset(r)) return 0 ;
  if (rd && rd->host)
  {
    /* relay-domain ... via: the one next hop, as a route without its options */
    char const *host = conf_str(cf, rd->host) ;
    r->kind = ROUTE_K_ROUTE ;
    return hop_add(r, host, strlen(host), rd->port, 0, CONF_TLS_OPPORTUNISTIC, 0, 1) ;
  }
  /* a relay domain goes to its own MX hosts, never to the smarthost */
  if (rd && cr && !cr->domain) cr = 0 ;
  if (cr)
  {
    char const *host = conf_str(cf, cr->host) ;
    r->kind = cr->domain ? ROUTE_K_ROUTE : ROUTE_K_SMARTHOST ;
    return hop_add(r, host, strlen(host), cr->port, 0, cr->tls, conf_str(cf, cr->auth), 1) ;
  }
  if (domain[0] == '[')
  {
    /* an address literal (RFC 5321 §4.1.3): no MX */
    size_t n = strlen(domain) ;
    char const *a = domain + 1 ;
    r->kind = ROUTE_K_LITERAL ;
    if (n < 3 || domain[n-1] != ']' || n - 2 >= IP46_FMT + 8) { r->result = ROUTE_BADLITERAL ; return 1 ; }
    if (!strncasecmp(a, "IPv6:", 5)) a += 5 ;
    return hop_add(r, a, domain + n - 1 - a, cf->remote_port, 0, cf->tls_outbound, 0, 0) ;
  }
  r->kind = ROUTE_K_MX ;
  return 1 ;
}

/* an MX host's policy: the domain's tls-policy, else outbound-tls with DANE where it applies */
static void mx_policy (route *r, conf const *cf, char const *domain)
{
  route_hop *h = genalloc_s(route_hop, &r->hops) + route_nhops(r) - 1 ;
  conf_tlspolicy const *t = conf_tlspolicy_find(cf, domain) ;
  if (!t) { h->tls = cf->tls_outbound ; h->dane = ROUTE_DANE_MAY ; h->sts = cf->mta_sts == CONF_MTASTS_ON ; return ; }
  switch (t->tls)
  {
    case CONF_TLS_DANE : h->tls = CONF_TLS_OPPORTUNISTIC ; h->dane = ROUTE_DANE_MAY ; break ;
    case CONF_TLS_DANE_ONLY : h->tls = CONF_TLS_REQUIRED ; h->dane = ROUTE_DANE_ONLY ; break ;
    default : h->tls = t->tls ; h->dane = ROUTE_DANE_OFF ; break ;
  }
}

int route_from_mx (route *r, conf const *cf, char const *domain, int dnsr, dns_mx *mx, size_t n, char const *names)
{
  char const *me = conf_str(cf, cf->hostname) ;
  unsigned int selfpref = 65536 ;
  size_t i = 0, usable = 0 ;
  if (!reset(r)) return 0 ;
  r->kind = ROUTE_K_MX ;
  switch (dnsr)
  {
    case DNS_TEMP : r->result = ROUTE_TEMP ; return 1 ;
    case DNS_NXDOMAIN : r->result = ROUTE_NXDOMAIN ; return 1 ;
    case DNS_NODATA :
      /* §5.1: no MX, the domain is its own exchanger */
      r->kind = ROUTE_K_IMPLICIT ;
      if (!hop_add(r, domain, strlen(domain), cf->remote_port, 0, cf->tls_outbound, 0, 0)) return 0 ;
      mx_policy(r, cf, domain) ;
      return 1 ;
    default : break ;
  }
  if (dns_mx_isnull(mx, n, names)) { r->result = ROUTE_NULLMX ; return 1 ; }
  dns_mx_sort(mx, n) ;
  /* §5.1: if we are an exchanger, only the better ones are worth trying */
  for (; i < n ; i++)
    if (me && !strcasecmp(names + mx[i].name, me) && mx[i].pref < selfpref) selfpref = mx[i].pref ;
  for (i = 0 ; i < n && route_nhops(r) < ROUTE_MX_MAX ; i++)
  {
    char const *name = names + mx[i].name ;
    if (!*name) continue ;   /* a stray "." beside real exchangers */
    if (!hop_add(r, name, strlen(name), cf->remote_port, mx[i].pref, cf->tls_outbound, 0, 0)) return 0 ;
    mx_policy(r, cf, domain) ;
    if (mx[i].pref >= selfpref) genalloc_s(route_hop, &r->hops)[route_nhops(r) - 1].self = 1 ;
    else usable++ ;
  }
  if (!usable) r->result = ROUTE_LOOP ;
  return 1 ;
}

int route_mx (route *r, conf const *cf, char const *domain)
{
  genalloc mxs = GENALLOC_ZERO ;
  stralloc names = STRALLOC_ZERO ;
  int e, ok ;
  int dnsr = dns_mx_lookup(domain, &mxs, &names) ;
  int secure = dns_secure() ;
  if (!stralloc_0(&names)) { e = errno ; genalloc_free(dns_mx, &mxs) ; errno = e ; return 0 ; }
  ok = route_from_mx(r, cf, domain, dnsr, genalloc_s(dns_mx, &mxs), genalloc_len(dns_mx, &mxs), names.s) ;
  r->mxsecure = secure ;
  e = errno ;
  genalloc_free(dns_mx, &mxs) ;
  stralloc_free(&names) ;
  errno = e ;
  return ok ;
}

int route_plan (route *r, conf const *cf, char const *domain)
{
  if (!route_static(r, cf, domain)) return 0 ;
  return r->kind == ROUTE_K_MX ? route_mx(r, cf, domain) : 1 ;
}

int route_addresses (char const *host, int gai, genalloc *ips, int *secure)
{
  ip46 lit ;
  size_t k = ip46_scan(host, &lit) ;
  int r = DNS_NXDOMAIN ;
  *secure = 0 ;
  if (k && !host[k])
  {
    dns_ip a ;
    memset(&a, 0, sizeof(a)) ;
    memcpy(a.ip, lit.ip, ip46_is6(&lit) ? 16 : 4) ;
    a.is6 = ip46_is6(&lit) ;
    return genalloc_append(dns_ip, ips, &a) ? DNS_OK : DNS_TEMP ;
  }
  if (gai)
  {
    /* a route's host may be in /etc/hosts (nsswitch), which the DNS does not know */
    struct addrinfo hints, *ai = 0, *p ;
    memset(&hints, 0, sizeof(hints)) ;
    hints.ai_socktype = SOCK_STREAM ;
    if (!getaddrinfo(host, 0, &hints, &ai))
    {
      for (p = ai ; p ; p = p->ai_next)
      {
        dns_ip a ;
        memset(&a, 0, sizeof(a)) ;
        if (p->ai_family == AF_INET6) { a.is6 = 1 ; memcpy(a.ip, &((struct sockaddr_in6 *)(void *)p->ai_addr)->sin6_addr, 16) ; }
        else if (p->ai_family == AF_INET) memcpy(a.ip, &((struct sockaddr_in *)(void *)p->ai_addr)->sin_addr, 4) ;
        else continue ;
        if (!genalloc_append(dns_ip, ips, &a)) { freeaddrinfo(ai) ; return DNS_TEMP ; }
        r = DNS_OK ;
      }
      freeaddrinfo(ai) ;
    }
  }
  if (r == DNS_OK) return r ;
  r = dns_ip_lookup(host, ips) ;
  *secure = dns_secure() ;
  return r ;
}

/*
 * Other addresses of this host's interfaces are not known here, so the
 * hostname check of route_from_mx does the rest.
 */
int route_is_myself (conf const *cf, ip46 const *ip, uint16_t port)
{
  static char const zero[16] = { 0 } ;
  static char const v6loop[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } ;
  size_t n = genalloc_len(conf_listen, &cf->listen), i = 0 ;
  conf_listen const *l = genalloc_s(conf_listen, &cf->listen) ;
  int is6 = ip46_is6(ip) ;
  int loopback = is6 ? !memcmp(ip->ip, v6loop, 16) : ip->ip[0] == 127 ;
  for (; i < n ; i++)
  {
    if (l[i].port != port || !!l[i].is6 != !!is6) continue ;
    if (!memcmp(l[i].ip, ip->ip, is6 ? 16 : 4)) return 1 ;
    if (loopback && !memcmp(l[i].ip, zero, is6 ? 16 : 4)) return 1 ;
  }
  return 0 ;
}

void route_free (route *r)
{
  stralloc_free(&r->sa) ;
  genalloc_free(route_hop, &r->hops) ;
}

/* a hop's policy without DANE: its own, or deferred under dane-only */
static int no_dane (route_hop const *h, route_tls *t, char const *why)
{
  t->why = why ;
  if (h->dane == ROUTE_DANE_ONLY) t->temp = 1 ;
  t->tls = h->tls ;
  return 1 ;
}

int route_tls_decide (route const *r, route_hop const *h, int addrsecure, route_tls *t)
{
  int d ;
  t->temp = 0 ;
  t->lookupfail = 0 ;
  t->tls = h->tls ;
  tlsa_set_reset(&t->tlsa) ;
  if (h->dane == ROUTE_DANE_OFF) { t->why = "configured" ; return 1 ; }
  if (!dns_dnssec_trusted()) return no_dane(h, t, "no DNSSEC-validating resolver is trusted") ;
  if (!r->mxsecure) return no_dane(h, t, "the MX records are not DNSSEC-validated") ;
  if (!addrsecure) return no_dane(h, t, "the host's addresses are not DNSSEC-validated") ;
  errno = 0 ;
  d = dns_tlsa_lookup(route_str(r, h->host), h->port, &t->tlsa) ;
  if (d == DNS_TEMP)
  {
    if (errno == ENOMEM) return 0 ;
    /* §2.2: a validating resolver's SERVFAIL is a bogus answer or an unreachable zone: not "no records" */
    t->temp = t->lookupfail = 1 ;
    t->why = dns_bogus() ? "the TLSA records are bogus (DNSSEC validation failed)" : "the TLSA lookup failed" ;
    return 1 ;
  }
  if (!dns_secure()) return no_dane(h, t, "the TLSA answer is not DNSSEC-validated") ;
  if (d != DNS_OK) return no_dane(h, t, "no TLSA records") ;
  if (!tlsa_set_n(&t->tlsa))
  {
    /* §2.2: the server said it does TLS, but no record can authenticate it */
    t->tls = CONF_TLS_REQUIRED ;
    t->why = "TLSA records, none usable: TLS without authentication" ;
    return 1 ;
  }
  t->tls = CONF_TLS_DANE ;
  t->why = "usable TLSA records" ;
  return 1 ;
}

void route_tls_free (route_tls *t)
{
  tlsa_set_free(&t->tlsa) ;
}

void route_sts_apply (route const *r, route_hop const *h, stspolicy const *p, char const *text, route_tls *t)
{
  t->sts = STSPOLICY_NONE ;
  t->stsmatch = -1 ;
  if (!p || !h->sts || t->temp || t->tls == CONF_TLS_DANE) return ;
  t->sts = p->mode ;
  if (p->mode == STSPOLICY_NONE) return ;
  t->stsmatch = stspolicy_match(p, text, route_str(r, h->host)) ;
  if (p->mode != STSPOLICY_ENFORCE) return ;
  if (t->stsmatch < 0)
  {
    /* §4.1: "senders MUST NOT deliver" to a host outside the patterns; §5: a temporary failure */
    t->temp = 1 ;
    t->why = "the MX host matches no mx pattern of the MTA-STS policy" ;
    return ;
  }
  /* §4.2: TLS 1.2 or later, a certificate valid for the MX host's name chaining to a trusted root */
  t->tls = CONF_TLS_VERIFY ;
  t->why = "MTA-STS policy in enforce mode" ;
}
