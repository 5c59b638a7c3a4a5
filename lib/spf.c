/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <skalibs/types.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "dns.h"
#include "spf.h"

int spf_is_record (char const *s, size_t len)
{
  return len >= 6 && !strncasecmp(s, "v=spf1", 6) && (len == 6 || s[6] == ' ') ;
}

#define ISALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define ISDIGIT(c) ((c) >= '0' && (c) <= '9')
#define ISALNUM(c) (ISALPHA(c) || ISDIGIT(c))

/* the mechanisms of §5 and what follows their name */
#define M_DOM_NONE 0
#define M_DOM_OPT 1
#define M_DOM_REQ 2
#define M_IP 3
typedef struct mech_s mech ;
struct mech_s
{
  char const *name ;
  unsigned char kind ;
  unsigned char dom ;
  unsigned char cidr ;   /* dual-cidr-length may follow (a, mx) */
} ;
static mech const mechs[] =
{
  { "all", SPF_ALL, M_DOM_NONE, 0 },
  { "include", SPF_INCLUDE, M_DOM_REQ, 0 },
  { "a", SPF_A, M_DOM_OPT, 1 },
  { "mx", SPF_MX, M_DOM_OPT, 1 },
  { "ptr", SPF_PTR, M_DOM_OPT, 0 },
  { "ip4", SPF_IP4, M_IP, 0 },
  { "ip6", SPF_IP6, M_IP, 0 },
  { "exists", SPF_EXISTS, M_DOM_REQ, 0 },
  { 0, 0, 0, 0 }
} ;

/* a prefix length "/N", 0..max, no leading zero (section 12 ip4-cidr-length). 1, or 0 */
static int cidr_scan (char const *s, size_t len, unsigned int max, unsigned int *bits)
{
  unsigned int v = 0 ;
  size_t i = 0 ;
  if (!len || len > 3 || (len > 1 && s[0] == '0')) return 0 ;
  for (; i < len ; i++)
  {
    if (!ISDIGIT(s[i])) return 0 ;
    v = v * 10 + (s[i] - '0') ;
  }
  if (v > max) return 0 ;
  *bits = v ;
  return 1 ;
}

/* a dotted quad, exactly four decimal octets (§12 ip4-network) */
static int ip4_scan_strict (char const *s, size_t len, char *ip)
{
  size_t i = 0 ;
  unsigned int part = 0 ;
  for (; part < 4 ; part++)
  {
    unsigned int v = 0, n = 0 ;
    if (part && (i >= len || s[i++] != '.')) return 0 ;
    while (i < len && ISDIGIT(s[i]) && n < 4) { v = v * 10 + (s[i++] - '0') ; n++ ; }
    if (!n || n > 3 || v > 255) return 0 ;
    ip[part] = (char)v ;
  }
  return i == len ;
}

/*
 * macro-string domain-end (§7.1, §12). Checks the syntax; says whether
 * a macro is present. exp's value may use c, r and t. 1, or 0 with *why.
 */
