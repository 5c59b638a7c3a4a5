/* ISC license: see LICENSE. */

/* Unit test of lib/bounce: status codes, dates, the report's shape. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "bounce.h"
#include "tap.h"

int main (void)
{
  char st[8] ;
  stralloc sa = STRALLOC_ZERO ;
  bounce b = { .action = BOUNCE_FAILED, .hostname = "mx.test.example", .id = "0123456789abcdef01234567", .to = "s@x.example", .arrival = 0, .now = 86400 * 365, .boundary = "0123456789abcdef01234567/mx.test.example" } ;
  bounce_rcpt r[2] = { { .addr = "a@y.example", .orig = 0, .result = "550 5.1.1 no such user" }, { .addr = "b\x01\xff@y.example", .orig = "list@y.example", .result = "mda exited 1" } } ;
  tap_plan(16) ;
  ok(bounce_status("550 5.1.1 no such user", 1, st) && !strcmp(st, "5.1.1"), "status from an SMTP reply") ;
  ok(bounce_status("5.2.2 mailbox full", 1, st) && !strcmp(st, "5.2.2"), "status without a reply code") ;
  ok(!bounce_status("mda exited 1", 1, st) && !strcmp(st, "5.0.0"), "default status for a failure") ;
  ok(!bounce_status(0, 0, st) && !strcmp(st, "4.0.0"), "default status for a delay") ;
  ok(bounce_status("451 4.4.1 try later", 1, st) && !strcmp(st, "5.4.1"), "class follows the decision") ;
  ok(!bounce_status("550 5.1.1x", 1, st), "junk after the code refused") ;
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
  stralloc_free(&sa) ;
  return tap_done() ;
}
