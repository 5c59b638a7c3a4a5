/* ISC license: see LICENSE. */

/*
 * The parser of ketch.conf(5). One sentence per line: a keyword, then
 * words; '#' starts a comment; a word may be "double quoted". Every error
 * is reported as "file:line: what is wrong" in the caller's stralloc.
 */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <stdlib.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/fmtscan.h>

#include "address.h"
#include "conf.h"
#include "netaddr.h"

#ifndef KETCH_LIBEXECDIR
#define KETCH_LIBEXECDIR "/usr/local/libexec/ketch"
#endif

#define MAXWORDS 64

typedef struct parse_s parse ;
struct parse_s
{
  conf *c ;
  stralloc *err ;
  char const *file ;
  unsigned int line ;
  char *w[MAXWORDS] ;
  unsigned int n ;
  stralloc *all ;     /* conf_check: every error is appended here, and parsing goes on */
  unsigned int nerr ;
} ;

/* after a fail(): in conf_check mode, keep the message and go on (1); else stop (0) */
static int keep (parse *p)
{
  if (!p->all || !p->err->len) return 0 ;
  if (!stralloc_catb(p->all, p->err->s, p->err->len - 1) || !stralloc_catb(p->all, "\n", 1)) return 0 ;
  p->err->len = 0 ;
  p->nerr++ ;
  return 1 ;
}

static int fail3 (parse *p, char const *a, char const *b, char const *c)
{
  char fmt[UINT_FMT] ;
  fmt[uint_fmt(fmt, p->line)] = 0 ;
  p->err->len = 0 ;
  if (!stralloc_cats(p->err, p->file) || !stralloc_catb(p->err, ":", 1)
   || !stralloc_cats(p->err, fmt) || !stralloc_catb(p->err, ": ", 2)
   || !stralloc_cats(p->err, a) || (b && !stralloc_cats(p->err, b))
   || (c && !stralloc_cats(p->err, c)) || !stralloc_0(p->err)) return 0 ;
  errno = EINVAL ;
  return 0 ;
}

static int fail (parse *p, char const *a, char const *b)
{
  return fail3(p, a, b, 0) ;
}

static int addstr (conf *c, char const *s, size_t *off)
{
  *off = c->sa.len ;
  return stralloc_cats(&c->sa, s) && stralloc_0(&c->sa) ;
}

/* relative paths are taken from the configuration file's directory */
static int addpath (conf *c, char const *s, size_t *off)
{
  if (s[0] == '/' || s[0] == '~' || !c->dir) return addstr(c, s, off) ;
  {
    /* the directory is inside sa: reserve first, so no realloc moves it under the copy */
    size_t dlen = strlen(c->sa.s + c->dir) ;
    if (!stralloc_readyplus(&c->sa, dlen + strlen(s) + 2)) return 0 ;
    *off = c->sa.len ;
    return stralloc_catb(&c->sa, c->sa.s + c->dir, dlen) && stralloc_catb(&c->sa, "/", 1)
        && stralloc_cats(&c->sa, s) && stralloc_0(&c->sa) ;
  }
}

/* a number with an optional one-letter unit from units ("s1", "m60"...) */
typedef struct unit_s unit ;
struct unit_s { char c ; uint64_t mul ; } ;
static unit const durations[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 }, { 0, 0 } } ;
static unit const sizes[] = { { 'k', 1 << 10 }, { 'K', 1 << 10 }, { 'm', 1 << 20 }, { 'M', 1 << 20 }, { 'g', 1 << 30 }, { 'G', 1 << 30 }, { 0, 0 } } ;

/* 1, or 0 for a syntax error, or -1 when the value with its unit is over
   max (checked before the product is formed, so it cannot wrap: 2^34+1 G
   is 2^64 + 1G) */
static int scan_scaled (char const *s, unit const *units, uint64_t max, uint64_t *d)
{
  uint64_t n, mul = 1 ;
  size_t k = uint64_scan(s, &n) ;
  /* uint64_scan stops before a digit that would overflow: s[k] is that digit */
  if (!k) return 0 ;
  if (s[k])
  {
    if (s[k+1]) return 0 ;
    for (; units->c && units->c != s[k] ; units++) ;
    if (!units->c) return 0 ;
    mul = units->mul ;
  }
  if (n > max / mul) return -1 ;
  *d = n * mul ;
  return 1 ;
}

/* seconds end up in tain_addsec(), which takes an int: 68 years */
#define DURATION_MAX INT32_MAX
#define MESSAGE_SIZE_MAX ((uint64_t)1 << 40)
#define scan_duration(s, d) scan_scaled(s, durations, DURATION_MAX, d)
#define scan_size(s, d) scan_scaled(s, sizes, MESSAGE_SIZE_MAX, d)

static int scan_uint (char const *s, unsigned int *u)
{
  return uint0_scan(s, u) && *u <= 1000000 ;
}

/* the whole word, each part in range: ip46_scan read 300.1.2.3 as 44.1.2.3 */
static int scan_ip (char const *s, char *ip, int *is6)
{
  return netaddr_ip(s, strlen(s), ip, is6) ;
}

static int scan_port (char const *s, uint16_t *port)
{
  return netaddr_port(s, strlen(s), port) ;
}

static int need (parse *p, unsigned int min, unsigned int max)
{
  if (p->n < min) return fail(p, p->w[0], ": missing argument") ;
  if (p->n > max) return fail(p, p->w[0], ": too many arguments") ;
  return 1 ;
}

static int set_once (parse *p, size_t *off, char const *s, int path)
{
  if (*off) return fail(p, p->w[0], " is set twice") ;
  return path ? addpath(p->c, s, off) : addstr(p->c, s, off) ;
}

