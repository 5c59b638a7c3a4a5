/* ISC license: see LICENSE. */

/*
 * remote-send -b domain: deliver the queued messages the scheduler
 * writes on fd 0 (jobs, lib/report), all for one destination domain,
 * over SMTP (RFC 5321), one transaction each on as few connections as
 * it takes, and report per job and recipient on fd 1:
 *   <job> ok|temp|perm <index> <text>\n
 * then exit 0 once fd 0 is closed. Spawned by the scheduler; see
 * remote-send(8).
 *
 * The route: a configured route or smarthost, else the domain's MX records
 * (RFC 5321 §5.1; null MX per RFC 7505), else its own addresses. Hosts are
 * tried in order until one takes the transaction; a connection failure or
 * a 4xx/5xx before MAIL moves on to the next address.
 *
 * The engine is in lib/: rbatch reads the jobs, rjob holds a job's
 * message and its recipients' results, route says where the mail goes,
 * smtpsess opens a session under the host's TLS policy and credentials,
 * and smtptx runs a transaction. This file loops over the jobs and the
 * hosts, logs through lib/log and reports on fd 1.
 */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <time.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/sig.h>
#include <skalibs/socket.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "conf.h"
#include "queue.h"
#include "dns.h"
#include "log.h"
#include "rbatch.h"
#include "rjob.h"
#include "route.h"
#include "smtpclient.h"
#include "smtpreply.h"
#include "smtpsess.h"
#include "smtptx.h"
#include "stscache.h"
#include "stspolicy.h"
#include "tlsclient.h"
#include "tlsname.h"
#include "tlsrpt.h"
#include "stats.h"

#define USAGE "remote-send [ -C conf ] -b domain"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

#define ADDR_TRIES_MAX 20       /* addresses tried per run, all MX hosts together */
#define STS_FETCH_MAX 10        /* seconds for the MTA-STS policy fetch, connection included (RFC 8461 §3.3 leaves it to us) */
#define STREAM_IDLE_MAX 300     /* idle between jobs at most this long (§4.5.3.2.7: servers wait 5 minutes); the scheduler ends it sooner */

/* what a session with one address did (session) */
enum sess
{
  SESS_DONE,       /* every job's recipients have their results: the run is over */
  SESS_NEXT,       /* the next address, for the jobs left (run.lasterr says why) */
  SESS_PLAINTEXT   /* an opportunistic TLS handshake failed: the same address is worth a plaintext try (RFC 7435 §3) */
} ;

/* what the addresses of one hop did (try_host) */
enum hop { HOP_DONE, HOP_NEXT, HOP_MYSELF } ;

/* the run: what lasts from one job to the next */
static struct run_s
{
  conf cf ;
  char const *domain ;
  unsigned int tries ;    /* addresses tried, all MX hosts together */
  stralloc lasterr ;      /* the last reason a host failed, for the recipients if no host takes the mail */
  int allperm ;           /* every failure so far was permanent */
  char const *host ;      /* the host tried, for logs and reasons; "" */
  char ip[IP46_FMT] ;     /* its address tried; "" */
  int tlsrpt ;            /* TLS results are recorded for the domain's report (tlsrpt_note) */
  char localip[IP46_FMT] ; /* our end of the connection, for the report; "" */
  int sts ;               /* the domain's MTA-STS policy: -1 not looked up yet, 0 none, 1 in sts */
  stscache sts_policy ;
} run = { .tries = 0, .lasterr = STRALLOC_ZERO, .allperm = 1, .host = "", .ip = "", .sts = -1, .sts_policy = STSCACHE_ZERO } ;
static stats_rec *stats = 0 ;   /* SPOOL/stats/remote (lib/stats), or 0: not counted */

/* the current job (lib/rjob); its id is first on log lines, "-" between jobs */
static rjob cur = RJOB_ZERO ;

/* the jobs read on fd 0 (lib/rbatch) */
static rbatch jobs = RBATCH_ZERO ;

