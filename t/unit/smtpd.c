/* ISC license: see LICENSE. */

/*
 * Unit test of lib/smtpd, the SMTP session engine, driven over a socket
 * pair in this process: the client's whole side is written first (the
 * engine takes it as pipelined commands), the engine runs to its end,
 * then the replies and the log lines are read back. enqueue is a small
 * script that gives a fixed id and keeps the message it is handed.
 * Also AUTH PLAIN's splitting.
 */

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/tai.h>

#include "conf.h"
#include "smtpd.h"
#include "tap.h"

#define S(s) (s), (sizeof(s) - 1)
#define ID "006b0133f96614f000d0af13"

static char dir[] = "/tmp/ketch-smtpd.XXXXXX" ;
static conf cf ;
static stralloc path = STRALLOC_ZERO ;

static char const *in_dir (char const *name)
{
  path.len = 0 ;
  if (!stralloc_cats(&path, dir) || !stralloc_cats(&path, name) || !stralloc_0(&path)) _exit(111) ;
  return path.s ;
}

static void setup (void)
{
  stralloc sa = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  if (!mkdtemp(dir)) _exit(111) ;
  if (mkdir(in_dir("/spool"), 0700) < 0 || mkdir(in_dir("/prog"), 0700) < 0) _exit(111) ;
  stralloc_cats(&sa, "#!/bin/sh\necho " ID "\nexec cat > ") ;
  stralloc_cats(&sa, dir) ; stralloc_cats(&sa, "/msg\n") ;
  if (!openwritenclose_unsafe(in_dir("/prog/enqueue"), sa.s, sa.len) || chmod(path.s, 0755) < 0) _exit(111) ;
  sa.len = 0 ;
  stralloc_cats(&sa, "hostname mx.test.example\nlocal-domain test.example\nrelay-from 127.0.0.0/8\nlisten 127.0.0.1 port 2525\nlisten 127.0.0.1 port 2526 auth-required\nlisten 127.0.0.1 port 2527 plain-auth\nspool ") ;
  stralloc_cats(&sa, dir) ; stralloc_cats(&sa, "/spool\nprograms ") ;
  stralloc_cats(&sa, dir) ; stralloc_cats(&sa, "/prog\nauth-table ") ;
  stralloc_cats(&sa, dir) ; stralloc_cats(&sa, "/auth\n") ;
  if (!openwritenclose_unsafe(in_dir("/ketch.conf"), sa.s, sa.len)) _exit(111) ;
  if (!conf_load(&cf, path.s, &err)) { printf("Bail out! conf: %.*s\n", (int)err.len, err.s) ; fflush(stdout) ; _exit(1) ; }
  stralloc_free(&sa) ; stralloc_free(&err) ;
}

static void cleanup (void)
{
  unlink(in_dir("/msg")) ; unlink(in_dir("/prog/enqueue")) ; unlink(in_dir("/ketch.conf")) ;
  rmdir(in_dir("/prog")) ; rmdir(in_dir("/spool")) ; rmdir(dir) ;
}

static int said_next (void *ctx)
{
  ++*(unsigned int *)ctx ;
  return 1 ;
}

static void readall (int fd, stralloc *sa)
{
  char buf[4096] ;
  ssize_t r ;
  while ((r = read(fd, buf, sizeof(buf))) > 0) stralloc_catb(sa, buf, r) ;
}

/*
 * One session through s: the client sends script and closes its writing
 * side; replies and log get what the engine wrote. port picks the
 * listener. The engine's result.
 */
static int session (smtpd_session *s, char const *script, char const *port, stralloc *replies, stralloc *log, int (*next) (void *), void *ctx)
{
  smtpd_io io = SMTPD_IO_ZERO ;
  int sv[2], lp[2], r ;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipecoe(lp) < 0) _exit(111) ;
  if (write(sv[1], script, strlen(script)) != (ssize_t)strlen(script)) _exit(111) ;
  shutdown(sv[1], SHUT_WR) ;
  io.fdr = io.fdw = sv[0] ;
  io.logfd = lp[1] ;
  io.remoteip = "127.0.0.1" ; io.remoteport = "40000" ;
  io.localip = "127.0.0.1" ; io.localport = port ;
  io.confpath = in_dir("/ketch.conf") ;
  io.next = next ; io.next_ctx = ctx ;
  r = smtpd_run(s, &cf, &io) ;
  close(sv[0]) ; close(lp[1]) ;
  replies->len = 0 ; log->len = 0 ;
  readall(sv[1], replies) ;
  readall(lp[0], log) ;
  close(sv[1]) ; close(lp[0]) ;
  return r ;
}

