/* ISC license: see LICENSE. */

/*
 * ketch-doctor: what a site must publish for big receivers to take its
 * mail, checked live. For the host name and each local or virtual
 * domain of the configuration it asks the DNS (lib/dns) for what
 * receivers ask (MX, A/AAAA, PTR and its forward confirmation, SPF,
 * DMARC, MTA-STS and TLS-RPT TXT records), reads the certificate, and
 * makes one relay dry run against the instance's own listener. Each
 * finding is one line: OK, WARN or FAIL, the check, its subject, what
 * is wrong, and the record or command that fixes it. The parsers and
 * the SPF walk are lib/spf, lib/dmarc, lib/ststxt and lib/certinfo;
 * this file only decides what to ask and how to say it.
 */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/ip46.h>
#include <skalibs/socket.h>
#include <skalibs/tai.h>
#include <skalibs/djbunix.h>

#include "exitcodes.h"
#include "certinfo.h"
#include "conf.h"
#include "dmarc.h"
#include "dns.h"
#include "smtpclient.h"
#include "spf.h"
#include "ststxt.h"
#include "tls.h"
#include "tlsclient.h"

#define USAGE "ketch-doctor [ -C conf ] [ -j ] [ -n ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define dienomem() strerr_diefu(KETCH_EX_TEMP, "allocate memory")

/* exit status when some check failed: not a usage (100) or system (111) error */
#define EXIT_FAILED 1

/* a certificate with fewer days left is a warning */
#define CERT_WARN_DAYS 14

/* the relay dry run's addresses (RFC 2606: domains no one receives for) */
#define RELAY_FROM "ketch-doctor@example.org"
#define RELAY_TO "relay-test@example.net"

enum level { L_OK, L_WARN, L_FAIL } ;
static char const *const level_names[] = { "OK", "WARN", "FAIL" } ;

static conf cf ;
static char const *host ;
static int json = 0, nodns = 0 ;
static unsigned int nfail = 0 ;
static genalloc hostips = GENALLOC_ZERO ;  /* dns_ip: the host name's A and AAAA records */
static genalloc addrs = GENALLOC_ZERO ;    /* dns_ip: the public addresses this host sends from */
static int addrs_from_dns = 0 ;            /* addrs are hostips: the listen lines name no public address */
static stralloc out = STRALLOC_ZERO ;

/* printable ASCII as is, anything else (DNS bytes) as '?' */
static int cat_clean (stralloc *sa, char const *s)
{
  for (; *s ; s++)
  {
    char c = (unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f ? *s : '?' ;
    if (!stralloc_catb(sa, &c, 1)) return 0 ;
  }
  return 1 ;
}

/* a JSON string (RFC 8259 §7) */
static int cat_json (stralloc *sa, char const *s)
{
  static char const hex[] = "0123456789abcdef" ;
  if (!stralloc_catb(sa, "\"", 1)) return 0 ;
  for (; *s ; s++)
  {
    unsigned char c = *s ;
    if (c == '"' || c == '\\') { char e[2] = { '\\', c } ; if (!stralloc_catb(sa, e, 2)) return 0 ; }
    else if (c < 0x20 || c >= 0x7f) { char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] } ; if (!stralloc_catb(sa, e, 6)) return 0 ; }
    else if (!stralloc_catb(sa, (char *)&c, 1)) return 0 ;
  }
  return stralloc_catb(sa, "\"", 1) ;
}

/* one finding: the message is the concatenation of v; fix may be 0 */
static void sayv (enum level lv, char const *check, char const *subject, char const *fix, char const *const *v)
{
  stralloc msg = STRALLOC_ZERO ;
  if (lv == L_FAIL) nfail++ ;
  for (; *v ; v++) if (!stralloc_cats(&msg, *v)) dienomem() ;
  if (!stralloc_0(&msg)) dienomem() ;
  out.len = 0 ;
  if (json)
  {
    if (!stralloc_cats(&out, "{\"level\":") || !cat_json(&out, level_names[lv])
     || !stralloc_cats(&out, ",\"check\":") || !cat_json(&out, check)
     || !stralloc_cats(&out, ",\"subject\":") || !cat_json(&out, subject)
     || !stralloc_cats(&out, ",\"message\":") || !cat_json(&out, msg.s)
     || !stralloc_cats(&out, ",\"fix\":") || !cat_json(&out, fix ? fix : "")
     || !stralloc_cats(&out, "}\n")) dienomem() ;
  }
  else
  {
    if (!stralloc_cats(&out, level_names[lv]) || !stralloc_catb(&out, " ", 1) || !stralloc_cats(&out, check)
     || !stralloc_catb(&out, " ", 1) || !cat_clean(&out, subject) || !stralloc_cats(&out, ": ") || !cat_clean(&out, msg.s)) dienomem() ;
    if (fix && (!stralloc_cats(&out, "; fix: ") || !cat_clean(&out, fix))) dienomem() ;
    if (!stralloc_catb(&out, "\n", 1)) dienomem() ;
  }
  if (buffer_put(buffer_1, out.s, out.len) < 0) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  stralloc_free(&msg) ;
}
#define SAY(lv, check, subject, fix, ...) sayv(lv, check, subject, fix, (char const *const []){ __VA_ARGS__, 0 })