/* the connection (lib/smtpclient), its opening (lib/smtpsess) and its transactions (lib/smtptx) */
static struct conn_s
{
  smtpc c ;
  tlsclient tls ;         /* BearSSL's buffers: static */
  tlsclient_anchors anchors ;
  int anchors_loaded ;
  smtpsess sess ;
  smtptx tx ;
  route_tls policy ;      /* the TLS policy of the host's sessions (lib/route), its TLSA records */
} cn = { .c = SMTPC_ZERO, .anchors = TLSCLIENT_ANCHORS_ZERO, .anchors_loaded = 0, .sess = SMTPSESS_ZERO, .tx = SMTPTX_ZERO, .policy = ROUTE_TLS_ZERO } ;

static void job_next (void) ;
static void job_advance (void) ;
static int jobs_wait (int) ;

#define nomem() strerr_diefu(KETCH_EX_TEMP, "allocate memory")

/*
 * Logging through lib/log, as the scheduler does: one line per event, the
 * queue id first, untrusted values quoted, one write per line (so that a
 * line is never mixed with the scheduler's on their common pipe). The
 * result of each recipient is the scheduler's line, from our report: we
 * log what it cannot see, the hosts and sessions.
 */
static void logv (char const *const *v)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (log_line(&sa, cur.id, v)) allwrite(2, sa.s, sa.len) ;
}
#define LOG(...) logv((char const *const []){ __VA_ARGS__, 0 })
/* the fields naming the current host, for LOG's arguments */
#define HOST *run.host ? "host=" : "", *run.host ? log_quote(run.host) : "", *run.ip ? "ip=" : "", run.ip

/* results (lib/rjob) */

/* every recipient still in state which gets this result */
static void set_all (enum rjob_status status, char const *s, size_t len, enum rjob_status which)
{
  if (!rjob_set_all(&cur, status, s, len, which)) nomem() ;
}

/* a host failed: logged, and kept (run.lasterr) for the recipients if no host takes the mail */
static void fail_host (int perm, char const *what, char const *why)
{
  stralloc *e = &run.lasterr ;
  e->len = 0 ;
  if (*run.host)
  {
    if (!stralloc_cats(e, run.host)) nomem() ;
    if (*run.ip && (!stralloc_catb(e, "[", 1) || !stralloc_cats(e, run.ip) || !stralloc_catb(e, "]", 1))) nomem() ;
    if (!stralloc_catb(e, ": ", 2)) nomem() ;
  }
  if (!stralloc_cats(e, what) || (why && (!stralloc_cats(e, ": ") || !stralloc_cats(e, why)))) nomem() ;
  if (!perm) run.allperm = 0 ;
  if (!stralloc_0(e)) nomem() ;
  e->len-- ;
  LOG("host-failed", HOST, "reason=", log_quote(e->s)) ;
}

/* the report protocol (lib/report): one line per recipient of the current job, in order; flushed, so the scheduler sees each job's */
static void report (void)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!rjob_report(&cur, jobs.base + jobs.cur, &sa)) nomem() ;
  if (buffer_put(buffer_1, sa.s, sa.len) < 0 || !buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write report") ;
}

/* one transaction for the current job (lib/smtptx): where the message goes, and the host's failure, logged */
static enum smtptx_r transaction (smtpreply_ext const *e)
{
  enum smtptx_r r = smtptx_begin(&cn.tx, &cn.c, e, &cur) ;
  if (r == SMTPTX_GO)
  {
    /* the results are the scheduler's lines */
    LOG("transaction", HOST, "tls=", cn.c.tls ? "yes" : "no", "rcpts=", log_u64(smtptx_nrcpts(&cn.tx))) ;
    r = smtptx_run(&cn.tx, &cn.c, e, &cur) ;
  }
  if (r == SMTPTX_ERROR) nomem() ;
  if (cn.tx.failed) fail_host(cn.tx.failperm, cn.tx.fail.s, 0) ;
  return r ;
}

/*
 * TLS-RPT (RFC 8460): one TLS negotiation's result (or a host deferred
 * before any, under DANE) appended to the domain's records (lib/tlsrpt),
 * for tlsrpt-send's report. Policy type "tlsa" when DANE applied (its
 * records are the policy strings, RFC 8460 §4.4), "sts" when the
 * domain's MTA-STS policy applied to the host (its lines are the
 * strings), else "no-policy-found": a tls-policy rule is our own
 * choice, not a policy the domain published (§4.3). A failure to record
 * is logged, never the delivery's business.
 */
