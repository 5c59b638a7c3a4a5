/* ISC license: see LICENSE. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/types.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/ip46.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "callout.h"
#include "conf.h"
#include "dns.h"
#include "route.h"
#include "smtpclient.h"
#include "smtpreply.h"
#include "smtpsess.h"

#define QUIT_SECS 2

/* FNV-1a: spreads addresses over the slots; it needs no secret, since a slot only ever holds one answer */
static uint32_t hash (char const *s)
{
  uint32_t h = 2166136261u ;
  for (; *s ; s++) { h ^= (unsigned char)*s ; h *= 16777619u ; }
  return h ;
}

int callout_slot (char const *dir, char const *rcpt, stralloc *sa)
{
  static char const hex[] = "0123456789abcdef" ;
  uint32_t h = hash(rcpt) % CALLOUT_SLOTS ;
  char name[5] = { '/', hex[(h >> 8) & 15], hex[(h >> 4) & 15], hex[h & 15], 0 } ;
  sa->len = 0 ;
  return stralloc_cats(sa, dir) && stralloc_catb(sa, name, 5) ;
}

int callout_record_parse (char const *s, size_t len, int *positive, uint64_t *when, size_t *addr, size_t *addrlen)
{
  size_t i = 2, k ;
  if (len < 5 || len > CALLOUT_RECORD_MAX || s[len-1] != '\n' || (s[0] != 'P' && s[0] != 'N') || s[1] != ' ') return 0 ;
  for (k = i ; k < len && k - i < 20 && s[k] >= '0' && s[k] <= '9' ; k++) ;
  if (k == i || k >= len || s[k] != ' ' || uint64_scan(s + i, when) != k - i) return 0 ;
  *addr = k + 1 ;
  *addrlen = len - 1 - *addr ;
  if (!*addrlen || memchr(s + *addr, '\n', *addrlen) || memchr(s + *addr, 0, *addrlen)) return 0 ;
  *positive = s[0] == 'P' ;
  return 1 ;
}

int callout_cache_get (char const *dir, char const *rcpt, uint64_t now, unsigned int pos, unsigned int neg, enum ketch_result *result)
{
  stralloc fn = STRALLOC_ZERO ;
  char buf[CALLOUT_RECORD_MAX + 1] ;
  ssize_t r = -1 ;
  size_t addr, addrlen ;
  uint64_t when ;
  int positive, fd ;
  if (!callout_slot(dir, rcpt, &fn)) { stralloc_free(&fn) ; return 0 ; }
  fd = open_read(fn.s) ;
  stralloc_free(&fn) ;
  if (fd < 0) return 0 ;
  /* one read is enough for a record; a longer file is no record */
  r = allread(fd, buf, sizeof(buf)) ;
  fd_close(fd) ;
  if (r <= 0 || !callout_record_parse(buf, r, &positive, &when, &addr, &addrlen)) return 0 ;
  if (addrlen != strlen(rcpt) || memcmp(buf + addr, rcpt, addrlen)) return 0 ;
  /* an answer from the future (the clock stepped back) is no answer */
  if (when > now || now - when >= (positive ? pos : neg)) return 0 ;
  *result = positive ? KETCH_RESULT_OK : KETCH_RESULT_PERM ;
  return 1 ;
}

int callout_cache_put (char const *dir, char const *rcpt, enum ketch_result result, uint64_t now)
{
  stralloc fn = STRALLOC_ZERO, rec = STRALLOC_ZERO ;
  char fmt[UINT64_FMT] ;
  int ok ;
  if (result == KETCH_RESULT_TEMP || strlen(rcpt) + 2 + UINT64_FMT + 1 > CALLOUT_RECORD_MAX || strchr(rcpt, '\n')) return (errno = EINVAL, 0) ;
  /* the temporary name is this process's: two sessions writing one slot each rename a whole record */
  {
    char pid[5 + PID_FMT] = ".tmp." ;
    pid[5 + pid_fmt(pid + 5, getpid())] = 0 ;
    ok = callout_slot(dir, rcpt, &fn)
      && stralloc_catb(&rec, result == KETCH_RESULT_OK ? "P " : "N ", 2) && stralloc_catb(&rec, fmt, uint64_fmt(fmt, now))
      && stralloc_catb(&rec, " ", 1) && stralloc_cats(&rec, rcpt) && stralloc_catb(&rec, "\n", 1) ;
    if (ok) ok = openwritenclose_suffix(fn.s, rec.s, rec.len, pid) ;
  }
  {
    int e = errno ;
    stralloc_free(&fn) ; stralloc_free(&rec) ;
    errno = e ;
  }
  return ok ;
}