static int domain_spec (char const *s, size_t len, int isexp, int *macro, char const **why)
{
  size_t i = 0 ;
  int lastmacro = 0 ;
  *macro = 0 ;
  if (!len) return (*why = "empty domain", 0) ;
  while (i < len)
  {
    unsigned char c = s[i] ;
    if (c == '%')
    {
      if (i + 1 >= len) return (*why = "a lone % (write %% for a percent sign)", 0) ;
      if (s[i+1] == '%' || s[i+1] == '_' || s[i+1] == '-') { i += 2 ; lastmacro = 0 ; continue ; }
      if (s[i+1] != '{') return (*why = "% not followed by {, %, _ or -", 0) ;
      i += 2 ;
      if (i >= len || !strchr(isexp ? "slodiphcrtvSLODIPHCRTV" : "slodiphvSLODIPHV", s[i]) || !s[i])
        return (*why = "unknown macro letter", 0) ;
      i++ ;
      {
        unsigned int n = 0 ;
        while (i < len && ISDIGIT(s[i]) && n < 3) { i++ ; n++ ; }
      }
      if (i < len && (s[i] == 'r' || s[i] == 'R')) i++ ;
      while (i < len && strchr(".-+,/_=", s[i]) && s[i]) i++ ;
      if (i >= len || s[i] != '}') return (*why = "macro not closed by }", 0) ;
      i++ ;
      *macro = lastmacro = 1 ;
      continue ;
    }
    if (c < 0x21 || c > 0x7e) return (*why = "a character outside %x21-7E", 0) ;
    lastmacro = 0 ;
    i++ ;
  }
  if (lastmacro) return 1 ;
  /* domain-end: "." toplabel [ "." ] */
  {
    size_t end = len, start ;
    int alpha = 0, hyphen = 0 ;
    if (s[end-1] == '.') end-- ;
    start = end ;
    while (start && s[start-1] != '.') start-- ;
    if (!start || start == end) return (*why = "the domain needs at least two labels (domain-end)", 0) ;
    if (s[start] == '-' || s[end-1] == '-') return (*why = "a top label starting or ending with -", 0) ;
    for (i = start ; i < end ; i++)
    {
      if (ISALPHA(s[i])) alpha = 1 ;
      else if (s[i] == '-') hyphen = 1 ;
      else if (!ISDIGIT(s[i])) return (*why = "a top label of other than letters, digits and -", 0) ;
    }
    if (!alpha && !hyphen) return (*why = "an all-numeric top label", 0) ;
  }
  return 1 ;
}

