/* ISC license: see LICENSE. */

/*
 * Unit test of lib/smtpclient over a socketpair: the test is the peer,
 * writing its replies before the client reads them (the socket buffers
 * them) and reading what the client sent.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "smtpclient.h"
#include "smtpdata.h"
#include "tap.h"


static char const *text (smtpc const *c)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (!smtpreply_oneline(&c->reply, &sa) || !stralloc_0(&sa)) return "" ;
  return sa.s ;
}

static void pair (smtpc *c, tain const *limit)
{
  int sv[2] ;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || ndelay_on(sv[0]) < 0) { printf("Bail out! socketpair\n") ; _exit(1) ; }
  if (tap_peer >= 0) close(tap_peer) ;
  tap_peer = sv[1] ;
  smtpc_init(c, sv[0], limit) ;
}

int main (void)
{
  static smtpc c = SMTPC_ZERO ;
  smtpreply_ext e ;
  int helo ;
  tain limit ;
  tap_plan(27) ;
  /* a write to a closed tap_peer is EPIPE, as in remote-send */
  signal(SIGPIPE, SIG_IGN) ;
  tain_now_set_stopwatch_g() ;

  pair(&c, 0) ;
  tap_say("220 mx.example ESMTP\r\n") ;
  ok(smtpc_reply(&c, 5) && c.reply.code == 220, "the greeting") ;
  tap_say("250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n") ;
  ok(smtpc_ehlo(&c, "EHLO", "me.example", &e, &helo, 5) && c.reply.code == 250 && !helo, "EHLO: a multiline 250") ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\n"), "EHLO went out as one line") ;
  ok(e.pipelining && e.hassize && e.size == 1000 && e.starttls && !e.auth_plain, "the extensions of the reply") ;

  /* PIPELINING: one write for the group, then the replies in order (RFC 2920) */
  ok(smtpc_put(&c, "MAIL FROM:<", "s@me.example", ">") && smtpc_put(&c, "RCPT TO:<", "a@mx.example", ">")
   && smtpc_put(&c, "RCPT TO:<", "b@mx.example", ">") && smtpc_put(&c, "DATA", 0, 0) && smtpc_flush(&c, 5), "a pipelined group queued and sent") ;
  ok(!strcmp(tap_heard(), "MAIL FROM:<s@me.example>\r\nRCPT TO:<a@mx.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n"), "all of it in one read") ;
  tap_say("250 ok\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n250 ok\r\n354 go\r\n") ;
  ok(smtpc_reply(&c, 5) && c.reply.code == 250, "MAIL's reply") ;
  ok(smtpc_reply(&c, 5) && c.reply.code == 550 && !strcmp(text(&c), "550 5.1.1 no such 5.1.1 user"), "the first RCPT's, multiline (%s)", text(&c)) ;
  ok(smtpc_reply(&c, 5) && c.reply.code == 250, "the second RCPT's") ;
  ok(smtpc_reply(&c, 5) && c.reply.code == 354, "DATA's") ;

  /* the body in its wire form; the reply to the final dot */
  {
    static char const body[] = "Subject: x\n\n.dot\nend\n" ;
    stralloc wire = STRALLOC_ZERO ;
    uint64_t size ;
    int eight ;
    ok(smtpdata_encode(body, sizeof(body) - 1, &wire, &size, &eight) && smtpc_data(&c, wire.s, wire.len, 5), "the body sent") ;
    ok(!strcmp(tap_heard(), "Subject: x\r\n\r\n..dot\r\nend\r\n.\r\n"), "dot-stuffed, CRLF, with the final dot") ;
    stralloc_free(&wire) ;
  }
  tap_say("250 2.0.0 queued\r\n") ;
  ok(smtpc_reply(&c, 5) && c.reply.code == 250, "the reply to the final dot") ;

  /* a 5xx to EHLO: HELO (RFC 5321 §3.2); LMTP's LHLO has no fallback */
  tap_say("502 no EHLO here\r\n250 hello\r\n") ;
  ok(smtpc_ehlo(&c, "EHLO", "me.example", &e, &helo, 5) && helo && c.reply.code == 250 && !e.pipelining, "EHLO refused: HELO, and no extensions") ;
  ok(!strcmp(tap_heard(), "EHLO me.example\r\nHELO me.example\r\n"), "EHLO then HELO sent") ;
  tap_say("500 what\r\n") ;
  ok(smtpc_ehlo(&c, "LHLO", "me.example", &e, &helo, 5) && !helo && c.reply.code == 500, "LHLO refused: no HELO, the refusal is the reply") ;
  (void)tap_heard() ;

  /* AUTH LOGIN: the user and the password, each after a 334 */
  tap_say("334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0 ok\r\n") ;
  ok(smtpc_auth(&c, "u", 1, "p", 1, 0, 5) && c.reply.code == 235, "AUTH LOGIN") ;
  tap_say("235 2.7.0 ok\r\n") ;
  ok(smtpc_auth(&c, "u", 1, "p", 1, 1, 5) && c.reply.code == 235, "AUTH PLAIN") ;
  ok(!strcmp(tap_heard(), "AUTH LOGIN\r\ndQ==\r\ncA==\r\nAUTH PLAIN AHUAcA==\r\n"), "the credentials, base64") ;

  /* a reply that is not SMTP: the connection is given up */
  tap_say("hello there\r\n") ;
  ok(!smtpc_reply(&c, 5) && errno == EPROTO && !strcmp(smtpc_error(&c), "the server does not speak SMTP"), "garbage: EPROTO") ;

  /* deadlines: the step's, and the limit that caps every step */
  pair(&c, 0) ;
  {
    tain start, took ;
    tain_copynow(&start) ;
    ok(!smtpc_reply(&c, 1) && errno == ETIMEDOUT, "no reply within the step's seconds: ETIMEDOUT") ;
    tain_now_g() ; tain_sub(&took, &STAMP, &start) ;
    ok(tain_to_millisecs(&took) >= 900 && tain_to_millisecs(&took) < 3000, "after about a second (%d ms)", tain_to_millisecs(&took)) ;
    tain_from_millisecs(&limit, 200) ;
    tain_now_g() ;
    tain_add_g(&limit, &limit) ;
    c.limit = &limit ;
    tain_copynow(&start) ;
    ok(!smtpc_reply(&c, 300) && errno == ETIMEDOUT, "the limit comes first") ;
    tain_now_g() ; tain_sub(&took, &STAMP, &start) ;
    ok(tain_to_millisecs(&took) < 2000, "and cuts the step short (%d ms)", tain_to_millisecs(&took)) ;
  }

  /* the tap_peer closes: EPIPE, in words */
  c.limit = 0 ;
  close(tap_peer) ; tap_peer = -1 ;
  ok(!smtpc_reply(&c, 5) && errno == EPIPE && !strcmp(smtpc_error(&c), "connection closed by the server"), "EOF: the server closed") ;

  /* STARTTLS: what came after the 220 is thrown away, never read as a reply (RFC 3207 4.2) */
  smtpc_close(&c) ;
  pair(&c, 0) ;
  tap_say("220 go ahead\r\n250 injected\r\n") ;
  ok(smtpc_command(&c, "STARTTLS", 0, 5) && c.reply.code == 220, "STARTTLS: 220, with plaintext glued to it") ;
  close(tap_peer) ; tap_peer = -1 ;
  {
    static tlsclient t ;
    size_t discarded = 0 ;
    ok(!smtpc_starttls(&c, &t, "mx.example", TLSCLIENT_OPPORTUNISTIC, 0, &discarded, 5) && discarded == 14 && c.inpos == c.inlen && !c.tls,
      "the 14 octets after the 220 discarded; no handshake with a closed peer, and no TLS") ;
  }
  smtpc_free(&c) ;
  return tap_done() ;
}
