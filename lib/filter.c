/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <skalibs/alloc.h>
#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

#include "address.h"
#include "conf.h"
#include "enqclient.h"
#include "filter.h"
#include "log.h"
#include "milter.h"
#include "msgedit.h"

/* our defaults when a filter refuses without a reply of its own (Postfix's words) */
#define REPLY_REJECT "550 5.7.1 Command rejected"
#define REPLY_TEMPFAIL "451 4.7.1 Service unavailable - try again later"
#define PARAMS_MAX 32   /* ESMTP words passed on: a command line of 512 octets holds fewer */

static void logv (filterset *fs, char const *const *v)
{
  if (fs->logfd >= 0) log_put(fs->logfd, &fs->logsa, fs->id, v) ;
}
#define LOG(fs, ...) logv(fs, (char const *const []){ __VA_ARGS__, 0 })
#define Q(fs, p, len) log_quoteb(&(fs)->q, (p), (len))
#define Q2(fs, p, len) log_quoteb(&(fs)->q2, (p), (len))

/* the macro names, by enum filter_mac_e (Sendmail's and Postfix's) */
static char const *const mac_names[FILTER_MAC_N] =
{
  [FILTER_MAC_J] = "j", [FILTER_MAC_DAEMON_NAME] = "{daemon_name}", [FILTER_MAC_DAEMON_ADDR] = "{daemon_addr}",
  [FILTER_MAC_IF_ADDR] = "{if_addr}", [FILTER_MAC_CLIENT_ADDR] = "{client_addr}", [FILTER_MAC_CLIENT_NAME] = "{client_name}",
  [FILTER_MAC_CLIENT_PTR] = "{client_ptr}", [FILTER_MAC_CLIENT_PORT] = "{client_port}", [FILTER_MAC_UNDERSCORE] = "_",
  [FILTER_MAC_V] = "v", [FILTER_MAC_TLS_VERSION] = "{tls_version}", [FILTER_MAC_CIPHER] = "{cipher}",
  [FILTER_MAC_I] = "i",
  [FILTER_MAC_AUTH_AUTHEN] = "{auth_authen}", [FILTER_MAC_MAIL_MAILER] = "{mail_mailer}", [FILTER_MAC_MAIL_HOST] = "{mail_host}",
  [FILTER_MAC_MAIL_ADDR] = "{mail_addr}", [FILTER_MAC_RCPT_MAILER] = "{rcpt_mailer}", [FILTER_MAC_RCPT_HOST] = "{rcpt_host}",
  [FILTER_MAC_RCPT_ADDR] = "{rcpt_addr}"
} ;

/* which macros go with which stage: Postfix's milter_*_macros defaults,
   with the client's facts at connect and the TLS ones again at MAIL (a
   STARTTLS after the first EHLO); libmilter keeps a stage's macros for
   the later stages, so each is sent where it is first known */
enum stage_e { ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_EOH, ST_EOM, ST_N } ;
#define E FILTER_MAC_N
static unsigned char const stage_macs[ST_N][12] =
{
  [ST_CONNECT] = { FILTER_MAC_J, FILTER_MAC_DAEMON_NAME, FILTER_MAC_DAEMON_ADDR, FILTER_MAC_IF_ADDR, FILTER_MAC_CLIENT_ADDR,
                   FILTER_MAC_CLIENT_NAME, FILTER_MAC_CLIENT_PTR, FILTER_MAC_CLIENT_PORT, FILTER_MAC_UNDERSCORE, FILTER_MAC_V, E },
  [ST_HELO] = { FILTER_MAC_TLS_VERSION, FILTER_MAC_CIPHER, E },
  [ST_MAIL] = { FILTER_MAC_I, FILTER_MAC_AUTH_AUTHEN, FILTER_MAC_MAIL_MAILER, FILTER_MAC_MAIL_HOST,
                FILTER_MAC_MAIL_ADDR, FILTER_MAC_TLS_VERSION, FILTER_MAC_CIPHER, E },
  [ST_RCPT] = { FILTER_MAC_I, FILTER_MAC_RCPT_MAILER, FILTER_MAC_RCPT_HOST, FILTER_MAC_RCPT_ADDR, E },
  [ST_DATA] = { FILTER_MAC_I, E },
  [ST_EOH] = { FILTER_MAC_I, E },
  [ST_EOM] = { FILTER_MAC_I, FILTER_MAC_MAIL_ADDR, E },
} ;
#undef E

