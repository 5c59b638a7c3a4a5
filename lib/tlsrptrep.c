/* ISC license: see LICENSE. */

#include <string.h>
#include <time.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "base64.h"
#include "bounce.h"
#include "tlsrpt.h"
#include "tlsrptrep.h"

#define cats(sa, s) stralloc_cats(sa, s)

static int addstr (stralloc *sa, char const *s, size_t *off)
{
  *off = sa->len ;
  return stralloc_catb(sa, s, strlen(s) + 1) ;
}

/* the policy of r: found, made, or 0 (no room: dropped; or ENOMEM with *nomem) */
static tlsrptrep_policy *policy (tlsrptrep *t, tlsrpt_rec const *r, int *nomem)
{
  size_t n = genalloc_len(tlsrptrep_policy, &t->policies), i = 0, base = t->sa.len, len ;
  unsigned int k = 0 ;
  tlsrptrep_policy p = { .type = r->policy, .strings = base, .stringslen = 0, .nstrings = r->nstrings, .ok = 0, .failed = 0, .details = GENALLOC_ZERO } ;
  *nomem = 0 ;
  /* the strings end to end, as the key */
  for (; k < r->nstrings ; k++)
    if (!stralloc_catb(&t->sa, r->strings[k], strlen(r->strings[k]) + 1)) { *nomem = 1 ; return 0 ; }
  len = t->sa.len - base ;
  for (; i < n ; i++)
  {
    tlsrptrep_policy *q = genalloc_s(tlsrptrep_policy, &t->policies) + i ;
    if (q->type == p.type && q->nstrings == p.nstrings && q->stringslen == len && (!len || !memcmp(t->sa.s + q->strings, t->sa.s + base, len)))
    {
      t->sa.len = base ;
      return q ;
    }
  }
  if (n >= TLSRPTREP_POLICIES_MAX) { t->sa.len = base ; return 0 ; }
  p.stringslen = len ;
  if (!genalloc_append(tlsrptrep_policy, &t->policies, &p)) { *nomem = 1 ; return 0 ; }
  return genalloc_s(tlsrptrep_policy, &t->policies) + n ;
}

int tlsrptrep_add (tlsrptrep *t, tlsrpt_rec const *r)
{
  int nomem ;
  tlsrptrep_policy *p = policy(t, r, &nomem) ;
  size_t n, i = 0 ;
  tlsrptrep_detail d = { .result = r->result, .count = 1 } ;
  if (!p) { if (nomem) return 0 ; t->dropped++ ; return 1 ; }
  if (r->result == TLSRPT_SUCCESS) { p->ok++ ; return 1 ; }
  p->failed++ ;
  n = genalloc_len(tlsrptrep_detail, &p->details) ;
  for (; i < n ; i++)
  {
    tlsrptrep_detail *e = genalloc_s(tlsrptrep_detail, &p->details) + i ;
    if (e->result == r->result && !strcmp(t->sa.s + e->sendip, r->sendip) && !strcmp(t->sa.s + e->recvip, r->recvip) && !strcmp(t->sa.s + e->mx, r->mx))
    {
      e->count++ ;
      return 1 ;
    }
  }
  /* counted in the summary, not detailed */
  if (n >= TLSRPTREP_DETAILS_MAX) return 1 ;
  return addstr(&t->sa, r->sendip, &d.sendip) && addstr(&t->sa, r->recvip, &d.recvip) && addstr(&t->sa, r->mx, &d.mx)
    && genalloc_append(tlsrptrep_detail, &p->details, &d) ;
}

void tlsrptrep_free (tlsrptrep *t)
{
  size_t n = genalloc_len(tlsrptrep_policy, &t->policies), i = 0 ;
  for (; i < n ; i++) genalloc_free(tlsrptrep_detail, &genalloc_s(tlsrptrep_policy, &t->policies)[i].details) ;
  genalloc_free(tlsrptrep_policy, &t->policies) ;
  stralloc_free(&t->sa) ;
}

/* RFC 8259 §7: '"', '\\' and the control characters escaped; bytes above 0x7e too, so the text is valid whatever the records held */
int tlsrptrep_jstring (stralloc *sa, char const *s)
{
  static char const hex[] = "0123456789abcdef" ;
  if (!stralloc_catb(sa, "\"", 1)) return 0 ;
  for (; *s ; s++)
  {
    unsigned char c = *s ;
    if (c == '"' || c == '\\') { char e[2] = { '\\', (char)c } ; if (!stralloc_catb(sa, e, 2)) return 0 ; }
    else if (c < 0x20 || c > 0x7e) { char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] } ; if (!stralloc_catb(sa, e, 6)) return 0 ; }
    else if (!stralloc_catb(sa, s, 1)) return 0 ;
  }
  return stralloc_catb(sa, "\"", 1) ;
}

static int jnum (stralloc *sa, uint64_t u)
{
  char fmt[UINT64_FMT] ;
  return stralloc_catb(sa, fmt, uint64_fmt(fmt, u)) ;
}

