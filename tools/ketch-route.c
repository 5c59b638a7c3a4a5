/* ISC license: see LICENSE. */

/*
 * ketch-route: a dry run. For a sender, recipients and a client, print
 * the replies smtp-session would give (the same checks in the same order,
 * and policy_rcpt, the code it calls), then where each accepted recipient
 * would go: alias and virtual expansion through lookup(3) as the
 * scheduler expands, the local-deliver method and mailbox, or the remote
 * route, smarthost or MX hosts with their addresses and the TLS policy,
 * in the order remote-send tries them. Nothing is queued, delivered or
 * connected to; only the configuration, the tables and the DNS are read.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <pwd.h>
#include <time.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/ip46.h>

#include "exitcodes.h"
#include "address.h"
#include "callout.h"
#include "conf.h"
#include "decide.h"
#include "deliver.h"
#include "dns.h"
#include "dotforward.h"
#include "expand.h"
#include "log.h"
#include "lookup.h"
#include "policy.h"
#include "qstate.h"
#include "route.h"
#include "senderlogin.h"
#include "smtp.h"
#include "stscache.h"
#include "stspolicy.h"
#include "vuser.h"

#define USAGE "ketch-route [ -C conf ] [ -f sender ] [ -c client-ip ] [ -a ] [ -l port ] [ -u ] [ -n ] recipient..."
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define dienomem() strerr_diefu(KETCH_EX_TEMP, "allocate memory")

static conf cf ;
static int nodns = 0 ;
static qstate seen = QSTATE_ZERO ;
/* the MTA-STS policy of the domain shown, as remote-send has cached it (ketch-route never fetches) */
static stscache sts = STSCACHE_ZERO ;
static int sts_have = 0 ;  /* the recipients of one RCPT after expansion, as the scheduler keeps them */

static void putv (unsigned int indent, char const *const *v)
{
  for (; indent ; indent--) if (buffer_put(buffer_1, "  ", 2) < 0) goto err ;
  for (; *v ; v++) if (buffer_puts(buffer_1, *v) < 0) goto err ;
  if (buffer_put(buffer_1, "\n", 1) < 0) goto err ;
  return ;
 err:
  strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
}
/* untrusted or arbitrary bytes go through log_quote before they are printed */
#define PUT(indent, ...) putv(indent, (char const *const []){ __VA_ARGS__, 0 })

static char const *tls_policy_name (unsigned int t)
{
  switch (t)
  {
    case CONF_TLS_REQUIRED : return "required (STARTTLS or fail, certificate not checked)" ;
    case CONF_TLS_VERIFY : return "verify (STARTTLS and a certificate valid for the host, or fail)" ;
    case CONF_TLS_NONE : return "none (never STARTTLS)" ;
    case CONF_TLS_DANE : return "dane (STARTTLS and a certificate matching the TLSA records, or fail)" ;
    default : return "opportunistic (STARTTLS when offered, else plain; a failed handshake retries in plain)" ;
  }
}

/* the listener smtp-session would find for a local port (its listener_flags) */
static unsigned int listener (uint16_t port, int *found)
{
  size_t n = genalloc_len(conf_listen, &cf.listen), i = 0 ;
  conf_listen const *l = genalloc_s(conf_listen, &cf.listen) ;
  for (; i < n ; i++) if (l[i].port == port) { *found = 1 ; return l[i].flags ; }
  *found = 0 ;
  return cf.cert ? CONF_LISTEN_STARTTLS : 0 ;
}

/* the hop's addresses, as remote-send finds them (route_addresses), and whether one is our own listener */
static void show_addresses (unsigned int indent, route const *rt, route_hop const *h, int *secure)
{
  genalloc ips = GENALLOC_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  char const *host = route_str(rt, h->host) ;
  size_t n, i ;
  ip46 lit ;
  int r ;
  size_t k = ip46_scan(host, &lit) ;
  int myself = 0 ;
  *secure = 0 ;
  if (k && !host[k]) myself = route_is_myself(&cf, &lit, h->port) ;
  if (k && !host[k]) { PUT(indent, "address ", host, " (a literal)", myself ? ": one of this host's listeners, 554 5.4.6 loops back to myself" : "") ; return ; }
  if (nodns) { PUT(indent, "addresses: not looked up (-n)") ; return ; }
  r = route_addresses(host, h->gai, &ips, secure) ;
  if (r != DNS_OK)
  {
    PUT(indent, "addresses: ", dns_strerror(r), r == DNS_TEMP ? " (temporary: the mail waits)" : " (this host is skipped)") ;
    genalloc_free(dns_ip, &ips) ;
    return ;
  }
  n = genalloc_len(dns_ip, &ips) ;
  if (!stralloc_cats(&sa, "addresses:")) dienomem() ;
  for (i = 0 ; i < n ; i++)
  {
    dns_ip const *a = genalloc_s(dns_ip, &ips) + i ;
    char fmt[IP6_FMT] ;
    size_t m = a->is6 ? ip6_fmt(fmt, a->ip) : ip4_fmt(fmt, a->ip) ;
    ip46 ip ;
    if (a->is6) ip46_from_ip6(&ip, a->ip) ; else ip46_from_ip4(&ip, a->ip) ;
    if (route_is_myself(&cf, &ip, h->port)) myself = 1 ;
    if (!stralloc_catb(&sa, " ", 1) || !stralloc_catb(&sa, fmt, m)) dienomem() ;
  }
  if (!stralloc_0(&sa)) dienomem() ;
  PUT(indent, sa.s, myself ? " (one of them is this host's listener: 554 5.4.6 loops back to myself)" : "") ;
  stralloc_free(&sa) ;
  genalloc_free(dns_ip, &ips) ;
}