static char const *const stage_names[ST_N] = { "connect", "helo", "mail", "rcpt", "data", "eoh", "eom" } ;

static void macros (filterset const *fs, enum stage_e st, milter_macro *out)
{
  unsigned char const *k = stage_macs[st] ;
  for (; *k != FILTER_MAC_N ; k++)
    if (fs->mac[*k]) { out->name = mac_names[*k] ; out->value = fs->mac[*k] ; out++ ; }
  out->name = 0 ; out->value = 0 ;
}

void filter_macro (filterset *fs, enum filter_mac_e k, char const *v)
{
  fs->mac[k] = v ;
}

int filter_client (filterset *fs, char const *ip, char const *port, char const *localip)
{
  size_t h, u, p = 0, l = 0 ;
  fs->facts.len = 0 ;
  if (port && !uint160_scan(port, &fs->port)) fs->port = 0 ;
  h = fs->facts.len ;
  if (!(ip ? stralloc_catb(&fs->facts, "[", 1) && stralloc_cats(&fs->facts, ip) && stralloc_catb(&fs->facts, "]", 2)
           : stralloc_catb(&fs->facts, "localhost", 10))) return 0 ;
  u = fs->facts.len ;
  /* "unknown [ip]" copies from facts itself: room first, so that no realloc moves it under the copy */
  if (!stralloc_readyplus(&fs->facts, 8 + u - h) || !stralloc_cats(&fs->facts, "unknown ") || !stralloc_catb(&fs->facts, fs->facts.s + h, u - h)) return 0 ;
  if (port) { p = fs->facts.len ; if (!stralloc_cats(&fs->facts, port) || !stralloc_0(&fs->facts)) return 0 ; }
  if (localip) { l = fs->facts.len ; if (!stralloc_cats(&fs->facts, localip) || !stralloc_0(&fs->facts)) return 0 ; }
  /* the pointers last: facts does not move any more */
  fs->host = fs->facts.s + h ;
  fs->mac[FILTER_MAC_UNDERSCORE] = fs->facts.s + u ;
  fs->mac[FILTER_MAC_CLIENT_ADDR] = ip ;
  fs->mac[FILTER_MAC_CLIENT_NAME] = ip ? "unknown" : "localhost" ;
  fs->mac[FILTER_MAC_CLIENT_PTR] = ip ? "unknown" : "localhost" ;
  fs->mac[FILTER_MAC_CLIENT_PORT] = port ? fs->facts.s + p : 0 ;
  fs->mac[FILTER_MAC_DAEMON_ADDR] = fs->mac[FILTER_MAC_IF_ADDR] = localip ? fs->facts.s + l : 0 ;
  return 1 ;
}

void filter_reply_code (filterset *fs, char const *code)
{
  size_t i = 0 ;
  while (i + 3 <= fs->reply.len)
  {
    char const *nl ;
    memcpy(fs->reply.s + i, code, 3) ;
    nl = memchr(fs->reply.s + i, '\n', fs->reply.len - i) ;
    if (!nl) break ;
    i = nl - fs->reply.s + 1 ;
  }
}