/* listen ADDRESS [port N] [starttls|tls-required|smtps] [auth|auth-required] [plain-auth] */
static int do_listen (parse *p)
{
  conf_listen l = { .port = 25, .flags = 0, .line = p->line } ;
  unsigned int i = 2 ;
  if (!need(p, 2, 9)) return 0 ;
  if (!scan_ip(p->w[1], l.ip, &l.is6)) return fail(p, "listen: not an IP address: ", p->w[1]) ;
  for (; i < p->n ; i++)
  {
    char const *w = p->w[i] ;
    if (!strcmp(w, "port"))
    {
      if (++i >= p->n || !scan_port(p->w[i], &l.port)) return fail(p, "listen: port needs a number from 1 to 65535", 0) ;
    }
    else if (!strcmp(w, "starttls")) l.flags |= CONF_LISTEN_STARTTLS ;
    else if (!strcmp(w, "tls-required")) l.flags |= CONF_LISTEN_STARTTLS | CONF_LISTEN_TLSREQUIRED ;
    else if (!strcmp(w, "smtps")) l.flags |= CONF_LISTEN_SMTPS ;
    else if (!strcmp(w, "auth")) l.flags |= CONF_LISTEN_AUTH ;
    else if (!strcmp(w, "auth-required")) l.flags |= CONF_LISTEN_AUTH | CONF_LISTEN_AUTHREQUIRED ;
    else if (!strcmp(w, "plain-auth")) l.flags |= CONF_LISTEN_AUTH | CONF_LISTEN_PLAINAUTH ;
    else return fail(p, "listen: unknown option: ", w) ;
  }
  if ((l.flags & CONF_LISTEN_SMTPS) && (l.flags & CONF_LISTEN_STARTTLS))
    return fail(p, "listen: smtps and starttls exclude each other", 0) ;
  return genalloc_append(conf_listen, &p->c->listen, &l) ;
}

static int do_domains (parse *p)
{
  unsigned int i = 1 ;
  if (!need(p, 2, MAXWORDS)) return 0 ;
  for (; i < p->n ; i++)
  {
    size_t off ;
    case_lowers(p->w[i]) ;
    if (!address_domain_valid(p->w[i], strlen(p->w[i]), ADDRESS_UTF8)) return fail(p, "local-domain: not a domain: ", p->w[i]) ;
    if (!addstr(p->c, p->w[i], &off) || !genalloc_append(size_t, &p->c->local_domains, &off)) return 0 ;
  }
  return 1 ;
}

/* virtual-domain DOMAIN map FILE */
static int do_vdomain (parse *p)
{
  conf_vdomain v ;
  if (!need(p, 4, 4)) return 0 ;
  if (strcmp(p->w[2], "map")) return fail(p, "virtual-domain: expected: virtual-domain DOMAIN map FILE", 0) ;
  case_lowers(p->w[1]) ;
  if (!address_domain_valid(p->w[1], strlen(p->w[1]), ADDRESS_UTF8)) return fail(p, "virtual-domain: not a domain: ", p->w[1]) ;
  if (!addstr(p->c, p->w[1], &v.domain) || !addpath(p->c, p->w[3], &v.map)) return 0 ;
  return genalloc_append(conf_vdomain, &p->c->vdomains, &v) ;
}

/* relay-from CIDR... */
static int do_relay (parse *p)
{
  unsigned int i = 1 ;
  if (!need(p, 2, MAXWORDS)) return 0 ;
  for (; i < p->n ; i++)
  {
    conf_net net = { .bits = 0 } ;
    char *slash = strchr(p->w[i], '/') ;
    if (slash) *slash = 0 ;
    if (!scan_ip(p->w[i], net.ip, &net.is6))
    {
      if (slash) *slash = '/' ;
      return fail(p, "relay-from: not an address: ", p->w[i]) ;
    }
    net.bits = net.is6 ? 128 : 32 ;
    if (slash && !netaddr_prefix(slash + 1, strlen(slash + 1), net.bits, &net.bits))
      return fail(p, "relay-from: bad prefix length: ", slash + 1) ;
    if (!genalloc_append(conf_net, &p->c->relay_nets, &net)) return 0 ;
  }
  return 1 ;
}

/* HOST[:PORT], with HOST a host name, a dotted quad or a bracketed address */
static int scan_hostport (parse *p, char *s, conf_route *r)
{
  size_t start, n, len = strlen(s) ;
  int e ;
  r->port = 25 ;
  e = netaddr_hostport(s, len, &start, &n, &r->port) ;
  if (!e)
  {
    char *colon = s[0] == '[' ? 0 : strchr(s, ':') ;
    /* the host alone, as the reader wrote it (a bare IPv6 address whole) */
    if (colon && !strchr(colon + 1, ':')) *colon = 0 ;
    return fail3(p, p->w[0], ": not a host name or address: ", s) ;
  }
  if (e < 0) return fail3(p, p->w[0], ": bad port: ", strchr(s[0] == '[' ? strchr(s, ']') : s, ':') + 1) ;
  r->host = p->c->sa.len ;
  return stralloc_catb(&p->c->sa, s + start, n) && stralloc_0(&p->c->sa) ;
}

/* route DOMAIN via HOST[:PORT] [tls required|verify|none] [auth FILE], smarthost HOST[:PORT] [...] */
static int do_route (parse *p, int smarthost)
{
  conf_route r = { .domain = 0, .tls = CONF_TLS_OPPORTUNISTIC, .auth = 0 } ;
  unsigned int i ;
  if (smarthost)
  {
    if (!need(p, 2, 8)) return 0 ;
    i = 1 ;
  }
  else
  {
    if (!need(p, 4, 10)) return 0 ;
    if (strcmp(p->w[2], "via")) return fail(p, "route: expected: route DOMAIN via HOST[:PORT]", 0) ;
    case_lowers(p->w[1]) ;
    if (!address_domain_valid(p->w[1], strlen(p->w[1]), ADDRESS_UTF8)) return fail(p, "route: not a domain: ", p->w[1]) ;
    if (!addstr(p->c, p->w[1], &r.domain)) return 0 ;
    i = 3 ;
  }
  if (!scan_hostport(p, p->w[i++], &r)) return 0 ;
  for (; i < p->n ; i++)
  {
    if (!strcmp(p->w[i], "tls"))
    {
      char const *w = ++i < p->n ? p->w[i] : "" ;
      if (!strcmp(w, "required")) r.tls = CONF_TLS_REQUIRED ;
      else if (!strcmp(w, "verify")) r.tls = CONF_TLS_VERIFY ;
      else if (!strcmp(w, "none")) r.tls = CONF_TLS_NONE ;
      else if (!strcmp(w, "opportunistic")) r.tls = CONF_TLS_OPPORTUNISTIC ;
      else return fail(p, p->w[0], ": tls takes required, verify, opportunistic or none") ;
    }
    else if (!strcmp(p->w[i], "auth"))
    {
      if (++i >= p->n) return fail(p, p->w[0], ": auth needs a credentials file") ;
      if (!addpath(p->c, p->w[i], &r.auth)) return 0 ;
    }
    else return fail(p, "unknown option: ", p->w[i]) ;
  }
  {
    size_t n = genalloc_len(conf_route, &p->c->routes), j = 0 ;
    conf_route const *rs = genalloc_s(conf_route, &p->c->routes) ;
    for (; j < n ; j++)
      if ((!rs[j].domain && !r.domain) || (rs[j].domain && r.domain && !strcmp(p->c->sa.s + rs[j].domain, p->c->sa.s + r.domain)))
        return fail(p, smarthost ? "smarthost is set twice" : "route: this domain already has a route", 0) ;
  }
  return genalloc_append(conf_route, &p->c->routes, &r) ;
}