/* RFC 3339 date-time, UTC */
static int jdate (stralloc *sa, uint64_t t)
{
  time_t tt = (time_t)t ;
  struct tm tm ;
  char buf[32] ;
  size_t n ;
  if (!gmtime_r(&tt, &tm)) return 0 ;
  n = strftime(buf, sizeof buf, "\"%Y-%m-%dT%H:%M:%SZ\"", &tm) ;
  return n && stralloc_catb(sa, buf, n) ;
}

/* "name": */
static int jkey (stralloc *sa, char const *name)
{
  return tlsrptrep_jstring(sa, name) && stralloc_catb(sa, ": ", 2) ;
}

static int jpolicy (stralloc *sa, tlsrptrep const *t, tlsrptrep_policy const *p, char const *domain)
{
  size_t n = genalloc_len(tlsrptrep_detail, &p->details), i = 0, off = p->strings ;
  unsigned int k = 0 ;
  if (!cats(sa, "{\n   \"policy\": {\n    ") || !jkey(sa, "policy-type") || !tlsrptrep_jstring(sa, tlsrpt_policy_names[p->type])) return 0 ;
  if (p->nstrings)
  {
    if (!cats(sa, ",\n    ") || !jkey(sa, "policy-string") || !cats(sa, "[")) return 0 ;
    for (; k < p->nstrings ; k++)
    {
      if ((k && !cats(sa, ", ")) || !tlsrptrep_jstring(sa, t->sa.s + off)) return 0 ;
      off += strlen(t->sa.s + off) + 1 ;
    }
    if (!cats(sa, "]")) return 0 ;
  }
  if (!cats(sa, ",\n    ") || !jkey(sa, "policy-domain") || !tlsrptrep_jstring(sa, domain)
   || !cats(sa, "\n   },\n   \"summary\": {\n    ") || !jkey(sa, "total-successful-session-count") || !jnum(sa, p->ok)
   || !cats(sa, ",\n    ") || !jkey(sa, "total-failure-session-count") || !jnum(sa, p->failed) || !cats(sa, "\n   }")) return 0 ;
  if (n && !cats(sa, ",\n   \"failure-details\": [")) return 0 ;
  for (; i < n ; i++)
  {
    tlsrptrep_detail const *d = genalloc_s(tlsrptrep_detail, &p->details) + i ;
    if (!cats(sa, i ? ",\n    {" : "\n    {") || !jkey(sa, "result-type") || !tlsrptrep_jstring(sa, tlsrpt_result_names[d->result])) return 0 ;
    /* §4.4: the addresses and the host are optional: left out when unknown */
    if (t->sa.s[d->sendip] && (!cats(sa, ", ") || !jkey(sa, "sending-mta-ip") || !tlsrptrep_jstring(sa, t->sa.s + d->sendip))) return 0 ;
    if (t->sa.s[d->recvip] && (!cats(sa, ", ") || !jkey(sa, "receiving-ip") || !tlsrptrep_jstring(sa, t->sa.s + d->recvip))) return 0 ;
    if (t->sa.s[d->mx] && (!cats(sa, ", ") || !jkey(sa, "receiving-mx-hostname") || !tlsrptrep_jstring(sa, t->sa.s + d->mx))) return 0 ;
    if (!cats(sa, ", ") || !jkey(sa, "failed-session-count") || !jnum(sa, d->count) || !cats(sa, "}")) return 0 ;
  }
  if (n && !cats(sa, "\n   ]")) return 0 ;
  return cats(sa, "\n  }") ;
}

int tlsrptrep_json (stralloc *sa, tlsrptrep const *t, tlsrptrep_meta const *m)
{
  size_t n = genalloc_len(tlsrptrep_policy, &t->policies), i = 0 ;
  if (!cats(sa, "{\n \"organization-name\": ") || !tlsrptrep_jstring(sa, m->submitter)
   || !cats(sa, ",\n \"date-range\": {\n  \"start-datetime\": ") || !jdate(sa, m->start)
   /* §4.4's example ends the day at 23:59:59Z: the last second in the period */
   || !cats(sa, ",\n  \"end-datetime\": ") || !jdate(sa, m->end - 1)
   || !cats(sa, "\n },\n \"contact-info\": ")) return 0 ;
  /* §4.4: an address the domain can write to about the report */
  {
    stralloc c = STRALLOC_ZERO ;
    int ok = cats(&c, "postmaster@") && cats(&c, m->submitter) && stralloc_0(&c) && tlsrptrep_jstring(sa, c.s) ;
    stralloc_free(&c) ;
    if (!ok) return 0 ;
  }
  if (!cats(sa, ",\n \"report-id\": ") || !tlsrptrep_jstring(sa, m->id) || !cats(sa, ",\n \"policies\": [")) return 0 ;
  for (; i < n ; i++)
    if (!cats(sa, i ? ", " : "") || !jpolicy(sa, t, genalloc_s(tlsrptrep_policy, &t->policies) + i, m->domain)) return 0 ;
  return cats(sa, "]\n}\n") ;
}

