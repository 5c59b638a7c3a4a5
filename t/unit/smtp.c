/* ISC license: see LICENSE. */

/* lib/smtp: command-line checks, verbs, paths, MAIL/RCPT parameters, DATA */

#include <string.h>

#include "smtp.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

static void verb (char const *line, int want, size_t wantarg)
{
  size_t a = 999 ;
  int v = smtp_verb(line, strlen(line), &a) ;
  ok(v == want && a == wantarg, "verb of \"%s\" = %d arg %zu (got %d arg %zu)", line, want, wantarg, v, a) ;
}

static void path (char const *s, int want, size_t wantlen, size_t wantparams)
{
  size_t pl = 0, pp = 0 ;
  int r = smtp_path_split(s, strlen(s), &pl, &pp) ;
  ok(r == want && (!r || (pl == wantlen && pp == wantparams)), "path split \"%s\" -> %d %zu %zu (got %d %zu %zu)", s, want, wantlen, wantparams, r, pl, pp) ;
}

static void mparams (char const *s, int want)
{
  smtp_mailparams p = SMTP_MAILPARAMS_ZERO ;
  int r = smtp_mail_params(s, strlen(s), &p) ;
  ok(r == want, "MAIL params \"%s\" -> %d (got %d)", s, want, r) ;
}

static char dout[4096] ;
static size_t dlen ;

static void dput (void *ctx, char const *s, size_t n)
{
  (void)ctx ;
  if (dlen + n <= sizeof(dout)) { memcpy(dout + dlen, s, n) ; dlen += n ; }
}

/* feed in one piece, then byte by byte: both must agree */
static void data (char const *name, char const *in, size_t len, uint64_t max, char const *want, size_t wantused, unsigned int wantbad, int wantdone)
{
  smtp_data d = SMTP_DATA_ZERO ;
  char first[4096] ;
  size_t used, flen, i = 0, used2 = 0 ;
  unsigned int bad1 ;
  int done1 ;
  d.max = max ;
  dlen = 0 ;
  used = smtp_data_feed(&d, in, len, &dput, 0) ;
  memcpy(first, dout, dlen) ; flen = dlen ;
  bad1 = d.bad ; done1 = d.done ;
  {
    smtp_data e = SMTP_DATA_ZERO ;
    e.max = max ;
    dlen = 0 ;
    for (; i < len && !e.done ; i++) used2 += smtp_data_feed(&e, in + i, 1, &dput, 0) ;
    ok(used == wantused && bad1 == wantbad && done1 == wantdone && (wantbad || !want || (flen == strlen(want) && !memcmp(first, want, flen)))
      && used2 == used && e.bad == bad1 && e.done == done1 && (wantbad || (dlen == flen && !memcmp(dout, first, flen))),
      "DATA %s: used %zu bad %u done %d (got %zu %u %d, bytewise %zu %u %d)", name, wantused, wantbad, wantdone, used, bad1, done1, used2, e.bad, e.done) ;
  }
}