int filterset_init (filterset *fs, conf const *cf, size_t const *names, unsigned int n, int logfd, char const *id, tain const *limit)
{
  unsigned int i = 0 ;
  *fs = (filterset)FILTERSET_ZERO ;
  fs->cf = cf ; fs->logfd = logfd ; fs->id = id ; fs->limit = limit ;
  if (!n) return 1 ;
  if (n > FILTER_MAX) return (errno = E2BIG, 0) ;
  fs->m = alloc(n * sizeof(milter)) ;
  fs->onfail = alloc(2 * n) ;
  if (!fs->m || !fs->onfail)
  {
    alloc_free(fs->m) ; alloc_free(fs->onfail) ;
    fs->m = 0 ; fs->onfail = 0 ;
    return 0 ;
  }
  fs->failed = fs->onfail + n ;
  for (; i < n ; i++)
  {
    conf_filter const *f = conf_filter_find(cf, cf->sa.s + names[i]) ;
    fs->m[i] = (milter)MILTER_ZERO ;
    /* conf_load made sure every name is defined */
    fs->m[i].name = f ? cf->sa.s + f->name : "?" ;
    fs->onfail[i] = f ? f->onfail : CONF_FILTER_TEMPFAIL ;
    fs->failed[i] = !f ;
  }
  fs->n = n ;
  filter_macro(fs, FILTER_MAC_V, "ketch") ;
  filter_macro(fs, FILTER_MAC_DAEMON_NAME, "ketch") ;
  filter_macro(fs, FILTER_MAC_J, cf->sa.s + cf->hostname) ;
  filter_macro(fs, FILTER_MAC_I, id) ;
  return 1 ;
}

/* the filter's timeouts, each cut to what is left before the caller's limit (at least 1 s) */
static void clamp (filterset const *fs, milter *m)
{
  conf const *cf = fs->cf ;
  unsigned int left = (unsigned int)-1 ;
  m->t.connect = cf->timeout_filter_connect ;
  m->t.command = cf->timeout_filter_command ;
  m->t.data = cf->timeout_filter_data ;
  if (fs->limit)
  {
    tain now, d ;
    tain_now(&now) ;
    if (!tain_less(&now, fs->limit)) left = 1 ;
    else
    {
      int ms ;
      tain_sub(&d, fs->limit, &now) ;
      ms = tain_to_millisecs(&d) ;
      left = ms < 0 || ms / 1000 > 0x7fffffff ? 0x7fffffff : ms < 1000 ? 1 : (unsigned int)(ms / 1000) ;
    }
  }
  if (m->t.connect > left) m->t.connect = left ;
  if (m->t.command > left) m->t.command = left ;
  if (m->t.data > left) m->t.data = left ;
}

static int setreply (filterset *fs, char const *s, size_t n)
{
  if (!stralloc_copyb(&fs->reply, s, n) || !stralloc_0(&fs->reply)) return 0 ;
  fs->reply.len-- ;
  return 1 ;
}

/* the session's answer when memory runs out here */
static int nomem (filterset *fs)
{
  static char const r[] = "451 4.3.0 Temporary failure, please try again later" ;
  if (!setreply(fs, r, sizeof(r) - 1)) { fs->reply.s = (char *)r ; fs->reply.len = sizeof(r) - 1 ; fs->reply.a = 0 ; }
  return MILTER_TEMPFAIL ;
}

/* a failed filter: logged once, then its on-failure applies */
static int failure (filterset *fs, unsigned int i, enum stage_e st, char const *err)
{
  if (!fs->failed[i])
  {
    fs->failed[i] = 1 ;
    LOG(fs, "warning event=filter-failure name=", fs->m[i].name, "stage=", stage_names[st], "error=", err ? err : "unknown",
      "on-failure=", fs->onfail[i] == CONF_FILTER_ACCEPT ? "accept" : "tempfail") ;
    /* its connection is over: close it now, not at the session's end */
    milter_close(fs->m + i) ;
  }
  if (fs->onfail[i] == CONF_FILTER_ACCEPT) return MILTER_CONTINUE ;
  return setreply(fs, REPLY_TEMPFAIL, sizeof(REPLY_TEMPFAIL) - 1) ? MILTER_TEMPFAIL : nomem(fs) ;
}