/* strings built for one finding: a small ring, so that several may be used in one SAY */
static char const *cat (char const *const *v)
{
  static stralloc ring[8] ;
  static unsigned int next = 0 ;
  stralloc *sa = ring + (next++ & 7) ;
  sa->len = 0 ;
  for (; *v ; v++) if (!stralloc_cats(sa, *v)) dienomem() ;
  if (!stralloc_0(sa)) dienomem() ;
  return sa->s ;
}
#define CAT(...) cat((char const *const []){ __VA_ARGS__, 0 })

static char const *ipstr (char const *ip, int is6)
{
  char fmt[IP6_FMT] ;
  fmt[is6 ? ip6_fmt(fmt, ip) : ip4_fmt(fmt, ip)] = 0 ;
  return CAT(fmt) ;
}

static char const *ustr (uint64_t u)
{
  char fmt[UINT64_FMT] ;
  fmt[uint64_fmt(fmt, u)] = 0 ;
  return CAT(fmt) ;
}

static char const *datestr (int64_t t)
{
  char buf[32] ;
  struct tm tm ;
  time_t tt = (time_t)t ;
  if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d", &tm)) return "?" ;
  return CAT(buf) ;
}

static void say_temp (char const *check, char const *subject, char const *what)
{
  SAY(L_FAIL, check, subject, "check the resolver (the resolver line, or /etc/resolv.conf) and run ketch-doctor again",
    "temporary DNS failure looking up ", what, ": not checked") ;
}

static int same_name (char const *a, char const *b)
{
  size_t la = strlen(a), lb = strlen(b) ;
  if (la && a[la-1] == '.') la-- ;
  if (lb && b[lb-1] == '.') lb-- ;
  return la == lb && !strncasecmp(a, b, la) ;
}

static int has_ip (genalloc const *ga, char const *ip, int is6)
{
  size_t n = genalloc_len(dns_ip, ga), i = 0 ;
  dns_ip const *a = genalloc_s(dns_ip, ga) ;
  for (; i < n ; i++) if (!a[i].is6 == !is6 && !memcmp(a[i].ip, ip, is6 ? 16 : 4)) return 1 ;
  return 0 ;
}

/* loopback, unspecified, private and link-local ranges (RFC 1918, 6598, 3927, 4193, 4291): not what the world connects to */
static int is_private (char const *ip, int is6)
{
  unsigned char const *u = (unsigned char const *)ip ;
  if (is6)
  {
    static char const zero[16] = { 0 } ;
    if (!memcmp(ip, zero, 15) && (u[15] == 0 || u[15] == 1)) return 1 ;
    return (u[0] & 0xfe) == 0xfc || (u[0] == 0xfe && (u[1] & 0xc0) == 0x80) ;
  }
  return u[0] == 0 || u[0] == 10 || u[0] == 127 || (u[0] == 169 && u[1] == 254) || (u[0] == 172 && (u[1] & 0xf0) == 16)
    || (u[0] == 192 && u[1] == 168) || (u[0] == 100 && (u[1] & 0xc0) == 64) ;
}

/* the record that publishes our addresses: "A" or "AAAA" ADDRESS, or words when none is known */
static char const *addr_record (char const *name)
{
  dns_ip const *a = genalloc_len(dns_ip, &addrs) ? genalloc_s(dns_ip, &addrs) : 0 ;
  if (!a) return CAT(name, ". IN A <this host's public IPv4 address>") ;
  return CAT(name, ". IN ", a->is6 ? "AAAA " : "A ", ipstr(a->ip, a->is6)) ;
}

/* ----- configuration, offline ----- */

static void check_config (void)
{
  size_t nl = genalloc_len(size_t, &cf.local_domains), nv = genalloc_len(conf_vdomain, &cf.vdomains) ;
  if (!nl && !nv)
    SAY(L_WARN, "config", cf.sa.s + cf.file, "local-domain DOMAIN (ketch.conf(5))", "no local-domain or virtual-domain line: only the host name ", host, " receives mail") ;
  else
    SAY(L_OK, "config", cf.sa.s + cf.file, 0, "host name ", host, ", ", ustr(nl), " local and ", ustr(nv), " virtual domains") ;
}