/* the n-th reply (0: the greeting), its last line, NUL-terminated in out */
static int nth_reply (stralloc const *replies, unsigned int n, char *out, size_t max)
{
  size_t i = 0 ;
  while (i < replies->len)
  {
    char const *eol = memchr(replies->s + i, '\n', replies->len - i) ;
    size_t len = eol ? (size_t)(eol - (replies->s + i)) : replies->len - i ;
    if (len >= 4 && replies->s[i + 3] == ' ')
    {
      if (!n--)
      {
        if (len && replies->s[i + len - 1] == '\r') len-- ;
        if (len >= max) len = max - 1 ;
        memcpy(out, replies->s + i, len) ; out[len] = 0 ;
        return 1 ;
      }
    }
    i += len + 1 ;
  }
  return 0 ;
}

/* The guard table: every command in every state. want[state] is the
   expected reply, whole when it holds a space after the code, else its
   code alone. */
static char const *const prefix[4] =
{
  "",
  "EHLO client.example\r\n",
  "EHLO client.example\r\nMAIL FROM:<a@client.example>\r\n",
  "EHLO client.example\r\nMAIL FROM:<a@client.example>\r\nRCPT TO:<b@remote.example>\r\n",
} ;
static char const *const statename[4] = { "greeted", "helo", "mail", "rcpt" } ;

typedef struct row_s row ;
struct row_s
{
  char const *line ;
  char const *want[4] ;
} ;

static row const rows[] =
{
  { "HELO client.example", { "250", "250", "250", "250" } },
  { "EHLO client.example", { "250", "250", "250", "250" } },
  { "MAIL FROM:<x@client.example>", { "503 5.5.1 Send HELO or EHLO first", "250", "503 5.5.1 Nested MAIL command", "503 5.5.1 Nested MAIL command" } },
  { "RCPT TO:<c@remote.example>", { "503 5.5.1 Need MAIL before RCPT", "503 5.5.1 Need MAIL before RCPT", "250", "250" } },
  { "DATA", { "503 5.5.1 Need MAIL before DATA", "503 5.5.1 Need MAIL before DATA", "503 5.5.1 Need RCPT before DATA", "354" } },
  { "DATA x", { "501 5.5.4 Syntax: DATA", "501 5.5.4 Syntax: DATA", "501 5.5.4 Syntax: DATA", "501 5.5.4 Syntax: DATA" } },
  { "RSET", { "250", "250", "250", "250" } },
  { "RSET x", { "501 5.5.4 Syntax: RSET", "501 5.5.4 Syntax: RSET", "501 5.5.4 Syntax: RSET", "501 5.5.4 Syntax: RSET" } },
  { "NOOP", { "250", "250", "250", "250" } },
  { "VRFY x", { "252", "252", "252", "252" } },
  { "EXPN x", { "502 5.5.1 EXPN not available", "502", "502", "502" } },
  { "HELP", { "214", "214", "214", "214" } },
  { "STARTTLS", { "502 5.5.1 STARTTLS not available", "502", "502", "502" } },
  { "AUTH PLAIN", { "503 5.5.1 AUTH not available", "503", "503", "503" } },
  { "BOGUS", { "500 5.5.1 Command unrecognized", "500", "500", "500" } },
  { "QUIT", { "221", "221", "221", "221" } },
} ;
#define NROWS (sizeof(rows) / sizeof(row))

static int matches (char const *got, char const *want)
{
  return strchr(want, ' ') ? !strcmp(got, want) : !strncmp(got, want, 3) && got[3] == ' ' ;
}

