/* ISC license: see LICENSE. */

/*
 * Unit test of lib/deliver and lib/lmtp: local-deliver's argv read into
 * a request, and deliveries that return their result and text instead
 * of exiting: a Maildir, a mail loop, an mbox that is no regular file,
 * MDA exit codes, and LMTP against a scripted server on a Unix socket
 * (a child of this test). One engine serves them all in turn, as a
 * local-spawn worker's does.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "bounce.h"
#include "deliver.h"
#include "smtpdata.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

static char dir[] = "/tmp/ketch-deliver.XXXXXX" ;

static char const *path (char const *name)
{
  static stralloc fn = STRALLOC_ZERO ;
  fn.len = 0 ;
  stralloc_cats(&fn, dir) ; stralloc_cats(&fn, "/") ; stralloc_cats(&fn, name) ; stralloc_0(&fn) ;
  return fn.s ;
}

/* the message on a descriptor, as the queue entry is: positioned at its first header line */
static int message (char const *text)
{
  int fd ;
  openwritenclose_unsafe(path("msg"), text, strlen(text)) ;
  fd = open(path("msg"), O_RDONLY) ;
  return fd ;
}

static enum ketch_result run (deliver *d, char const *const *argv, char const *text, stralloc *out)
{
  deliver_req r = DELIVER_REQ_ZERO ;
  unsigned int argc = 0 ;
  enum ketch_result res ;
  while (argv[argc]) argc++ ;
  if (!deliver_req_argv(&r, argc, argv)) return 99 ;
  r.fd = message(text) ;
  res = deliver_run(d, &r, out) ;
  fd_close(r.fd) ;
  return res ;
}

/* descriptors open in this process */
static unsigned int nfds (void)
{
  unsigned int n = 0 ;
  int fd = 0 ;
  for (; fd < 1024 ; fd++) if (fcntl(fd, F_GETFD) >= 0) n++ ;
  return n ;
}

/* files in a Maildir's new/ */
static unsigned int nnew (char const *md)
{
  char cmd[512] ;
  FILE *f ;
  unsigned int n = 0 ;
  int ch ;
  snprintf(cmd, sizeof(cmd), "ls '%s/new' | wc -l", md) ;
  f = popen(cmd, "r") ;
  if (!f) return 9999 ;
  while ((ch = fgetc(f)) != EOF) if (ch >= '0' && ch <= '9') n = n * 10 + (ch - '0') ;
  pclose(f) ;
  return n ;
}

/* an LMTP server on the listening socket s for one transaction: answers the client's lines with replies[], in order; the message goes to a file */
static pid_t lmtp_serve (int s, char const *const *replies)
{
  pid_t pid ;
  if (s < 0 || listen(s, 1) < 0) return -1 ;
  pid = fork() ;
  if (pid) { fd_close(s) ; return pid ; }
  {
    int c = accept(s, 0, 0), indata = 0, out = open(path("lmtp.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600) ;
    static char buf[1 << 20] ;
    size_t len = 0 ;
    alarm(10) ;
    if (c < 0 || out < 0) _exit(1) ;
    allwrite(c, *replies, strlen(*replies)) ; replies++ ;
    while (*replies)
    {
      ssize_t r = read(c, buf + len, sizeof(buf) - len) ;
      char *nl ;
      if (r <= 0) _exit(0) ;
      len += r ;
      while ((nl = memchr(buf, '\n', len)))
      {
        size_t n = nl - buf + 1 ;
        if (indata) allwrite(out, buf, n) ;
        if (!indata || (n == 3 && buf[0] == '.'))
        {
          indata = !strncmp(buf, "DATA", 4) ;
          allwrite(c, *replies, strlen(*replies)) ;
          if (!*++replies) _exit(0) ;
        }
        memmove(buf, buf + n, len - n) ;
        len -= n ;
      }
    }
    _exit(0) ;
  }
}

/* the same on a Unix socket */
static pid_t lmtp_server (char const *sock, char const *const *replies)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX } ;
  int s = socket(AF_UNIX, SOCK_STREAM, 0) ;
  strcpy(sun.sun_path, sock) ;
  unlink(sock) ;
  if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) return -1 ;
  return lmtp_serve(s, replies) ;
}

