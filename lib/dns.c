/* ISC license: see LICENSE. */

/* resolv.h's res_n* interface and the ns_* parser are BSD, not POSIX */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <netdb.h>

#include <skalibs/random.h>
#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include "dns.h"

static struct __res_state st ;
static int st_ready = 0 ;
static int dnssec = 0 ;     /* the resolver's AD bit is trusted */
static int last_ad = 0 ;    /* the last query's answer had it */
static int last_bogus = 0 ; /* the last TLSA lookup failed DNSSEC validation */

int dns_init (char const *ip, int is6, uint16_t port, unsigned int timeout)
{
  memset(&st, 0, sizeof(st)) ;
  if (res_ninit(&st) < 0) return (errno = EIO, 0) ;
  if (port)
  {
    struct sockaddr_in sa ;
    if (is6) return (errno = EAFNOSUPPORT, 0) ;
    memset(&sa, 0, sizeof(sa)) ;
    sa.sin_family = AF_INET ;
    sa.sin_port = htons(port) ;
    memcpy(&sa.sin_addr, ip, 4) ;
    st.nsaddr_list[0] = sa ;
    st.nscount = 1 ;
  }
  if (timeout)
  {
    st.retrans = timeout ;
    st.retry = 2 ;
  }
  /* remote-send asks for fully qualified names only: no search list */
  st.options &= ~(RES_DNSRCH | RES_DEFNAMES) ;
  st_ready = 1 ;
  return 1 ;
}

static unsigned char answer[65536] ;

/* one query; on DNS_OK, *msg is initialised over answer */
/* a raw answer, as the resolver returned it (or a fuzzer made it) */
static int msg_init (unsigned char const *buf, size_t len, ns_msg *msg)
{
  if (ns_initparse(buf, len, msg) < 0) return DNS_TEMP ;
  if (ns_msg_getflag(*msg, ns_f_rcode) == ns_r_nxdomain) return DNS_NXDOMAIN ;
  if (ns_msg_getflag(*msg, ns_f_rcode) != ns_r_noerror) return DNS_TEMP ;
  return DNS_OK ;
}

static int query (char const *name, int type, ns_msg *msg)
{
  int r ;
  if (!st_ready && !dns_init(0, 0, 0, 0)) return DNS_TEMP ;
  r = res_nquery(&st, name, ns_c_in, type, answer, sizeof(answer)) ;
  /* the header is in answer for NXDOMAIN and NODATA too (glibc fills it before judging the rcode) */
  last_ad = dnssec && (r >= NS_HFIXEDSZ || (r < 0 && (st.res_h_errno == HOST_NOT_FOUND || st.res_h_errno == NO_DATA))) && (answer[3] & 0x20) ;
  if (r < 0)
  {
    switch (st.res_h_errno)
    {
      case HOST_NOT_FOUND : return DNS_NXDOMAIN ;
      case NO_DATA : return DNS_NODATA ;
      default : return DNS_TEMP ;  /* TRY_AGAIN, NO_RECOVERY (REFUSED, FORMERR), network */
    }
  }
  if ((size_t)r > sizeof(answer)) return DNS_TEMP ;
  return msg_init(answer, r, msg) ;
}

static int mx_records (ns_msg msg, genalloc *mxs, stralloc *names)
{
  int n, i, found = 0 ;
  n = ns_msg_count(msg, ns_s_an) ;
  for (i = 0 ; i < n ; i++)
  {
    ns_rr rr ;
    char name[NS_MAXDNAME] ;
    dns_mx mx ;
    size_t len ;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return DNS_TEMP ;
    if (ns_rr_type(rr) != ns_t_mx || ns_rr_class(rr) != ns_c_in) continue ;  /* CNAMEs on the way */
    if (ns_rr_rdlen(rr) < 3) return DNS_TEMP ;
    mx.pref = ns_get16(ns_rr_rdata(rr)) ;
    if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, name, sizeof(name)) < 0) return DNS_TEMP ;
    len = strlen(name) ;
    if (len && name[len-1] == '.') name[--len] = 0 ;
    if (len == 1 && name[0] == '.') name[--len] = 0 ;
    mx.name = names->len ;
    if (!stralloc_catb(names, name, len + 1)) return DNS_TEMP ;
    if (!genalloc_append(dns_mx, mxs, &mx)) return DNS_TEMP ;
    found++ ;
  }
  return found ? DNS_OK : DNS_NODATA ;
}

