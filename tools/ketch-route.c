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
#include <strings.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pwd.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/ip46.h>
#include <skalibs/skamisc.h>

#include "exitcodes.h"
#include "address.h"
#include "conf.h"
#include "dns.h"
#include "lookup.h"
#include "policy.h"
#include "smtp.h"

#define USAGE "ketch-route [ -C conf ] [ -f sender ] [ -c client-ip ] [ -a ] [ -l port ] [ -u ] [ -n ] recipient..."
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define dienomem() strerr_diefu(KETCH_EX_TEMP, "allocate memory")

/* the scheduler's expansion limits (bin/scheduler.c) */
#define EXPAND_MAX 1000
#define EXPAND_DEPTH 10

static conf cf ;
static int nodns = 0 ;
static stralloc seen = STRALLOC_ZERO ;  /* expanded recipients, NUL-terminated: a loop stops here */
static unsigned int nseen = 0 ;

static void putv (unsigned int indent, char const *const *v)
{
  for (; indent ; indent--) if (buffer_put(buffer_1, "  ", 2) < 0) goto err ;
  for (; *v ; v++) if (buffer_puts(buffer_1, *v) < 0) goto err ;
  if (buffer_put(buffer_1, "\n", 1) < 0) goto err ;
  return ;
 err:
  strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
}
#define PUT(indent, ...) putv(indent, (char const *const []){ __VA_ARGS__, 0 })

/* untrusted or arbitrary bytes are quoted before they are printed */
static char const *q (char const *s)
{
  static stralloc ring[6] = { STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO, STRALLOC_ZERO } ;
  static unsigned int k = 0 ;
  stralloc *sa = ring + (k++ % 6) ;
  sa->len = 0 ;
  if (!string_quote(sa, s, strlen(s)) || !stralloc_0(sa)) dienomem() ;
  return sa->s ;
}

static char const *fmtu (uint64_t n)
{
  static char ring[4][UINT64_FMT] ;
  static unsigned int k = 0 ;
  char *s = ring[k++ & 3] ;
  s[uint64_fmt(s, n)] = 0 ;
  return s ;
}

static char const *tls_policy_name (unsigned int t)
{
  switch (t)
  {
    case CONF_TLS_REQUIRED : return "required (STARTTLS or fail, certificate not checked)" ;
    case CONF_TLS_VERIFY : return "verify (STARTTLS and a certificate valid for the host, or fail)" ;
    case CONF_TLS_NONE : return "none (never STARTTLS)" ;
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

/* the host's addresses, as remote-send finds them (getaddrinfo for a route, then the DNS) */
static void show_addresses (unsigned int indent, char const *host, int use_gai)
{
  genalloc ips = GENALLOC_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  size_t n, i ;
  ip46 lit ;
  int r = DNS_NXDOMAIN ;
  size_t k = ip46_scan(host, &lit) ;
  if (k && !host[k]) { PUT(indent, "address ", host, " (a literal)") ; return ; }
  if (nodns) { PUT(indent, "addresses: not looked up (-n)") ; return ; }
  if (use_gai)
  {
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
        if (!genalloc_append(dns_ip, &ips, &a)) dienomem() ;
        r = DNS_OK ;
      }
      freeaddrinfo(ai) ;
    }
  }
  if (r != DNS_OK) r = dns_ip_lookup(host, &ips) ;
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
    if (!stralloc_catb(&sa, " ", 1) || !stralloc_catb(&sa, fmt, m)) dienomem() ;
  }
  if (!stralloc_0(&sa)) dienomem() ;
  PUT(indent, sa.s) ;
  stralloc_free(&sa) ;
  genalloc_free(dns_ip, &ips) ;
}