/* deliver maildir PATH | mbox PATH | mda PROGRAM [ARG...] | lmtp unix:PATH | lmtp HOST:PORT */
static int do_deliver (parse *p)
{
  conf_delivery *d = &p->c->deliver ;
  if (!need(p, 3, MAXWORDS)) return 0 ;
  if (!strcmp(p->w[1], "maildir") || !strcmp(p->w[1], "mbox"))
  {
    if (p->n != 3) return fail(p, "deliver: ", "maildir and mbox take one path") ;
    d->type = p->w[1][1] == 'a' ? CONF_DELIVER_MAILDIR : CONF_DELIVER_MBOX ;
    if (p->w[2][0] != '/' && p->w[2][0] != '~') return fail(p, "deliver: the path must start with / or ~/", 0) ;
    return addstr(p->c, p->w[2], &d->arg) ;
  }
  if (!strcmp(p->w[1], "mda"))
  {
    unsigned int i = 2 ;
    if (p->w[2][0] != '/') return fail(p, "deliver: the mda program must be an absolute path", 0) ;
    d->type = CONF_DELIVER_MDA ;
    d->arg = p->c->sa.len ;
    d->argc = p->n - 2 ;
    for (; i < p->n ; i++) if (!stralloc_cats(&p->c->sa, p->w[i]) || !stralloc_0(&p->c->sa)) return 0 ;
    return 1 ;
  }
  if (!strcmp(p->w[1], "lmtp"))
  {
    if (p->n != 3) return fail(p, "deliver: lmtp takes one target", 0) ;
    if (strncmp(p->w[2], "unix:", 5))
    {
      size_t start, n ;
      uint16_t port = 0 ;
      /* local-deliver splits at the last colon: the port is required */
      if (netaddr_hostport(p->w[2], strlen(p->w[2]), &start, &n, &port) != 1 || !port)
        return fail(p, "deliver: lmtp takes unix:PATH or HOST:PORT", 0) ;
    }
    d->type = CONF_DELIVER_LMTP ;
    return addstr(p->c, p->w[2], &d->arg) ;
  }
  return fail(p, "deliver: unknown method: ", p->w[1]) ;
}

static int do_limit (parse *p)
{
  char const *k ;
  unsigned int *u = 0 ;
  if (!need(p, 3, 3)) return 0 ;
  k = p->w[1] ;
  if (!strcmp(k, "message-size"))
  {
    uint64_t v = 0 ;
    int r = scan_size(p->w[2], &v) ;
    if (r < 0) return fail(p, "limit message-size: too large (at most 1024G): ", p->w[2]) ;
    if (!r || !v) return fail(p, "limit message-size: bad size: ", p->w[2]) ;
    p->c->message_size = v ;
    return 1 ;
  }
  if (!strcmp(k, "recipients")) u = &p->c->max_recipients ;
  else if (!strcmp(k, "connections")) u = &p->c->max_connections ;
  else if (!strcmp(k, "connections-per-client")) u = &p->c->max_per_client ;
  else if (!strcmp(k, "errors")) u = &p->c->max_errors ;
  else if (!strcmp(k, "hops")) u = &p->c->max_hops ;
  else if (!strcmp(k, "local-deliveries")) u = &p->c->concurrency_local ;
  else if (!strcmp(k, "remote-deliveries")) u = &p->c->concurrency_remote ;
  else if (!strcmp(k, "deliveries-per-destination")) u = &p->c->concurrency_destination ;
  else if (!strcmp(k, "messages-per-connection")) u = &p->c->messages_per_connection ;
  else return fail(p, "limit: unknown limit: ", k) ;
  if (!scan_uint(p->w[2], u) || !*u) return fail(p, "limit: not a positive number: ", p->w[2]) ;
  return 1 ;
}

static int do_duration (parse *p, unsigned int *u, uint64_t *d)
{
  uint64_t v = 0 ;
  int r = scan_duration(p->w[p->n - 1], &v) ;
  if (r < 0) return fail(p, "duration too long: ", p->w[p->n - 1]) ;
  if (!r || !v) return fail(p, "not a duration (like 30s, 5m, 4h, 5d): ", p->w[p->n - 1]) ;
  if (u) *u = (unsigned int)v ; else *d = v ;
  return 1 ;
}

static int do_timeout (parse *p)
{
  char const *k ;
  if (!need(p, 3, 3)) return 0 ;
  k = p->w[1] ;
  if (!strcmp(k, "command")) return do_duration(p, &p->c->timeout_command, 0) ;
  if (!strcmp(k, "data")) return do_duration(p, &p->c->timeout_data, 0) ;
  if (!strcmp(k, "session")) return do_duration(p, &p->c->timeout_session, 0) ;
  if (!strcmp(k, "connect")) return do_duration(p, &p->c->timeout_connect, 0) ;
  if (!strcmp(k, "delivery")) return do_duration(p, &p->c->timeout_delivery, 0) ;
  return fail(p, "timeout: unknown timeout: ", k) ;
}

/* retry local|remote FIRST, retry max LONGEST */
static int do_retry (parse *p)
{
  if (!need(p, 3, 3)) return 0 ;
  if (!strcmp(p->w[1], "local")) return do_duration(p, &p->c->retry_local, 0) ;
  if (!strcmp(p->w[1], "remote")) return do_duration(p, &p->c->retry_remote, 0) ;
  if (!strcmp(p->w[1], "max")) return do_duration(p, &p->c->retry_max, 0) ;
  return fail(p, "retry: expected local, remote or max", 0) ;
}

