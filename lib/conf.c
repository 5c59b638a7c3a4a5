/* ISC license: see LICENSE. */

/*
 * The parser of ketch.conf(5). One sentence per line: a keyword, then
 * words; '#' starts a comment; a word may be "double quoted". Every error
 * is reported as "file:line: what is wrong" in the caller's stralloc; in
 * conf_check's mode every error is collected and parsing goes on.
 *
 * The keywords are one table, keywords[] below. A row names a keyword
 * (with, under limit, timeout and retry, the second word that picks the
 * setting), the field of conf it sets, its type, its default and its
 * bounds: a row of a plain type (a string, a path, a number, a size, a
 * duration, a port, one of a few words) is parsed, defaulted and printed
 * by the generic code from the row alone. A keyword with more structure
 * (listen, route, deliver...) names its own parse and print functions.
 * The table's order is conf_print's; conf_keywords lists it for
 * conf-check -k, from which t/man-ops.t checks that ketch.conf(5)
 * documents every keyword.
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

/*
 * An error message is "file:line: " (fail_start), then its words, then
 * fail_end: 0 with errno EINVAL and the message in p->err, or, when
 * memory ran out on the way, 0 with no message (the caller reports
 * the errno).
 */
static int fail_start (parse *p)
{
  char fmt[UINT_FMT] ;
  p->err->len = 0 ;
  return stralloc_cats(p->err, p->file) && stralloc_catb(p->err, ":", 1)
      && stralloc_catb(p->err, fmt, uint_fmt(fmt, p->line)) && stralloc_catb(p->err, ": ", 2) ;
}

static int fail_end (parse *p, int ok)
{
  if (!ok || !stralloc_0(p->err))
  {
    p->err->len = 0 ;
    return 0 ;
  }
  errno = EINVAL ;
  return 0 ;
}

static int fail3 (parse *p, char const *a, char const *b, char const *c)
{
  return fail_end(p, fail_start(p) && stralloc_cats(p->err, a)
    && (!b || stralloc_cats(p->err, b)) && (!c || stralloc_cats(p->err, c))) ;
}

static int fail (parse *p, char const *a, char const *b)
{
  return fail3(p, a, b, 0) ;
}