/* the TLS policy of an MX host's sessions, as remote-send decides it (route_tls_decide): DANE's records, or why not */
static void show_tls (unsigned int indent, route const *rt, route_hop const *h, int secure)
{
  route_tls t = ROUTE_TLS_ZERO ;
  size_t n, i ;
  if (!route_tls_decide(rt, h, secure, &t)) dienomem() ;
  route_sts_apply(rt, h, sts_have ? &sts.pol : 0, sts_have ? stscache_text(&sts) : 0, &t) ;
  if (t.temp) PUT(indent, "tls: deferred (451): ", t.why) ;
  else PUT(indent, "tls ", tls_policy_name(t.tls), ": ", t.why) ;
  n = tlsa_set_n(&t.tlsa) ;
  for (i = 0 ; i < n ; i++)
  {
    tlsa_rr const *rr = tlsa_set_rrs(&t.tlsa) + i ;
    PUT(indent + 1, "TLSA ", log_u64(rr->usage), " ", log_u64(rr->selector), " ", log_u64(rr->mtype), " (",
      tlsa_usage_name(rr->usage), " ", tlsa_selector_name(rr->selector), " ", tlsa_mtype_name(rr->mtype), ")") ;
  }
  if (t.tlsa.total > n) PUT(indent + 1, log_u64(t.tlsa.total - n), " TLSA records not usable for SMTP (RFC 7672 3.1.3)") ;
  route_tls_free(&t) ;
}

/* MTA-STS: the mode and the age of the policy remote-send cached in the spool, which the MX hosts' lines then follow */
static void show_sts (unsigned int indent, char const *domain, conf_tlspolicy const *tp)
{
  stralloc dir = STRALLOC_ZERO ;
  uint64_t now = (uint64_t)time(0) ;
  unsigned int i ;
  sts_have = 0 ;
  if (cf.mta_sts == CONF_MTASTS_OFF) { PUT(indent, "MTA-STS: off (mta-sts off)") ; return ; }
  if (tp) { PUT(indent, "MTA-STS: not applied (the tls-policy rule overrides it)") ; return ; }
  if (!stralloc_cats(&dir, cf.sa.s + cf.spool) || !stralloc_cats(&dir, "/" STSCACHE_DIR) || !stralloc_0(&dir)) dienomem() ;
  if (!stscache_read_in(dir.s, domain, &sts))
  {
    if (errno == ENOENT) PUT(indent, "MTA-STS: no cached policy (remote-send looks it up on the first delivery)") ;
    else PUT(indent, "MTA-STS: the cached policy cannot be read: ", strerror(errno)) ;
    stralloc_free(&dir) ;
    return ;
  }
  stralloc_free(&dir) ;
  sts_have = stscache_fresh(&sts, now) ;
  PUT(indent, "MTA-STS: ", stspolicy_mode_name(sts.pol.mode), " (id ", log_quote(sts.id), ", cached ", log_u64(now >= sts.fetched ? now - sts.fetched : 0),
    " s ago, max_age ", log_u64(sts.pol.max_age), sts_have ? ")" : ", expired: refetched on the next delivery)") ;
  for (i = 0 ; i < sts.pol.nmx ; i++)
  {
    char m[256] ;
    size_t len = sts.pol.mxlen[i] < sizeof(m) ? sts.pol.mxlen[i] : sizeof(m) - 1 ;
    memcpy(m, stscache_text(&sts) + sts.pol.mx[i], len) ; m[len] = 0 ;
    PUT(indent + 1, "mx ", log_quote(m)) ;
  }
}