/* resolver IP [port N]: the DNS server remote-send asks instead of resolv.conf's */
static int do_resolver (parse *p)
{
  uint16_t port = 53 ;
  if (!need(p, 2, 4)) return 0 ;
  if (!scan_ip(p->w[1], p->c->resolver_ip, &p->c->resolver_is6)) return fail(p, "resolver: not an IP address: ", p->w[1]) ;
  /* glibc's res_state takes a forced IPv6 server only through private fields */
  if (p->c->resolver_is6) return fail(p, "resolver: only an IPv4 address can be set here (use resolv.conf for IPv6)", 0) ;
  if (p->n > 2 && (p->n != 4 || strcmp(p->w[2], "port") || !scan_port(p->w[3], &port)))
    return fail(p, "resolver: expected: resolver IP [port N]", 0) ;
  p->c->resolver_port = port ;
  return 1 ;
}

static int do_user (parse *p, size_t *off)
{
  if (!need(p, 2, 2)) return 0 ;
  return set_once(p, off, p->w[1], 0) ;
}

static int dispatch (parse *p)
{
  char const *k = p->w[0] ;
  conf *c = p->c ;
  if (!strcmp(k, "hostname"))
  {
    if (!need(p, 2, 2)) return 0 ;
    case_lowers(p->w[1]) ;
    if (!netaddr_hostname(p->w[1], strlen(p->w[1]))) return fail(p, "hostname: not a host name: ", p->w[1]) ;
    return set_once(p, &c->hostname, p->w[1], 0) ;
  }
  if (!strcmp(k, "spool")) return need(p, 2, 2) && set_once(p, &c->spool, p->w[1], 1) ;
  if (!strcmp(k, "programs")) return need(p, 2, 2) && set_once(p, &c->bindir, p->w[1], 1) ;
  if (!strcmp(k, "enqueue-socket"))
  {
    if (!need(p, 2, 2) || !set_once(p, &c->enqueue_socket, p->w[1], 1)) return 0 ;
    /* sun_path holds 108 octets with the NUL */
    if (strlen(c->sa.s + c->enqueue_socket) > 107) return fail(p, "enqueue-socket: path longer than 107 octets: ", p->w[1]) ;
    return 1 ;
  }
  if (!strcmp(k, "queue-user")) return do_user(p, &c->queue_user) ;
  if (!strcmp(k, "smtp-user")) return do_user(p, &c->smtp_user) ;
  if (!strcmp(k, "alias-user")) return do_user(p, &c->alias_user) ;
  if (!strcmp(k, "local-uid-min")) return need(p, 2, 2) && (scan_uint(p->w[1], &c->local_uid_min) || fail(p, "local-uid-min: not a number: ", p->w[1])) ;
  if (!strcmp(k, "listen")) return do_listen(p) ;
  if (!strcmp(k, "certificate"))
  {
    if (!need(p, 4, 4) || strcmp(p->w[2], "key")) return fail(p, "expected: certificate CERTFILE key KEYFILE", 0) ;
    c->cert_line = p->line ;
    return set_once(p, &c->cert, p->w[1], 1) && addpath(c, p->w[3], &c->key) ;
  }
  if (!strcmp(k, "local-domain")) return do_domains(p) ;
  if (!strcmp(k, "virtual-domain")) return do_vdomain(p) ;
  if (!strcmp(k, "relay-from")) return do_relay(p) ;
  if (!strcmp(k, "aliases"))
  {
    if (!need(p, 2, 2) || !set_once(p, &c->aliases, p->w[1], 1)) return 0 ;
    c->aliases_line = p->line ;
    return 1 ;
  }
  if (!strcmp(k, "auth-table"))
  {
    if (!need(p, 2, 2) || !set_once(p, &c->auth_table, p->w[1], 1)) return 0 ;
    c->auth_table_line = p->line ;
    return 1 ;
  }
  if (!strcmp(k, "deliver")) return do_deliver(p) ;
  if (!strcmp(k, "route")) return do_route(p, 0) ;
  if (!strcmp(k, "smarthost")) return do_route(p, 1) ;
  if (!strcmp(k, "outbound-tls"))
  {
    if (!need(p, 2, 2)) return 0 ;
    if (!strcmp(p->w[1], "opportunistic")) c->tls_outbound = CONF_TLS_OPPORTUNISTIC ;
    else if (!strcmp(p->w[1], "required")) c->tls_outbound = CONF_TLS_REQUIRED ;
    else if (!strcmp(p->w[1], "verify")) c->tls_outbound = CONF_TLS_VERIFY ;
    else return fail(p, "outbound-tls takes opportunistic, required or verify", 0) ;
    return 1 ;
  }
  if (!strcmp(k, "resolver")) return do_resolver(p) ;
  if (!strcmp(k, "remote-port"))
  {
    if (!need(p, 2, 2)) return 0 ;
    if (!scan_port(p->w[1], &c->remote_port)) return fail(p, "remote-port needs a number from 1 to 65535", 0) ;
    return 1 ;
  }
  if (!strcmp(k, "ca-file")) return need(p, 2, 2) && set_once(p, &c->ca_file, p->w[1], 1) ;
  if (!strcmp(k, "limit")) return do_limit(p) ;
  if (!strcmp(k, "timeout")) return do_timeout(p) ;
  if (!strcmp(k, "retry")) return do_retry(p) ;
  if (!strcmp(k, "rescan")) return need(p, 2, 2) && do_duration(p, &c->rescan, 0) ;
  if (!strcmp(k, "expire")) return need(p, 2, 2) && do_duration(p, 0, &c->expire) ;
  if (!strcmp(k, "warn")) return need(p, 2, 2) && do_duration(p, 0, &c->warn) ;
  return fail(p, "unknown keyword: ", k) ;
}

/* split a line in place into words; "..." quotes a word */
static int split (parse *p, char *s)
{
  p->n = 0 ;
  for (;;)
  {
    while (*s == ' ' || *s == '\t') s++ ;
    if (!*s || *s == '#') return 1 ;
    if (p->n >= MAXWORDS) return fail(p, "too many words", 0) ;
    if (*s == '"')
    {
      char *end = strchr(++s, '"') ;
      if (!end) return fail(p, "unterminated quote", 0) ;
      *end = 0 ;
      p->w[p->n++] = s ;
      s = end + 1 ;
      if (*s && *s != ' ' && *s != '\t') return fail(p, "text after a closing quote", 0) ;
      continue ;
    }
    p->w[p->n++] = s ;
    while (*s && *s != ' ' && *s != '\t') s++ ;
    if (*s) *s++ = 0 ;
  }
}

