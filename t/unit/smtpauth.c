/* ISC license: see LICENSE. */

#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "tap.h"
#include "smtpauth.h"

static int find_is (char const *text, char const *host, int wantr, char const *wu, char const *wp)
{
  stralloc u = STRALLOC_ZERO, p = STRALLOC_ZERO ;
  int r = smtpauth_creds_find(text, strlen(text), host, &u, &p) ;
  int good = r == wantr && (!wantr || (!strcmp(u.s, wu) && !strcmp(p.s, wp))) ;
  stralloc_free(&u) ; stralloc_free(&p) ;
  return good ;
}

int main (void)
{
  char dir[] = "/tmp/ketch-smtpauth.XXXXXX" ;
  char fn[64] ;
  stralloc sa = STRALLOC_ZERO ;
  tap_plan(10) ;

  ok(find_is("user pass\n", "mx.example", 1, "user", "pass"), "creds: a generic line") ;
  ok(find_is("# comment\n\n  user\tpass  \r\n", "mx.example", 1, "user", "pass"), "creds: comments, blanks, tabs, CRLF") ;
  ok(find_is("any a1\nMX.example hu hp\n", "mx.example", 1, "hu", "hp"), "creds: the host's line wins, case-insensitive") ;
  ok(find_is("other.example ou op\n", "mx.example", 0, 0, 0), "creds: another host's line is not used") ;
  ok(find_is("one two three four\nu p", "mx.example", 1, "u", "p"), "creds: a line of 4 words is ignored; no final LF") ;
  ok(find_is("", "mx.example", 0, 0, 0), "creds: empty file") ;

  if (!mkdtemp(dir)) { perror("mkdtemp") ; return 1 ; }
  memcpy(fn, dir, strlen(dir)) ; memcpy(fn + strlen(dir), "/c", 3) ;
  ok(openwritenclose_unsafe(fn, "u p\n", 4) && chmod(fn, 0600) == 0, "creds: file written") ;
  ok(smtpauth_creds_read(fn, &sa) && sa.len == 4, "creds: a 0600 file of ours is read") ;
  chmod(fn, 0640) ;
  sa.len = 0 ;
  errno = 0 ;
  ok(!smtpauth_creds_read(fn, &sa) && errno == EPERM, "creds: a group-readable file is refused (EPERM)") ;
  chmod(fn, 0604) ;
  ok(!smtpauth_creds_read(fn, &sa) && errno == EPERM, "creds: a world-readable file is refused") ;
  unlink(fn) ; rmdir(dir) ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
