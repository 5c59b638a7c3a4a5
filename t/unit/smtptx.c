/* ISC license: see LICENSE. */

/*
 * Unit test of lib/smtptx over a socketpair: the test is the server,
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

#include "rjob.h"
#include "smtpclient.h"
#include "smtptx.h"
#include "tap.h"


static void pair (smtpc *c, smtptx *t)
{
  smtpc_close(c) ;
  smtpc_init(c, tap_pair(), 0) ;
  smtptx_init(t, "mx.example", "192.0.2.1") ;
}

/* recipient i's result is status and text */
static int R (rjob const *j, unsigned int i, enum rjob_status st, char const *text)
{
  return rjob_status(j, i) == st && rjob_res(j, i)->len == strlen(text) && !memcmp(rjob_text(j, i), text, strlen(text)) ;
}

/* a job with a body of "hi\n" (wire "hi\r\n.\r\n", size 4) */
static void job (rjob *j, char const *const *rcpts, unsigned int n, int utf8)
{
  if (!rjob_start(j, "ID", "s@me.example", rcpts, n, utf8)) { printf("Bail out! rjob_start\n") ; _exit(1) ; }
  j->wire.len = 0 ;
  if (!stralloc_cats(&j->wire, "hi\r\n.\r\n")) { printf("Bail out! memory\n") ; _exit(1) ; }
  j->size = 4 ;
}