/* one filter's answer at a stage made the set's verdict, logged */
static int judge (filterset *fs, unsigned int i, enum stage_e st, int r)
{
  milter *m = fs->m + i ;
  switch (r)
  {
    case MILTER_CONTINUE : return MILTER_CONTINUE ;
    case MILTER_ACCEPT :
      LOG(fs, "filter name=", m->name, "stage=", stage_names[st], "action=accept") ;
      return MILTER_CONTINUE ;
    case MILTER_DISCARD :
      LOG(fs, "filter name=", m->name, "stage=", stage_names[st], "action=discard") ;
      fs->discard = 1 ;
      return MILTER_DISCARD ;
    case MILTER_REJECT :
    case MILTER_TEMPFAIL :
    {
      /* a reply longer than a session writes at once is replaced by ours, never cut mid-line */
      int ok = m->reply.len && m->reply.len <= FILTER_REPLY_MAX ? setreply(fs, m->reply.s, m->reply.len)
        : r == MILTER_REJECT ? setreply(fs, REPLY_REJECT, sizeof(REPLY_REJECT) - 1) : setreply(fs, REPLY_TEMPFAIL, sizeof(REPLY_TEMPFAIL) - 1) ;
      if (!ok) return nomem(fs) ;
      LOG(fs, "filter name=", m->name, "stage=", stage_names[st], "action=", r == MILTER_REJECT ? "reject" : "tempfail", "reply=", Q(fs, fs->reply.s, fs->reply.len)) ;
      return r ;
    }
    default :
      return failure(fs, i, st, m->err) ;
  }
}

/* a filter that is out of the session: failed (tempfail: every stage fails; accept: skipped) */
static int out (filterset *fs, unsigned int i, int *v)
{
  if (!fs->failed[i]) return 0 ;
  *v = fs->onfail[i] == CONF_FILTER_ACCEPT ? MILTER_CONTINUE
    : setreply(fs, REPLY_TEMPFAIL, sizeof(REPLY_TEMPFAIL) - 1) ? MILTER_TEMPFAIL : nomem(fs) ;
  return 1 ;
}

typedef struct args_s args ;
struct args_s
{
  char const *s ;
  char const *const *argv ;
  char family ;
  uint16_t port ;
  char const *addr ;
} ;

/* one SMTP stage for every filter in order, the first answer that is not continue wins */
static int stage (filterset *fs, enum stage_e st, args const *a)
{
  unsigned int i = 0 ;
  if (fs->discard) return MILTER_DISCARD ;
  for (; i < fs->n ; i++)
  {
    milter *m = fs->m + i ;
    milter_macro mm[13] ;
    int r = MILTER_CONTINUE, v ;
    if (out(fs, i, &v)) { if (v != MILTER_CONTINUE) return v ; continue ; }
    clamp(fs, m) ;
    macros(fs, st, mm) ;
    switch (st)
    {
      case ST_CONNECT :
        r = milter_open(m, m->name, fs->cf->sa.s + conf_filter_find(fs->cf, m->name)->address, &m->t) ;
        if (r == MILTER_CONTINUE) r = milter_connect(m, mm, a->s, a->family, a->port, a->addr) ;
        break ;
      case ST_HELO : r = milter_helo(m, mm, a->s) ; break ;
      case ST_MAIL : r = milter_mail(m, mm, a->argv) ; break ;
      case ST_RCPT : r = milter_rcpt(m, mm, a->argv) ; break ;
      default : r = milter_data(m, mm) ; break ;
    }
    v = judge(fs, i, st, r) ;
    if (v != MILTER_CONTINUE) return v ;
  }
  return MILTER_CONTINUE ;
}

int filter_connect (filterset *fs, char const *hostname, char family, uint16_t port, char const *addr)
{
  args a = { .s = hostname ? hostname : fs->host, .argv = 0, .family = family, .port = port, .addr = addr } ;
  return stage(fs, ST_CONNECT, &a) ;
}

int filter_helo (filterset *fs, char const *helo, char const *tlsversion, char const *cipher)
{
  fs->mac[FILTER_MAC_TLS_VERSION] = tlsversion ;
  fs->mac[FILTER_MAC_CIPHER] = cipher ;
  args a = { .s = helo } ;
  return stage(fs, ST_HELO, &a) ;
}

