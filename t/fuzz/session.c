/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/smtpd, the SMTP session engine: the input is
 * everything a client sends (then its end of file), over a socket pair,
 * on a plain-auth listener, from an address that may not relay. The
 * server's output is checked as RFC 5321 §4.2 says replies look:
 * - every line ends in CRLF and holds no other CR or LF;
 * - every line is a code 200..599 (and 334, 354 are 3xx), then ' ' or
 *   '-'; a multi-line reply keeps its code and ends with "NNN ";
 * - an enhanced status code (RFC 3463) after a 2xx, 4xx or 5xx code has
 *   the code's class;
 * - the reply to a message's end (the first reply after a 354) is 250
 *   exactly when the stand-in enqueue below took the whole message: no
 *   250 for a message not queued, no refusal for one that was;
 * - after a 221 or a 421 nothing more is written;
 * - the output ends with a whole reply, and smtpd_run returns (a hang
 *   is a libFuzzer timeout).
 *
 * The hand-off goes through the configuration's enqueue-socket to a
 * stand-in for enqueue-listen in a thread of this process: it reads the
 * request, gives a fixed id, reads the dot-stuffed message to its "."
 * line and answers 0 (committed), or 111 at an end of file before it, as
 * enqueue-listen(8) does, and after a 0 takes the next request on the
 * same connection (the session keeps it, across inputs too: smtpd_wipe
 * keeps it). No process is spawned: `programs` names a directory that
 * does not exist.
 *
 * A failed AUTH waits a second before its reply (lib/smtpd.c: it slows
 * guessing). That wait is the one iopause without descriptors; this file
 * defines iopause_stamp, so the linker takes it instead of skalibs', and
 * it returns at once for that wait and is skalibs' own for the others.
 * Filters (lib/filter) are defined, and attached to another listener
 * only: the fuzzed session, on a listener without any, must run the
 * filter-less path (no filter is fuzzed through here; lib/milter's
 * parser has its own harness).
 *
 * The auth table has one user, "fuzz" with password "secret", hashed
 * with few rounds, so a right password is cheap and its path is covered.
 */

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <crypt.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <skalibs/iopause.h>
#include <skalibs/tai.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "smtpd.h"
#include "fuzzfile.h"

/* the stand-in's fixed id (a valid queue id) */
#define ID "006b0133f96614f000d0af13"

/* larger inputs than a socket pair holds are not tried: the client's
   side is written whole before the session runs */
#define INPUT_MAX (64 << 10)

int iopause_stamp (iopause_fd *x, unsigned int n, tain const *deadline, tain *stamp)
{
  int r = n ? iopause(x, n, deadline, stamp) : 0 ;
  if (stamp) tain_now(stamp) ;
  return r ;
}

static conf cf ;
static int lfd = -1, nullfd = -1 ;
static unsigned int commits ;   /* messages the stand-in took */
static pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER ;

static int readfull (int fd, char *buf, size_t n)
{
  while (n)
  {
    ssize_t r = read(fd, buf, n) ;
    if (r <= 0) return 0 ;
    buf += r ; n -= r ;
  }
  return 1 ;
}

/* one message of a client of the stand-in enqueue-listen; 1: committed, the connection kept */
static int serve (int fd)
{
  char buf[4096] ;
  size_t n = 0 ;
  int at = 0, done = 0 ;   /* at: 0 a line's start, 1 after a "." there, 2 within a line */
  ssize_t r ;
  /* the request: a netstring */
  for (;;)
  {
    char c ;
    if (read(fd, &c, 1) != 1) return 0 ;
    if (c == ':') break ;
    if (c < '0' || c > '9' || n > 1 << 20) return 0 ;
    n = n * 10 + (size_t)(c - '0') ;
  }
  n++ ;   /* the ',' */
  while (n)
  {
    size_t k = n < sizeof(buf) ? n : sizeof(buf) ;
    if (!readfull(fd, buf, k)) return 0 ;
    n -= k ;
  }
  if (write(fd, ID "\n", sizeof(ID)) != sizeof(ID)) return 0 ;
  /* the message, dot-stuffed, to its "." line (or the end of file: an abort) */
  while (!done && (r = read(fd, buf, sizeof(buf))) > 0)
  {
    ssize_t i ;
    for (i = 0 ; i < r && !done ; i++)
      if (buf[i] == '\n') { if (at == 1) done = 1 ; at = 0 ; }
      else at = buf[i] == '.' && !at ? 1 : 2 ;
  }
  if (done)
  {
    pthread_mutex_lock(&mx) ; commits++ ; pthread_mutex_unlock(&mx) ;
    return write(fd, "0\n", 2) == 2 ;
  }
  (void)!write(fd, "111\n", 4) ;
  return 0 ;
}

static void *standin (void *arg)
{
  (void)arg ;
  for (;;)
  {
    int fd = accept(lfd, 0, 0) ;
    if (fd < 0) continue ;
    while (serve(fd)) ;
    close(fd) ;
  }
  return 0 ;
}