int dns_mx_lookup (char const *domain, genalloc *mxs, stralloc *names)
{
  ns_msg msg ;
  int r = query(domain, ns_t_mx, &msg) ;
  return r == DNS_OK ? mx_records(msg, mxs, names) : r ;
}

int dns_mx_parse (unsigned char const *buf, size_t len, genalloc *mxs, stralloc *names)
{
  ns_msg msg ;
  int r = msg_init(buf, len, &msg) ;
  return r == DNS_OK ? mx_records(msg, mxs, names) : r ;
}

static int ip_records (ns_msg msg, int type, genalloc *ips)
{
  int n, i, found = 0 ;
  n = ns_msg_count(msg, ns_s_an) ;
  for (i = 0 ; i < n ; i++)
  {
    ns_rr rr ;
    dns_ip a ;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return DNS_TEMP ;
    if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in) continue ;
    if (ns_rr_rdlen(rr) != (type == ns_t_aaaa ? 16 : 4)) return DNS_TEMP ;
    memset(&a, 0, sizeof(a)) ;
    a.is6 = type == ns_t_aaaa ;
    memcpy(a.ip, ns_rr_rdata(rr), ns_rr_rdlen(rr)) ;
    if (!genalloc_append(dns_ip, ips, &a)) return DNS_TEMP ;
    found++ ;
  }
  return found ? DNS_OK : DNS_NODATA ;
}

static int ip_query (char const *host, int type, genalloc *ips)
{
  ns_msg msg ;
  int r = query(host, type, &msg) ;
  return r == DNS_OK ? ip_records(msg, type, ips) : r ;
}

int dns_ip_parse (unsigned char const *buf, size_t len, int is6, genalloc *ips)
{
  ns_msg msg ;
  int r = msg_init(buf, len, &msg) ;
  return r == DNS_OK ? ip_records(msg, is6 ? ns_t_aaaa : ns_t_a, ips) : r ;
}

int dns_ip_lookup (char const *host, genalloc *ips)
{
  int r6 = ip_query(host, ns_t_aaaa, ips) ;
  int r4, ad6 = last_ad ;
  if (r6 == DNS_NXDOMAIN) return r6 ;
  r4 = ip_query(host, ns_t_a, ips) ;
  last_ad = last_ad && ad6 ;
  if (r6 == DNS_OK || r4 == DNS_OK) return DNS_OK ;
  if (r6 == DNS_TEMP || r4 == DNS_TEMP) return DNS_TEMP ;
  return r4 ;
}

static int txt_records (ns_msg msg, stralloc *sa)
{
  int n, i, found = 0 ;
  n = ns_msg_count(msg, ns_s_an) ;
  for (i = 0 ; i < n ; i++)
  {
    ns_rr rr ;
    unsigned char const *p ;
    size_t len, pos = 0, start = sa->len ;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return DNS_TEMP ;
    if (ns_rr_type(rr) != ns_t_txt || ns_rr_class(rr) != ns_c_in) continue ;
    p = ns_rr_rdata(rr) ;
    len = ns_rr_rdlen(rr) ;
    /* RFC 1035 §3.3.14: one or more <character-string>s, each a length octet and its bytes */
    while (pos < len)
    {
      size_t k = p[pos++] ;
      if (k > len - pos) { sa->len = start ; return DNS_TEMP ; }
      if (memchr(p + pos, 0, k)) break ;
      if (!stralloc_catb(sa, (char const *)p + pos, k)) return DNS_TEMP ;
      pos += k ;
    }
    if (pos < len) { sa->len = start ; continue ; }
    if (!stralloc_0(sa)) return DNS_TEMP ;
    found++ ;
  }
  return found ? DNS_OK : DNS_NODATA ;
}

int dns_txt_lookup (char const *name, stralloc *sa)
{
  ns_msg msg ;
  int r = query(name, ns_t_txt, &msg) ;
  return r == DNS_OK ? txt_records(msg, sa) : r ;
}

