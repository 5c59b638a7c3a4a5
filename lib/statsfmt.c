/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>

#include "statsfmt.h"

int statsfmt_escape (stralloc *sa, char const *s, size_t len, int quote)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    char const *e = s[i] == '\\' ? "\\\\" : s[i] == '\n' ? "\\n" : quote && s[i] == '"' ? "\\\"" : 0 ;
    if (e ? !stralloc_catb(sa, e, 2) : !stralloc_catb(sa, s + i, 1)) return 0 ;
  }
  return 1 ;
}

int statsfmt_family (stralloc *sa, char const *name, char const *type, char const *help)
{
  return stralloc_cats(sa, "# HELP ") && stralloc_cats(sa, name) && stralloc_catb(sa, " ", 1)
    && statsfmt_escape(sa, help, strlen(help), 0)
    && stralloc_cats(sa, "\n# TYPE ") && stralloc_cats(sa, name) && stralloc_catb(sa, " ", 1)
    && stralloc_cats(sa, type) && stralloc_catb(sa, "\n", 1) ;
}

int statsfmt_sample (stralloc *sa, char const *name, char const *const *l, size_t nl, uint64_t value)
{
  char fmt[UINT64_FMT] ;
  size_t i = 0 ;
  if (!stralloc_cats(sa, name)) return 0 ;
  for (; i < nl ; i++)
    if (!stralloc_cats(sa, i ? "," : "{") || !stralloc_cats(sa, l[2*i]) || !stralloc_catb(sa, "=\"", 2)
     || !statsfmt_escape(sa, l[2*i+1], strlen(l[2*i+1]), 1) || !stralloc_catb(sa, "\"", 1)) return 0 ;
  if (nl && !stralloc_catb(sa, "}", 1)) return 0 ;
  return stralloc_catb(sa, " ", 1) && stralloc_catb(sa, fmt, uint64_fmt(fmt, value)) && stralloc_catb(sa, "\n", 1) ;
}

/*
 * The families with fixed samples: each sample is one value of the sum
 * with its labels (at most two pairs). The destination failures and the
 * oldest message's age are computed below the table.
 */
typedef struct sample_s sample ;
struct sample_s
{
  int v ;                /* enum stats_value; -1 ends the family */
  char const *l[4] ;
} ;

typedef struct family_s family ;
struct family_s
{
  char const *name ;
  char const *type ;
  char const *help ;
  sample s[6] ;
} ;

#define END { -1, { 0 } }
static family const families[] =
{
  { "ketch_messages_received_total", "counter", "Messages queued, by the way they came in.",
    { { STATS_RECEIVED_SMTP, { "way", "smtp" } }, { STATS_RECEIVED_SUBMISSION, { "way", "submission" } }, { STATS_RECEIVED_LOCAL, { "way", "local" } }, END } },
  { "ketch_delivered_total", "counter", "Recipients delivered.",
    { { STATS_DELIVERED_LOCAL, { "kind", "local" } }, { STATS_DELIVERED_REMOTE, { "kind", "remote" } }, END } },
  { "ketch_deferred_total", "counter", "Delivery attempts that failed temporarily, per recipient.",
    { { STATS_DEFERRED_LOCAL, { "kind", "local" } }, { STATS_DEFERRED_REMOTE, { "kind", "remote" } }, END } },
  { "ketch_bounced_total", "counter", "Recipients that failed permanently.",
    { { STATS_BOUNCED_LOCAL, { "kind", "local" } }, { STATS_BOUNCED_REMOTE, { "kind", "remote" } }, END } },
  { "ketch_expired_total", "counter", "Recipients given up undelivered when their message expired.",
    { { STATS_EXPIRED, { 0 } }, END } },
  { "ketch_smtp_sessions_total", "counter", "SMTP sessions, inbound (counted at their end) and outbound, with and without TLS.",
    { { STATS_SESSIONS_IN_TLS, { "direction", "in", "tls", "yes" } }, { STATS_SESSIONS_IN_PLAIN, { "direction", "in", "tls", "no" } },
      { STATS_SESSIONS_OUT_TLS, { "direction", "out", "tls", "yes" } }, { STATS_SESSIONS_OUT_PLAIN, { "direction", "out", "tls", "no" } }, END } },
  { "ketch_smtp_sessions_open", "gauge", "Inbound SMTP sessions open now.",
    { { STATS_G_SESSIONS_OPEN, { 0 } }, END } },
  { "ketch_deliveries_in_flight", "gauge", "Deliveries running now (remote: remote-send processes).",
    { { STATS_G_INFLIGHT_LOCAL, { "kind", "local" } }, { STATS_G_INFLIGHT_REMOTE, { "kind", "remote" } }, END } },
  { "ketch_queue_messages", "gauge", "Messages in the queue, as the scheduler knows them.",
    { { STATS_G_QUEUE_SIZE, { 0 } }, END } },
} ;

int statsfmt_all (stralloc *sa, stats_sum const *sum, uint64_t now)
{
  size_t i = 0 ;
  uint64_t oldest = sum->v[STATS_G_QUEUE_OLDEST] ;
  for (; i < sizeof(families) / sizeof(families[0]) ; i++)
  {
    family const *f = families + i ;
    sample const *s = f->s ;
    if (!statsfmt_family(sa, f->name, f->type, f->help)) return 0 ;
    for (; s->v >= 0 ; s++)
      if (!statsfmt_sample(sa, f->name, s->l, s->l[0] ? s->l[2] ? 2 : 1 : 0, sum->v[s->v])) return 0 ;
  }
  if (!statsfmt_family(sa, "ketch_queue_oldest_age_seconds", "gauge", "Age of the oldest message in the queue (0: empty).")
   || !statsfmt_sample(sa, "ketch_queue_oldest_age_seconds", 0, 0, oldest && now > oldest ? now - oldest : 0)) return 0 ;
  if (!statsfmt_family(sa, "ketch_destination_failures_total", "counter",
    "Remote delivery attempts deferred or bounced, by recipient domain: the first 32 domains, then \"other\".")) return 0 ;
  for (i = 0 ; i < sum->ndest ; i++)
  {
    char const *l[2] = { "domain", sum->dest[i].name } ;
    if (!statsfmt_sample(sa, "ketch_destination_failures_total", l, 1, sum->dest[i].failures)) return 0 ;
  }
  {
    char const *l[2] = { "domain", "other" } ;
    return statsfmt_sample(sa, "ketch_destination_failures_total", l, 1, sum->v[STATS_DEST_OTHER]) ;
  }
}
