/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>
#include <skalibs/socket.h>
#include <skalibs/tai.h>

#include "tap.h"
#include "dovecotauth.h"

static enum dovecotauth_kind_e kind (char const *line, dovecotauth_reply *r)
{
  return dovecotauth_parse(line, strlen(line), r) ;
}

/* what the client sent, read until it is all there or nothing more comes */
static int heard_is (char const *want)
{
  char got[512] ;
  size_t n = 0, w = strlen(want) ;
  unsigned int i = 0 ;
  for (; i < 20 && n < w ; i++)
  {
    char const *h = tap_heard() ;
    size_t k = strlen(h) ;
    if (n + k >= sizeof(got)) return 0 ;
    memcpy(got + n, h, k) ; n += k ;
    if (!k) { struct timespec ts = { .tv_sec = 0, .tv_nsec = 10000000 } ; nanosleep(&ts, 0) ; }
  }
  if (n != w || memcmp(got, want, w)) { printf("# heard %.*s\n", (int)n, got) ; return 0 ; }
  return 1 ;
}

static void later (tain *d, unsigned int secs)
{
  tain_now_g() ;
  tain_addsec_g(d, secs) ;
}

/* a connected client on a scripted peer: the test says the server's lines */
static void client (dovecotauth *d)
{
  d->fd = tap_pair() ;
  d->len = d->skip = 0 ;
  d->mechs = DOVECOTAUTH_PLAIN | DOVECOTAUTH_LOGIN ;
  d->id = 0 ;
}

static enum ketch_result check_with (dovecotauth *d, unsigned int mech, char const *say, stralloc *user)
{
  static char const plain[] = "\0bob\0pw" ;
  char const *resp[2] = { mech == DOVECOTAUTH_PLAIN ? plain : "bob", "pw" } ;
  size_t rlen[2] = { mech == DOVECOTAUTH_PLAIN ? sizeof(plain) - 1 : 3, 2 } ;
  tain dl ;
  later(&dl, 2) ;
  tap_say(say) ;
  return dovecotauth_check(d, mech, resp, rlen, mech == DOVECOTAUTH_PLAIN ? 1 : 2, DOVECOTAUTH_SECURED, "192.0.2.1", "127.0.0.1", user, &dl) ;
}

