/* ISC license: see LICENSE. */

/*
 * tlsrpt-send: the TLS-RPT reports (RFC 8460). For every period that is
 * over, each policy domain's records (lib/tlsrpt, written by
 * remote-send) become one report (lib/tlsrptrep), sent to the mailto:
 * addresses of the domain's _smtp._tls TXT record through our own queue
 * (lib/enqclient, as the scheduler's bounces), then the records go. A
 * domain without a record gets nothing (§3). A temporary DNS failure
 * keeps the records for the next pass. Runs once (-1), or as a service:
 * a pass, then sleep until the current period is over.
 */

/* initgroups is not POSIX */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>
#include <grp.h>
#include <dirent.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/direntry.h>
#include <skalibs/tai.h>

#include "conf.h"
#include "dns.h"
#include "enqclient.h"
#include "exitcodes.h"
#include "log.h"
#include "ststxt.h"
#include "tlsrpt.h"
#include "tlsrptrep.h"

#define USAGE "tlsrpt-send [ -C conf ] [ -1 ] [ -d fd ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define nomem() strerr_diefu(KETCH_EX_TEMP, "allocate memory")

/*
 * A period is reported this long after its end: remote-send appends a
 * line in one write right after it read the clock, so a line of the
 * period can only be in flight for an instant after its end.
 */
#define GRACE 2

static conf c ;
static char const *conffile = 0 ;

static void logv (char const *const *v)
{
  stralloc sa = STRALLOC_ZERO ;
  if (log_line(&sa, "-", v)) allwrite(2, sa.s, sa.len) ;
  stralloc_free(&sa) ;
}
#define LOG(...) logv((char const *const []){ "tlsrpt", __VA_ARGS__, 0 })

static void drop_privileges (void)
{
  struct passwd *pw ;
  if (geteuid() || !c.queue_user) return ;
  pw = getpwnam(c.sa.s + c.queue_user) ;
  if (!pw) strerr_dief(KETCH_EX_PERM, "unknown queue-user: ", c.sa.s + c.queue_user) ;
  if (!pw->pw_uid) strerr_dief(KETCH_EX_PERM, "queue-user must not be root") ;
  if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "drop privileges to ", pw->pw_name) ;
}

/*
 * The domain's report addresses: RFC 8460 §3, the TXT records of
 * _smtp._tls.DOMAIN beginning "v=TLSRPTv1"; not exactly one (or not
 * valid, lib/ststxt): the domain does not do TLS-RPT. DNS_OK with the
 * rua= URIs, each NUL-terminated, in uris; else the DNS_* of "no".
 */
static int rua (char const *domain, stralloc *uris)
{
  stralloc name = STRALLOC_ZERO, txt = STRALLOC_ZERO ;
  char const *rec = 0 ;
  size_t i = 0, errpos ;
  unsigned int n = 0 ;
  ststxt_rua r ;
  char const *why ;
  int d ;
  if (!stralloc_cats(&name, "_smtp._tls.") || !stralloc_cats(&name, domain) || !stralloc_0(&name)) nomem() ;
  d = dns_txt_lookup(name.s, &txt) ;
  if (d == DNS_OK)
  {
    for (; i < txt.len ; i += strlen(txt.s + i) + 1)
      if (ststxt_is_tlsrpt(txt.s + i, strlen(txt.s + i))) { rec = txt.s + i ; n++ ; }
    if (n != 1 || !ststxt_tlsrpt_parse(rec, strlen(rec), &r, &errpos, &why)) d = DNS_NODATA ;
  }
  if (d == DNS_OK)
  {
    /* the URIs from the first to the field's end, as lib/ststxt checked them: separated by ",", *WSP around */
    size_t k = r.first ;
    for (;;)
    {
      size_t us, ue ;
      while (rec[k] == ' ' || rec[k] == '\t') k++ ;
      us = k ;
      while (rec[k] && rec[k] != ',' && rec[k] != ';' && rec[k] != ' ' && rec[k] != '\t') k++ ;
      ue = k ;
      if (ue > us && (!stralloc_catb(uris, rec + us, ue - us) || !stralloc_0(uris))) nomem() ;
      while (rec[k] == ' ' || rec[k] == '\t') k++ ;
      if (rec[k] != ',') break ;
      k++ ;
    }
  }
  stralloc_free(&name) ;
  stralloc_free(&txt) ;
  return d ;
}