/* "a, b or c": the words w[0] to w[last] */
static int catwords (stralloc *sa, char const *const *w, size_t last)
{
  size_t i = 0 ;
  for (; i <= last ; i++)
    if ((i && !stralloc_cats(sa, i < last ? ", " : " or ")) || !stralloc_cats(sa, w[i])) return 0 ;
  return 1 ;
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

/*
 * conf_print's words: each sentence conf_load accepts again and prints
 * the same way (conf-check(8) relies on this fixed point).
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

static int pend (stralloc *sa)
{
  return stralloc_catb(sa, "\n", 1) ;
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

/* the words of route's and outbound-tls's policies, by value */
static char const *const tls_names[] =
{
  [CONF_TLS_OPPORTUNISTIC] = "opportunistic",
  [CONF_TLS_REQUIRED] = "required",
  [CONF_TLS_VERIFY] = "verify",
  [CONF_TLS_NONE] = "none",
  [CONF_TLS_DANE] = "dane",
  [CONF_TLS_DANE_ONLY] = "dane-only"
} ;

char const *conf_tls_name (unsigned int p)
{
  return p <= CONF_TLS_DANE_ONLY ? tls_names[p] : "?" ;
}

static char const *const mtasts_names[] = { [CONF_MTASTS_OFF] = "off", [CONF_MTASTS_ON] = "on" } ;
static char const *const log_names[] = { [CONF_LOG_S6] = "s6", [CONF_LOG_SYSLOG] = "syslog" } ;
static char const *const logfmt_names[] = { [CONF_LOGFMT_TEXT] = "text", [CONF_LOGFMT_JSON] = "json" } ;
static char const *const dotforward_names[] = { [CONF_DOTFORWARD_OFF] = "off", [CONF_DOTFORWARD_ON] = "on" } ;

/* tls-policy's words, by value: Postfix's names for the same policies */
static char const *const tls_policy_names[] =
{
  [CONF_TLS_OPPORTUNISTIC] = "may",
  [CONF_TLS_REQUIRED] = "encrypt",
  [CONF_TLS_VERIFY] = "verify",
  [CONF_TLS_NONE] = "none",
  [CONF_TLS_DANE] = "dane",
  [CONF_TLS_DANE_ONLY] = "dane-only"
} ;

char const *conf_tls_policy_name (unsigned int p)
{
  return p <= CONF_TLS_DANE_ONLY ? tls_policy_names[p] : "?" ;
}

/*
 * A row of the keyword table. The types from T_UINT on are numbers: the
 * field is an integer of size octets, set to def before parsing, and a
 * value outside min..max is refused.
 */
enum type_e
{
  T_RULE,      /* its own parse and print functions */
  T_GROUP,     /* limit, timeout, retry: the rows after it, one per second word */
  T_STRING,    /* a word, set once */
  T_PATH,      /* a path, set once, relative to the configuration's directory */
  T_UINT,      /* a decimal number */
  T_SIZE,      /* octets, with an optional unit k, m or g */
  T_DURATION,  /* seconds, with an optional unit s, m, h, d or w */
  T_PORT,      /* 1 to 65535 */
  T_WORD       /* one of names[0..max], stored as its index */
} ;

#define PRINT_CHANGED 0x01  /* a number printed only when it is not the default */

typedef struct keyword_s keyword ;
struct keyword_s
{
  char const *name ;
  char const *sub ;      /* the second word, in a group */
  enum type_e type ;
  size_t off ;           /* the field */
  size_t size ;          /* its size: a number is stored by width */
  uint64_t def ;
  uint64_t min ;
  uint64_t max ;         /* a number's largest; T_PATH: the longest (0: any); T_WORD: the last of names */
  char const *defs ;     /* a string's default, set after parsing if the file sets none */
  char const *const *names ; /* T_WORD */
  char const *text ;     /* T_GROUP: what an unknown second word is told (0: the list of them) */
  size_t line ;          /* a string: the field that keeps the line setting it (0: none) */
  unsigned int flags ;
  int (*parse) (parse *, keyword const *) ;  /* instead of the type's: the row's words are its own to check */
  int (*print) (stralloc *, conf const *) ;
} ;

#define FIELD(f) .off = offsetof(conf, f), .size = sizeof(((conf *)0)->f)
#define FIELD_AT(c, k, type) ((type *)((char *)(c) + (k)->off))
#define FIELD_AT_CONST(c, k, type) ((type const *)((char const *)(c) + (k)->off))

static int catname (stralloc *sa, keyword const *k)
{
  return stralloc_cats(sa, k->name) && (!k->sub || (stralloc_catb(sa, " ", 1) && stralloc_cats(sa, k->sub))) ;
}

/* numbers are stored in fields of 2, 4 or 8 octets (port, unsigned int, uint64_t) */
static void put (conf *c, keyword const *k, uint64_t v)
{
  switch (k->size)
  {
    case sizeof(uint16_t) : *FIELD_AT(c, k, uint16_t) = (uint16_t)v ; break ;
    case sizeof(unsigned int) : *FIELD_AT(c, k, unsigned int) = (unsigned int)v ; break ;
    default : *FIELD_AT(c, k, uint64_t) = v ; break ;
  }
}

static uint64_t get (conf const *c, keyword const *k)
{
  switch (k->size)
  {
    case sizeof(uint16_t) : return *FIELD_AT_CONST(c, k, uint16_t) ;
    case sizeof(unsigned int) : return *FIELD_AT_CONST(c, k, unsigned int) ;
    default : return *FIELD_AT_CONST(c, k, uint64_t) ;
  }
}

/* the value, the last word (the line's length is checked), into the row's field */
static int set (parse *p, keyword const *k)
{
  char const *w = p->w[p->n - 1] ;
  uint64_t v = 0 ;
  switch (k->type)
  {
    case T_STRING :
    case T_PATH :
    {
      size_t *off = FIELD_AT(p->c, k, size_t) ;
      char fmt[UINT64_FMT] ;
      if (!set_once(p, off, w, k->type == T_PATH)) return 0 ;
      if (k->max && strlen(p->c->sa.s + *off) > k->max)
        return fail_end(p, fail_start(p) && stralloc_cats(p->err, k->name) && stralloc_cats(p->err, ": path longer than ")
          && stralloc_catb(p->err, fmt, uint64_fmt(fmt, k->max)) && stralloc_cats(p->err, " octets: ") && stralloc_cats(p->err, w)) ;
      if (k->line) *(unsigned int *)((char *)p->c + k->line) = p->line ;
      return 1 ;
    }
    case T_UINT :
      /* uint640_scan takes the whole word or nothing: 4294967297 is not 1 */
      if (!uint640_scan(w, &v) || v < k->min || v > k->max)
        return fail3(p, k->name, k->min ? ": not a positive number: " : ": not a number: ", w) ;
      break ;
    case T_SIZE :
    {
      int r = scan_scaled(w, sizes, k->max, &v) ;
      if (r < 0)
        return fail_end(p, fail_start(p) && catname(p->err, k) && stralloc_cats(p->err, ": too large (at most")
          && pscaled(p->err, k->max, sizes) && stralloc_cats(p->err, "): ") && stralloc_cats(p->err, w)) ;
      if (!r || v < k->min)
        return fail_end(p, fail_start(p) && catname(p->err, k) && stralloc_cats(p->err, ": bad size: ") && stralloc_cats(p->err, w)) ;
      break ;
    }
    case T_DURATION :
    {
      int r = scan_scaled(w, durations, k->max, &v) ;
      if (r < 0) return fail(p, "duration too long: ", w) ;
      if (!r || v < k->min) return fail(p, "not a duration (like 30s, 5m, 4h, 5d): ", w) ;
      break ;
    }
    case T_PORT :
    {
      uint16_t port ;
      if (!scan_port(w, &port)) return fail(p, k->name, " needs a number from 1 to 65535") ;
      v = port ;
      break ;
    }
    case T_WORD :
      for (; v <= k->max && strcmp(w, k->names[v]) ; v++) ;
      if (v > k->max)
        return fail_end(p, fail_start(p) && stralloc_cats(p->err, k->name) && stralloc_cats(p->err, " takes ")
          && catwords(p->err, k->names, k->max)) ;
      break ;
    default :
      /* not reached: dispatch gives rules and groups to their own functions */
      return (errno = EINVAL, 0) ;
  }
  put(p->c, k, v) ;
  return 1 ;
}

/* the rules: keywords with more than one value, or values that need more than their type checks */

static int do_hostname (parse *p, keyword const *k)
{
  if (!need(p, 2, 2)) return 0 ;
  case_lowers(p->w[1]) ;
  if (!netaddr_hostname(p->w[1], strlen(p->w[1]))) return fail(p, "hostname: not a host name: ", p->w[1]) ;
  return set(p, k) ;
}

static int do_certificate (parse *p, keyword const *k)
{
  conf *c = p->c ;
  if (!need(p, 4, 4) || strcmp(p->w[2], "key")) return fail(p, "expected: certificate CERTFILE key KEYFILE", 0) ;
  c->cert_line = p->line ;
  return set_once(p, &c->cert, p->w[1], 1) && addpath(c, p->w[3], &c->key) ;
}

/* listen ADDRESS [port N] [starttls|tls-required|smtps] [auth|auth-required] [plain-auth] [sender-login|any-sender] [filter NAME]... */
static int do_listen (parse *p, keyword const *k)
{
  conf_listen l = { .port = 25, .flags = 0, .line = p->line, .filter_first = genalloc_len(size_t, &p->c->filter_use), .filter_count = 0 } ;
  unsigned int i = 2 ;
  if (!need(p, 2, MAXWORDS)) return 0 ;
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
    else if (!strcmp(w, "sender-login")) l.flags = (l.flags & ~CONF_LISTEN_ANYSENDER) | CONF_LISTEN_SENDERLOGIN ;
    else if (!strcmp(w, "any-sender")) l.flags = (l.flags & ~CONF_LISTEN_SENDERLOGIN) | CONF_LISTEN_ANYSENDER ;
    else if (!strcmp(w, "filter"))
    {
      /* the names are checked in finish: a filter line may come later */
      size_t off ;
      if (++i >= p->n) return fail(p, "listen: filter needs a filter's name", 0) ;
      if (!addstr(p->c, p->w[i], &off) || !genalloc_append(size_t, &p->c->filter_use, &off)) return 0 ;
      l.filter_count++ ;
    }
    else return fail(p, "listen: unknown option: ", w) ;
  }
  if ((l.flags & CONF_LISTEN_SMTPS) && (l.flags & CONF_LISTEN_STARTTLS))
    return fail(p, "listen: smtps and starttls exclude each other", 0) ;
  return genalloc_append(conf_listen, &p->c->listen, &l) ;
}

static int do_domains (parse *p, keyword const *k)
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

/* METHOD OPERAND...: the words w[i..n) of a deliver line or of a virtual-domain's deliver */
static int parse_delivery (parse *p, unsigned int i, conf_delivery *d)
{
  char const *m = p->w[i], *a = p->w[i+1] ;
  unsigned int nw = p->n - i ;
  if (!strcmp(m, "maildir") || !strcmp(m, "mbox"))
  {
    if (nw != 2) return fail(p, "deliver: ", "maildir and mbox take one path") ;
    d->type = m[1] == 'a' ? CONF_DELIVER_MAILDIR : CONF_DELIVER_MBOX ;
    if (a[0] != '/' && a[0] != '~') return fail(p, "deliver: the path must start with / or ~/", 0) ;
    return addstr(p->c, a, &d->arg) ;
  }
  if (!strcmp(m, "mda"))
  {
    unsigned int j = i + 1 ;
    if (a[0] != '/') return fail(p, "deliver: the mda program must be an absolute path", 0) ;
    d->type = CONF_DELIVER_MDA ;
    d->arg = p->c->sa.len ;
    d->argc = nw - 1 ;
    for (; j < p->n ; j++) if (!stralloc_cats(&p->c->sa, p->w[j]) || !stralloc_0(&p->c->sa)) return 0 ;
    return 1 ;
  }
  if (!strcmp(m, "lmtp"))
  {
    if (nw != 2) return fail(p, "deliver: lmtp takes one target", 0) ;
    if (strncmp(a, "unix:", 5))
    {
      size_t start, n ;
      uint16_t port = 0 ;
      /* local-deliver splits at the last colon: the port is required */
      if (netaddr_hostport(a, strlen(a), &start, &n, &port) != 1 || !port)
        return fail(p, "deliver: lmtp takes unix:PATH or HOST:PORT", 0) ;
    }
    d->type = CONF_DELIVER_LMTP ;
    return addstr(p->c, a, &d->arg) ;
  }
  return fail(p, "deliver: unknown method: ", m) ;
}