static void defaults (conf *c)
{
  c->message_size = 35 << 20 ;
  c->max_recipients = 100 ;
  c->max_connections = 100 ;
  c->max_per_client = 10 ;
  c->max_errors = 10 ;
  c->max_hops = 50 ;           /* Postfix's hopcount_limit */
  c->concurrency_local = 10 ;
  c->concurrency_remote = 20 ;
  c->concurrency_destination = 5 ;
  c->messages_per_connection = 32 ;
  c->timeout_command = 300 ;   /* RFC 5321 §4.5.3.2.7: server timeout 5 minutes */
  c->timeout_data = 180 ;      /* §4.5.3.2.5: data block 3 minutes */
  c->timeout_session = 3600 ;
  c->timeout_connect = 60 ;
  c->timeout_delivery = 600 ;
  c->local_uid_min = 1000 ;
  c->retry_local = 60 ;
  c->retry_remote = 400 ;      /* qmail and OpenSMTPD: 400 s x n^2 */
  c->retry_max = 4 * 3600 ;
  c->rescan = 120 ;
  c->expire = 5 * 86400 ;
  c->warn = 4 * 3600 ;
  c->tls_outbound = CONF_TLS_OPPORTUNISTIC ;
  c->remote_port = 25 ;
  c->deliver.type = CONF_DELIVER_MAILDIR ;
}

static int finish (parse *p)
{
  conf *c = p->c ;
  size_t n = genalloc_len(conf_listen, &c->listen), i = 0 ;
  conf_listen const *l = genalloc_s(conf_listen, &c->listen) ;
  if (!c->hostname)
  {
    char host[256] ;
    if (gethostname(host, sizeof(host) - 1) < 0) return 0 ;
    host[sizeof(host) - 1] = 0 ;
    case_lowers(host) ;
    if (!addstr(c, host, &c->hostname)) return 0 ;
  }
  if (!c->spool && !addstr(c, "/var/spool/ketch", &c->spool)) return 0 ;
  if (!c->bindir && !addstr(c, KETCH_LIBEXECDIR, &c->bindir)) return 0 ;
  if (!c->deliver.arg && !addstr(c, "~/Maildir", &c->deliver.arg)) return 0 ;
  for (; i < n ; i++)
    if ((l[i].flags & (CONF_LISTEN_STARTTLS | CONF_LISTEN_SMTPS)) && !c->cert)
    {
      p->line = l[i].line ;
      if (!fail(p, "listen: TLS needs a certificate line", 0) && !keep(p)) return 0 ;
    }
  for (i = 0 ; i < n ; i++)
    if ((l[i].flags & CONF_LISTEN_AUTH) && !c->auth_table)
    {
      p->line = l[i].line ;
      if (!fail(p, "listen: auth needs an auth-table line", 0) && !keep(p)) return 0 ;
    }
  /* two listeners on one address and port: the second bind would fail at start */
  for (i = 1 ; i < n ; i++)
  {
    size_t j = 0 ;
    for (; j < i ; j++)
      if (l[i].is6 == l[j].is6 && l[i].port == l[j].port && !memcmp(l[i].ip, l[j].ip, l[i].is6 ? 16 : 4))
      {
        char fmt[UINT_FMT] ;
        fmt[uint_fmt(fmt, l[j].line)] = 0 ;
        p->line = l[i].line ;
        if (!fail(p, "listen: the same address and port as line ", fmt) && !keep(p)) return 0 ;
        break ;
      }
  }
  return 1 ;
}

static void conf_zero (conf *c)
{
  static conf const zero = { .sa = STRALLOC_ZERO, .listen = GENALLOC_ZERO, .local_domains = GENALLOC_ZERO, .vdomains = GENALLOC_ZERO, .relay_nets = GENALLOC_ZERO, .routes = GENALLOC_ZERO } ;
  *c = zero ;
}

static int load (conf *c, char const *file, stralloc *err, stralloc *all)
{
  stralloc text = STRALLOC_ZERO ;
  parse p = { .c = c, .err = err, .file = file, .line = 0, .all = all, .nerr = 0 } ;
  size_t pos = 0 ;
  conf_zero(c) ;
  defaults(c) ;
  err->len = 0 ;
  if (!stralloc_0(&c->sa) || !addstr(c, file, &c->file)) goto nomem ;
  {
    char const *slash = strrchr(file, '/') ;
    size_t off = c->sa.len ;
    if (!slash) { char cwd[4096] ; if (!getcwd(cwd, sizeof(cwd)) || !stralloc_cats(&c->sa, cwd)) goto nomem ; }
    else if (slash == file) { if (!stralloc_catb(&c->sa, "/", 1)) goto nomem ; }
    else
    {
      if (file[0] != '/') { char cwd[4096] ; if (!getcwd(cwd, sizeof(cwd)) || !stralloc_cats(&c->sa, cwd) || !stralloc_catb(&c->sa, "/", 1)) goto nomem ; }
      if (!stralloc_catb(&c->sa, file, slash - file)) goto nomem ;
    }
    if (!stralloc_0(&c->sa)) goto nomem ;
    c->dir = off ;
  }
  if (!openslurpclose(&text, file))
  {
    int e = errno ;
    p.line = 0 ;
    err->len = 0 ;
    if (stralloc_cats(err, file) && stralloc_cats(err, ": unable to read: ") && stralloc_cats(err, strerror(e))) stralloc_0(err) ;
    conf_free(c) ;
    errno = e ;
    return 0 ;
  }
  if (!stralloc_0(&text)) goto nomem ;
  while (pos < text.len - 1)
  {
    char *line = text.s + pos ;
    char *nl = strchr(line, '\n') ;
    size_t n = nl ? (size_t)(nl - line) : strlen(line) ;
    p.line++ ;
    line[n] = 0 ;
    pos += n + 1 ;
    if (n && line[n-1] == '\r') line[n-1] = 0 ;
    if (strlen(line) != n && strlen(line) != n - 1)
    {
      fail(&p, "NUL in the configuration", 0) ;
      if (keep(&p)) continue ;
      goto err ;
    }
    if (!split(&p, line)) { if (keep(&p)) continue ; goto err ; }
    if (p.n && !dispatch(&p)) { if (!err->len) goto nomem ; if (keep(&p)) continue ; goto err ; }
  }
  if (!finish(&p)) { if (!err->len) goto nomem ; goto err ; }
  stralloc_free(&text) ;
  if (p.nerr)
  {
    /* conf_check: the collected errors, one per line, become the message */
    err->len = 0 ;
    if (!stralloc_catb(err, all->s, all->len - 1) || !stralloc_0(err)) return 0 ;
    errno = EINVAL ;
    return 0 ;
  }
  return 1 ;
 nomem:
  {
    int e = errno ;
    err->len = 0 ;
    if (stralloc_cats(err, file) && stralloc_cats(err, ": ") && stralloc_cats(err, strerror(e))) stralloc_0(err) ;
    errno = e ;
  }
 err:
  {
    int e = errno ;
    stralloc_free(&text) ;
    conf_free(c) ;
    errno = e ;
  }
  return 0 ;
}

