/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/dovecotauth: each line of the input parsed
 * as a server line, its user= unescaped into a bounded buffer, and the
 * whole input as the server's answers to one authentication (read over a
 * socketpair whose server end is closed after it: EOF, never a wait).
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <sys/socket.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "dovecotauth.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static dovecotauth d ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  size_t i = 0 ;
  while (i <= size)
  {
    char const *lf = memchr(s + i, '\n', size - i) ;
    size_t n = lf ? (size_t)(lf - (s + i)) : size - i ;
    dovecotauth_reply r ;
    enum dovecotauth_kind_e k = dovecotauth_parse(s + i, n, &r) ;
    if (k != r.kind) abort() ;
    if (r.data && (r.data < s + i || r.data + r.datalen > s + i + n)) abort() ;
    if (r.mech & ~(DOVECOTAUTH_PLAIN | DOVECOTAUTH_LOGIN)) abort() ;
    if (r.data)
    {
      char out[DOVECOTAUTH_USER_MAX] ;
      ssize_t u = dovecotauth_unescape(r.data, r.datalen, out, sizeof(out)) ;
      if (u > (ssize_t)sizeof(out) || (u < 0 && r.datalen <= sizeof(out))) abort() ;
    }
    i += n + 1 ;
  }
  {
    int sv[2] ;
    stralloc user = STRALLOC_ZERO ;
    char const *resp[2] = { "bob", "pw" } ;
    size_t rlen[2] = { 3, 2 } ;
    tain dl ;
    enum ketch_result e ;
    signal(SIGPIPE, SIG_IGN) ;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) abort() ;
    /* the input fits the socket's buffer (-max_len=4096): written whole before the client reads */
    if (size && write(sv[1], data, size) != (ssize_t)size) abort() ;
    shutdown(sv[1], SHUT_WR) ;
    ndelay_on(sv[0]) ;
    d.fd = sv[0] ; d.len = d.skip = 0 ; d.id = 0 ;
    tain_now_g() ;
    tain_addsec_g(&dl, 2) ;
    e = dovecotauth_check(&d, DOVECOTAUTH_LOGIN, resp, rlen, 2, 0, "127.0.0.1", 0, &user, &dl) ;
    if (e != KETCH_RESULT_OK && e != KETCH_RESULT_TEMP && e != KETCH_RESULT_PERM) abort() ;
    if (e == KETCH_RESULT_OK && (user.len > DOVECOTAUTH_USER_MAX || (user.len && user.s[user.len]))) abort() ;
    if (e == KETCH_RESULT_TEMP && d.fd >= 0) abort() ;
    dovecotauth_close(&d) ;
    close(sv[1]) ;
    stralloc_free(&user) ;
  }
  return 0 ;
}
