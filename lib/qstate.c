/* ISC license: see LICENSE. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/allreadwrite.h>

#include "queue.h"
#include "qstate.h"
#include "text.h"

static char const *const names[QSTATE_NSTATUS] =
{
  "pending", "deferred", "delivered", "failed", "bounced", "expanded"
} ;

char const *qstate_status_name (unsigned int s)
{
  return s < QSTATE_NSTATUS ? names[s] : "unknown" ;
}

static int addstr (qstate *q, char const *s, size_t len, size_t *off)
{
  *off = q->sa.len ;
  return stralloc_catb(&q->sa, s, len) && stralloc_0(&q->sa) ;
}

static int reset (qstate *q)
{
  q->sa.len = 0 ;
  q->flags = 0 ;
  q->stored = 0 ;
  genalloc_setlen(qstate_rcpt, &q->rcpt, 0) ;
  return stralloc_0(&q->sa) ;
}

int qstate_add_rcpt (qstate *q, char const *addr, char const *orig)
{
  qstate_rcpt r = { .status = QSTATE_PENDING, .attempts = 0, .next = 0, .orig = 0, .result = 0 } ;
  if (!addstr(q, addr, strlen(addr), &r.addr)) return 0 ;
  if (orig && !addstr(q, orig, strlen(orig), &r.orig)) return 0 ;
  return genalloc_append(qstate_rcpt, &q->rcpt, &r) ;
}

int qstate_from_envelope (qstate *q, envelope const *e)
{
  size_t n = envelope_nrcpt(e), i = 0 ;
  if (!reset(q)) return 0 ;
  /* held at entry (a quarantine): held from the first scan, until a release writes a state file */
  if (e->flags & ENVELOPE_F_HOLD) q->flags |= QSTATE_F_HOLD ;
  for (; i < n ; i++) if (!qstate_add_rcpt(q, envelope_rcpt(e, i), 0)) return 0 ;
  return 1 ;
}

/* results come from remote servers: keep them on one line and one field */
int qstate_set_result (qstate *q, size_t i, char const *s, size_t len)
{
  size_t off = q->sa.len ;
  if (len > 512) len = 512 ;
  /* one allocation at most: the appends after it fit */
  if (!stralloc_readyplus(&q->sa, len + 1)
   || !(len ? text_printable_cat(&q->sa, s, len) : stralloc_catb(&q->sa, "-", 1)) || !stralloc_0(&q->sa)) { q->sa.len = off ; return 0 ; }
  qstate_get(q, i)->result = off ;
  return 1 ;
}

int qstate_encode (qstate const *q, stralloc *out)
{
  size_t n = qstate_n(q), i = 0 ;
  char fmt[UINT64_FMT] ;
  if (!stralloc_cats(out, "ketch-state 1\t")) return 0 ;
  if (!q->flags) { if (!stralloc_catb(out, "-", 1)) return 0 ; }
  else
  {
    int comma = 0 ;
    if (q->flags & QSTATE_F_HOLD) { if (!stralloc_cats(out, "hold")) return 0 ; comma = 1 ; }
    if (q->flags & QSTATE_F_WARNED && !stralloc_cats(out, comma ? ",warned" : "warned")) return 0 ;
  }
  if (!stralloc_catb(out, "\n", 1)) return 0 ;
  for (; i < n ; i++)
  {
    qstate_rcpt const *r = genalloc_s(qstate_rcpt, &q->rcpt) + i ;
    if (!stralloc_cats(out, qstate_status_name(r->status)) || !stralloc_catb(out, "\t", 1)) return 0 ;
    if (!stralloc_catb(out, fmt, uint_fmt(fmt, r->attempts)) || !stralloc_catb(out, "\t", 1)) return 0 ;
    if (!stralloc_catb(out, fmt, uint64_fmt(fmt, r->next)) || !stralloc_catb(out, "\t", 1)) return 0 ;
    if (!stralloc_cats(out, q->sa.s + r->addr) || !stralloc_catb(out, "\t", 1)) return 0 ;
    if (!stralloc_cats(out, r->orig ? q->sa.s + r->orig : "-") || !stralloc_catb(out, "\t", 1)) return 0 ;
    if (!stralloc_cats(out, r->result ? q->sa.s + r->result : "-") || !stralloc_catb(out, "\n", 1)) return 0 ;
  }
  return 1 ;
}

static int field (char const **s, char const *end, char const **f, size_t *len, int last)
{
  char const *p = *s ;
  char const *t = memchr(p, last ? '\n' : '\t', end - p) ;
  if (!t) return 0 ;
  if (!last && memchr(p, '\n', t - p)) return 0 ;
  *f = p ; *len = t - p ; *s = t + 1 ;
  return 1 ;
}

static int scan_u64 (char const *s, size_t len, uint64_t *u)
{
  char buf[UINT64_FMT + 1] ;
  if (!len || len > UINT64_FMT) return 0 ;
  memcpy(buf, s, len) ; buf[len] = 0 ;
  return uint640_scan(buf, u) ;
}

