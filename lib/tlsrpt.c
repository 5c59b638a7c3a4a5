/* ISC license: see LICENSE. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include <bearssl.h>

#include "smtpsess.h"
#include "tlsrpt.h"

char const *const tlsrpt_policy_names[TLSRPT_P_N] = { "tlsa", "sts", "no-policy-found" } ;

char const *const tlsrpt_result_names[TLSRPT_R_N] =
{
  "success",
  "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
  "certificate-not-trusted", "validation-failure",
  "tlsa-invalid", "dnssec-invalid", "dane-required",
  "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid"
} ;

/*
 * The handshake's failures as RFC 8460 §4.3.2.1 names them. BearSSL's
 * X.509 errors say what the chain check found, lib/daneverify's too (a
 * certificate that no TLSA record matches is BR_ERR_X509_NOT_TRUSTED:
 * not trusted by the domain's DANE anchors; a DANE-TA chain to a host
 * it does not name is BR_ERR_X509_BAD_SERVER_NAME). Anything else (a
 * protocol error, no common cipher, the connection cut) is the RFC's
 * catch-all, validation-failure.
 */
static struct { int err ; unsigned int result ; } const handshake_results[] =
{
  { BR_ERR_X509_BAD_SERVER_NAME, TLSRPT_CERT_HOST_MISMATCH },
  { BR_ERR_X509_EXPIRED, TLSRPT_CERT_EXPIRED },
  { BR_ERR_X509_NOT_TRUSTED, TLSRPT_CERT_NOT_TRUSTED },
  { BR_ERR_X509_EMPTY_CHAIN, TLSRPT_CERT_NOT_TRUSTED },
} ;

int tlsrpt_classify (unsigned int tlsneg, int tlserr)
{
  unsigned int i = 0 ;
  switch (tlsneg)
  {
    case SMTPSESS_TLS_OK : return TLSRPT_SUCCESS ;
    /* §4.3.2.1: "the recipient MX did not support STARTTLS": not offered, or refused */
    case SMTPSESS_TLS_NOTOFFERED :
    case SMTPSESS_TLS_REFUSED : return TLSRPT_STARTTLS_NOT_SUPPORTED ;
    case SMTPSESS_TLS_HANDSHAKE :
      for (; i < sizeof(handshake_results) / sizeof(handshake_results[0]) ; i++)
        if (handshake_results[i].err == tlserr) return (int)handshake_results[i].result ;
      return TLSRPT_VALIDATION_FAILURE ;
    default : return -1 ;
  }
}

void tlsrpt_period (uint64_t now, unsigned int period, uint64_t *start, uint64_t *end)
{
  if (!period) period = 86400 ;
  *start = now - now % period ;
  *end = *start + period ;
}

static char const hex[] = "0123456789ABCDEF" ;

/* a field, percent-encoded: nothing in it can end the field or the line */
static int put (stralloc *sa, char const *s)
{
  for (; *s ; s++)
  {
    unsigned char c = *s ;
    if (c < 0x21 || c > 0x7e || c == '%')
    {
      char e[3] = { '%', hex[c >> 4], hex[c & 15] } ;
      if (!stralloc_catb(sa, e, 3)) return 0 ;
    }
    else if (!stralloc_catb(sa, s, 1)) return 0 ;
  }
  return 1 ;
}

int tlsrpt_line (stralloc *sa, tlsrpt_rec const *r)
{
  size_t base ;
  unsigned int i = 0 ;
  if (r->policy >= TLSRPT_P_N || r->result >= TLSRPT_R_N) return (errno = EINVAL, 0) ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, "v1\t") || !stralloc_cats(sa, tlsrpt_policy_names[r->policy]) || !stralloc_catb(sa, "\t", 1)
   || !stralloc_cats(sa, tlsrpt_result_names[r->result]) || !stralloc_catb(sa, "\t", 1)
   || !put(sa, r->sendip) || !stralloc_catb(sa, "\t", 1) || !put(sa, r->recvip) || !stralloc_catb(sa, "\t", 1)
   || !put(sa, r->mx)) return 0 ;
  base = sa->len ;
  for (; i < r->nstrings && i < TLSRPT_STRINGS_MAX ; i++)
    if (!stralloc_catb(sa, "\t", 1) || !put(sa, r->strings[i])) return 0 ;
  /* one write of at most PIPE_BUF: the strings go before the result does */
  if (sa->len + 1 > TLSRPT_LINE_MAX) sa->len = base ;
  if (sa->len + 1 > TLSRPT_LINE_MAX) return (errno = EMSGSIZE, 0) ;
  return stralloc_catb(sa, "\n", 1) ;
}