/* "<address>" then the ESMTP words, split at spaces, into fs->tmp and argv */
static int envelope_stage (filterset *fs, enum stage_e st, char const *addr, char const *params, size_t plen)
{
  char const *argv[PARAMS_MAX + 2] ;
  size_t pos[PARAMS_MAX + 1], i = 0, n = 0 ;
  args a = { .s = 0, .argv = argv } ;
  fs->tmp.len = 0 ;
  if (!stralloc_catb(&fs->tmp, "<", 1) || !stralloc_cats(&fs->tmp, addr) || !stralloc_catb(&fs->tmp, ">", 2)) return nomem(fs) ;
  pos[n++] = 0 ;
  while (i < plen && n <= PARAMS_MAX)
  {
    size_t j = i ;
    while (j < plen && params[j] != ' ') j++ ;
    if (j > i)
    {
      pos[n++] = fs->tmp.len ;
      if (!stralloc_catb(&fs->tmp, params + i, j - i) || !stralloc_0(&fs->tmp)) return nomem(fs) ;
    }
    i = j + 1 ;
  }
  for (i = 0 ; i < n ; i++) argv[i] = fs->tmp.s + pos[i] ;
  argv[n] = 0 ;
  return stage(fs, st, &a) ;
}

int filter_mail (filterset *fs, char const *sender, char const *params, size_t plen, char const *authuser)
{
  char const *at ;
  /* the macros outlive the caller's address: kept here until filter_abort */
  if (!stralloc_copys(&fs->mailaddr, sender) || !stralloc_0(&fs->mailaddr)) return nomem(fs) ;
  sender = fs->mailaddr.s ;
  at = strrchr(sender, '@') ;
  fs->mac[FILTER_MAC_AUTH_AUTHEN] = authuser ;
  fs->mac[FILTER_MAC_MAIL_MAILER] = fs->host && !strcmp(fs->host, "localhost") ? "local" : "smtp" ;
  fs->mac[FILTER_MAC_MAIL_ADDR] = sender ;
  fs->mac[FILTER_MAC_MAIL_HOST] = at ? at + 1 : 0 ;
  return envelope_stage(fs, ST_MAIL, sender, params, plen) ;
}

int filter_rcpt (filterset *fs, char const *rcpt, char const *params, size_t plen)
{
  char const *at = strrchr(rcpt, '@') ;
  int r ;
  fs->mac[FILTER_MAC_RCPT_ADDR] = rcpt ;
  fs->mac[FILTER_MAC_RCPT_HOST] = at ? at + 1 : 0 ;
  fs->mac[FILTER_MAC_RCPT_MAILER] = at && !conf_is_local_domain(fs->cf, at + 1) && !conf_vdomain_find(fs->cf, at + 1) ? "smtp" : "local" ;
  r = envelope_stage(fs, ST_RCPT, rcpt, params, plen) ;
  fs->mac[FILTER_MAC_RCPT_ADDR] = fs->mac[FILTER_MAC_RCPT_HOST] = fs->mac[FILTER_MAC_RCPT_MAILER] = 0 ;
  /* a discard at RCPT drops the whole message, and this recipient is accepted with it */
  return r ;
}

int filter_data (filterset *fs)
{
  args a = { .s = 0 } ;
  return stage(fs, ST_DATA, &a) ;
}

/* the stuffing dot of each line dropped (RFC 5321 §4.5.2), the final ".\n" left as "\n" for filter_hold_end */
int filter_hold (filterset *fs, char const *p, size_t n, uint64_t max)
{
  while (n)
  {
    char const *nl ;
    size_t k ;
    if (fs->unstuff_bol && *p == '.') { p++ ; n-- ; fs->unstuff_bol = 0 ; continue ; }
    nl = memchr(p, '\n', n) ;
    k = nl ? (size_t)(nl - p) + 1 : n ;
    if (fs->msg.len + k > max) return (errno = EFBIG, 0) ;
    if (!stralloc_catb(&fs->msg, p, k)) return 0 ;
    fs->unstuff_bol = !!nl ;
    p += k ; n -= k ;
  }
  return 1 ;
}