/* a relay domain (lib/relaydom): how its recipients are checked at RCPT, and the cached callout answer for a */
static void show_relaydomain (unsigned int indent, char const *a, char const *domain)
{
  conf_relaydomain const *d = conf_relaydomain_find(&cf, domain) ;
  enum ketch_result r ;
  if (!d) return ;
  PUT(indent, "relay domain ", log_quote(domain), ": accepted from any client, queued, forwarded (a backup MX holds it while better exchangers are down)") ;
  if (d->check == CONF_RELAY_CHECK_LIST) PUT(indent + 1, "recipients checked against the list ", cf.sa.s + d->list, " (.cdb, newaliases -r): 550 5.1.1 when not listed") ;
  else if (d->check != CONF_RELAY_CHECK_VERIFY) PUT(indent + 1, "recipients not checked: the next hop's refusals come back as bounces") ;
  else
  {
    PUT(indent + 1, "recipients checked by a callout to the next hop below (EHLO, MAIL FROM:<>, RCPT TO, QUIT) within ", log_u64(cf.callout_timeout), "s: 2xx accepts, 5xx 550 5.1.1, else 450 4.1.1") ;
    if (!cf.callout_cache) PUT(indent + 2, "no callout cache: every RCPT asks") ;
    else if (callout_cache_get(cf.sa.s + cf.callout_cache, a, (uint64_t)time(0), cf.callout_positive, cf.callout_negative, &r))
      PUT(indent + 2, "cached answer in ", cf.sa.s + cf.callout_cache, ": ", r == KETCH_RESULT_OK ? "accepted" : "refused (550 5.1.1)", ", no callout") ;
    else PUT(indent + 2, "no cached answer in ", cf.sa.s + cf.callout_cache, ": the session asks") ;
  }
}

/* remote-send's choice for a domain: the same lib/route plan it delivers by */
static void show_remote (unsigned int indent, char const *domain)
{
  route rt = ROUTE_ZERO ;
  route_hop const *h ;
  conf_tlspolicy const *tp = conf_tlspolicy_find(&cf, domain) ;
  size_t n, i ;
  int secure ;
  if (!route_static(&rt, &cf, domain)) dienomem() ;
  h = route_hops(&rt) ;
  switch (rt.kind)
  {
    case ROUTE_K_ROUTE :
    case ROUTE_K_SMARTHOST :
      PUT(indent, rt.kind == ROUTE_K_ROUTE ? "route for " : "smarthost (every remote domain), not the MX", rt.kind == ROUTE_K_ROUTE ? log_quote(domain) : "", rt.kind == ROUTE_K_ROUTE ? ", not the MX" : "") ;
      PUT(indent + 1, "host ", route_str(&rt, h->host), " port ", log_u64(h->port)) ;
      show_addresses(indent + 2, &rt, h, &secure) ;
      PUT(indent + 1, "tls ", tls_policy_name(h->tls)) ;
      if (h->auth) PUT(indent + 1, "auth with the credentials in ", route_str(&rt, h->auth)) ;
      goto end ;
    case ROUTE_K_LITERAL :
      PUT(indent, "address literal: no MX, port ", log_u64(cf.remote_port)) ;
      if (rt.result == ROUTE_BADLITERAL) PUT(indent + 1, "bad address literal: 553 5.1.2, bounced") ;
      else
      {
        show_addresses(indent + 1, &rt, h, &secure) ;
        PUT(indent + 1, "tls ", tls_policy_name(h->tls)) ;
      }
      goto end ;
    default : break ;
  }
  PUT(indent, "MX hosts of ", log_quote(domain), ", port ", log_u64(cf.remote_port), ", tls ", tls_policy_name(cf.tls_outbound)) ;
  if (tp) PUT(indent + 1, "tls-policy ", log_quote(domain), " ", conf_tls_policy_name(tp->tls), " (configured: overrides outbound-tls and the DANE default)") ;
  else PUT(indent + 1, "no tls-policy rule: DANE where validated TLSA records exist (RFC 7672), else outbound-tls") ;
  show_sts(indent + 1, domain, tp) ;
  if (!nodns) PUT(indent + 1, dns_dnssec_trusted() ? "DNSSEC: the resolver's AD bit is trusted" : "DNSSEC: no trusted validating resolver (dnssec-resolver): DANE cannot apply") ;
  if (nodns) { PUT(indent + 1, "not looked up (-n)") ; goto end ; }
  if (!route_mx(&rt, &cf, domain)) dienomem() ;
  switch (rt.result)
  {
    case ROUTE_TEMP : PUT(indent + 1, "temporary DNS failure: 451 4.4.3, retried later") ; goto end ;
    case ROUTE_NXDOMAIN : PUT(indent + 1, "the domain does not exist: 550 5.1.2, bounced") ; goto end ;
    case ROUTE_NULLMX : PUT(indent + 1, "null MX (RFC 7505): 556 5.1.10, bounced") ; goto end ;
    default : break ;
  }
  if (rt.kind == ROUTE_K_IMPLICIT) PUT(indent + 1, "no MX records: the domain is its own exchanger (implicit MX)") ;
  h = route_hops(&rt) ;
  n = route_nhops(&rt) ;
  for (i = 0 ; i < n ; i++)
  {
    if (h[i].self) { PUT(indent + 1, "MX ", log_u64(h[i].pref), " ", route_str(&rt, h[i].host), ": this host or worse, not tried") ; continue ; }
    PUT(indent + 1, "MX ", log_u64(h[i].pref), " ", route_str(&rt, h[i].host)) ;
    show_addresses(indent + 2, &rt, h + i, &secure) ;
    show_tls(indent + 2, &rt, h + i, secure) ;
  }
  if (rt.result == ROUTE_OK) PUT(indent + 1, rt.mxsecure ? "the MX answer is DNSSEC-validated" : "the MX answer is not DNSSEC-validated") ;
  if (rt.result == ROUTE_LOOP) PUT(indent + 1, "no better exchanger than this host: 554 5.4.6 loops back to myself") ;
 end:
  route_free(&rt) ;
}

