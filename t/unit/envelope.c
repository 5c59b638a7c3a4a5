/* ISC license: see LICENSE. */

#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "envelope.h"
#include "tap.h"

static int decodes (char const *s)
{
  envelope e = ENVELOPE_ZERO ;
  int r = envelope_decode(&e, s, strlen(s)) ;
  envelope_free(&e) ;
  return r ;
}

int main (void)
{
  envelope e = ENVELOPE_ZERO, d = ENVELOPE_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  tap_plan(31) ;
  ok(envelope_init(&e, "") && envelope_add_rcpt(&e, "a@example.org") && envelope_add_rcpt(&e, "\"x y\"@example.net"), "build") ;
  ok(envelope_set_auth(&e, "alice"), "auth") ;
  e.flags = ENVELOPE_F_8BIT | ENVELOPE_F_SMTPUTF8 ;
  ok(envelope_encode(&e, &sa), "encode") ;
  ok(sa.len > 8 && !memcmp(sa.s + sa.len - 11, "body 8bit\n\n", 11), "body flag last, fixed place") ;
  ok(sa.s[sa.len - ENVELOPE_BODYFLAG_OFF] == '8', "ENVELOPE_BODYFLAG_OFF points at the flag") ;
  if (!stralloc_cats(&sa, "Subject: x\n\nbody\n")) return 111 ;
  ok(envelope_decode(&d, sa.s, sa.len), "decode") ;
  ok(!strcmp(envelope_sender(&d), "") && envelope_nrcpt(&d) == 2, "sender and count round trip") ;
  ok(!strcmp(envelope_rcpt(&d, 1), "\"x y\"@example.net"), "recipient round trip") ;
  ok(d.auth && !strcmp(d.sa.s + d.auth, "alice"), "auth round trip") ;
  ok(d.flags == (ENVELOPE_F_8BIT | ENVELOPE_F_SMTPUTF8), "flags round trip") ;
  ok(!memcmp(sa.s + d.hdrlen, "Subject: x\n", 11), "hdrlen points at the body") ;
  ok(!decodes("ketch 1\nfrom a@b\nbody 7bit\n\n") && errno == EINVAL, "no recipient refused") ;
  ok(!decodes("ketch 2\nfrom a@b\nto c@d\nbody 7bit\n\n") && errno == EINVAL, "wrong version refused") ;
  ok(!decodes("ketch 1\nfrom a@b\nto c@d\n\n") && errno == EINVAL, "missing body line refused") ;
  ok(!decodes("ketch 1\nto c@d\nfrom a@b\nbody 7bit\n\n") && errno == EINVAL, "order enforced") ;
  ok(!decodes("ketch 1\nfrom a@b\nto c@d\nbody 7bit\n") && errno == EAGAIN, "incomplete head is EAGAIN") ;
  ok(!decodes("ketch 1\nfrom a@b\nto c@d\nbogus\nbody 7bit\n\n") && errno == EINVAL, "unknown line refused") ;
  ok(!decodes("ketch 1\nfrom a@b\nto \"\017x\"@d\nbody 7bit\n\n") && errno == EINVAL, "control octet refused (fuzzer)") ;
  /* hold and sign: optional lines between smtputf8 and body */
  {
    envelope h = ENVELOPE_ZERO, g = ENVELOPE_ZERO ;
    stralloc o = STRALLOC_ZERO ;
    static char const want[] = "ketch 1\nfrom a@b.example\nto c@d.example\nauth u\nsmtputf8\nhold spam: score 15 \"x\"\nsign\nbody 8bit\n\n" ;
    envelope_init(&h, "a@b.example") ; envelope_add_rcpt(&h, "c@d.example") ; envelope_set_auth(&h, "u") ;
    h.flags |= ENVELOPE_F_SMTPUTF8 | ENVELOPE_F_SIGN | ENVELOPE_F_8BIT ;
    ok(envelope_set_hold(&h, "spam: score 15 \"x\"") && envelope_encode(&h, &o) && o.len == sizeof(want) - 1 && !memcmp(o.s, want, o.len), "hold with a reason and sign encoded in their place") ;
    ok(o.s[o.len - ENVELOPE_BODYFLAG_OFF] == '8', "... the body flag still at its offset") ;
    ok(envelope_decode(&g, o.s, o.len) && g.flags == (ENVELOPE_F_SMTPUTF8 | ENVELOPE_F_HOLD | ENVELOPE_F_SIGN | ENVELOPE_F_8BIT) && g.reason && !strcmp(g.sa.s + g.reason, "spam: score 15 \"x\"") && g.auth && !strcmp(g.sa.s + g.auth, "u"), "... and decoded back") ;
    ok(decodes("ketch 1\nfrom a@b\nto c@d\nhold\nbody 7bit\n\n"), "hold without a reason") ;
    envelope_decode(&g, "ketch 1\nfrom a@b\nto c@d\nhold\nbody 7bit\n\n", 40) ;
    ok(g.flags == ENVELOPE_F_HOLD && !envelope_reason(&g), "... held, no reason") ;
    ok(envelope_decode(&g, "ketch 1\nfrom a@b\nto c@d\nbody 7bit\n\n", 35) && !g.flags && !envelope_reason(&g), "an old entry without them: not held, not signed") ;
    ok(!decodes("ketch 1\nfrom a@b\nto c@d\nsign\nhold\nbody 7bit\n\n") && !decodes("ketch 1\nfrom a@b\nto c@d\nhold\nsmtputf8\nbody 7bit\n\n")
     && !decodes("ketch 1\nfrom a@b\nto c@d\nhold\nto e@f\nbody 7bit\n\n") && !decodes("ketch 1\nfrom a@b\nto c@d\nhold\nhold\nbody 7bit\n\n"), "out of order or twice: refused") ;
    ok(!decodes("ketch 1\nfrom a@b\nto c@d\nhold \nbody 7bit\n\n") && !decodes("ketch 1\nfrom a@b\nto c@d\nholdx\nbody 7bit\n\n")
     && !decodes("ketch 1\nfrom a@b\nto c@d\nhold caf\303\251\nbody 7bit\n\n") && !decodes("ketch 1\nfrom a@b\nto c@d\nsign x\nbody 7bit\n\n"), "an empty or 8-bit reason, a stray suffix: refused") ;
    {
      char r[ENVELOPE_REASON_MAX + 2] ;
      memset(r, 'r', sizeof(r)) ; r[ENVELOPE_REASON_MAX] = 0 ;
      ok(envelope_reason_valid(r, ENVELOPE_REASON_MAX) && !envelope_reason_valid(r, ENVELOPE_REASON_MAX + 1) && !envelope_reason_valid(r, 0), "a reason: 1 to ENVELOPE_REASON_MAX octets") ;
      ok(envelope_set_hold(&h, r), "the longest reason is taken") ;
      r[ENVELOPE_REASON_MAX] = 'r' ; r[ENVELOPE_REASON_MAX + 1] = 0 ;
      ok(!envelope_set_hold(&h, r) && errno == EINVAL && !envelope_set_hold(&h, "tab\there"), "a longer one, or a control octet: EINVAL") ;
    }
    envelope_free(&h) ; envelope_free(&g) ; stralloc_free(&o) ;
  }
  {
    /* a head longer than one 4 KiB read: envelope_read must wait for the blank line */
    envelope big = ENVELOPE_ZERO, got = ENVELOPE_ZERO ;
    stralloc buf = STRALLOC_ZERO ;
    char a[64] ;
    int p[2], i = 0 ;
    pid_t pid ;
    sa.len = 0 ;
    envelope_init(&big, "s@example.org") ;
    for (; i < 300 ; i++) { snprintf(a, sizeof(a), "recipient-number-%03d@example.org", i) ; envelope_add_rcpt(&big, a) ; }
    ok(envelope_encode(&big, &sa) && stralloc_cats(&sa, "Subject: x\n\nbody\n") && sa.len > 8192 && !pipe(p), "a 300-recipient head (%zu octets)", sa.len) ;
    pid = fork() ;
    if (!pid) { close(p[0]) ; if (write(p[1], sa.s, sa.len) < 0) _exit(1) ; _exit(0) ; }
    close(p[1]) ;
    ok(envelope_read(&got, p[0], &buf) && envelope_nrcpt(&got) == 300 && !strcmp(envelope_rcpt(&got, 299), "recipient-number-299@example.org"), "read whole across several reads") ;
    close(p[0]) ;
    envelope_free(&big) ; envelope_free(&got) ; stralloc_free(&buf) ;
  }
  envelope_free(&e) ; envelope_free(&d) ; stralloc_free(&sa) ;
  return tap_done() ;
}
