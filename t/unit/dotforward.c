/* ISC license: see LICENSE. */

/*
 * Unit test of lib/dotforward: the parser's targets, the mailbox once,
 * each refusal; the reader's judgement of the file and its directory.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>

#include "dotforward.h"
#include "tap.h"

static dotforward f = DOTFORWARD_ZERO ;
static char const *why ;

/* the targets as "kind:text|...", or "refused: why" */
static char const *parse (char const *s)
{
  static stralloc out = STRALLOC_ZERO ;
  size_t i = 0 ;
  int r ;
  why = 0 ;
  r = dotforward_parse(&f, s, strlen(s), "joe", "joe+x@test.example", "mx.test.example", &why) ;
  out.len = 0 ;
  if (r < 0) stralloc_cats(&out, "error") ;
  else if (!r) { stralloc_cats(&out, "refused: ") ; stralloc_cats(&out, why ? why : "?") ; }
  else
    for (; i < f.sa.len ; i += strlen(f.sa.s + i) + 1)
    {
      stralloc_catb(&out, f.sa.s + i, 1) ; stralloc_cats(&out, ":") ;
      stralloc_cats(&out, f.sa.s + i + 1) ; stralloc_cats(&out, "|") ;
    }
  stralloc_0(&out) ;
  return out.s ;
}

#define is(s, want, what) do { char const *g_ = parse(s) ; ok(!strcmp(g_, want), "%s (%s)", what, g_) ; } while (0)

static char const *readit (char const *home)
{
  static stralloc sa = STRALLOC_ZERO ;
  static char const *const names[] = { "none", "read", "refused", "error" } ;
  unsigned int r ;
  sa.len = 0 ;
  why = "" ;
  r = dotforward_read(home, getuid(), &sa, &why) ;
  return r == DOTFORWARD_R_REFUSED ? why : names[r] ;
}

int main (void)
{
  char const *d ;
  char fn[4096], big[DOTFORWARD_MAX + 2] ;
  tap_plan(27) ;

  is("a@b.example\n", "a:a@b.example|", "an address") ;
  is("# comment\n\n   \n\t# indented comment\r\nA@B.Example , bob\n", "a:A@b.example|a:bob@mx.test.example|",
     "comments and blank lines skipped, CRLF taken, commas split, a bare name at the host name, the domain in lower case") ;
  is("|/usr/bin/procmail -a x\n/var/mail/joe.box\n", "p:/usr/bin/procmail -a x|f:/var/mail/joe.box|", "a program and a file") ;
  is("\"|/bin/prog a,b\"\n", "p:/bin/prog a,b|", "a quoted entry holds a comma") ;
  is("\\joe, other@x.example\n", "s:|a:other@x.example|", "\\user: the mailbox") ;
  is("joe\nJOE@mx.test.example\njoe@test.example\n", "s:|", "the user's own name, bare, at the host name, at the recipient's domain: the mailbox, once") ;
  is("joe+x@test.example\n", "s:|", "the recipient itself: the mailbox") ;
  is("joe@elsewhere.example\njoe2\n", "a:joe@elsewhere.example|a:joe2@mx.test.example|", "the same name elsewhere, or a longer name: forwarded") ;
  is("\\bob\n", "a:bob@mx.test.example|", "\\ and another name: an address") ;
  is("# nothing\n\n", "", "only comments: no target") ;
  is("", "", "empty: no target") ;
  is("a@b.example", "a:a@b.example|", "a last line without LF") ;
  is("|prog\n", "refused: a program that is not an absolute path", "a relative program: refused") ;
  is("|\n", "refused: an empty program entry", "an empty program: refused") ;
  is(":include:/etc/list\n", "refused: a :include: entry", ":include: refused") ;
  is("a@b.example\n\"x\n", "refused: an unterminated quote", "an unterminated quote refuses everything, the good line too") ;
  is("a\001b@x.example\n", "refused: a control character", "a control octet refused") ;
  is("<<>>\n", "refused: an entry that is not an address", "no address: refused") ;
  {
    char line[DOTFORWARD_LINE_MAX + 3] ;
    memset(line, 'a', DOTFORWARD_LINE_MAX + 1) ; line[DOTFORWARD_LINE_MAX + 1] = '\n' ; line[DOTFORWARD_LINE_MAX + 2] = 0 ;
    is(line, "refused: a line longer than 1000 octets", "a line of 1001 octets: refused") ;
  }
  {
    stralloc many = STRALLOC_ZERO ;
    unsigned int i = 0 ;
    for (; i < DOTFORWARD_ENTRIES_MAX + 1 ; i++) stralloc_cats(&many, "u@x.example\n") ;
    stralloc_0(&many) ;
    is(many.s, "refused: more than 100 entries", "101 entries: refused") ;
    stralloc_free(&many) ;
  }
  {
    /* a NUL in the content: not a C string, so by length */
    int r = dotforward_parse(&f, "a@b.example\n\0x\n", 15, "joe", "joe@test.example", "mx.test.example", &why) ;
    ok(!r && !strcmp(why, "a control character"), "a NUL refused") ;
  }

  d = tap_tmpdir() ;
  if (!d) { ok(0, "scratch directory") ; return tap_done() ; }
  chmod(d, 0755) ;
  ok(!strcmp(readit(d), "none"), "no .forward: none") ;
  tap_put(".forward", "a@b.example\n") ;
  chmod(tap_path(".forward"), 0644) ;
  ok(!strcmp(readit(d), "read"), "a plain file: read") ;
  chmod(tap_path(".forward"), 0664) ;
  ok(!strcmp(readit(d), "group- or world-writable"), "group-writable: refused") ;
  chmod(tap_path(".forward"), 0644) ;
  chmod(d, 0777) ;
  ok(!strcmp(readit(d), "the home directory is group- or world-writable"), "a world-writable home: refused") ;
  chmod(d, 0755) ;
  memcpy(fn, tap_path(".forward"), strlen(tap_path(".forward")) + 1) ;
  unlink(fn) ;
  {
    int ok_ = symlink("/etc/passwd", fn) == 0 ;
    ok(ok_ && !strcmp(readit(d), "a symbolic link"), "a symbolic link: refused") ;
    unlink(fn) ;
  }
  memset(big, 'a', sizeof(big) - 1) ; big[sizeof(big) - 1] = 0 ;
  tap_put(".forward", big) ;
  chmod(fn, 0644) ;
  ok(!strcmp(readit(d), "larger than 65536 octets"), "65537 octets: refused") ;
  dotforward_free(&f) ;
  tap_rmtmp() ;
  return tap_done() ;
}