void filter_hold_end (filterset *fs)
{
  if (fs->msg.len) fs->msg.len-- ;
  fs->unstuff_bol = 1 ;
}

/* the message stage of one filter: its headers, EOH, body and EOM */
typedef struct feed_s feed ;
struct feed_s
{
  milter *m ;
  int r ;
} ;

static int feed_header (void *ctx, char const *name, size_t nlen, char const *value, size_t vlen)
{
  feed *f = ctx ;
  f->r = milter_header(f->m, name, nlen, value, vlen) ;
  return f->r == MILTER_CONTINUE ;
}

static int feed_body (void *ctx, char const *p, size_t len)
{
  feed *f = ctx ;
  f->r = milter_body(f->m, p, len) ;
  return f->r == MILTER_CONTINUE && !f->m->skip_body ;
}

/* the quarantine's reason as enqueue takes it: printable ASCII, bounded */
static int set_reason (filterset *fs, char const *s, size_t n)
{
  size_t i = 0 ;
  if (n > ENQCLIENT_REASON_MAX) n = ENQCLIENT_REASON_MAX ;
  if (!stralloc_copyb(&fs->reason, s, n) || !stralloc_0(&fs->reason)) return 0 ;
  for (; i < n ; i++) if ((unsigned char)fs->reason.s[i] < 32 || (unsigned char)fs->reason.s[i] > 126) fs->reason.s[i] = '?' ;
  return 1 ;
}

/* an address a filter gave, parsed as the session parses its own: 0 when it does not parse */
static int mod_address (address *a, char const *s, size_t n, int null_ok, int utf8)
{
  unsigned int flags = (n && s[0] == '<' ? ADDRESS_BRACKETS : 0) | (null_ok ? ADDRESS_NULL_OK : 0) | (utf8 ? ADDRESS_UTF8 : 0) ;
  return !address_parse(a, s, n, flags) ;
}

/* the envelope changes of one filter, checked first and committed together:
   1, 0 for a bad address or too many recipients (the filter broke the protocol), -1 out of memory */
static int envelope (filterset *fs, milter *m, stralloc *sender, stralloc *rcpts, unsigned int *nrcpt, int utf8)
{
  size_t n = genalloc_len(milter_mod, &fs->mods.list), i = 0 ;
  milter_mod const *mod = genalloc_s(milter_mod, &fs->mods.list) ;
  char const *d = fs->mods.data.s ;
  for (; i < n ; i++)
  {
    address a = ADDRESS_ZERO ;
    switch (mod[i].type)
    {
      case MILTER_MOD_ADDRCPT :
      {
        size_t k = 0 ;
        if (!mod_address(&a, d + mod[i].a, mod[i].alen, 0, utf8) || !a.len) return 0 ;
        for (; k < rcpts->len ; k += strlen(rcpts->s + k) + 1) if (!strcasecmp(rcpts->s + k, a.s)) break ;
        LOG(fs, "filter name=", m->name, "action=add-rcpt rcpt=", Q(fs, a.s, a.len)) ;
        if (k < rcpts->len) break ;
        if (*nrcpt >= fs->cf->max_recipients) return 0 ;
        if (!stralloc_catb(rcpts, a.s, a.len + 1)) return -1 ;
        (*nrcpt)++ ;
        break ;
      }
      case MILTER_MOD_DELRCPT :
      {
        size_t k = 0 ;
        if (!mod_address(&a, d + mod[i].a, mod[i].alen, 0, utf8)) return 0 ;
        LOG(fs, "filter name=", m->name, "action=delete-rcpt rcpt=", Q(fs, a.s, a.len)) ;
        while (k < rcpts->len)
        {
          size_t l = strlen(rcpts->s + k) + 1 ;
          if (strcasecmp(rcpts->s + k, a.s)) { k += l ; continue ; }
          memmove(rcpts->s + k, rcpts->s + k + l, rcpts->len - k - l) ;
          rcpts->len -= l ;
          (*nrcpt)-- ;
        }
        break ;
      }
      case MILTER_MOD_CHGFROM :
        if (!mod_address(&a, d + mod[i].a, mod[i].alen, 1, utf8)) return 0 ;
        LOG(fs, "filter name=", m->name, "action=change-sender sender=", Q(fs, a.s, a.len)) ;
        if (!stralloc_copyb(sender, a.s, a.len) || !stralloc_0(sender)) return -1 ;
        break ;
      case MILTER_MOD_QUARANTINE :
        if (!set_reason(fs, d + mod[i].a, mod[i].alen)) return -1 ;
        fs->hold = 1 ;
        LOG(fs, "filter name=", m->name, "action=quarantine reason=", Q(fs, fs->reason.s, fs->reason.len - 1)) ;
        break ;
      default : break ;
    }
  }
  return 1 ;
}