/* one term, s[0..len) without spaces. 1, or 0 with *why and *at (offset in s) */
static int term (char const *s, size_t len, spf_term *t, size_t *at, char const **why)
{
  size_t i = 0, n ;
  mech const *m = mechs ;
  t->qual = '+' ;
  t->dom = t->domlen = 0 ;
  t->macro = 0 ;
  t->bits4 = 32 ; t->bits6 = 128 ;
  memset(t->ip, 0, 16) ;
  *at = 0 ;
  if (s[0] && strchr("+-~?", s[0])) t->qual = s[i++] ;
  if (i >= len || !ISALPHA(s[i])) return (*why = "a term must start with a name", 0) ;
  n = i ;
  while (n < len && (ISALNUM(s[n]) || s[n] == '-' || s[n] == '_' || s[n] == '.')) n++ ;
  if (n < len && s[n] == '=')
  {
    /* a modifier (§6): no qualifier; redirect and exp take a domain-spec */
    if (i) return (*why = "a modifier with a qualifier", 0) ;
    t->dom = n + 1 ; t->domlen = len - n - 1 ;
    if (n == 8 && !strncasecmp(s, "redirect", 8)) t->kind = SPF_REDIRECT ;
    else if (n == 3 && !strncasecmp(s, "exp", 3)) t->kind = SPF_EXP ;
    else
    {
      size_t k = t->dom ;
      t->kind = SPF_MODIFIER ;
      /* unknown-modifier = name "=" macro-string: printable, % only in macros */
      for (; k < len ; k++) if ((unsigned char)s[k] < 0x21 || (unsigned char)s[k] > 0x7e) return (*at = k, *why = "a character outside %x21-7E", 0) ;
      return 1 ;
    }
    *at = t->dom ;
    return domain_spec(s + t->dom, t->domlen, t->kind == SPF_EXP, &t->macro, why) ;
  }
  for (; m->name ; m++) if (strlen(m->name) == n - i && !strncasecmp(s + i, m->name, n - i)) break ;
  if (!m->name) return (*why = "unknown mechanism", 0) ;
  t->kind = m->kind ;
  i = n ;
  if (m->dom == M_IP)
  {
    size_t slash = i ;
    if (i >= len || s[i] != ':') return (*at = i, *why = "ip4 and ip6 need :address", 0) ;
    i++ ;
    while (slash < len && s[slash] != '/') slash++ ;
    *at = i ;
    if (m->kind == SPF_IP4)
    {
      if (!ip4_scan_strict(s + i, slash - i, t->ip)) return (*why = "not an IPv4 address", 0) ;
    }
    else
    {
      char buf[IP6_FMT + 1] ;
      if (slash - i > IP6_FMT || slash == i) return (*why = "not an IPv6 address", 0) ;
      memcpy(buf, s + i, slash - i) ;
      buf[slash - i] = 0 ;
      if (ip6_scan(buf, t->ip) != slash - i) return (*why = "not an IPv6 address", 0) ;
    }
    if (slash < len)
    {
      *at = slash ;
      if (!cidr_scan(s + slash + 1, len - slash - 1, m->kind == SPF_IP4 ? 32 : 128, m->kind == SPF_IP4 ? &t->bits4 : &t->bits6))
        return (*why = "bad prefix length", 0) ;
    }
    return 1 ;
  }
  if (m->cidr)
  {
    /* dual-cidr-length at the end: [ "/" N ] [ "//" N ]; a domain-spec may hold "/" itself */
    size_t end = len, k = len ;
    while (k > i && ISDIGIT(s[k-1])) k-- ;
    if (k < end && k >= i + 2 && s[k-1] == '/' && s[k-2] == '/')
    {
      if (!cidr_scan(s + k, end - k, 128, &t->bits6)) return (*at = k, *why = "bad IPv6 prefix length", 0) ;
      end = k - 2 ;
      k = end ;
      while (k > i && ISDIGIT(s[k-1])) k-- ;
    }
    if (k < end && k > i && s[k-1] == '/')
    {
      if (!cidr_scan(s + k, end - k, 32, &t->bits4)) return (*at = k, *why = "bad IPv4 prefix length", 0) ;
      end = k - 1 ;
    }
    len = end ;
  }
  if (i == len)
  {
    if (m->dom == M_DOM_REQ) return (*at = i, *why = "this mechanism needs :domain", 0) ;
    return 1 ;
  }
  if (m->dom == M_DOM_NONE) return (*at = i, *why = "junk after the mechanism", 0) ;
  if (s[i] != ':') return (*at = i, *why = "expected : before the domain", 0) ;
  t->dom = i + 1 ; t->domlen = len - i - 1 ;
  *at = t->dom ;
  return domain_spec(s + t->dom, t->domlen, 0, &t->macro, why) ;
}

int spf_parse (char const *s, size_t len, genalloc *ga, size_t *errpos, char const **why)
{
  size_t pos = 6, base = genalloc_len(spf_term, ga) ;
  int redirect = 0, exp = 0 ;
  if (!spf_is_record(s, len)) { *errpos = 0 ; *why = "not starting with v=spf1" ; return (errno = EINVAL, 0) ; }
  for (;;)
  {
    spf_term t ;
    size_t start, end, at ;
    if (pos >= len) break ;
    if (s[pos] != ' ') { *errpos = pos ; *why = "terms are separated by spaces" ; goto bad ; }
    while (pos < len && s[pos] == ' ') pos++ ;
    if (pos >= len) break ;
    start = pos ;
    end = pos ;
    while (end < len && s[end] != ' ') end++ ;
    if (!term(s + start, end - start, &t, &at, why)) { *errpos = start + at ; goto bad ; }
    t.pos = start ;
    if (t.domlen) t.dom += start ;
    if (t.kind == SPF_REDIRECT && redirect++) { *errpos = start ; *why = "redirect= twice (section 6)" ; goto bad ; }
    if (t.kind == SPF_EXP && exp++) { *errpos = start ; *why = "exp= twice (section 6)" ; goto bad ; }
    if (!genalloc_append(spf_term, ga, &t)) return 0 ;
    pos = end ;
  }
  return 1 ;
 bad:
  genalloc_setlen(spf_term, ga, base) ;
  return (errno = EINVAL, 0) ;
}