/*
 * virtual-domain DOMAIN map FILE [deliver maildir TEMPLATE | deliver lmtp TARGET]
 * virtual-domain DOMAIN passwd-file FILE deliver lmtp TARGET
 * A passwd-file names users, never targets: the domain's deliver is
 * required, and it is LMTP (the file is Dovecot's; so are the mailboxes).
 */
static int do_vdomain (parse *p, keyword const *k)
{
  conf_vdomain v = { .deliver = { .type = CONF_DELIVER_MAILDIR, .arg = 0, .argc = 0 } } ;
  if (!need(p, 4, MAXWORDS)) return 0 ;
  if (!strcmp(p->w[2], "map")) v.users = CONF_VUSERS_MAP ;
  else if (!strcmp(p->w[2], "passwd-file")) v.users = CONF_VUSERS_PASSWD ;
  else return fail(p, "virtual-domain: expected: virtual-domain DOMAIN map|passwd-file FILE [deliver METHOD TARGET]", 0) ;
  case_lowers(p->w[1]) ;
  if (!address_domain_valid(p->w[1], strlen(p->w[1]), ADDRESS_UTF8)) return fail(p, "virtual-domain: not a domain: ", p->w[1]) ;
  if (!addstr(p->c, p->w[1], &v.domain) || !addpath(p->c, p->w[3], &v.map)) return 0 ;
  if (p->n > 4)
  {
    if (strcmp(p->w[4], "deliver") || p->n != 7) return fail(p, "virtual-domain: after the file: deliver maildir TEMPLATE or deliver lmtp TARGET", 0) ;
    if (strcmp(p->w[5], "maildir") && strcmp(p->w[5], "lmtp")) return fail(p, "virtual-domain: deliver maildir or lmtp", 0) ;
    /* a virtual user has no home: a maildir template is absolute */
    if (!strcmp(p->w[5], "maildir") && p->w[6][0] != '/') return fail(p, "virtual-domain: the maildir template must be an absolute path", 0) ;
    if (!parse_delivery(p, 5, &v.deliver)) return 0 ;
  }
  if (v.users == CONF_VUSERS_PASSWD && (!v.deliver.arg || v.deliver.type != CONF_DELIVER_LMTP))
    return fail(p, "virtual-domain: a passwd-file needs deliver lmtp TARGET", 0) ;
  return genalloc_append(conf_vdomain, &p->c->vdomains, &v) ;
}