static void tlsrpt_note (int result, int dane)
{
  static stralloc sa = STRALLOC_ZERO ;
  int sts = !dane && cn.policy.sts != STSPOLICY_NONE ;
  tlsrpt_rec r = { .policy = dane ? TLSRPT_P_TLSA : sts ? TLSRPT_P_STS : TLSRPT_P_NONE, .result = (unsigned int)result, .sendip = *run.ip ? run.localip : "", .recvip = run.ip, .mx = run.host, .nstrings = 0 } ;
  size_t n = tlsa_set_n(&cn.policy.tlsa), i = 0, k, off[TLSRPT_STRINGS_MAX] ;
  if (!run.tlsrpt || result < 0) return ;
  sa.len = 0 ;
  /* §4.4: an STS policy's strings are its lines, as it was fetched */
  if (sts)
  {
    char const *t = stscache_text(&run.sts_policy) ;
    size_t len = run.sts_policy.textlen, pos = 0 ;
    while (pos < len && i < TLSRPT_STRINGS_MAX)
    {
      char const *nl = memchr(t + pos, '\n', len - pos) ;
      size_t l = nl ? (size_t)(nl - (t + pos)) : len - pos ;
      size_t e = l && t[pos + l - 1] == '\r' ? l - 1 : l ;
      if (e)
      {
        off[i++] = sa.len ;
        if (!stralloc_catb(&sa, t + pos, e) || !stralloc_0(&sa)) nomem() ;
      }
      pos += l + !!nl ;
    }
  }
  /* RFC 6698 §2.2's presentation: "3 1 1 HEX" */
  for (; dane && i < n && i < TLSRPT_STRINGS_MAX ; i++)
  {
    static char const hex[] = "0123456789abcdef" ;
    tlsa_rr const *rr = tlsa_set_rrs(&cn.policy.tlsa) + i ;
    unsigned char const *d = tlsa_set_data(&cn.policy.tlsa, rr) ;
    char f[3 * UINT_FMT] ;
    size_t l = 0 ;
    off[i] = sa.len ;
    l += uint_fmt(f + l, rr->usage) ; f[l++] = ' ' ;
    l += uint_fmt(f + l, rr->selector) ; f[l++] = ' ' ;
    l += uint_fmt(f + l, rr->mtype) ; f[l++] = ' ' ;
    if (!stralloc_catb(&sa, f, l)) nomem() ;
    for (k = 0 ; k < rr->len ; k++)
    {
      char x[2] = { hex[d[k] >> 4], hex[d[k] & 15] } ;
      if (!stralloc_catb(&sa, x, 2)) nomem() ;
    }
    if (!stralloc_0(&sa)) nomem() ;
  }
  for (k = 0 ; k < i ; k++) r.strings[k] = sa.s + off[k] ;
  r.nstrings = (unsigned int)i ;
  /* the periods are UTC days (or their configured length) on the system clock */
  if (!tlsrpt_record(run.cf.sa.s + run.cf.spool, run.domain, run.cf.tlsrpt_period, (uint64_t)time(0), &r))
    LOG("warning", HOST, "event=tlsrpt-not-recorded", "reason=", log_quote(strerror(errno))) ;
}

/* sessions */

