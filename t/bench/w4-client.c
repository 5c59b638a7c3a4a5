/* ISC license: see LICENSE. */
/*
 * w4-client: the load of make bench's W4 and W4r (t/bench/README.md).
 *
 * PROCS client processes (-p, 16) make CONNS connections in all (-n,
 * 2000) to HOST:PORT, one after the other in each process. Per
 * connection: the greeting, EHLO, STARTTLS, a TLS 1.2 handshake, EHLO,
 * MAIL, RCPT (-r), DATA, a 4 KiB message and its end in one write (no
 * Nagle stall, shared/benchmarks.md), QUIT, then the socket is closed
 * without a close_notify. -R (W4r): each connection offers the TLS
 * session of the process's previous one for resumption.
 *
 * It replaces a client in Python whose interpreter spent about 3 ms of
 * CPU per message on the two cores the MTA measured had (README, the run
 * of record): in C the clients cost a fraction of that, so W4's ratios
 * are the MTAs'. The TLS side is the one Python's ssl had, so that each
 * server sees the same handshakes as before: OpenSSL's libssl, TLS 1.2
 * only, Python's default cipher string and context options (Python 3.11,
 * ssl.SSLContext(PROTOCOL_TLS_CLIENT)), SNI "localhost", no certificate
 * check (the benchmark's certificates are self-signed).
 *
 * The count is shared: each connection takes the next slot of a table
 * in an anonymous shared mapping, where its process writes its figures;
 * the parent reads the table once every process has exited. Every wait
 * is bounded: socket timeouts of TIMEOUT seconds, the children killed
 * if the parent dies. The first failure stops all: its process records
 * the error, no process takes another connection, and the parent kills
 * the rest.
 *
 * Prints one line of JSON: connections made, errors, the first error's
 * text, the handshake's median (connect to TLS established, ms), the
 * suites negotiated (OpenSSL's names, as Python's ssl gives them) and
 * their counts, connections resumed, and the CPU time of the clients
 * (the children's rusage). Exits 0 when every connection succeeded,
 * 111 otherwise, 100 on a usage error.
 */

/* MAP_ANONYMOUS and prctl beside the POSIX the Makefile asks for */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#define TIMEOUT 30
#define MAXPROCS 256
#define MAXCONNS 10000000
/* a reply line longer than this is an error (RFC 5321 4.5.3.1.5: 512) */
#define LINEMAX 1024

/* Python 3.11's default, PY_SSL_DEFAULT_CIPHER_STRING; at TLS 1.2 with
 * OpenSSL 3.0 it selects the 14 suites ssl.SSLContext.get_ciphers() lists */
static char const ciphers[] = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM" ;

struct conn
{
  double hs ;            /* seconds from connect to TLS established */
  unsigned int suite ;   /* the suite's IANA number */
  unsigned char resumed ;
  unsigned char done ;
} ;

struct shared
{
  long next ;            /* the next slot to take; >= conns: none left */
  int failed ;           /* set once, by the first failure */
  char error[256] ;
  struct conn c[] ;
} ;

static struct shared *sh ;
static long conns = 2000 ;
static char const *rcpt = "benchuser@local.test" ;
static int resume = 0 ;
static struct sockaddr_storage sa ;
static socklen_t salen ;
static char body[4096 + 3] ;
static size_t bodylen ;

struct io
{
  int fd ;
  SSL *ssl ;             /* 0 before STARTTLS */
  size_t pos, len ;
  char buf[4096] ;
} ;

static double now (void)
{
  struct timespec ts ;
  clock_gettime(CLOCK_MONOTONIC, &ts) ;
  return ts.tv_sec + ts.tv_nsec / 1e9 ;
}

/* the first failure's text is kept; every process stops taking slots */
static void fail (char const *what, char const *why)
{
  int zero = 0 ;
  if (__atomic_compare_exchange_n(&sh->failed, &zero, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
    snprintf(sh->error, sizeof sh->error, "%s: %s", what, why) ;
  __atomic_store_n(&sh->next, conns, __ATOMIC_SEQ_CST) ;
}

static char const *sslerr (SSL *ssl, int r)
{
  int e = SSL_get_error(ssl, r) ;
  unsigned long q = ERR_peek_last_error() ;
  if (q) return ERR_reason_error_string(q) ? ERR_reason_error_string(q) : "TLS error" ;
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !errno)) return "connection closed" ;
  if (e == SSL_ERROR_SYSCALL) return errno == EAGAIN ? "timed out" : strerror(errno) ;
  return "TLS error" ;
}