/* strict and total: anything unexpected is EINVAL */
int qstate_decode (qstate *q, char const *s, size_t len)
{
  char const *end = s + len, *f ;
  size_t flen ;
  if (!reset(q)) return 0 ;
  if (len < 14 || memcmp(s, "ketch-state 1\t", 14)) return (errno = EINVAL, 0) ;
  s += 14 ;
  if (!field(&s, end, &f, &flen, 1)) return (errno = EINVAL, 0) ;
  if (!(flen == 1 && f[0] == '-'))
  {
    size_t i = 0 ;
    while (i < flen)
    {
      size_t j = i ;
      while (j < flen && f[j] != ',') j++ ;
      if (j - i == 4 && !memcmp(f + i, "hold", 4)) q->flags |= QSTATE_F_HOLD ;
      else if (j - i == 6 && !memcmp(f + i, "warned", 6)) q->flags |= QSTATE_F_WARNED ;
      else return (errno = EINVAL, 0) ;
      i = j + 1 ;
    }
  }
  while (s < end)
  {
    qstate_rcpt r ;
    uint64_t u ;
    unsigned int k = 0 ;
    if (!field(&s, end, &f, &flen, 0)) return (errno = EINVAL, 0) ;
    for (; k < QSTATE_NSTATUS ; k++) if (strlen(names[k]) == flen && !memcmp(f, names[k], flen)) break ;
    if (k == QSTATE_NSTATUS) return (errno = EINVAL, 0) ;
    r.status = k ;
    if (!field(&s, end, &f, &flen, 0) || !scan_u64(f, flen, &u) || u > UINT32_MAX) return (errno = EINVAL, 0) ;
    r.attempts = u ;
    if (!field(&s, end, &f, &flen, 0) || !scan_u64(f, flen, &r.next)) return (errno = EINVAL, 0) ;
    if (!field(&s, end, &f, &flen, 0) || !flen || byte_chr(f, flen, 0) < flen || !addstr(q, f, flen, &r.addr)) return (errno = EINVAL, 0) ;
    if (!field(&s, end, &f, &flen, 0) || !flen || byte_chr(f, flen, 0) < flen) return (errno = EINVAL, 0) ;
    r.orig = 0 ;
    if (!(flen == 1 && f[0] == '-') && !addstr(q, f, flen, &r.orig)) return 0 ;
    if (!field(&s, end, &f, &flen, 1) || !flen || byte_chr(f, flen, 0) < flen) return (errno = EINVAL, 0) ;
    r.result = 0 ;
    if (!(flen == 1 && f[0] == '-') && !addstr(q, f, flen, &r.result)) return 0 ;
    if (!genalloc_append(qstate_rcpt, &q->rcpt, &r)) return 0 ;
  }
  if (!qstate_n(q)) return (errno = EINVAL, 0) ;
  return 1 ;
}

/*
 * The state of message id: its state file if there is one, else the
 * initial state built from its envelope. Returns 0 with errno on error
 * (EINVAL: a corrupt state file).
 */
int qstate_read (qstate *q, char const *id, envelope const *e)
{
  char fn[QUEUE_PATH_MAX] ;
  stralloc sa = STRALLOC_ZERO ;
  int r ;
  queue_path(fn, "state", id) ;
  if (!openslurpclose(&sa, fn))
  {
    if (errno != ENOENT) return 0 ;
    return qstate_from_envelope(q, e) ;
  }
  r = qstate_decode(q, sa.s, sa.len) ;
  q->stored = 1 ;
  stralloc_free(&sa) ;
  return r ;
}

/* write, fsync, rename over, fsync the directory: the state changes atomically */
int qstate_write (qstate *q, char const *id)
{
  char tmp[QUEUE_PATH_MAX + 2] ;
  char fn[QUEUE_PATH_MAX] ;
  stralloc sa = STRALLOC_ZERO ;
  int fd ;
  q->stored = 1 ;
  memcpy(tmp, "tmp/s.", 6) ;
  memcpy(tmp + 6, id, QUEUE_ID_LEN + 1) ;
  queue_path(fn, "state", id) ;
  if (!qstate_encode(q, &sa)) return 0 ;
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) ;
  if (fd < 0) goto err ;
  if (allwrite(fd, sa.s, sa.len) < sa.len || fsync(fd) < 0) { fd_close(fd) ; goto errunlink ; }
  fd_close(fd) ;
  if (!queue_rename_into(tmp, fn)) goto errunlink ;
  fn[8] = 0 ;
  if (!queue_dir_sync(fn)) goto err ;
  stralloc_free(&sa) ;
  return 1 ;
 errunlink:
  {
    int e = errno ;
    unlink(tmp) ;
    errno = e ;
  }
 err:
  {
    int e = errno ;
    stralloc_free(&sa) ;
    errno = e ;
  }
  return 0 ;
}

void qstate_free (qstate *q)
{
  stralloc_free(&q->sa) ;
  genalloc_free(qstate_rcpt, &q->rcpt) ;
}