/* relay-from CIDR... */
static int do_relay (parse *p, keyword const *k)
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
static int do_route (parse *p, keyword const *k)
{
  conf_route r = { .domain = 0, .tls = CONF_TLS_OPPORTUNISTIC, .auth = 0 } ;
  int smarthost = !strcmp(k->name, "smarthost") ;
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
      for (r.tls = 0 ; r.tls <= CONF_TLS_NONE && strcmp(w, tls_names[r.tls]) ; r.tls++) ;
      if (r.tls > CONF_TLS_NONE) return fail(p, p->w[0], ": tls takes required, verify, opportunistic or none") ;
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

/* relay-domain DOMAIN [via HOST[:PORT]] [recipients FILE | verify] */
static int do_relaydomain (parse *p, keyword const *k)
{
  conf_relaydomain d = { .domain = 0, .host = 0, .port = 0, .check = CONF_RELAY_CHECK_NONE, .list = 0, .line = p->line } ;
  unsigned int i = 2 ;
  if (!need(p, 2, 6)) return 0 ;
  case_lowers(p->w[1]) ;
  if (!address_domain_valid(p->w[1], strlen(p->w[1]), ADDRESS_UTF8)) return fail(p, "relay-domain: not a domain: ", p->w[1]) ;
  if (conf_relaydomain_find(p->c, p->w[1])) return fail(p, "relay-domain: given twice: ", p->w[1]) ;
  if (!addstr(p->c, p->w[1], &d.domain)) return 0 ;
  for (; i < p->n ; i++)
  {
    if (!strcmp(p->w[i], "via") && !d.host && i + 1 < p->n)
    {
      conf_route r ;
      if (!scan_hostport(p, p->w[++i], &r)) return 0 ;
      d.host = r.host ; d.port = r.port ;
    }
    else if (!strcmp(p->w[i], "recipients") && !d.check && i + 1 < p->n)
    {
      d.check = CONF_RELAY_CHECK_LIST ;
      if (!addpath(p->c, p->w[++i], &d.list)) return 0 ;
    }
    else if (!strcmp(p->w[i], "verify") && !d.check) d.check = CONF_RELAY_CHECK_VERIFY ;
    else return fail(p, "relay-domain: expected: relay-domain DOMAIN [via HOST[:PORT]] [recipients FILE | verify], not: ", p->w[i]) ;
  }
  return genalloc_append(conf_relaydomain, &p->c->relay_domains, &d) ;
}

/* deliver maildir PATH | mbox PATH | mda PROGRAM [ARG...] | lmtp unix:PATH | lmtp HOST:PORT */
static int do_deliver (parse *p, keyword const *k)
{
  if (!need(p, 3, MAXWORDS)) return 0 ;
  return parse_delivery(p, 1, &p->c->deliver) ;
}

/* a filter's name: what the logs and the listen lines call it */
static int filter_name_ok (char const *s)
{
  size_t i = 0 ;
  for (; s[i] ; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.')) return 0 ;
  return i && i <= 64 ;
}

static char const *const filter_onfail_names[] = { [CONF_FILTER_TEMPFAIL] = "tempfail", [CONF_FILTER_ACCEPT] = "accept" } ;

/*
 * filter NAME unix:PATH | inet:ADDRESS:PORT | inet6:[ADDRESS]:PORT [on-failure tempfail|accept]
 * Postfix's notation (milter_README): an address literal only, since the
 * session connects without a resolver. A relative unix path is taken from
 * the configuration's directory, like every path here.
 */
static int do_filter (parse *p, keyword const *k)
{
  conf_filter f = { .onfail = CONF_FILTER_TEMPFAIL, .line = p->line } ;
  char const *a ;
  if (!need(p, 3, 5)) return 0 ;
  a = p->w[2] ;
  if (!filter_name_ok(p->w[1])) return fail(p, "filter: a name is 1 to 64 letters, digits, '-', '_' or '.': ", p->w[1]) ;
  if (conf_filter_find(p->c, p->w[1])) return fail(p, "filter: defined twice: ", p->w[1]) ;
  if (p->n > 3)
  {
    if (p->n != 5 || strcmp(p->w[3], "on-failure")) return fail(p, "filter: expected: filter NAME ADDRESS [on-failure tempfail|accept]", 0) ;
    for (f.onfail = 0 ; f.onfail <= CONF_FILTER_ACCEPT && strcmp(p->w[4], filter_onfail_names[f.onfail]) ; f.onfail++) ;
    if (f.onfail > CONF_FILTER_ACCEPT) return fail(p, "filter: on-failure takes tempfail or accept", 0) ;
  }
  if (!strncmp(a, "unix:", 5))
  {
    size_t off ;
    if (!a[5]) return fail(p, "filter: unix: needs a path", 0) ;
    if (!addpath(p->c, a + 5, &off)) return 0 ;
    /* sun_path holds 108 octets with the NUL */
    if (strlen(p->c->sa.s + off) > 107) return fail(p, "filter: socket path longer than 107 octets: ", a + 5) ;
    f.address = p->c->sa.len ;
    if (!stralloc_cats(&p->c->sa, "unix:")) return 0 ;
    /* sa may have moved: the path is copied from its offset */
    if (!stralloc_readyplus(&p->c->sa, strlen(p->c->sa.s + off) + 1)) return 0 ;
    if (!stralloc_cats(&p->c->sa, p->c->sa.s + off) || !stralloc_0(&p->c->sa)) return 0 ;
  }
  else
  {
    int six = !strncmp(a, "inet6:", 6) ;
    char const *hp = a + (six ? 6 : 5) ;
    size_t start, n ;
    uint16_t port = 0 ;
    char ip[16] ;
    int is6 ;
    if ((!six && strncmp(a, "inet:", 5)) || netaddr_hostport(hp, strlen(hp), &start, &n, &port) != 1 || !port
     || !netaddr_ip(hp + start, n, ip, &is6) || (six && !is6))
      return fail(p, "filter: expected unix:PATH, inet:IPV4:PORT or inet6:[IPV6]:PORT, not: ", a) ;
    if (!addstr(p->c, a, &f.address)) return 0 ;
  }
  if (!addstr(p->c, p->w[1], &f.name)) return 0 ;
  return genalloc_append(conf_filter, &p->c->filters, &f) ;
}

/* local-filter NAME...: the filters of mail sendmail(8) submits, in order */
static int do_local_filter (parse *p, keyword const *k)
{
  unsigned int i = 1 ;
  if (!need(p, 2, MAXWORDS)) return 0 ;
  if (genalloc_len(size_t, &p->c->local_filters)) return fail(p, "local-filter is set twice", 0) ;
  p->c->local_filter_line = p->line ;
  for (; i < p->n ; i++)
  {
    size_t off ;
    if (!addstr(p->c, p->w[i], &off) || !genalloc_append(size_t, &p->c->local_filters, &off)) return 0 ;
  }
  return 1 ;
}

/* resolver IP [port N]: the DNS server remote-send asks instead of resolv.conf's */
static int do_resolver (parse *p, keyword const *k)
{
  uint16_t port = 53 ;
  if (!need(p, 2, 4)) return 0 ;
  if (!scan_ip(p->w[1], p->c->resolver_ip, &p->c->resolver_is6)) return fail(p, "resolver: not an IP address: ", p->w[1]) ;
  /* glibc's res_state takes a forced IPv6 server only through private fields */
  if (p->c->resolver_is6) return fail(p, "resolver: only an IPv4 address can be set here (use resolv.conf for IPv6)", 0) ;
  if (p->n > 2 && (p->n != 4 || strcmp(p->w[2], "port") || !scan_port(p->w[3], &port)))
    return fail(p, "resolver: expected: resolver IP [port N]", 0) ;
  /* the other line's resolver would be trusted, or distrusted, for this one's answers */
  if (p->c->resolver_dnssec || (!strcmp(k->name, "dnssec-resolver") && p->c->resolver_port))
    return fail(p, p->w[0], ": resolver and dnssec-resolver exclude each other") ;
  p->c->resolver_port = port ;
  p->c->resolver_dnssec = !strcmp(k->name, "dnssec-resolver") ;
  return 1 ;
}

/* tls-policy DOMAIN none|may|encrypt|verify|dane|dane-only */
static int do_tlspolicy (parse *p, keyword const *k)
{
  conf_tlspolicy t = { .domain = 0, .tls = 0 } ;
  size_t n = genalloc_len(conf_tlspolicy, &p->c->tls_policies), i = 0 ;
  if (!need(p, 3, 3)) return 0 ;
  case_lowers(p->w[1]) ;
  if (!address_domain_valid(p->w[1], strlen(p->w[1]), ADDRESS_UTF8)) return fail(p, "tls-policy: not a domain: ", p->w[1]) ;
  for (; t.tls <= CONF_TLS_DANE_ONLY && strcmp(p->w[2], tls_policy_names[t.tls]) ; t.tls++) ;
  if (t.tls > CONF_TLS_DANE_ONLY) return fail(p, "tls-policy: expected none, may, encrypt, verify, dane or dane-only, not ", p->w[2]) ;
  for (; i < n ; i++)
    if (!strcmp(p->c->sa.s + genalloc_s(conf_tlspolicy, &p->c->tls_policies)[i].domain, p->w[1]))
      return fail(p, "tls-policy: this domain already has a policy: ", p->w[1]) ;
  return addstr(p->c, p->w[1], &t.domain) && genalloc_append(conf_tlspolicy, &p->c->tls_policies, &t) ;
}

/* dkim-sign DOMAIN selector SEL key FILE [ algorithm rsa-sha256|ed25519-sha256 ] [ subdomains ] */
static char const *const dkim_algs[] = { "", "rsa-sha256", "ed25519-sha256" } ;

static int do_dkim (parse *p, keyword const *k)
{
  conf_dkim d = { .alg = CONF_DKIM_ANY, .subdomains = 0, .line = p->line } ;
  size_t n = genalloc_len(conf_dkim, &p->c->dkim), i = 0 ;
  unsigned int w = 6 ;
  if (!need(p, 6, 9) || strcmp(p->w[2], "selector") || strcmp(p->w[4], "key"))
    return fail(p, "dkim-sign: expected: dkim-sign DOMAIN selector SEL key FILE [ algorithm rsa-sha256|ed25519-sha256 ] [ subdomains ]", 0) ;
  case_lowers(p->w[1]) ;
  case_lowers(p->w[3]) ;
  /* d= and s= are ASCII domain names (RFC 6376 §3.5: A-labels) */
  if (!address_domain_valid(p->w[1], strlen(p->w[1]), 0)) return fail(p, "dkim-sign: not a domain: ", p->w[1]) ;
  if (!address_domain_valid(p->w[3], strlen(p->w[3]), 0)) return fail(p, "dkim-sign: not a selector: ", p->w[3]) ;
  for (; w < p->n ; w++)
  {
    if (!strcmp(p->w[w], "subdomains") && !d.subdomains) d.subdomains = 1 ;
    else if (!strcmp(p->w[w], "algorithm") && w + 1 < p->n && d.alg == CONF_DKIM_ANY)
    {
      w++ ;
      if (!strcmp(p->w[w], dkim_algs[CONF_DKIM_RSA])) d.alg = CONF_DKIM_RSA ;
      else if (!strcmp(p->w[w], dkim_algs[CONF_DKIM_ED25519])) d.alg = CONF_DKIM_ED25519 ;
      else return fail(p, "dkim-sign: algorithm: expected rsa-sha256 or ed25519-sha256: ", p->w[w]) ;
    }
    else return fail(p, "dkim-sign: unexpected: ", p->w[w]) ;
  }
  for (; i < n ; i++)
  {
    conf_dkim const *o = genalloc_s(conf_dkim, &p->c->dkim) + i ;
    if (!strcmp(p->c->sa.s + o->domain, p->w[1]) && !strcmp(p->c->sa.s + o->selector, p->w[3]))
      return fail3(p, "dkim-sign: selector ", p->w[3], " of this domain given twice") ;
  }
  if (!addstr(p->c, p->w[1], &d.domain) || !addstr(p->c, p->w[3], &d.selector) || !addpath(p->c, p->w[5], &d.key)) return 0 ;
  return genalloc_append(conf_dkim, &p->c->dkim, &d) ;
}

static int pdkim (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_dkim, &c->dkim), i = 0 ;
  for (; i < n ; i++)
  {
    conf_dkim const *d = genalloc_s(conf_dkim, &c->dkim) + i ;
    if (!stralloc_cats(sa, "dkim-sign") || !pword(sa, c->sa.s + d->domain) || !stralloc_cats(sa, " selector")
     || !pword(sa, c->sa.s + d->selector) || !stralloc_cats(sa, " key") || !pword(sa, c->sa.s + d->key)) return 0 ;
    if (d->alg != CONF_DKIM_ANY && (!stralloc_cats(sa, " algorithm") || !pword(sa, dkim_algs[d->alg]))) return 0 ;
    if (d->subdomains && !stralloc_cats(sa, " subdomains")) return 0 ;
    if (!pend(sa)) return 0 ;
  }
  return 1 ;
}

/* the rules' printers: what the rule parses, every default filled in */

static int pcertificate (stralloc *sa, conf const *c)
{
  return !c->cert || (stralloc_cats(sa, "certificate") && pword(sa, c->sa.s + c->cert)
    && stralloc_cats(sa, " key") && pword(sa, c->sa.s + c->key) && pend(sa)) ;
}

static int plisten (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_listen, &c->listen), i = 0 ;
  for (; i < n ; i++)
  {
    conf_listen const *l = genalloc_s(conf_listen, &c->listen) + i ;
    if (!stralloc_cats(sa, "listen") || !pip(sa, l->ip, l->is6) || !stralloc_cats(sa, " port") || !puint(sa, l->port)) return 0 ;
    if (l->flags & CONF_LISTEN_TLSREQUIRED) { if (!stralloc_cats(sa, " tls-required")) return 0 ; }
    else if (l->flags & CONF_LISTEN_STARTTLS) { if (!stralloc_cats(sa, " starttls")) return 0 ; }
    if (l->flags & CONF_LISTEN_SMTPS && !stralloc_cats(sa, " smtps")) return 0 ;
    if (l->flags & CONF_LISTEN_AUTHREQUIRED && !stralloc_cats(sa, " auth-required")) return 0 ;
    if (l->flags & CONF_LISTEN_PLAINAUTH && !stralloc_cats(sa, " plain-auth")) return 0 ;
    if ((l->flags & (CONF_LISTEN_AUTH | CONF_LISTEN_AUTHREQUIRED | CONF_LISTEN_PLAINAUTH)) == CONF_LISTEN_AUTH
     && !stralloc_cats(sa, " auth")) return 0 ;
    if (l->flags & CONF_LISTEN_SENDERLOGIN && !stralloc_cats(sa, " sender-login")) return 0 ;
    if (l->flags & CONF_LISTEN_ANYSENDER && !stralloc_cats(sa, " any-sender")) return 0 ;
    {
      unsigned int j = 0 ;
      for (; j < l->filter_count ; j++)
        if (!stralloc_cats(sa, " filter") || !pword(sa, c->sa.s + genalloc_s(size_t, &c->filter_use)[l->filter_first + j])) return 0 ;
    }
    if (!pend(sa)) return 0 ;
  }
  return 1 ;
}