/* remote-send's choice for a domain (bin/remote-send.c, deliver) */
static void show_remote (unsigned int indent, char const *domain)
{
  conf_route const *route = conf_route_find(&cf, domain) ;
  char const *me = conf_str(&cf, cf.hostname) ;
  if (route)
  {
    PUT(indent, route->domain ? "route for " : "smarthost (every remote domain), not the MX", route->domain ? q(domain) : "", route->domain ? ", not the MX" : "") ;
    PUT(indent + 1, "host ", conf_str(&cf, route->host), " port ", fmtu(route->port)) ;
    show_addresses(indent + 2, conf_str(&cf, route->host), 1) ;
    PUT(indent + 1, "tls ", tls_policy_name(route->tls)) ;
    if (route->auth) PUT(indent + 1, "auth with the credentials in ", conf_str(&cf, route->auth)) ;
    return ;
  }
  if (domain[0] == '[')
  {
    PUT(indent, "address literal: no MX, port ", fmtu(cf.remote_port)) ;
    PUT(indent + 1, "tls ", tls_policy_name(cf.tls_outbound)) ;
    return ;
  }
  PUT(indent, "MX hosts of ", q(domain), ", port ", fmtu(cf.remote_port), ", tls ", tls_policy_name(cf.tls_outbound)) ;
  if (nodns) { PUT(indent + 1, "not looked up (-n)") ; return ; }
  {
    genalloc mxs = GENALLOC_ZERO ;
    stralloc names = STRALLOC_ZERO ;
    dns_mx *mx ;
    size_t n, i ;
    unsigned int selfpref = 65536 ;
    int r = dns_mx_lookup(domain, &mxs, &names) ;
    switch (r)
    {
      case DNS_TEMP : PUT(indent + 1, "temporary DNS failure: 451 4.4.3, retried later") ; goto end ;
      case DNS_NXDOMAIN : PUT(indent + 1, "the domain does not exist: 550 5.1.2, bounced") ; goto end ;
      case DNS_NODATA :
      {
        /* RFC 5321 §5.1: no MX, the domain is its own exchanger */
        dns_mx m = { .pref = 0, .name = names.len } ;
        if (!stralloc_cats(&names, domain) || !stralloc_0(&names) || !genalloc_append(dns_mx, &mxs, &m)) dienomem() ;
        PUT(indent + 1, "no MX records: the domain is its own exchanger (implicit MX)") ;
        break ;
      }
      default : break ;
    }
    mx = genalloc_s(dns_mx, &mxs) ;
    n = genalloc_len(dns_mx, &mxs) ;
    if (dns_mx_isnull(mx, n, names.s)) { PUT(indent + 1, "null MX (RFC 7505): 556 5.1.10, bounced") ; goto end ; }
    dns_mx_sort(mx, n) ;
    for (i = 0 ; i < n ; i++)
      if (!strcasecmp(names.s + mx[i].name, me) && mx[i].pref < selfpref) selfpref = mx[i].pref ;
    for (i = 0 ; i < n ; i++)
    {
      if (mx[i].pref >= selfpref) { PUT(indent + 1, "MX ", fmtu(mx[i].pref), " ", names.s + mx[i].name, ": this host or worse, not tried") ; continue ; }
      if (!names.s[mx[i].name]) continue ;
      PUT(indent + 1, "MX ", fmtu(mx[i].pref), " ", names.s + mx[i].name) ;
      show_addresses(indent + 2, names.s + mx[i].name, 0) ;
    }
    if (n && mx[0].pref >= selfpref) PUT(indent + 1, "no better exchanger than this host: 554 5.4.6 loops back to myself") ;
   end:
    genalloc_free(dns_mx, &mxs) ;
    stralloc_free(&names) ;
  }
}

static void show_rcpt (unsigned int indent, char const *a, unsigned int depth) ;