/* connected, then the session's opening (lib/smtpsess), logged: 1 ready for MAIL, else how the session ends */
static int session_open (ip46 const *ip, uint16_t port, enum sess *how)
{
  int fd = socket_tcp46_nbcoe(ip46_is6(ip)) ;
  int r ;
  *how = SESS_NEXT ;
  if (fd < 0) { fail_host(0, "socket", strerror(errno)) ; return 0 ; }
  smtpc_init(&cn.c, fd, &cur.deadline) ;
  smtpc_deadline(&cn.c, run.cf.timeout_connect) ;
  if (!socket_deadlineconnstamp46_g(fd, ip, port, &cn.c.deadline))
  {
    fail_host(0, "connection failed", strerror(errno)) ;
    smtpc_close(&cn.c) ;
    return 0 ;
  }
  /* commands and the end of data go out in one segment each: no Nagle wait */
  socket_tcpnodelay(fd) ;
  if (run.tlsrpt)
  {
    ip46 me ;
    uint16_t myport ;
    run.localip[0] = 0 ;
    if (socket_local46(fd, &me, &myport) >= 0) run.localip[ip46_fmt(run.localip, &me)] = 0 ;
  }
  LOG("connected", HOST) ;
  r = smtpsess_open(&cn.sess, &cn.c, &cn.tls) ;
  if (r < 0) nomem() ;
  /* a session ready for mail: the TLS share of outbound sessions (lib/stats) */
  if (r) stats_add(stats, cn.sess.tls ? STATS_SESSIONS_OUT_TLS : STATS_SESSIONS_OUT_PLAIN, 1) ;
  if (cn.sess.discarded) LOG("warning", HOST, "event=discarded-plaintext-after-STARTTLS") ;
  if (cn.sess.tls)
    LOG("tls", HOST, "version=", cn.sess.tlsversion, "cipher=", tlsname_suite(cn.sess.tlscipher),
      "mode=", conf_tls_name(cn.sess.tlspolicy),
      "verified=", cn.sess.tlspolicy == CONF_TLS_VERIFY || cn.sess.tlspolicy == CONF_TLS_DANE ? "yes" : "no",
      "policy=", conf_tls_policy_name(cn.sess.tlspolicy),
      cn.sess.tlspolicy == CONF_TLS_DANE ? "dane=ok" : "", cn.sess.tlspolicy == CONF_TLS_DANE ? "usage=" : "",
      cn.sess.tlspolicy == CONF_TLS_DANE ? log_u64(cn.sess.dane_usage) : "") ;
  if (cn.sess.dane_fail) LOG("tls", HOST, "policy=dane dane=fail reason=", log_quote(cn.sess.dane_fail)) ;
  if (cn.sess.tlspolicy != CONF_TLS_NONE) tlsrpt_note(tlsrpt_classify(cn.sess.tlsneg, cn.sess.tlserr), cn.sess.tlspolicy == CONF_TLS_DANE) ;
  /* RFC 8461 §5: the session enforce required failed (no STARTTLS, a certificate not valid for the host) */
  if (cn.sess.failed && cn.policy.sts == STSPOLICY_ENFORCE) LOG("tls-policy", HOST, "mta-sts=enforce", "fail=", log_quote(cn.sess.fail.s)) ;
  /* testing mode: what enforce would have refused (the certificate's validity is not checked under it) */
  if (r > 0 && cn.policy.sts == STSPOLICY_TESTING && !cn.sess.tls) LOG("tls-policy", HOST, "mta-sts=testing", "fail=", log_quote("no TLS (enforce would defer)")) ;
  if (cn.sess.failed) fail_host(cn.sess.failperm, cn.sess.fail.s, 0) ;
  if (cn.sess.plaintext) *how = SESS_PLAINTEXT ;
  return r ;
}

/* one SMTP session with one address, for as many jobs as it takes */
static enum sess session (char const *host, ip46 const *ip, uint16_t port, unsigned int tlspolicy, char const *authfile)
{
  enum sess how ;
  run.host = host ;
  run.ip[ip46_fmt(run.ip, ip)] = 0 ;
  cn.sess.host = host ;
  cn.sess.tlspolicy = tlspolicy ;
  cn.sess.authfile = authfile ;
  if (!session_open(ip, port, &how)) return how ;
  /* from here on, the current job's recipients get their results from this session; the next jobs ride on it */
  smtptx_init(&cn.tx, host, run.ip) ;
  for (;;)
  {
    enum smtptx_r r = transaction(&cn.sess.ext) ;
    if (r == SMTPTX_AGAIN) return SESS_NEXT ;
    job_next() ;
    /* a stream: the connection waits, idle, for the scheduler's next jobs; if the server spoke (421, or closed), the next jobs reconnect */
    if (jobs.cur >= jobs.n && r == SMTPTX_NEXT && jobs_wait(cn.c.fd) < 0) { smtpc_close(&cn.c) ; return SESS_DONE ; }
    if (jobs.cur >= jobs.n) { smtpc_quit(&cn.c, SMTPTX_TIMEOUT_QUIT) ; return SESS_DONE ; }
    if (r == SMTPTX_CLOSED) return SESS_NEXT ;
  }
}

/* routes */