static int pdomains (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(size_t, &c->local_domains), i = 0 ;
  if (!n) return 1 ;
  if (!stralloc_cats(sa, "local-domain")) return 0 ;
  for (; i < n ; i++) if (!pword(sa, c->sa.s + genalloc_s(size_t, &c->local_domains)[i])) return 0 ;
  return pend(sa) ;
}

static int pvdomains (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_vdomain, &c->vdomains), i = 0 ;
  for (; i < n ; i++)
  {
    conf_vdomain const *v = genalloc_s(conf_vdomain, &c->vdomains) + i ;
    if (!stralloc_cats(sa, "virtual-domain") || !pword(sa, c->sa.s + v->domain)
     || !stralloc_cats(sa, v->users == CONF_VUSERS_PASSWD ? " passwd-file" : " map") || !pword(sa, c->sa.s + v->map)) return 0 ;
    if (v->deliver.arg && (!stralloc_cats(sa, v->deliver.type == CONF_DELIVER_LMTP ? " deliver lmtp" : " deliver maildir")
     || !pword(sa, c->sa.s + v->deliver.arg))) return 0 ;
    if (!pend(sa)) return 0 ;
  }
  return 1 ;
}

static int prelay (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_net, &c->relay_nets), i = 0 ;
  if (!n) return 1 ;
  if (!stralloc_cats(sa, "relay-from")) return 0 ;
  for (; i < n ; i++)
  {
    conf_net const *net = genalloc_s(conf_net, &c->relay_nets) + i ;
    char fmt[UINT_FMT] ;
    if (!pip(sa, net->ip, net->is6) || !stralloc_catb(sa, "/", 1) || !stralloc_catb(sa, fmt, uint_fmt(fmt, net->bits))) return 0 ;
  }
  return pend(sa) ;
}

static int pdeliver (stralloc *sa, conf const *c)
{
  if (!stralloc_cats(sa, "deliver")) return 0 ;
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
  return pend(sa) ;
}

static int prelaydomains (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_relaydomain, &c->relay_domains), i = 0 ;
  for (; i < n ; i++)
  {
    conf_relaydomain const *d = genalloc_s(conf_relaydomain, &c->relay_domains) + i ;
    if (!stralloc_cats(sa, "relay-domain") || !pword(sa, c->sa.s + d->domain)) return 0 ;
    if (d->host)
    {
      char fmt[UINT16_FMT] ;
      char const *host = c->sa.s + d->host ;
      int v6 = !!strchr(host, ':') ;
      if (!stralloc_cats(sa, v6 ? " via [" : " via ") || !stralloc_cats(sa, host) || (v6 && !stralloc_catb(sa, "]", 1))
       || !stralloc_catb(sa, ":", 1) || !stralloc_catb(sa, fmt, uint16_fmt(fmt, d->port))) return 0 ;
    }
    if (d->check == CONF_RELAY_CHECK_LIST && (!stralloc_cats(sa, " recipients") || !pword(sa, c->sa.s + d->list))) return 0 ;
    if (d->check == CONF_RELAY_CHECK_VERIFY && !stralloc_cats(sa, " verify")) return 0 ;
    if (!pend(sa)) return 0 ;
  }
  return 1 ;
}

/* route and smarthost lines, in the order of the file */
static int proutes (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_route, &c->routes), i = 0 ;
  for (; i < n ; i++)
  {
    conf_route const *r = genalloc_s(conf_route, &c->routes) + i ;
    char fmt[UINT16_FMT] ;
    char const *host = c->sa.s + r->host ;
    int v6 = !!strchr(host, ':') ;
    if (r->domain)
    {
      if (!stralloc_cats(sa, "route") || !pword(sa, c->sa.s + r->domain) || !stralloc_cats(sa, " via")) return 0 ;
    }
    else if (!stralloc_cats(sa, "smarthost")) return 0 ;
    /* an IPv6 host is bracketed, so its last colon is not taken for the port's */
    if (!stralloc_cats(sa, v6 ? " [" : " ") || !stralloc_cats(sa, host) || (v6 && !stralloc_catb(sa, "]", 1))) return 0 ;
    if (!stralloc_catb(sa, ":", 1) || !stralloc_catb(sa, fmt, uint16_fmt(fmt, r->port))) return 0 ;
    if (!stralloc_cats(sa, " tls ") || !stralloc_cats(sa, tls_names[r->tls])) return 0 ;
    if (r->auth && (!stralloc_cats(sa, " auth") || !pword(sa, c->sa.s + r->auth))) return 0 ;
    if (!pend(sa)) return 0 ;
  }
  return 1 ;
}

