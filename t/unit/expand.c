/* ISC license: see LICENSE. */

/*
 * Unit test of lib/expand: an alias's recipients (lists, /file, |command,
 * :include:, bare local names, bad entries, the depth limit) and the
 * local-deliver arguments of a user, a virtual user and an alias's file
 * or program, as the scheduler hands them over and ketch-route prints them;
 * whether a file or program is an entry of an alias (local-spawn asks).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <pwd.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "lookup.h"
#include "expand.h"
#include "tap.h"

static stralloc texts = STRALLOC_ZERO ;
static genalloc items = GENALLOC_ZERO ;

static int load (conf *c, char const *text)
{
  stralloc err = STRALLOC_ZERO ;
  int r ;
  tap_put("ketch.conf", text) ;
  r = conf_load(c, tap_path("ketch.conf"), &err) ;
  stralloc_free(&err) ;
  return r ;
}

/* entries as lookup gives them: each NUL-terminated */
static int run (conf const *c, char const *ent, size_t len, unsigned int depth)
{
  texts.len = 0 ;
  genalloc_setlen(expand_item, &items, 0) ;
  return expand_entries(c, ent, len, depth, &texts, &items) ;
}

static int item_is (size_t i, unsigned int kind, unsigned int depth, char const *text)
{
  expand_item const *it = genalloc_s(expand_item, &items) + i ;
  if (i >= genalloc_len(expand_item, &items)) return 0 ;
  if (it->kind != kind || it->depth != depth || strcmp(texts.s + it->text, text))
  {
    printf("# item %zu: kind %u depth %u text %s\n", i, it->kind, it->depth, texts.s + it->text) ;
    return 0 ;
  }
  return 1 ;
}

/* argument k of x */
static char const *A (expand_local const *x, unsigned int k)
{
  size_t pos = 0 ;
  if (k >= x->nargs) return "(none)" ;
  while (k--) pos += strlen(x->args.s + pos) + 1 ;
  return x->args.s + pos ;
}

static void mklookup (lookup *l, unsigned int kind, char const *user, char const *ext, char const *domain, char const *home)
{
  l->kind = kind ;
  l->sa.len = 0 ;
  stralloc_catb(&l->sa, "", 1) ;
  l->local = l->sa.len ; stralloc_cats(&l->sa, user) ; stralloc_0(&l->sa) ;
  l->user = l->local ;
  l->ext = 0 ;
  if (ext) { l->ext = l->sa.len ; stralloc_cats(&l->sa, ext) ; stralloc_0(&l->sa) ; }
  l->domain = l->sa.len ; stralloc_cats(&l->sa, domain) ; stralloc_0(&l->sa) ;
  l->home = l->path = l->sa.len ; stralloc_cats(&l->sa, home) ; stralloc_0(&l->sa) ;
  l->uid = 1000 ; l->gid = 1000 ;
}