int dns_txt_parse (unsigned char const *buf, size_t len, stralloc *sa)
{
  ns_msg msg ;
  int r = msg_init(buf, len, &msg) ;
  return r == DNS_OK ? txt_records(msg, sa) : r ;
}

static int ptr_records (ns_msg msg, stralloc *sa)
{
  int n, i, found = 0 ;
  n = ns_msg_count(msg, ns_s_an) ;
  for (i = 0 ; i < n ; i++)
  {
    ns_rr rr ;
    char name[NS_MAXDNAME] ;
    size_t len ;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return DNS_TEMP ;
    if (ns_rr_type(rr) != ns_t_ptr || ns_rr_class(rr) != ns_c_in) continue ;
    if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr), name, sizeof(name)) < 0) return DNS_TEMP ;
    len = strlen(name) ;
    if (len && name[len-1] == '.') name[--len] = 0 ;
    if (!stralloc_catb(sa, name, len + 1)) return DNS_TEMP ;
    found++ ;
  }
  return found ? DNS_OK : DNS_NODATA ;
}

void dns_ptr_name (char *buf, char const *ip, int is6)
{
  static char const hex[] = "0123456789abcdef" ;
  size_t w = 0 ;
  int i ;
  if (is6)
  {
    for (i = 15 ; i >= 0 ; i--)
    {
      buf[w++] = hex[(unsigned char)ip[i] & 15] ; buf[w++] = '.' ;
      buf[w++] = hex[(unsigned char)ip[i] >> 4] ; buf[w++] = '.' ;
    }
    memcpy(buf + w, "ip6.arpa", 9) ;
    return ;
  }
  for (i = 3 ; i >= 0 ; i--)
  {
    unsigned int b = (unsigned char)ip[i] ;
    if (b >= 100) buf[w++] = '0' + b / 100 ;
    if (b >= 10) buf[w++] = '0' + b / 10 % 10 ;
    buf[w++] = '0' + b % 10 ;
    buf[w++] = '.' ;
  }
  memcpy(buf + w, "in-addr.arpa", 13) ;
}

int dns_ptr_lookup (char const *ip, int is6, stralloc *sa)
{
  char name[DNS_PTRNAME_MAX] ;
  ns_msg msg ;
  int r ;
  dns_ptr_name(name, ip, is6) ;
  r = query(name, ns_t_ptr, &msg) ;
  return r == DNS_OK ? ptr_records(msg, sa) : r ;
}

int dns_ptr_parse (unsigned char const *buf, size_t len, stralloc *sa)
{
  ns_msg msg ;
  int r = msg_init(buf, len, &msg) ;
  return r == DNS_OK ? ptr_records(msg, sa) : r ;
}

int dns_mx_isnull (dns_mx const *mx, size_t n, char const *names)
{
  return n == 1 && !names[mx[0].name] ;
}

void dns_mx_sort (dns_mx *mx, size_t n)
{
  size_t i, j ;
  /* insertion sort: MX sets are small, and stable */
  for (i = 1 ; i < n ; i++)
  {
    dns_mx x = mx[i] ;
    for (j = i ; j && mx[j-1].pref > x.pref ; j--) mx[j] = mx[j-1] ;
    mx[j] = x ;
  }
  /* Fisher-Yates inside each run of equal preference */
  for (i = 0 ; i < n ; i = j)
  {
    size_t k ;
    for (j = i + 1 ; j < n && mx[j].pref == mx[i].pref ; j++) ;
    for (k = j - 1 ; k > i ; k--)
    {
      size_t m = i + random_uint32(k - i + 1) ;
      dns_mx x = mx[k] ;
      mx[k] = mx[m] ;
      mx[m] = x ;
    }
  }
}

char const *dns_strerror (int r)
{
  switch (r)
  {
    case DNS_OK : return "ok" ;
    case DNS_NODATA : return "no records" ;
    case DNS_NXDOMAIN : return "domain does not exist" ;
    case DNS_TEMP : return "temporary DNS failure" ;
    default : return "unknown DNS result" ;
  }
}

/* DNSSEC and TLSA: see dns.h */

