/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "address.h"
#include "conf.h"
#include "lookup.h"
#include "qstate.h"
#include "expand.h"
#include "vuser.h"

/* where an entry was read: a :include: file (path its offset in sa), or the table (0) */
typedef struct source_s source ;
struct source_s
{
  size_t path ;
  uid_t owner ;
  mode_t mode ;
} ;

static int item_add (genalloc *items, stralloc *sa, unsigned int kind, unsigned int depth, char const *s, int err, source const *src)
{
  expand_item it = { .kind = kind, .depth = depth, .text = sa->len, .err = err, .include = src->path, .owner = src->owner, .mode = src->mode } ;
  if (!stralloc_cats(sa, s) || !stralloc_0(sa)) return 0 ;
  return genalloc_append(expand_item, items, &it) ;
}

static source const table_source = { .path = 0, .owner = 0, .mode = 0 } ;

static int entry_add (conf const *cf, char const *entry, unsigned int d, stralloc *sa, genalloc *items, source const *src)
{
  unsigned int k = lookup_entry_kind(entry) ;
  size_t i = 0 ;
  for (; entry[i] ; i++) if ((unsigned char)entry[i] < 32 || entry[i] == 127) k = LOOKUP_E_BAD ;
  switch (k)
  {
    case LOOKUP_E_INCLUDE :
    {
      stralloc inc = STRALLOC_ZERO ;
      struct stat st ;
      ssize_t n = lookup_read_include(entry + 9, &inc, &st) ;
      size_t pos = 0 ;
      int ok = 1 ;
      source isrc = { .path = 0, .owner = 0, .mode = 0 } ;
      if (n < 0) return item_add(items, sa, EXPAND_I_UNREADABLE, d, entry, errno, src) ;
      if (d + 1 > EXPAND_DEPTH) { stralloc_free(&inc) ; return item_add(items, sa, EXPAND_I_TOODEEP, d, entry, 0, src) ; }
      /* its entries point at its path, in the INCLUDE item's text */
      isrc.path = sa->len + 9 ; isrc.owner = st.st_uid ; isrc.mode = st.st_mode ;
      if (!item_add(items, sa, EXPAND_I_INCLUDE, d, entry, 0, src)) ok = 0 ;
      /* one level only: an include in an included file is ignored */
      for (; ok && pos < inc.len ; pos += strlen(inc.s + pos) + 1)
        if (lookup_entry_kind(inc.s + pos) != LOOKUP_E_INCLUDE && !entry_add(cf, inc.s + pos, d + 1, sa, items, &isrc)) ok = 0 ;
      stralloc_free(&inc) ;
      return ok ;
    }
    case LOOKUP_E_ADDRESS :
    {
      stralloc a = STRALLOC_ZERO ;
      address ad = ADDRESS_ZERO ;
      int ok ;
      if (!strchr(entry, '@'))
      {
        if (!stralloc_cats(&a, entry) || !stralloc_catb(&a, "@", 1) || !stralloc_cats(&a, cf->sa.s + cf->hostname) || !stralloc_0(&a))
        { stralloc_free(&a) ; return 0 ; }
        entry = a.s ;
      }
      ok = address_parse(&ad, entry, strlen(entry), ADDRESS_UTF8)
        ? item_add(items, sa, EXPAND_I_NOTADDR, d, entry, 0, src)
        : item_add(items, sa, EXPAND_I_RCPT, d, ad.s, 0, src) ;
      stralloc_free(&a) ;
      return ok ;
    }
    case LOOKUP_E_FILE :
    case LOOKUP_E_PROGRAM :
      return item_add(items, sa, EXPAND_I_RCPT, d, entry, 0, src) ;
    default :
      return item_add(items, sa, EXPAND_I_BAD, d, entry, 0, src) ;
  }
}

int expand_entries (conf const *cf, char const *entries, size_t len, unsigned int depth, stralloc *sa, genalloc *items)
{
  /* the entries may point into sa itself, which grows: copy them first */
  stralloc ent = STRALLOC_ZERO ;
  size_t pos = 0 ;
  int ok = 1 ;
  if (!stralloc_catb(&ent, entries, len)) return 0 ;
  for (; ok && pos < ent.len && ent.s[pos] ; pos += strlen(ent.s + pos) + 1)
    if (!entry_add(cf, ent.s + pos, depth, sa, items, &table_source)) ok = 0 ;
  stralloc_free(&ent) ;
  return ok ;
}

