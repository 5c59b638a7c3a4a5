/* ISC license: see LICENSE. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/types.h>

#include "dns.h"
#include "httpsget.h"
#include "ststxt.h"
#include "stscache.h"

/* the header of a cache file: four lines, then an empty one, then the policy text */
#define MAGIC "ketch-mta-sts 1\n"
#define NAME_MAX_ 256

/* sts/DOMAIN, lower case; 0 if the domain cannot be a file name */
static int path (char *buf, char const *dir, char const *domain, char const *pre, char const *suf)
{
  size_t dl = strlen(dir), n = strlen(domain), pl = strlen(pre), sl = strlen(suf), i = 0 ;
  if (!n || n > 253 || domain[0] == '.' || strchr(domain, '/')) return (errno = EINVAL, 0) ;
  memcpy(buf, dir, dl) ; buf[dl] = '/' ;
  memcpy(buf + dl + 1, pre, pl) ;
  for (; i < n ; i++) buf[dl + 1 + pl + i] = domain[i] >= 'A' && domain[i] <= 'Z' ? domain[i] + 32 : domain[i] ;
  memcpy(buf + dl + 1 + pl + n, suf, sl + 1) ;
  return 1 ;
}

static int line (char const *s, size_t len, size_t *i, char const *key, char const **v, size_t *vlen)
{
  size_t kl = strlen(key) ;
  char const *nl = memchr(s + *i, '\n', len - *i) ;
  if (!nl || (size_t)(nl - (s + *i)) < kl + 1 || memcmp(s + *i, key, kl) || s[*i + kl] != ' ') return 0 ;
  *v = s + *i + kl + 1 ;
  *vlen = (size_t)(nl - *v) ;
  *i = (size_t)(nl - s) + 1 ;
  return 1 ;
}

static int num (char const *s, size_t len, uint64_t *u)
{
  char buf[21] ;
  if (!len || len > 20) return 0 ;
  memcpy(buf, s, len) ; buf[len] = 0 ;
  return uint64_scan(buf, u) == len ;
}

int stscache_read (char const *domain, stscache *c)
{
  return stscache_read_in(STSCACHE_DIR, domain, c) ;
}

int stscache_read_in (char const *dir, char const *domain, stscache *c)
{
  char fn[strlen(dir) + NAME_MAX_ + 16] ;
  char const *v, *why ;
  size_t vl, i = sizeof(MAGIC) - 1 ;
  uint64_t age ;
  unsigned int ln ;
  if (!path(fn, dir, domain, "", "")) return 0 ;
  c->sa.len = 0 ;
  if (!openslurpclose(&c->sa, fn)) return 0 ;
  if (c->sa.len < i || memcmp(c->sa.s, MAGIC, i)
   || !line(c->sa.s, c->sa.len, &i, "id", &v, &vl) || !vl || vl > 32
   || (memcpy(c->id, v, vl), c->id[vl] = 0, !line(c->sa.s, c->sa.len, &i, "fetched", &v, &vl)) || !num(v, vl, &c->fetched)
   || !line(c->sa.s, c->sa.len, &i, "max_age", &v, &vl) || !num(v, vl, &age)
   || i >= c->sa.len || c->sa.s[i] != '\n') return (errno = EINVAL, 0) ;
  c->text = i + 1 ;
  c->textlen = c->sa.len - c->text ;
  if (!stspolicy_parse(c->sa.s + c->text, c->textlen, &c->pol, &why, &ln) || c->pol.max_age != age) return (errno = EINVAL, 0) ;
  return 1 ;
}

int stscache_fresh (stscache const *c, uint64_t now)
{
  return now >= c->fetched ? now - c->fetched < c->pol.max_age : 1 ;
}

int stscache_write (char const *domain, char const *id, uint64_t fetched, char const *text, size_t len)
{
  char fn[sizeof(STSCACHE_DIR) + NAME_MAX_ + 16] ;
  char tmp[sizeof(STSCACHE_DIR) + NAME_MAX_ + 16 + PID_FMT] ;
  char pid[PID_FMT + 2] ;
  char num1[UINT64_FMT], num2[UINT64_FMT] ;
  stspolicy pol ;
  char const *why ;
  unsigned int ln ;
  int fd, e ;
  if (!stspolicy_parse(text, len, &pol, &why, &ln)) return 0 ;
  pid[0] = '.' ;
  pid[1 + pid_fmt(pid + 1, getpid())] = 0 ;
  if (!path(fn, STSCACHE_DIR, domain, "", "") || !path(tmp, STSCACHE_DIR, domain, ".", pid)) return 0 ;
  num1[uint64_fmt(num1, fetched)] = 0 ;
  num2[uint64_fmt(num2, pol.max_age)] = 0 ;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) ;
  /* an old spool, made before the cache was: the directory is made here (the spool is ours) */
  if (fd < 0 && errno == ENOENT && (mkdir(STSCACHE_DIR, 0700) == 0 || errno == EEXIST))
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) ;
  if (fd < 0) return 0 ;
  if (allwrite(fd, MAGIC, sizeof(MAGIC) - 1) != sizeof(MAGIC) - 1
   || allwrite(fd, "id ", 3) != 3 || allwrite(fd, id, strlen(id)) != strlen(id)
   || allwrite(fd, "\nfetched ", 9) != 9 || allwrite(fd, num1, strlen(num1)) != strlen(num1)
   || allwrite(fd, "\nmax_age ", 9) != 9 || allwrite(fd, num2, strlen(num2)) != strlen(num2)
   || allwrite(fd, "\n\n", 2) != 2 || allwrite(fd, text, len) != len
   || fsync(fd) < 0) goto err ;
  fd_close(fd) ;
  if (rename(tmp, fn) < 0) { e = errno ; unlink(tmp) ; errno = e ; return 0 ; }
  return 1 ;
 err:
  e = errno ;
  fd_close(fd) ;
  unlink(tmp) ;
  errno = e ;
  return 0 ;
}