/* the trust anchors of verify and of the MTA-STS fetch: ca-file, else the system's store, loaded once */
static int anchors (void)
{
  if (!cn.anchors_loaded)
  {
    char const *ca = cn.sess.cafile ? cn.sess.cafile : "/etc/ssl/certs/ca-certificates.crt" ;
    if (!tlsclient_anchors_load(&cn.anchors, ca)) return 0 ;
    cn.anchors_loaded = 1 ;
  }
  return 1 ;
}

/*
 * The domain's MTA-STS policy (lib/stscache: TXT record, cache, fetch,
 * RFC 8461 §5.1), once per run, on the first MX host it applies to: a
 * run is one domain, and a policy lasts max_age, not one message. 1, 0.
 * Here, in the unprivileged queue-side program that talks to the
 * network anyway, with the spool (the cache) as its cwd.
 */
static int sts_policy (void)
{
  tain deadline ;
  int r ;
  int ta ;
  if (run.sts >= 0) return run.sts ;
  /* without anchors no fetch can verify its server: an unexpired cached policy still holds */
  ta = anchors() ;
  if (!ta) LOG("mta-sts", "domain=", log_quote(run.domain), "event=no-trust-anchors", "why=", log_quote(strerror(errno))) ;
  tain_now_g() ;
  tain_addsec_g(&deadline, STS_FETCH_MAX) ;
  if (tain_less(&cur.deadline, &deadline)) deadline = cur.deadline ;
  r = stscache_get(run.domain, run.cf.mta_sts_port, ta ? &cn.anchors : 0, (uint64_t)time(0), &deadline, &run.sts_policy) ;
  if (r < 0) nomem() ;
  if (run.sts_policy.fetchfail)
    LOG("mta-sts", "domain=", log_quote(run.domain), "event=fetch-failed", "why=", log_quote(run.sts_policy.fetchfail)) ;
  if (r)
    LOG("mta-sts", "domain=", log_quote(run.domain), "mode=", stspolicy_mode_name(run.sts_policy.pol.mode),
      "id=", log_quote(run.sts_policy.id), "max_age=", log_u64(run.sts_policy.pol.max_age),
      "age=", log_u64((uint64_t)time(0) - run.sts_policy.fetched), "source=", run.sts_policy.source) ;
  else LOG("mta-sts", "domain=", log_quote(run.domain), "policy=none", "why=", log_quote(run.sts_policy.source)) ;
  return run.sts = r ;
}

/* the MTA-STS verdict on the host: mta-sts=MODE match=PATTERN, or fail=REASON */
static void log_sts (void)
{
  char m[256] = "" ;
  if (cn.policy.stsmatch >= 0)
  {
    stspolicy const *p = &run.sts_policy.pol ;
    size_t len = p->mxlen[cn.policy.stsmatch] < sizeof(m) ? p->mxlen[cn.policy.stsmatch] : sizeof(m) - 1 ;
    memcpy(m, stscache_text(&run.sts_policy) + p->mx[cn.policy.stsmatch], len) ;
    m[len] = 0 ;
    LOG("tls-policy", HOST, "mta-sts=", stspolicy_mode_name(cn.policy.sts), "match=", log_quote(m)) ;
  }
  else LOG("tls-policy", HOST, "mta-sts=", stspolicy_mode_name(cn.policy.sts), "fail=", log_quote("the MX host matches no mx pattern")) ;
}