unsigned int expand_admit (qstate const *q, char const *a)
{
  size_t n = qstate_n(q), i = 0 ;
  if (n >= EXPAND_MAX) return EXPAND_A_TOOMANY ;
  for (; i < n ; i++) if (!strcmp(qstate_str(q, qstate_get(q, i)->addr), a)) return EXPAND_A_KNOWN ;
  return EXPAND_A_NEW ;
}

int expand_entry_owner (conf const *cf, expand_item const *it, char const *table, uid_t *uid)
{
  struct stat st ;
  struct passwd *pw ;
  if (it->include)
  {
    if (it->mode & 022) return (errno = EPERM, 0) ;
    *uid = it->owner ;
  }
  else if (table && stat(table, &st) == 0) *uid = st.st_uid ;
  else *uid = 0 ;
  if (*uid) return 1 ;
  pw = getpwnam(cf->alias_user ? cf->sa.s + cf->alias_user : "nobody") ;
  if (!pw) return (errno = ENOENT, 0) ;
  *uid = pw->pw_uid ;
  return 1 ;
}

int expand_entry_listed (conf const *cf, char const *entries, size_t len, char const *rcpt, stralloc *texts, genalloc *items, size_t *i)
{
  size_t n = genalloc_len(expand_item, items) ;
  /* the items this expansion appends, not what the caller's genalloc held before */
  *i = n ;
  if (!expand_entries(cf, entries, len, 1, texts, items)) return 0 ;
  n = genalloc_len(expand_item, items) ;
  for (; *i < n ; (*i)++)
  {
    expand_item const *it = genalloc_s(expand_item, items) + *i ;
    if (it->kind == EXPAND_I_RCPT && !strcmp(texts->s + it->text, rcpt)) return 1 ;
  }
  return 0 ;
}

int expand_local_who (conf const *cf, lookup const *l, char const *addr, expand_local *x)
{
  x->fail = 0 ;
  if (addr[0] == '/' || addr[0] == '|') x->kind = EXPAND_L_ALIAS ;
  else if (l->kind == LOOKUP_VIRTUAL)
  {
    /* the Maildir is written as the map's owner; an LMTP delivery writes nothing here (lib/vuser) */
    unsigned int method ;
    stralloc t = STRALLOC_ZERO ;
    x->kind = EXPAND_L_VIRTUAL ;
    if (!vuser_target(cf, conf_vdomain_find(cf, l->sa.s + l->domain), l->sa.s + l->path, l->sa.s + l->local, l->sa.s + l->domain, &method, &t))
    {
      if (errno != EINVAL) return 0 ;
      x->fail = l->sa.s[l->path] ? EXPAND_T_VPATH : EXPAND_T_VNONE ;
    }
    else if (method == CONF_DELIVER_LMTP) x->kind = EXPAND_L_VLMTP ;
    stralloc_free(&t) ;
  }
  else x->kind = EXPAND_L_USER ;
  return 1 ;
}

static int arg (expand_local *x, char const *s, size_t n)
{
  if (!stralloc_catb(&x->args, s, n) || !stralloc_0(&x->args)) return 0 ;
  x->nargs++ ;
  return 1 ;
}
#define args(x, s) arg(x, s, strlen(s))