int spf_term_queries (spf_term const *t)
{
  switch (t->kind)
  {
    case SPF_INCLUDE : case SPF_A : case SPF_MX : case SPF_PTR : case SPF_EXISTS : case SPF_REDIRECT : return 1 ;
    default : return 0 ;
  }
}

char const *spf_result_name (int r)
{
  static char const *const names[] = { "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" } ;
  return r >= 0 && r <= SPF_R_PERMERROR ? names[r] : "?" ;
}

/* ----- the walk ----- */

typedef struct walk_s walk ;
struct walk_s
{
  spf_dns const *dns ;
  char const *ip ;
  int is6 ;
  spf_report *r ;
  unsigned int fetched ;
} ;

/* the first problem only: later ones are often its consequences */
static int note4 (walk *w, char const *a, char const *b, char const *c, char const *d)
{
  if (w->r->why.len) return 1 ;
  return stralloc_cats(&w->r->why, a) && stralloc_cats(&w->r->why, b ? b : "") && stralloc_cats(&w->r->why, c ? c : "")
    && stralloc_cats(&w->r->why, d ? d : "") && stralloc_0(&w->r->why) ;
}
#define note(w, a, b, c) note4(w, a, b, c, 0)

static int prefix_match (char const *a, char const *b, unsigned int bits)
{
  unsigned int whole = bits >> 3, rest = bits & 7 ;
  if (memcmp(a, b, whole)) return 0 ;
  return !rest || !(((unsigned char)a[whole] ^ (unsigned char)b[whole]) & (0xff << (8 - rest))) ;
}

/* does one of the addresses match ours within the term's prefix lengths */
static int ips_match (walk *w, dns_ip const *ips, size_t n, spf_term const *t)
{
  size_t i = 0 ;
  for (; i < n ; i++)
    if (ips[i].is6 == w->is6 && prefix_match(ips[i].ip, w->ip, w->is6 ? t->bits6 : t->bits4)) return 1 ;
  return 0 ;
}

static int walk_domain (walk *w, char const *domain, unsigned int depth, int eval, int *res) ;

/* a, mx and exists (§5.3, §5.4, §5.7): 1 matched, 0 not, -1 temporary failure (lib/dns says DNS_TEMP for no memory too) */
static int match_host (walk *w, spf_term const *t, char const *target)
{
  genalloc ips = GENALLOC_ZERO ;
  int r, m = 0 ;
  if (t->kind == SPF_A || t->kind == SPF_EXISTS)
  {
    r = w->dns->ip(w->dns->ctx, target, &ips) ;
    if (r == DNS_TEMP) m = -1 ;
    else if (r == DNS_OK) m = t->kind == SPF_EXISTS ? 1 : ips_match(w, genalloc_s(dns_ip, &ips), genalloc_len(dns_ip, &ips), t) ;
  }
  else
  {
    genalloc mxs = GENALLOC_ZERO ;
    stralloc names = STRALLOC_ZERO ;
    r = w->dns->mx(w->dns->ctx, target, &mxs, &names) ;
    if (r == DNS_TEMP) m = -1 ;
    else if (r == DNS_OK)
    {
      size_t n = genalloc_len(dns_mx, &mxs), i = 0 ;
      /* §4.6.4: at most 10 exchangers are looked up */
      for (; i < n && i < 10 && m == 0 ; i++)
      {
        char const *name = names.s + genalloc_s(dns_mx, &mxs)[i].name ;
        genalloc_setlen(dns_ip, &ips, 0) ;
        if (!*name) continue ;
        r = w->dns->ip(w->dns->ctx, name, &ips) ;
        if (r == DNS_TEMP) m = -1 ;
        else if (r == DNS_OK) m = ips_match(w, genalloc_s(dns_ip, &ips), genalloc_len(dns_ip, &ips), t) ;
      }
    }
    genalloc_free(dns_mx, &mxs) ;
    stralloc_free(&names) ;
  }
  genalloc_free(dns_ip, &ips) ;
  return m ;
}