int main (void)
{
  static dovecotauth d ;
  dovecotauth_reply r ;
  stralloc sa = STRALLOC_ZERO, user = STRALLOC_ZERO ;
  char out[16] ;
  tain dl ;
  signal(SIGPIPE, SIG_IGN) ;
  tap_plan(28) ;

  ok(kind("VERSION\t1\t2", &r) == DOVECOTAUTH_VERSION && r.major == 1, "parse: VERSION") ;
  ok(kind("VERSION\t1", &r) == DOVECOTAUTH_BAD && kind("VERSION\tx\t2", &r) == DOVECOTAUTH_BAD && kind("VERSION\t99999999999\t1", &r) == DOVECOTAUTH_BAD, "parse: VERSION without a minor, not a number, too large") ;
  ok(kind("MECH\tPLAIN\tplaintext", &r) == DOVECOTAUTH_MECH && r.mech == DOVECOTAUTH_PLAIN, "parse: MECH PLAIN with flags") ;
  ok(kind("MECH\tlogin", &r) == DOVECOTAUTH_MECH && r.mech == DOVECOTAUTH_LOGIN, "parse: MECH LOGIN, any case") ;
  ok(kind("MECH\tPLAIN\tplaintext\tprivate", &r) == DOVECOTAUTH_MECH && !r.mech, "parse: a private mechanism is not offered") ;
  ok(kind("MECH\tCRAM-MD5\tdictionary", &r) == DOVECOTAUTH_MECH && !r.mech && kind("MECH", &r) == DOVECOTAUTH_BAD, "parse: another mechanism; MECH without a name") ;
  ok(kind("SPID\t12", &r) == DOVECOTAUTH_SPID && kind("CUID\t1", &r) == DOVECOTAUTH_CUID && kind("COOKIE\tab", &r) == DOVECOTAUTH_COOKIE && kind("DONE", &r) == DOVECOTAUTH_DONE, "parse: SPID CUID COOKIE DONE") ;
  ok(kind("OK\t7\tuser=bob@example.org", &r) == DOVECOTAUTH_OK && r.id == 7 && r.datalen == 15 && !memcmp(r.data, "bob@example.org", 15), "parse: OK with user=") ;
  ok(kind("FAIL\t3\tuser=x\ttemp", &r) == DOVECOTAUTH_FAIL && r.id == 3 && r.temp, "parse: FAIL temp") ;
  ok(kind("FAIL\t3\tcode=temp_fail", &r) == DOVECOTAUTH_FAIL && r.temp && kind("FAIL\t4\treason=no", &r) == DOVECOTAUTH_FAIL && !r.temp, "parse: FAIL code=temp_fail, FAIL of the client's") ;
  ok(kind("CONT\t2\tUGFzc3dvcmQ6", &r) == DOVECOTAUTH_CONT && r.id == 2 && r.datalen == 12 && kind("CONT\t2", &r) == DOVECOTAUTH_CONT && !r.datalen, "parse: CONT with and without data") ;
  ok(kind("OK", &r) == DOVECOTAUTH_BAD && kind("OK\t-1", &r) == DOVECOTAUTH_BAD && kind("", &r) == DOVECOTAUTH_BAD && kind("\tOK", &r) == DOVECOTAUTH_BAD, "parse: no id, a bad id, empty, no name") ;
  ok(kind("NOTICE\tx", &r) == DOVECOTAUTH_UNKNOWN && kind("ok\t1", &r) == DOVECOTAUTH_UNKNOWN, "parse: unknown commands (names are case-sensitive)") ;

  ok(dovecotauth_escape(&sa, "a\tb\001c\nd\0e", 9) && sa.len == 13 && !memcmp(sa.s, "a\001tb\0011c\001nd\0010e", 13), "escape: TAB, \\001, LF, NUL") ;
  ok(dovecotauth_unescape(sa.s, sa.len, out, sizeof(out)) == 9 && !memcmp(out, "a\tb\001c\nd\0e", 9) && dovecotauth_unescape(sa.s, sa.len, out, 3) == -1, "unescape: back, and bounded") ;
  sa.len = 0 ;
  ok(dovecotauth_hello_fmt(&sa, 42) && sa.len == 20 && !memcmp(sa.s, "VERSION\t1\t2\nCPID\t42\n", 20), "fmt: the handshake") ;
  sa.len = 0 ;
  ok(dovecotauth_auth_fmt(&sa, 1, DOVECOTAUTH_PLAIN, DOVECOTAUTH_SECURED, "192.0.2.1", "::1", "\0a\0b", 4) && stralloc_0(&sa)
     && !strcmp(sa.s, "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tsecured\trip=192.0.2.1\tlip=::1\tresp=AGEAYg==\n"), "fmt: AUTH") ;
  sa.len = 0 ;
  ok(dovecotauth_auth_fmt(&sa, 9, DOVECOTAUTH_LOGIN, 0, 0, 0, "u", 1) && dovecotauth_cont_fmt(&sa, 9, "pw", 2) && stralloc_0(&sa)
     && !strcmp(sa.s, "AUTH\t9\tLOGIN\tservice=smtp\tnologin\tresp=dQ==\nCONT\t9\tcHc=\n"), "fmt: AUTH LOGIN unsecured without addresses, CONT") ;

  client(&d) ;
  ok(check_with(&d, DOVECOTAUTH_PLAIN, "OK\t1\tuser=Bob\n", &user) == KETCH_RESULT_OK && user.len == 3 && !strcmp(user.s, "Bob")
     && !strcmp(tap_heard(), "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tsecured\trip=192.0.2.1\tlip=127.0.0.1\tresp=AGJvYgBwdw==\n"), "check: PLAIN accepted, Dovecot's name taken") ;
  ok(check_with(&d, DOVECOTAUTH_PLAIN, "FAIL\t2\tuser=bob\n", &user) == KETCH_RESULT_PERM && d.fd >= 0, "check: refused, the connection kept for the next try") ;
  tap_heard() ;
  ok(check_with(&d, DOVECOTAUTH_LOGIN, "CONT\t3\tUGFzc3dvcmQ6\nOK\t3\n", &user) == KETCH_RESULT_OK && !user.len
     && heard_is("AUTH\t3\tLOGIN\tservice=smtp\tnologin\tsecured\trip=192.0.2.1\tlip=127.0.0.1\tresp=Ym9i\nCONT\t3\tcHc=\n"), "check: LOGIN, the password answers CONT") ;
  ok(check_with(&d, DOVECOTAUTH_PLAIN, "FAIL\t4\ttemp\n", &user) == KETCH_RESULT_TEMP && d.fd < 0, "check: FAIL temp is temporary, the connection closed") ;
  client(&d) ;
  ok(check_with(&d, DOVECOTAUTH_PLAIN, "OK\t9\n", &user) == KETCH_RESULT_TEMP && errno == EPROTO && d.fd < 0, "check: an answer to another id is a protocol error") ;
  client(&d) ;
  ok(check_with(&d, DOVECOTAUTH_PLAIN, "CONT\t1\tx\n", &user) == KETCH_RESULT_TEMP && errno == EPROTO, "check: a CONT past the last response") ;
  client(&d) ;
  {
    static char big[DOVECOTAUTH_LINE_MAX + 10] ;
    memset(big, 'A', sizeof(big) - 1) ;
    ok(check_with(&d, DOVECOTAUTH_PLAIN, big, &user) == KETCH_RESULT_TEMP && errno == EPROTO, "check: an overlong line") ;
  }
  client(&d) ;
  ok(check_with(&d, DOVECOTAUTH_PLAIN, "", &user) == KETCH_RESULT_TEMP && errno == ETIMEDOUT, "check: silence ends at the deadline") ;

  /* the handshake, against a server on a socket that says its part at once */
  {
    char const *dir = tap_tmpdir() ;
    char const *path = dir ? tap_path("auth-client") : 0 ;
    int s = path ? ipc_stream_nbcoe() : -1 ;
    pid_t pid = -1 ;
    if (s >= 0 && ipc_bind_reuse(s, path) >= 0 && ipc_listen(s, 1) >= 0) pid = fork() ;
    if (!pid)
    {
      static char const hello[] = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tCRAM-MD5\nMECH\tLOGIN\tplaintext\tprivate\nSPID\t1\nCUID\t2\nCOOKIE\tab\nNEWTHING\nDONE\nOK\t1\n" ;
      char buf[256] ;
      int c ;
      ndelay_off(s) ;
      c = accept(s, 0, 0) ;
      if (c < 0 || write(c, hello, sizeof(hello) - 1) != sizeof(hello) - 1) _exit(1) ;
      if (read(c, buf, sizeof(buf)) <= 0) _exit(1) ;
      sleep(2) ;
      _exit(0) ;
    }
    later(&dl, 5) ;
    ok(pid > 0 && dovecotauth_open(&d, path, &dl) && d.mechs == DOVECOTAUTH_PLAIN && d.fd >= 0 && d.len == 5 && !memcmp(d.buf, "OK\t1\n", 5),
       "open: the handshake: PLAIN offered, LOGIN private, an unknown line skipped, DONE consumed") ;
    dovecotauth_close(&d) ;
    if (pid > 0) { kill(pid, SIGTERM) ; waitpid(pid, 0, 0) ; }
    if (s >= 0) close(s) ;
    later(&dl, 2) ;
    ok(!dovecotauth_open(&d, path, &dl) && d.fd < 0, "open: nobody listening: 0") ;
    tap_rmtmp() ;
  }
  stralloc_free(&sa) ; stralloc_free(&user) ;
  return tap_done() ;
}
