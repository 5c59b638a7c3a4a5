/* ISC license: see LICENSE. */

/* lib/enqclient: the request's bytes, and every first answer and status
   a server can give, over a socketpair; then the hand-off itself
   (enqclient_submit, enqclient_finish) against a fake enqueue -S and a
   forked server on a Unix socket: the socket when it answers, enqueue
   when it does not, a refusal either way, a crash, an abort; a socket
   kept from message to message (h.keep), and replaced once when the
   server closed it */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "enqclient.h"
#include "tap.h"

static int pair[2] ;

static void server_says (char const *s, size_t n, int close_after)
{
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0) _exit(111) ;
  if (n && write(pair[1], s, n) != (ssize_t)n) _exit(111) ;
  if (close_after) close(pair[1]) ;
}


static char dir[] = "/tmp/ketch-enqclient.XXXXXX" ;
static char fn[256] ;

static char const *path (char const *name)
{
  snprintf(fn, sizeof(fn), "%s/%s", dir, name) ;
  return fn ;
}

/* the file holds want[0..len) */
static int file_isb (char const *name, char const *want, size_t len)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = openslurpclose(&sa, path(name)) && sa.len == len && !memcmp(sa.s, want, sa.len) ;
  if (!r && sa.len) fprintf(stderr, "# %s: %.*s\n", name, (int)sa.len, sa.s) ;
  stralloc_free(&sa) ;
  return r ;
}

static int file_is (char const *name, char const *want)
{
  return file_isb(name, want, strlen(want)) ;
}

/*
 * A server on the socket for one connection: it reads the envelope,
 * then says first (nothing: closes unanswered), reads the message to its
 * final dot or end of file, and answers "0" or "111" for them.
 */
