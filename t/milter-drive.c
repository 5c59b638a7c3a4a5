/* ISC license: see LICENSE. */

/*
 * The SMTP session's side of a milter conversation, scripted, for
 * t/milter-proto.t: lib/milter against a real libmilter filter
 * (t/milter-filter.py). Prints one line per call: the stage, the
 * enum milter_act_e it returned, the reply (CR LF as \r\n) when there
 * is one, and at EOM each modification. Usage: milter-drive ADDRESS
 */

#include <stdio.h>
#include <string.h>

#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

#include "milter.h"

static milter m = MILTER_ZERO ;

/* CR and LF as \r and \n */
static void put (char const *s, size_t n)
{
  size_t i ;
  for (i = 0 ; i < n ; i++)
    if (s[i] == '\r') printf("\\r") ;
    else if (s[i] == '\n') printf("\\n") ;
    else putchar(s[i]) ;
}

static void show (char const *what, int r)
{
  printf("%s %d", what, r) ;
  if ((r == MILTER_REJECT || r == MILTER_TEMPFAIL) && m.reply.len)
  {
    printf(" reply=") ;
    put(m.reply.s, m.reply.len) ;
  }
  if (r == MILTER_FAIL) printf(" err=%s", m.err) ;
  printf("\n") ;
}

int main (int argc, char const *const *argv)
{
  static milter_timeouts const t = { .connect = 10, .command = 10, .data = 10 } ;
  milter_macro const conn[] = { { "j", "mx.example" }, { "{client_addr}", "192.0.2.7" }, { "{daemon_name}", "not-listed" }, { 0, 0 } } ;
  milter_macro const mail[] = { { "{mail_addr}", "a@example.org" }, { 0, 0 } } ;
  milter_macro const eom[] = { { "i", "QID123" }, { 0, 0 } } ;
  char const *const from[] = { "<a@example.org>", "SIZE=100", 0 } ;
  char const *const from2[] = { "<tempfail@example.org>", 0 } ;
  char const *const from3[] = { "<c@example.org>", 0 } ;
  char const *const rcpt1[] = { "<b@example.net>", 0 } ;
  char const *const rcpt2[] = { "<reject@example.net>", 0 } ;
  static char const body[] = "line one\r\nline two\r\n" ;
  milter_mods mods = MILTER_MODS_ZERO ;
  size_t i ;
  if (argc != 2) { fprintf(stderr, "usage: milter-drive ADDRESS\n") ; return 100 ; }
  tain_now_set_stopwatch_g() ;

  show("open", milter_open(&m, "test", argv[1], &t)) ;
  printf("negotiated actions=%x pflags=%x\n", (unsigned int)m.actions, (unsigned int)m.pflags) ;
  show("connect", milter_connect(&m, conn, "client.example", '4', 4242, "192.0.2.7")) ;
  show("helo", milter_helo(&m, 0, "client.example")) ;
  show("mail", milter_mail(&m, mail, from)) ;
  show("rcpt", milter_rcpt(&m, 0, rcpt1)) ;
  show("rcpt", milter_rcpt(&m, 0, rcpt2)) ;
  show("data", milter_data(&m, 0)) ;
  show("header", milter_header(&m, "Subject", 7, " hello", 6)) ;
  show("header", milter_header(&m, "From", 4, " <a@example.org>", 16)) ;
  show("header", milter_header(&m, "X-Folded", 8, " one\r\n\ttwo", 10)) ;
  show("eoh", milter_eoh(&m, 0)) ;
  show("body", milter_body(&m, body, sizeof(body) - 1)) ;
  show("body", milter_body(&m, "skip the rest\r\n", 15)) ;
  show("body", milter_body(&m, "never sent\r\n", 12)) ;
  show("eom", milter_eom(&m, eom, &mods)) ;
  for (i = 0 ; i < genalloc_len(milter_mod, &mods.list) ; i++)
  {
    milter_mod const *x = genalloc_s(milter_mod, &mods.list) + i ;
    printf("mod %c %u [%s] [%s]\n", x->type, (unsigned int)x->index, x->type == MILTER_MOD_REPLBODY ? "(body)" : mods.data.s + x->a, mods.data.s + x->b) ;
    if (x->type == MILTER_MOD_REPLBODY) { printf("replbody %zu ", x->alen) ; put(mods.data.s + x->a, x->alen) ; printf("\n") ; }
  }
  /* a second message, refused at MAIL, then ended */
  show("mail", milter_mail(&m, 0, from2)) ;
  milter_abort(&m) ;
  /* a third, abandoned mid-way (RSET) */
  show("mail", milter_mail(&m, 0, from3)) ;
  show("rcpt", milter_rcpt(&m, 0, rcpt1)) ;
  milter_abort(&m) ;
  /* still in step after the abort */
  show("mail", milter_mail(&m, 0, from3)) ;
  milter_abort(&m) ;
  milter_close(&m) ;
  milter_mods_free(&mods) ;
  return 0 ;
}
