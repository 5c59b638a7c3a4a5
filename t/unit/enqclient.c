/* ISC license: see LICENSE. */

/* lib/enqclient: the request's bytes, and every first answer and status
   a server can give, over a socketpair */

#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "enqclient.h"
#include "tap.h"

static int pair[2] ;

static void server_says (char const *s, size_t n, int close_after)
{
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) _exit(111) ;
  if (n && write(pair[1], s, n) != (ssize_t)n) _exit(111) ;
  if (close_after) close(pair[1]) ;
}

int main (void)
{
  char id[64] ;
  char buf[256] ;
  stralloc diag = STRALLOC_ZERO ;
  int st ;
  ssize_t r ;
  tain d ;
  tap_plan(21) ;
  tain_now_set_stopwatch_g() ;

  server_says("", 0, 0) ;
  ok(enqclient_request(pair[0], "a@b.example", 0, "c@d.example\0e@f.example\0", 24), "request sent") ;
  r = read(pair[1], buf, sizeof(buf)) ;
  ok(r == 41 && !memcmp(buf, "37:a@b.example\0\0c@d.example\0e@f.example\0,", 41), "request: a netstring of sender, empty auth, recipients, each NUL-terminated") ;
  ok(enqclient_request(pair[0], "", "u", "x@y\0", 4), "null sender, an auth user") ;
  r = read(pair[1], buf, sizeof(buf)) ;
  ok(r == 10 && !memcmp(buf, "7:\0u\0x@y\0,", 10), "... encoded as 7:NUL u NUL x@y NUL,") ;
  close(pair[0]) ; close(pair[1]) ;

  server_says("006b01754abaf1d0077cb041\n0\n", 27, 1) ;
  tain_now_g() ; tain_addsec_g(&d, 5) ;
  ok(enqclient_id(pair[0], id, &d, &st, 0) == 1 && !strcmp(id, "006b01754abaf1d0077cb041"), "an id line gives the id") ;
  ok(enqclient_status(pair[0], &diag) == 0 && !diag.len, "then status 0, no diagnostic") ;
  close(pair[1]) ;

  server_says("006b01754abaf1d0077cb041\n111\nenqueue: fatal: disk full\n", 55, 1) ;
  ok(enqclient_id(pair[0], id, 0, &st, 0) == 1, "id, without a deadline") ;
  diag.len = 0 ;
  ok(enqclient_status(pair[0], &diag) == 111 && diag.len == 26 && !memcmp(diag.s, "enqueue: fatal: disk full\n", 26), "status 111 with its diagnostic") ;

  server_says("100\nenqueue: fatal: invalid sender \"x\": invalid local part\n", 60, 1) ;
  diag.len = 0 ;
  ok(!enqclient_id(pair[0], id, &d, &st, &diag) && st == 100, "no id: the status instead") ;
  ok(diag.len == 56 && !memcmp(diag.s, "enqueue: fatal: invalid sender", 30), "... and the whole diagnostic, though it started in the id's bytes") ;
  close(pair[0]) ;

  server_says("", 0, 1) ;
  ok(!enqclient_id(pair[0], id, &d, &st, 0) && st == -1, "closed unanswered: -1 (spawn enqueue instead)") ;
  close(pair[0]) ;

  server_says("006b01754abaf1d0077cb04\n", 24, 1) ;
  ok(!enqclient_id(pair[0], id, &d, &st, 0) && st == -1, "a short id is no id") ;
  close(pair[0]) ;

  server_says("006b01754abaf1d0077cb04X\n", 25, 1) ;
  ok(!enqclient_id(pair[0], id, &d, &st, 0) && st == -1, "a non-hex id is no id") ;
  close(pair[0]) ;

  server_says("", 0, 0) ;
  { tain ms ; tain_from_millisecs(&ms, 50) ; tain_now_g() ; tain_add_g(&d, &ms) ; }
  ok(!enqclient_id(pair[0], id, &d, &st, 0) && st == -1, "silence past the deadline: -1") ;
  close(pair[0]) ; close(pair[1]) ;

  server_says("006b01754abaf1d0077cb041\n", 25, 1) ;
  enqclient_id(pair[0], id, 0, &st, 0) ;
  ok(enqclient_status(pair[0], 0) == 111, "end of file without a status: 111") ;

  server_says("x", 1, 1) ;
  ok(enqclient_status(pair[0], 0) == 111, "garbage for a status: 111") ;

  /* issue 15: digits to the end of the buffer were scanned past it */
  {
    static char zeros[2048] ;
    memset(zeros, '0', sizeof(zeros)) ;
    server_says(zeros, 1024, 1) ;
    ok(enqclient_status(pair[0], 0) == 111, "a status of 1024 zeros, no newline: 111, read within the buffer") ;
    server_says(zeros, 40, 1) ;
    ok(!enqclient_id(pair[0], id, &d, &st, 0) && st == -1, "an id line of zeros only: no id, no status") ;
    close(pair[0]) ;
    server_says("0000000000000000000000000000000000000100\nx\n", 43, 1) ;
    ok(enqclient_status(pair[0], 0) == 111, "a status with 37 leading zeros: garbled, 111") ;
    server_says("100x\n", 5, 1) ;
    ok(enqclient_status(pair[0], 0) == 111, "a status with junk after it: 111") ;
    server_says("4294967396\n", 11, 1) ;
    ok(enqclient_status(pair[0], 0) == 111, "a status of 2^32 + 100: 111, not wrapped to 100") ;
  }
  return tap_done() ;
}