int conf_load (conf *c, char const *file, stralloc *err)
{
  return load(c, file, err, 0) ;
}

/*
 * Like conf_load, but does not stop at the first error: every error is
 * reported, one "file:line: what is wrong" per line in err, and *nerr
 * counts them. Returns 1 when there is none. A failure to read the file or
 * to allocate is reported as conf_load does, with *nerr = 0.
 */
int conf_check (conf *c, char const *file, stralloc *err, unsigned int *nerr)
{
  stralloc all = STRALLOC_ZERO ;
  int r ;
  *nerr = 0 ;
  r = load(c, file, err, &all) ;
  if (!r && errno == EINVAL && all.len)
  {
    size_t i = 0 ;
    for (; i < all.len ; i++) if (all.s[i] == '\n') (*nerr)++ ;
  }
  else if (!r && errno == EINVAL && err->len) *nerr = 1 ;
  stralloc_free(&all) ;
  return r ;
}

char const *conf_path (char const *arg)
{
  char const *x ;
  if (arg) return arg ;
  x = getenv("KETCH_CONF") ;
  return x && *x ? x : CONF_DEFAULT ;
}

int conf_load_default (conf *c, char const *arg, stralloc *err)
{
  return conf_load(c, conf_path(arg), err) ;
}

void conf_free (conf *c)
{
  stralloc_free(&c->sa) ;
  genalloc_free(conf_listen, &c->listen) ;
  genalloc_free(size_t, &c->local_domains) ;
  genalloc_free(conf_vdomain, &c->vdomains) ;
  genalloc_free(conf_net, &c->relay_nets) ;
  genalloc_free(conf_route, &c->routes) ;
}

/* the host name and "localhost" are always local */
int conf_is_local_domain (conf const *c, char const *domain)
{
  size_t n = genalloc_len(size_t, &c->local_domains), i = 0 ;
  size_t const *d = genalloc_s(size_t, &c->local_domains) ;
  if (!strcasecmp(domain, "localhost") || !strcasecmp(domain, c->sa.s + c->hostname)) return 1 ;
  for (; i < n ; i++) if (!strcasecmp(domain, c->sa.s + d[i])) return 1 ;
  return 0 ;
}

conf_vdomain const *conf_vdomain_find (conf const *c, char const *domain)
{
  size_t n = genalloc_len(conf_vdomain, &c->vdomains), i = 0 ;
  conf_vdomain const *v = genalloc_s(conf_vdomain, &c->vdomains) ;
  for (; i < n ; i++) if (!strcasecmp(domain, c->sa.s + v[i].domain)) return v + i ;
  return 0 ;
}

static int prefix_match (char const *a, char const *b, unsigned int bits)
{
  unsigned int whole = bits >> 3, rest = bits & 7 ;
  if (memcmp(a, b, whole)) return 0 ;
  if (!rest) return 1 ;
  return !(((unsigned char)a[whole] ^ (unsigned char)b[whole]) & (0xff << (8 - rest))) ;
}

int conf_relay_allowed (conf const *c, char const *ip, int is6)
{
  size_t n = genalloc_len(conf_net, &c->relay_nets), i = 0 ;
  conf_net const *nets = genalloc_s(conf_net, &c->relay_nets) ;
  for (; i < n ; i++)
    if (nets[i].is6 == is6 && prefix_match(ip, nets[i].ip, nets[i].bits)) return 1 ;
  return 0 ;
}

/* the route for a domain: its own, else the smarthost, else 0 (MX) */
conf_route const *conf_route_find (conf const *c, char const *domain)
{
  size_t n = genalloc_len(conf_route, &c->routes), i = 0 ;
  conf_route const *r = genalloc_s(conf_route, &c->routes), *smarthost = 0 ;
  for (; i < n ; i++)
  {
    if (!r[i].domain) smarthost = r + i ;
    else if (!strcasecmp(domain, c->sa.s + r[i].domain)) return r + i ;
  }
  return smarthost ;
}

/*
 * Expand a mailbox path template: a leading "~/" is home, "%u" the user
 * (or local part), "%d" the domain, "%%" a percent sign. A value that
 * could climb out of its directory (a '/', or a leading '.') is refused
 * with EINVAL, so a hostile local part can never choose a path.
 */
static int safe_component (char const *s)
{
  return *s && *s != '.' && !strchr(s, '/') ;
}

int conf_prog (conf const *c, char const *name, stralloc *sa)
{
  sa->len = 0 ;
  return stralloc_cats(sa, c->sa.s + c->bindir) && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, name) && stralloc_0(sa) ;
}

int conf_expand_path (char const *tmpl, char const *user, char const *domain, char const *home, stralloc *out)
{
  char const *s = tmpl ;
  if (s[0] == '~' && s[1] == '/')
  {
    if (!home || home[0] != '/') return (errno = EINVAL, 0) ;
    if (!stralloc_cats(out, home)) return 0 ;
    s++ ;
  }
  for (; *s ; s++)
  {
    if (*s != '%') { if (!stralloc_catb(out, s, 1)) return 0 ; continue ; }
    switch (*++s)
    {
      case 'u' :
        if (!user || !safe_component(user)) return (errno = EINVAL, 0) ;
        if (!stralloc_cats(out, user)) return 0 ;
        break ;
      case 'd' :
        if (!domain || !safe_component(domain)) return (errno = EINVAL, 0) ;
        if (!stralloc_cats(out, domain)) return 0 ;
        break ;
      case '%' : if (!stralloc_catb(out, "%", 1)) return 0 ; break ;
      default : return (errno = EINVAL, 0) ;
    }
  }
  return stralloc_0(out) ;
}