int expand_local_args (conf const *cf, lookup const *l, char const *sender, char const *addr, char const *orig, uid_t uid, expand_local *x)
{
  x->args.len = 0 ; x->nargs = 0 ; x->fail = 0 ;
  if (x->kind == EXPAND_L_ALIAS)
  {
    struct passwd *pw = getpwuid(uid) ;
    if (!args(x, "--") || !args(x, sender) || !args(x, orig ? orig : addr)
     || !args(x, pw ? pw->pw_name : "nobody") || !args(x, pw ? pw->pw_dir : "/")) return 0 ;
    x->method = x->nargs ;
    if (addr[0] == '/') return args(x, "mbox") && args(x, addr) ;
    {
      /* |command args: split on spaces here, never a shell (local-deliver(8)) */
      char const *s = addr + 1 ;
      if (!args(x, "mda")) return 0 ;
      while (*s)
      {
        size_t n ;
        while (*s == ' ') s++ ;
        n = str_chr(s, ' ') ;
        if (!n) break ;
        if (!arg(x, s, n)) return 0 ;
        s += n ;
      }
      return 1 ;
    }
  }
  if (x->kind == EXPAND_L_VIRTUAL || x->kind == EXPAND_L_VLMTP)
  {
    stralloc t = STRALLOC_ZERO ;
    unsigned int method ;
    int ok ;
    if (!vuser_target(cf, conf_vdomain_find(cf, l->sa.s + l->domain), l->sa.s + l->path, l->sa.s + l->local, l->sa.s + l->domain, &method, &t))
    {
      stralloc_free(&t) ;
      if (errno != EINVAL) return 0 ;
      x->fail = l->sa.s[l->path] ? EXPAND_T_VPATH : EXPAND_T_VNONE ;
      return 1 ;
    }
    /* the home of a virtual user is its Maildir, or "/" (no mailbox here: LMTP) */
    ok = (!l->ext || (args(x, "-e") && args(x, l->sa.s + l->ext)))
      && args(x, "--") && args(x, sender) && args(x, addr) && args(x, l->sa.s + l->local)
      && args(x, method == CONF_DELIVER_LMTP ? "/" : t.s) ;
    x->method = x->nargs ;
    ok = ok && args(x, vuser_method_name(method)) && args(x, t.s) ;
    stralloc_free(&t) ;
    return ok ;
  }
  {
    char const *user = l->sa.s + l->user, *home = l->sa.s + l->home ;
    if (l->ext && (!args(x, "-e") || !args(x, l->sa.s + l->ext))) return 0 ;
    /* the user's own ~/.forward decides, read as the user (lib/deliver) */
    if (cf->dot_forward == CONF_DOTFORWARD_ON && !args(x, "-F")) return 0 ;
    /* "--": a sender may begin with a dash */
    if (!args(x, "--") || !args(x, sender) || !args(x, addr) || !args(x, user) || !args(x, home)) return 0 ;
    x->method = x->nargs ;
    switch (cf->deliver.type)
    {
      case CONF_DELIVER_MAILDIR :
      case CONF_DELIVER_MBOX :
      {
        stralloc path = STRALLOC_ZERO ;
        int ok ;
        if (!conf_expand_path(cf->sa.s + cf->deliver.arg, user, l->sa.s + l->domain, home, &path))
        {
          stralloc_free(&path) ;
          x->fail = EXPAND_T_PATH ;
          return 1 ;
        }
        ok = args(x, cf->deliver.type == CONF_DELIVER_MAILDIR ? "maildir" : "mbox") && args(x, path.s) ;
        stralloc_free(&path) ;
        return ok ;
      }
      case CONF_DELIVER_MDA :
      {
        size_t pos = cf->deliver.arg ;
        unsigned int k = 0 ;
        if (!args(x, "mda")) return 0 ;
        for (; k < cf->deliver.argc ; k++, pos += strlen(cf->sa.s + pos) + 1)
          if (!args(x, cf->sa.s + pos)) return 0 ;
        return 1 ;
      }
      case CONF_DELIVER_LMTP :
        return args(x, "lmtp") && args(x, cf->sa.s + cf->deliver.arg) ;
    }
  }
  return 1 ;
}

void expand_local_free (expand_local *x)
{
  stralloc_free(&x->args) ;
}

/*
 * The mailbox path templates of "deliver maildir|mbox" (ketch.conf(5)),
 * here beside their one user, expand_local_args. A leading "~/" is home,
 * "%u" the user (or local part), "%d" the domain, "%%" a percent sign. A
 * value that could climb out of its directory (a '/', or a leading '.')
 * is refused with EINVAL, so a hostile local part can never choose a
 * path.
 */
static int safe_component (char const *s)
{
  return *s && *s != '.' && !strchr(s, '/') ;
}

int conf_expand_path (char const *tmpl, char const *user, char const *domain, char const *home, stralloc *out)
{
  char const *s = tmpl ;
  if (s[0] == '~' && s[1] == '/')
  {
    if (!home || home[0] != '/') return (errno = EINVAL, 0) ;
    if (!stralloc_cats(out, home)) return 0 ;
    s++ ;
  }
  for (; *s ; s++)
  {
    if (*s != '%') { if (!stralloc_catb(out, s, 1)) return 0 ; continue ; }
    switch (*++s)
    {
      case 'u' :
        if (!user || !safe_component(user)) return (errno = EINVAL, 0) ;
        if (!stralloc_cats(out, user)) return 0 ;
        break ;
      case 'd' :
        if (!domain || !safe_component(domain)) return (errno = EINVAL, 0) ;
        if (!stralloc_cats(out, domain)) return 0 ;
        break ;
      case '%' : if (!stralloc_catb(out, "%", 1)) return 0 ; break ;
      default : return (errno = EINVAL, 0) ;
    }
  }
  return stralloc_0(out) ;
}