/* one report message to one address through our queue (lib/enqclient): 1, or 0 */
static int inject (char const *to, stralloc const *msg)
{
  enqclient h = ENQCLIENT_ZERO ;
  stralloc wire = STRALLOC_ZERO, diag = STRALLOC_ZERO ;
  tain d ;
  /* the null sender: a report that cannot be delivered must not come back as a bounce */
  enqclient_req r = { .conffile = conffile, .sender = "", .auth = 0, .rcpts = to, .rlen = strlen(to) + 1, .deadline = &d } ;
  int e ;
  tain_now_g() ;
  tain_addsec_g(&d, c.timeout_command) ;
  e = enqclient_submit(&h, &c, &r, &diag) ;
  if (e < 0) { LOG("result=error", "to=", log_quote(to), "reason=", log_quote(strerror(errno))) ; return 0 ; }
  if (!e)
  {
    if (!enqclient_stuff(&wire, msg->s, msg->len) || allwrite(h.fd, wire.s, wire.len) < wire.len) enqclient_abort(&h) ;
    e = enqclient_finish(&h, &diag) ;
  }
  if (diag.len) allwrite(2, diag.s, diag.len) ;
  stralloc_free(&wire) ; stralloc_free(&diag) ;
  if (e) { LOG("result=error", "to=", log_quote(to), "exit=", log_u64(e)) ; return 0 ; }
  LOG("result=queued", "to=", log_quote(to), "id=", h.id) ;
  return 1 ;
}

/* a mailto: URI's address: up to its query, %XX decoded (RFC 6068 §2); 0 when empty or undecodable */
static int mailto (char const *uri, stralloc *to)
{
  size_t i = 7 ;
  to->len = 0 ;
  for (; uri[i] && uri[i] != '?' ; i++)
  {
    char ch = uri[i] ;
    if (ch == '%')
    {
      unsigned int x ;
      char hx[3] = { uri[i+1], uri[i+1] ? uri[i+2] : 0, 0 } ;
      if (!hx[0] || !hx[1] || uint_xscan(hx, &x) != 2 || !x) return 0 ;
      ch = (char)x ;
      i += 2 ;
    }
    if (!stralloc_catb(to, &ch, 1)) nomem() ;
  }
  if (!to->len) return 0 ;
  if (!stralloc_0(to)) nomem() ;
  return 1 ;
}

/* one domain's records of one period: 1 when done with them (sent, or nothing to send), 0 to keep them for the next pass */
static int report (char const *path, char const *domain, uint64_t start, uint64_t end)
{
  stralloc file = STRALLOC_ZERO, sa = STRALLOC_ZERO, uris = STRALLOC_ZERO, json = STRALLOC_ZERO, msg = STRALLOC_ZERO, to = STRALLOC_ZERO, id = STRALLOC_ZERO ;
  tlsrptrep t = TLSRPTREP_ZERO ;
  tlsrptrep_meta m = { .submitter = c.sa.s + c.hostname, .domain = domain, .start = start, .end = end } ;
  char fmt[UINT64_FMT] ;
  size_t i = 0, bad = 0, lines = 0 ;
  unsigned int sent = 0, failed = 0 ;
  int d, done = 1 ;
  d = rua(domain, &uris) ;
  if (d == DNS_TEMP) { LOG("domain=", log_quote(domain), "result=deferred", "reason=\"the _smtp._tls TXT lookup failed\"") ; done = 0 ; goto end ; }
  if (d != DNS_OK) { LOG("domain=", log_quote(domain), "result=none", "reason=\"no TLS-RPT record\"") ; goto end ; }
  if (!openslurpclose(&file, path)) { LOG("domain=", log_quote(domain), "result=error", "reason=", log_quote(strerror(errno))) ; done = 0 ; goto end ; }
  while (i < file.len)
  {
    char const *nl = memchr(file.s + i, '\n', file.len - i) ;
    size_t len = nl ? (size_t)(nl - file.s) - i : file.len - i ;
    tlsrpt_rec r ;
    lines++ ;
    if (tlsrpt_parse(file.s + i, len, &r, &sa)) { if (!tlsrptrep_add(&t, &r)) nomem() ; }
    else bad++ ;
    i += len + 1 ;
  }
  /* the report-id: unique per domain and period (RFC 8460 §4.4) */
  if (!stralloc_catb(&id, fmt, uint64_fmt(fmt, start)) || !stralloc_catb(&id, "-", 1) || !stralloc_catb(&id, fmt, uint64_fmt(fmt, end))
   || !stralloc_catb(&id, ".", 1) || !stralloc_cats(&id, domain) || !stralloc_catb(&id, "@", 1) || !stralloc_cats(&id, m.submitter) || !stralloc_0(&id)) nomem() ;
  m.id = id.s ;
  if (!tlsrptrep_json(&json, &t, &m)) nomem() ;
  for (i = 0 ; i < uris.len ; i += strlen(uris.s + i) + 1)
  {
    char const *u = uris.s + i ;
    if (!strncasecmp(u, "https:", 6)) { LOG("domain=", log_quote(domain), "to=", log_quote(u), "result=skipped", "reason=\"https: reports are not supported\"") ; continue ; }
    if (!mailto(u, &to)) { LOG("domain=", log_quote(domain), "to=", log_quote(u), "result=skipped", "reason=\"not a mail address\"") ; continue ; }
    msg.len = 0 ;
    if (!tlsrptrep_mail(&msg, &m, to.s, json.s, json.len, (uint64_t)time(0))) nomem() ;
    if (inject(to.s, &msg)) sent++ ; else failed++ ;
  }
  LOG("domain=", log_quote(domain), "result=reported", "id=", log_quote(id.s), "records=", log_u64(lines), "bad=", log_u64(bad), "sent=", log_u64(sent)) ;
  /* a hand-off that failed is tried again next pass (the addresses that took it may get it twice: better than none) */
  if (failed) done = 0 ;
 end:
  tlsrptrep_free(&t) ;
  stralloc_free(&file) ; stralloc_free(&sa) ; stralloc_free(&uris) ; stralloc_free(&json) ; stralloc_free(&msg) ; stralloc_free(&to) ; stralloc_free(&id) ;
  return done ;
}