/*
 * conf_print: the effective configuration, every default filled in, as
 * sentences that conf_load accepts again and that print the same way
 * (conf-check(8) relies on this fixed point). Paths are absolute, so the
 * printout does not depend on where it is saved.
 */

static int pword (stralloc *sa, char const *s)
{
  size_t n = strlen(s), i = 0 ;
  int quote = !n || s[0] == '"' ;
  for (; i < n ; i++)
  {
    if (s[i] == ' ' || s[i] == '\t' || s[i] == '#') quote = 1 ;
    if ((unsigned char)s[i] < 32 && s[i] != '\t') return (errno = EINVAL, 0) ;
  }
  /* the parser has no escapes: a quoted word cannot hold a quote */
  if (quote && strchr(s, '"')) return (errno = EINVAL, 0) ;
  if (!stralloc_catb(sa, " ", 1)) return 0 ;
  if (quote) return stralloc_catb(sa, "\"", 1) && stralloc_catb(sa, s, n) && stralloc_catb(sa, "\"", 1) ;
  return stralloc_catb(sa, s, n) ;
}

static int pkey (stralloc *sa, char const *k)
{
  return stralloc_cats(sa, k) ;
}

static int pend (stralloc *sa)
{
  return stralloc_catb(sa, "\n", 1) ;
}

static int pline (stralloc *sa, char const *k, char const *v)
{
  return pkey(sa, k) && pword(sa, v) && pend(sa) ;
}

/* the largest unit of the table (the last, on ties) that divides the value exactly */
static int pscaled (stralloc *sa, uint64_t d, unit const *units)
{
  char fmt[UINT64_FMT + 1] ;
  size_t n = 0, i ;
  unit const *best = 0 ;
  while (units[n].c) n++ ;
  for (i = n ; d && i-- ; ) if (!(d % units[i].mul)) { best = units + i ; break ; }
  n = uint64_fmt(fmt, best ? d / best->mul : d) ;
  if (best) fmt[n++] = best->c ;
  return stralloc_catb(sa, " ", 1) && stralloc_catb(sa, fmt, n) ;
}

#define pduration(sa, d) pscaled(sa, d, durations)
#define psize(sa, d) pscaled(sa, d, sizes)

static int puint (stralloc *sa, uint64_t u)
{
  char fmt[UINT64_FMT] ;
  return stralloc_catb(sa, " ", 1) && stralloc_catb(sa, fmt, uint64_fmt(fmt, u)) ;
}

static int pip (stralloc *sa, char const *ip, int is6)
{
  char fmt[IP6_FMT] ;
  size_t n = is6 ? ip6_fmt(fmt, ip) : ip4_fmt(fmt, ip) ;
  return stralloc_catb(sa, " ", 1) && stralloc_catb(sa, fmt, n) ;
}

static char const *tls_name (unsigned int tls)
{
  switch (tls)
  {
    case CONF_TLS_REQUIRED : return "required" ;
    case CONF_TLS_VERIFY : return "verify" ;
    case CONF_TLS_NONE : return "none" ;
    default : return "opportunistic" ;
  }
}

static int proute (stralloc *sa, conf const *c, conf_route const *r)
{
  char fmt[UINT16_FMT] ;
  char const *host = c->sa.s + r->host ;
  int v6 = !!strchr(host, ':') ;
  if (r->domain)
  {
    if (!pkey(sa, "route") || !pword(sa, c->sa.s + r->domain) || !stralloc_cats(sa, " via")) return 0 ;
  }
  else if (!pkey(sa, "smarthost")) return 0 ;
  /* an IPv6 host is bracketed, so its last colon is not taken for the port's */
  if (!stralloc_cats(sa, v6 ? " [" : " ") || !stralloc_cats(sa, host) || (v6 && !stralloc_catb(sa, "]", 1))) return 0 ;
  if (!stralloc_catb(sa, ":", 1) || !stralloc_catb(sa, fmt, uint16_fmt(fmt, r->port))) return 0 ;
  if (!stralloc_cats(sa, " tls ") || !stralloc_cats(sa, tls_name(r->tls))) return 0 ;
  if (r->auth && (!stralloc_cats(sa, " auth") || !pword(sa, c->sa.s + r->auth))) return 0 ;
  return pend(sa) ;
}