static void check_certificate (void)
{
  stralloc sa = STRALLOC_ZERO, names = STRALLOC_ZERO ;
  genalloc objs = GENALLOC_ZERO ;
  tls_pemobj const *cert = 0 ;
  char const *file ;
  size_t n, i ;
  int nn, covered = 0 ;
  int64_t nb, na, now = (int64_t)time(0) ;
  char const *getone = CAT("a certificate for ", host, " (certbot certonly --standalone -d ", host, ", or your CA), then: certificate FULLCHAIN key PRIVKEY") ;
  if (!cf.cert)
  {
    SAY(L_WARN, "certificate", host, getone, "no certificate line: STARTTLS is not offered and mail comes in unencrypted") ;
    return ;
  }
  file = cf.sa.s + cf.cert ;
  if (!tls_pem_read(file, &sa, &objs))
  {
    SAY(L_FAIL, "certificate", file, CAT("make it readable, or name the right file in the certificate line: ", getone), "cannot read it: ", strerror(errno)) ;
    goto end ;
  }
  n = genalloc_len(tls_pemobj, &objs) ;
  for (i = 0 ; i < n ; i++)
  {
    tls_pemobj const *o = genalloc_s(tls_pemobj, &objs) + i ;
    if (!strcmp(sa.s + o->name, "CERTIFICATE")) { cert = o ; break ; }
  }
  if (!cert) { SAY(L_FAIL, "certificate", file, getone, "no CERTIFICATE in it") ; goto end ; }
  nn = certinfo_names((unsigned char const *)sa.s + cert->data, cert->len, &names) ;
  if (nn < 0)
  {
    if (errno == ENOMEM) dienomem() ;
    SAY(L_FAIL, "certificate", file, getone, "not a certificate BearSSL or this check can read") ;
    goto end ;
  }
  {
    stralloc list = STRALLOC_ZERO ;
    size_t pos = 0 ;
    for (; pos < names.len ; pos += strlen(names.s + pos) + 1)
    {
      if (certinfo_match(names.s + pos, host)) covered = 1 ;
      if ((list.len && !stralloc_cats(&list, ", ")) || !stralloc_cats(&list, names.s + pos)) dienomem() ;
    }
    if (!stralloc_0(&list)) dienomem() ;
    if (!nn) SAY(L_FAIL, "certificate", file, getone, "no DNS name in its subjectAltName: clients do not read the CN (RFC 6125 section 6.4.4)") ;
    else if (!covered) SAY(L_FAIL, "certificate", file, getone, "its names (", list.s, ") do not cover the host name ", host) ;
    else SAY(L_OK, "certificate", file, 0, "covers ", host, " (", list.s, ")") ;
    stralloc_free(&list) ;
  }
  if (!certinfo_dates((unsigned char const *)sa.s + cert->data, cert->len, &nb, &na))
    SAY(L_FAIL, "certificate", file, getone, "BearSSL cannot decode it") ;
  else if (na < now)
    SAY(L_FAIL, "certificate", file, CAT("renew it (certbot renew, or your CA): ", getone), "expired on ", datestr(na)) ;
  else if (nb > now)
    SAY(L_FAIL, "certificate", file, getone, "not valid before ", datestr(nb)) ;
  else
  {
    uint64_t days = (uint64_t)(na - now) / 86400 ;
    if (days < CERT_WARN_DAYS) SAY(L_WARN, "certificate", file, "renew it (certbot renew, or your CA)", ustr(days), " days left (until ", datestr(na), ")") ;
    else SAY(L_OK, "certificate", file, 0, ustr(days), " days left (until ", datestr(na), ")") ;
  }
 end:
  stralloc_free(&sa) ; stralloc_free(&names) ; genalloc_free(tls_pemobj, &objs) ;
}

/* relay-from: a network this wide trusts strangers (an open relay by configuration) */
static int net_wide (conf_net const *n)
{
  return n->bits < (n->is6 ? 16u : 8u) ;
}

static void check_relay_conf (void)
{
  size_t n = genalloc_len(conf_net, &cf.relay_nets), i = 0 ;
  conf_net const *nets = genalloc_s(conf_net, &cf.relay_nets) ;
  int wide = 0 ;
  for (; i < n ; i++)
    if (net_wide(nets + i))
    {
      wide = 1 ;
      SAY(L_FAIL, "relay", "relay-from", "relay-from with your own networks only (ketch.conf(5)), or none: authenticated clients relay without it",
        ipstr(nets[i].ip, nets[i].is6), "/", ustr(nets[i].bits), " lets most of the internet relay through this host: an open relay") ;
    }
  if (!wide) SAY(L_OK, "relay", "relay-from", 0, n ? "only the configured networks relay without AUTH" : "no relay-from line: only authenticated clients relay") ;
}

/* ----- DNS: the host name, its addresses and their PTR ----- */