/* the test socket, listening; the test ends (111) if it cannot be made */
static int listen_sock (void)
{
  struct sockaddr_un sun ;
  int l = socket(AF_UNIX, SOCK_STREAM, 0) ;
  memset(&sun, 0, sizeof(sun)) ;
  sun.sun_family = AF_UNIX ;
  strcpy(sun.sun_path, path("sock")) ;
  unlink(sun.sun_path) ;
  if (l < 0 || bind(l, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(l, 4) < 0) _exit(111) ;
  return l ;
}

static pid_t serve_once (char const *first)
{
  int l = listen_sock() ;
  pid_t pid ;
  pid = fork() ;
  if (pid < 0) _exit(111) ;
  if (!pid)
  {
    char buf[4096] ;
    size_t n = 0 ;
    ssize_t r ;
    int fd = accept(l, 0, 0) ;
    if (fd < 0) _exit(1) ;
    r = read(fd, buf, sizeof(buf)) ;
    if (r <= 0) _exit(1) ;
    /* what came, for the test to look at */
    if (!openwritenclose_unsafe(path("req"), buf, r)) _exit(1) ;
    if (!*first) _exit(0) ;
    if (write(fd, first, strlen(first)) < 0) _exit(1) ;
    if (strlen(first) != QUEUE_ID_LEN + 1) _exit(0) ;
    for (;;)
    {
      r = read(fd, buf + n, sizeof(buf) - n) ;
      if (r <= 0) break ;
      n += r ;
      if (n >= 3 && !memcmp(buf + n - 3, "\n.\n", 3)) break ;
    }
    if (write(fd, r > 0 ? "0\n" : "111\n", r > 0 ? 2 : 4) < 0) _exit(1) ;
    _exit(0) ;
  }
  close(l) ;
  return pid ;
}

/*
 * A server that takes conns connections one after another and, on each,
 * per messages (per 0: until the client's end of file), answering the
 * id and 0 for each, then closes it; "served" gets 'c' per connection
 * and 'm' per message. The request and the message each come in one
 * write of the client's, read as such here.
 */
static pid_t serve_kept (unsigned int conns, unsigned int per)
{
  int l = listen_sock() ;
  pid_t pid ;
  unlink(path("served")) ;
  pid = fork() ;
  if (pid < 0) _exit(111) ;
  if (!pid)
  {
    char log[64] ;
    size_t k = 0 ;
    while (conns--)
    {
      unsigned int m = 0 ;
      int fd = accept(l, 0, 0) ;
      if (fd < 0) _exit(1) ;
      if (k < sizeof(log)) log[k++] = 'c' ;
      while (!per || m < per)
      {
        char buf[4096] ;
        size_t n = 0 ;
        ssize_t r = read(fd, buf, sizeof(buf)) ;
        if (r <= 0) break ;
        if (write(fd, "0123456789abcdef01234567\n", 25) != 25) _exit(1) ;
        for (;;)
        {
          r = read(fd, buf + n, sizeof(buf) - n) ;
          if (r <= 0) _exit(1) ;
          n += r ;
          if (n >= 3 && !memcmp(buf + n - 3, "\n.\n", 3)) break ;
        }
        if (write(fd, "0\n", 2) != 2) _exit(1) ;
        if (k < sizeof(log)) log[k++] = 'm' ;
        m++ ;
      }
      close(fd) ;
    }
    if (!openwritenclose_unsafe(path("served"), log, k)) _exit(1) ;
    _exit(0) ;
  }
  close(l) ;
  return pid ;
}

static void reap (pid_t pid)
{
  int w ;
  waitpid(pid, &w, 0) ;
  unlink(path("sock")) ;
}

static unsigned int hflags = 0 ;
static char const *hreason = 0 ;

/* the hand-off with the caller's h */
static int handoff_h (enqclient *h, conf const *c, char const *sender, char const *auth, char const *rcpts, size_t rlen, char *id, stralloc *diag) ;

/* the hand-off: submit (with hflags and hreason); when it gives an id, the message, then finish. The code, or 1000 + submit's */
static int handoff (conf const *c, char const *sender, char const *auth, char const *rcpts, size_t rlen, char *id, stralloc *diag)
{
  enqclient h = ENQCLIENT_ZERO ;
  return handoff_h(&h, c, sender, auth, rcpts, rlen, id, diag) ;
}

static int handoff_h (enqclient *h, conf const *c, char const *sender, char const *auth, char const *rcpts, size_t rlen, char *id, stralloc *diag)
{
  enqclient_req r = { .conffile = "/x.conf", .sender = sender, .auth = auth, .rcpts = rcpts, .rlen = rlen, .flags = hflags, .reason = hreason, .deadline = 0 } ;
  stralloc m = STRALLOC_ZERO ;
  tain d ;
  int e ;
  tain_now_g() ; tain_addsec_g(&d, 5) ;
  r.deadline = &d ;
  unlink(path("args")) ;
  e = enqclient_submit(h, c, &r, diag) ;
  if (e) return 1000 + e ;
  strcpy(id, h->id) ;
  if (!enqclient_stuff(&m, "Subject: x\n\n.dot\n", 17) || write(h->fd, m.s, m.len) != (ssize_t)m.len) return -2 ;
  stralloc_free(&m) ;
  return enqclient_finish(h, diag) ;
}

int main (void)
{
  char id[64] ;
  char buf[256] ;
  stralloc diag = STRALLOC_ZERO ;
  int st ;
  ssize_t r ;
  tain d ;
  tap_plan(67) ;
  tain_now_set_stopwatch_g() ;

  server_says("", 0, 0) ;
  {
    enqclient_req rq = { .sender = "a@b.example", .rcpts = "c@d.example\0e@f.example\0", .rlen = 24 } ;
    ok(enqclient_request(pair[0], &rq), "request sent") ;
    r = read(pair[1], buf, sizeof(buf)) ;
    ok(r == 41 && !memcmp(buf, "37:a@b.example\0\0c@d.example\0e@f.example\0,", 41), "request: a netstring of sender, empty auth, recipients, each NUL-terminated") ;
    rq.sender = "" ; rq.auth = "u" ; rq.rcpts = "x@y\0" ; rq.rlen = 4 ;
    ok(enqclient_request(pair[0], &rq), "null sender, an auth user") ;
    r = read(pair[1], buf, sizeof(buf)) ;
    ok(r == 10 && !memcmp(buf, "7:\0u\0x@y\0,", 10), "... encoded as 7:NUL u NUL x@y NUL,") ;
    rq.reason = "spam" ;
    ok(enqclient_request(pair[0], &rq) && read(pair[1], buf, sizeof(buf)) == 10, "a reason without the hold flag: not sent, the old form") ;
    rq.flags = ENQCLIENT_F_HOLD | ENQCLIENT_F_SIGN ;
    ok(enqclient_request(pair[0], &rq), "hold and sign, with a reason") ;
    r = read(pair[1], buf, sizeof(buf)) ;
    ok(r == 19 && !memcmp(buf, "15::3:spam\0\0u\0x@y\0,", 19), "... the options first: ':', the flags in decimal, ':', the reason, NUL") ;
    rq.flags = ENQCLIENT_F_SIGN ;
    ok(enqclient_request(pair[0], &rq) && (r = read(pair[1], buf, sizeof(buf))) == 15 && !memcmp(buf, "11::2:\0\0u\0x@y\0,", 15), "sign alone: the reason is not sent") ;
    rq.flags = 0 ; rq.sender = ":1:" ;
    ok(enqclient_request(pair[0], &rq) && (r = read(pair[1], buf, sizeof(buf))) == 18 && !memcmp(buf, "14::0:\0:1:\0u\0x@y\0,", 18), "a sender that looks like options: options ':0:' before it, never read as them") ;
  }
  close(pair[0]) ; close(pair[1]) ;

  /* a filter's words made a reason the queue takes */
  {
    char rs[ENQCLIENT_REASON_MAX + 1] ;
    char longr[ENQCLIENT_REASON_MAX + 10] ;
    char const *p ;
    ok((p = enqclient_reason(rs, "spam\r\n\tcaf\303\251", 12)) == rs && !strcmp(rs, "spam???caf??"), "control and 8-bit octets become '?'") ;
    memset(longr, 'x', sizeof(longr)) ;
    ok(enqclient_reason(rs, longr, sizeof(longr)) && strlen(rs) == ENQCLIENT_REASON_MAX, "cut to ENQCLIENT_REASON_MAX") ;
    ok(!enqclient_reason(rs, "", 0) && !rs[0], "nothing: no reason") ;
  }

  /* the server's reading: both forms, and what is malformed */
  {
    enqclient_req rq ;
    ok(enqclient_request_parse(&rq, "a@b\0\0c@d\0e@f\0", 13) && !strcmp(rq.sender, "a@b") && !rq.auth && rq.rlen == 8 && !strcmp(rq.rcpts + 4, "e@f") && !rq.flags && !rq.reason, "old form: sender, no auth, two recipients, no flags") ;
    ok(enqclient_request_parse(&rq, ":1:filter said so\0\0u\0x@y\0", 25) && !*rq.sender && !strcmp(rq.auth, "u") && rq.rlen == 4 && rq.flags == 1 && !strcmp(rq.reason, "filter said so"), "new form: flags 1 and the reason, then the envelope") ;
    ok(enqclient_request_parse(&rq, ":2:\0a@b\0\0c@d\0", 13) && rq.flags == 2 && !rq.reason && !strcmp(rq.sender, "a@b"), "an empty reason is none") ;
    ok(enqclient_request_parse(&rq, ":4294967295:\0a@b\0\0c@d\0", 22) && rq.flags == 4294967295u, "the largest flags") ;
    ok(!enqclient_request_parse(&rq, ":4294967296:\0a@b\0\0c@d\0", 22), "flags over UINT_MAX: malformed") ;
    ok(!enqclient_request_parse(&rq, "::\0a@b\0\0c@d\0", 11) && !enqclient_request_parse(&rq, ":1\0a@b\0\0c@d\0", 11) && !enqclient_request_parse(&rq, ":x:\0a@b\0\0c@d\0", 12), "options without digits or their ':': malformed") ;
    ok(!enqclient_request_parse(&rq, ":1:r\0a@b\0\0", 10) && !enqclient_request_parse(&rq, ":1:r\0", 5) && !enqclient_request_parse(&rq, "a@b\0\0c@d", 8) && !enqclient_request_parse(&rq, "", 0), "no recipient, nothing after the options, no final NUL, empty: malformed") ;
  }

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
  /* enqclient_stuff: the message as enqueue -S reads it */
  {
    stralloc m = STRALLOC_ZERO ;
    ok(enqclient_stuff(&m, "a\n.b\n..c\nlast", 13) && m.len == 18 && !memcmp(m.s, "a\n..b\n...c\nlast\n.\n", 18), "stuffed: leading dots doubled, the last line given its LF, the final dot") ;
    m.len = 0 ;
    ok(enqclient_stuff(&m, "", 0) && m.len == 2 && !memcmp(m.s, ".\n", 2), "an empty message: the final dot alone") ;
    m.len = 0 ;
    ok(enqclient_stuff(&m, ".\n\n.", 4) && m.len == 9 && !memcmp(m.s, "..\n\n..\n.\n", 9), "lone dots are doubled, an empty line kept") ;
    stralloc_free(&m) ;
  }

  /* enqclient_submit and enqclient_finish, with a fake PROGRAMS/enqueue */
  {
    conf c ;
    stralloc err = STRALLOC_ZERO, cf = STRALLOC_ZERO ;
    int fd, e ;
    pid_t srv ;
    if (!mkdtemp(dir)) return 111 ;
    mkdir(path("spool"), 0700) ;
    mkdir(path("bin"), 0700) ;
    /* enqueue -S: the id first, then the message to its dot; "refuse" and "crash" recipients as named */
    if (!stralloc_cats(&cf, "#!/bin/sh\necho \"$*\" > ") || !stralloc_cats(&cf, dir) || !stralloc_cats(&cf, "/args\n"
      "case \"$*\" in *refuse*) echo 'enqueue: fatal: refused' >&2 ; exit 100 ;; esac\n"
      "echo 006b01754abaf1d0077cb041\n"
      "cat > ") || !stralloc_cats(&cf, dir) || !stralloc_cats(&cf, "/msg\n"
      "case \"$*\" in *crash*) kill -9 $$ ;; esac\n"
      "exit 0\n")) return 111 ;
    if (!openwritenclose_unsafe(path("bin/enqueue"), cf.s, cf.len) || chmod(fn, 0755) < 0) return 111 ;
    cf.len = 0 ;
    if (!stralloc_cats(&cf, "hostname mx.test.example\nspool ") || !stralloc_cats(&cf, dir) || !stralloc_cats(&cf, "/spool\nprograms ")
     || !stralloc_cats(&cf, dir) || !stralloc_cats(&cf, "/bin\n")) return 111 ;
    if (!openwritenclose_unsafe(path("k.conf"), cf.s, cf.len)) return 111 ;
    if (!stralloc_cats(&cf, "enqueue-socket ") || !stralloc_cats(&cf, dir) || !stralloc_cats(&cf, "/sock\n")) return 111 ;
    if (!openwritenclose_unsafe(path("s.conf"), cf.s, cf.len)) return 111 ;
    signal(SIGPIPE, SIG_IGN) ;

    if (!conf_load(&c, path("k.conf"), &err)) return 111 ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0-e@f.example\0", 25, id, &diag) ;
    ok(e == 0 && !strcmp(id, "006b01754abaf1d0077cb041"), "no socket: enqueue spawned, its id, exit 0") ;
    ok(file_is("args", "-C /x.conf -S -f a@b.example -- c@d.example -e@f.example\n"), "... its arguments: -S, the sender, the recipients after --") ;
    ok(file_is("msg", "Subject: x\n\n..dot\n.\n"), "... the message, stuffed, to the final dot") ;
    e = handoff(&c, "", "someone", "c@d.example\0", 12, id, &diag) ;
    ok(e == 0 && file_is("args", "-C /x.conf -S -a someone -f  -- c@d.example\n"), "the null sender, an auth user: -a") ;
    diag.len = 0 ;
    e = handoff(&c, "a@b.example", 0, "refuse@d.example\0", 17, id, &diag) ;
    ok(e == 1100 && !diag.len, "a refused envelope: enqueue's 100 before any id, its words on stderr") ;
    e = handoff(&c, "a@b.example", 0, "crash@d.example\0", 16, id, &diag) ;
    ok(e == 111 && diag.len == 27 && !memcmp(diag.s, "enqueue crashed (signal 9)\n", 27), "enqueue killed after the id: 111, and diag says so") ;
    hflags = ENQCLIENT_F_HOLD | ENQCLIENT_F_SIGN ; hreason = "virus found" ;
    e = handoff(&c, "a@b.example", "u", "c@d.example\0", 12, id, &diag) ;
    ok(e == 0 && file_is("args", "-C /x.conf -S -a u -H virus found -D -f a@b.example -- c@d.example\n"), "hold with a reason, and sign: -H reason, -D") ;
    hflags = ENQCLIENT_F_HOLD ; hreason = 0 ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
    ok(e == 0 && file_is("args", "-C /x.conf -S -H  -f a@b.example -- c@d.example\n"), "hold without a reason: -H and an empty argument") ;
    hflags = 0 ;
    conf_free(&c) ;

    if (!conf_load(&c, path("s.conf"), &err)) return 111 ;
    diag.len = 0 ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
    ok(e == 0 && file_is("args", "-C /x.conf -S -f a@b.example -- c@d.example\n"), "a socket named but absent: enqueue spawned") ;
    srv = serve_once("") ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
    reap(srv) ;
    ok(e == 0 && file_is("args", "-C /x.conf -S -f a@b.example -- c@d.example\n"), "a socket closed unanswered: enqueue spawned") ;
    srv = serve_once("xyz\n") ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
    reap(srv) ;
    ok(e == 0 && file_is("args", "-C /x.conf -S -f a@b.example -- c@d.example\n"), "garbage before the id: enqueue spawned") ;
    srv = serve_once("0123456789abcdef01234567\n") ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
    reap(srv) ;
    ok(e == 0 && !strcmp(id, "0123456789abcdef01234567") && access(path("args"), F_OK) < 0, "a server that answers: its id, its code 0, no enqueue spawned") ;
    srv = serve_once("0123456789abcdef01234567\n") ;
    hflags = ENQCLIENT_F_HOLD ; hreason = "q" ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
    hflags = 0 ; hreason = 0 ;
    reap(srv) ;
    ok(e == 0 && access(path("args"), F_OK) < 0 && file_isb("req", "30::1:q\0a@b.example\0\0c@d.example\0,", 34), "hold through the socket: the options field first") ;
    srv = serve_once("100\nenqueue: fatal: invalid sender\n") ;
    diag.len = 0 ;
    e = handoff(&c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
    reap(srv) ;
    ok(e == 1100 && access(path("args"), F_OK) < 0, "a server's refusal: its 100, no enqueue spawned") ;
    ok(diag.len == 31 && !memcmp(diag.s, "enqueue: fatal: invalid sender\n", 31), "... with its words") ;
    {
      enqclient h = ENQCLIENT_ZERO ;
      enqclient_req rq = { .sender = "a@b.example", .rcpts = "c@d.example", .rlen = 12 } ;
      srv = serve_once("0123456789abcdef01234567\n") ;
      unlink(path("args")) ;
      e = enqclient_submit(&h, &c, &rq, 0) ;
      ok(!e && h.pid == 0 && h.fd >= 0 && write(h.fd, "Subject: half\n", 14) == 14, "no deadline: the socket's id all the same") ;
      enqclient_abort(&h) ;
      e = enqclient_finish(&h, 0) ;
      reap(srv) ;
      ok(e == 111 && h.fd == -1, "an abort on the socket: the server sees the end and answers 111; closed") ;
    }
    {
      enqclient h = ENQCLIENT_ZERO ;
      enqclient_req rq = { .sender = "a@b.example", .rcpts = "c@d.example", .rlen = 12 } ;
      conf_free(&c) ;
      if (!conf_load(&c, path("k.conf"), &err)) return 111 ;
      e = enqclient_submit(&h, &c, &rq, 0) ;
      ok(!e && h.pid > 0 && write(h.fd, "Subject: half\n", 14) == 14, "no deadline: the spawned enqueue's id") ;
      enqclient_abort(&h) ;
      fd = h.fd ;
      e = enqclient_finish(&h, 0) ;
      ok(fd == -1 && e == 0 && file_is("msg", "Subject: half\n"), "an abort on the pipe: closed, the fake takes the end of file as its end (a real enqueue exits 111)") ;
    }
    conf_free(&c) ;

    /* a kept socket: message after message on one connection */
    if (!conf_load(&c, path("s.conf"), &err)) return 111 ;
    {
      enqclient h = ENQCLIENT_ZERO ;
      int e2, e3, kfd ;
      h.keep = 1 ;
      srv = serve_kept(1, 0) ;
      e = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      kfd = h.kept ;
      e2 = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      e3 = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      ok(!e && kfd >= 0 && h.fd == -1 && !e2 && !e3 && h.kept == kfd && access(path("args"), F_OK) < 0, "keep: three messages, each 0, the socket kept between them, no enqueue spawned") ;
      enqclient_close(&h) ;
      reap(srv) ;
      ok(h.kept == -1 && file_is("served", "cmmm"), "... over one connection, ended by enqclient_close (the server's end of file)") ;

      /* a server that closes after each message (as one before the kept connections does) */
      h.keep = 1 ;
      srv = serve_kept(3, 1) ;
      e = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      e2 = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      e3 = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      enqclient_close(&h) ;
      reap(srv) ;
      ok(!e && !e2 && !e3 && access(path("args"), F_OK) < 0 && file_is("served", "cmcmcm"), "a kept socket the server closed: replaced by a new one, no enqueue spawned, each message once") ;

      /* an old client's way (keep 0): closed after the code */
      h.keep = 0 ;
      srv = serve_kept(2, 0) ;
      e = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      kfd = h.kept ;
      e2 = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      reap(srv) ;
      ok(!e && !e2 && kfd == -1 && h.kept == -1 && file_is("served", "cmcm"), "keep 0: a connection per message, closed after the code") ;

      /* an abort is never kept, nor a refusal */
      h.keep = 1 ;
      srv = serve_once("0123456789abcdef01234567\n") ;
      {
        enqclient_req rq = { .sender = "a@b.example", .rcpts = "c@d.example", .rlen = 12 } ;
        e = enqclient_submit(&h, &c, &rq, 0) ;
        ok(!e && h.fd >= 0 && write(h.fd, "Subject: half\n", 14) == 14, "keep: a message begun") ;
        enqclient_abort(&h) ;
        e = enqclient_finish(&h, 0) ;
      }
      reap(srv) ;
      ok(e == 111 && h.kept == -1 && h.fd == -1, "... aborted: 111, the socket closed, not kept") ;
      srv = serve_once("0123456789abcdef01234567\n") ;
      e = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      reap(srv) ;
      ok(e == 0 && h.kept >= 0, "a server that answers 0 and closes: kept all the same (nothing says otherwise)") ;
      srv = serve_once("100\nenqueue: fatal: invalid sender\n") ;
      diag.len = 0 ;
      e = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      reap(srv) ;
      ok(e == 1100 && h.kept == -1 && access(path("args"), F_OK) < 0 && diag.len == 31, "... its next message: the dead socket replaced, the new server's refusal (100, its words), nothing kept") ;
      srv = serve_once("0123456789abcdef01234567\n") ;
      e = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      reap(srv) ;
      srv = serve_once("xyz\n") ;
      e2 = handoff_h(&h, &c, "a@b.example", 0, "c@d.example\0", 12, id, &diag) ;
      reap(srv) ;
      ok(!e && !e2 && h.kept == -1 && file_is("args", "-C /x.conf -S -f a@b.example -- c@d.example\n"), "a dead kept socket, then garbage on the new one: enqueue spawned (the fallback rules), once") ;
    }
    conf_free(&c) ;
    stralloc_free(&err) ; stralloc_free(&cf) ;
    {
      static char const *const files[] = { "args", "msg", "req", "served", "bin/enqueue", "k.conf", "s.conf", 0 } ;
      char const *const *f = files ;
      for (; *f ; f++) unlink(path(*f)) ;
      rmdir(path("bin")) ; rmdir(path("spool")) ; rmdir(dir) ;
    }
  }
  return tap_done() ;
}