/* the header and body changes, logged; 1 when there is one */
static int edits (filterset *fs, milter *m)
{
  size_t n = genalloc_len(milter_mod, &fs->mods.list), i = 0 ;
  milter_mod const *mod = genalloc_s(milter_mod, &fs->mods.list) ;
  char const *d = fs->mods.data.s ;
  int any = 0, body = 0 ;
  for (; i < n ; i++)
  {
    char const *what ;
    switch (mod[i].type)
    {
      case MILTER_MOD_ADDHDR : what = "add-header" ; break ;
      case MILTER_MOD_INSHDR : what = "insert-header" ; break ;
      case MILTER_MOD_CHGHDR : what = mod[i].blen ? "change-header" : "delete-header" ; break ;
      case MILTER_MOD_REPLBODY :
        if (!body) LOG(fs, "filter name=", m->name, "action=replace-body") ;
        body = any = 1 ;
        continue ;
      default : continue ;
    }
    any = 1 ;
    LOG(fs, "filter name=", m->name, "action=", what, "header=", Q(fs, d + mod[i].a, mod[i].alen)) ;
  }
  return any ;
}

static int eom_one (filterset *fs, unsigned int i, stralloc *sender, stralloc *rcpts, unsigned int *nrcpt, int utf8)
{
  milter *m = fs->m + i ;
  milter_macro mm[13] ;
  feed f = { .m = m, .r = MILTER_CONTINUE } ;
  int r, e ;
  clamp(fs, m) ;
  milter_mods_reset(&fs->mods) ;
  msgedit_headers(fs->msg.s, fs->msg.len, &feed_header, &f) ;
  if (f.r != MILTER_CONTINUE) return judge(fs, i, ST_EOM, f.r) ;
  macros(fs, ST_EOH, mm) ;
  r = milter_eoh(m, mm) ;
  if (r != MILTER_CONTINUE) return judge(fs, i, ST_EOH, r) ;
  msgedit_body(fs->msg.s, fs->msg.len, MILTER_CHUNK, &feed_body, &f) ;
  if (f.r != MILTER_CONTINUE) return judge(fs, i, ST_EOM, f.r) ;
  macros(fs, ST_EOM, mm) ;
  r = judge(fs, i, ST_EOM, milter_eom(m, mm, &fs->mods)) ;
  if (r != MILTER_CONTINUE || fs->failed[i]) return r ;
  /* the changes: the envelope's into copies, then the message's, then both kept */
  {
    stralloc s2 = STRALLOC_ZERO, r2 = STRALLOC_ZERO ;
    unsigned int n2 = *nrcpt ;
    errno = EPROTO ;
    if (!stralloc_copys(&s2, sender->s) || !stralloc_0(&s2) || !stralloc_copy(&r2, rcpts)) e = -1 ;
    else e = envelope(fs, m, &s2, &r2, &n2, utf8) ;
    if (!e) errno = EPROTO ;
    if (e > 0 && edits(fs, m))
    {
      fs->tmp.len = 0 ;
      if (!msgedit_apply(fs->msg.s, fs->msg.len, &fs->mods, fs->cf->message_size, &fs->tmp))
        e = errno == ENOMEM ? -1 : 0 ;
      else
      {
        stralloc t = fs->msg ;
        fs->msg = fs->tmp ; fs->tmp = t ;
      }
    }
    if (e > 0)
    {
      stralloc t = *sender ; *sender = s2 ; s2 = t ;
      t = *rcpts ; *rcpts = r2 ; r2 = t ;
      *nrcpt = n2 ;
    }
    stralloc_free(&s2) ; stralloc_free(&r2) ;
  }
  if (e < 0) return nomem(fs) ;
  if (!e) return failure(fs, i, ST_EOM, errno == EFBIG ? "toolarge" : "protocol") ;
  return MILTER_CONTINUE ;
}

