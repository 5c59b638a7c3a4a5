/* ISC license: see LICENSE. */

#ifndef KETCH_TAP_H
#define KETCH_TAP_H

/* A minimal TAP producer for the unit tests of lib/. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/djbunix.h>

static unsigned int tap_n = 0, tap_failed = 0 ;

#define tap_plan(n) printf("1..%u\n", (unsigned int)(n))
#define ok(cond, ...) do { int c_ = !!(cond) ; tap_n++ ; if (!c_) tap_failed++ ; \
  printf("%sok %u - ", c_ ? "" : "not ", tap_n) ; printf(__VA_ARGS__) ; printf("\n") ; } while (0)
#define tap_done() (fflush(stdout), tap_failed ? 1 : 0)

/*
 * A scratch directory for the files a test reads (tables, ketch.conf):
 * tap_tmpdir() makes it (NULL on failure), tap_path(NAME) is NAME in it
 * (a static buffer, valid until the next call), tap_put(NAME, TEXT)
 * writes a file there (1, or 0 and errno), tap_rmtmp() removes it and
 * everything in it. Inline, so that a test that uses none of them has
 * nothing unused.
 */
static inline char *tap_dir (void)
{
  static char d[] = "/tmp/ketch-unit.XXXXXX" ;
  return d ;
}

static inline char const *tap_tmpdir (void) { return mkdtemp(tap_dir()) ; }

static inline char const *tap_path (char const *name)
{
  static char fn[sizeof("/tmp/ketch-unit.XXXXXX/") + 64] ;
  if ((size_t)snprintf(fn, sizeof(fn), "%s/%s", tap_dir(), name) >= sizeof(fn)) abort() ;
  return fn ;
}

static inline int tap_put (char const *name, char const *text)
{
  return openwritenclose_unsafe(tap_path(name), text, strlen(text)) ;
}

static inline void tap_rmtmp (void) { rm_rf(tap_dir()) ; }

/*
 * A scripted SMTP peer for the client modules' tests (lib/smtpclient,
 * smtptx, smtpsess): the test holds one end of a socketpair in tap_peer,
 * tap_say(TEXT) writes the server's lines, tap_heard() reads what the
 * client sent since the last call (a static buffer, NUL-terminated).
 */
static int tap_peer = -1 ;

static inline void tap_say (char const *s)
{
  if (write(tap_peer, s, strlen(s)) != (ssize_t)strlen(s)) printf("# peer write failed\n") ;
}

/* a new connection: the peer's end replaces tap_peer, the client's is returned (both non-blocking) */
static inline int tap_pair (void)
{
  int sv[2] ;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || ndelay_on(sv[0]) < 0 || ndelay_on(sv[1]) < 0) { printf("Bail out! socketpair\n") ; _exit(1) ; }
  if (tap_peer >= 0) close(tap_peer) ;
  tap_peer = sv[1] ;
  return sv[0] ;
}

static inline char const *tap_heard (void)
{
  static char buf[8192] ;
  ssize_t r = read(tap_peer, buf, sizeof(buf) - 1) ;
  buf[r > 0 ? r : 0] = 0 ;
  return buf ;
}

#endif