static void find_addresses (void)
{
  size_t n = genalloc_len(conf_listen, &cf.listen), i ;
  conf_listen const *l = genalloc_s(conf_listen, &cf.listen) ;
  int r = dns_ip_lookup(host, &hostips) ;
  for (i = 0 ; i < n ; i++)
  {
    dns_ip a ;
    if (is_private(l[i].ip, l[i].is6) || has_ip(&addrs, l[i].ip, l[i].is6)) continue ;
    memset(&a, 0, sizeof(a)) ;
    memcpy(a.ip, l[i].ip, l[i].is6 ? 16 : 4) ;
    a.is6 = l[i].is6 ;
    if (!genalloc_append(dns_ip, &addrs, &a)) dienomem() ;
  }
  if (!genalloc_len(dns_ip, &addrs) && r == DNS_OK)
  {
    /* the listen lines name no public address (0.0.0.0, loopback, a private one behind NAT): the world connects to the host name's */
    dns_ip const *h = genalloc_s(dns_ip, &hostips) ;
    for (i = 0 ; i < genalloc_len(dns_ip, &hostips) ; i++)
      if (!is_private(h[i].ip, h[i].is6) && !genalloc_append(dns_ip, &addrs, h + i)) dienomem() ;
    addrs_from_dns = 1 ;
  }
  switch (r)
  {
    case DNS_TEMP : say_temp("address", host, "its A and AAAA records") ; return ;
    case DNS_NXDOMAIN :
    case DNS_NODATA :
      SAY(L_FAIL, "address", host, addr_record(host), r == DNS_NXDOMAIN ? "the host name does not exist in the DNS" : "no A or AAAA record") ;
      return ;
    default : break ;
  }
  {
    stralloc list = STRALLOC_ZERO ;
    dns_ip const *h = genalloc_s(dns_ip, &hostips) ;
    int private = 0 ;
    for (i = 0 ; i < genalloc_len(dns_ip, &hostips) ; i++)
    {
      if (is_private(h[i].ip, h[i].is6)) private = 1 ;
      if (!stralloc_cats(&list, h[i].is6 ? " AAAA " : " A ") || !stralloc_cats(&list, ipstr(h[i].ip, h[i].is6))) dienomem() ;
    }
    if (!stralloc_0(&list)) dienomem() ;
    if (private) SAY(L_WARN, "address", host, addr_record(host), "a loopback or private address in the public DNS:", list.s) ;
    else SAY(L_OK, "address", host, 0, list.s + 1) ;
    stralloc_free(&list) ;
  }
  /* a public listening address the host name does not resolve to: senders' FCrDNS and SPF checks fail there */
  if (!addrs_from_dns)
    for (i = 0 ; i < genalloc_len(dns_ip, &addrs) ; i++)
    {
      dns_ip const *a = genalloc_s(dns_ip, &addrs) + i ;
      if (!has_ip(&hostips, a->ip, a->is6))
        SAY(L_FAIL, "address", host, CAT(host, ". IN ", a->is6 ? "AAAA " : "A ", ipstr(a->ip, a->is6)), "the listening address ", ipstr(a->ip, a->is6), " is not among its records") ;
    }
}

static void check_ptr (void)
{
  size_t n = genalloc_len(dns_ip, &addrs), i ;
  if (!n)
  {
    SAY(L_FAIL, "ptr", host, addr_record(host), "no public address to check: the listen lines name none and the host name has no public A or AAAA record") ;
    return ;
  }
  for (i = 0 ; i < n ; i++)
  {
    dns_ip a = genalloc_s(dns_ip, &addrs)[i] ;
    stralloc names = STRALLOC_ZERO ;
    char rname[DNS_PTRNAME_MAX] ;
    char const *subject = ipstr(a.ip, a.is6) ;
    char const *fix ;
    char const *from = addrs_from_dns ? " (the host name's address: the listen lines name no public one)" : "" ;
    size_t pos ;
    int r, match = 0 ;
    dns_ptr_name(rname, a.ip, a.is6) ;
    fix = CAT(rname, ". IN PTR ", host, ". (set by whoever holds the address block: ask your provider)") ;
    r = dns_ptr_lookup(a.ip, a.is6, &names) ;
    if (r == DNS_TEMP) { say_temp("ptr", subject, rname) ; continue ; }
    if (r != DNS_OK) { SAY(L_FAIL, "ptr", subject, fix, "no PTR record", from) ; continue ; }
    for (pos = 0 ; pos < names.len ; pos += strlen(names.s + pos) + 1) if (same_name(names.s + pos, host)) match = 1 ;
    if (!match) SAY(L_FAIL, "ptr", subject, fix, "its PTR is ", names.s, ", not the host name ", host, from) ;
    else if (!has_ip(&hostips, a.ip, a.is6))
      SAY(L_FAIL, "ptr", subject, CAT(host, ". IN ", a.is6 ? "AAAA " : "A ", subject), "its PTR is ", host, " but ", host, " does not resolve back to it (FCrDNS)") ;
    else SAY(L_OK, "ptr", subject, 0, "PTR ", host, ", forward-confirmed", from) ;
    stralloc_free(&names) ;
  }
}

/* ----- DNS: each domain ----- */

/* this host as an exchanger: by name, or by one of its addresses */
static int mx_is_me (char const *name)
{
  genalloc ips = GENALLOC_ZERO ;
  size_t i ;
  int me = 0 ;
  if (same_name(name, host)) return 1 ;
  if (dns_ip_lookup(name, &ips) == DNS_OK)
    for (i = 0 ; i < genalloc_len(dns_ip, &ips) && !me ; i++)
    {
      dns_ip const *a = genalloc_s(dns_ip, &ips) + i ;
      me = has_ip(&addrs, a->ip, a->is6) || has_ip(&hostips, a->ip, a->is6) ;
    }
  genalloc_free(dns_ip, &ips) ;
  return me ;
}