int main (void)
{
  conf c, m ;
  lookup l = LOOKUP_ZERO ;
  expand_local x = EXPAND_LOCAL_ZERO ;
  stralloc inc = STRALLOC_ZERO ;
  tap_plan(42) ;
  if (!tap_tmpdir()) return 111 ;
  ok(load(&c,
    "hostname mx.test.example\n"
    "local-domain test.example\n"
    "aliases aliases\n"
    "virtual-domain virt.example map vmap\n"
    "deliver maildir ~/Maildir/\n"), "conf loads") ;

  {
    static char const e[] = "alice\0Bob@Remote.Example\0/var/mail/staff\0|/bin/prog  a  b\0" ;
    ok(run(&c, e, sizeof(e) - 1, 3) && genalloc_len(expand_item, &items) == 4, "four entries, four items") ;
    ok(item_is(0, EXPAND_I_RCPT, 3, "alice@mx.test.example"), "a bare name gets the hostname's domain") ;
    ok(item_is(1, EXPAND_I_RCPT, 3, "Bob@remote.example"), "an address, canonical (domain in lower case)") ;
    ok(item_is(2, EXPAND_I_RCPT, 3, "/var/mail/staff"), "a file") ;
    ok(item_is(3, EXPAND_I_RCPT, 3, "|/bin/prog  a  b"), "a program") ;
  }
  {
    static char const e[] = "a\tb\0not an@address@x\0" ;
    ok(run(&c, e, sizeof(e) - 1, 1) && genalloc_len(expand_item, &items) == 2, "two bad entries, two items") ;
    ok(item_is(0, EXPAND_I_BAD, 1, "a\tb"), "a control character: bad") ;
    ok(genalloc_s(expand_item, &items)[1].kind == EXPAND_I_NOTADDR, "not an address") ;
  }

  tap_put("list", "carol, dave@far.example\n:include:/nonexistent\n/tmp/file\n") ;
  stralloc_cats(&inc, ":include:") ; stralloc_cats(&inc, tap_path("list")) ; stralloc_0(&inc) ;
  ok(run(&c, inc.s, inc.len, 2) && genalloc_len(expand_item, &items) == 4, "an include: itself and its three entries") ;
  ok(item_is(0, EXPAND_I_INCLUDE, 2, inc.s), "the include first") ;
  ok(item_is(1, EXPAND_I_RCPT, 3, "carol@mx.test.example"), "its entries one level deeper") ;
  ok(item_is(2, EXPAND_I_RCPT, 3, "dave@far.example") && item_is(3, EXPAND_I_RCPT, 3, "/tmp/file"), "in order, the nested include ignored") ;
  {
    /* who runs an included entry: the include file's owner, as read; the table's own entries say no include */
    expand_item *it = genalloc_s(expand_item, &items) ;
    uid_t u = 12345 ;
    ok(!it[0].include && it[3].include && !strcmp(texts.s + it[3].include, tap_path("list")) && it[3].owner == getuid(), "an included entry names its file and its owner") ;
    ok(getuid() ? expand_entry_owner(&c, it + 3, 0, &u) && u == getuid() : expand_entry_owner(&c, it + 3, 0, &u) && u && u == getpwnam("nobody")->pw_uid, "it runs as that owner, alias-user (nobody) for root's (%u)", (unsigned int)u) ;
    it[3].mode |= 002 ;
    ok(!expand_entry_owner(&c, it + 3, 0, &u) && errno == EPERM, "a world-writable include runs nothing") ;
  }
  {
    /* local-spawn's question: is this file or program, as the same text, an entry of the alias? */
    stralloc ent = STRALLOC_ZERO ;
    size_t i = 99 ;
    stralloc_catb(&ent, "alice\0/var/mail/staff\0|/bin/prog  a  b\0", 39) ;
    stralloc_catb(&ent, inc.s, inc.len) ;
    texts.len = 0 ; genalloc_setlen(expand_item, &items, 0) ;
    ok(expand_entry_listed(&c, ent.s, ent.len, "/var/mail/staff", &texts, &items, &i) && i == 1, "a file the alias lists: listed, its item") ;
    texts.len = 0 ; genalloc_setlen(expand_item, &items, 0) ;
    ok(expand_entry_listed(&c, ent.s, ent.len, "/tmp/file", &texts, &items, &i) && genalloc_s(expand_item, &items)[i].include, "a file its include lists: listed, from the include") ;
    texts.len = 0 ; genalloc_setlen(expand_item, &items, 0) ;
    ok(!expand_entry_listed(&c, ent.s, ent.len, "|/bin/prog a b", &texts, &items, &i), "a program with its arguments regrouped: not listed") ;
    texts.len = 0 ; genalloc_setlen(expand_item, &items, 0) ;
    ok(!expand_entry_listed(&c, ent.s, ent.len, "/var/mail/other", &texts, &items, &i) && expand_entry_listed(&c, ent.s, ent.len, "alice@mx.test.example", &texts, &items, &i),
      "another file: not listed; an address, canonical: listed") ;
    stralloc_free(&ent) ;
  }
  ok(run(&c, inc.s, inc.len, EXPAND_DEPTH) && item_is(0, EXPAND_I_TOODEEP, EXPAND_DEPTH, inc.s) && genalloc_len(expand_item, &items) == 1, "an include at the depth limit: too deep") ;
  {
    static char const e[] = ":include:/nonexistent/list\0" ;
    ok(run(&c, e, sizeof(e) - 1, 1) && genalloc_s(expand_item, &items)[0].kind == EXPAND_I_UNREADABLE && genalloc_s(expand_item, &items)[0].err, "an unreadable include, with errno") ;
  }

  /* a system user, with an extension */
  mklookup(&l, LOOKUP_LOCAL, "alice", "tag", "test.example", "/home/alice") ;
  ok(expand_local_who(&c, &l, "alice+tag@test.example", &x) && x.kind == EXPAND_L_USER && !x.fail, "a user: delivered as the user") ;
  ok(expand_local_args(&c, &l, "s@x", "alice+tag@test.example", 0, 1000, &x) && !x.fail && x.nargs == 10, "local-deliver's arguments (%u)", x.nargs) ;
  ok(!strcmp(A(&x, 0), "-e") && !strcmp(A(&x, 1), "tag") && !strcmp(A(&x, 2), "-F") && !strcmp(A(&x, 3), "--") && !strcmp(A(&x, 4), "s@x"), "-e ext, -F (dot-forward on by default), --, the sender") ;
  ok(!strcmp(A(&x, 5), "alice+tag@test.example") && !strcmp(A(&x, 6), "alice") && !strcmp(A(&x, 7), "/home/alice"), "rcpt, user, home") ;
  ok(x.method == 8 && !strcmp(A(&x, 8), "maildir") && !strcmp(A(&x, 9), "/home/alice/Maildir/"), "the maildir from the deliver template (%s)", A(&x, 9)) ;
  mklookup(&l, LOOKUP_LOCAL, "alice", 0, "test.example", "relative") ;
  ok(expand_local_who(&c, &l, "alice@test.example", &x) && expand_local_args(&c, &l, "", "alice@test.example", 0, 1000, &x) && x.fail && !strcmp(x.fail, EXPAND_T_PATH), "a home that is not absolute: a bad mailbox path") ;

  ok(load(&m, "hostname h.example\nlocal-domain test.example\ndeliver mda /usr/bin/procmail -d %u\ndot-forward off\n"), "conf with an mda loads") ;
  mklookup(&l, LOOKUP_LOCAL, "bob", 0, "test.example", "/home/bob") ;
  ok(expand_local_who(&m, &l, "bob@test.example", &x) && expand_local_args(&m, &l, "", "bob@test.example", 0, 1000, &x) && !x.fail, "an mda user") ;
  ok(x.method == 5 && strcmp(A(&x, 0), "-F") && !strcmp(A(&x, 5), "mda") && !strcmp(A(&x, 6), "/usr/bin/procmail") && !strcmp(A(&x, 7), "-d") && !strcmp(A(&x, 8), "%u"), "the mda's argv as configured, no -F with dot-forward off") ;
  conf_free(&m) ;

  /* a virtual user */
  mklookup(&l, LOOKUP_VIRTUAL, "v", 0, "virt.example", "/srv/mail/v/") ;
  ok(expand_local_who(&c, &l, "v@virt.example", &x) && x.kind == EXPAND_L_VIRTUAL && !x.fail, "a virtual user") ;
  ok(expand_local_args(&c, &l, "", "v@virt.example", 0, 1000, &x) && !strcmp(A(&x, x.method), "maildir") && !strcmp(A(&x, x.method + 1), "/srv/mail/v/"), "its maildir") ;
  mklookup(&l, LOOKUP_VIRTUAL, "v", 0, "virt.example", "srv/mail/v/") ;
  ok(expand_local_who(&c, &l, "v@virt.example", &x) && x.fail && !strcmp(x.fail, EXPAND_T_VPATH), "a relative virtual maildir fails") ;

  /* an alias's file and program */
  ok(expand_local_who(&c, &l, "/var/mail/staff", &x) && x.kind == EXPAND_L_ALIAS && !x.fail, "a file: an alias's") ;
  ok(expand_local_args(&c, &l, "s@x", "/var/mail/staff", "staff@test.example", 0, &x) && !strcmp(A(&x, 2), "staff@test.example") && !strcmp(A(&x, x.method), "mbox") && !strcmp(A(&x, x.method + 1), "/var/mail/staff"), "an mbox, the alias as the recipient") ;
  ok(expand_local_who(&c, &l, "|/bin/prog  a  b", &x) && expand_local_args(&c, &l, "s@x", "|/bin/prog  a  b", 0, 0, &x) && x.nargs == x.method + 4, "a program: split on spaces") ;
  ok(!strcmp(A(&x, x.method), "mda") && !strcmp(A(&x, x.method + 1), "/bin/prog") && !strcmp(A(&x, x.method + 2), "a") && !strcmp(A(&x, x.method + 3), "b"), "no shell, no empty arguments") ;
  ok(!strcmp(A(&x, 2), "|/bin/prog  a  b"), "without an alias, the program itself is the recipient") ;

  {
    /* admission: never twice, never past EXPAND_MAX */
    qstate q = QSTATE_ZERO ;
    unsigned int k = 0 ;
    char a[32] ;
    qstate_add_rcpt(&q, "a@x.example", 0) ;
    ok(expand_admit(&q, "b@x.example") == EXPAND_A_NEW, "a new recipient joins") ;
    ok(expand_admit(&q, "a@x.example") == EXPAND_A_KNOWN, "a known one does not: loops end here") ;
    for (; qstate_n(&q) < EXPAND_MAX ; k++) { snprintf(a, sizeof(a), "r%u@x.example", k) ; qstate_add_rcpt(&q, a, 0) ; }
    ok(expand_admit(&q, "b@x.example") == EXPAND_A_TOOMANY && expand_admit(&q, "a@x.example") == EXPAND_A_TOOMANY, "at EXPAND_MAX nobody joins (the limit is checked first)") ;
    qstate_free(&q) ;
  }
  expand_local_free(&x) ;
  lookup_free(&l) ;
  stralloc_free(&inc) ; stralloc_free(&texts) ;
  genalloc_free(expand_item, &items) ;
  conf_free(&c) ;
  unlink(tap_path("list")) ; unlink(tap_path("ketch.conf")) ;
  tap_rmtmp() ;
  return tap_done() ;
}