/* one alias entry, as the scheduler's add_entry treats it */
static void show_entry (unsigned int indent, char const *entry, unsigned int depth)
{
  unsigned int k = lookup_entry_kind(entry) ;
  size_t i = 0 ;
  for (; entry[i] ; i++) if ((unsigned char)entry[i] < 32 || entry[i] == 127) k = LOOKUP_E_BAD ;
  switch (k)
  {
    case LOOKUP_E_FILE :
      PUT(indent, q(entry), ": local-deliver mbox ", q(entry), ", as the owner of the aliases file") ;
      return ;
    case LOOKUP_E_PROGRAM :
      PUT(indent, q(entry), ": local-deliver mda, argv split on spaces, no shell, as the owner of the aliases file") ;
      return ;
    case LOOKUP_E_INCLUDE :
    {
      stralloc inc = STRALLOC_ZERO ;
      ssize_t n = lookup_read_include(entry + 9, &inc) ;
      size_t pos = 0 ;
      if (n < 0) { PUT(indent, q(entry), ": unreadable (", strerror(errno), "): skipped") ; return ; }
      if (depth + 1 > EXPAND_DEPTH) { PUT(indent, q(entry), ": too deep, skipped") ; stralloc_free(&inc) ; return ; }
      PUT(indent, q(entry), ":") ;
      for (; pos < inc.len ; pos += strlen(inc.s + pos) + 1)
        if (lookup_entry_kind(inc.s + pos) != LOOKUP_E_INCLUDE) show_entry(indent + 1, inc.s + pos, depth + 1) ;
      stralloc_free(&inc) ;
      return ;
    }
    case LOOKUP_E_ADDRESS :
    {
      address ad = ADDRESS_ZERO ;
      stralloc sa = STRALLOC_ZERO ;
      if (!strchr(entry, '@'))
      {
        if (!stralloc_cats(&sa, entry) || !stralloc_catb(&sa, "@", 1) || !stralloc_cats(&sa, cf.sa.s + cf.hostname) || !stralloc_0(&sa)) dienomem() ;
        entry = sa.s ;
      }
      if (address_parse(&ad, entry, strlen(entry), ADDRESS_UTF8)) PUT(indent, q(entry), ": not an address, skipped") ;
      else show_rcpt(indent, ad.s, depth) ;
      stralloc_free(&sa) ;
      return ;
    }
    default :
      PUT(indent, q(entry), ": bad entry, skipped") ;
  }
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

static int seen_add (char const *a)
{
  size_t pos = 0 ;
  for (; pos < seen.len ; pos += strlen(seen.s + pos) + 1) if (!strcmp(seen.s + pos, a)) return 0 ;
  if (!stralloc_catb(&seen, a, strlen(a) + 1)) dienomem() ;
  nseen++ ;
  return 1 ;
}

/* where the scheduler sends one recipient (its expand, dispatch and start_local) */
static void show_rcpt (unsigned int indent, char const *a, unsigned int depth)
{
  lookup l = LOOKUP_ZERO ;
  stralloc qsa = STRALLOC_ZERO ;
  char const *qa ;
  /* a canonical address holds no control character and no newline (address.h): printed as is */
  if (!stralloc_catb(&qsa, "<", 1) || !stralloc_cats(&qsa, a) || !stralloc_catb(&qsa, ">", 2)) dienomem() ;
  qa = qsa.s ;
  if (!seen_add(a)) { PUT(indent, qa, ": a recipient already, not added again") ; goto end ; }
  if (nseen > EXPAND_MAX) { PUT(indent, qa, ": more than ", fmtu(EXPAND_MAX), " recipients, not added") ; goto end ; }
  if (!lookup_address(&l, &cf, a))
  {
    PUT(indent, qa, ": temporary lookup failure (", strerror(errno), "): retried later") ;
    goto end ;
  }
  switch (l.kind)
  {
    case LOOKUP_UNKNOWN :
      PUT(indent, qa, ": no such user: bounced, 550 5.1.1") ;
      break ;
    case LOOKUP_REMOTE :
      PUT(indent, qa, ": remote, remote-send") ;
      show_remote(indent + 1, strrchr(a, '@') + 1) ;
      break ;
    case LOOKUP_ALIAS :
    {
      stralloc ent = STRALLOC_ZERO ;
      size_t pos = 0 ;
      PUT(indent, qa, l.flags & LOOKUP_F_POSTMASTER ? ": the built-in postmaster alias" : l.flags & LOOKUP_F_VIRTUAL ? ": a virtual user's forward" : ": an alias") ;
      if (depth >= EXPAND_DEPTH) { PUT(indent + 1, "nested too deep: bounced, 554 5.4.6") ; break ; }
      if (!stralloc_catb(&ent, l.sa.s + l.entries, l.entrieslen)) dienomem() ;
      for (; pos < ent.len && ent.s[pos] ; pos += strlen(ent.s + pos) + 1) show_entry(indent + 1, ent.s + pos, depth + 1) ;
      stralloc_free(&ent) ;
      break ;
    }
    case LOOKUP_VIRTUAL :
    {
      char const *mdir = l.sa.s + l.path ;
      if (mdir[0] != '/') PUT(indent, qa, ": virtual user, maildir path not absolute: bounced, 554 5.3.5") ;
      else PUT(indent, qa, ": virtual user of ", q(l.sa.s + l.domain), ": local-deliver maildir ", q(mdir), ", as the owner of the map") ;
      if (l.ext) PUT(indent + 1, "extension ", q(l.sa.s + l.ext)) ;
      break ;
    }
    case LOOKUP_LOCAL :
    {
      char const *user = l.sa.s + l.user, *home = l.sa.s + l.home ;
      stralloc path = STRALLOC_ZERO ;
      PUT(indent, qa, ": local user ", q(user), " (uid ", fmtu(l.uid), ", home ", q(home), ")") ;
      if (!l.uid) PUT(indent + 1, "uid 0: a root-started scheduler refuses to deliver as root (alias root to a user)") ;
      switch (cf.deliver.type)
      {
        case CONF_DELIVER_MAILDIR :
        case CONF_DELIVER_MBOX :
          if (!conf_expand_path(cf.sa.s + cf.deliver.arg, user, l.sa.s + l.domain, home, &path) || !stralloc_0(&path))
            PUT(indent + 1, "bad mailbox path for this user: bounced, 554 5.3.5") ;
          else PUT(indent + 1, "local-deliver ", cf.deliver.type == CONF_DELIVER_MAILDIR ? "maildir " : "mbox ", q(path.s)) ;
          break ;
        case CONF_DELIVER_MDA :
        {
          stralloc argv = STRALLOC_ZERO ;
          size_t pos = cf.deliver.arg ;
          unsigned int k = 0 ;
          for (; k < cf.deliver.argc ; k++, pos += strlen(cf.sa.s + pos) + 1)
            if (!stralloc_cats(&argv, " ") || !stralloc_cats(&argv, q(cf.sa.s + pos))) dienomem() ;
          if (!stralloc_0(&argv)) dienomem() ;
          PUT(indent + 1, "local-deliver mda", argv.s) ;
          stralloc_free(&argv) ;
          break ;
        }
        case CONF_DELIVER_LMTP :
          PUT(indent + 1, "local-deliver lmtp ", q(cf.sa.s + cf.deliver.arg)) ;
          break ;
      }
      if (l.ext) PUT(indent + 1, "extension ", q(l.sa.s + l.ext)) ;
      stralloc_free(&path) ;
      break ;
    }
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
    PUT(0, "listener port ", fmtu(lport), found ? "" : " (not in the configuration: as under tcpserver)", ":",
      lflags & CONF_LISTEN_SMTPS ? " implicit TLS" : "",
      lflags & CONF_LISTEN_STARTTLS ? " STARTTLS offered" : "",
      lflags & CONF_LISTEN_TLSREQUIRED ? " STARTTLS required" : "",
      !(lflags & (CONF_LISTEN_SMTPS | CONF_LISTEN_STARTTLS | CONF_LISTEN_TLSREQUIRED)) ? " no TLS" : "",
      lflags & CONF_LISTEN_AUTHREQUIRED ? ", AUTH required" : lflags & (CONF_LISTEN_AUTH | CONF_LISTEN_PLAINAUTH) ? ", AUTH offered" : "") ;
    /* smtp-session's do_mail; a client of a tls-required listener is
       assumed to have done STARTTLS, since that is all it needs */
    if ((lflags & CONF_LISTEN_AUTHREQUIRED) && !authed) mailreply = "530 5.7.0 Authentication required" ;
  }

  /* MAIL FROM: the checks of smtp-session's do_mail, in its order */
  {
    address a = ADDRESS_ZERO ;
    size_t plen, pstart ;
    int r = 0 ;
    if (!path(sender, &line)) { if (errno != EINVAL) dienomem() ; strerr_dief(KETCH_EX_PERM, "a control character in the sender ", q(sender)) ; }
    if (mailreply[0] == '2')
    {
      if (!smtp_path_split(line.s, line.len - 1, &plen, &pstart) || pstart < line.len - 1) mailreply = "501 5.5.4 Syntax: MAIL FROM:<address>" ;
      else if ((r = address_parse(&a, line.s, plen, ADDRESS_BRACKETS | ADDRESS_NULL_OK | (utf8 ? ADDRESS_UTF8 : 0))))
        mailreply = r == ADDRESS_E8BIT ? "553 5.6.7 Non-ASCII address needs SMTPUTF8" : "553 5.1.7 Bad sender address syntax" ;
    }
    PUT(0, "MAIL FROM:", line.s, utf8 ? " SMTPUTF8" : "", ": ", mailreply) ;
  }
  if (!stralloc_ready(&seen, 256)) dienomem() ;

  /* RCPT TO: smtp-session's do_rcpt, then the scheduler's routing */
  for (; *argv ; argv++)
  {
    address a = ADDRESS_ZERO ;
    size_t plen, pstart ;
    char const *rep ;
    int r ;
    if (!path(*argv, &line)) { if (errno != EINVAL) dienomem() ; strerr_dief(KETCH_EX_PERM, "a control character in the recipient ", q(*argv)) ; }
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
    PUT(0, "RCPT TO:<", a.s, ">: ", rep) ;
    if (!r) continue ;
    nrcpt++ ;
    seen.len = 0 ; nseen = 0 ;
    show_rcpt(1, a.s, 0) ;
  }
  if (!buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  /* freed for leak checkers (make SAN=...), not for the kernel's sake */
  stralloc_free(&line) ; stralloc_free(&seen) ; stralloc_free(&err) ; conf_free(&cf) ;
  return 0 ;
}