static void check_mx (char const *d)
{
  genalloc mxs = GENALLOC_ZERO ;
  stralloc names = STRALLOC_ZERO ;
  char const *fix = CAT(d, ". IN MX 10 ", host, ".") ;
  int r = dns_mx_lookup(d, &mxs, &names) ;
  size_t n = genalloc_len(dns_mx, &mxs), i ;
  dns_mx const *m = genalloc_s(dns_mx, &mxs) ;
  switch (r)
  {
    case DNS_TEMP : say_temp("mx", d, "its MX records") ; goto end ;
    case DNS_NXDOMAIN : SAY(L_FAIL, "mx", d, fix, "the domain does not exist in the DNS") ; goto end ;
    case DNS_NODATA : SAY(L_FAIL, "mx", d, fix, "no MX record (senders fall back to the domain's own address, RFC 5321 section 5.1)") ; goto end ;
    default : break ;
  }
  if (dns_mx_isnull(m, n, names.s)) { SAY(L_FAIL, "mx", d, fix, "a null MX: the domain says it takes no mail (RFC 7505)") ; goto end ; }
  {
    stralloc list = STRALLOC_ZERO ;
    char const *mine = 0 ;
    for (i = 0 ; i < n ; i++)
    {
      char const *name = names.s + m[i].name ;
      if (!mine && mx_is_me(name)) mine = CAT("MX ", ustr(m[i].pref), " ", name) ;
      if ((list.len && !stralloc_cats(&list, ", ")) || !stralloc_cats(&list, name)) dienomem() ;
    }
    if (!stralloc_0(&list)) dienomem() ;
    if (mine) SAY(L_OK, "mx", d, 0, mine, " is this host") ;
    else SAY(L_FAIL, "mx", d, fix, "the MX records (", list.s, ") do not point at this host (", host, ")") ;
    stralloc_free(&list) ;
  }
 end:
  genalloc_free(dns_mx, &mxs) ; stralloc_free(&names) ;
}

static int spf_txt (void *ctx, char const *name, stralloc *sa) { (void)ctx ; return dns_txt_lookup(name, sa) ; }
static int spf_ip (void *ctx, char const *name, genalloc *ga) { (void)ctx ; return dns_ip_lookup(name, ga) ; }
static int spf_mx (void *ctx, char const *name, genalloc *ga, stralloc *sa) { (void)ctx ; return dns_mx_lookup(name, ga, sa) ; }
static spf_dns const spfdns = { .txt = &spf_txt, .ip = &spf_ip, .mx = &spf_mx, .ctx = 0 } ;

/* our addresses as SPF terms: " ip4:A ip6:B" */
static char const *spf_terms (void)
{
  stralloc sa = STRALLOC_ZERO ;
  size_t i = 0 ;
  char const *s ;
  for (; i < genalloc_len(dns_ip, &addrs) ; i++)
  {
    dns_ip const *a = genalloc_s(dns_ip, &addrs) + i ;
    if (!stralloc_cats(&sa, a->is6 ? " ip6:" : " ip4:") || !stralloc_cats(&sa, ipstr(a->ip, a->is6))) dienomem() ;
  }
  if (!stralloc_0(&sa)) dienomem() ;
  s = CAT(sa.s) ;
  stralloc_free(&sa) ;
  return s ;
}

/* SPF for a domain (RFC 7208 §2.4, MAIL FROM) or the host name (§2.3, HELO: recommended, a warning) */
static void check_spf (char const *d, int helo)
{
  spf_report rep = SPF_REPORT_ZERO ;
  size_t n = genalloc_len(dns_ip, &addrs), i ;
  static char const zero[16] = { 0 } ;
  char const *terms = spf_terms() ;
  char const *fix = CAT(d, ". IN TXT \"v=spf1", helo ? " a" : n ? terms : CAT(" a:", host), " -all\"") ;
  /* the record and its count once (for the first address, or none), then each address's result */
  if (!spf_walk(&spfdns, d, n ? genalloc_s(dns_ip, &addrs)->ip : zero, n ? genalloc_s(dns_ip, &addrs)->is6 : 0, &rep)) dienomem() ;
  if (rep.result == SPF_R_TEMPERROR && !rep.nrecords) { say_temp("spf", d, "its TXT records") ; goto end ; }
  if (!rep.nrecords)
  {
    if (helo) SAY(L_WARN, "spf", d, fix, "no SPF record for the host name, which receivers check for HELO (RFC 7208 section 2.3)") ;
    else SAY(L_FAIL, "spf", d, fix, "no SPF record") ;
    goto end ;
  }
  if (rep.nrecords > 1) { SAY(L_FAIL, "spf", d, CAT("keep one: ", fix), ustr(rep.nrecords), " SPF records: receivers return permerror (RFC 7208 section 4.5)") ; goto end ; }
  if (rep.lookups > SPF_LOOKUP_LIMIT)
    SAY(L_FAIL, "spf", d, CAT("replace include, a, mx and ptr terms by the ip4: and ip6: terms they stand for, e.g. ", fix),
      ustr(rep.lookups), " DNS-querying terms (include, a, mx, ptr, exists, redirect, counted through the includes), more than 10: receivers return permerror (RFC 7208 section 4.6.4)") ;
  else if (rep.why.s[0])
    SAY(L_FAIL, "spf", d, fix, rep.why.s) ;
  else if (rep.unchecked)
    SAY(L_WARN, "spf", d, 0, "\"", rep.record.s, "\" parses, ", ustr(rep.lookups), " DNS lookups; a term with a macro was not followed (ketch-doctor does not expand macros)") ;
  else SAY(L_OK, "spf", d, 0, "\"", rep.record.s, "\" parses, ", ustr(rep.lookups), rep.lookups == 1 ? " DNS lookup" : " DNS lookups") ;
  for (i = 0 ; i < n ; i++)
  {
    dns_ip a = genalloc_s(dns_ip, &addrs)[i] ;
    char const *ip = ipstr(a.ip, a.is6) ;
    char const *rec ;
    if (i && !spf_walk(&spfdns, d, a.ip, a.is6, &rep)) dienomem() ;
    if (rep.result == SPF_R_PASS) { SAY(L_OK, "spf", d, 0, ip, " passes") ; continue ; }
    rec = rep.record.s ;
    SAY(L_FAIL, "spf", d, CAT(d, ". IN TXT \"v=spf1 ", a.is6 ? "ip6:" : "ip4:", ip, strlen(rec) > 6 ? rec + 6 : " -all", "\""),
      ip, " gets ", spf_result_name(rep.result), ", not pass: receivers do not take this host as a sender for ", d) ;
  }
 end:
  spf_report_free(&rep) ;
}