/* tries every address of one hop */
static enum hop try_host (route const *rt, route_hop const *h)
{
  genalloc ips = GENALLOC_ZERO ;
  char const *host = route_str(rt, h->host) ;
  enum hop done = HOP_NEXT ;
  size_t n, i ;
  int r, secure ;
  run.host = host ; run.ip[0] = 0 ;
  r = route_addresses(host, h->gai, &ips, &secure) ;
  if (r != DNS_OK)
  {
    fail_host(r != DNS_TEMP, "address lookup failed", dns_strerror(r)) ;
    if (r == DNS_TEMP) run.allperm = 0 ;
    genalloc_free(dns_ip, &ips) ;
    return HOP_NEXT ;
  }
  /* the host's TLS policy (lib/route: DANE where it applies), once for all its addresses */
  if (!route_tls_decide(rt, h, secure, &cn.policy)) nomem() ;
  /* then MTA-STS, where DANE did not decide (RFC 8461 §2) */
  {
    int have = h->sts && sts_policy() > 0 ;  /* first: the fetch moves the text */
    route_sts_apply(rt, h, have ? &run.sts_policy.pol : 0, have ? stscache_text(&run.sts_policy) : 0, &cn.policy) ;
  }
  if (h->dane != ROUTE_DANE_OFF)
    LOG("tls-policy", HOST, "policy=", cn.policy.temp ? "defer" : conf_tls_policy_name(cn.policy.tls),
      "tlsa=", log_u64(tlsa_set_n(&cn.policy.tlsa)), "why=", log_quote(cn.policy.why)) ;
  if (cn.policy.sts != STSPOLICY_NONE) log_sts() ;
  if (cn.policy.temp)
  {
    fail_host(0, cn.policy.sts == STSPOLICY_ENFORCE ? "no delivery under MTA-STS" : "no delivery under DANE", cn.policy.why) ;
    /* an MX outside the STS policy's patterns has no result type of its own: the general one (RFC 8460 §4.3.2.4) */
    if (cn.policy.sts == STSPOLICY_ENFORCE) tlsrpt_note(TLSRPT_VALIDATION_FAILURE, 0) ;
    else tlsrpt_note(cn.policy.lookupfail ? TLSRPT_DNSSEC_INVALID : TLSRPT_DANE_REQUIRED, 1) ;
    genalloc_free(dns_ip, &ips) ;
    return HOP_NEXT ;
  }
  cn.sess.tlsa = &cn.policy.tlsa ;
  n = genalloc_len(dns_ip, &ips) ;
  for (i = 0 ; i < n ; i++)
  {
    dns_ip const *a = genalloc_s(dns_ip, &ips) + i ;
    enum sess s ;
    ip46 ip ;
    if (a->is6) ip46_from_ip6(&ip, a->ip) ; else ip46_from_ip4(&ip, a->ip) ;
    if (route_is_myself(&run.cf, &ip, h->port)) { done = HOP_MYSELF ; break ; }
    if (run.tries++ >= ADDR_TRIES_MAX) break ;
    s = session(host, &ip, h->port, cn.policy.tls, route_str(rt, h->auth)) ;
    if (s == SESS_PLAINTEXT)
    {
      LOG("tls-fallback", HOST, "action=retrying-without-tls") ;
      s = session(host, &ip, h->port, CONF_TLS_NONE, route_str(rt, h->auth)) ;
    }
    if (s == SESS_DONE) { done = HOP_DONE ; break ; }
    tain_now_g() ;
    if (!tain_future(&cur.deadline)) { fail_host(0, "delivery timeout", 0) ; break ; }
  }
  genalloc_free(dns_ip, &ips) ;
  return done ;
}

/* a failure of the route: every job left gets it */
static void fail_all (enum rjob_status status, char const *t)
{
  while (jobs.cur < jobs.n)
  {
    set_all(status, t, strlen(t), RJOB_PENDING) ;
    job_advance() ;
  }
}

/* the hops in route order (lib/route); nobody tried because the first is us: a loop */
static void deliver (void)
{
  route rt = ROUTE_ZERO ;
  size_t n, i ;
  int tried = 0 ;
  if (!route_plan(&rt, &run.cf, run.domain)) nomem() ;
  /* RFC 8460 reports on the domain's own MX hosts: a route or a smarthost is not its policy */
  run.tlsrpt = run.cf.tlsrpt_period && (rt.kind == ROUTE_K_MX || rt.kind == ROUTE_K_IMPLICIT) ;
  switch (rt.result)
  {
    case ROUTE_TEMP : fail_all(RJOB_TEMP, "451 4.4.3 temporary DNS failure looking up MX records") ; goto end ;
    case ROUTE_NXDOMAIN : fail_all(RJOB_PERM, "550 5.1.2 the destination domain does not exist") ; goto end ;
    case ROUTE_NULLMX : fail_all(RJOB_PERM, "556 5.1.10 the destination domain does not accept mail (null MX, RFC 7505)") ; goto end ;
    case ROUTE_BADLITERAL : fail_all(RJOB_PERM, "553 5.1.2 bad address literal") ; goto end ;
    default : break ;
  }
  n = route_nhops(&rt) ;
  for (i = 0 ; i < n ; i++)
  {
    route_hop const *h = route_hops(&rt) + i ;
    enum hop t ;
    if (h->self) break ;
    /* the tries are spent: no more address lookups either */
    if (run.tries >= ADDR_TRIES_MAX) break ;
    t = try_host(&rt, h) ;
    if (t == HOP_DONE) goto end ;
    if (t == HOP_MYSELF) break ;
    tried++ ;
    tain_now_g() ;
    if (!tain_future(&cur.deadline)) break ;
  }
  if (!tried) fail_all(RJOB_PERM, "554 5.4.6 mail for this domain loops back to myself") ;
 end:
  route_free(&rt) ;
}

