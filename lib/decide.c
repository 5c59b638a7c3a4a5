/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "conf.h"
#include "lookup.h"
#include "expand.h"
#include "vuser.h"
#include "decide.h"

static int add (stralloc *sa, char const *s)
{
  return stralloc_cats(sa, s) && stralloc_0(sa) ;
}

int decide_who (decide *d, struct passwd const *pw)
{
  size_t n ;
  if (!pw || !pw->pw_uid || !pw->pw_gid) return 0 ;
  n = strlen(pw->pw_name) ;
  if (n >= sizeof(d->name)) return 0 ;
  d->uid = pw->pw_uid ; d->gid = pw->pw_gid ;
  memcpy(d->name, pw->pw_name, n + 1) ;
  return 1 ;
}

/*
 * Is rcpt an entry of the alias orig, as the scheduler expands it? 1
 * with its item in *it (texts and items hold it) and the alias in *a;
 * 0 if not.
 */
static int entry_of (conf const *c, char const *rcpt, char const *orig, lookup *a, stralloc *texts, genalloc *items, expand_item const **it)
{
  size_t i ;
  if (!orig || !lookup_address(a, c, orig) || a->kind != LOOKUP_ALIAS
   || !expand_entry_listed(c, a->sa.s + a->entries, a->entrieslen, rcpt, texts, items, &i)) return 0 ;
  *it = genalloc_s(expand_item, items) + i ;
  return 1 ;
}

/* an alias's file or program: as the owner of the file that lists it (lib/expand) */
static void who_entry (conf const *c, char const *rcpt, char const *orig, decide *d)
{
  lookup a = LOOKUP_ZERO ;
  stralloc texts = STRALLOC_ZERO ;
  genalloc items = GENALLOC_ZERO ;
  expand_item const *it ;
  if (!entry_of(c, rcpt, orig, &a, &texts, &items, &it)) d->why = DECIDE_T_REFUSED ;
  else
  {
    char const *table = conf_str(c, c->aliases) ;
    uid_t uid ;
    if (a.flags & LOOKUP_F_VIRTUAL)
    {
      /* a virtual user's forward: its map lists it */
      conf_vdomain const *v = conf_vdomain_find(c, a.sa.s + a.domain) ;
      table = v ? c->sa.s + v->map : 0 ;
    }
    if (!expand_entry_owner(c, it, table, &uid))
      d->why = errno == EPERM ? "the include file listing it is group- or world-writable" : "no such alias-user" ;
    else if (!decide_who(d, getpwuid(uid))) d->why = "the owner of its list is unknown, root or in group 0" ;
  }
  lookup_free(&a) ;
  stralloc_free(&texts) ;
  genalloc_free(expand_item, &items) ;
}

/* a system account: a local user only for an alias that names it (lookup_aliased) */
static void aliased (conf const *c, char const *rcpt, char const *orig, lookup *l)
{
  lookup a = LOOKUP_ZERO ;
  stralloc texts = STRALLOC_ZERO ;
  genalloc items = GENALLOC_ZERO ;
  expand_item const *it ;
  if (l->kind == LOOKUP_UNKNOWN && l->flags & LOOKUP_F_SYSTEM && entry_of(c, rcpt, orig, &a, &texts, &items, &it)) lookup_aliased(l) ;
  lookup_free(&a) ;
  stralloc_free(&texts) ;
  genalloc_free(expand_item, &items) ;
}

/* an address: the user, or the owner of the virtual domain's map. 1 (why may be set), or 0 and errno */
static int who_address (conf const *c, lookup *l, char const *rcpt, char const *orig, decide *d)
{
  if (!lookup_address(l, c, rcpt)) { d->why = "temporary lookup failure" ; return 1 ; }
  aliased(c, rcpt, orig, l) ;
  if (l->kind == LOOKUP_LOCAL)
  {
    /* lib/lookup gives no system account below local-uid-min (unless aliased), nor one in group 0 */
    struct passwd pw = { .pw_name = l->sa.s + l->user, .pw_uid = l->uid, .pw_gid = l->gid } ;
    /* root stays a local user to lib/lookup: its mail waits for an alias */
    if (!l->uid) d->why = "refusing to deliver as root: alias root to a user" ;
    else if (!decide_who(d, &pw)) d->why = "no such user, or root, for this delivery" ;
  }
  else if (l->kind == LOOKUP_VIRTUAL)
  {
    /* the map's owner owns its Maildirs; a map root owns would share alias-user's uid with them */
    conf_vdomain const *v = conf_vdomain_find(c, l->sa.s + l->domain) ;
    struct stat st ;
    struct passwd const *au = getpwnam(c->alias_user ? c->sa.s + c->alias_user : "nobody") ;
    /* LMTP writes no mailbox here: alias-user (nobody) talks to the server, with no privilege (lib/vuser) */
    if (vuser_lmtp(v, l->sa.s + l->path))
    {
      if (!decide_who(d, au)) d->why = "no such alias-user, or it is root or in group 0: it runs LMTP deliveries" ;
    }
    else if (!v || stat(c->sa.s + v->map, &st) < 0 || !st.st_uid || (au && au->pw_uid == st.st_uid))
      d->why = "the virtual-domain map is owned by root or alias-user: give it to the owner of its Maildirs" ;
    else if (!decide_who(d, getpwuid(st.st_uid))) d->why = "the owner of the virtual-domain map is unknown or in group 0" ;
  }
  else d->why = DECIDE_T_REFUSED ;
  return 1 ;
}

int decide_local (conf const *c, lookup *l, char const *sender, char const *rcpt, char const *orig, unsigned int timeout, unsigned int flags, decide *d)
{
  expand_local x = EXPAND_LOCAL_ZERO ;
  char tfmt[UINT_FMT] ;
  int ok = 0 ;
  if (orig && !*orig) orig = 0 ;
  d->args.len = 0 ; d->fail = 0 ; d->why = 0 ;
  tfmt[uint_fmt(tfmt, timeout)] = 0 ;
  if (!add(&d->args, "-t") || !add(&d->args, tfmt) || (orig && (!add(&d->args, "-o") || !add(&d->args, orig)))) goto end ;
  if (flags & DECIDE_F_SPAWN)
  {
    if (rcpt[0] == '/' || rcpt[0] == '|') who_entry(c, rcpt, orig, d) ;
    else if (!who_address(c, l, rcpt, orig, d)) goto end ;
    if (d->why) { ok = 1 ; goto end ; }
  }
  else d->uid = getuid() ;
  if (!expand_local_who(c, l, rcpt, &x)) goto end ;
  /* an alias's file or program gets the name and home of the user it runs as */
  if (!x.fail && !expand_local_args(c, l, sender, rcpt, orig, d->uid, &x)) goto end ;
  if (x.fail) d->fail = x.fail ;
  else if (!stralloc_catb(&d->args, x.args.s, x.args.len)) goto end ;
  ok = 1 ;
 end:
  expand_local_free(&x) ;
  return ok ;
}

void decide_free (decide *d)
{
  stralloc_free(&d->args) ;
}