/* a policy domain as a file name: not empty, no '/', not "." or a hidden name */
static int domain_ok (char const *d)
{
  size_t n = strlen(d) ;
  return n && n <= 255 && d[0] != '.' && !memchr(d, '/', n) ;
}

int tlsrpt_record (char const *spool, char const *domain, unsigned int period, uint64_t now, tlsrpt_rec const *r)
{
  stralloc line = STRALLOC_ZERO, path = STRALLOC_ZERO ;
  char fmt[UINT64_FMT] ;
  uint64_t start, end ;
  int fd, ok = 0 ;
  if (!domain_ok(domain)) return (errno = EINVAL, 0) ;
  tlsrpt_period(now, period, &start, &end) ;
  if (!tlsrpt_line(&line, r)) goto err ;
  if (!stralloc_cats(&path, spool) || !stralloc_cats(&path, "/tlsrpt/")
   || !stralloc_catb(&path, fmt, uint64_fmt(fmt, start)) || !stralloc_catb(&path, "-", 1)
   || !stralloc_catb(&path, fmt, uint64_fmt(fmt, end)) || !stralloc_0(&path)) goto err ;
  /* the first result of a period makes its directory; the others find it */
  if (mkdir(path.s, 0700) < 0 && errno != EEXIST) goto err ;
  path.s[path.len - 1] = '/' ;
  if (!stralloc_cats(&path, domain) || !stralloc_0(&path)) goto err ;
  fd = open(path.s, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) ;
  if (fd < 0) goto err ;
  /* O_APPEND and one write: whole lines, whatever the other remote-sends write */
  ok = fd_write(fd, line.s, line.len) == (ssize_t)line.len ;
  if (!ok && errno == 0) errno = EIO ;
  fd_close(fd) ;
 err:
  stralloc_free(&line) ;
  stralloc_free(&path) ;
  return ok ;
}

static int unhex (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1 ;
}

/* one field of s (up to a TAB or the end), decoded into sa with its NUL: the next field's offset, or 0 */
static size_t field (char const *s, size_t len, size_t i, stralloc *sa)
{
  for (; i < len && s[i] != '\t' ; i++)
  {
    char c = s[i] ;
    if ((unsigned char)c < 0x21 || (unsigned char)c > 0x7e) return 0 ;
    if (c == '%')
    {
      int h, l ;
      if (i + 2 >= len) return 0 ;
      h = unhex(s[i+1]) ; l = unhex(s[i+2]) ;
      if (h < 0 || l < 0 || !(h | l)) return 0 ;
      c = (char)(h << 4 | l) ;
      i += 2 ;
    }
    if (!stralloc_catb(sa, &c, 1)) return 0 ;
  }
  if (!stralloc_0(sa)) return 0 ;
  return i + 1 ;
}

static unsigned int word (char const *s, char const *const *names, unsigned int n)
{
  unsigned int i = 0 ;
  for (; i < n && strcmp(s, names[i]) ; i++) ;
  return i ;
}

int tlsrpt_parse (char const *s, size_t len, tlsrpt_rec *r, stralloc *sa)
{
  size_t off[5 + TLSRPT_STRINGS_MAX] ;
  size_t i = 3 ;
  unsigned int n = 0, k ;
  sa->len = 0 ;
  if (len < 3 || len >= TLSRPT_LINE_MAX || memcmp(s, "v1\t", 3)) return (errno = EINVAL, 0) ;
  /* type, result, three strings, then the policy strings: every field decoded, offsets kept (sa may move) */
  while (i <= len && n < 5 + TLSRPT_STRINGS_MAX)
  {
    off[n++] = sa->len ;
    i = field(s, len, i, sa) ;
    if (!i) return (errno = EINVAL, 0) ;
  }
  if (i <= len || n < 5) return (errno = EINVAL, 0) ;
  r->policy = word(sa->s + off[0], tlsrpt_policy_names, TLSRPT_P_N) ;
  r->result = word(sa->s + off[1], tlsrpt_result_names, TLSRPT_R_N) ;
  if (r->policy >= TLSRPT_P_N || r->result >= TLSRPT_R_N) return (errno = EINVAL, 0) ;
  r->sendip = sa->s + off[2] ;
  r->recvip = sa->s + off[3] ;
  r->mx = sa->s + off[4] ;
  r->nstrings = n - 5 ;
  for (k = 0 ; k < r->nstrings ; k++) r->strings[k] = sa->s + off[5 + k] ;
  return 1 ;
}

int tlsrpt_period_scan (char const *s, uint64_t *start, uint64_t *end)
{
  size_t i = uint64_scan(s, start) ;
  size_t j ;
  if (!i || s[i] != '-') return 0 ;
  j = uint64_scan(s + i + 1, end) ;
  return j && !s[i + 1 + j] && *end > *start ;
}