/* jobs: the per-message state (results, texts, body) is the current job's */

/* the scheduler kills us at timeout delivery: finish (QUIT, report) a little before */
static void deadline_set (void)
{
  unsigned int margin = run.cf.timeout_delivery / 20 ;
  if (!margin) margin = 1 ;
  tain_now_g() ;
  tain_addsec_g(&cur.deadline, run.cf.timeout_delivery > margin ? run.cf.timeout_delivery - margin : run.cf.timeout_delivery) ;
}

static void job_start (void)
{
  rbatch_job const *jb = rbatch_job_at(&jobs, jobs.cur) ;
  char fn[QUEUE_PATH_MAX] ;
  int fd, r = 0 ;
  if (!rjob_start(&cur, jb->id, jb->sender, rbatch_rcpts(&jobs, jb), jb->nrcpt, jb->utf8)) nomem() ;
  /* every job has its own timeout delivery (scheduler(8): the deadline moves with the reports) */
  deadline_set() ;
  /* our cwd is the spool (the scheduler's); the entry is immutable once committed */
  queue_path(fn, "queue", jb->id) ;
  fd = open(fn, O_RDONLY | O_CLOEXEC) ;
  if (fd >= 0)
  {
    r = rjob_body(&cur, fd, jb->hdrlen) ;
    if (r < 0) nomem() ;
    fd_close(fd) ;
  }
  if (!r)
  {
    stralloc t = STRALLOC_ZERO ;
    if (!stralloc_cats(&t, "451 4.3.0 unable to read the queue entry: ") || !stralloc_cats(&t, strerror(errno))) nomem() ;
    set_all(RJOB_TEMP, t.s, t.len, RJOB_PENDING) ;
    stralloc_free(&t) ;
    return ;
  }
  if (jb->eightbit) cur.eightbit = 1 ;
}

static void job_advance (void)
{
  report() ;
  if (++jobs.cur < jobs.n) job_start() ;
}

/* the current job is over: its report, then the next job with something to send */
static void job_next (void)
{
  job_advance() ;
  while (jobs.cur < jobs.n && rjob_done(&cur)) job_advance() ;
}

/* the first job with something to send becomes the current one */
static void jobs_begin (void)
{
  if (jobs.cur >= jobs.n) return ;
  job_start() ;
  while (jobs.cur < jobs.n && rjob_done(&cur)) job_advance() ;
}

/* the scheduler and we disagree: the run ends, and every recipient without a report line is temporary */
#define garbled() strerr_dief(KETCH_EX_TEMP, "garbled job in the batch")

/*
 * The next jobs from fd 0, once every job known so far is over (so the
 * fields never move under a live job). The scheduler keeps the pipe
 * open while it may have more for this domain, and closes it to end the
 * run: one connection carries a stream of messages. Waits for at least
 * one whole job, at most STREAM_IDLE_MAX; when watch is an idle
 * connection, returns early if the server speaks (RFC 5321 §3.8: a 421,
 * or it closed). 1: a current job; 0: the end of the input, or the
 * timeout; -1: the server spoke.
 */
static int jobs_wait (int watch)
{
  tain until ;
  rbatch_forget(&jobs) ;
  cur.id = "-" ;
  tain_now_g() ;
  tain_addsec_g(&until, STREAM_IDLE_MAX) ;
  for (;;)
  {
    iopause_fd x[2] = { { .fd = 0, .events = IOPAUSE_READ, .revents = 0 }, { .fd = watch, .events = IOPAUSE_READ, .revents = 0 } } ;
    int r ;
    if (!rbatch_parse(&jobs)) { if (errno == EPROTO) garbled() ; nomem() ; }
    jobs_begin() ;
    if (jobs.cur < jobs.n) return 1 ;
    if (rbatch_truncated(&jobs)) garbled() ;
    if (jobs.eof) return 0 ;
    r = iopause_g(x, watch >= 0 ? 2 : 1, &until) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    if (!r) return 0 ;
    if (watch >= 0 && x[1].revents) return -1 ;
    if (x[0].revents && !rbatch_read(&jobs, 0))
    {
      if (errno == EPROTO) garbled() ;
      if (errno == ENOMEM) nomem() ;
      strerr_diefusys(KETCH_EX_TEMP, "read the jobs") ;
    }
  }
}

