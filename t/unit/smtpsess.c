/* ISC license: see LICENSE. */

/*
 * Unit test of lib/smtpsess over a socketpair: the test is the server,
 * writing its replies before the client reads them, and reading what
 * the client sent. The TLS handshake itself is the business of
 * t/remote-send-tls.t and t/remote-tls-policy.t; here, the policy's
 * decisions around it.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/djbunix.h>
#include <skalibs/tai.h>

#include "conf.h"
#include "smtpclient.h"
#include "smtpsess.h"
#include "tap.h"


/* a new connection, and a session under policy with credentials authfile */
static void pair (smtpc *c, smtpsess *s, char const *host, unsigned int policy, char const *authfile)
{
  smtpc_close(c) ;
  smtpc_init(c, tap_pair(), 0) ;
  s->host = host ;
  s->tlspolicy = policy ;
  s->authfile = authfile ;
}

static char const *why (smtpsess const *s)
{
  return s->failed ? s->fail.s : "(none)" ;
}

int main (void)
{
  static smtpc c = SMTPC_ZERO ;
  static smtpsess s = SMTPSESS_ZERO ;
  static tlsclient t ;
  static tlsclient_anchors anchors = TLSCLIENT_ANCHORS_ZERO ;
  int loaded = 0 ;
  tap_plan(26) ;
  signal(SIGPIPE, SIG_IGN) ;
  tain_now_set_stopwatch_g() ;
  s.helo = "me.example" ;
  s.tcommand = 5 ;
  s.anchors = &anchors ;
  s.anchors_loaded = &loaded ;

  /* a refused greeting: the host fails, permanently for a 5xx, and QUIT */
  pair(&c, &s, "mx.example", CONF_TLS_OPPORTUNISTIC, 0) ;
  tap_say("554 5.3.2 go away\r\n221 bye\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 0 && s.failed && s.failperm && !strcmp(why(&s), "greeting: 554 5.3.2 go away"), "a 554 greeting (%s)", why(&s)) ;
  ok(!strcmp(tap_heard(), "QUIT\r\n") && c.fd < 0, "QUIT, and closed") ;

  /* opportunistic without STARTTLS offered: plaintext */
  pair(&c, &s, "mx.example", CONF_TLS_OPPORTUNISTIC, 0) ;
  tap_say("220 hi\r\n250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 1 && !s.failed && !s.tls && s.ext.pipelining && s.ext.size == 100, "opportunistic, no STARTTLS: ready, the extensions known") ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\n"), "EHLO only") ;

  /* EHLO refused: HELO */
  pair(&c, &s, "mx.example", CONF_TLS_OPPORTUNISTIC, 0) ;
  tap_say("220 hi\r\n502 no\r\n250 hello\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 1 && !s.ext.pipelining && !strcmp(tap_heard(), "EHLO me.example\r\nHELO me.example\r\n"), "EHLO refused: HELO, no extensions") ;
  pair(&c, &s, "mx.example", CONF_TLS_OPPORTUNISTIC, 0) ;
  tap_say("220 hi\r\n502 no\r\n421 4.3.0 busy\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !s.failperm && !strcmp(why(&s), "HELO: 421 4.3.0 busy"), "HELO refused too: the host fails (%s)", why(&s)) ;

  /* none: STARTTLS offered and not used */
  pair(&c, &s, "mx.example", CONF_TLS_NONE, 0) ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 1 && s.ext.starttls && !strcmp(tap_heard(), "EHLO me.example\r\n"), "tls none: no STARTTLS") ;

  /* opportunistic, STARTTLS refused: plaintext */
  pair(&c, &s, "mx.example", CONF_TLS_OPPORTUNISTIC, 0) ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n454 4.7.0 not now\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 1 && !s.failed && !c.tls, "opportunistic, STARTTLS refused: on in plaintext") ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\nSTARTTLS\r\n"), "STARTTLS was asked") ;

  /* required: no TLS, no mail */
  pair(&c, &s, "mx.example", CONF_TLS_REQUIRED, 0) ;
  tap_say("220 hi\r\n250 mx.example\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !s.failperm && !strcmp(why(&s), "the server does not offer STARTTLS: tls required: never in plaintext"),
    "required, not offered: the host fails, temporarily (%s)", why(&s)) ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\nQUIT\r\n") && c.fd < 0, "QUIT") ;
  pair(&c, &s, "mx.example", CONF_TLS_VERIFY, 0) ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n554 5.7.0 no\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !s.failperm && !strcmp(why(&s), "STARTTLS refused: 554 5.7.0 no; tls verify: never in plaintext"),
    "verify, STARTTLS refused even with a 5xx: temporary (%s)", why(&s)) ;
  ok(!s.plaintext, "and no plaintext retry") ;

  /* verify needs a name */
  loaded = 1 ;
  pair(&c, &s, "192.0.2.1", CONF_TLS_VERIFY, 0) ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n220 go\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !strcmp(why(&s), "cannot verify a certificate for an IP address: route to a host name"), "verify for an IP address: refused (%s)", why(&s)) ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\nSTARTTLS\r\nQUIT\r\n"), "before any handshake, QUIT") ;
  loaded = 0 ;
  pair(&c, &s, "mx.example", CONF_TLS_VERIFY, 0) ;
  s.cafile = "/nonexistent/ca.pem" ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n220 go\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !strcmp(why(&s), "unable to load trust anchors: /nonexistent/ca.pem") && !loaded && c.fd < 0, "no trust anchors: the host fails (%s)", why(&s)) ;
  s.cafile = 0 ;

  /* a failed handshake: opportunistic retries in plaintext, unless there are credentials; required never */
  pair(&c, &s, "mx.example", CONF_TLS_OPPORTUNISTIC, 0) ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n220 go\r\nplaintext") ;
  shutdown(tap_peer, SHUT_WR) ;
  ok(smtpsess_open(&s, &c, &t) == 0 && s.plaintext && !strncmp(why(&s), "TLS handshake failed: ", 22) && c.fd < 0, "opportunistic, the handshake fails: a plaintext retry (%s)", why(&s)) ;
  ok(s.discarded == 9 && !s.tls, "the plaintext after the 220 thrown away, counted") ;
  pair(&c, &s, "mx.example", CONF_TLS_OPPORTUNISTIC, "/nonexistent/creds") ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n220 go\r\n") ;
  shutdown(tap_peer, SHUT_WR) ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !s.plaintext && !strncmp(why(&s), "TLS handshake failed: ", 22), "with credentials: no plaintext retry") ;
  ok(!s.discarded, "nothing discarded") ;
  pair(&c, &s, "mx.example", CONF_TLS_REQUIRED, 0) ;
  tap_say("220 hi\r\n250-mx.example\r\n250 STARTTLS\r\n220 go\r\n") ;
  shutdown(tap_peer, SHUT_WR) ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !s.plaintext && !strncmp(why(&s), "TLS handshake failed: ", 22)
   && strlen(why(&s)) > 34 && !strcmp(why(&s) + strlen(why(&s)) - 34, "; tls required: never in plaintext"),
    "required: the handshake's failure, never in plaintext (%s)", why(&s)) ;

  /* credentials only under TLS */
  pair(&c, &s, "mx.example", CONF_TLS_NONE, "/nonexistent/creds") ;
  tap_say("220 hi\r\n250-mx.example\r\n250 AUTH PLAIN\r\n221 bye\r\n") ;
  ok(smtpsess_open(&s, &c, &t) == 0 && !strcmp(why(&s), "refusing to send AUTH credentials without TLS"), "AUTH in plaintext: refused (%s)", why(&s)) ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\nQUIT\r\n"), "no AUTH sent, QUIT") ;

  /* the policy words */
  ok(!strcmp(conf_tls_name(CONF_TLS_OPPORTUNISTIC), "opportunistic") && !strcmp(conf_tls_name(CONF_TLS_REQUIRED), "required"), "policy names") ;
  ok(!strcmp(conf_tls_name(CONF_TLS_VERIFY), "verify") && !strcmp(conf_tls_name(CONF_TLS_NONE), "none"), "policy names, the others") ;
  ok(!strcmp(conf_tls_name(99), "?"), "an unknown policy") ;

  smtpc_free(&c) ;
  smtpsess_free(&s) ;
  return tap_done() ;
}
