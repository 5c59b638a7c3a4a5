/* ISC license: see LICENSE. */

/* Unit test of lib/lookup: table compilation and every kind of answer. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "lookup.h"
#include "tables.h"
#include "tap.h"

static int entry_is (lookup const *l, unsigned int i, char const *want)
{
  size_t pos = 0 ;
  char const *s = l->sa.s + l->entries ;
  while (i--)
  {
    pos += strlen(s + pos) + 1 ;
    if (pos >= l->entrieslen) return 0 ;
  }
  return !strcmp(s + pos, want) ;
}

static char const *S (lookup const *l, size_t off) { return off ? l->sa.s + off : "" ; }

static size_t nentries (lookup const *l)
{
  size_t pos = 0, n = 0 ;
  char const *s = l->sa.s + l->entries ;
  while (pos < l->entrieslen && s[pos]) { pos += strlen(s + pos) + 1 ; n++ ; }
  return n ;
}

int main (void)
{
  conf c ;
  stralloc err = STRALLOC_ZERO ;
  lookup l = LOOKUP_ZERO ;
  struct passwd *pw = getpwuid(0) ;
  char const *root = pw ? pw->pw_name : "root" ;
  tap_plan(44) ;
  if (!tap_tmpdir()) return 111 ;
  tap_put("aliases",
    "# comment\n"
    "staff: alice, bob@remote.example,\n"
    "  \"|/bin/prog arg, with comma\", /var/mail/staff\n"
    "Sales : :include:/etc/sales.list\n"
    "list+x: root\n") ;
  tap_put("vmap",
    "alice@virt.example /srv/mail/alice/\n"
    "fwd@virt.example someone@remote.example\n"
    "@catch.example catchall@remote.example\n") ;
  tap_put("bad", "nocolon here\n") ;
  tap_put("ketch.conf",
    "hostname mx.test.example\n"
    "local-domain test.example\n"
    "aliases aliases\n"
    "virtual-domain virt.example map vmap\n"
    "virtual-domain catch.example map vmap\n") ;
  ok(conf_load(&c, tap_path("ketch.conf"), &err), "conf loads") ;
  ok(tables_compile_aliases(c.sa.s + c.aliases, &err), "aliases compile") ;
  ok(tables_compile_vmap(c.sa.s + genalloc_s(conf_vdomain, &c.vdomains)[0].map, &err), "virtual map compiles") ;
  ok(!tables_compile_aliases(tap_path("bad"), &err) && strstr(err.s, "bad:1:"), "syntax error reported as file:line (%s)", err.s) ;

  ok(lookup_address(&l, &c, "x@remote.example") && l.kind == LOOKUP_REMOTE, "remote domain") ;
  ok(lookup_address(&l, &c, "STAFF@Test.Example") && l.kind == LOOKUP_ALIAS, "alias, any case") ;
  ok(nentries(&l) == 4, "alias has 4 entries") ;
  ok(entry_is(&l, 0, "alice") && entry_is(&l, 1, "bob@remote.example"), "address entries") ;
  ok(entry_is(&l, 2, "|/bin/prog arg, with comma"), "quoted program entry keeps its comma") ;
  ok(entry_is(&l, 3, "/var/mail/staff"), "file entry") ;
  ok(lookup_entry_kind("alice") == LOOKUP_E_ADDRESS, "entry kind address") ;
  ok(lookup_entry_kind("|/bin/x") == LOOKUP_E_PROGRAM, "entry kind program") ;
  ok(lookup_entry_kind("/x") == LOOKUP_E_FILE, "entry kind file") ;
  ok(lookup_entry_kind(":include:/x") == LOOKUP_E_INCLUDE, "entry kind include") ;
  ok(lookup_entry_kind(":include:x") == LOOKUP_E_BAD, "relative include refused") ;
  ok(lookup_address(&l, &c, "sales@test.example") && l.kind == LOOKUP_ALIAS && entry_is(&l, 0, ":include:/etc/sales.list"), "alias name with blank before colon") ;
  ok(lookup_address(&l, &c, "list+x@test.example") && l.kind == LOOKUP_ALIAS && !l.ext, "alias with +ext matched whole") ;
  ok(lookup_address(&l, &c, "staff+tag@test.example") && l.kind == LOOKUP_ALIAS && l.ext && !strcmp(S(&l, l.ext), "tag"), "user+tag falls back to user, keeps tag") ;
  ok(!strcmp(S(&l, l.local), "staff"), "local part without extension") ;
  ok(lookup_address(&l, &c, "postmaster@test.example") && l.kind == LOOKUP_ALIAS && (l.flags & LOOKUP_F_POSTMASTER) && entry_is(&l, 0, "root"), "postmaster defaults to root") ;
  ok(lookup_address(&l, &c, "PostMaster") && l.kind == LOOKUP_ALIAS, "bare postmaster") ;
  ok(lookup_address(&l, &c, "bare") && l.kind == LOOKUP_UNKNOWN, "other bare names unknown") ;
  ok(lookup_address(&l, &c, "postmaster@virt.example") && l.kind == LOOKUP_ALIAS, "postmaster exists in virtual domains") ;
  {
    char a[300] ;
    size_t n = strlen(root) ;
    memcpy(a, root, n) ; memcpy(a + n, "+box@mx.test.example", 21) ;
    ok(lookup_address(&l, &c, a) && l.kind == LOOKUP_LOCAL && l.uid == 0, "system user with extension (hostname domain)") ;
    ok(!strcmp(S(&l, l.user), root) && l.home && !strcmp(S(&l, l.ext), "box"), "user, home and extension") ;
    a[0] = a[0] >= 'a' && a[0] <= 'z' ? a[0] - 32 : a[0] ;
    ok(lookup_address(&l, &c, a) && l.kind == LOOKUP_LOCAL, "user matched case-insensitively") ;
  }
  ok(lookup_address(&l, &c, "nosuchuser-zz@test.example") && l.kind == LOOKUP_UNKNOWN, "unknown local user") ;
  {
    /* uid 1 (daemon): a system account below local-uid-min receives no mail */
    struct passwd *sys = getpwuid(1) ;
    char a[300] ;
    size_t n = sys ? strlen(sys->pw_name) : 0 ;
    if (n > 200) n = 0 ;
    memcpy(a, sys ? sys->pw_name : "", n) ; memcpy(a + n, "@test.example", 14) ;
    ok(sys && lookup_address(&l, &c, a) && l.kind == LOOKUP_UNKNOWN && (l.flags & LOOKUP_F_SYSTEM) == (sys->pw_gid ? LOOKUP_F_SYSTEM : 0), "a system account (uid 1, %s): unknown", a) ;
    lookup_aliased(&l) ;
    ok((l.kind == LOOKUP_LOCAL) == (sys->pw_gid != 0) && (!sys->pw_gid || l.uid == 1), "a local user if an alias names it (and it is not in group 0)") ;
    c.local_uid_min = 1 ;
    ok(sys && lookup_address(&l, &c, a) && (l.kind == LOOKUP_LOCAL) == (sys->pw_gid != 0), "with local-uid-min 1: a local user, unless in group 0") ;
    c.local_uid_min = 1000 ;
  }
  ok(lookup_address(&l, &c, "\"a;rm -rf\"@test.example") && l.kind == LOOKUP_UNKNOWN, "quoted local part never matches") ;
  ok(lookup_address(&l, &c, "a$(id)@localhost") && l.kind == LOOKUP_UNKNOWN, "metacharacters: just unknown") ;
  ok(lookup_address(&l, &c, "Alice@virt.example") && l.kind == LOOKUP_VIRTUAL && !strcmp(S(&l, l.path), "/srv/mail/alice/"), "virtual user to maildir") ;
  ok(lookup_address(&l, &c, "alice+x@virt.example") && l.kind == LOOKUP_VIRTUAL && !strcmp(S(&l, l.ext), "x"), "virtual user+tag") ;
  ok(lookup_address(&l, &c, "fwd@virt.example") && l.kind == LOOKUP_ALIAS && (l.flags & LOOKUP_F_VIRTUAL) && nentries(&l) == 1 && entry_is(&l, 0, "someone@remote.example"), "virtual forward") ;
  ok(lookup_address(&l, &c, "nobody@virt.example") && l.kind == LOOKUP_UNKNOWN, "unknown virtual user") ;
  ok(lookup_address(&l, &c, "anything@catch.example") && l.kind == LOOKUP_ALIAS && entry_is(&l, 0, "catchall@remote.example"), "catch-all") ;
  {
    stralloc sa = STRALLOC_ZERO ;
    ok(lookup_split_entries(" a , \"b,c\"\n d ,,", 15, &sa) == 3 && sa.len == 8 && !memcmp(sa.s, "a\0b,c\0d\0", 8), "split entries") ;
    sa.len = 0 ;
    ok(lookup_split_entries("\"open", 5, &sa) < 0, "unterminated quote refused") ;
    tap_put("inc", "# members\nx@y.example\nz\n") ;
    sa.len = 0 ;
    {
      struct stat st ;
      ok(lookup_read_include(tap_path("inc"), &sa, &st) == 2 && !strcmp(sa.s, "x@y.example") && st.st_uid == getuid(), "include file read, comments skipped, its owner given") ;
      sa.len = 0 ;
      ok(lookup_read_include(tap_dir(), &sa, &st) < 0, "a directory is no include file") ;
    }
    stralloc_free(&sa) ;
  }
  /* a table compiled again while the process runs: the next lookup sees it, no signal (ketch.conf(5)) */
  tap_put("aliases", "staff: carol\nnewcomer: dave\n") ;
  ok(tables_compile_aliases(c.sa.s + c.aliases, &err), "aliases compiled again") ;
  ok(lookup_address(&l, &c, "newcomer@test.example") && l.kind == LOOKUP_ALIAS && entry_is(&l, 0, "dave"), "... the next lookup sees the new alias") ;
  ok(lookup_address(&l, &c, "staff@test.example") && nentries(&l) == 1 && entry_is(&l, 0, "carol"), "... and the changed one") ;
  lookup_free(&l) ;
  tap_rmtmp() ;
  return tap_done() ;
}