int conf_print (conf const *c, stralloc *sa)
{
  size_t i, n ;
  if (!pline(sa, "hostname", c->sa.s + c->hostname)) return 0 ;
  if (!pline(sa, "spool", c->sa.s + c->spool)) return 0 ;
  if (!pline(sa, "programs", c->sa.s + c->bindir)) return 0 ;
  if (c->enqueue_socket && !pline(sa, "enqueue-socket", c->sa.s + c->enqueue_socket)) return 0 ;
  if (c->queue_user && !pline(sa, "queue-user", c->sa.s + c->queue_user)) return 0 ;
  if (c->smtp_user && !pline(sa, "smtp-user", c->sa.s + c->smtp_user)) return 0 ;
  if (c->alias_user && !pline(sa, "alias-user", c->sa.s + c->alias_user)) return 0 ;
  if (c->local_uid_min != 1000 && (!pkey(sa, "local-uid-min") || !puint(sa, c->local_uid_min) || !pend(sa))) return 0 ;
  if (c->cert && (!pkey(sa, "certificate") || !pword(sa, c->sa.s + c->cert)
   || !stralloc_cats(sa, " key") || !pword(sa, c->sa.s + c->key) || !pend(sa))) return 0 ;
  n = genalloc_len(conf_listen, &c->listen) ;
  for (i = 0 ; i < n ; i++)
  {
    conf_listen const *l = genalloc_s(conf_listen, &c->listen) + i ;
    if (!pkey(sa, "listen") || !pip(sa, l->ip, l->is6) || !stralloc_cats(sa, " port") || !puint(sa, l->port)) return 0 ;
    if (l->flags & CONF_LISTEN_TLSREQUIRED) { if (!stralloc_cats(sa, " tls-required")) return 0 ; }
    else if (l->flags & CONF_LISTEN_STARTTLS) { if (!stralloc_cats(sa, " starttls")) return 0 ; }
    if (l->flags & CONF_LISTEN_SMTPS && !stralloc_cats(sa, " smtps")) return 0 ;
    if (l->flags & CONF_LISTEN_AUTHREQUIRED && !stralloc_cats(sa, " auth-required")) return 0 ;
    if (l->flags & CONF_LISTEN_PLAINAUTH && !stralloc_cats(sa, " plain-auth")) return 0 ;
    if ((l->flags & (CONF_LISTEN_AUTH | CONF_LISTEN_AUTHREQUIRED | CONF_LISTEN_PLAINAUTH)) == CONF_LISTEN_AUTH
     && !stralloc_cats(sa, " auth")) return 0 ;
    if (!pend(sa)) return 0 ;
  }
  n = genalloc_len(size_t, &c->local_domains) ;
  if (n)
  {
    if (!pkey(sa, "local-domain")) return 0 ;
    for (i = 0 ; i < n ; i++) if (!pword(sa, c->sa.s + genalloc_s(size_t, &c->local_domains)[i])) return 0 ;
    if (!pend(sa)) return 0 ;
  }
  n = genalloc_len(conf_vdomain, &c->vdomains) ;
  for (i = 0 ; i < n ; i++)
  {
    conf_vdomain const *v = genalloc_s(conf_vdomain, &c->vdomains) + i ;
    if (!pkey(sa, "virtual-domain") || !pword(sa, c->sa.s + v->domain) || !stralloc_cats(sa, " map")
     || !pword(sa, c->sa.s + v->map) || !pend(sa)) return 0 ;
  }
  n = genalloc_len(conf_net, &c->relay_nets) ;
  if (n)
  {
    if (!pkey(sa, "relay-from")) return 0 ;
    for (i = 0 ; i < n ; i++)
    {
      conf_net const *net = genalloc_s(conf_net, &c->relay_nets) + i ;
      char fmt[UINT_FMT] ;
      if (!pip(sa, net->ip, net->is6) || !stralloc_catb(sa, "/", 1) || !stralloc_catb(sa, fmt, uint_fmt(fmt, net->bits))) return 0 ;
    }
    if (!pend(sa)) return 0 ;
  }
  if (c->aliases && !pline(sa, "aliases", c->sa.s + c->aliases)) return 0 ;
  if (c->auth_table && !pline(sa, "auth-table", c->sa.s + c->auth_table)) return 0 ;
  if (!pkey(sa, "deliver")) return 0 ;
  switch (c->deliver.type)
  {
    case CONF_DELIVER_MAILDIR : if (!stralloc_cats(sa, " maildir") || !pword(sa, c->sa.s + c->deliver.arg)) return 0 ; break ;
    case CONF_DELIVER_MBOX : if (!stralloc_cats(sa, " mbox") || !pword(sa, c->sa.s + c->deliver.arg)) return 0 ; break ;
    case CONF_DELIVER_LMTP : if (!stralloc_cats(sa, " lmtp") || !pword(sa, c->sa.s + c->deliver.arg)) return 0 ; break ;
    case CONF_DELIVER_MDA :
    {
      char const *s = c->sa.s + c->deliver.arg ;
      unsigned int k = 0 ;
      if (!stralloc_cats(sa, " mda")) return 0 ;
      for (; k < c->deliver.argc ; k++, s += strlen(s) + 1) if (!pword(sa, s)) return 0 ;
      break ;
    }
  }
  if (!pend(sa)) return 0 ;
  n = genalloc_len(conf_route, &c->routes) ;
  for (i = 0 ; i < n ; i++) if (!proute(sa, c, genalloc_s(conf_route, &c->routes) + i)) return 0 ;
  if (!pline(sa, "outbound-tls", tls_name(c->tls_outbound))) return 0 ;
  if (c->resolver_port && (!pkey(sa, "resolver") || !pip(sa, c->resolver_ip, c->resolver_is6)
   || !stralloc_cats(sa, " port") || !puint(sa, c->resolver_port) || !pend(sa))) return 0 ;
  if (!stralloc_cats(sa, "remote-port") || !puint(sa, c->remote_port) || !pend(sa)) return 0 ;
  if (c->ca_file && !pline(sa, "ca-file", c->sa.s + c->ca_file)) return 0 ;
  if (!stralloc_cats(sa, "limit message-size") || !psize(sa, c->message_size) || !pend(sa)
   || !stralloc_cats(sa, "limit recipients") || !puint(sa, c->max_recipients) || !pend(sa)
   || !stralloc_cats(sa, "limit connections") || !puint(sa, c->max_connections) || !pend(sa)
   || !stralloc_cats(sa, "limit connections-per-client") || !puint(sa, c->max_per_client) || !pend(sa)
   || !stralloc_cats(sa, "limit errors") || !puint(sa, c->max_errors) || !pend(sa)
   || !stralloc_cats(sa, "limit hops") || !puint(sa, c->max_hops) || !pend(sa)
   || !stralloc_cats(sa, "limit local-deliveries") || !puint(sa, c->concurrency_local) || !pend(sa)
   || !stralloc_cats(sa, "limit remote-deliveries") || !puint(sa, c->concurrency_remote) || !pend(sa)
   || !stralloc_cats(sa, "limit deliveries-per-destination") || !puint(sa, c->concurrency_destination) || !pend(sa)
   || !stralloc_cats(sa, "limit messages-per-connection") || !puint(sa, c->messages_per_connection) || !pend(sa)
   || !stralloc_cats(sa, "timeout command") || !pduration(sa, c->timeout_command) || !pend(sa)
   || !stralloc_cats(sa, "timeout data") || !pduration(sa, c->timeout_data) || !pend(sa)
   || !stralloc_cats(sa, "timeout session") || !pduration(sa, c->timeout_session) || !pend(sa)
   || !stralloc_cats(sa, "timeout connect") || !pduration(sa, c->timeout_connect) || !pend(sa)
   || !stralloc_cats(sa, "timeout delivery") || !pduration(sa, c->timeout_delivery) || !pend(sa)
   || !stralloc_cats(sa, "retry local") || !pduration(sa, c->retry_local) || !pend(sa)
   || !stralloc_cats(sa, "retry remote") || !pduration(sa, c->retry_remote) || !pend(sa)
   || !stralloc_cats(sa, "retry max") || !pduration(sa, c->retry_max) || !pend(sa)
   || !stralloc_cats(sa, "rescan") || !pduration(sa, c->rescan) || !pend(sa)
   || !stralloc_cats(sa, "expire") || !pduration(sa, c->expire) || !pend(sa)
   || !stralloc_cats(sa, "warn") || !pduration(sa, c->warn) || !pend(sa)) return 0 ;
  return 1 ;
}