/* the TXT records at name that begin with prefix: their count, the first in *rec (in sa) */
static int txt_select (char const *name, char const *prefix, stralloc *sa, char const **rec, unsigned int *count)
{
  size_t pos = 0, pl = strlen(prefix) ;
  int r = dns_txt_lookup(name, sa) ;
  *count = 0 ; *rec = 0 ;
  if (r != DNS_OK) return r ;
  for (; pos < sa->len ; pos += strlen(sa->s + pos) + 1)
    if (!strncmp(sa->s + pos, prefix, pl)) { if (!(*count)++) *rec = sa->s + pos ; }
  return r ;
}

static char const *at_pos (size_t pos)
{
  return CAT(" (at character ", ustr(pos + 1), ")") ;
}

static void check_dmarc (char const *d)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *name = CAT("_dmarc.", d) ;
  char const *fix = CAT(name, ". IN TXT \"v=DMARC1; p=none; rua=mailto:postmaster@", d, "\"") ;
  char const *rec ;
  unsigned int count ;
  int r = txt_select(name, "v=DMARC1", &sa, &rec, &count) ;
  dmarc dm ;
  size_t errpos ;
  char const *why ;
  if (r == DNS_TEMP) { say_temp("dmarc", d, name) ; goto end ; }
  if (!count) { SAY(L_FAIL, "dmarc", d, fix, "no DMARC record at ", name) ; goto end ; }
  if (count > 1) { SAY(L_FAIL, "dmarc", d, CAT("keep one: ", fix), ustr(count), " DMARC records: receivers use none (RFC 7489 section 6.6.3)") ; goto end ; }
  if (!dmarc_parse(rec, strlen(rec), &dm, &errpos, &why)) { SAY(L_FAIL, "dmarc", d, fix, "\"", rec, "\": ", why, at_pos(errpos)) ; goto end ; }
  SAY(L_OK, "dmarc", d, 0, "\"", rec, "\": p=", dmarc_policy_name(dm.p), dm.nrua ? "" : ", no rua= (no aggregate reports)") ;
 end:
  stralloc_free(&sa) ;
}

static void check_mtasts (char const *d)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *name = CAT("_mta-sts.", d) ;
  char stamp[32] ;
  char const *fix, *rec ;
  unsigned int count ;
  size_t id, idlen, errpos ;
  char const *why ;
  int r ;
  {
    time_t t = time(0) ;
    struct tm tm ;
    if (!gmtime_r(&t, &tm) || !strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm)) memcpy(stamp, "1", 2) ;
  }
  fix = CAT(name, ". IN TXT \"v=STSv1; id=", stamp, "\" (a new id each time the policy at https://mta-sts.", d, "/.well-known/mta-sts.txt changes)") ;
  /* "v=STS": a record a sender would discard for a bad version or a missing ";" is reported, not passed over */
  r = txt_select(name, "v=STS", &sa, &rec, &count) ;
  if (r == DNS_TEMP) { say_temp("mta-sts", d, name) ; goto end ; }
  if (!count) { SAY(L_OK, "mta-sts", d, 0, "none published (optional, RFC 8461)") ; goto end ; }
  if (count > 1) { SAY(L_FAIL, "mta-sts", d, CAT("keep one: ", fix), ustr(count), " MTA-STS records: senders ignore them all (RFC 8461 section 3.1)") ; goto end ; }
  if (!ststxt_sts_parse(rec, strlen(rec), &id, &idlen, &errpos, &why)) { SAY(L_FAIL, "mta-sts", d, fix, "\"", rec, "\": ", why, at_pos(errpos)) ; goto end ; }
  SAY(L_OK, "mta-sts", d, 0, "\"", rec, "\" is well formed (the policy file itself is not checked)") ;
 end:
  stralloc_free(&sa) ;
}