/* the id of the one STSv1 record among the TXT records (§3.1: not exactly one, no record); 1, 0, or -1 (DNS failure) */
static int txt_id (char const *domain, char *id)
{
  stralloc name = STRALLOC_ZERO, txt = STRALLOC_ZERO ;
  size_t i = 0, n = 0, ids = 0, idl = 0, at ;
  char const *why ;
  int r ;
  if (!stralloc_cats(&name, "_mta-sts.") || !stralloc_cats(&name, domain) || !stralloc_0(&name)) return -2 ;
  r = dns_txt_lookup(name.s, &txt) ;
  stralloc_free(&name) ;
  if (r == DNS_TEMP) { stralloc_free(&txt) ; return errno == ENOMEM ? -2 : -1 ; }
  r = 0 ;
  while (i < txt.len)
  {
    size_t l = strlen(txt.s + i) ;
    if (ststxt_is_sts(txt.s + i, l))
    {
      n++ ;
      if (ststxt_sts_parse(txt.s + i, l, &ids, &idl, &at, &why)) { memcpy(id, txt.s + i + ids, idl) ; id[idl] = 0 ; r = 1 ; }
      else r = 0 ;
    }
    i += l + 1 ;
  }
  stralloc_free(&txt) ;
  return n == 1 ? r : 0 ;
}

int stscache_get (char const *domain, uint16_t port, tlsclient_anchors const *a, uint64_t now, tain const *deadline, stscache *c)
{
  char id[33] ;
  int cached = stscache_read(domain, c) && stscache_fresh(c, now) ;
  int t = txt_id(domain, id) ;
  c->fetchfail = 0 ;
  if (t == -2) return -1 ;
  if (t <= 0)
  {
    /* §5.1: no (valid) record now: an unexpired cached policy still holds */
    c->source = cached ? "cache" : t < 0 ? "the _mta-sts TXT lookup failed" : "no _mta-sts TXT record" ;
    return cached ;
  }
  if (cached && !strcmp(id, c->id)) { c->source = "cache" ; return 1 ; }
  {
    stralloc host = STRALLOC_ZERO, body = STRALLOC_ZERO ;
    genalloc ips = GENALLOC_ZERO ;
    char const *why = "no address for mta-sts host" ;
    int ok = 0, r ;
    size_t i, n ;
    if (!stralloc_cats(&host, "mta-sts.") || !stralloc_cats(&host, domain) || !stralloc_0(&host)) return -1 ;
    r = dns_ip_lookup(host.s, &ips) ;
    n = r == DNS_OK ? genalloc_len(dns_ip, &ips) : 0 ;
    for (i = 0 ; i < n && !ok ; i++)
    {
      dns_ip const *d = genalloc_s(dns_ip, &ips) + i ;
      ip46 ip ;
      if (d->is6) ip46_from_ip6(&ip, d->ip) ; else ip46_from_ip4(&ip, d->ip) ;
      body.len = 0 ;
      ok = httpsget(&ip, port, host.s, "/.well-known/mta-sts.txt", a, STSCACHE_BODY_MAX, deadline, &body, &why) ;
      if (!ok && errno == ENOMEM) break ;
      if (ok)
      {
        unsigned int ln ;
        stspolicy pol ;
        char const *pwhy ;
        if (!stspolicy_parse(body.s, body.len, &pol, &pwhy, &ln)) { ok = 0 ; why = pwhy ; break ; }
        c->pol = pol ;
      }
    }
    genalloc_free(dns_ip, &ips) ;
    stralloc_free(&host) ;
    if (!ok)
    {
      stralloc_free(&body) ;
      c->fetchfail = why ;
      c->source = cached ? "cache" : "the policy fetch failed" ;
      /* the cache read may have failed on a stale file: its policy must not be used then */
      return cached ;
    }
    /* the fetched policy replaces whatever was read: its text first in sa */
    c->sa.len = 0 ;
    if (!stralloc_catb(&c->sa, body.s, body.len)) { stralloc_free(&body) ; return -1 ; }
    stralloc_free(&body) ;
    c->text = 0 ;
    c->textlen = c->sa.len ;
    memcpy(c->id, id, strlen(id) + 1) ;
    c->fetched = now ;
    c->source = "fetched" ;
    /* a cache that cannot be written costs a fetch next time, never the delivery */
    stscache_write(domain, id, now, c->sa.s, c->sa.len) ;
    return 1 ;
  }
}

void stscache_free (stscache *c)
{
  stralloc_free(&c->sa) ;
}
