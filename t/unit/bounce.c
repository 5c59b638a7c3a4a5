/* ISC license: see LICENSE. */

/* Unit test of lib/bounce: status codes, dates, the report's shape. */

#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>

#include "envelope.h"
#include "qstate.h"
#include "queue.h"
#include "bounce.h"
#include "tap.h"

int main (void)
{
  char st[BOUNCE_STATUS_MAX] ;
  stralloc sa = STRALLOC_ZERO ;
  bounce b = { .action = BOUNCE_FAILED, .hostname = "mx.test.example", .id = "0123456789abcdef01234567", .to = "s@x.example", .arrival = 0, .now = 86400 * 365, .boundary = "0123456789abcdef01234567/mx.test.example" } ;
  bounce_rcpt r[2] = { { .addr = "a@y.example", .orig = 0, .result = "550 5.1.1 no such user" }, { .addr = "b\x01\xff@y.example", .orig = "list@y.example", .result = "mda exited 1" } } ;
  tap_plan(42) ;
  ok(bounce_status("550 5.1.1 no such user", 1, st, sizeof(st)) && !strcmp(st, "5.1.1"), "status from an SMTP reply") ;
  ok(bounce_status("5.2.2 mailbox full", 1, st, sizeof(st)) && !strcmp(st, "5.2.2"), "status without a reply code") ;
  ok(!bounce_status("mda exited 1", 1, st, sizeof(st)) && !strcmp(st, "5.0.0"), "default status for a failure") ;
  ok(!bounce_status(0, 0, st, sizeof(st)) && !strcmp(st, "4.0.0"), "default status for a delay") ;
  ok(bounce_status("451 4.4.1 try later", 1, st, sizeof(st)) && !strcmp(st, "5.4.1"), "class follows the decision") ;
  ok(!bounce_status("550 5.1.1x", 1, st, sizeof(st)), "junk after the code refused") ;
  {
    /* RFC 3463 §2: subject and detail have 1 to 3 digits; the guard octets after the buffer stay */
    struct { char st[BOUNCE_STATUS_MAX] ; char guard[16] ; } g ;
    static char const *const bad[] = { "550 5.1234.1 x", "550 5.1.1234 x", "550 5..1 x", "550 5.1. x", "550 5.1 x", "550 .1.1 x", "550 6.1.1 x", "550 5.1.1.1 x",
      "550 5.99999999999999999999999999999999.99999999999999999999999999999 x", "5.123.1234", "550 5-1-1", "550 5.1.1\tx" } ;
    unsigned int k ;
    int all = 1 ;
    memset(g.guard, 'G', sizeof(g.guard)) ;
    ok(bounce_status("550 5.123.123 x", 1, g.st, sizeof(g.st)) && !strcmp(g.st, "5.123.123"), "the longest legal code (5.123.123)") ;
    ok(bounce_status("450 4.123.123 x", 0, g.st, sizeof(g.st)) && !strcmp(g.st, "4.123.123"), "the longest legal code in a delay (4.123.123)") ;
    ok(bounce_status("550 5.123.123", 1, g.st, sizeof(g.st)) && !strcmp(g.st, "5.123.123"), "... at the end of the reply") ;
    for (k = 0 ; k < sizeof(bad) / sizeof(*bad) ; k++)
      if (bounce_status(bad[k], 1, g.st, sizeof(g.st)) || strcmp(g.st, "5.0.0")) { all = 0 ; printf("# %s: %s\n", bad[k], g.st) ; }
    ok(all, "illegal codes give the default") ;
    ok(!bounce_status("550 5.123.123 x", 1, g.st, 9) && !strcmp(g.st, "5.0.0"), "a code longer than the buffer: the default") ;
    ok(!bounce_status("550 5.1.1 x", 1, g.st, 5) && !g.st[0], "a buffer too small for the default: empty") ;
    ok(!bounce_status("550 5.1.1 x", 1, g.st, 0) && g.st[0] == 0, "a buffer of 0 octets: untouched") ;
    ok(!memcmp(g.guard, "GGGGGGGGGGGGGGGG", 16), "nothing written past the buffer") ;
  }
  ok(bounce_date(0, &sa) && sa.len == 31 && !memcmp(sa.s, "Thu, 01 Jan 1970 00:00:00 +0000", 31), "RFC 5322 date") ;
  sa.len = 0 ;
  ok(bounce_format(&sa, &b, r, 2, "Subject: x\nFrom: s@x.example\n", 30), "formats") ;
  ok(stralloc_0(&sa), "nul") ;
  ok(strstr(sa.s, "Content-Type: multipart/report; report-type=delivery-status;\n boundary=\"0123456789abcdef01234567/mx.test.example\"\n") != 0, "multipart/report") ;
  ok(strstr(sa.s, "\nFinal-Recipient: rfc822; a@y.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 no such user\n") != 0, "first recipient block") ;
  ok(strstr(sa.s, "Final-Recipient: rfc822; b??@y.example\nOriginal-Recipient: rfc822; list@y.example\n") != 0, "control and 8-bit octets replaced") ;
  ok(strstr(sa.s, "Diagnostic-Code: x-ketch; mda exited 1\n") != 0, "non-SMTP diagnostic") ;
  ok(strstr(sa.s, "Content-Type: text/rfc822-headers\n\nSubject: x\nFrom: s@x.example\n") != 0, "original header attached") ;
  ok(strstr(sa.s, "Auto-Submitted: auto-replied\n") != 0, "Auto-Submitted (RFC 3834)") ;
  ok(sa.len > 60 && !strcmp(sa.s + sa.len - 46, "--0123456789abcdef01234567/mx.test.example--\n"), "closing boundary") ;

  /* whom the report goes to */
  sa.len = 0 ;
  ok(bounce_to("s@x.example", BOUNCE_FAILED, 0, "mx.test.example", &sa) == BOUNCE_TO_SEND && !strcmp(sa.s, "s@x.example"), "a bounce goes to the sender") ;
  sa.len = 0 ;
  ok(bounce_to("s@x.example", BOUNCE_DELAYED, 1, "mx.test.example", &sa) == BOUNCE_TO_SEND && !strcmp(sa.s, "s@x.example"), "a delay warning too") ;
  sa.len = 0 ;
  ok(bounce_to("", BOUNCE_FAILED, 0, "mx.test.example", &sa) == BOUNCE_TO_SEND && !strcmp(sa.s, "postmaster@mx.test.example"), "a failed bounce goes to the postmaster") ;
  sa.len = 0 ;
  ok(bounce_to("", BOUNCE_FAILED, 1, "mx.test.example", &sa) == BOUNCE_TO_DROP && !sa.len, "a failed bounce to the postmaster is dropped") ;
  ok(bounce_to("", BOUNCE_DELAYED, 0, "mx.test.example", &sa) == BOUNCE_TO_NONE && !sa.len, "no delay warning about a bounce") ;
  ok(bounce_is_postmaster("postmaster") && bounce_is_postmaster("PostMaster@x.example"), "postmaster, alone or with a domain, any case") ;
  ok(!bounce_is_postmaster("postmasters@x.example") && !bounce_is_postmaster("post@x") && !bounce_is_postmaster(0), "not a postmaster") ;

  /* the original's header, from an fd */
  {
    int p[2] ;
    static char const m[] = "Subject: x\nFrom: y\n\nbody\n\nmore\n" ;
    sa.len = 0 ;
    stralloc_cats(&sa, "kept") ;
    ok(!pipe(p) && write(p[1], m, sizeof(m) - 1) == sizeof(m) - 1 && !close(p[1]), "a message in a pipe") ;
    bounce_read_header(p[0], &sa) ;
    close(p[0]) ;
    ok(sa.len == 23 && !memcmp(sa.s, "keptSubject: x\nFrom: y\n", 23), "the header up to the blank line, appended") ;
  }
  {
    int p[2] ;
    stralloc big = STRALLOC_ZERO ;
    pid_t pid ;
    sa.len = 0 ;
    while (big.len < 70000) stralloc_cats(&big, "X-Long: 0123456789012345678901234567890123456789\n") ;
    ok(!pipe(p), "a pipe for a header without end") ;
    pid = fork() ;
    if (!pid) { close(p[0]) ; if (write(p[1], big.s, big.len) < 0) _exit(1) ; _exit(0) ; }
    close(p[1]) ;
    bounce_read_header(p[0], &sa) ;
    close(p[0]) ;
    ok(sa.len == 65536 && !memcmp(sa.s, big.s, 65536), "a header without end is read past the first 8 KiB, cut at 64 KiB (%zu)", sa.len) ;
    stralloc_free(&big) ;
  }

  /* the report owed for a message in the spool (the current directory) */
  if (!tap_tmpdir() || chdir(tap_dir()) < 0) return 111 ;
  {
    envelope e = ENVELOPE_ZERO ;
    qstate q = QSTATE_ZERO ;
    stralloc to = STRALLOC_ZERO, ent = STRALLOC_ZERO ;
    char id[QUEUE_ID_LEN + 1], fn[QUEUE_PATH_MAX] ;
    unsigned int n = 99 ;
    queue_id_make(id) ;
    queue_path(fn, "queue", id) ;
    mkdir("queue", 0700) ; fn[8] = 0 ; mkdir(fn, 0700) ;
    queue_path(fn, "queue", id) ;
    envelope_init(&e, "s@x.example") ; envelope_add_rcpt(&e, "a@y.example") ; envelope_add_rcpt(&e, "b@y.example") ;
    envelope_encode(&e, &ent) ; e.hdrlen = ent.len ;
    stralloc_cats(&ent, "Subject: the original\n\nits body\n") ;
    openwritenclose_unsafe(fn, ent.s, ent.len) ;
    qstate_from_envelope(&q, &e) ;
    sa.len = 0 ;
    ok(bounce_make(&sa, &to, &n, id, &e, &q, QSTATE_FAILED, "mx.test.example", 86400) == BOUNCE_TO_NONE && !n && !sa.len, "nothing failed: no bounce owed") ;
    qstate_get(&q, 1)->status = QSTATE_FAILED ;
    qstate_set_result(&q, 1, "550 5.1.1 no such user", 22) ;
    ok(bounce_make(&sa, &to, &n, id, &e, &q, QSTATE_FAILED, "mx.test.example", 86400) == BOUNCE_TO_SEND && n == 1 && !strcmp(to.s, "s@x.example"), "one failed: a bounce to the sender about one recipient") ;
    stralloc_0(&sa) ;
    ok(strstr(sa.s, "Final-Recipient: rfc822; b@y.example") && !strstr(sa.s, "a@y.example") && strstr(sa.s, "Subject: the original") && !strstr(sa.s, "its body"),
      "about the failed one only, with the original's header and not its body") ;
    ok(strstr(sa.s, id) && strstr(sa.s, "/mx.test.example/failed"), "the boundary from the id and the hostname") ;
    sa.len = 0 ; to.len = 0 ;
    ok(bounce_make(&sa, &to, &n, id, &e, &q, QSTATE_DEFERRED, "mx.test.example", 86400) == BOUNCE_TO_NONE && !sa.len, "nothing deferred: no warning owed") ;
    envelope_free(&e) ;
    envelope_init(&e, "") ; envelope_add_rcpt(&e, "postmaster@y.example") ;
    ok(bounce_make(&sa, &to, &n, id, &e, &q, QSTATE_FAILED, "mx.test.example", 86400) == BOUNCE_TO_DROP && !sa.len, "a failed bounce about a message for a postmaster: dropped") ;
    unlink(fn) ;
    envelope_free(&e) ;
    envelope_init(&e, "s@x.example") ;
    ok(bounce_make(&sa, &to, &n, id, &e, &q, QSTATE_FAILED, "mx.test.example", 86400) < 0 && errno == ENOENT, "the entry gone: an error, to retry") ;
    envelope_free(&e) ; qstate_free(&q) ;
    stralloc_free(&to) ; stralloc_free(&ent) ;
  }
  tap_rmtmp() ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