static int put (struct io *io, char const *s, size_t n, char const *what)
{
  if (io->ssl)
  {
    int r ;
    errno = 0 ;
    r = SSL_write(io->ssl, s, (int)n) ;
    if (r <= 0) { fail(what, sslerr(io->ssl, r)) ; return 0 ; }
    return 1 ;
  }
  while (n)
  {
    ssize_t w = write(io->fd, s, n) ;
    if (w < 0) { fail(what, errno == EAGAIN ? "timed out" : strerror(errno)) ; return 0 ; }
    s += w ; n -= (size_t)w ;
  }
  return 1 ;
}

static int fill (struct io *io, char const *what)
{
  if (io->ssl)
  {
    int r ;
    errno = 0 ;
    r = SSL_read(io->ssl, io->buf, sizeof io->buf) ;
    if (r <= 0) { fail(what, sslerr(io->ssl, r)) ; return 0 ; }
    io->len = (size_t)r ;
  }
  else
  {
    ssize_t r = read(io->fd, io->buf, sizeof io->buf) ;
    if (r <= 0) { fail(what, r < 0 ? errno == EAGAIN ? "timed out" : strerror(errno) : "connection closed") ; return 0 ; }
    io->len = (size_t)r ;
  }
  io->pos = 0 ;
  return 1 ;
}

/* one reply, multiline or not (RFC 5321 4.2.1): its code, or 0 (failed) */
static unsigned int reply (struct io *io, char const *what)
{
  char line[LINEMAX] ;
  for (;;)
  {
    size_t n = 0 ;
    for (;;)
    {
      char c ;
      if (io->pos == io->len && !fill(io, what)) return 0 ;
      c = io->buf[io->pos++] ;
      if (c == '\n') break ;
      if (n == sizeof line) { fail(what, "reply line too long") ; return 0 ; }
      line[n++] = c ;
    }
    if (n < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
    { fail(what, "malformed reply") ; return 0 ; }
    if (n == 3 || line[3] != '-')
      return (unsigned int)(line[0] - '0') * 100 + (unsigned int)(line[1] - '0') * 10 + (unsigned int)(line[2] - '0') ;
  }
}

/* a command and its reply, which must be below 400; 0 if not */
static int cmd (struct io *io, char const *s, char const *what)
{
  unsigned int code ;
  char why[32] ;
  if (!put(io, s, strlen(s), what)) return 0 ;
  code = reply(io, what) ;
  if (!code) return 0 ;
  if (code >= 400) { snprintf(why, sizeof why, "%u", code) ; fail(what, why) ; return 0 ; }
  return 1 ;
}

/* one connection into slot C; LAST: the session to offer, and the one
 * to offer next (W4r). 0 if it failed (recorded by fail). */
static int one (SSL_CTX *ctx, struct conn *c, SSL_SESSION **last)
{
  static struct io io ;
  struct timeval tv = { .tv_sec = TIMEOUT, .tv_usec = 0 } ;
  char rcptcmd[512] ;
  double t0 = now() ;
  int ok = 0, r ;
  io.ssl = 0 ; io.pos = io.len = 0 ;
  io.fd = socket(sa.ss_family, SOCK_STREAM, 0) ;
  if (io.fd < 0) { fail("socket", strerror(errno)) ; return 0 ; }
  /* SO_SNDTIMEO bounds connect too (socket(7)) */
  if (setsockopt(io.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0
   || setsockopt(io.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
  { fail("setsockopt", strerror(errno)) ; goto end ; }
  if (connect(io.fd, (struct sockaddr *)&sa, salen) < 0)
  { fail("connect", errno == EINPROGRESS ? "timed out" : strerror(errno)) ; goto end ; }
  r = (int)reply(&io, "greeting") ;
  if (r != 220) { if (r) fail("greeting", "not 220") ; goto end ; }
  if (!cmd(&io, "EHLO client.test\r\n", "EHLO")) goto end ;
  if (!put(&io, "STARTTLS\r\n", 10, "STARTTLS")) goto end ;
  r = (int)reply(&io, "STARTTLS") ;
  if (r != 220) { if (r) fail("STARTTLS", "refused") ; goto end ; }
  /* the server says nothing more before the handshake (RFC 3207 4.2) */
  if (io.pos != io.len) { fail("STARTTLS", "data after the reply") ; goto end ; }
  io.ssl = SSL_new(ctx) ;
  if (!io.ssl || !SSL_set_fd(io.ssl, io.fd) || !SSL_set_tlsext_host_name(io.ssl, "localhost")
   || (*last && !SSL_set_session(io.ssl, *last)))
  { fail("SSL_new", "out of memory") ; goto end ; }
  errno = 0 ;
  r = SSL_connect(io.ssl) ;
  if (r != 1) { fail("handshake", sslerr(io.ssl, r)) ; goto end ; }
  c->hs = now() - t0 ;
  c->suite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(io.ssl)) ;
  c->resumed = !!SSL_session_reused(io.ssl) ;
  if (!cmd(&io, "EHLO client.test\r\n", "EHLO")) goto end ;
  if (!cmd(&io, "MAIL FROM:<bench@client.test>\r\n", "MAIL")) goto end ;
  snprintf(rcptcmd, sizeof rcptcmd, "RCPT TO:<%s>\r\n", rcpt) ;
  if (!cmd(&io, rcptcmd, "RCPT")) goto end ;
  if (!cmd(&io, "DATA\r\n", "DATA")) goto end ;
  if (!put(&io, body, bodylen, "message")) goto end ;
  r = (int)reply(&io, "message") ;
  if (r != 250) { if (r) fail("message", "refused") ; goto end ; }
  if (!put(&io, "QUIT\r\n", 6, "QUIT") || !reply(&io, "QUIT")) goto end ;
  if (resume)
  {
    SSL_SESSION *s = SSL_get1_session(io.ssl) ;
    if (*last) SSL_SESSION_free(*last) ;
    *last = s ;
  }
  c->done = 1 ;
  ok = 1 ;
 end:
  /* no close_notify: the socket just closes, as Python's client did.
   * SSL_free of a connection not shut down marks its session not
   * resumable (OpenSSL's ssl_clear_bad_session); marked as shut down,
   * which sends nothing, the session stays good for W4r, as Python's
   * _ssl.c does for the same reason */
  close(io.fd) ;
  if (io.ssl)
  {
    if (!SSL_get_shutdown(io.ssl)) SSL_set_shutdown(io.ssl, SSL_SENT_SHUTDOWN) ;
    SSL_free(io.ssl) ;
  }
  return ok ;
}

static void child (SSL_CTX *ctx)
{
  SSL_SESSION *last = 0 ;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1) _exit(111) ;
  for (;;)
  {
    long i = __atomic_fetch_add(&sh->next, 1, __ATOMIC_SEQ_CST) ;
    if (i >= conns) break ;
    if (!one(ctx, &sh->c[i], &last)) _exit(111) ;
  }
  _exit(0) ;
}

static int cmpd (void const *a, void const *b)
{
  double x = *(double const *)a, y = *(double const *)b ;
  return x < y ? -1 : x > y ;
}

/* for the JSON string: quotes, backslashes and control characters go */
static void jsonsafe (char *s)
{
  for (; *s ; s++) if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) *s = '?' ;
}

static char const *suitename (SSL_CTX *ctx, unsigned int id)
{
  STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx) ;
  int i ;
  for (i = 0 ; i < sk_SSL_CIPHER_num(sk) ; i++)
    if (SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(sk, i)) == id)
      return SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i)) ;
  return "unknown" ;
}

