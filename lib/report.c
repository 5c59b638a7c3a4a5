/* ISC license: see LICENSE. */

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include "report.h"
#include "netstr.h"
#include "text.h"

#define S(x) x, sizeof(x) - 1

static char const *const names[3] = { "ok", "temp", "perm" } ;

char const *report_kind_name (unsigned int kind)
{
  return kind < 3 ? names[kind] : "?" ;
}

/* the line after its job index */
static int report_put (stralloc *sa, unsigned int kind, unsigned int index, char const *text, size_t len)
{
  char fmt[UINT_FMT] ;
  if (kind > 2) kind = KETCH_RESULT_TEMP ;
  /* one line per recipient: no control character may split or garble it */
  return stralloc_cats(sa, names[kind]) && stralloc_catb(sa, " ", 1)
   && stralloc_catb(sa, fmt, uint_fmt(fmt, index)) && stralloc_catb(sa, " ", 1)
   && text_printable_cat(sa, text, len) && stralloc_catb(sa, "\n", 1) ;
}

static int report_parse (char const *s, unsigned int *index, char const **text)
{
  int kind = -1 ;
  size_t skip = 0, m ;
  if (!strncmp(s, "ok ", 3)) { kind = KETCH_RESULT_OK ; skip = 3 ; }
  else if (!strncmp(s, "temp ", 5)) { kind = KETCH_RESULT_TEMP ; skip = 5 ; }
  else if (!strncmp(s, "perm ", 5)) { kind = KETCH_RESULT_PERM ; skip = 5 ; }
  if (kind < 0) return -1 ;
  m = uint_scan(s + skip, index) ;
  /* uint_scan stops before a digit that would overflow: that digit is junk too */
  if (!m || (s[skip + m] && s[skip + m] != ' ')) return -1 ;
  s += skip + m ;
  if (*s == ' ') s++ ;
  *text = s ;
  return kind ;
}

/* the prefixes of local-deliver's diagnostics that the scheduler's log does not need */
static struct { char const *s ; size_t len ; } const local_prefixes[] =
{
  { S("local-deliver: fatal: ") },
  { S("local-deliver: info: ") },
} ;

size_t report_local_text (char const *out, size_t len, char const **text)
{
  size_t end = len, start, i = 0 ;
  char const *s ;
  while (end && out[end-1] == '\n') end-- ;
  start = byte_rchr(out, end, '\n') ;
  start = start < end ? start + 1 : 0 ;
  s = out + start ;
  len = end - start ;
  for (; i < sizeof(local_prefixes) / sizeof(local_prefixes[0]) ; i++)
    if (len > local_prefixes[i].len && !memcmp(s, local_prefixes[i].s, local_prefixes[i].len))
    {
      s += local_prefixes[i].len ; len -= local_prefixes[i].len ;
      break ;
    }
  *text = s ;
  return len ;
}

int report_job_put (stralloc *sa, char const *id, size_t hdrlen, char const *flags, char const *sender, char const *const *rcpts, unsigned int n)
{
  char fmt[SIZE_FMT] ;
  size_t start = sa->len ;
  unsigned int i = 0 ;
  fmt[size_fmt(fmt, hdrlen)] = 0 ;
  if (!netstr_field(sa, id) || !netstr_field(sa, fmt) || !netstr_field(sa, flags) || !netstr_field(sa, sender)) goto err ;
  for (; i < n ; i++) if (!netstr_field(sa, rcpts[i])) goto err ;
  if (netstr_seal(sa, start, REPORT_JOB_MAX)) return 1 ;
  if (errno == E2BIG) errno = EINVAL ;
  return 0 ;
 err:
  sa->len = start ;
  return 0 ;
}

int report_job_next (char const *s, size_t n, size_t *start, size_t *len, size_t *used)
{
  return netstr_next(s, n, REPORT_JOB_MAX, start, len, used) ;
}

unsigned int report_job_fields (char const *s, size_t len, genalloc *ga)
{
  size_t n ;
  genalloc_setlen(char const *, ga, 0) ;
  if (!len || s[len - 1]) return 0 ;
  n = netstr_fields(s, len, 0, len) ;
  if (n > UINT_MAX || !genalloc_ready(char const *, ga, n)) return 0 ;
  netstr_fields(s, len, genalloc_s(char const *, ga), n) ;
  genalloc_setlen(char const *, ga, n) ;
  return n ;
}

int report_put_job (stralloc *sa, unsigned int job, unsigned int kind, unsigned int index, char const *text, size_t len)
{
  char fmt[UINT_FMT] ;
  size_t start = sa->len ;
  if (!stralloc_catb(sa, fmt, uint_fmt(fmt, job)) || !stralloc_catb(sa, " ", 1) || !report_put(sa, kind, index, text, len))
  {
    sa->len = start ;
    return 0 ;
  }
  return 1 ;
}

int report_parse_job (char const *s, unsigned int *job, unsigned int *index, char const **text)
{
  size_t m = uint_scan(s, job) ;
  if (!m || s[m] != ' ') return -1 ;
  return report_parse(s + m + 1, index, text) ;
}