static void show_rcpt (unsigned int indent, char const *a, char const *orig, unsigned int depth) ;
static void show_entry (unsigned int indent, char const *t, char const *orig, char const *who) ;

/* alias's recipients, as the scheduler adds them (expand_entries), each with alias as its original */
static void show_alias (unsigned int indent, char const *alias, lookup const *l, unsigned int depth)
{
  stralloc texts = STRALLOC_ZERO ;
  genalloc items = GENALLOC_ZERO ;
  size_t n, k = 0 ;
  if (!expand_entries(&cf, l->sa.s + l->entries, l->entrieslen, depth + 1, &texts, &items)) dienomem() ;
  n = genalloc_len(expand_item, &items) ;
  for (; k < n ; k++)
  {
    expand_item const *it = genalloc_s(expand_item, &items) + k ;
    char const *t = texts.s + it->text ;
    unsigned int in = indent + it->depth - depth - 1 ;
    switch (it->kind)
    {
      case EXPAND_I_RCPT :
      {
        /* local-spawn's rule (lib/expand): the owner of the file that lists it, alias-user for root's */
        char const *who = it->include ? ", as the owner of the include file (alias-user if root's; nothing if group- or world-writable)" : ", as the owner of the aliases file (alias-user if root's)" ;
        if (t[0] == '/' || t[0] == '|') show_entry(in, t, alias, who) ;
        else show_rcpt(in, t, alias, it->depth) ;
        break ;
      }
      case EXPAND_I_INCLUDE : PUT(in, log_quote(t), ":") ; break ;
      case EXPAND_I_UNREADABLE : PUT(in, log_quote(t), ": unreadable (", strerror(it->err), "): skipped") ; break ;
      case EXPAND_I_TOODEEP : PUT(in, log_quote(t), ": too deep, skipped") ; break ;
      case EXPAND_I_NOTADDR : PUT(in, log_quote(t), ": not an address, skipped") ; break ;
      default : PUT(in, log_quote(t), ": bad entry, skipped") ; break ;
    }
  }
  stralloc_free(&texts) ;
  genalloc_free(expand_item, &items) ;
}

/* the path as the client would write it: in angle brackets, control characters quoted */
static int path (char const *arg, stralloc *sa)
{
  size_t i = 0 ;
  sa->len = 0 ;
  if (arg[0] != '<' && !stralloc_catb(sa, "<", 1)) return 0 ;
  for (; arg[i] ; i++)
    if ((unsigned char)arg[i] < 32 || arg[i] == 127) { errno = EINVAL ; return 0 ; }
  if (!stralloc_cats(sa, arg)) return 0 ;
  if (arg[0] != '<' && !stralloc_catb(sa, ">", 1)) return 0 ;
  return stralloc_0(sa) ;
}

/*
 * The delivery as lib/deliver reads decide's arguments back, from the
 * method on: "local-deliver METHOD operands", the operands (from the
 * tables) quoted. 1, or 0 and errno.
 */
static int delivery_line (decide const *d, stralloc *line)
{
  genalloc v = GENALLOC_ZERO ;   /* char const *: local-deliver's argv */
  deliver_req r = DELIVER_REQ_ZERO ;
  char const *s = "local-deliver" ;
  size_t pos = 0 ;
  int ok = 0 ;
  if (!genalloc_append(char const *, &v, &s)) goto end ;
  for (; pos < d->args.len ; pos += strlen(d->args.s + pos) + 1)
  {
    s = d->args.s + pos ;
    if (!genalloc_append(char const *, &v, &s)) goto end ;
  }
  s = 0 ;
  if (!genalloc_append(char const *, &v, &s)) goto end ;
  if (!deliver_req_argv(&r, genalloc_len(char const *, &v) - 1, genalloc_s(char const *, &v))) { errno = EINVAL ; goto end ; }
  /* the method's word comes just before its operands (local-deliver(8)) */
  line->len = 0 ;
  if (!stralloc_cats(line, "local-deliver ") || !stralloc_cats(line, r.args[-1])) goto end ;
  for (pos = 0 ; r.args[pos] ; pos++)
    if (!stralloc_catb(line, " ", 1) || !stralloc_cats(line, log_quote(r.args[pos]))) goto end ;
  ok = stralloc_0(line) ;
 end:
  genalloc_free(char const *, &v) ;
  return ok ;
}

/*
 * What a root scheduler's local-spawn decides for rcpt (lib/decide with
 * DECIDE_F_SPAWN): it checks whom the delivery runs as, and may refuse
 * what a scheduler running as its own user delivers. The user it runs
 * as is said with who.
 */