static int loopback_only (void)
{
  static unsigned char const v6loop[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } ;
  if (st.nscount != 1) return 0 ;
  if (st.nsaddr_list[0].sin_family == AF_INET)
    return ((unsigned char const *)&st.nsaddr_list[0].sin_addr)[0] == 127 ;
  /* glibc keeps an IPv6 nameserver aside, in _u._ext */
  return st._u._ext.nsaddrs[0] && st._u._ext.nsaddrs[0]->sin6_family == AF_INET6
    && !memcmp(&st._u._ext.nsaddrs[0]->sin6_addr, v6loop, 16) ;
}

int dns_dnssec_init (int how)
{
  if (!st_ready && !dns_init(0, 0, 0, 0)) return 0 ;
  if (how != DNS_DNSSEC_TRUST && (how != DNS_DNSSEC_AUTO || !loopback_only())) return (dnssec = 0) ;
#ifdef RES_TRUSTAD
  st.options |= RES_TRUSTAD ;
#endif
  st.options |= RES_USE_EDNS0 | RES_USE_DNSSEC ;
  return (dnssec = 1) ;
}

int dns_dnssec_trusted (void)
{
  return dnssec ;
}

int dns_secure (void)
{
  return last_ad ;
}

static int tlsa_records (ns_msg msg, tlsa_set *set)
{
  int n = ns_msg_count(msg, ns_s_an), i ;
  for (i = 0 ; i < n ; i++)
  {
    ns_rr rr ;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) return DNS_TEMP ;
    /* RFC 6698 §7.1: type 52; CNAMEs and RRSIGs on the way are skipped */
    if (ns_rr_type(rr) != 52 || ns_rr_class(rr) != ns_c_in) continue ;
    if (!tlsa_set_add(set, ns_rr_rdata(rr), ns_rr_rdlen(rr))) return DNS_TEMP ;
  }
  return set->total ? DNS_OK : DNS_NODATA ;
}

/*
 * After a SERVFAIL from the validating resolver: the same question with
 * the CD bit (RFC 4035 §3.2.2, checking disabled). An answer now means
 * the data is there and failed validation (bogus); another failure means
 * the zone could not be reached. One more query, on failures only.
 */
static int checking_disabled (char const *name, int type)
{
  unsigned char q[NS_PACKETSZ] ;
  int n = res_nmkquery(&st, ns_o_query, name, ns_c_in, type, 0, 0, 0, q, sizeof(q)) ;
  int r ;
  if (n < NS_HFIXEDSZ) return 0 ;
  q[3] |= 0x10 ;
  r = res_nsend(&st, q, n, answer, sizeof(answer)) ;
  return r >= NS_HFIXEDSZ && (answer[3] & 0x0f) == ns_r_noerror ;
}

int dns_tlsa_parse (unsigned char const *buf, size_t len, tlsa_set *set)
{
  ns_msg msg ;
  int r = msg_init(buf, len, &msg) ;
  return r == DNS_OK ? tlsa_records(msg, set) : r ;
}

int dns_tlsa_lookup (char const *host, uint16_t port, tlsa_set *set)
{
  char name[NS_MAXDNAME + 16] ;
  ns_msg msg ;
  size_t hlen = strlen(host) ;
  int r ;
  if (hlen > NS_MAXDNAME) return DNS_NXDOMAIN ;
  /* RFC 6698 §3: _port._tcp.host */
  name[0] = '_' ;
  {
    char *p = name + 1 ;
    char d[5] ;
    size_t k = 0 ;
    unsigned int u = port ;
    do d[k++] = '0' + u % 10 ; while ((u /= 10)) ;
    while (k) *p++ = d[--k] ;
    memcpy(p, "._tcp.", 6) ;
    memcpy(p + 6, host, hlen + 1) ;
  }
  tlsa_set_reset(set) ;
  last_bogus = 0 ;
  r = query(name, 52, &msg) ;
  if (r == DNS_TEMP && dnssec) last_bogus = checking_disabled(name, 52) ;
  return r == DNS_OK ? tlsa_records(msg, set) : r ;
}

int dns_bogus (void)
{
  return last_bogus ;
}