static int qual_result (char q)
{
  switch (q)
  {
    case '-' : return SPF_R_FAIL ;
    case '~' : return SPF_R_SOFTFAIL ;
    case '?' : return SPF_R_NEUTRAL ;
    default : return SPF_R_PASS ;
  }
}

/* the record of domain: fetched, selected (§4.5), parsed, its terms walked in order (§4.6.2) */
static int walk_domain (walk *w, char const *domain, unsigned int depth, int eval, int *res)
{
  stralloc txt = STRALLOC_ZERO ;
  genalloc terms = GENALLOC_ZERO ;
  char const *rec = 0 ;
  size_t reclen = 0, pos = 0, errpos, n, i, redirect = (size_t)-1 ;
  unsigned int nrec = 0 ;
  int matched = !eval, result = SPF_R_NEUTRAL, hasall = 0, ok = 0, r ;
  char const *why ;
  if (depth > SPF_DEPTH_MAX) { *res = SPF_R_PERMERROR ; return note(w, "include and redirect nested more than 10 deep, at ", domain, 0) ; }
  if (w->fetched >= SPF_WALK_MAX) { *res = SPF_R_PERMERROR ; return note(w, "too many records to follow, at ", domain, 0) ; }
  w->fetched++ ;
  r = w->dns->txt(w->dns->ctx, domain, &txt) ;
  if (r == DNS_TEMP) { *res = SPF_R_TEMPERROR ; ok = note(w, domain, ": temporary DNS failure", 0) ; goto end ; }
  for (; r == DNS_OK && pos < txt.len ; pos += strlen(txt.s + pos) + 1)
    if (spf_is_record(txt.s + pos, strlen(txt.s + pos))) { if (!nrec++) { rec = txt.s + pos ; reclen = strlen(rec) ; } }
  if (!depth)
  {
    w->r->nrecords = nrec ;
    w->r->record.len = 0 ;
    if (!stralloc_catb(&w->r->record, rec ? rec : "", rec ? reclen : 0) || !stralloc_0(&w->r->record)) goto end ;
  }
  if (!nrec) { *res = SPF_R_NONE ; ok = 1 ; goto end ; }
  if (nrec > 1) { *res = SPF_R_PERMERROR ; ok = note(w, domain, ": more than one SPF record (section 4.5)", 0) ; goto end ; }
  if (!spf_parse(rec, reclen, &terms, &errpos, &why))
  {
    char fmt[SIZE_FMT] ;
    if (errno != EINVAL) goto end ;
    *res = SPF_R_PERMERROR ;
    fmt[size_fmt(fmt, errpos + 1)] = 0 ;
    if (w->r->why.len) { ok = 1 ; goto end ; }
    ok = stralloc_cats(&w->r->why, domain) && stralloc_cats(&w->r->why, ": syntax error at character ") && stralloc_cats(&w->r->why, fmt)
      && stralloc_cats(&w->r->why, ": ") && stralloc_cats(&w->r->why, why) && stralloc_0(&w->r->why) ;
    goto end ;
  }
  n = genalloc_len(spf_term, &terms) ;
  for (i = 0 ; i < n ; i++) if (genalloc_s(spf_term, &terms)[i].kind == SPF_ALL) hasall = 1 ;
  for (i = 0 ; i < n ; i++)
  {
    spf_term const *t = genalloc_s(spf_term, &terms) + i ;
    char target[256] ;
    int m = 0 ;
    if (spf_term_queries(t) && !(t->kind == SPF_REDIRECT && hasall)) w->r->lookups++ ;
    if (t->kind == SPF_EXP || t->kind == SPF_MODIFIER || t->kind == SPF_PTR) continue ;
    if (t->kind != SPF_IP4 && t->kind != SPF_IP6 && t->kind != SPF_ALL)
    {
      if (!t->domlen) memcpy(target, domain, strlen(domain) + 1) ;
      else if (t->domlen > 254) { if (!note(w, domain, ": a domain longer than 253 characters", 0)) goto end ; continue ; }
      else { memcpy(target, rec + t->dom, t->domlen) ; target[t->domlen] = 0 ; }
      if (t->macro) { w->r->unchecked = 1 ; continue ; }
    }
    if (t->kind == SPF_REDIRECT) { redirect = i ; continue ; }
    if (t->kind == SPF_INCLUDE)
    {
      int sub ;
      int sub_eval = !matched ;
      if (!walk_domain(w, target, depth + 1, sub_eval, &sub)) goto end ;
      if (sub == SPF_R_NONE && !note(w, "include:", target, " has no SPF record (a permerror, section 5.2)")) goto end ;
      if (!sub_eval) continue ;
      switch (sub)
      {
        case SPF_R_PASS : m = 1 ; break ;
        case SPF_R_TEMPERROR : matched = 1 ; result = SPF_R_TEMPERROR ; continue ;
        case SPF_R_NONE : case SPF_R_PERMERROR : matched = 1 ; result = SPF_R_PERMERROR ; continue ;
        default : continue ;
      }
    }
    else if (matched) continue ;
    else switch (t->kind)
    {
      case SPF_ALL : m = 1 ; break ;
      case SPF_IP4 : case SPF_IP6 :
        m = (t->kind == SPF_IP6) == !!w->is6 && prefix_match(t->ip, w->ip, w->is6 ? t->bits6 : t->bits4) ;
        break ;
      default :
        m = match_host(w, t, target) ;
        if (m == -1) { matched = 1 ; result = SPF_R_TEMPERROR ; if (!note(w, target, ": temporary DNS failure", 0)) goto end ; continue ; }
        break ;
    }
    if (m && !matched) { matched = 1 ; result = qual_result(t->qual) ; }
  }
  if (redirect != (size_t)-1 && !hasall)
  {
    spf_term const *t = genalloc_s(spf_term, &terms) + redirect ;
    char target[256] ;
    int sub, sub_eval = !matched ;
    memcpy(target, rec + t->dom, t->domlen) ;
    target[t->domlen] = 0 ;
    if (!walk_domain(w, target, depth + 1, sub_eval, &sub)) goto end ;
    if (sub == SPF_R_NONE && !note(w, "redirect=", target, " has no SPF record (a permerror, section 6.1)")) goto end ;
    if (sub_eval) { matched = 1 ; result = sub == SPF_R_NONE ? SPF_R_PERMERROR : sub ; }
  }
  *res = result ;
  ok = 1 ;
 end:
  stralloc_free(&txt) ;
  genalloc_free(spf_term, &terms) ;
  return ok ;
}

int spf_walk (spf_dns const *dns, char const *domain, char const *ip, int is6, spf_report *r)
{
  walk w = { .dns = dns, .ip = ip, .is6 = is6, .r = r, .fetched = 0 } ;
  int res = SPF_R_NONE ;
  r->lookups = 0 ;
  r->nrecords = 0 ;
  r->why.len = 0 ;
  r->record.len = 0 ;
  r->unchecked = 0 ;
  if (!walk_domain(&w, domain, 0, 1, &res)) return 0 ;
  if (r->lookups > SPF_LOOKUP_LIMIT && res != SPF_R_TEMPERROR) res = SPF_R_PERMERROR ;
  r->result = res ;
  if (!r->why.len && !stralloc_0(&r->why)) return 0 ;
  if (!r->record.len && !stralloc_0(&r->record)) return 0 ;
  return 1 ;
}

void spf_report_free (spf_report *r)
{
  stralloc_free(&r->record) ;
  stralloc_free(&r->why) ;
}
