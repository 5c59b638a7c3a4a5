/* ISC license: see LICENSE. */

/* Unit test of lib/statsfmt: the Prometheus text format of a sum, escaping, and HELP/TYPE before each family's samples. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "statsfmt.h"
#include "tap.h"

static int has (stralloc const *sa, char const *line)
{
  size_t n = strlen(line), i = 0 ;
  for (; i + n <= sa->len ; i++)
    if ((!i || sa->s[i-1] == '\n') && !memcmp(sa->s + i, line, n) && (i + n == sa->len || sa->s[i+n] == '\n')) return 1 ;
  return 0 ;
}

static size_t pos (stralloc const *sa, char const *s)
{
  size_t n = strlen(s), i = 0 ;
  for (; i + n <= sa->len ; i++) if (!memcmp(sa->s + i, s, n)) return i ;
  return (size_t)-1 ;
}

int main (void)
{
  static stats_sum sum ;
  stralloc sa = STRALLOC_ZERO, again = STRALLOC_ZERO ;
  char const *l[4] = { "a", "x\\y\"z\nw", "b", "" } ;
  tap_plan(10) ;
  ok(statsfmt_escape(&sa, "a\\b\"c\nd", 7, 1) && sa.len == 10 && !memcmp(sa.s, "a\\\\b\\\"c\\nd", 10), "label value: backslash, quote, line feed escaped") ;
  sa.len = 0 ;
  ok(statsfmt_escape(&sa, "a\"\n", 3, 0) && sa.len == 4 && !memcmp(sa.s, "a\"\\n", 4), "HELP text: the quote left alone") ;
  sa.len = 0 ;
  ok(statsfmt_sample(&sa, "m_total", l, 2, 7) && has(&sa, "m_total{a=\"x\\\\y\\\"z\\nw\",b=\"\"} 7"), "a sample with two labels") ;
  sa.len = 0 ;
  ok(statsfmt_sample(&sa, "g", 0, 0, 18446744073709551615ULL) && has(&sa, "g 18446744073709551615"), "no labels, the largest value") ;
  sa.len = 0 ;
  sum.v[STATS_RECEIVED_SMTP] = 3 ;
  sum.v[STATS_RECEIVED_LOCAL] = 2 ;
  sum.v[STATS_BOUNCED_REMOTE] = 1 ;
  sum.v[STATS_SESSIONS_IN_TLS] = 4 ;
  sum.v[STATS_G_QUEUE_SIZE] = 9 ;
  sum.v[STATS_G_QUEUE_OLDEST] = 1000 ;
  sum.v[STATS_DEST_OTHER] = 5 ;
  sum.ndest = 1 ;
  sum.dest[0].failures = 6 ;
  strcpy(sum.dest[0].name, "we\"ird") ;
  sum.dest[0].len = 6 ;
  ok(statsfmt_all(&sa, &sum, 1100), "the whole exposition") ;
  ok(has(&sa, "ketch_messages_received_total{way=\"smtp\"} 3") && has(&sa, "ketch_messages_received_total{way=\"local\"} 2")
    && has(&sa, "ketch_messages_received_total{way=\"submission\"} 0") && has(&sa, "ketch_bounced_total{kind=\"remote\"} 1")
    && has(&sa, "ketch_smtp_sessions_total{direction=\"in\",tls=\"yes\"} 4"), "the counters, every label value, zeros too") ;
  ok(has(&sa, "ketch_queue_messages 9") && has(&sa, "ketch_queue_oldest_age_seconds 100"), "queue size; the oldest's age from its arrival and now") ;
  ok(has(&sa, "ketch_destination_failures_total{domain=\"we\\\"ird\"} 6") && has(&sa, "ketch_destination_failures_total{domain=\"other\"} 5"), "destinations escaped, then other") ;
  ok(has(&sa, "# TYPE ketch_delivered_total counter") && has(&sa, "# TYPE ketch_queue_messages gauge")
    && pos(&sa, "# HELP ketch_delivered_total ") < pos(&sa, "# TYPE ketch_delivered_total") && pos(&sa, "# TYPE ketch_delivered_total") < pos(&sa, "ketch_delivered_total{"),
    "HELP, then TYPE, then the samples") ;
  statsfmt_all(&again, &sum, 1100) ;
  ok(again.len == sa.len && !memcmp(again.s, sa.s, sa.len) && sa.s[sa.len-1] == '\n', "the same octets again, ending with a line feed") ;
  stralloc_free(&sa) ;
  stralloc_free(&again) ;
  return tap_done() ;
}