int main (void)
{
  static smtpc c = SMTPC_ZERO ;
  static smtptx t = SMTPTX_ZERO ;
  static rjob j = RJOB_ZERO ;
  static char const *const rcpts[] = { "a@mx.example", "b@mx.example", "c@mx.example" } ;
  smtpreply_ext pipe = SMTPREPLY_EXT_ZERO, plain = SMTPREPLY_EXT_ZERO ;
  tap_plan(31) ;
  signal(SIGPIPE, SIG_IGN) ;
  tain_now_set_stopwatch_g() ;
  pipe.pipelining = 1 ; pipe.hassize = 1 ; pipe.size = 1000 ; pipe.eightbit = 1 ;
  t.tcommand = 5 ; t.tdata = 5 ;

  /* PIPELINING: MAIL, the RCPTs and DATA in one write; one refused, the others take the body */
  pair(&c, &t) ;
  job(&j, rcpts, 3, 0) ;
  j.eightbit = 1 ;
  ok(smtptx_begin(&t, &c, &pipe, &j) == SMTPTX_GO && smtptx_nrcpts(&t) == 3, "begin: three recipients") ;
  tap_say("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n250 2.0.0 queued\r\n") ;
  ok(smtptx_run(&t, &c, &pipe, &j) == SMTPTX_NEXT && !t.failed, "the transaction: the connection takes the next job") ;
  ok(!strcmp(tap_heard(), "MAIL FROM:<s@me.example> SIZE=4 BODY=8BITMIME\r\nRCPT TO:<a@mx.example>\r\nRCPT TO:<b@mx.example>\r\nRCPT TO:<c@mx.example>\r\nDATA\r\nhi\r\n.\r\n"),
    "MAIL with SIZE and BODY, the RCPTs and DATA pipelined, then the body") ;
  ok(R(&j, 0, RJOB_OK, "250 2.0.0 queued") && R(&j, 1, RJOB_PERM, "550 5.1.1 no such user") && R(&j, 2, RJOB_OK, "250 2.0.0 queued"),
    "the accepted get the final reply, the refused its RCPT reply") ;

  /* without PIPELINING, every RCPT refused: no DATA; the transaction is left open, and the next one starts with RSET */
  job(&j, rcpts, 2, 0) ;
  ok(smtptx_begin(&t, &c, &plain, &j) == SMTPTX_GO, "a second transaction on the connection") ;
  tap_say("250 ok\r\n450 4.2.0 busy\r\n550 5.1.1 no\r\n") ;
  ok(smtptx_run(&t, &c, &plain, &j) == SMTPTX_NEXT && t.txopen, "every RCPT refused: next, with the transaction open") ;
  ok(!strcmp(tap_heard(), "MAIL FROM:<s@me.example>\r\nRCPT TO:<a@mx.example>\r\nRCPT TO:<b@mx.example>\r\n"), "one command at a time, and no DATA") ;
  ok(R(&j, 0, RJOB_TEMP, "450 4.2.0 busy") && R(&j, 1, RJOB_PERM, "550 5.1.1 no") && rjob_done(&j), "4xx temporary, 5xx permanent") ;
  job(&j, rcpts, 1, 0) ;
  tap_say("250 reset\r\n") ;
  ok(smtptx_begin(&t, &c, &plain, &j) == SMTPTX_GO && !t.txopen && !strcmp(tap_heard(), "RSET\r\n"), "RSET before the next MAIL (RFC 5321 4.1.1.5)") ;
  tap_say("250 ok\r\n250 ok\r\n354 go\r\n421 4.3.0 going down\r\n") ;
  ok(smtptx_run(&t, &c, &plain, &j) == SMTPTX_CLOSED && c.fd < 0, "421 to the final dot: the connection is closed") ;
  ok(t.failed && !t.failperm && !strcmp(t.fail.s, "end of data: 421 4.3.0 going down"), "the host failed, temporarily (%s)", t.failed ? t.fail.s : "") ;
  ok(R(&j, 0, RJOB_TEMP, "421 4.3.0 going down"), "and the recipient has the 421") ;

  /* a reused connection the server closed: the job goes elsewhere as new */
  pair(&c, &t) ;
  t.ntx = 1 ;
  job(&j, rcpts, 2, 0) ;
  close(tap_peer) ; tap_peer = -1 ;
  ok(smtptx_begin(&t, &c, &pipe, &j) == SMTPTX_GO && smtptx_run(&t, &c, &pipe, &j) == SMTPTX_AGAIN, "a reused connection closed before MAIL: again") ;
  ok(t.failed && !strcmp(t.fail.s, "connection closed before MAIL: connection closed by the server") && c.fd < 0, "the reason (%s)", t.failed ? t.fail.s : "") ;
  ok(rjob_status(&j, 0) == RJOB_PENDING && rjob_status(&j, 1) == RJOB_PENDING, "no recipient has a result") ;

  /* a reused connection that says 421 to MAIL: again */
  pair(&c, &t) ;
  t.ntx = 1 ;
  job(&j, rcpts, 1, 0) ;
  tap_say("421 4.4.2 idle too long\r\n") ;
  ok(smtptx_begin(&t, &c, &plain, &j) == SMTPTX_GO && smtptx_run(&t, &c, &plain, &j) == SMTPTX_AGAIN && rjob_status(&j, 0) == RJOB_PENDING
   && !strcmp(t.fail.s, "MAIL: 421 4.4.2 idle too long"), "421 to MAIL on a reused connection: again, the recipient untouched") ;

  /* the first transaction lost midway: every recipient temporary, with the host in the text */
  pair(&c, &t) ;
  job(&j, rcpts, 2, 0) ;
  tap_say("250 ok\r\n250 ok\r\n") ;
  ok(smtptx_begin(&t, &c, &plain, &j) == SMTPTX_GO, "begin") ;
  shutdown(tap_peer, SHUT_WR) ;
  ok(smtptx_run(&t, &c, &plain, &j) == SMTPTX_CLOSED && c.fd < 0, "the server closes after the first RCPT: closed") ;
  ok(R(&j, 0, RJOB_TEMP, "connection to mx.example[192.0.2.1] lost during the transaction: connection closed by the server")
   && R(&j, 1, RJOB_TEMP, "connection to mx.example[192.0.2.1] lost during the transaction: connection closed by the server"),
    "accepted and pending: temporary, the connection named") ;
  ok(t.failed && !strcmp(t.fail.s, "connection lost during a transaction: connection closed by the server"), "the host failed (%s)", t.failed ? t.fail.s : "") ;

  /* a MAIL refused under PIPELINING: the replies to the RCPTs and DATA are read, a 354 gets an empty message */
  pair(&c, &t) ;
  job(&j, rcpts, 2, 0) ;
  tap_say("550 5.7.1 sender refused\r\n554 no\r\n554 no\r\n354 go\r\n554 no valid recipients\r\n") ;
  ok(smtptx_begin(&t, &c, &pipe, &j) == SMTPTX_GO && smtptx_run(&t, &c, &pipe, &j) == SMTPTX_NEXT && !t.failed, "MAIL refused: next") ;
  ok(!strcmp(tap_heard(), "MAIL FROM:<s@me.example> SIZE=4\r\nRCPT TO:<a@mx.example>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\n.\r\n"), "a lone dot after the unwanted 354") ;
  ok(R(&j, 0, RJOB_PERM, "550 5.7.1 sender refused") && R(&j, 1, RJOB_PERM, "550 5.7.1 sender refused"), "MAIL's reply for every recipient") ;

  /* DATA refused: the accepted ones get its reply; RSET next time */
  job(&j, rcpts, 1, 0) ;
  tap_say("250 ok\r\n250 ok\r\n451 4.3.0 try later\r\n") ;
  ok(smtptx_begin(&t, &c, &pipe, &j) == SMTPTX_GO && smtptx_run(&t, &c, &pipe, &j) == SMTPTX_NEXT && t.txopen, "DATA refused: next, the transaction open") ;
  ok(R(&j, 0, RJOB_TEMP, "451 4.3.0 try later"), "the accepted recipient has DATA's reply") ;
  (void)tap_heard() ;

  /* what EHLO rules out: nothing is sent */
  job(&j, rcpts, 2, 1) ;
  tap_say("250 reset\r\n") ;
  ok(smtptx_begin(&t, &c, &pipe, &j) == SMTPTX_NEXT && R(&j, 1, RJOB_PERM, "553 5.6.7 the destination does not support SMTPUTF8 (RFC 6531 3.2)"),
    "SMTPUTF8 needed and not offered: 553 before any command") ;
  job(&j, rcpts, 1, 0) ;
  j.size = 1001 ;
  ok(smtptx_begin(&t, &c, &pipe, &j) == SMTPTX_NEXT && R(&j, 0, RJOB_PERM, "552 5.3.4 message size 1001 exceeds the limit 1000 of mx.example"),
    "larger than SIZE: 552") ;
  ok(t.txopen, "the RSET still owed") ;
  job(&j, rcpts, 1, 1) ;
  pipe.smtputf8 = 1 ;
  ok(smtptx_begin(&t, &c, &pipe, &j) == SMTPTX_GO && !strcmp(tap_heard(), "RSET\r\n"), "RSET then") ;
  tap_say("250 ok\r\n250 ok\r\n354 go\r\n250 done\r\n") ;
  ok(smtptx_run(&t, &c, &pipe, &j) == SMTPTX_NEXT && R(&j, 0, RJOB_OK, "250 done"), "an SMTPUTF8 message delivered") ;
  ok(!strcmp(tap_heard(), "MAIL FROM:<s@me.example> SIZE=4 SMTPUTF8\r\nRCPT TO:<a@mx.example>\r\nDATA\r\nhi\r\n.\r\n"), "with SMTPUTF8 on MAIL") ;

  smtpc_free(&c) ;
  smtptx_free(&t) ;
  rjob_free(&j) ;
  return tap_done() ;
}