uint32_t tlsrptrep_crc32 (uint32_t crc, char const *s, size_t len)
{
  crc = ~crc ;
  while (len--)
  {
    unsigned int k = 8 ;
    crc ^= (unsigned char)*s++ ;
    while (k--) crc = crc & 1 ? crc >> 1 ^ 0xedb88320u : crc >> 1 ;
  }
  return ~crc ;
}

static int le32 (stralloc *sa, uint32_t u)
{
  char b[4] = { (char)(u & 0xff), (char)(u >> 8 & 0xff), (char)(u >> 16 & 0xff), (char)(u >> 24) } ;
  return stralloc_catb(sa, b, 4) ;
}

int tlsrptrep_gzip (stralloc *sa, char const *s, size_t len)
{
  /* RFC 1952 §2.3: magic, deflate, no flags, no time, no extra flags, OS unknown */
  static char const header[10] = { 0x1f, (char)0x8b, 8, 0, 0, 0, 0, 0, 0, (char)255 } ;
  size_t off = 0 ;
  if (!stralloc_catb(sa, header, 10)) return 0 ;
  /* RFC 1951 §3.2.4: stored blocks of at most 65535 octets, BFINAL on the last (an empty input: one empty block) */
  do
  {
    size_t n = len - off > 65535 ? 65535 : len - off ;
    char b[5] = { off + n == len, (char)(n & 0xff), (char)(n >> 8), (char)(~n & 0xff), (char)(~n >> 8 & 0xff) } ;
    if (!stralloc_catb(sa, b, 5) || !stralloc_catb(sa, s + off, n)) return 0 ;
    off += n ;
  } while (off < len) ;
  return le32(sa, tlsrptrep_crc32(0, s, len)) && le32(sa, (uint32_t)len) ;
}

int tlsrptrep_mail (stralloc *sa, tlsrptrep_meta const *m, char const *to, char const *json, size_t len, uint64_t now)
{
  stralloc gz = STRALLOC_ZERO, b64 = STRALLOC_ZERO ;
  char fmt[UINT64_FMT] ;
  size_t i ;
  int ok = 0 ;
  if (!tlsrptrep_gzip(&gz, json, len) || !base64_cat(&b64, gz.s, gz.len)) goto end ;
  /* RFC 8460 §5.3: the subject and the two header fields say what the report is about */
  if (!cats(sa, "From: <postmaster@") || !cats(sa, m->submitter) || !cats(sa, ">\nTo: <") || !cats(sa, to)
   || !cats(sa, ">\nDate: ") || !bounce_date(now, sa)
   || !cats(sa, "\nSubject: Report Domain: ") || !cats(sa, m->domain) || !cats(sa, " Submitter: ") || !cats(sa, m->submitter)
   || !cats(sa, " Report-ID: <") || !cats(sa, m->id) || !cats(sa, ">\nMessage-ID: <") || !cats(sa, m->id)
   || !cats(sa, ">\nTLS-Report-Domain: ") || !cats(sa, m->domain) || !cats(sa, "\nTLS-Report-Submitter: ") || !cats(sa, m->submitter)
   || !cats(sa, "\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=\"tlsrpt\"; boundary=\"tlsrpt-")
   || !stralloc_catb(sa, fmt, uint64_fmt(fmt, m->start))
   || !cats(sa, "\"\n\nThis is a TLS report (RFC 8460).\n\n--tlsrpt-") || !stralloc_catb(sa, fmt, uint64_fmt(fmt, m->start))
   || !cats(sa, "\nContent-Type: text/plain; charset=us-ascii\n\nThe aggregate TLS report of ") || !cats(sa, m->submitter)
   || !cats(sa, " for ") || !cats(sa, m->domain) || !cats(sa, " is attached.\n\n--tlsrpt-") || !stralloc_catb(sa, fmt, uint64_fmt(fmt, m->start))
   /* §5.1: the file name: submitter!policy-domain!begin!end.json.gz */
   || !cats(sa, "\nContent-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"")
   || !cats(sa, m->submitter) || !cats(sa, "!") || !cats(sa, m->domain) || !cats(sa, "!") || !stralloc_catb(sa, fmt, uint64_fmt(fmt, m->start))
   || !cats(sa, "!") || !stralloc_catb(sa, fmt, uint64_fmt(fmt, m->end - 1)) || !cats(sa, ".json.gz\"\n\n")) goto end ;
  /* RFC 2045 §6.8: lines of at most 76 characters */
  for (i = 0 ; i < b64.len ; i += 76)
    if (!stralloc_catb(sa, b64.s + i, b64.len - i > 76 ? 76 : b64.len - i) || !stralloc_catb(sa, "\n", 1)) goto end ;
  ok = cats(sa, "\n--tlsrpt-") && stralloc_catb(sa, fmt, uint64_fmt(fmt, m->start)) && cats(sa, "--\n") ;
 end:
  stralloc_free(&gz) ;
  stralloc_free(&b64) ;
  return ok ;
}
