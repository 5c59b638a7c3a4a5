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
  tap_plan(20) ;
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
