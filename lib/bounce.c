/* ISC license: see LICENSE. */

#include <string.h>
#include <strings.h>
#include <time.h>
#include <errno.h>

#include <skalibs/types.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>

#include "envelope.h"
#include "qstate.h"
#include "queue.h"
#include "bounce.h"

/*
 * The enhanced status code (RFC 3463 §2) in an answer like "550 5.1.1 text":
 * class "." subject "." detail, subject and detail of 1 to 3 digits, where
 * class matches the reply's first digit when there is one. Without one, or
 * when it does not fit in out (n octets with the NUL), the default for the
 * action.
 */
int bounce_status (char const *result, int failed, char *out, size_t n)
{
  char const *s = result ? result : "" ;
  char const *def = failed ? "5.0.0" : "4.0.0" ;
  size_t i = 0 ;
  if (!n) return 0 ;
  if (s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] == ' ') i = 4 ;
  if ((s[i] == '2' || s[i] == '4' || s[i] == '5') && s[i+1] == '.')
  {
    size_t j = i + 2, d1 = 0, d2 = 0 ;
    while (s[j] >= '0' && s[j] <= '9' && d1 < 3) { j++ ; d1++ ; }
    if (d1 && s[j] == '.')
    {
      j++ ;
      while (s[j] >= '0' && s[j] <= '9' && d2 < 3) { j++ ; d2++ ; }
      if (d2 && (!s[j] || s[j] == ' ') && j - i < n)
      {
        memcpy(out, s + i, j - i) ;
        out[j - i] = 0 ;
        /* a 4.x.x for a failure, or 5.x.x for a delay, reports the class we decided */
        out[0] = failed ? '5' : '4' ;
        return 1 ;
      }
    }
  }
  if (n > strlen(def)) memcpy(out, def, strlen(def) + 1) ;
  else out[0] = 0 ;
  return 0 ;
}

