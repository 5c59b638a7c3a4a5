/* ISC license: see LICENSE. */

/* Unit test of lib/ctl: queue-ctl's request lines, as written and as the scheduler reads them from ctl/; remove sender's match. */

#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "envelope.h"
#include "queue.h"

#include "ctl.h"
#include "tap.h"

/* format, then parse back: the same operation and argument */
static int round_trip (unsigned int op, char const *arg)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *got ;
  int r = ctl_format(&sa, op, arg) && stralloc_0(&sa) && ctl_parse(sa.s, &got) == op && (op == CTL_RETRY_ALL || !strcmp(got, arg)) ;
  stralloc_free(&sa) ;
  return r ;
}

static stralloc got = STRALLOC_ZERO ;   /* "name line|!error" lines */

static void take (char *line, char const *fn, char const *err, void *data)
{
  stralloc_cats(&got, fn) ; stralloc_cats(&got, " ") ;
  if (line) stralloc_cats(&got, line) ; else { stralloc_cats(&got, "!") ; stralloc_cats(&got, err) ; }
  stralloc_cats(&got, "\n") ;
}

/* an entry from sender */
static void entry (char const *id, char const *sender)
{
  envelope e = ENVELOPE_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  char fn[QUEUE_PATH_MAX] ;
  envelope_init(&e, sender) ; envelope_add_rcpt(&e, "r@y.example") ;
  envelope_encode(&e, &sa) ; stralloc_cats(&sa, "\nbody\n") ;
  queue_path(fn, "queue", id) ;
  fn[8] = 0 ; mkdir("queue", 0700) ; mkdir(fn, 0700) ;
  queue_path(fn, "queue", id) ;
  openwritenclose_unsafe(fn, sa.s, sa.len) ;
  envelope_free(&e) ; stralloc_free(&sa) ;
}

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char line[64] ;
  char const *arg ;
  tap_plan(23) ;
  ok(ctl_op("retry", "all") == CTL_RETRY_ALL && ctl_op("retry", "domain") == CTL_RETRY_DOMAIN && ctl_op("retry", "0123") == CTL_RETRY, "retry all, domain, id") ;
  ok(ctl_op("remove", "sender") == CTL_REMOVE_SENDER && ctl_op("remove", "0123") == CTL_REMOVE, "remove sender, id") ;
  ok(ctl_op("hold", "x") == CTL_HOLD && ctl_op("release", "x") == CTL_RELEASE, "hold, release") ;
  ok(ctl_op("delete", "x") == CTL_NOP, "an unknown verb") ;
  ok(ctl_format(&sa, CTL_RETRY_ALL, 0) && sa.len == 10 && !memcmp(sa.s, "retry all\n", 10), "retry all is one line") ;
  sa.len = 0 ;
  ok(ctl_format(&sa, CTL_REMOVE_SENDER, "<>") && sa.len == 17 && !memcmp(sa.s, "remove sender <>\n", 17), "remove sender <>") ;
  ok(!ctl_format(&sa, CTL_NOP, "x"), "no line for no operation") ;
  ok(round_trip(CTL_RETRY_ALL, 0), "retry all round trip") ;
  ok(round_trip(CTL_RETRY_DOMAIN, "example.org"), "retry domain round trip") ;
  ok(round_trip(CTL_REMOVE_SENDER, "\"a b\"@example.org"), "remove sender round trip, a quoted local part") ;
  ok(round_trip(CTL_RETRY, "0123456789abcdef01234567") && round_trip(CTL_HOLD, "0123456789abcdef01234567"), "retry, hold round trip") ;
  ok(round_trip(CTL_RELEASE, "0123456789abcdef01234567") && round_trip(CTL_REMOVE, "0123456789abcdef01234567"), "release, remove round trip") ;
  strcpy(line, "hold 0123 \r\n") ;
  ok(ctl_parse(line, &arg) == CTL_HOLD && !strcmp(arg, "0123") && !strcmp(line, "hold 0123"), "trailing blanks and CRLF cut off in place") ;
  strcpy(line, "retry domain") ;
  ok(ctl_parse(line, &arg) == CTL_RETRY && !strcmp(arg, "domain"), "retry domain without a domain: an id named domain (the scheduler finds no such message)") ;
  strcpy(line, "retry all\n") ;
  ok(ctl_parse(line, &arg) == CTL_RETRY_ALL, "retry all with its newline") ;
  strcpy(line, "retry allx") ;
  ok(ctl_parse(line, &arg) == CTL_RETRY && !strcmp(arg, "allx"), "retry allx is an id") ;
  strcpy(line, "frobnicate 1") ;
  ok(ctl_parse(line, &arg) == CTL_NOP, "an unknown command") ;

  if (!tap_tmpdir() || chdir(tap_dir()) < 0) return 111 ;
  ctl_read(&take, 0) ;
  ok(!got.len, "no ctl/: nothing") ;
  mkdir("ctl", 0700) ;
  {
    char big[CTL_LINE_MAX + 1] ;
    memset(big, 'x', sizeof(big)) ;
    openwritenclose_unsafe("ctl/a", "retry all\n", 10) ;
    openwritenclose_unsafe("ctl/b.tmp", "hold x\n", 7) ;
    openwritenclose_unsafe("ctl/.c", "hold y\n", 7) ;
    openwritenclose_unsafe("ctl/big", big, sizeof(big)) ;
  }
  ctl_read(&take, 0) ;
  stralloc_0(&got) ;
  ok(!!strstr(got.s, "ctl/a retry all\n"), "a request: its line") ;
  ok(strstr(got.s, "ctl/big !too long\n") && !strstr(got.s, "b.tmp") && !strstr(got.s, ".c "), "one too long: an error; NAME.tmp and dot files not read") ;
  ok(access("ctl/a", F_OK) < 0 && access("ctl/big", F_OK) < 0 && !access("ctl/b.tmp", F_OK) && !access("ctl/.c", F_OK), "the ones read are unlinked, the others left") ;
  {
    stralloc buf = STRALLOC_ZERO ;
    entry("0123456789abcdef01234567", "Someone@X.example") ;
    entry("0123456789abcdef01234568", "") ;
    ok(ctl_sender_is("0123456789abcdef01234567", "someone@x.example", &buf) && !ctl_sender_is("0123456789abcdef01234567", "other@x.example", &buf)
      && !ctl_sender_is("0123456789abcdef01234567", "<>", &buf), "a sender matches in any case, not another") ;
    ok(ctl_sender_is("0123456789abcdef01234568", "<>", &buf) && !ctl_sender_is("0123456789abcdef01234568", "someone@x.example", &buf)
      && !ctl_sender_is("0123456789abcdef01234569", "<>", &buf), "<> is the null sender; no entry: no match") ;
    stralloc_free(&buf) ;
  }
  tap_rmtmp() ;
  stralloc_free(&got) ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