int main (int argc, char const *const *argv)
{
  char const *conffile = 0 ;
  stralloc err = STRALLOC_ZERO ;
  int batch = 0 ;
  PROG = "remote-send" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:b", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'b' : batch = 1 ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  /* -b names the only form (a batch of jobs on fd 0), as the scheduler runs it */
  if (!batch || argc != 1) dieusage() ;
  run.domain = argv[0] ;
  if (!*run.domain || strpbrk(run.domain, "\r\n")) dieusage() ;
  if (!fd_sanitize()) strerr_diefusys(KETCH_EX_TEMP, "sanitize standard fds") ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  if (!conf_load_default(&run.cf, conffile, &err))
    strerr_dief(KETCH_EX_TEMP, err.len ? err.s : "unable to read the configuration") ;
  cn.sess.helo = conf_str(&run.cf, run.cf.hostname) ;
  cn.sess.cafile = run.cf.ca_file ? conf_str(&run.cf, run.cf.ca_file) : 0 ;
  cn.sess.tcommand = run.cf.timeout_command ;
  cn.sess.anchors = &cn.anchors ;
  cn.sess.anchors_loaded = &cn.anchors_loaded ;
  cn.tx.tcommand = run.cf.timeout_command ;
  cn.tx.tdata = run.cf.timeout_data ;
  tain_now_set_stopwatch_g() ;

  if (jobs_wait(-1) <= 0) return 0 ;
  if (!dns_init(run.cf.resolver_ip, run.cf.resolver_is6, run.cf.resolver_port, run.cf.timeout_command < 5 ? run.cf.timeout_command : 5))
    strerr_diefusys(KETCH_EX_TEMP, "initialise the resolver") ;
  /* whose AD bit DANE trusts (lib/dns): dnssec-resolver's, or resolv.conf's lone loopback one; a plain resolver's, never */
  if (run.cf.resolver_dnssec || !run.cf.resolver_port)
    dns_dnssec_init(run.cf.resolver_dnssec ? DNS_DNSSEC_TRUST : DNS_DNSSEC_AUTO) ;

  {
    /* once per process, which serves a stream of connections: no system call per message or session */
    stralloc fn = STRALLOC_ZERO ;
    if (stralloc_cats(&fn, run.cf.sa.s + run.cf.spool) && stralloc_cats(&fn, "/" STATS_DIR "/" STATS_FILE_REMOTE) && stralloc_0(&fn))
      stats = stats_open(fn.s) ;
    stralloc_free(&fn) ;
  }
  for (;;)
  {
    if (jobs.cur < jobs.n) deliver() ;
    run.host = "" ;  /* it pointed into storage deliver() has freed */
    run.ip[0] = 0 ;
    /* nobody took the mail: the last failure speaks for every recipient left, in every job left */
    if (!run.lasterr.len && !stralloc_cats(&run.lasterr, "no usable mail exchanger")) nomem() ;
    while (jobs.cur < jobs.n)
    {
      stralloc t = STRALLOC_ZERO ;
      if (!stralloc_cats(&t, run.allperm ? "550 5.4.4 " : "451 4.4.1 ") || !stralloc_catb(&t, run.lasterr.s, run.lasterr.len)) nomem() ;
      set_all(run.allperm ? RJOB_PERM : RJOB_TEMP, t.s, t.len, RJOB_PENDING) ;
      set_all(RJOB_TEMP, t.s, t.len, RJOB_ACCEPTED) ;
      stralloc_free(&t) ;
      job_advance() ;
    }
    /* a stream goes on with the scheduler's next jobs, on a new connection, from the first hop again */
    if (jobs_wait(-1) <= 0) return 0 ;
    run.tries = 0 ;
    run.allperm = 1 ;
    run.lasterr.len = 0 ;
  }
}