static void show_spawn (unsigned int indent, char const *rcpt, char const *orig, int who)
{
  decide d = DECIDE_ZERO ;
  lookup l = LOOKUP_ZERO ;
  if (!decide_local(&cf, &l, "-", rcpt, orig, cf.timeout_delivery, DECIDE_F_SPAWN, &d))
    PUT(indent, "a scheduler started as root (local-spawn): temporary failure (", strerror(errno), ")") ;
  else if (d.why) PUT(indent, "a scheduler started as root (local-spawn) does not deliver it: ", d.why, ": temporary failure") ;
  else if (who && !d.fail) PUT(indent, "a scheduler started as root (local-spawn) runs it as ", log_quote(d.name), " (uid ", log_u64(d.uid), ")") ;
  lookup_free(&l) ;
  decide_free(&d) ;
}

/* an alias's file or program: its delivery as the scheduler decides it (lib/decide), and who runs it */
static void show_entry (unsigned int indent, char const *t, char const *orig, char const *who)
{
  decide d = DECIDE_ZERO ;
  stralloc line = STRALLOC_ZERO ;
  if (!decide_local(&cf, 0, "-", t, orig, cf.timeout_delivery, 0, &d)) dienomem() ;
  if (d.fail) PUT(indent, log_quote(t), ": bounced, ", d.fail) ;
  else
  {
    if (!delivery_line(&d, &line)) strerr_diefu(KETCH_EX_TEMP, "read back the arguments of local-deliver for ", log_quote(t)) ;
    PUT(indent, log_quote(t), ": ", line.s, t[0] == '|' ? " (argv split on spaces, no shell)" : "", who) ;
    show_spawn(indent + 1, t, orig, 1) ;
  }
  stralloc_free(&line) ;
  decide_free(&d) ;
}

/* an unknown user of a virtual domain: the file that does not list it (lib/vuser) */
static void show_vunknown (unsigned int indent, char const *domain)
{
  conf_vdomain const *v = conf_vdomain_find(&cf, domain) ;
  if (v) PUT(indent, "not listed in the virtual-domain ", v->users == CONF_VUSERS_PASSWD ? "passwd-file " : "map ", log_quote(cf.sa.s + v->map)) ;
}

/*
 * dot-forward on: the delivery reads ~/.forward as the user (lib/deliver),
 * so this reads it only when it runs as that user too; anyone else (root
 * included) opens nothing in the home and is told who can see it.
 */
static void show_forward (unsigned int indent, lookup const *l, char const *a)
{
  char const *home = l->sa.s + l->home, *why = 0 ;
  stralloc sa = STRALLOC_ZERO ;
  dotforward f = DOTFORWARD_ZERO ;
  size_t i = 0 ;
  int r = 0 ;
  if (geteuid() != l->uid)
  {
    PUT(indent, "dot-forward on: ", log_quote(home), "/.forward, when there is one, decides; the delivery reads it as the user (ketch-route run as ", log_quote(l->sa.s + l->user), " shows it)") ;
    return ;
  }
  switch (dotforward_read(home, l->uid, &sa, &why))
  {
    case DOTFORWARD_R_NONE : PUT(indent, "dot-forward on: no ", log_quote(home), "/.forward: delivered as above") ; goto end ;
    case DOTFORWARD_R_ERROR : PUT(indent, "dot-forward on: ", log_quote(home), "/.forward unreadable (", strerror(errno), "): temporary failure") ; goto end ;
    case DOTFORWARD_R_REFUSED : break ;
    default :
      r = dotforward_parse(&f, sa.s, sa.len, l->sa.s + l->user, a, cf.sa.s + cf.hostname, &why) ;
      if (r < 0) dienomem() ;
  }
  if (!r) { PUT(indent, "dot-forward on: ", log_quote(home), "/.forward ignored (", why, "): delivered as above") ; goto end ; }
  if (!f.n) { PUT(indent, "dot-forward on: ", log_quote(home), "/.forward names nothing: delivered as above") ; goto end ; }
  for (; i < f.sa.len ; i += strlen(f.sa.s + i) + 1)
  {
    char const *t = f.sa.s + i + 1 ;
    switch (f.sa.s[i])
    {
      case DOTFORWARD_SELF : PUT(indent, "~/.forward: the mailbox, as above") ; break ;
      case DOTFORWARD_ADDRESS : PUT(indent, "~/.forward: forwarded to <", t, ">, queued again with the sender kept") ; break ;
      case DOTFORWARD_FILE : PUT(indent, "~/.forward: local-deliver mbox ", log_quote(t), ", as the user") ; break ;
      default : PUT(indent, "~/.forward: local-deliver mda ", log_quote(t), ", as the user, no shell") ; break ;
    }
  }
 end:
  stralloc_free(&sa) ;
  dotforward_free(&f) ;
}