static int noverify (X509_STORE_CTX *x, void *p)
{
  return 1 ;
}

static void usage (void)
{
  fprintf(stderr, "usage: w4-client [-p procs] [-n conns] [-r rcpt] [-R] host:port\n") ;
  exit(100) ;
}

int main (int argc, char *const *argv)
{
  unsigned int procs = 16, i, nsuites = 0, suite[32], count[32] ;
  pid_t pid[MAXPROCS] ;
  SSL_CTX *ctx ;
  double *hs ;
  long done = 0, resumed = 0, j ;
  struct rusage ru ;
  char host[256], *colon ;
  unsigned long port ;
  int opt, status, ok = 1 ;
  while ((opt = getopt(argc, argv, "p:n:r:R")) != -1)
    switch (opt)
    {
      case 'p' : procs = (unsigned int)strtoul(optarg, 0, 10) ; break ;
      case 'n' : conns = strtol(optarg, 0, 10) ; break ;
      case 'r' : rcpt = optarg ; break ;
      case 'R' : resume = 1 ; break ;
      default : usage() ;
    }
  if (argc - optind != 1 || !procs || procs > MAXPROCS || conns < 1 || conns > MAXCONNS
   || strlen(rcpt) > 256 || strlen(argv[optind]) >= sizeof host) usage() ;
  strcpy(host, argv[optind]) ;
  colon = strrchr(host, ':') ;
  if (!colon) usage() ;
  *colon = 0 ;
  port = strtoul(colon + 1, 0, 10) ;
  if (!port || port > 65535) usage() ;
  memset(&sa, 0, sizeof sa) ;
  if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&sa)->sin_addr) == 1)
  {
    ((struct sockaddr_in *)&sa)->sin_family = AF_INET ;
    ((struct sockaddr_in *)&sa)->sin_port = htons(port) ;
    salen = sizeof(struct sockaddr_in) ;
  }
  else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&sa)->sin6_addr) == 1)
  {
    ((struct sockaddr_in6 *)&sa)->sin6_family = AF_INET6 ;
    ((struct sockaddr_in6 *)&sa)->sin6_port = htons(port) ;
    salen = sizeof(struct sockaddr_in6) ;
  }
  else usage() ;

  /* the message of bench.py's W4: 4047 bytes of header and lines of 62
   * x's, then the end of data, sent in one write */
  bodylen = (size_t)sprintf(body, "Subject: W4\r\n\r\n") ;
  for (i = 1 ; i < 64 ; i++)
  {
    memset(body + bodylen, 'x', 62) ;
    memcpy(body + bodylen + 62, "\r\n", 2) ;
    bodylen += 64 ;
  }
  memcpy(body + bodylen, ".\r\n", 3) ;
  bodylen += 3 ;

  /* what ssl.SSLContext(PROTOCOL_TLS_CLIENT) sets up (Python 3.11's
   * _ssl.c): its options (SSL_OP_ALL less DONT_INSERT_EMPTY_FRAGMENTS,
   * no SSLv3, no compression, server preference; TLSEXT_PADDING, in
   * SSL_OP_ALL, shapes the ClientHello), its cipher string, and from
   * bench.py no verification and TLS 1.2 as both minimum and maximum */
  ctx = SSL_CTX_new(TLS_client_method()) ;
  if (!ctx
   || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
   || !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION)
   || !SSL_CTX_set_cipher_list(ctx, ciphers))
  { fprintf(stderr, "w4-client: fatal: unable to set up the TLS context\n") ; return 111 ; }
  SSL_CTX_set_options(ctx, (SSL_OP_ALL & ~SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS) | SSL_OP_NO_SSLv3
    | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE) ;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0) ;
  /* the client's own work, which the server cannot see: with
   * SSL_VERIFY_NONE OpenSSL still builds and checks the chain only to
   * ignore the result, and without read-ahead it reads each record in
   * two system calls, header and body */
  SSL_CTX_set_cert_verify_callback(ctx, &noverify, 0) ;
  SSL_CTX_set_read_ahead(ctx, 1) ;

  sh = mmap(0, sizeof *sh + (size_t)conns * sizeof(struct conn), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) ;
  if (sh == MAP_FAILED) { fprintf(stderr, "w4-client: fatal: unable to mmap: %s\n", strerror(errno)) ; return 111 ; }
  hs = malloc((size_t)conns * sizeof *hs) ;
  if (!hs) { fprintf(stderr, "w4-client: fatal: out of memory\n") ; return 111 ; }
  fflush(stdout) ;
  for (i = 0 ; i < procs ; i++)
  {
    pid[i] = fork() ;
    if (pid[i] < 0) { fail("fork", strerror(errno)) ; procs = i ; break ; }
    if (!pid[i]) child(ctx) ;
  }
  /* a process that failed ends the run: the others are killed, not
   * waited for (each could still wait TIMEOUT seconds on a reply) */
  for (i = 0 ; i < procs ; i++)
  {
    pid_t p = wait(&status) ;
    unsigned int k ;
    if (p < 0) break ;
    for (k = 0 ; k < procs ; k++) if (pid[k] == p) pid[k] = 0 ;
    if (!WIFEXITED(status) || WEXITSTATUS(status))
    {
      if (!sh->failed) fail("client", "exited abnormally") ;
      for (k = 0 ; k < procs ; k++) if (pid[k]) kill(pid[k], SIGKILL) ;
    }
  }
  if (getrusage(RUSAGE_CHILDREN, &ru) < 0) ru.ru_utime.tv_sec = ru.ru_utime.tv_usec = ru.ru_stime.tv_sec = ru.ru_stime.tv_usec = 0 ;

  for (j = 0 ; j < conns ; j++)
  {
    struct conn *c = &sh->c[j] ;
    unsigned int k ;
    if (!c->done) continue ;
    hs[done++] = c->hs ;
    resumed += c->resumed ;
    for (k = 0 ; k < nsuites && suite[k] != c->suite ; k++) ;
    if (k == nsuites && nsuites < 32) { suite[k] = c->suite ; count[k] = 0 ; nsuites++ ; }
    if (k < nsuites) count[k]++ ;
  }
  qsort(hs, (size_t)done, sizeof *hs, cmpd) ;
  if (sh->failed || done != conns) ok = 0 ;
  jsonsafe(sh->error) ;
  printf("{\"connections\": %ld, \"errors\": %ld, \"error\": \"%s\", \"handshake_ms_p50\": ", done, conns - done, sh->error) ;
  if (done) printf("%.3f", 1000 * (done & 1 ? hs[done / 2] : (hs[done / 2 - 1] + hs[done / 2]) / 2)) ;
  else printf("null") ;
  printf(", \"suites\": {") ;
  for (i = 0 ; i < nsuites ; i++) printf("%s\"%s\": %u", i ? ", " : "", suitename(ctx, suite[i]), count[i]) ;
  printf("}, \"resumed\": %ld, \"cpu_s\": %.6f}\n", resumed,
    ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) ;
  return fflush(stdout) == 0 && ok ? 0 : 111 ;
}