static void check_tlsrpt (char const *d)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *name = CAT("_smtp._tls.", d) ;
  char const *fix = CAT(name, ". IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@", d, "\"") ;
  char const *rec, *why ;
  unsigned int count ;
  size_t errpos ;
  ststxt_rua rua ;
  int r = txt_select(name, "v=TLSRPT", &sa, &rec, &count) ;
  if (r == DNS_TEMP) { say_temp("tls-rpt", d, name) ; goto end ; }
  if (!count) { SAY(L_OK, "tls-rpt", d, 0, "none published (optional, RFC 8460)") ; goto end ; }
  if (count > 1) { SAY(L_FAIL, "tls-rpt", d, CAT("keep one: ", fix), ustr(count), " TLS-RPT records") ; goto end ; }
  if (!ststxt_tlsrpt_parse(rec, strlen(rec), &rua, &errpos, &why)) { SAY(L_FAIL, "tls-rpt", d, fix, "\"", rec, "\": ", why, at_pos(errpos)) ; goto end ; }
  SAY(L_OK, "tls-rpt", d, 0, "\"", rec, "\" is well formed") ;
 end:
  stralloc_free(&sa) ;
}

static void check_domain (char const *d)
{
  check_mx(d) ;
  check_spf(d, 0) ;
  check_dmarc(d) ;
  check_mtasts(d) ;
  check_tlsrpt(d) ;
}

/* ----- the relay dry run ----- */

static tlsclient tlsc ;
static smtpc smtp = SMTPC_ZERO ;

/* is the dry run's source trusted by relay-from on purpose (no wide network there): then its answer proves nothing */
static int src_trusted (char const *ip, int is6)
{
  size_t n = genalloc_len(conf_net, &cf.relay_nets), i = 0 ;
  for (; i < n ; i++) if (net_wide(genalloc_s(conf_net, &cf.relay_nets) + i)) return 0 ;
  return conf_relay_allowed(&cf, ip, is6) ;
}

static void relay_one (conf_listen const *l)
{
  ip46 dst, src ;
  uint16_t sport ;
  tain deadline, limit ;
  char const *subject ;
  char const *fixstart = "start the server (ketch-instance, or its service) and run ketch-doctor again" ;
  char const *fixopen = "relay-from with your own networks only (ketch.conf(5)); clients elsewhere relay after AUTH" ;
  unsigned int secs = cf.timeout_command < 30 ? cf.timeout_command : 30 ;
  smtpreply_ext ext ;
  int fd, helo ;
  static char const any6[16] = { 0 } ;
  static char const lo6[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } ;
  if (l->is6) ip46_from_ip6(&dst, !memcmp(l->ip, any6, 16) ? lo6 : l->ip) ;
  else ip46_from_ip4(&dst, !memcmp(l->ip, "\0\0\0\0", 4) ? "\177\0\0\1" : l->ip) ;
  subject = CAT(ipstr(l->ip, l->is6), " port ", ustr(l->port)) ;
  tain_now_set_stopwatch_g() ;
  tain_addsec_g(&limit, 3 * secs + (cf.timeout_connect < 10 ? cf.timeout_connect : 10)) ;
  tain_addsec_g(&deadline, cf.timeout_connect < 10 ? cf.timeout_connect : 10) ;
  fd = socket_tcp46_nbcoe(ip46_is6(&dst)) ;
  if (fd < 0) strerr_diefusys(KETCH_EX_TEMP, "create a socket") ;
  if (!socket_deadlineconnstamp46_g(fd, &dst, l->port, &deadline))
  {
    SAY(L_WARN, "relay", subject, fixstart, "not reachable (", strerror(errno), "): the relay dry run was not made") ;
    fd_close(fd) ;
    return ;
  }
  if (socket_local46(fd, &src, &sport) < 0) strerr_diefusys(KETCH_EX_TEMP, "read the local address of a socket") ;
  if (src_trusted(src.ip, ip46_is6(&src)))
  {
    SAY(L_WARN, "relay", subject, "make the dry run from a host outside relay-from: MAIL FROM and RCPT TO addresses of other domains must get a 5xx",
      "the dry run would come from ", ipstr(src.ip, ip46_is6(&src)), ", which relay-from trusts: it proves nothing, not made") ;
    fd_close(fd) ;
    return ;
  }
  smtpc_init(&smtp, fd, &limit) ;
  if (!smtpc_reply(&smtp, secs)) goto ioerr ;
  if (smtp.reply.code / 100 != 2) { SAY(L_WARN, "relay", subject, fixstart, "the greeting is not 2xx (", ustr(smtp.reply.code), "): not checked") ; goto quit ; }
  if (!smtpc_ehlo(&smtp, "EHLO", host, &ext, &helo, secs)) goto ioerr ;
  if (l->flags & CONF_LISTEN_TLSREQUIRED)
  {
    /* MAIL before STARTTLS is refused there: the question is what comes after it */
    size_t discarded ;
    if (!smtpc_command(&smtp, "STARTTLS", 0, secs)) goto ioerr ;
    if (smtp.reply.code != 220) { SAY(L_WARN, "relay", subject, 0, "tls-required, but STARTTLS gets ", ustr(smtp.reply.code), ": not checked") ; goto quit ; }
    if (!smtpc_starttls(&smtp, &tlsc, host, TLSCLIENT_OPPORTUNISTIC, 0, &discarded, secs)) goto ioerr ;
    if (!smtpc_ehlo(&smtp, "EHLO", host, &ext, &helo, secs)) goto ioerr ;
  }
  if (!smtpc_command(&smtp, "MAIL FROM:<" RELAY_FROM ">", 0, secs)) goto ioerr ;
  if (smtp.reply.code / 100 == 5) { SAY(L_OK, "relay", subject, 0, "MAIL FROM:<" RELAY_FROM "> from ", ipstr(src.ip, ip46_is6(&src)), " refused (", ustr(smtp.reply.code), "): closed") ; goto quit ; }
  if (smtp.reply.code / 100 != 2) { SAY(L_WARN, "relay", subject, 0, "MAIL FROM gets ", ustr(smtp.reply.code), ": not checked") ; goto quit ; }
  if (!smtpc_command(&smtp, "RCPT TO:<" RELAY_TO ">", 0, secs)) goto ioerr ;
  if (smtp.reply.code / 100 == 5)
    SAY(L_OK, "relay", subject, 0, "RCPT TO:<" RELAY_TO "> from ", ipstr(src.ip, ip46_is6(&src)), " refused (", ustr(smtp.reply.code), "): closed") ;
  else if (smtp.reply.code / 100 == 2)
    SAY(L_FAIL, "relay", subject, fixopen, "RCPT TO:<" RELAY_TO "> from ", ipstr(src.ip, ip46_is6(&src)), " accepted (", ustr(smtp.reply.code), "): an open relay") ;
  else
    SAY(L_WARN, "relay", subject, 0, "RCPT TO:<" RELAY_TO "> gets ", ustr(smtp.reply.code), ", neither accepted nor refused: run again") ;
  /* never DATA: RSET takes the transaction back before QUIT */
  if (!smtpc_command(&smtp, "RSET", 0, secs)) { smtpc_close(&smtp) ; return ; }
 quit:
  smtpc_quit(&smtp, secs) ;
  return ;
 ioerr:
  SAY(L_WARN, "relay", subject, fixstart, "the session broke off (", smtpc_error(&smtp), "): not checked") ;
  smtpc_close(&smtp) ;
}