/* a local or virtual user: the delivery as the scheduler decides it (lib/decide), from the method on */
static void show_local (unsigned int indent, char const *a, char const *qa, char const *orig, lookup *l)
{
  decide d = DECIDE_ZERO ;
  if (l->kind == LOOKUP_LOCAL)
  {
    PUT(indent, qa, ": local user ", log_quote(l->sa.s + l->user), " (uid ", log_u64(l->uid), ", home ", log_quote(l->sa.s + l->home), ")") ;
    /* the scheduler's start_local refuses uid 0 only when it runs
       local-spawn, that is when it was started as root: which it is, the
       configuration does not say, so both answers are given */
    if (!l->uid)
    {
      PUT(indent + 1, "uid 0: a scheduler started as root (a system install, local-spawn) does not deliver it: temporary failure until root is aliased to a user") ;
      PUT(indent + 1, "uid 0: a scheduler started as another user (a single-user instance, as make run's) delivers it as that user") ;
    }
  }
  if (!decide_local(&cf, l, "-", a, orig, cf.timeout_delivery, 0, &d)) dienomem() ;
  if (l->kind == LOOKUP_VIRTUAL)
  {
    /* how smtp-session checked it at RCPT: the domain's list of users (lib/vuser) */
    conf_vdomain const *v = conf_vdomain_find(&cf, l->sa.s + l->domain) ;
    if (v) PUT(indent, qa, ": checked at RCPT: listed in the virtual-domain ", v->users == CONF_VUSERS_PASSWD ? "passwd-file " : "map ", log_quote(cf.sa.s + v->map)) ;
  }
  if (d.fail && l->kind == LOOKUP_VIRTUAL) PUT(indent, qa, ": virtual user: bounced, ", d.fail) ;
  else if (d.fail) PUT(indent + 1, "bad mailbox path for this user: bounced, 554 5.3.5") ;
  else
  {
    stralloc line = STRALLOC_ZERO ;
    if (!delivery_line(&d, &line)) strerr_diefu(KETCH_EX_TEMP, "read back the arguments of local-deliver for ", qa) ;
    if (l->kind == LOOKUP_VIRTUAL)
      PUT(indent, qa, ": virtual user of ", log_quote(l->sa.s + l->domain), ": ", line.s,
        vuser_lmtp(conf_vdomain_find(&cf, l->sa.s + l->domain), l->sa.s + l->path)
          ? ", RCPT TO the recipient as received, no mailbox written here (no privilege: as alias-user under a root scheduler)" : ", as the owner of the map") ;
    else PUT(indent + 1, line.s) ;
    stralloc_free(&line) ;
    if (l->kind == LOOKUP_LOCAL && cf.dot_forward == CONF_DOTFORWARD_ON) show_forward(indent + 1, l, a) ;
    /* root's refusal is said above, both ways */
    if (l->kind == LOOKUP_VIRTUAL || l->uid) show_spawn(indent + 1, a, orig, l->kind == LOOKUP_VIRTUAL) ;
  }
  if (l->ext) PUT(indent + 1, "extension ", log_quote(l->sa.s + l->ext)) ;
  decide_free(&d) ;
}