static void setup (void)
{
  char fn[FUZZ_PATH_MAX], sock[FUZZ_PATH_MAX], prog[FUZZ_PATH_MAX], tab[FUZZ_PATH_MAX] ;
  char text[2048] ;
  stralloc err = STRALLOC_ZERO ;
  struct sockaddr_un sun ;
  pthread_t t ;
  char const *h = crypt("secret", "$6$rounds=1000$fuzzsalt$") ;
  if (!h || h[0] != '$') abort() ;
  /* as smtp-session and smtp-listen do: a peer gone is an error, not a signal */
  signal(SIGPIPE, SIG_IGN) ;
  snprintf(text, sizeof(text), "fuzz:%s\n", h) ;
  fuzz_write(tab, "auth", text, strlen(text)) ;
  fuzz_path(sock, "enq") ;
  fuzz_path(prog, "none") ;
  snprintf(text, sizeof(text),
    "hostname mx.test.example\nlocal-domain test.example\nrelay-from 127.0.0.0/8\n"
    "listen 127.0.0.1 port 2527 plain-auth\nlisten 127.0.0.1 port 2528 filter spam\nfilter spam unix:/nonexistent/milter\n"
    "local-filter spam\nspool %s\nprograms %s\nauth-table %s\n"
    "enqueue-socket %s\nlimit message-size 2048\n"
    "timeout command 5\ntimeout data 5\ntimeout session 10\n",
    fuzz_dir, prog, tab, sock) ;
  fuzz_write(fn, "ketch.conf", text, strlen(text)) ;
  if (!conf_load(&cf, fn, &err)) { fprintf(stderr, "session: conf: %.*s\n", (int)err.len, err.s) ; abort() ; }
  stralloc_free(&err) ;
  lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
  memset(&sun, 0, sizeof(sun)) ;
  sun.sun_family = AF_UNIX ;
  if (lfd < 0 || strlen(sock) >= sizeof(sun.sun_path)) abort() ;
  memcpy(sun.sun_path, sock, strlen(sock)) ;
  if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(lfd, 8) < 0) abort() ;
  if (pthread_create(&t, 0, &standin, 0)) abort() ;
  nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC) ;
  if (nullfd < 0) abort() ;
}

static int isdig (char c)
{
  return c >= '0' && c <= '9' ;
}

/* RFC 3463 §2: class "." subject "." detail, 1..3 digits each, then a space or the end */
static int enhanced (char const *s, size_t len, char *class)
{
  size_t i = 0, k ;
  unsigned int part ;
  for (part = 0 ; part < 3 ; part++)
  {
    for (k = 0 ; i < len && isdig(s[i]) && k < 4 ; i++, k++) ;
    if (!k || k > (part ? 3 : 1)) return 0 ;
    if (part < 2) { if (i >= len || s[i] != '.') return 0 ; i++ ; }
  }
  if (i < len && s[i] != ' ') return 0 ;
  *class = s[0] ;
  return 1 ;
}

static void check (char const *out, size_t len, unsigned int took)
{
  size_t i = 0 ;
  unsigned int dataends = 0 ;
  int multi = 0, after354 = 0 ;
  char code[3] ;
  while (i < len)
  {
    char const *nl = memchr(out + i, '\n', len - i) ;
    char const *l = out + i ;
    size_t n ;
    char c ;
    if (!nl) abort() ;                               /* a line without its end */
    n = nl - l ;
    if (n < 5 || l[n-1] != '\r') abort() ;           /* "NNN" ' ' or '-' ... CR */
    n-- ;
    if (memchr(l, '\r', n)) abort() ;                /* a bare CR in a line */
    if (!isdig(l[0]) || !isdig(l[1]) || !isdig(l[2]) || l[0] < '2' || l[0] > '5') abort() ;
    if (l[3] != ' ' && l[3] != '-') abort() ;
    if (multi && memcmp(code, l, 3)) abort() ;       /* a multi-line reply keeps its code */
    memcpy(code, l, 3) ;
    if (l[0] != '3' && enhanced(l + 4, n - 4, &c) && c != l[0]) abort() ;
    i = (nl - out) + 1 ;
    multi = l[3] == '-' ;
    if (multi) continue ;
    /* a whole reply */
    if (after354)
    {
      after354 = 0 ;
      if (!memcmp(code, "250", 3) && ++dataends > took) abort() ;   /* 250 for a message not taken */
    }
    if (!memcmp(code, "354", 3)) after354 = 1 ;
    if ((!memcmp(code, "221", 3) || !memcmp(code, "421", 3)) && i < len) abort() ;
  }
  if (multi) abort() ;                               /* the output ends inside a reply */
  if (dataends != took) abort() ;                    /* a message queued, the client told otherwise */
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static smtpd_session s = SMTPD_SESSION_ZERO ;
  static stralloc out = STRALLOC_ZERO ;
  smtpd_io io = SMTPD_IO_ZERO ;
  unsigned int before, took ;
  int sv[2], big = 1 << 20 ;
  char buf[8192] ;
  ssize_t r ;
  if (size > INPUT_MAX) return 0 ;
  if (lfd < 0) setup() ;
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) abort() ;
  /* the replies stay in the pair until the session ends */
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)) ;
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) ;
  if (size && write(sv[1], data, size) != (ssize_t)size) abort() ;
  shutdown(sv[1], SHUT_WR) ;
  io.fdr = io.fdw = sv[0] ;
  io.logfd = nullfd ;
  io.remoteip = "192.0.2.1" ; io.remoteport = "40000" ;
  io.localip = "127.0.0.1" ; io.localport = "2527" ;
  io.confpath = "/nonexistent" ;
  pthread_mutex_lock(&mx) ; before = commits ; pthread_mutex_unlock(&mx) ;
  if (smtpd_run(&s, &cf, &io)) abort() ;             /* no io->next: never another client */
  pthread_mutex_lock(&mx) ; took = commits - before ; pthread_mutex_unlock(&mx) ;
  smtpd_wipe(&s) ;
  close(sv[0]) ;
  out.len = 0 ;
  while ((r = read(sv[1], buf, sizeof(buf))) > 0)
    if (!stralloc_catb(&out, buf, r)) abort() ;
  close(sv[1]) ;
  check(out.s, out.len, took) ;
  return 0 ;
}