static void check_relay_live (void)
{
  size_t n = genalloc_len(conf_listen, &cf.listen), i ;
  conf_listen const *l = genalloc_s(conf_listen, &cf.listen) ;
  int tried = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    /* implicit TLS and AUTH-required listeners are for submission: a stranger cannot get to RCPT there */
    if (l[i].flags & (CONF_LISTEN_SMTPS | CONF_LISTEN_AUTHREQUIRED)) continue ;
    relay_one(l + i) ;
    tried = 1 ;
  }
  if (!tried)
    SAY(L_WARN, "relay", host, "listen ADDRESS port 25 (ketch.conf(5)), or a dry run by hand from an outside host",
      n ? "every listen line is implicit TLS or auth-required: no listener for other servers' mail to test" : "no listen line: the dry run needs an address and a port (under tcpserver, check by hand)") ;
}

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  size_t i ;
  PROG = "ketch-doctor" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:jn", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'j' : json = 1 ; break ;
        case 'n' : nodns = 1 ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc) dieusage() ;
  if (!conf_load_default(&cf, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to read the configuration") ;
  host = cf.sa.s + cf.hostname ;

  check_config() ;
  check_certificate() ;
  check_relay_conf() ;
  if (!nodns)
  {
    if (!dns_init(cf.resolver_ip, cf.resolver_is6, cf.resolver_port, cf.timeout_command < 5 ? cf.timeout_command : 5))
      strerr_diefusys(KETCH_EX_TEMP, "initialise the resolver") ;
    find_addresses() ;
    check_ptr() ;
    check_spf(host, 1) ;
    for (i = 0 ; i < genalloc_len(size_t, &cf.local_domains) ; i++) check_domain(cf.sa.s + genalloc_s(size_t, &cf.local_domains)[i]) ;
    for (i = 0 ; i < genalloc_len(conf_vdomain, &cf.vdomains) ; i++) check_domain(cf.sa.s + genalloc_s(conf_vdomain, &cf.vdomains)[i].domain) ;
    check_relay_live() ;
  }
  if (!buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  /* freed for leak checkers (make SAN=...), not for the kernel's sake */
  smtpc_free(&smtp) ;
  genalloc_free(dns_ip, &hostips) ; genalloc_free(dns_ip, &addrs) ;
  stralloc_free(&out) ; stralloc_free(&err) ; conf_free(&cf) ;
  return nfail ? EXIT_FAILED : 0 ;
}