static int pfilters (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_filter, &c->filters), i = 0 ;
  for (; i < n ; i++)
  {
    conf_filter const *f = genalloc_s(conf_filter, &c->filters) + i ;
    if (!stralloc_cats(sa, "filter") || !pword(sa, c->sa.s + f->name) || !pword(sa, c->sa.s + f->address)
     || !stralloc_cats(sa, " on-failure") || !pword(sa, filter_onfail_names[f->onfail]) || !pend(sa)) return 0 ;
  }
  return 1 ;
}

static int plocal_filters (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(size_t, &c->local_filters), i = 0 ;
  if (!n) return 1 ;
  if (!stralloc_cats(sa, "local-filter")) return 0 ;
  for (; i < n ; i++) if (!pword(sa, c->sa.s + genalloc_s(size_t, &c->local_filters)[i])) return 0 ;
  return pend(sa) ;
}

static int presolver (stralloc *sa, conf const *c)
{
  return !c->resolver_port || (stralloc_cats(sa, c->resolver_dnssec ? "dnssec-resolver" : "resolver") && pip(sa, c->resolver_ip, c->resolver_is6)
    && stralloc_cats(sa, " port") && puint(sa, c->resolver_port) && pend(sa)) ;
}

static int ptlspolicies (stralloc *sa, conf const *c)
{
  size_t n = genalloc_len(conf_tlspolicy, &c->tls_policies), i = 0 ;
  for (; i < n ; i++)
  {
    conf_tlspolicy const *t = genalloc_s(conf_tlspolicy, &c->tls_policies) + i ;
    if (!stralloc_cats(sa, "tls-policy") || !pword(sa, c->sa.s + t->domain) || !pword(sa, tls_policy_names[t->tls]) || !pend(sa)) return 0 ;
  }
  return 1 ;
}

/* seconds end up in tain_addsec(), which takes an int: 68 years */
#define DURATION_MAX INT32_MAX
#define MESSAGE_SIZE_MAX ((uint64_t)1 << 40)
#define COUNT_MAX 1000000

#define LIMIT(s, f, d) { .name = "limit", .sub = s, .type = T_UINT, FIELD(f), .def = d, .min = 1, .max = COUNT_MAX }
#define DURATION(n, s, f, d) { .name = n, .sub = s, .type = T_DURATION, FIELD(f), .def = d, .min = 1, .max = DURATION_MAX }

/* every keyword, in conf_print's order; ketch.conf(5) says what each means */
static keyword const keywords[] =
{
  { .name = "hostname", .type = T_STRING, FIELD(hostname), .parse = &do_hostname },  /* default: gethostname(), in finish */
  { .name = "spool", .type = T_PATH, FIELD(spool), .defs = "/var/spool/ketch" },
  { .name = "programs", .type = T_PATH, FIELD(bindir), .defs = KETCH_LIBEXECDIR },
  /* sun_path holds 108 octets with the NUL */
  { .name = "enqueue-socket", .type = T_PATH, FIELD(enqueue_socket), .max = 107 },
  { .name = "queue-user", .type = T_STRING, FIELD(queue_user) },
  { .name = "smtp-user", .type = T_STRING, FIELD(smtp_user) },
  { .name = "alias-user", .type = T_STRING, FIELD(alias_user) },
  { .name = "local-uid-min", .type = T_UINT, FIELD(local_uid_min), .def = 1000, .min = 0, .max = COUNT_MAX, .flags = PRINT_CHANGED },
  { .name = "certificate", .parse = &do_certificate, .print = &pcertificate },
  /* inbound TLS session resumption (smtp-keyd's cache); RFC 5246 §F.1.4: at most 24 hours */
  { .name = "tls-session-cache", .type = T_DURATION, FIELD(tls_session_cache), .def = 300, .min = 0, .max = 86400, .flags = PRINT_CHANGED },
  { .name = "listen", .parse = &do_listen, .print = &plisten },
  { .name = "filter", .parse = &do_filter, .print = &pfilters },  /* milters (lib/filter) */
  { .name = "local-filter", .parse = &do_local_filter, .print = &plocal_filters },
  { .name = "local-domain", .parse = &do_domains, .print = &pdomains },
  { .name = "virtual-domain", .parse = &do_vdomain, .print = &pvdomains },
  { .name = "relay-from", .parse = &do_relay, .print = &prelay },
  /* backup MX and inbound gateway (lib/relaydom, lib/callout) */
  { .name = "relay-domain", .parse = &do_relaydomain, .print = &prelaydomains },
  { .name = "aliases", .type = T_PATH, FIELD(aliases), .line = offsetof(conf, aliases_line) },
  { .name = "auth-table", .type = T_PATH, FIELD(auth_table), .line = offsetof(conf, auth_table_line) },
  /* auth dovecot SOCKET: Dovecot's auth-client socket (sun_path: 107 octets and the NUL) */
  { .name = "auth", .type = T_GROUP, .text = "auth: expected dovecot, not: " },
  { .name = "auth", .sub = "dovecot", .type = T_PATH, FIELD(auth_dovecot), .max = 107 },
  { .name = "sender-login-map", .type = T_PATH, FIELD(sender_login_map) },
  { .name = "deliver", .parse = &do_deliver, .print = &pdeliver },  /* default: maildir ~/Maildir, in finish */
  /* on by default, as sendmail and Postfix: the user's own file, read as the user (lib/dotforward) */
  { .name = "dot-forward", .type = T_WORD, FIELD(dot_forward), .def = CONF_DOTFORWARD_ON, .max = CONF_DOTFORWARD_ON, .names = dotforward_names, .flags = PRINT_CHANGED },
  { .name = "route", .parse = &do_route, .print = &proutes },
  { .name = "smarthost", .parse = &do_route },  /* printed with the routes, in their order */
  { .name = "outbound-tls", .type = T_WORD, FIELD(tls_outbound), .def = CONF_TLS_OPPORTUNISTIC, .max = CONF_TLS_VERIFY, .names = tls_names },
  { .name = "resolver", .parse = &do_resolver, .print = &presolver },
  /* DANE (RFC 7672) and per-destination TLS policy */
  { .name = "dnssec-resolver", .parse = &do_resolver },  /* printed by resolver's row */
  { .name = "tls-policy", .parse = &do_tlspolicy, .print = &ptlspolicies },
  /* TLS-RPT (RFC 8460): the reporting period; 0, the default, records and reports nothing */
  { .name = "tlsrpt-period", .type = T_DURATION, FIELD(tlsrpt_period), .def = 0, .min = 0, .max = DURATION_MAX, .flags = PRINT_CHANGED },
  /* MTA-STS (RFC 8461): on by default, as DANE; the port is 443 (§3.3) but for tests */
  { .name = "mta-sts", .type = T_WORD, FIELD(mta_sts), .def = CONF_MTASTS_ON, .max = CONF_MTASTS_ON, .names = mtasts_names },
  { .name = "mta-sts-port", .type = T_PORT, FIELD(mta_sts_port), .def = 443 },
  { .name = "remote-port", .type = T_PORT, FIELD(remote_port), .def = 25 },
  { .name = "ca-file", .type = T_PATH, FIELD(ca_file) },
  { .name = "dkim-sign", .parse = &do_dkim, .print = &pdkim },
  /* read by ketch-services only (the log/run scripts): printed when not the default */
  { .name = "log", .type = T_WORD, FIELD(log_dest), .def = CONF_LOG_S6, .max = CONF_LOG_SYSLOG, .names = log_names, .flags = PRINT_CHANGED },
  { .name = "log-format", .type = T_WORD, FIELD(log_format), .def = CONF_LOGFMT_TEXT, .max = CONF_LOGFMT_JSON, .names = logfmt_names, .flags = PRINT_CHANGED },
  { .name = "limit", .type = T_GROUP, .text = "limit: unknown limit: " },
  { .name = "limit", .sub = "message-size", .type = T_SIZE, FIELD(message_size), .def = 35 << 20, .min = 1, .max = MESSAGE_SIZE_MAX },
  LIMIT("recipients", max_recipients, 100),
  LIMIT("connections", max_connections, 100),
  LIMIT("connections-per-client", max_per_client, 10),
  LIMIT("errors", max_errors, 10),
  LIMIT("hops", max_hops, 50),  /* Postfix's hopcount_limit */
  LIMIT("local-deliveries", concurrency_local, 10),
  LIMIT("remote-deliveries", concurrency_remote, 20),
  LIMIT("deliveries-per-destination", concurrency_destination, 5),
  LIMIT("messages-per-connection", messages_per_connection, 100),  /* ketch.conf(5): Postfix reuses without a count, Exim serves 1000 */
  { .name = "timeout", .type = T_GROUP, .text = "timeout: unknown timeout: " },
  DURATION("timeout", "command", timeout_command, 300),  /* RFC 5321 §4.5.3.2.7: server timeout 5 minutes */
  DURATION("timeout", "data", timeout_data, 180),        /* §4.5.3.2.5: data block 3 minutes */
  DURATION("timeout", "session", timeout_session, 3600),
  DURATION("timeout", "connect", timeout_connect, 60),
  DURATION("timeout", "delivery", timeout_delivery, 600),
  DURATION("timeout", "filter-connect", timeout_filter_connect, 30),  /* Postfix's milter_connect_timeout */
  DURATION("timeout", "filter-command", timeout_filter_command, 30),  /* milter_command_timeout */
  DURATION("timeout", "filter-data", timeout_filter_data, 300),       /* milter_content_timeout */
  /* the recipient callout of relay-domain ... verify (lib/callout): bounded, its answers cached */
  { .name = "callout", .type = T_GROUP },
  DURATION("callout", "timeout", callout_timeout, 10),
  DURATION("callout", "positive", callout_positive, 7 * 86400),  /* Postfix: address_verify_positive_expire_time 31d */
  DURATION("callout", "negative", callout_negative, 3 * 3600),   /* address_verify_negative_expire_time 3d; a new user is refused for less */
  /* outside the spool, which the SMTP user cannot enter (spool-layout/SPOOL §7) */
  { .name = "callout", .sub = "cache", .type = T_PATH, FIELD(callout_cache) },
  { .name = "retry", .type = T_GROUP },  /* retry local|remote FIRST, retry max LONGEST */
  DURATION("retry", "local", retry_local, 60),
  DURATION("retry", "remote", retry_remote, 400),  /* qmail and OpenSMTPD: 400 s x n^2 */
  DURATION("retry", "max", retry_max, 4 * 3600),
  DURATION("rescan", 0, rescan, 120),
  DURATION("expire", 0, expire, 5 * 86400),
  DURATION("warn", 0, warn, 4 * 3600),
  { .name = 0 }
} ;