int filter_eom (filterset *fs, stralloc *sender, stralloc *rcpts, unsigned int *nrcpt, int utf8)
{
  unsigned int i = 0 ;
  if (fs->discard) return MILTER_DISCARD ;
  for (; i < fs->n ; i++)
  {
    int v ;
    if (out(fs, i, &v)) { if (v != MILTER_CONTINUE) return v ; continue ; }
    v = eom_one(fs, i, sender, rcpts, nrcpt, utf8) ;
    if (v != MILTER_CONTINUE) return v ;
  }
  if (!*nrcpt)
  {
    /* every recipient deleted: nothing to queue, as a discard */
    LOG(fs, "filter action=discard reason=no-recipients") ;
    fs->discard = 1 ;
    return MILTER_DISCARD ;
  }
  return MILTER_CONTINUE ;
}

void filter_abort (filterset *fs)
{
  unsigned int i = 0 ;
  for (; i < fs->n ; i++) if (!fs->failed[i]) milter_abort(fs->m + i) ;
  fs->msg.len = 0 ;
  fs->unstuff_bol = 1 ;
  fs->discard = fs->hold = 0 ;
  fs->reason.len = 0 ;
  fs->mac[FILTER_MAC_MAIL_ADDR] = fs->mac[FILTER_MAC_MAIL_HOST] = 0 ;
}

void filterset_close (filterset *fs)
{
  unsigned int i = 0 ;
  for (; i < fs->n ; i++) milter_close(fs->m + i) ;
  alloc_free(fs->m) ;
  alloc_free(fs->onfail) ;
  stralloc_free(&fs->reason) ; stralloc_free(&fs->reply) ;
  stralloc_free(&fs->msg) ; stralloc_free(&fs->tmp) ;
  milter_mods_free(&fs->mods) ;
  stralloc_free(&fs->facts) ; stralloc_free(&fs->mailaddr) ;
  stralloc_free(&fs->logsa) ; stralloc_free(&fs->q) ; stralloc_free(&fs->q2) ;
  *fs = (filterset)FILTERSET_ZERO ;
}

int filterset_start (filterset **fsp, conf const *cf, size_t const *names, unsigned int n, int logfd, char const *id, tain const *limit,
  char const *ip, char const *port, char const *localip, char family)
{
  filterset *fs = alloc(sizeof(filterset)) ;
  int v ;
  *fsp = 0 ;
  if (!fs) return MILTER_FAIL ;
  if (!filterset_init(fs, cf, names, n, logfd, id, limit)) { alloc_free(fs) ; return MILTER_FAIL ; }
  if (!filter_client(fs, ip, port, localip)) { filterset_close(fs) ; alloc_free(fs) ; return MILTER_FAIL ; }
  *fsp = fs ;
  v = filter_connect(fs, 0, family, fs->port, ip ? ip : "localhost") ;
  if (v == MILTER_REJECT || v == MILTER_TEMPFAIL) filter_reply_code(fs, v == MILTER_REJECT ? "554" : "421") ;
  return v ;
}

void filterset_free (filterset **fsp)
{
  if (!*fsp) return ;
  filterset_close(*fsp) ;
  alloc_free(*fsp) ;
  *fsp = 0 ;
}