/* RFC 5322 §3.3 date-time, in UTC */
int bounce_date (uint64_t t, stralloc *sa)
{
  char buf[64] ;
  time_t tt = (time_t)t ;
  struct tm tm ;
  size_t n ;
  static char const *const days[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" } ;
  static char const *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" } ;
  if (!gmtime_r(&tt, &tm)) return 0 ;
  /* day and month names spelled out here: strftime would follow the locale */
  n = strftime(buf, sizeof(buf), " %d ", &tm) ;
  if (!stralloc_cats(sa, days[tm.tm_wday]) || !stralloc_catb(sa, ",", 1) || !stralloc_catb(sa, buf, n)
   || !stralloc_cats(sa, months[tm.tm_mon])) return 0 ;
  n = strftime(buf, sizeof(buf), " %Y %H:%M:%S +0000", &tm) ;
  return stralloc_catb(sa, buf, n) ;
}

/* header and DSN field values: printable ASCII only, one line */
static int cat_clean (stralloc *sa, char const *s)
{
  for (; *s ; s++)
  {
    char c = (unsigned char)*s < 32 || (unsigned char)*s > 126 ? '?' : *s ;
    if (!stralloc_catb(sa, &c, 1)) return 0 ;
  }
  return 1 ;
}

static int cats (stralloc *sa, char const *s)
{
  return stralloc_cats(sa, s) ;
}

int bounce_format (stralloc *sa, bounce const *b, bounce_rcpt const *r, unsigned int n, char const *hdr, size_t hdrlen)
{
  unsigned int i = 0 ;
  int failed = b->action == BOUNCE_FAILED ;
  if (!cats(sa, "From: Mail Delivery System <MAILER-DAEMON@") || !cat_clean(sa, b->hostname) || !cats(sa, ">\n")) return 0 ;
  if (!cats(sa, "To: <") || !cat_clean(sa, b->to) || !cats(sa, ">\n")) return 0 ;
  if (!cats(sa, failed ? "Subject: Undelivered Mail Returned to Sender\n" : "Subject: Delayed Mail (still being retried)\n")) return 0 ;
  if (!cats(sa, "Date: ") || !bounce_date(b->now, sa) || !cats(sa, "\n")) return 0 ;
  if (!cats(sa, "Message-ID: <") || !cats(sa, b->id) || !cats(sa, failed ? ".bounce@" : ".delay@") || !cat_clean(sa, b->hostname) || !cats(sa, ">\n")) return 0 ;
  /* RFC 3834 §5: automatic responses say so, so that nobody answers them */
  if (!cats(sa, "Auto-Submitted: auto-replied\nMIME-Version: 1.0\n")) return 0 ;
  if (!cats(sa, "Content-Type: multipart/report; report-type=delivery-status;\n boundary=\"") || !cats(sa, b->boundary) || !cats(sa, "\"\n\n")) return 0 ;
  if (!cats(sa, "This is a MIME-encapsulated delivery status notification.\n\n--") || !cats(sa, b->boundary) || !cats(sa, "\n")) return 0 ;
  if (!cats(sa, "Content-Type: text/plain; charset=us-ascii\n\n")) return 0 ;
  if (!cats(sa, "This is the mail system at ") || !cat_clean(sa, b->hostname) || !cats(sa, ".\n\n")) return 0 ;
  if (!cats(sa, failed
    ? "Your message could not be delivered to one or more recipients.\nIt is attached below; the reasons follow.\n\n"
    : "Your message has not been delivered yet to one or more recipients.\nThe mail system will keep trying; you need not send it again.\n\n")) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    if (!cats(sa, "<") || !cat_clean(sa, r[i].addr) || !cats(sa, ">: ") || !cat_clean(sa, r[i].result ? r[i].result : "no answer") || !cats(sa, "\n")) return 0 ;
  }
  if (!cats(sa, "\n--") || !cats(sa, b->boundary) || !cats(sa, "\nContent-Type: message/delivery-status\n\n")) return 0 ;
  /* RFC 3464 §2.2: per-message fields */
  if (!cats(sa, "Reporting-MTA: dns; ") || !cat_clean(sa, b->hostname) || !cats(sa, "\n")) return 0 ;
  if (!cats(sa, "X-Ketch-Queue-ID: ") || !cats(sa, b->id) || !cats(sa, "\n")) return 0 ;
  if (!cats(sa, "Arrival-Date: ") || !bounce_date(b->arrival, sa) || !cats(sa, "\n")) return 0 ;
  for (i = 0 ; i < n ; i++)
  {
    char status[BOUNCE_STATUS_MAX] ;
    char const *res = r[i].result ;
    bounce_status(res, failed, status, sizeof(status)) ;
    /* RFC 3464 §2.3: per-recipient fields, each block after an empty line */
    if (!cats(sa, "\nFinal-Recipient: rfc822; ") || !cat_clean(sa, r[i].addr) || !cats(sa, "\n")) return 0 ;
    if (r[i].orig && (!cats(sa, "Original-Recipient: rfc822; ") || !cat_clean(sa, r[i].orig) || !cats(sa, "\n"))) return 0 ;
    if (!cats(sa, failed ? "Action: failed\n" : "Action: delayed\n")) return 0 ;
    if (!cats(sa, "Status: ") || !cats(sa, status) || !cats(sa, "\n")) return 0 ;
    if (res)
    {
      int smtp = res[0] >= '2' && res[0] <= '5' && res[1] >= '0' && res[1] <= '9' && res[2] >= '0' && res[2] <= '9' && res[3] == ' ' ;
      if (!cats(sa, smtp ? "Diagnostic-Code: smtp; " : "Diagnostic-Code: x-ketch; ") || !cat_clean(sa, res) || !cats(sa, "\n")) return 0 ;
    }
    if (!cats(sa, "Last-Attempt-Date: ") || !bounce_date(b->now, sa) || !cats(sa, "\n")) return 0 ;
  }
  /* RFC 6522: the third part is the original, here its header only */
  if (!cats(sa, "\n--") || !cats(sa, b->boundary) || !cats(sa, "\nContent-Type: text/rfc822-headers\n\n")) return 0 ;
  if (hdrlen && !stralloc_catb(sa, hdr, hdrlen)) return 0 ;
  if (hdrlen && hdr[hdrlen-1] != '\n' && !cats(sa, "\n")) return 0 ;
  if (!cats(sa, "\n--") || !cats(sa, b->boundary) || !cats(sa, "--\n")) return 0 ;
  return 1 ;
}

int bounce_is_postmaster (char const *a)
{
  return a && !strncasecmp(a, "postmaster", 10) && (!a[10] || a[10] == '@') ;
}

int bounce_to (char const *sender, unsigned int action, int forpostmaster, char const *hostname, stralloc *to)
{
  if (*sender) return stralloc_cats(to, sender) && stralloc_0(to) ? BOUNCE_TO_SEND : -1 ;
  if (action != BOUNCE_FAILED) return BOUNCE_TO_NONE ;
  if (forpostmaster) return BOUNCE_TO_DROP ;
  return stralloc_cats(to, "postmaster@") && stralloc_cats(to, hostname) && stralloc_0(to) ? BOUNCE_TO_SEND : -1 ;
}