/* "limit: unknown limit: x", or "retry: expected local, remote or max" */
static int fail_group (parse *p, keyword const *g)
{
  keyword const *k = g + 1 ;
  if (g->text) return fail(p, g->text, p->w[1]) ;
  if (!fail_start(p) || !stralloc_cats(p->err, g->name) || !stralloc_cats(p->err, ": expected ")) return fail_end(p, 0) ;
  for (; k->sub ; k++)
    if ((k > g + 1 && !stralloc_cats(p->err, k[1].sub ? ", " : " or ")) || !stralloc_cats(p->err, k->sub)) return fail_end(p, 0) ;
  return fail_end(p, 1) ;
}

static int dispatch (parse *p)
{
  keyword const *k = keywords ;
  for (; k->name && strcmp(k->name, p->w[0]) ; k++) ;
  if (!k->name) return fail(p, "unknown keyword: ", p->w[0]) ;
  if (k->parse) return k->parse(p, k) ;
  if (k->type == T_GROUP)
  {
    keyword const *g = k ;
    if (!need(p, 3, 3)) return 0 ;
    for (k++ ; k->sub ; k++) if (!strcmp(k->sub, p->w[1])) return set(p, k) ;
    return fail_group(p, g) ;
  }
  return need(p, 2, 2) && set(p, k) ;
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

/* the numbers' defaults, before parsing; the strings' are set by finish */
static void defaults (conf *c)
{
  keyword const *k = keywords ;
  for (; k->name ; k++) if (k->type >= T_UINT) put(c, k, k->def) ;
  c->deliver.type = CONF_DELIVER_MAILDIR ;
}

static int finish (parse *p)
{
  conf *c = p->c ;
  keyword const *k = keywords ;
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
  for (; k->name ; k++)
    if (k->defs && !*FIELD_AT(c, k, size_t) && !addstr(c, k->defs, FIELD_AT(c, k, size_t))) return 0 ;
  if (!c->deliver.arg && !addstr(c, "~/Maildir", &c->deliver.arg)) return 0 ;
  for (; i < n ; i++)
    if ((l[i].flags & (CONF_LISTEN_STARTTLS | CONF_LISTEN_SMTPS)) && !c->cert)
    {
      p->line = l[i].line ;
      if (!fail(p, "listen: TLS needs a certificate line", 0) && !keep(p)) return 0 ;
    }
  for (i = 0 ; i < n ; i++)
    if ((l[i].flags & CONF_LISTEN_AUTH) && !c->auth_table && !c->auth_dovecot)
    {
      p->line = l[i].line ;
      if (!fail(p, "listen: auth needs an auth-table or auth dovecot line", 0) && !keep(p)) return 0 ;
    }
  for (i = 0 ; i < n ; i++)
    if ((l[i].flags & CONF_LISTEN_SENDERLOGIN) && !c->sender_login_map)
    {
      p->line = l[i].line ;
      if (!fail(p, "listen: sender-login needs a sender-login-map line", 0) && !keep(p)) return 0 ;
    }
  /* a filter named by a listener or local-filter must be defined (anywhere in the file) */
  for (i = 0 ; i < n ; i++)
  {
    unsigned int j = 0 ;
    for (; j < l[i].filter_count ; j++)
    {
      char const *name = c->sa.s + genalloc_s(size_t, &c->filter_use)[l[i].filter_first + j] ;
      if (conf_filter_find(c, name)) continue ;
      p->line = l[i].line ;
      if (!fail(p, "listen: no filter line defines: ", name) && !keep(p)) return 0 ;
    }
  }
  for (i = 0 ; i < genalloc_len(size_t, &c->local_filters) ; i++)
  {
    char const *name = c->sa.s + genalloc_s(size_t, &c->local_filters)[i] ;
    if (conf_filter_find(c, name)) continue ;
    p->line = c->local_filter_line ;
    if (!fail(p, "local-filter: no filter line defines: ", name) && !keep(p)) return 0 ;
  }
  /* a relay domain is nobody's mailbox here, and goes one way */
  for (i = 0 ; i < genalloc_len(conf_relaydomain, &c->relay_domains) ; i++)
  {
    conf_relaydomain const *d = genalloc_s(conf_relaydomain, &c->relay_domains) + i ;
    conf_route const *r = conf_route_find(c, c->sa.s + d->domain) ;
    char const *why = conf_is_local_domain(c, c->sa.s + d->domain) || conf_vdomain_find(c, c->sa.s + d->domain) ? "relay-domain: a local or virtual domain cannot be relayed: "
      : d->host && r && r->domain ? "relay-domain: via and a route line for the same domain: " : 0 ;
    if (!why) continue ;
    p->line = d->line ;
    if (!fail(p, why, c->sa.s + d->domain) && !keep(p)) return 0 ;
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
  static conf const zero = { .sa = STRALLOC_ZERO, .listen = GENALLOC_ZERO, .filters = GENALLOC_ZERO, .filter_use = GENALLOC_ZERO, .local_filters = GENALLOC_ZERO, .local_domains = GENALLOC_ZERO, .vdomains = GENALLOC_ZERO, .relay_nets = GENALLOC_ZERO, .routes = GENALLOC_ZERO, .tls_policies = GENALLOC_ZERO, .dkim = GENALLOC_ZERO, .relay_domains = GENALLOC_ZERO } ;
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
    /* memchr, not strchr: a NUL is no end of line, but an error at its line */
    char *nl = memchr(line, '\n', text.len - 1 - pos) ;
    size_t n = nl ? (size_t)(nl - line) : text.len - 1 - pos ;
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
    int e = EINVAL ;
    err->len = 0 ;
    if (!stralloc_catb(err, all->s, all->len - 1) || !stralloc_0(err)) e = errno ;
    conf_free(c) ;
    errno = e ;
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
 * to allocate is reported as conf_load does, with *nerr = 0. On failure,
 * as with conf_load, nothing is left to free.
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
  genalloc_free(conf_filter, &c->filters) ;
  genalloc_free(size_t, &c->filter_use) ;
  genalloc_free(size_t, &c->local_filters) ;
  genalloc_free(size_t, &c->local_domains) ;
  genalloc_free(conf_vdomain, &c->vdomains) ;
  genalloc_free(conf_net, &c->relay_nets) ;
  genalloc_free(conf_route, &c->routes) ;
  genalloc_free(conf_tlspolicy, &c->tls_policies) ;
  genalloc_free(conf_dkim, &c->dkim) ;
  genalloc_free(conf_relaydomain, &c->relay_domains) ;
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

/* on where said, else on auth-required listeners: their clients are all
   authenticated users, whom the map binds (Postfix's submission advice) */
int conf_sender_login (conf const *c, unsigned int flags)
{
  if (!c->sender_login_map || (flags & CONF_LISTEN_ANYSENDER)) return 0 ;
  return !!(flags & (CONF_LISTEN_SENDERLOGIN | CONF_LISTEN_AUTHREQUIRED)) ;
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

conf_relaydomain const *conf_relaydomain_find (conf const *c, char const *domain)
{
  size_t n = genalloc_len(conf_relaydomain, &c->relay_domains), i = 0 ;
  conf_relaydomain const *d = genalloc_s(conf_relaydomain, &c->relay_domains) ;
  for (; i < n ; i++) if (!strcasecmp(domain, c->sa.s + d[i].domain)) return d + i ;
  return 0 ;
}

conf_tlspolicy const *conf_tlspolicy_find (conf const *c, char const *domain)
{
  size_t n = genalloc_len(conf_tlspolicy, &c->tls_policies), i = 0 ;
  conf_tlspolicy const *t = genalloc_s(conf_tlspolicy, &c->tls_policies) ;
  for (; i < n ; i++) if (!strcasecmp(domain, c->sa.s + t[i].domain)) return t + i ;
  return 0 ;
}

/* the lines of the longest domain that is domain, or a parent of it with subdomains */
conf_dkim const *conf_dkim_next (conf const *c, char const *domain, size_t *i)
{
  size_t n = genalloc_len(conf_dkim, &c->dkim), j = 0, dlen = strlen(domain), best = 0 ;
  conf_dkim const *d = genalloc_s(conf_dkim, &c->dkim) ;
  int exact = 0 ;
  /* the nearest wins: the domain itself, else the longest parent */
  for (; j < n ; j++)
  {
    char const *s = c->sa.s + d[j].domain ;
    size_t l = strlen(s) ;
    if (l == dlen && !strcmp(s, domain)) { exact = 1 ; best = l ; break ; }
    if (d[j].subdomains && l < dlen && domain[dlen - l - 1] == '.' && !strcmp(domain + dlen - l, s) && l > best) best = l ;
  }
  if (!best) return 0 ;
  for (; *i < n ; (*i)++)
  {
    char const *s = c->sa.s + d[*i].domain ;
    if (strlen(s) == best && !strcmp(s, domain + dlen - best) && (exact || d[*i].subdomains)) return d + (*i)++ ;
  }
  return 0 ;
}

conf_filter const *conf_filter_find (conf const *c, char const *name)
{
  size_t n = genalloc_len(conf_filter, &c->filters), i = 0 ;
  conf_filter const *f = genalloc_s(conf_filter, &c->filters) ;
  for (; i < n ; i++) if (!strcmp(name, c->sa.s + f[i].name)) return f + i ;
  return 0 ;
}

int conf_prog (conf const *c, char const *name, stralloc *sa)
{
  sa->len = 0 ;
  return stralloc_cats(sa, c->sa.s + c->bindir) && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, name) && stralloc_0(sa) ;
}

/*
 * conf_print: the effective configuration, every default filled in, as
 * sentences that conf_load accepts again and that print the same way
 * (conf-check(8) relies on this fixed point). Paths are absolute, so the
 * printout does not depend on where it is saved.
 */
static int print_row (stralloc *sa, conf const *c, keyword const *k)
{
  uint64_t v ;
  if (k->print) return k->print(sa, c) ;
  switch (k->type)
  {
    case T_RULE :
    case T_GROUP :
      return 1 ;
    case T_STRING :
    case T_PATH :
    {
      size_t off = *FIELD_AT_CONST(c, k, size_t) ;
      return !off || (catname(sa, k) && pword(sa, c->sa.s + off) && pend(sa)) ;
    }
    default : break ;
  }
  v = get(c, k) ;
  if (k->flags & PRINT_CHANGED && v == k->def) return 1 ;
  if (!catname(sa, k)) return 0 ;
  switch (k->type)
  {
    case T_SIZE : if (!pscaled(sa, v, sizes)) return 0 ; break ;
    case T_DURATION : if (!pscaled(sa, v, durations)) return 0 ; break ;
    case T_WORD : if (!pword(sa, k->names[v])) return 0 ; break ;
    default : if (!puint(sa, v)) return 0 ; break ;
  }
  return pend(sa) ;
}

int conf_print (conf const *c, stralloc *sa)
{
  keyword const *k = keywords ;
  for (; k->name ; k++) if (!print_row(sa, c, k)) return 0 ;
  return 1 ;
}

int conf_keywords (stralloc *sa)
{
  keyword const *k = keywords ;
  for (; k->name ; k++)
    if (k->type != T_GROUP && (!catname(sa, k) || !stralloc_catb(sa, "\n", 1))) return 0 ;
  return 1 ;
}