/* a server that greets one octet at a time, every 200 ms for 4 s: each read returns in time, the reply never does */
static pid_t slow_server (char const *sock)
{
  struct sockaddr_un sun = { .sun_family = AF_UNIX } ;
  int s = socket(AF_UNIX, SOCK_STREAM, 0) ;
  pid_t pid ;
  strcpy(sun.sun_path, sock) ;
  unlink(sock) ;
  if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(s, 1) < 0) return -1 ;
  pid = fork() ;
  if (pid) { fd_close(s) ; return pid ; }
  {
    int c = accept(s, 0, 0), i = 0 ;
    if (c < 0) _exit(1) ;
    for (; i < 20 ; i++)
    {
      struct timespec ts = { .tv_sec = 0, .tv_nsec = 200000000 } ;
      if (write(c, i < 4 ? &"220 "[i] : "x", 1) < 1) _exit(0) ;
      nanosleep(&ts, 0) ;
    }
    _exit(0) ;
  }
}

int main (void)
{
  deliver d = DELIVER_ZERO ;
  deliver_req r = DELIVER_REQ_ZERO ;
  stralloc text = STRALLOC_ZERO, md = STRALLOC_ZERO, bad = STRALLOC_ZERO, target = STRALLOC_ZERO ;
  tap_plan(35) ;
  if (!mkdtemp(dir)) return 111 ;
  sig_altignore(SIGPIPE) ;

  {
    char const *argv[] = { "local-deliver", "-t", "5", "-e", "tag", "-o", "o@x", "-d", "x", "--", "s@x", "u@x", "u", "/h", "mda", "/bin/prog", "-a", 0 } ;
    ok(deliver_req_argv(&r, 17, argv) && r.timeout == 5 && !strcmp(r.ext, "tag") && !strcmp(r.orig, "o@x") && !strcmp(r.domain, "x"), "options read") ;
    ok(!strcmp(r.sender, "s@x") && !strcmp(r.rcpt, "u@x") && !strcmp(r.user, "u") && !strcmp(r.home, "/h"), "sender, recipient, user, home") ;
    ok(r.method == DELIVER_M_MDA && !strcmp(r.args[0], "/bin/prog") && !strcmp(r.args[1], "-a") && !r.args[2], "an mda and its argv") ;
  }
  {
    char const *a1[] = { "local-deliver", "s", "u@x", "u", "/h", "maildir", "/m", "extra", 0 } ;
    char const *a2[] = { "local-deliver", "s", "", "u", "/h", "maildir", "/m", 0 } ;
    char const *a3[] = { "local-deliver", "s", "u@x", "u", "/h", "pigeon", "/m", 0 } ;
    char const *a4[] = { "local-deliver", "-t", "0", "s", "u@x", "u", "/h", "mbox", "/m", 0 } ;
    char const *a5[] = { "local-deliver", "s", "u@x", "u", "/h", "lmtp", 0 } ;
    ok(!deliver_req_argv(&r, 8, a1) && !deliver_req_argv(&r, 7, a2) && !deliver_req_argv(&r, 7, a3) && !deliver_req_argv(&r, 9, a4) && !deliver_req_argv(&r, 6, a5),
      "usage: two operands for a maildir, an empty recipient, an unknown method, a zero timeout, no target") ;
  }

  stralloc_cats(&md, path("Maildir")) ; stralloc_0(&md) ;
  {
    unsigned long q1 ;
    char const *argv[] = { "local-deliver", "s@x", "u@x", "u", dir, "maildir", md.s, 0 } ;
    ok(run(&d, argv, "Subject: one\n\nbody\n", &text) == KETCH_RESULT_OK, "maildir: delivered") ;
    ok(!strncmp(text.s, "delivered to maildir ", 21) && strstr(text.s, "/new/") && strlen(text.s) == text.len, "... saying where (%s)", text.s) ;
    {
      /* the unique name: our pid, and Q, the names this engine made (no random part: no getrandom per delivery) */
      char want[64] ;
      char const *p ;
      snprintf(want, sizeof(want), "P%luQ", (unsigned long)getpid()) ;
      p = strstr(text.s, want) ;
      q1 = p ? strtoul(p + strlen(want), 0, 10) : 0 ;
      ok(q1 > 0, "the name holds %s<n> (%s)", want, text.s) ;
    }
    ok(run(&d, argv, "Delivered-To: U@X\n\nbody\n", &text) == KETCH_RESULT_PERM && strstr(text.s, "mail loop"), "a Delivered-To for the recipient: a loop, permanent (%s)", text.s) ;
    stralloc_cats(&bad, path("msg/Maildir")) ; stralloc_0(&bad) ;
    argv[6] = bad.s ;
    ok(run(&d, argv, "Subject: two\n\nx\n", &text) == KETCH_RESULT_TEMP && !strncmp(text.s, "unable to deliver to maildir ", 29) && strstr(text.s, ": Not a directory"),
      "a Maildir that cannot be made (even by root): temporary, not an exit (%s)", text.s) ;
    argv[6] = md.s ;
    ok(run(&d, argv, "Subject: three\n\nx\n", &text) == KETCH_RESULT_OK, "the same engine delivers again") ;
    {
      /* a later name: a greater Q (the one tried for the Maildir that could not be made took one between) */
      char want[64] ;
      char const *p ;
      snprintf(want, sizeof(want), "P%luQ", (unsigned long)getpid()) ;
      p = strstr(text.s, want) ;
      ok(p && strtoul(p + strlen(want), 0, 10) > q1, "... under a later Q than %lu (%s)", q1, text.s) ;
    }
    {
      /*
       * The last Maildir's tmp/ and new/ stay open in the engine for a
       * second (lib/maildir, maildir_proc): no open and close of new/ per
       * delivery. A Maildir removed meanwhile is made again.
       */
      unsigned int n0, n1 = 0, n2 = 0 ;
      char cmd[512] ;
      deliver d2 = DELIVER_ZERO ;
      n0 = nfds() ;
      ok(run(&d2, argv, "Subject: four\n\nx\n", &text) == KETCH_RESULT_OK && (n1 = nfds()) == n0 + 2
        && run(&d2, argv, "Subject: four\n\nx\n", &text) == KETCH_RESULT_OK && (n2 = nfds()) == n1 && (deliver_free(&d2), nfds()) == n0 && nnew(md.s) == 4,
        "a new engine holds the Maildir's tmp/ and new/ (2 descriptors), delivers again with them, and lets them go (%u, %u, %u, %u)", n0, n1, n2, nfds()) ;
      n0 = nfds() ;
      snprintf(cmd, sizeof(cmd), "rm -rf '%s'", md.s) ;
      ok(!system(cmd) && run(&d, argv, "Subject: five\n\nx\n", &text) == KETCH_RESULT_OK && nnew(md.s) == 1 && nfds() == n0,
        "the Maildir removed: made again, and the message in it (%s)", text.s) ;
      snprintf(cmd, sizeof(cmd), "mv '%s' '%s.old' && mkdir -p '%s/tmp' '%s/new' '%s/cur'", md.s, md.s, md.s, md.s, md.s) ;
      ok(!system(cmd) && (sleep(MAILDIR_DIRS_SECS + 1), run(&d, argv, "Subject: six\n\nx\n", &text)) == KETCH_RESULT_OK && nnew(md.s) == 1,
        "the Maildir moved away and made anew: after MAILDIR_DIRS_SECS, the new one takes the mail") ;
    }
    {
      /*
       * A home without a .forward is not looked in again for
       * DELIVER_NOFWD_SECS by the same engine (an open answering ENOENT
       * per delivery otherwise): a .forward made meanwhile is followed
       * from then on.
       */
      char const *fargv[] = { "local-deliver", "-F", "s@x", "u@x", "u", dir, "maildir", md.s, 0 } ;
      char fwd[600] ;
      deliver d3 = DELIVER_ZERO ;
      snprintf(fwd, sizeof(fwd), "%s\n", path("fwd.mbox")) ;
      unlink(path(".forward")) ;
      ok(run(&d3, fargv, "Subject: f1\n\nx\n", &text) == KETCH_RESULT_OK && !strncmp(text.s, "delivered to maildir ", 21), "-F, no .forward: the method (%s)", text.s) ;
      openwritenclose_unsafe(path(".forward"), fwd, strlen(fwd)) ;
      chmod(path(".forward"), 0644) ;
      ok(run(&d3, fargv, "Subject: f2\n\nx\n", &text) == KETCH_RESULT_OK && !strncmp(text.s, "delivered to maildir ", 21), "a .forward made within DELIVER_NOFWD_SECS: not looked for yet (%s)", text.s) ;
      sleep(DELIVER_NOFWD_SECS + 1) ;
      ok(run(&d3, fargv, "Subject: f3\n\nx\n", &text) == KETCH_RESULT_OK && !strncmp(text.s, "followed ~/.forward", 19), "after it: followed (%s)", text.s) ;
      unlink(path(".forward")) ;
      deliver_free(&d3) ;
    }
  }
  {
    char const *argv[] = { "local-deliver", "s@x", "u@x", "u", dir, "mbox", "/dev/null", 0 } ;
    ok(run(&d, argv, "Subject: m\n\nx\n", &text) == KETCH_RESULT_PERM && strstr(text.s, "not a regular file"), "an mbox that is no regular file: permanent (%s)", text.s) ;
  }
  {
    char const *t0[] = { "local-deliver", "s@x", "u@x", "u", dir, "mda", "/bin/sh", "-c", "cat >/dev/null ; exit 0", 0 } ;
    char const *t75[] = { "local-deliver", "s@x", "u@x", "u", dir, "mda", "/bin/sh", "-c", "exit 75", 0 } ;
    char const *t1[] = { "local-deliver", "s@x", "u@x", "u", dir, "mda", "/bin/sh", "-c", "exit 1", 0 } ;
    char const *rel[] = { "local-deliver", "s@x", "u@x", "u", dir, "mda", "sh", 0 } ;
    char const *slow[] = { "local-deliver", "-t", "1", "s@x", "u@x", "u", dir, "mda", "/bin/sleep", "10", 0 } ;
    ok(run(&d, t0, "Subject: p\n\nx\n", &text) == KETCH_RESULT_OK && !strcmp(text.s, "delivered to mda /bin/sh"), "mda exit 0: delivered") ;
    ok(run(&d, t75, "Subject: p\n\nx\n", &text) == KETCH_RESULT_TEMP && !strcmp(text.s, "mda /bin/sh exited 75"), "exit 75: temporary (%s)", text.s) ;
    ok(run(&d, t1, "Subject: p\n\nx\n", &text) == KETCH_RESULT_PERM && !strcmp(text.s, "mda /bin/sh exited 1"), "exit 1: permanent (%s)", text.s) ;
    ok(run(&d, rel, "Subject: p\n\nx\n", &text) == KETCH_RESULT_PERM && strstr(text.s, "absolute path"), "a relative program: permanent") ;
    ok(run(&d, slow, "Subject: p\n\nx\n", &text) == KETCH_RESULT_TEMP && strstr(text.s, "timed out"), "a program past the timeout: killed, temporary") ;
  }
  stralloc_cats(&target, "unix:") ; stralloc_cats(&target, path("lmtp")) ; stralloc_0(&target) ;
  {
    char const *argv[] = { "local-deliver", "-t", "5", "s@x", "u@x", "u", dir, "lmtp", target.s, 0 } ;
    char const *good[] = { "220 hi\r\n", "250-hi\r\n250 PIPELINING\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 2.0.0 saved\r\n", "221 bye\r\n", 0 } ;
    char const *rcpt[] = { "220 hi\r\n", "250 hi\r\n", "250 ok\r\n", "550 5.1.1 no\001such\r\n", "221 bye\r\n", 0 } ;
    char const *busy[] = { "421 busy\r\n", 0 } ;
    int wstat ;
    pid_t pid = lmtp_server(path("lmtp"), good) ;
    ok(pid > 0 && run(&d, argv, "Subject: l\n\n.dot\nend", &text) == KETCH_RESULT_OK && !strcmp(text.s + text.len - 15, "250 2.0.0 saved"), "lmtp: delivered, the server's reply kept (%s)", text.s) ;
    waitpid(pid, &wstat, 0) ;
    {
      char buf[512] ;
      int fd = open(path("lmtp.out"), O_RDONLY) ;
      ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1 ;
      if (fd >= 0) close(fd) ;
      buf[n > 0 ? n : 0] = 0 ;
      ok(strstr(buf, "Delivered-To: u@x\r\n") && strstr(buf, "\r\n..dot\r\nend\r\n.\r\n"), "CRLF line ends, dot-stuffed, the last line ended") ;
    }
    pid = lmtp_server(path("lmtp"), rcpt) ;
    ok(pid > 0 && run(&d, argv, "Subject: l\n\nx\n", &text) == KETCH_RESULT_PERM && !strcmp(text.s, "550 5.1.1 no such (lmtp RCPT)"), "a 5xx to RCPT: permanent, controls blanked (%s)", text.s) ;
    waitpid(pid, &wstat, 0) ;
    pid = lmtp_server(path("lmtp"), busy) ;
    ok(pid > 0 && run(&d, argv, "Subject: l\n\nx\n", &text) == KETCH_RESULT_TEMP && !strcmp(text.s, "421 busy (lmtp greeting)"), "a 4xx greeting: temporary (%s)", text.s) ;
    waitpid(pid, &wstat, 0) ;
    {
      /* Dovecot's quota answers after the dot (RFC 2033 §4.2): the class decides, the reply leads the text (lib/bounce's Status) */
      char const *full[] = { "220 hi\r\n", "250-hi\r\n250 PIPELINING\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "552 5.2.2 <u@x> Quota exceeded (mailbox for user is full)\r\n", "221 bye\r\n", 0 } ;
      char const *tempfull[] = { "220 hi\r\n", "250-hi\r\n250 PIPELINING\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "452 4.2.2 <u@x> Quota exceeded (mailbox for user is full)\r\n", "221 bye\r\n", 0 } ;
      char st[16] ;
      pid = lmtp_server(path("lmtp"), full) ;
      ok(pid > 0 && run(&d, argv, "Subject: l\n\nx\n", &text) == KETCH_RESULT_PERM && !strcmp(text.s, "552 5.2.2 <u@x> Quota exceeded (mailbox for user is full) (lmtp delivery)")
         && bounce_status(text.s, 1, st, sizeof(st)) && !strcmp(st, "5.2.2"), "552 5.2.2 after the dot (over quota): permanent, the DSN's status 5.2.2 (%s)", text.s) ;
      waitpid(pid, &wstat, 0) ;
      pid = lmtp_server(path("lmtp"), tempfull) ;
      ok(pid > 0 && run(&d, argv, "Subject: l\n\nx\n", &text) == KETCH_RESULT_TEMP && !strncmp(text.s, "452 4.2.2 ", 10), "452 4.2.2 after the dot (quota_full_tempfail): temporary (%s)", text.s) ;
      waitpid(pid, &wstat, 0) ;
    }
    {
      /* a message of many blocks, dots and CRs at every offset, a line of 200 kB: sent as smtpdata_encode makes it of the whole */
      stralloc msg = STRALLOC_ZERO, want = STRALLOC_ZERO, got = STRALLOC_ZERO ;
      uint64_t size ;
      int eightbit = 0 ;
      unsigned int i = 0, k ;
      stralloc_cats(&msg, "Subject: big\n\n") ;
      for (; i < 60000 ; i++)
      {
        stralloc_cats(&msg, i % 3 ? ".dot\n" : i % 7 ? "a line\r\n" : "x\ry\n") ;
        /* and a line longer than a block, across several */
        if (i == 20000) for (k = 0 ; k < 20000 ; k++) stralloc_cats(&msg, "long line ") ;
      }
      stralloc_cats(&msg, ".last") ; stralloc_0(&msg) ;
      stralloc_cats(&want, "Return-Path: <s@x>\nDelivered-To: u@x\n") ; stralloc_cats(&want, msg.s) ;
      stralloc_copyb(&got, want.s, want.len) ; want.len = 0 ;
      smtpdata_encode(got.s, got.len, &want, &size, &eightbit) ;
      got.len = 0 ;
      pid = lmtp_server(path("lmtp"), good) ;
      ok(pid > 0 && run(&d, argv, msg.s, &text) == KETCH_RESULT_OK && msg.len > 4 * 65536, "a message of %zu octets: delivered (%s)", msg.len, text.s) ;
      waitpid(pid, &wstat, 0) ;
      ok(openslurpclose(&got, path("lmtp.out")) && got.len == want.len && !memcmp(got.s, want.s, want.len), "sent in blocks, it is the whole message encoded at once (%zu of %zu octets)", got.len, want.len) ;
      stralloc_free(&msg) ; stralloc_free(&want) ; stralloc_free(&got) ;
    }
    {
      /* every step has its deadline: a reply that trickles in, one octet at a time, still times out (SO_RCVTIMEO did not) */
      char const *quick[] = { "local-deliver", "-t", "1", "s@x", "u@x", "u", dir, "lmtp", target.s, 0 } ;
      tain start, took ;
      tain_now_set_stopwatch_g() ;
      tain_copynow(&start) ;
      pid = slow_server(path("lmtp")) ;
      ok(pid > 0 && run(&d, quick, "Subject: l\n\nx\n", &text) == KETCH_RESULT_TEMP && strstr(text.s, "timed out"), "a greeting that trickles: temporary (%s)", text.s) ;
      tain_now_g() ; tain_sub(&took, &STAMP, &start) ;
      ok(tain_to_millisecs(&took) < 2500, "at the deadline, not when the trickle ends (%d ms)", tain_to_millisecs(&took)) ;
      kill(pid, SIGTERM) ;
      waitpid(pid, &wstat, 0) ;
    }
    {
      /* HOST:PORT: the same client over TCP, on a port of 127.0.0.1 the kernel picks */
      struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } ;
      socklen_t sl = sizeof(sin) ;
      int s = socket(AF_INET, SOCK_STREAM, 0) ;
      char tcp[32] ;
      char const *targv[] = { "local-deliver", "-t", "5", "s@x", "u@x", "u", dir, "lmtp", tcp, 0 } ;
      if (s < 0 || bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 || getsockname(s, (struct sockaddr *)&sin, &sl) < 0) sin.sin_port = 0 ;
      snprintf(tcp, sizeof(tcp), "127.0.0.1:%u", (unsigned int)ntohs(sin.sin_port)) ;
      pid = sin.sin_port ? lmtp_serve(s, good) : -1 ;
      ok(pid > 0 && run(&d, targv, "Subject: t\n\nx\n", &text) == KETCH_RESULT_OK && !strcmp(text.s + text.len - 15, "250 2.0.0 saved"), "lmtp over TCP to %s: delivered (%s)", tcp, text.s) ;
      if (pid > 0) waitpid(pid, &wstat, 0) ;
      else if (s >= 0) fd_close(s) ;
    }
    unlink(path("lmtp")) ;
    ok(run(&d, argv, "Subject: l\n\nx\n", &text) == KETCH_RESULT_TEMP && !strncmp(text.s, "unable to connect to unix:", 26), "nobody listening: temporary (%s)", text.s) ;
  }
  deliver_free(&d) ;
  stralloc_free(&text) ; stralloc_free(&md) ; stralloc_free(&bad) ; stralloc_free(&target) ;
  {
    char const *argv[] = { "rm", "-rf", dir, 0 } ;
    pid_t pid = fork() ;
    if (!pid) { execv("/bin/rm", (char *const *)argv) ; _exit(1) ; }
    if (pid > 0) waitpid(pid, 0, 0) ;
  }
  return tap_done() ;
}