/* where the scheduler sends one recipient (its expand, dispatch and start_local) */
static void show_rcpt (unsigned int indent, char const *a, char const *orig, unsigned int depth)
{
  lookup l = LOOKUP_ZERO ;
  stralloc qsa = STRALLOC_ZERO ;
  char const *qa ;
  /* a canonical address holds no control character and no newline (address.h): printed as is */
  if (!stralloc_catb(&qsa, "<", 1) || !stralloc_cats(&qsa, a) || !stralloc_catb(&qsa, ">", 2)) dienomem() ;
  qa = qsa.s ;
  switch (expand_admit(&seen, a))
  {
    case EXPAND_A_KNOWN : PUT(indent, qa, ": a recipient already, not added again") ; goto end ;
    case EXPAND_A_TOOMANY : PUT(indent, qa, ": more than ", log_u64(EXPAND_MAX), " recipients, not added") ; goto end ;
    default : if (!qstate_add_rcpt(&seen, a, 0)) dienomem() ;
  }
  if (!lookup_address(&l, &cf, a))
  {
    PUT(indent, qa, ": temporary lookup failure (", strerror(errno), "): retried later") ;
    goto end ;
  }
  /* an alias's recipient (depth > 0): a system account it names is a local user */
  if (depth) lookup_aliased(&l) ;
  switch (l.kind)
  {
    case LOOKUP_UNKNOWN :
      PUT(indent, qa, l.flags & LOOKUP_F_SYSTEM ? ": a system account (local-uid-min), which only an alias may name: bounced, 550 5.1.1" : ": no such user: bounced, 550 5.1.1") ;
      if (l.domain) show_vunknown(indent + 1, l.sa.s + l.domain) ;
      break ;
    case LOOKUP_REMOTE :
      PUT(indent, qa, ": remote, remote-send") ;
      show_relaydomain(indent + 1, a, strrchr(a, '@') + 1) ;
      show_remote(indent + 1, strrchr(a, '@') + 1) ;
      break ;
    case LOOKUP_ALIAS :
      PUT(indent, qa, l.flags & LOOKUP_F_POSTMASTER ? ": the built-in postmaster alias" : l.flags & LOOKUP_F_VIRTUAL ? ": a virtual user's forward" : ": an alias") ;
      if (depth >= EXPAND_DEPTH) { PUT(indent + 1, "nested too deep: bounced, 554 5.4.6") ; break ; }
      show_alias(indent + 1, a, &l, depth) ;
      break ;
    case LOOKUP_VIRTUAL :
    case LOOKUP_LOCAL :
      show_local(indent, a, qa, orig, &l) ;
      break ;
  }
  lookup_free(&l) ;
 end:
  stralloc_free(&qsa) ;
}

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  char const *sender = "" ;
  char const *client = 0 ;
  char const *mailreply = "250 2.1.0 Ok" ;
  int authed = 0, utf8 = 0, haveip = 0 ;
  unsigned int lport = 0, lflags = 0 ;
  unsigned int nrcpt = 0 ;
  int denied = 0 ;
  ip46 ip ;
  stralloc line = STRALLOC_ZERO ;
  PROG = "ketch-route" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:f:c:al:un", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'f' : sender = l.arg ; break ;
        case 'c' : client = l.arg ; break ;
        case 'a' : authed = 1 ; break ;
        case 'l' : if (!uint0_scan(l.arg, &lport) || !lport || lport > 65535) dieusage() ; break ;
        case 'u' : utf8 = 1 ; break ;
        case 'n' : nodns = 1 ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (!argc) dieusage() ;
  if (client)
  {
    /* as smtp-session: an IPv4-mapped address is an IPv4 client */
    if (case_startb(client, strlen(client), "::ffff:") && strchr(client + 7, '.')) client += 7 ;
    if (ip46_scan(client, &ip) != strlen(client)) strerr_dief(KETCH_EX_PERM, "not an IP address: ", client) ;
    haveip = 1 ;
  }
  if (!conf_load_default(&cf, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to read the configuration") ;
  if (!nodns && !dns_init(cf.resolver_ip, cf.resolver_is6, cf.resolver_port, cf.timeout_command < 5 ? cf.timeout_command : 5))
    strerr_diefusys(KETCH_EX_TEMP, "initialise the resolver") ;
  /* as remote-send does */
  if (!nodns && (cf.resolver_dnssec || !cf.resolver_port)) dns_dnssec_init(cf.resolver_dnssec ? DNS_DNSSEC_TRUST : DNS_DNSSEC_AUTO) ;

  {
    char ipfmt[IP46_FMT] ;
    ipfmt[haveip ? ip46_fmt(ipfmt, &ip) : 0] = 0 ;
    PUT(0, "client ", haveip ? ipfmt : "unknown", haveip && conf_relay_allowed(&cf, ip.ip, ip46_is6(&ip)) ? " (in relay-from)" : "",
      authed ? ", authenticated" : ", not authenticated") ;
  }
  if (lport)
  {
    int found ;
    lflags = listener((uint16_t)lport, &found) ;
    PUT(0, "listener port ", log_u64(lport), found ? "" : " (not in the configuration: as under tcpserver)", ":",
      lflags & CONF_LISTEN_SMTPS ? " implicit TLS" : "",
      lflags & CONF_LISTEN_STARTTLS ? " STARTTLS offered" : "",
      lflags & CONF_LISTEN_TLSREQUIRED ? " STARTTLS required" : "",
      !(lflags & (CONF_LISTEN_SMTPS | CONF_LISTEN_STARTTLS | CONF_LISTEN_TLSREQUIRED)) ? " no TLS" : "",
      lflags & CONF_LISTEN_AUTHREQUIRED ? ", AUTH required" : lflags & (CONF_LISTEN_AUTH | CONF_LISTEN_PLAINAUTH) ? ", AUTH offered" : "") ;
    /* smtp-session's do_mail; a client of a tls-required listener is
       assumed to have done STARTTLS, since that is all it needs */
    if ((lflags & CONF_LISTEN_AUTHREQUIRED) && !authed) mailreply = "530 5.7.0 Authentication required" ;
    if (lflags & (CONF_LISTEN_AUTH | CONF_LISTEN_PLAINAUTH))
      PUT(1, "AUTH checked by ", cf.auth_dovecot ? "Dovecot at " : "the auth-table ",
        cf.auth_dovecot ? cf.sa.s + cf.auth_dovecot : cf.auth_table ? cf.sa.s + cf.auth_table : "(none)",
        cf.auth_dovecot ? " (the mechanisms it announces, of PLAIN and LOGIN)" : "") ;
  }

  /* MAIL FROM: the checks of smtp-session's do_mail, in its order */
  {
    address a = ADDRESS_ZERO ;
    size_t plen, pstart ;
    int r = 0 ;
    if (!path(sender, &line)) { if (errno != EINVAL) dienomem() ; strerr_dief(KETCH_EX_PERM, "a control character in the sender ", log_quote(sender)) ; }
    if (mailreply[0] == '2')
    {
      if (!smtp_path_split(line.s, line.len - 1, &plen, &pstart) || pstart < line.len - 1) mailreply = "501 5.5.4 Syntax: MAIL FROM:<address>" ;
      else if ((r = address_parse(&a, line.s, plen, ADDRESS_BRACKETS | ADDRESS_NULL_OK | (utf8 ? ADDRESS_UTF8 : 0))))
        mailreply = r == ADDRESS_E8BIT ? "553 5.6.7 Non-ASCII address needs SMTPUTF8" : "553 5.1.7 Bad sender address syntax" ;
    }
    PUT(0, "MAIL FROM:", line.s, utf8 ? " SMTPUTF8" : "", ": ", mailreply) ;
    /* sender-login-map: who may send as this address, and whether this listener asks */
    if (cf.sender_login_map && mailreply[0] == '2' && a.len)
    {
      stralloc map = STRALLOC_ZERO, owners = STRALLOC_ZERO ;
      if (!openslurpclose(&map, cf.sa.s + cf.sender_login_map)) strerr_diefusys(KETCH_EX_TEMP, "read ", cf.sa.s + cf.sender_login_map) ;
      if (!senderlogin_owners(map.s, map.len, a.s, a.len, &owners)) dienomem() ;
      if (owners.len) owners.s[owners.len - 1] = 0 ;
      else if (!stralloc_cats(&owners, "no login") || !stralloc_0(&owners)) dienomem() ;
      PUT(1, "sender-login: ", owners.s, " may send as <", a.s, ">",
        !lport ? " (-l shows whether a listener checks)" : conf_sender_login(&cf, lflags) ? "; this listener checks (553 5.7.1 to any other login, at MAIL and for From:)" : "; this listener does not check") ;
      stralloc_free(&map) ; stralloc_free(&owners) ;
    }
  }

  /* RCPT TO: smtp-session's do_rcpt, then the scheduler's routing */
  for (; *argv ; argv++)
  {
    address a = ADDRESS_ZERO ;
    size_t plen, pstart ;
    char const *rep ;
    int r ;
    if (!path(*argv, &line)) { if (errno != EINVAL) dienomem() ; strerr_dief(KETCH_EX_PERM, "a control character in the recipient ", log_quote(*argv)) ; }
    if (mailreply[0] != '2') { PUT(0, "RCPT TO:", line.s, ": 503 5.5.1 Need MAIL before RCPT") ; continue ; }
    if (!smtp_path_split(line.s, line.len - 1, &plen, &pstart) || pstart < line.len - 1) { PUT(0, "RCPT TO:", line.s, ": 501 5.5.4 Syntax: RCPT TO:<address>") ; continue ; }
    if (nrcpt >= cf.max_recipients) { PUT(0, "RCPT TO:", line.s, ": 452 4.5.3 Too many recipients") ; continue ; }
    r = address_parse(&a, line.s, plen, ADDRESS_BRACKETS | ADDRESS_NODOMAIN_OK | (utf8 ? ADDRESS_UTF8 : 0)) ;
    if (r)
    {
      PUT(0, "RCPT TO:", line.s, ": ", r == ADDRESS_E8BIT ? "553 5.6.7 Non-ASCII address needs SMTPUTF8" : "501 5.1.3 Bad recipient address syntax") ;
      continue ;
    }
    if (a.at >= a.len)
    {
      /* bare "Postmaster" (RFC 5321 §4.5.1): ours */
      char const *h = cf.sa.s + cf.hostname ;
      size_t hl = strlen(h) ;
      if (a.len + 1 + hl > ADDRESS_MAX) { PUT(0, "RCPT TO:", line.s, ": 501 5.1.3 Bad recipient address syntax") ; continue ; }
      a.at = a.len ;
      a.s[a.len++] = '@' ;
      memcpy(a.s + a.len, h, hl) ; a.len += hl ; a.s[a.len] = 0 ;
    }
    r = policy_rcpt(&cf, haveip ? ip.ip : 0, haveip && ip46_is6(&ip), authed, &a, &rep) ;
    PUT(0, "RCPT TO:<", a.s, ">: ", rep, r == POLICY_VERIFY ? " if the callout to the next hop accepts it (below)" : "") ;
    if (!r && !strncmp(rep, "550 5.7.1", 9)) denied = 1 ;
    if (!r && !strncmp(rep, "550 5.1.1", 9)) show_vunknown(1, a.s + a.at + 1) ;
    if (!r) continue ;
    nrcpt++ ;
    qstate_free(&seen) ;
    show_rcpt(1, a.s, 0, 0) ;
  }
  if (denied)
    PUT(0, "relaying denied: this client is neither in relay-from nor authenticated; -a shows the replies to an authenticated client (or a local submission), -c an address those to a client there") ;
  if (!buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  /* freed for leak checkers (make SAN=...), not for the kernel's sake */
  stralloc_free(&line) ; qstate_free(&seen) ; stralloc_free(&err) ; conf_free(&cf) ;
  return 0 ;
}
