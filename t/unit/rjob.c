/* ISC license: see LICENSE. */

/* Unit test of lib/rjob: a job's envelope checks, its body in the wire form, its recipients' results and its report. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "rjob.h"
#include "smtpdata.h"
#include "smtpreply.h"
#include "tap.h"

static char const *Z (stralloc *sa)
{
  if (!stralloc_0(sa)) return "" ;
  sa->len-- ;
  return sa->s ;
}

/* recipient i's text is t */
static int T (rjob const *j, unsigned int i, char const *t)
{
  return rjob_res(j, i)->len == strlen(t) && !memcmp(rjob_text(j, i), t, strlen(t)) ;
}

/* a reply as smtpclient reads it, line by line */
static void reply (smtpreply *r, char const *a, char const *b)
{
  smtpreply_reset(r) ;
  smtpreply_line(r, a, strlen(a)) ;
  if (b) smtpreply_line(r, b, strlen(b)) ;
}

int main (void)
{
  static rjob j = RJOB_ZERO ;
  static char const *const rcpts[] = { "a@x.example", "b@x.example", "", "c\r\nRSET@x.example" } ;
  stralloc sa = STRALLOC_ZERO ;
  smtpreply r = SMTPREPLY_ZERO ;
  char big[RJOB_TEXT_MAX + 10] ;
  int fd ;
  tap_plan(25) ;

  /* the envelope: addresses that would break a command line are refused at once */
  ok(rjob_start(&j, "ID1", "s@y.example", rcpts, 4, 0), "a job of four recipients") ;
  ok(rjob_status(&j, 0) == RJOB_PENDING && rjob_status(&j, 1) == RJOB_PENDING, "the good ones pending") ;
  ok(rjob_status(&j, 2) == RJOB_PERM && rjob_status(&j, 3) == RJOB_PERM && T(&j, 3, "501 5.1.3 invalid recipient address"),
    "an empty recipient and one with a line end: 501, permanent") ;
  ok(!rjob_done(&j), "not done: two pending") ;

  /* results: RCPT accepted, then the reply to the final dot for the accepted ones */
  ok(rjob_set(&j, 0, RJOB_ACCEPTED, "", 0), "the first accepted") ;
  reply(&r, "550-5.1.1 no such", "550 5.1.1 user") ;
  ok(rjob_set_reply(&j, 1, &r) && rjob_status(&j, 1) == RJOB_PERM && T(&j, 1, "550 5.1.1 no such 5.1.1 user"),
    "a 5xx to RCPT: permanent, the reply on one line") ;
  ok(!rjob_done(&j), "accepted is not final") ;
  reply(&r, "250 2.0.0 queued as X", 0) ;
  ok(rjob_set_all_reply(&j, &r, RJOB_ACCEPTED) && rjob_status(&j, 0) == RJOB_OK && rjob_status(&j, 1) == RJOB_PERM,
    "the final reply goes to the accepted only") ;
  ok(rjob_done(&j), "done") ;
  ok(rjob_report(&j, 7, &sa) && !strcmp(Z(&sa),
    "7 ok 0 250 2.0.0 queued as X\n7 perm 1 550 5.1.1 no such 5.1.1 user\n"
    "7 perm 2 501 5.1.3 invalid recipient address\n7 perm 3 501 5.1.3 invalid recipient address\n"),
    "the report: one line per recipient, in order") ;

  /* the reply classes */
  reply(&r, "421 4.3.2 bye", 0) ;
  ok(rjob_reply_status(&r) == RJOB_TEMP, "4xx: temporary") ;
  reply(&r, "354 go on", 0) ;
  ok(rjob_reply_status(&r) == RJOB_TEMP, "a 3xx where a result is due: temporary") ;

  /* a bad sender fails every recipient; the next job reuses the storage */
  ok(rjob_start(&j, "ID2", "s\n@y.example", rcpts, 2, 1) && rjob_status(&j, 0) == RJOB_PERM && rjob_status(&j, 1) == RJOB_PERM
   && T(&j, 1, "501 5.1.7 invalid sender address") && j.utf8 && !strcmp(j.id, "ID2"), "a sender with a line end: every recipient 501") ;

  /* a recipient left without a final result is reported temporary; texts are cut */
  ok(rjob_start(&j, "ID3", "s@y.example", rcpts, 2, 0), "a third job") ;
  memset(big, 'x', sizeof(big)) ;
  ok(rjob_set(&j, 1, RJOB_TEMP, big, sizeof(big)) && rjob_res(&j, 1)->len == RJOB_TEXT_MAX, "a text cut to RJOB_TEXT_MAX") ;
  ok(rjob_set(&j, 0, RJOB_ACCEPTED, "", 0) && !rjob_done(&j), "one accepted, not done") ;
  sa.len = 0 ;
  ok(rjob_report(&j, 0, &sa) && !strncmp(Z(&sa), "0 temp 0 \n0 temp 1 xxx", 22) && sa.len == 10 + 9 + RJOB_TEXT_MAX + 1, "accepted without a final reply: reported temporary") ;
  ok(rjob_set_all(&j, RJOB_TEMP, "451 lost", 8, RJOB_ACCEPTED) && rjob_status(&j, 0) == RJOB_TEMP && T(&j, 0, "451 lost") && rjob_res(&j, 1)->len == RJOB_TEXT_MAX,
    "set_all touches only the recipients in the state named") ;

  /* the body: after the envelope head, CRLF, dot-stuffed, with the final dot */
  if (!tap_tmpdir() || !tap_put("entry", "HEADHEADSubject: \xe9t\xe9\n\n.dot\nend\n")) { printf("Bail out! tmpdir\n") ; return 1 ; }
  fd = open(tap_path("entry"), O_RDONLY) ;
  ok(fd >= 0 && rjob_body(&j, fd, 8) == 1, "the body read") ;
  ok(j.wire.len == 31 && !memcmp(j.wire.s, "Subject: \xe9t\xe9\r\n\r\n..dot\r\nend\r\n.\r\n", 31), "in its wire form") ;
  ok(j.size == 27 && j.eightbit, "its size (RFC 1870: CRLF counted, no stuffed dot, no final dot) and 8 bits") ;
  ok(rjob_body(&j, fd, 1000) == 0 && errno == EINVAL, "a header length beyond the entry: unreadable") ;
  close(fd) ;
  ok(rjob_start(&j, "ID4", "s@y.example", rcpts, 1, 0) && !j.wire.len && !j.size && !j.eightbit, "a new job starts with no body") ;
  ok(tap_put("empty", "") && (fd = open(tap_path("empty"), O_RDONLY)) >= 0 && rjob_body(&j, fd, 0) == 1 && j.wire.len == 3 && !memcmp(j.wire.s, ".\r\n", 3),
    "an empty entry: the final dot alone") ;
  if (fd >= 0) close(fd) ;
  /* larger than RJOB_READ_MAX: mapped, the same wire form as read */
  {
    stralloc blob = STRALLOC_ZERO, want = STRALLOC_ZERO ;
    uint64_t size = 0 ;
    int e8 = 0, good = 1 ;
    while (blob.len < RJOB_READ_MAX + 5000) good &= stralloc_cats(&blob, ".a line with a dot\rand a CR\n") ;
    good &= stralloc_0(&blob) ;
    good &= smtpdata_encode(blob.s + 4, blob.len - 5, &want, &size, &e8) ;
    fd = good && rjob_start(&j, "ID5", "s@y.example", rcpts, 1, 0) && tap_put("big", blob.s) ? open(tap_path("big"), O_RDONLY) : -1 ;
    ok(fd >= 0 && rjob_body(&j, fd, 4) == 1 && j.wire.len == want.len && !memcmp(j.wire.s, want.s, want.len) && j.size == size,
      "an entry larger than RJOB_READ_MAX: mapped, the same wire form") ;
    if (fd >= 0) close(fd) ;
    stralloc_free(&blob) ; stralloc_free(&want) ;
  }
  tap_rmtmp() ;
  rjob_free(&j) ;
  stralloc_free(&sa) ;
  smtpreply_free(&r) ;
  return tap_done() ;
}
