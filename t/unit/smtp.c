/* ISC license: see LICENSE. */

/* lib/smtp: command-line checks, verbs, paths, MAIL/RCPT parameters, base64 */

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

int main (void)
{
  char out[64] ;
  size_t n ;
  smtp_mailparams p = SMTP_MAILPARAMS_ZERO ;
  tap_plan(39) ;

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

  ok(smtp_b64_decode(S("AGFsaWNlAHNlY3JldA=="), out, sizeof(out), &n) && n == 13 && !memcmp(out, "\0alice\0secret", 13), "base64 decode with padding") ;
  ok(!smtp_b64_decode(S("AGFsaWNl*HNlY3JldA=="), out, sizeof(out), &n), "base64: bad character refused") ;
  ok(!smtp_b64_decode(S("AGF"), out, sizeof(out), &n), "base64: bad length refused") ;
  n = smtp_b64_encode("Username:", 9, out) ;
  ok(n == 12 && !memcmp(out, "VXNlcm5hbWU6", 12), "base64 encode") ;
  return tap_done() ;
}