int main (void)
{
  smtp_mailparams p = SMTP_MAILPARAMS_ZERO ;
  tap_plan(54) ;

  ok(smtp_line_check(S("EHLO x")) == SMTP_LINE_OK, "clean line") ;
  ok(smtp_line_check(S("EHLO\rx")) == SMTP_LINE_BARECR, "bare CR found") ;
  ok(smtp_line_check(S("EHLO\nx")) == SMTP_LINE_BARELF, "bare LF found") ;
  ok(smtp_line_check(S("EH\0LO")) == SMTP_LINE_NUL, "NUL found") ;

  verb("EHLO client.example", SMTP_EHLO, 5) ;
  verb("ehlo", SMTP_EHLO, 4) ;
  verb("MAIL FROM:<a@b>", SMTP_MAIL, 10) ;
  verb("mail from:<a@b>", SMTP_MAIL, 10) ;
  verb("RCPT TO:<a@b>", SMTP_RCPT, 8) ;
  verb("MAIL <a@b>", SMTP_UNKNOWN, 10) ;
  verb("DATA", SMTP_DATA, 4) ;
  verb("STARTTLS", SMTP_STARTTLS, 8) ;
  verb("AUTH PLAIN", SMTP_AUTH, 5) ;
  verb("QUITX", SMTP_UNKNOWN, 5) ;
  verb("", SMTP_UNKNOWN, 0) ;

  path("<a@b>", 1, 5, 5) ;
  path("<>", 1, 2, 2) ;
  path("<a@b> SIZE=10", 1, 5, 6) ;
  path("<a@b>SIZE=10", 0, 0, 0) ;
  path("<\"a>b\"@c>", 1, 9, 9) ;
  path("<\"a\\\"b\"@c>", 1, 10, 10) ;
  path("<a@b", 0, 0, 0) ;
  path("a@b", 0, 0, 0) ;
  path("<a <b>", 0, 0, 0) ;

  mparams("", SMTP_PARAM_OK) ;
  mparams("SIZE=1000 BODY=8BITMIME SMTPUTF8 AUTH=<>", SMTP_PARAM_OK) ;
  mparams("body=7bit", SMTP_PARAM_OK) ;
  mparams("SIZE=", SMTP_PARAM_SYNTAX) ;
  mparams("SIZE=12x", SMTP_PARAM_SYNTAX) ;
  mparams("BODY=BINARYMIME", SMTP_PARAM_SYNTAX) ;
  mparams("SMTPUTF8=yes", SMTP_PARAM_SYNTAX) ;
  mparams("RET=HDRS", SMTP_PARAM_UNKNOWN) ;
  ok(!smtp_mail_params(S("SIZE=123456789012345678901234"), &p) == 0, "SIZE with more than 20 digits refused") ;
  ok(!smtp_mail_params(S("SIZE=99999999999999999999"), &p) && p.size == UINT64_MAX, "SIZE overflowing 64 bits saturates") ;
  ok(smtp_rcpt_params(S("NOTIFY=NEVER")) == SMTP_PARAM_UNKNOWN, "RCPT parameters are unknown") ;

  data("simple", S("hi\r\n.\r\n"), 0, "hi\n.\n", 7, 0, 1) ;
  data("empty message", S(".\r\nQUIT\r\n"), 0, ".\n", 3, 0, 1) ;
  data("dot-stuffing kept", S("..x\r\n.y\r\n.\r\n"), 0, "..x\n.y\n.\n", 12, 0, 1) ;
  data("stops at the end", S("a\r\n.\r\nMAIL FROM:<x@y>\r\n"), 0, "a\n.\n", 6, 0, 1) ;
  data("not ended yet", S("a\r\n.\r"), 0, "a\n.", 5, 0, 0) ;
  data("bare LF dot LF is no end", S("a\n.\nMAIL FROM:<e@x>\r\n.\r\nNOOP\r\n"), 0, "", 24, SMTP_DATA_BARE, 1) ;
  data("bare CR dot CR is no end", S("a\r.\rb\r\n.\r\n"), 0, "", 10, SMTP_DATA_BARE, 1) ;
  data("CRLF dot LF is no end", S("a\r\n.\nb\r\n.\r\n"), 0, "", 11, SMTP_DATA_BARE, 1) ;
  data("LF dot CRLF is no end", S("a\n.\r\nb\r\n.\r\n"), 0, "", 11, SMTP_DATA_BARE, 1) ;
  data("NUL", S("a\0b\r\n.\r\n"), 0, "", 8, SMTP_DATA_NUL, 1) ;
  data("size limit", S("0123456789\r\n.\r\n"), 8, "", 15, SMTP_DATA_SIZE, 1) ;
  /* the size is the message as stored, as enqueue counts it: the end
     marker and the stuffing dots are not message octets (RFC 1870 §4) */
  data("size limit met exactly", S("0123456789\r\n.\r\n"), 11, "0123456789\n.\n", 15, 0, 1) ;
  data("size limit missed by one", S("0123456789\r\n.\r\n"), 10, "", 15, SMTP_DATA_SIZE, 1) ;
  data("stuffing dots are not counted", S("..x\r\n..\r\n.\r\n"), 5, "..x\n..\n.\n", 12, 0, 1) ;
  data("an empty message fits a limit of 1 octet", S(".\r\n"), 1, ".\n", 3, 0, 1) ;
  {
    char big[1010] ;
    memset(big, 'x', 998) ; memcpy(big + 998, "\r\n.\r\n", 5) ;
    data("998-octet line", big, 1003, 0, 0, 1003, 0, 1) ;
    memset(big, 'x', 999) ; memcpy(big + 999, "\r\n.\r\n", 5) ;
    data("999-octet line", big, 1004, 0, 0, 1004, SMTP_DATA_LONG, 1) ;
    /* RFC 5321 §4.5.3.1.6: the stuffing dot is not part of the 1000 */
    big[0] = '.' ;
    data("999-octet line whose first octet is a stuffing dot", big, 1004, 0, 0, 1004, 0, 1) ;
    memset(big, 'x', 1000) ; big[0] = '.' ; memcpy(big + 1000, "\r\n.\r\n", 5) ;
    data("1000-octet line whose first octet is a stuffing dot", big, 1005, 0, 0, 1005, SMTP_DATA_LONG, 1) ;
  }
  return tap_done() ;
}