static void guard_table (smtpd_session *s)
{
  stralloc script = STRALLOC_ZERO, replies = STRALLOC_ZERO, log = STRALLOC_ZERO ;
  unsigned int i, st ;
  for (st = 0 ; st < 4 ; st++)
  {
    unsigned int bad = 0 ;
    for (i = 0 ; i < NROWS ; i++)
    {
      char got[256] = "" ;
      unsigned int k = st > 0 ? st : 0 ;   /* replies before the command's, after the greeting */
      script.len = 0 ;
      stralloc_cats(&script, prefix[st]) ;
      stralloc_cats(&script, rows[i].line) ;
      stralloc_cats(&script, "\r\n") ;
      if (st == 3 && !strcmp(rows[i].line, "DATA")) stralloc_cats(&script, "Subject: t\r\n\r\nbody\r\n.\r\n") ;
      stralloc_cats(&script, "QUIT\r\n") ;
      stralloc_0(&script) ;
      session(s, script.s, "2525", &replies, &log, 0, 0) ;
      smtpd_wipe(s) ;
      if (!nth_reply(&replies, 1 + k, got, sizeof(got)) || !matches(got, rows[i].want[st]))
      {
        printf("# %s in state %s: got \"%s\", want \"%s\"\n", rows[i].line, statename[st], got, rows[i].want[st]) ;
        bad++ ;
      }
    }
    ok(!bad, "the guard table: every command in state %s gets its reply", statename[st]) ;
  }
  /* the listener's requirements: auth-required refuses MAIL (RFC 4954 §6) */
  {
    char got[256] = "" ;
    session(s, "EHLO client.example\r\nMAIL FROM:<a@client.example>\r\nQUIT\r\n", "2526", &replies, &log, 0, 0) ;
    smtpd_wipe(s) ;
    ok(nth_reply(&replies, 2, got, sizeof(got)) && !strcmp(got, "530 5.7.0 Authentication required"), "an auth-required listener: 530 at MAIL (%s)", got) ;
  }
  /* AUTH where it is offered: not during a transaction (RFC 4954 §4) */
  {
    char got[256] = "" ;
    session(s, "EHLO client.example\r\nMAIL FROM:<a@client.example>\r\nAUTH PLAIN\r\nQUIT\r\n", "2527", &replies, &log, 0, 0) ;
    smtpd_wipe(s) ;
    ok(nth_reply(&replies, 3, got, sizeof(got)) && !strcmp(got, "503 5.5.1 AUTH not permitted during a mail transaction"), "a plain-auth listener: AUTH in a transaction gets 503 (%s)", got) ;
  }
  /* every refusal counts: the max_errors-th ends the session with 421 */
  {
    char got[256] = "" ;
    unsigned int n = 0 ;
    script.len = 0 ;
    for (i = 0 ; i < cf.max_errors + 5 ; i++) stralloc_cats(&script, "RCPT TO:<c@remote.example>\r\n") ;
    stralloc_0(&script) ;
    session(s, script.s, "2525", &replies, &log, 0, 0) ;
    smtpd_wipe(s) ;
    while (nth_reply(&replies, n, got, sizeof(got))) n++ ;
    nth_reply(&replies, n - 1, got, sizeof(got)) ;
    ok(n == cf.max_errors + 2 && !strncmp(got, "421 ", 4), "guard refusals count towards limit errors: %u replies, the last %s", n, got) ;
  }
  stralloc_free(&script) ; stralloc_free(&replies) ; stralloc_free(&log) ;
}

static void plain_tests (void)
{
  size_t u = 0, ul = 0, p = 0, pl = 0 ;
  ok(smtpd_plain_split(S("\0alice\0pw"), &u, &ul, &p, &pl) == 1 && u == 1 && ul == 5 && p == 7 && pl == 2, "PLAIN: empty authzid") ;
  ok(smtpd_plain_split(S("alice\0alice\0pw"), &u, &ul, &p, &pl) == 1 && u == 6 && ul == 5 && p == 12 && pl == 2, "PLAIN: authzid the authcid") ;
  ok(smtpd_plain_split(S("bob\0alice\0pw"), &u, &ul, &p, &pl) == -1, "PLAIN: another authzid is not permitted") ;
  ok(!smtpd_plain_split(S("\0alice"), &u, &ul, &p, &pl) && !smtpd_plain_split(S("alice"), &u, &ul, &p, &pl), "PLAIN: a missing NUL does not parse") ;
  ok(smtpd_plain_split(S("\0alice\0"), &u, &ul, &p, &pl) == 1 && pl == 0, "PLAIN: an empty password parses (and is checked)") ;
}

