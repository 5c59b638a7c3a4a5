/* ISC license: see LICENSE. */

/*
 * Unit test of lib/decide: the owner rule (the passwd entry's uid, name
 * and group; never root, never group 0), the scheduler's decision as
 * its own user, and local-spawn's (DECIDE_F_SPAWN): an alias's file runs
 * as the owner of the aliases file with that owner's passwd group, not
 * the file's group; an entry the alias does not list is refused.
 */

#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <pwd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "lookup.h"
#include "tables.h"
#include "expand.h"
#include "decide.h"
#include "tap.h"


/* argument k of the decision */
static char const *A (decide const *d, unsigned int k)
{
  size_t pos = 0 ;
  while (k--)
  {
    if (pos >= d->args.len) return "(none)" ;
    pos += strlen(d->args.s + pos) + 1 ;
  }
  return pos < d->args.len ? d->args.s + pos : "(none)" ;
}

int main (void)
{
  conf c ;
  decide d = DECIDE_ZERO ;
  lookup l = LOOKUP_ZERO ;
  stralloc err = STRALLOC_ZERO, text = STRALLOC_ZERO, file = STRALLOC_ZERO ;
  struct passwd const *nobody = getpwnam("nobody") ;
  struct passwd const *me = getpwuid(getuid()) ;
  tap_plan(13) ;
  if (!tap_tmpdir() || !nobody || !me) return 111 ;
  chmod(tap_dir(), 0755) ;

  {
    struct passwd pw = { .pw_name = "someone", .pw_uid = 1234, .pw_gid = 5678 } ;
    char longname[300] ;
    ok(decide_who(&d, &pw) && d.uid == 1234 && d.gid == 5678 && !strcmp(d.name, "someone"), "a user: its uid, name and passwd group") ;
    pw.pw_uid = 0 ;
    ok(!decide_who(&d, &pw), "never root") ;
    pw.pw_uid = 1234 ; pw.pw_gid = 0 ;
    ok(!decide_who(&d, &pw), "never group 0") ;
    memset(longname, 'a', sizeof(longname) - 1) ; longname[sizeof(longname) - 1] = 0 ;
    pw.pw_gid = 5678 ; pw.pw_name = longname ;
    ok(!decide_who(&d, &pw) && !decide_who(&d, 0), "no name too long, no entry at all") ;
  }

  stralloc_cats(&file, tap_path("staff.mbox")) ; stralloc_0(&file) ;
  stralloc_cats(&text, "staff: ") ; stralloc_cats(&text, file.s) ; stralloc_cats(&text, "\n") ; stralloc_0(&text) ;
  tap_put("aliases", text.s) ;
  text.len = 0 ;
  stralloc_cats(&text, "hostname mx.test.example\nlocal-domain test.example\ndeliver maildir ~/Maildir/\naliases ") ;
  stralloc_cats(&text, tap_path("aliases")) ; stralloc_cats(&text, "\n") ; stralloc_0(&text) ;
  tap_put("ketch.conf", text.s) ;
  ok(conf_load(&c, tap_path("ketch.conf"), &err) && tables_compile_aliases(tap_path("aliases"), &err), "conf loads, aliases compile") ;

  /* the scheduler as its own user: runs as itself, the alias's file an mbox */
  ok(decide_local(&c, &l, "s@x", file.s, "staff@test.example", 600, 0, &d) && !d.fail && !d.why, "the scheduler decides an alias's file") ;
  ok(!strcmp(A(&d, 0), "-t") && !strcmp(A(&d, 1), "600") && !strcmp(A(&d, 2), "-o") && !strcmp(A(&d, 3), "staff@test.example") && !strcmp(A(&d, 4), "--"),
    "-t timeout, -o the alias, --") ;
  ok(!strcmp(A(&d, 6), "staff@test.example") && !strcmp(A(&d, 7), me->pw_name) && !strcmp(A(&d, 9), "mbox") && !strcmp(A(&d, 10), file.s),
    "the alias as the recipient, its own name, an mbox (%s %s)", A(&d, 7), A(&d, 9)) ;
  {
    lookup v = LOOKUP_ZERO ;
    stralloc_catb(&v.sa, "\0v\0virt.example\0srv/v/", 23) ;
    v.kind = LOOKUP_VIRTUAL ; v.local = 1 ; v.domain = 3 ; v.path = 16 ;
    ok(decide_local(&c, &v, "", "v@virt.example", 0, 600, 0, &d) && d.fail && !strcmp(d.fail, EXPAND_T_VPATH), "a relative virtual maildir: a permanent failure") ;
    lookup_free(&v) ;
  }

  /* local-spawn: the owner rule for a table whose group is not its owner's */
  if (geteuid() == 0 && chown(tap_path("aliases"), nobody->pw_uid, 0) == 0)
  {
    ok(decide_local(&c, &l, "s@x", file.s, "staff@test.example", 600, DECIDE_F_SPAWN, &d) && !d.why && !d.fail, "local-spawn decides the entry (%s)", d.why ? d.why : "") ;
    ok(d.uid == nobody->pw_uid && d.gid == nobody->pw_gid && d.gid != 0 && !strcmp(d.name, "nobody"), "as the table's owner with the owner's passwd group (%u), not the file's (0)", (unsigned int)d.gid) ;
    ok(!strcmp(A(&d, 7), "nobody") && !strcmp(A(&d, 8), nobody->pw_dir), "its name and home in the arguments") ;
  }
  else
  {
    ok(1, "# SKIP needs root to give the table away") ;
    ok(1, "# SKIP needs root to give the table away") ;
    ok(1, "# SKIP needs root to give the table away") ;
  }
  ok(decide_local(&c, &l, "s@x", "|/bin/sh -c x", "staff@test.example", 600, DECIDE_F_SPAWN, &d) && d.why && !strcmp(d.why, DECIDE_T_REFUSED), "a program the alias does not list: refused") ;

  decide_free(&d) ;
  lookup_free(&l) ;
  conf_free(&c) ;
  stralloc_free(&err) ; stralloc_free(&text) ; stralloc_free(&file) ;
  unlink(tap_path("aliases.cdb")) ; unlink(tap_path("aliases")) ; unlink(tap_path("ketch.conf")) ;
  tap_rmtmp() ;
  return tap_done() ;
}
