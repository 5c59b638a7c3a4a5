/* ISC license: see LICENSE. */

/* Unit test of lib/received: the trace field an SMTP server prepends. */

#include <string.h>

#include <skalibs/stralloc.h>

#include "received.h"
#include "tap.h"

#define ID "006b0133f96614f000d0af13"

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  received r = RECEIVED_ZERO ;
  char name[] = "a b\x01.c[1]:-_" ;
  tap_plan(4) ;
  r.helo = "client.example" ; r.ip = "127.0.0.1" ; r.host = "mx.test.example" ;
  r.proto = received_proto(1, 0, 0) ; r.id = ID ; r.rcpt = "b@remote.example" ; r.when = 0 ;
  ok(received_fmt(&sa, &r) && stralloc_0(&sa) && !strcmp(sa.s,
    "Received: from client.example ([127.0.0.1])\n\tby mx.test.example (ketch) with ESMTP id " ID "\n\tfor <b@remote.example>;\n\tThu, 01 Jan 1970 00:00:00 +0000\n"),
    "Received: one recipient, named") ;
  sa.len = 0 ;
  r.ip = "::1" ; r.is6 = 1 ; r.rcpt = 0 ; r.proto = received_proto(1, 1, 1) ;
  r.tlsversion = "TLSv1.2" ; r.cipher = "ECDHE-RSA-CHACHA20-POLY1305" ; r.when = 86400 * 365 ;
  ok(received_fmt(&sa, &r) && stralloc_0(&sa) && !strcmp(sa.s,
    "Received: from client.example ([IPv6:::1])\n\tby mx.test.example (ketch) with ESMTPSA (TLSv1.2 cipher=ECDHE-RSA-CHACHA20-POLY1305) id " ID ";\n\tFri, 01 Jan 1971 00:00:00 +0000\n"),
    "Received: IPv6, TLS with its version and cipher, AUTH, several recipients unnamed") ;
  ok(!strcmp(received_proto(0, 1, 1), "SMTP") && !strcmp(received_proto(1, 1, 0), "ESMTPS") && !strcmp(received_proto(1, 0, 1), "ESMTPA"), "RFC 3848 protocol names") ;
  received_name(name, sizeof(name) - 1) ;
  ok(!strcmp(name, "a_b_.c[1]:-_"), "a HELO name cleaned: %s", name) ;
  stralloc_free(&sa) ;
  return tap_done() ;
}