/* the log without its session ids: the rest of every line is the same in a replay */
static void strip_ids (stralloc *log)
{
  size_t i = 0, j = 0 ;
  while (i < log->len)
  {
    char const *eol = memchr(log->s + i, '\n', log->len - i) ;
    size_t len = eol ? (size_t)(eol - (log->s + i)) + 1 : log->len - i ;
    size_t skip = len > QUEUE_ID_LEN ? QUEUE_ID_LEN : 0 ;
    memmove(log->s + j, log->s + i + skip, len - skip) ;
    j += len - skip ;
    i += len ;
  }
  log->len = j ;
}

static int all_zero (char const *p, size_t n)
{
  while (n--) if (*p++) return 0 ;
  return 1 ;
}

static void reuse_tests (smtpd_session *s)
{
  static char const script[] = "EHLO client.example\r\nMAIL FROM:<a@client.example>\r\nRCPT TO:<b@remote.example>\r\nDATA\r\nSubject: reuse\r\n\r\nbody\r\n.\r\nQUIT\r\n" ;
  static char const hdr[] = "Received: from client.example ([127.0.0.1])\n\tby mx.test.example (ketch) with ESMTP id " ID "\n\tfor <b@remote.example>;\n\t" ;
  stralloc r1 = STRALLOC_ZERO, r2 = STRALLOC_ZERO, l1 = STRALLOC_ZERO, l2 = STRALLOC_ZERO, msg = STRALLOC_ZERO ;
  unsigned int told = 0 ;
  int a, b ;
  a = session(s, script, "2525", &r1, &l1, &said_next, &told) ;
  smtpd_wipe(s) ;
  ok(all_zero(s->inbuf, sizeof(s->inbuf)) && all_zero(s->outbuf, sizeof(s->outbuf)) && !s->sender.len && s->state == SMTPD_S_GREETED && !s->nrcpt
     && (!s->sender.s || all_zero(s->sender.s, s->sender.a)) && (!s->logsa.s || all_zero(s->logsa.s, s->logsa.a)), "smtpd_wipe: nothing of the client is left") ;
  if (!openslurpclose(&msg, in_dir("/msg")) || !stralloc_0(&msg)) msg.len = 0 ;
  ok(msg.len > sizeof(hdr) && !memcmp(msg.s, hdr, sizeof(hdr) - 1) && strstr(msg.s, "\nSubject: reuse\n\nbody\n.\n"), "enqueue got the Received field, then the message") ;
  b = session(s, script, "2525", &r2, &l2, &said_next, &told) ;
  smtpd_wipe(s) ;
  ok(a == 1 && b == 1 && told == 2, "a clean end asks whether to serve another client, and says so (%d %d %u)", a, b, told) ;
  ok(r1.len && r1.len == r2.len && !memcmp(r1.s, r2.s, r1.len), "two sessions through one struct, wiped in between: the same replies") ;
  strip_ids(&l1) ; strip_ids(&l2) ;
  ok(l1.len && l1.len == l2.len && !memcmp(l1.s, l2.s, l1.len), "and the same log lines, but for the session id") ;
  ok(strstr(l1.s, " connect ip=127.0.0.1 port=40000\n") && strstr(l1.s, " accepted id=" ID " size=") && strstr(l1.s, " disconnect reason=quit\n"), "log lines: key=value after the session id") ;
  a = session(s, "QUIT\r\n", "2525", &r1, &l1, 0, 0) ;
  smtpd_wipe(s) ;
  b = session(s, "AUTH PLAIN\r\n*\r\nQUIT\r\n", "2527", &r1, &l1, &said_next, &told) ;
  smtpd_wipe(s) ;
  ok(!a && !b && told == 2, "no reuse without io.next, nor after AUTH was tried") ;
  b = session(s, "NOOP\r\n", "2525", &r1, &l1, &said_next, &told) ;
  smtpd_wipe(s) ;
  ok(b == 1 && told == 3 && strstr(l1.s, " disconnect reason=eof\n"), "end of file between transactions is a clean end") ;
  stralloc_free(&r1) ; stralloc_free(&r2) ; stralloc_free(&l1) ; stralloc_free(&l2) ; stralloc_free(&msg) ;
}

int main (void)
{
  static smtpd_session s = SMTPD_SESSION_ZERO ;
  tap_plan(7 + 5 + 8) ;
  tain_now_set_stopwatch_g() ;
  setup() ;
  guard_table(&s) ;
  plain_tests() ;
  reuse_tests(&s) ;
  smtpd_free(&s) ;
  conf_free(&cf) ;
  cleanup() ;
  stralloc_free(&path) ;
  return tap_done() ;
}