/* why the callout could not be asked: 0, or -1 (ENOMEM) */
static int not_asked (callout *co, char const *what, char const *why)
{
  co->answer.len = 0 ;
  return stralloc_cats(&co->answer, what) && (!why || (stralloc_catb(&co->answer, ": ", 2) && stralloc_cats(&co->answer, why)))
    && stralloc_0(&co->answer) ? 0 : -1 ;
}

int callout_ask (smtpc *c, char const *host, char const *helo, char const *rcpt, unsigned int secs, callout *co)
{
  smtpsess s = SMTPSESS_ZERO ;
  int r ;
  s.host = host ;
  s.helo = helo ;
  s.tlspolicy = CONF_TLS_NONE ;
  s.tcommand = secs ;
  r = smtpsess_open(&s, c, 0) ;
  if (r <= 0)
  {
    r = r < 0 ? -1 : not_asked(co, s.fail.s, 0) ;
    smtpsess_free(&s) ;
    return r ;
  }
  smtpsess_free(&s) ;
  /* RFC 5321 §4.5.5: the null sender, as for a bounce */
  if (!smtpc_command(c, "MAIL FROM:<>", 0, secs)) { r = not_asked(co, "MAIL", smtpc_error(c)) ; smtpc_close(c) ; return r ; }
  if (smtpreply_class(&c->reply) != 2)
  {
    co->answer.len = 0 ;
    r = stralloc_cats(&co->answer, "MAIL FROM:<> refused: ") && smtpreply_oneline(&c->reply, &co->answer) && stralloc_0(&co->answer) ? 0 : -1 ;
    smtpc_quit(c, QUIT_SECS) ;
    return r ;
  }
  if (!smtpc_put(c, "RCPT TO:<", rcpt, ">") || !smtpc_flush(c, secs) || !smtpc_reply(c, secs))
  {
    r = errno == ENOMEM ? -1 : not_asked(co, "RCPT", smtpc_error(c)) ;
    smtpc_close(c) ;
    return r ;
  }
  co->answer.len = 0 ;
  if (!smtpreply_oneline(&c->reply, &co->answer) || !stralloc_0(&co->answer)) return -1 ;
  co->result = smtpreply_class(&c->reply) == 2 ? KETCH_RESULT_OK : smtpreply_class(&c->reply) == 5 ? KETCH_RESULT_PERM : KETCH_RESULT_TEMP ;
  smtpc_quit(c, QUIT_SECS) ;
  return 1 ;
}