/* every period over by now: its domains reported, their records and the period's directory removed */
static void pass (uint64_t now)
{
  stralloc dir = STRALLOC_ZERO, path = STRALLOC_ZERO ;
  DIR *top ;
  direntry *e ;
  if (!stralloc_cats(&dir, c.sa.s + c.spool) || !stralloc_cats(&dir, "/tlsrpt") || !stralloc_0(&dir)) nomem() ;
  top = opendir(dir.s) ;
  if (!top) strerr_diefusys(KETCH_EX_TEMP, "open ", dir.s) ;
  while ((errno = 0, e = readdir(top)))
  {
    uint64_t start, end ;
    DIR *pd ;
    direntry *f ;
    size_t base ;
    if (!tlsrpt_period_scan(e->d_name, &start, &end) || end + GRACE > now) continue ;
    path.len = 0 ;
    if (!stralloc_catb(&path, dir.s, dir.len - 1) || !stralloc_catb(&path, "/", 1) || !stralloc_cats(&path, e->d_name) || !stralloc_0(&path)) nomem() ;
    pd = opendir(path.s) ;
    if (!pd) { LOG("result=error", "dir=", log_quote(path.s), "reason=", log_quote(strerror(errno))) ; continue ; }
    path.s[path.len - 1] = '/' ;
    base = path.len ;
    while ((f = readdir(pd)))
    {
      if (f->d_name[0] == '.') continue ;
      path.len = base ;
      if (!stralloc_cats(&path, f->d_name) || !stralloc_0(&path)) nomem() ;
      if (report(path.s, f->d_name, start, end) && unlink(path.s) < 0)
        LOG("result=error", "file=", log_quote(path.s), "reason=", log_quote(strerror(errno))) ;
    }
    dir_close(pd) ;
    path.s[base - 1] = 0 ;
    /* a domain kept for the next pass keeps its period's directory */
    if (rmdir(path.s) < 0 && errno != ENOTEMPTY && errno != EEXIST)
      LOG("result=error", "dir=", log_quote(path.s), "reason=", log_quote(strerror(errno))) ;
  }
  dir_close(top) ;
  stralloc_free(&dir) ;
  stralloc_free(&path) ;
}

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  int once = 0 ;
  unsigned int notif = 0 ;
  PROG = "tlsrpt-send" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:1d:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case '1' : once = 1 ; break ;
        case 'd' : if (!uint0_scan(l.arg, &notif)) dieusage() ; break ;
        default : dieusage() ;
      }
    }
  }
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  if (!c.tlsrpt_period) strerr_dief(KETCH_EX_PERM, "tlsrpt-period is 0 (or not set): there is nothing to report") ;
  drop_privileges() ;
  if (!dns_init(c.resolver_ip, c.resolver_is6, c.resolver_port, c.timeout_command < 5 ? c.timeout_command : 5))
    strerr_diefusys(KETCH_EX_TEMP, "initialize the resolver") ;
  if (notif) { fd_write((int)notif, "\n", 1) ; fd_close((int)notif) ; }
  for (;;)
  {
    uint64_t now = (uint64_t)time(0), start, end ;
    pass(now) ;
    if (once) break ;
    /* until the current period is over and its lines are in */
    tlsrpt_period(now, c.tlsrpt_period, &start, &end) ;
    sleep((unsigned int)(end + GRACE - now)) ;
  }
  return 0 ;
}