#define HEADER_MAX 65536

/* skalibs' byte_search returns len - 1 when "\n\n" is absent: found only if both octets fit */
static size_t blank_line (char const *s, size_t len)
{
  size_t e = byte_search(s, len, "\n\n", 2) ;
  return e + 2 <= len ? e : len ;
}

/* a read error or no memory ends the header early: a report with part of the header beats none */
void bounce_read_header (int fd, stralloc *sa)
{
  size_t start = sa->len, e ;
  for (;;)
  {
    ssize_t r ;
    if (!stralloc_readyplus(sa, 8192)) break ;
    r = fd_read(fd, sa->s + sa->len, 8192) ;
    if (r <= 0) break ;
    sa->len += r ;
    if (blank_line(sa->s + start, sa->len - start) < sa->len - start || sa->len - start >= HEADER_MAX) break ;
  }
  e = blank_line(sa->s + start, sa->len - start) ;
  if (e < sa->len - start) sa->len = start + e + 1 ;
  else if (sa->len - start > HEADER_MAX) sa->len = start + HEADER_MAX ;
}

/* a report about a message for a postmaster, from the null sender: a failed bounce of it is not bounced again */
static int for_postmaster (envelope const *e, qstate const *q)
{
  size_t k = 0, n = qstate_n(q) ;
  for (; k < envelope_nrcpt(e) ; k++) if (bounce_is_postmaster(envelope_rcpt(e, k))) return 1 ;
  for (k = 0 ; k < n ; k++) if (qstate_get(q, k)->orig && bounce_is_postmaster(qstate_str(q, qstate_get(q, k)->orig))) return 1 ;
  return 0 ;
}

int bounce_make (stralloc *msg, stralloc *to, unsigned int *nr, char const *id, envelope const *e, qstate const *q, unsigned int which, char const *hostname, uint64_t now)
{
  genalloc rs = GENALLOC_ZERO ;   /* bounce_rcpt */
  stralloc hdr = STRALLOC_ZERO, bnd = STRALLOC_ZERO ;
  char const *sender = envelope_sender(e) ;
  unsigned int action = which == QSTATE_FAILED ? BOUNCE_FAILED : BOUNCE_DELAYED ;
  size_t n = qstate_n(q), i = 0 ;
  int r = -1 ;
  for (; i < n ; i++)
  {
    qstate_rcpt const *rc = qstate_get(q, i) ;
    bounce_rcpt br = { .addr = qstate_str(q, rc->addr), .orig = rc->orig ? qstate_str(q, rc->orig) : 0, .result = rc->result ? qstate_str(q, rc->result) : 0 } ;
    if (rc->status != which) continue ;
    if (!genalloc_append(bounce_rcpt, &rs, &br)) goto end ;
  }
  *nr = genalloc_len(bounce_rcpt, &rs) ;
  if (!*nr) { r = BOUNCE_TO_NONE ; goto end ; }
  r = bounce_to(sender, action, !*sender && for_postmaster(e, q), hostname, to) ;
  if (r != BOUNCE_TO_SEND) goto end ;
  r = -1 ;
  {
    int fd = queue_open(id, e->hdrlen) ;
    if (fd < 0) goto end ;
    bounce_read_header(fd, &hdr) ;
    fd_close(fd) ;
  }
  if (!stralloc_cats(&bnd, id) || !stralloc_catb(&bnd, "/", 1) || !stralloc_cats(&bnd, hostname)
   || !stralloc_cats(&bnd, action == BOUNCE_FAILED ? "/failed" : "/delayed") || !stralloc_0(&bnd)) goto end ;
  {
    bounce b = { .action = action, .hostname = hostname, .id = id, .to = to->s, .arrival = queue_id_time(id), .now = now, .boundary = bnd.s } ;
    if (bounce_format(msg, &b, genalloc_s(bounce_rcpt, &rs), *nr, hdr.s, hdr.len)) r = BOUNCE_TO_SEND ;
  }
 end:
  {
    int er = errno ;
    genalloc_free(bounce_rcpt, &rs) ;
    stralloc_free(&hdr) ; stralloc_free(&bnd) ;
    errno = er ;
  }
  return r ;
}