/* every address of every hop, in remote-send's order, until one answers or the deadline: 1, 0 (no answer), -1 */
static int ask_hops (conf const *cf, route const *rt, char const *rcpt, tain const *deadline, callout *co)
{
  smtpc c = SMTPC_ZERO ;
  size_t n = route_nhops(rt), i = 0 ;
  int r = 0, myself = 0 ;
  for (; i < n && !r && !myself ; i++)
  {
    route_hop const *h = route_hops(rt) + i ;
    genalloc ips = GENALLOC_ZERO ;
    size_t j = 0 ;
    int secure ;
    if (h->self) break ;
    tain_now_g() ;
    if (!tain_future(deadline)) break ;
    if (route_addresses(route_str(rt, h->host), h->gai, &ips, &secure) != DNS_OK)
    {
      genalloc_free(dns_ip, &ips) ;
      r = not_asked(co, "no address for the next hop", route_str(rt, h->host)) ;
      continue ;
    }
    for (; j < genalloc_len(dns_ip, &ips) && !r ; j++)
    {
      dns_ip const *a = genalloc_s(dns_ip, &ips) + j ;
      ip46 ip ;
      int fd ;
      if (a->is6) ip46_from_ip6(&ip, a->ip) ; else ip46_from_ip4(&ip, a->ip) ;
      /* RFC 5321 §5.1: never ourselves */
      if (route_is_myself(cf, &ip, h->port)) { myself = 1 ; break ; }
      tain_now_g() ;
      if (!tain_future(deadline)) break ;
      fd = socket_tcp46_nbcoe(ip46_is6(&ip)) ;
      if (fd < 0) { r = not_asked(co, "socket", strerror(errno)) ; break ; }
      if (!socket_deadlineconnstamp46_g(fd, &ip, h->port, deadline))
      {
        fd_close(fd) ;
        if (not_asked(co, "connect", errno == ETIMEDOUT ? "timed out" : strerror(errno)) < 0) r = -1 ;
        continue ;
      }
      co->host.len = 0 ;
      if (!stralloc_cats(&co->host, route_str(rt, h->host)) || !stralloc_0(&co->host)) { fd_close(fd) ; r = -1 ; break ; }
      smtpc_init(&c, fd, deadline) ;
      r = callout_ask(&c, route_str(rt, h->host), cf->sa.s + cf->hostname, rcpt, cf->callout_timeout, co) ;
      smtpc_close(&c) ;
    }
    genalloc_free(dns_ip, &ips) ;
  }
  smtpc_free(&c) ;
  return r ;
}

int callout_verify (conf const *cf, char const *rcpt, uint64_t now, callout *co)
{
  static int dnsready = 0 ;
  stralloc dir = STRALLOC_ZERO ;
  char const *at = strrchr(rcpt, '@') ;
  route rt = ROUTE_ZERO ;
  tain deadline ;
  int r = 0 ;
  co->result = KETCH_RESULT_TEMP ;
  co->cached = 0 ;
  co->host.len = 0 ;
  co->answer.len = 0 ;
  if (cf->callout_cache && (!stralloc_cats(&dir, cf->sa.s + cf->callout_cache) || !stralloc_0(&dir))) goto nomem ;
  if (dir.len && callout_cache_get(dir.s, rcpt, now, cf->callout_positive, cf->callout_negative, &co->result))
  {
    co->cached = 1 ;
    stralloc_free(&dir) ;
    return 1 ;
  }
  tain_now_g() ;
  tain_addsec_g(&deadline, cf->callout_timeout) ;
  /* the resolver remote-send asks, a try no longer than the whole callout */
  if (!dnsready && dns_init(cf->resolver_ip, cf->resolver_is6, cf->resolver_port, cf->callout_timeout < 5 ? cf->callout_timeout : 5)) dnsready = 1 ;
  if (!at || !route_plan(&rt, cf, at + 1)) goto nomem ;
  if (rt.result != ROUTE_OK) r = not_asked(co, "no next hop", rt.result == ROUTE_LOOP ? "this host is the best exchanger" : "the MX lookup failed") ;
  else r = ask_hops(cf, &rt, rcpt, &deadline, co) ;
  if (r < 0) goto nomem ;
  if (!r)
  {
    tain_now_g() ;
    if (!tain_future(&deadline) && not_asked(co, "no answer within callout timeout", 0) < 0) goto nomem ;
    if (!co->answer.len && not_asked(co, "no next hop answered", 0) < 0) goto nomem ;
    co->result = KETCH_RESULT_TEMP ;
  }
  /* a cache that cannot be written costs a callout next time, nothing more */
  else if (co->result != KETCH_RESULT_TEMP && dir.len) callout_cache_put(dir.s, rcpt, co->result, now) ;
  route_free(&rt) ;
  stralloc_free(&dir) ;
  return 1 ;
 nomem:
  route_free(&rt) ;
  stralloc_free(&dir) ;
  return 0 ;
}

void callout_free (callout *co)
{
  stralloc_free(&co->host) ;
  stralloc_free(&co->answer) ;
}
