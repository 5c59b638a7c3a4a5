/* ISC license: see LICENSE. */

/* Unit test of lib/lspawn: the scheduler / local-spawn protocol, both ends, and a message sent whole or taken back. */

#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>

#include <skalibs/stralloc.h>
#include <skalibs/unixmessage.h>
#include <skalibs/ancil.h>

#include "exitcodes.h"
#include "lspawn.h"
#include "tap.h"

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char const *f[LSPAWN_FIELDS_MAX] ;
  size_t start, len, used ;
  unsigned int n, tag, code ;
  char const *text ;
  char line[128] ;
  tap_plan(34) ;
  ok(lspawn_request(&sa, 7, "0123456789abcdef01234567", 600, "s@x", "u@y", 0), "a request") ;
  n = lspawn_fields(sa.s, sa.len, f, LSPAWN_FIELDS_MAX) ;
  ok(n == LSPAWN_REQ_FIELDS && f[5] + strlen(f[5]) + 1 == sa.s + sa.len, "six fields, all of it (%u)", n) ;
  ok(!strcmp(f[0], "7") && !strcmp(f[1], "0123456789abcdef01234567") && !strcmp(f[2], "600"), "tag, id, timeout") ;
  ok(!strcmp(f[3], "s@x") && !strcmp(f[4], "u@y") && !*f[5], "sender, recipient, no original") ;
  sa.len = 0 ;
  ok(lspawn_request(&sa, 8, "0123456789abcdef01234567", 5, "", "|/bin/prog a", "list@y") && lspawn_fields(sa.s, sa.len, f, LSPAWN_FIELDS_MAX) == 6
   && !*f[3] && !strcmp(f[4], "|/bin/prog a") && !strcmp(f[5], "list@y"), "the null sender, a program and its alias") ;
  sa.len = 0 ;
  stralloc_catb(&sa, "3:a\0b,", 6) ;
  ok(lspawn_request_next(sa.s, sa.len, &start, &len, &used) == 1 && used == sa.len && start == 2 && len == 3, "a worker's netstring, all of it") ;
  ok(lspawn_request_next(sa.s, sa.len - 1, &start, &len, &used) == 0, "without its comma: read more") ;
  ok(lspawn_request_next(sa.s, 3, &start, &len, &used) == 0, "a few digits: read more") ;
  ok(lspawn_request_next("12x:abc", 7, &start, &len, &used) < 0, "not a length: garbled") ;
  ok(lspawn_request_next("3:abc;", 6, &start, &len, &used) < 0, "no comma: garbled") ;
  ok(lspawn_request_next(":abc,", 5, &start, &len, &used) < 0, "no length: garbled") ;
  ok(lspawn_request_next("99999999:", 9, &start, &len, &used) < 0, "too long: garbled") ;
  ok(lspawn_request_next("012345678901234567890123", 24, &start, &len, &used) < 0, "digits without end: garbled") ;
  ok(lspawn_fields("a\0b\0c", 5, f, 10) == 2, "an unterminated last field is not a field") ;

  sa.len = 0 ;
  ok(lspawn_report(&sa, "7", "0", "delivered\r\nto x", 15) && sa.len == 20 && !memcmp(sa.s, "7 0 delivered  to x\n", 20), "a report line, control characters blanked") ;
  ok(lspawn_report_parse("7 0 delivered", &tag, &code, &text) && tag == 7 && code == 0 && !strcmp(text, "delivered"), "an exit code and its text") ;
  ok(lspawn_report_parse("8 100 5.1.1 no", &tag, &code, &text) && tag == 8 && code == 100 && !strcmp(text, "5.1.1 no"), "a permanent failure") ;
  ok(lspawn_report_parse("9 t no such user", &tag, &code, &text) && tag == 9 && code == KETCH_EX_TEMP && !strcmp(text, "no such user"), "t: temporary") ;
  ok(lspawn_report_parse("9 256 x", &tag, &code, &text) && code == KETCH_EX_TEMP && !*text, "an impossible exit code: temporary") ;
  ok(lspawn_report_parse("9 0x y", &tag, &code, &text) && code == KETCH_EX_TEMP, "junk after the exit code: temporary, not a delivery") ;
  ok(lspawn_report_parse("9 4294967296 y", &tag, &code, &text) && code == KETCH_EX_TEMP, "an exit code of 2^32: temporary, never wrapped to 0") ;
  ok(!lspawn_report_parse("x 0 y", &tag, &code, &text) && !lspawn_report_parse("9", &tag, &code, &text), "no tag: not a report") ;
  sa.len = 0 ;
  strcpy(line, "") ;
  ok(lspawn_report(&sa, "12", "t", "timed out", 9) && sa.len < sizeof(line) && (memcpy(line, sa.s, sa.len - 1), line[sa.len - 1] = 0, lspawn_report_parse(line, &tag, &code, &text)) && tag == 12 && code == KETCH_EX_TEMP && !strcmp(text, "timed out"), "a report written is read back") ;
  stralloc_free(&sa) ;
  {
    int sv[2], fd = -1 ;
    unixmessage_sender snd = UNIXMESSAGE_SENDER_ZERO ;
    unixmessage_receiver rcv = UNIXMESSAGE_RECEIVER_ZERO ;
    unixmessage m ;
    char mainbuf[4096], auxbuf[256] ;
    signal(SIGPIPE, SIG_IGN) ;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 111 ;
    unixmessage_sender_init(&snd, sv[0]) ;
    unixmessage_receiver_init(&rcv, sv[1], mainbuf, sizeof(mainbuf), auxbuf, sizeof(auxbuf)) ;
    fd = dup(0) ;
    ok(lspawn_send(&snd, "a request", 10, &fd, 1), "a message with a descriptor sent") ;
    ok(unixmessage_receive(&rcv, &m) > 0 && m.len == 10 && !memcmp(m.s, "a request", 10) && m.nfds == 1 && m.fds[0] >= 0, "received whole, with its descriptor") ;
    if (m.nfds == 1) close(m.fds[0]) ;
    close(fd) ;
    close(sv[1]) ;
    ok(!lspawn_send(&snd, LSPAWN_RELOAD, sizeof(LSPAWN_RELOAD), 0, 0), "no peer: not sent, an error") ;
    close(sv[0]) ;
  }
  {
    /* a worker's request: the arguments and the descriptor in one message (lspawn_job_send, lspawn_job_recv) */
    int sv[2], got = -1, p[2] ;
    stralloc buf = STRALLOC_ZERO, in = STRALLOC_ZERO ;
    static char big[LSPAWN_REQ_MAX + 1] ;
    char c ;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(p) < 0) return 111 ;
    ok(lspawn_job_send(sv[0], p[0], "-t\0" "600\0", 7, &buf) && buf.len == 10, "a request sent with its descriptor") ;
    ok(lspawn_job_recv(sv[1], &in, &start, &len, &got) == 1 && len == 7 && !memcmp(in.s + start, "-t\0" "600\0", 7) && got >= 0, "received: its arguments and a descriptor") ;
    ok(got >= 0 && write(p[1], "x", 1) == 1 && read(got, &c, 1) == 1 && c == 'x', "the descriptor is the one sent") ;
    if (got >= 0) close(got) ;
    memset(big, 'a', sizeof(big)) ;
    ok(!lspawn_job_send(sv[0], p[0], big, sizeof(big), &buf), "longer than LSPAWN_REQ_MAX: not sent") ;
    ok(write(sv[0], "3:abc,", 6) == 6 && lspawn_job_recv(sv[1], &in, &start, &len, &got) < 0, "a request without a descriptor: refused") ;
    ok(ancil_send_fd(sv[0], p[0], 'x') && write(sv[0], "y:", 2) == 2 && lspawn_job_recv(sv[1], &in, &start, &len, &got) < 0, "a descriptor with no netstring: refused") ;
    {
      /* a payload longer than one read: the rest is read until the netstring is whole */
      stralloc args = STRALLOC_ZERO ;
      int r ;
      stralloc_catb(&args, big, 10000) ;
      r = lspawn_job_send(sv[0], p[0], args.s, args.len, &buf) ;
      ok(r && lspawn_job_recv(sv[1], &in, &start, &len, &got) == 1 && len == 10000 && got >= 0, "a request of 10000 octets, whole") ;
      if (got >= 0) close(got) ;
      stralloc_free(&args) ;
    }
    close(sv[0]) ;
    ok(lspawn_job_recv(sv[1], &in, &start, &len, &got) == 0, "the end of the socket: 0") ;
    close(sv[1]) ; close(p[0]) ; close(p[1]) ;
    stralloc_free(&buf) ; stralloc_free(&in) ;
  }
  return tap_done() ;
}
