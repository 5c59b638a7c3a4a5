/* ISC license: see LICENSE. */

/*
 * The address lookup shared by smtp-session (RCPT) and the scheduler
 * (routing, alias expansion): the read side of the cdb tables that
 * lib/tables.c compiles. See lookup.h for the meaning of each answer.
 */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <pwd.h>
#include <time.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/cdb.h>

#include "address.h"
#include "lookup.h"
#include "vuser.h"

#define INCLUDE_MAX (1 << 20)

static char const *const kind_names[] = { "unknown", "remote", "local", "alias", "virtual" } ;

char const *lookup_kind_name (unsigned int k)
{
  return k <= LOOKUP_VIRTUAL ? kind_names[k] : "?" ;
}

void lookup_aliased (lookup *l)
{
  if (l->kind == LOOKUP_UNKNOWN && l->flags & LOOKUP_F_SYSTEM) l->kind = LOOKUP_LOCAL ;
}

void lookup_free (lookup *l)
{
  stralloc_free(&l->sa) ;
}

static int addb (lookup *l, char const *s, size_t len, size_t *off)
{
  *off = l->sa.len ;
  return stralloc_catb(&l->sa, s, len) && stralloc_0(&l->sa) ;
}

/*
 * One cdb lookup of key in file.cdb. 1 found (with sa, data copied into
 * sa at *off, *len octets, NUL-terminated), 0 absent (or no cdb), -1
 * error. The table is opened for each lookup, never kept: newaliases
 * renames a new one into place, and the next lookup of every program
 * reads it, with no signal (ketch.conf(5), "When a change takes effect").
 */
int lookup_cdb (char const *file, char const *key, size_t klen, stralloc *sa, size_t *off, size_t *len)
{
  size_t n = strlen(file) ;
  char fn[n + 5] ;
  cdb c = CDB_ZERO ;
  cdb_data d ;
  int r ;
  memcpy(fn, file, n) ;
  memcpy(fn + n, ".cdb", 5) ;
  if (!cdb_init(&c, fn)) return errno == ENOENT ? 0 : -1 ;
  r = cdb_find(&c, &d, key, klen) ;
  if (r < 0) { cdb_free(&c) ; errno = EINVAL ; return -1 ; }
  if (r && sa)
  {
    *off = sa->len ;
    *len = d.len ;
    if (!stralloc_catb(sa, d.s, d.len) || !stralloc_0(sa)) { int e = errno ; cdb_free(&c) ; errno = e ; return -1 ; }
  }
  cdb_free(&c) ;
  return r ;
}

static int set_alias (lookup *l, size_t off, size_t len)
{
  /* the cdb value is entries each NUL-terminated; lookup_cdb added one more NUL */
  l->kind = LOOKUP_ALIAS ;
  l->entries = off ;
  l->entrieslen = len ;
  return 1 ;
}

/*
 * The last user database answer, found or not, kept for one second. A
 * message for a local user asks for its recipient three times (the
 * session at RCPT, the scheduler, local-spawn), each a getpwnam that
 * with NSS "files" opens and parses all of /etc/passwd (8 system calls),
 * and a burst of mail is for few users. A change to the user database
 * reaches each process within a second, as local-spawn's group list
 * does (nscd keeps its answers for ten minutes). Errors are never kept.
 * pwc.sa holds the name asked, pw_name and pw_dir, each NUL-terminated.
 */
static struct
{
  stralloc sa ;
  size_t user, home ;
  uid_t uid ;
  gid_t gid ;
  int found ;              /* -1 nothing kept, 0 no such user, 1 found */
  struct timespec until ;  /* CLOCK_MONOTONIC */
} pwc = { .sa = STRALLOC_ZERO, .found = -1 } ;

static void pwc_keep (char const *name, struct passwd const *pw)
{
  struct timespec now ;
  pwc.found = -1 ;
  if (clock_gettime(CLOCK_MONOTONIC, &now) < 0) return ;
  pwc.sa.len = 0 ;
  if (!stralloc_cats(&pwc.sa, name) || !stralloc_0(&pwc.sa)) return ;
  if (pw)
  {
    pwc.user = pwc.sa.len ;
    if (!stralloc_cats(&pwc.sa, pw->pw_name) || !stralloc_0(&pwc.sa)) return ;
    pwc.home = pwc.sa.len ;
    if (!stralloc_cats(&pwc.sa, pw->pw_dir) || !stralloc_0(&pwc.sa)) return ;
    pwc.uid = pw->pw_uid ;
    pwc.gid = pw->pw_gid ;
  }
  pwc.until = now ;
  pwc.until.tv_sec++ ;
  pwc.found = !!pw ;
}

/* getpwnam through pwc: 1 found (*pw filled, its strings pwc's), 0 no such user, -1 error */
static int pw_find (char const *name, struct passwd *pw)
{
  struct passwd *p ;
  struct timespec now ;
  if (pwc.found >= 0 && !strcmp(name, pwc.sa.s) && !clock_gettime(CLOCK_MONOTONIC, &now)
   && (now.tv_sec < pwc.until.tv_sec || (now.tv_sec == pwc.until.tv_sec && now.tv_nsec < pwc.until.tv_nsec)))
  {
    if (!pwc.found) return 0 ;
    pw->pw_name = pwc.sa.s + pwc.user ;
    pw->pw_dir = pwc.sa.s + pwc.home ;
    pw->pw_uid = pwc.uid ;
    pw->pw_gid = pwc.gid ;
    return 1 ;
  }
  errno = 0 ;
  p = getpwnam(name) ;
  if (!p)
  {
    /* glibc: 0 with errno 0 or ENOENT (and others) means "no such user" */
    if (errno && errno != ENOENT && errno != ESRCH && errno != EBADF && errno != EPERM) { pwc.found = -1 ; return -1 ; }
    pwc_keep(name, 0) ;
    return 0 ;
  }
  *pw = *p ;
  pwc_keep(name, p) ;
  return 1 ;
}

static int lookup_local (lookup *l, conf const *c, char const *lp, size_t lplen, size_t extpos)
{
  size_t off, len ;
  int r ;
  if (c->aliases)
  {
    r = lookup_cdb(conf_str(c, c->aliases), lp, lplen, &l->sa, &off, &len) ;
    if (r < 0) return 0 ;
    if (r) { l->ext = 0 ; return set_alias(l, off, len) ; }
    if (extpos < lplen)
    {
      r = lookup_cdb(conf_str(c, c->aliases), lp, extpos, &l->sa, &off, &len) ;
      if (r < 0) return 0 ;
      if (r) return set_alias(l, off, len) ;
    }
  }
  if (extpos == 10 && !memcmp(lp, "postmaster", 10))
  {
    /* RFC 5321 §4.5.1: postmaster must exist; root is the default */
    if (!addb(l, "root", 4, &off)) return 0 ;
    l->flags |= LOOKUP_F_POSTMASTER ;
    return set_alias(l, off, 5) ;
  }
  {
    char name[extpos + 1] ;
    struct passwd pwbuf, *pw = &pwbuf ;
    memcpy(name, lp, extpos) ;
    name[extpos] = 0 ;
    r = pw_find(name, pw) ;
    if (r < 0) return 0 ;
    if (!r)
    {
      l->kind = LOOKUP_UNKNOWN ;
      return 1 ;
    }
    /*
     * A system account (below local-uid-min) is nobody's mailbox unless
     * an alias names it (lookup_aliased); one in group 0 never is. Root
     * stays a local user, deferred by the scheduler until aliased.
     */
    if (pw->pw_uid && !pw->pw_gid)
    {
      l->kind = LOOKUP_UNKNOWN ;
      return 1 ;
    }
    l->kind = pw->pw_uid && pw->pw_uid < c->local_uid_min ? LOOKUP_UNKNOWN : LOOKUP_LOCAL ;
    if (l->kind == LOOKUP_UNKNOWN) l->flags |= LOOKUP_F_SYSTEM ;
    l->uid = pw->pw_uid ;
    l->gid = pw->pw_gid ;
    if (!addb(l, pw->pw_name, strlen(pw->pw_name), &l->user)
     || !addb(l, pw->pw_dir, strlen(pw->pw_dir), &l->home)) return 0 ;
    return 1 ;
  }
}

/* a passwd-file's user (lib/vuser): the whole local part, then without its extension. 1 found, 0 not, -1 error */
static int passwd_find (char const *file, char *key, size_t lplen, size_t extpos, size_t dlen)
{
  int r = vuser_passwd_find(file, key, lplen + 1 + dlen, lplen) ;
  if (r || extpos >= lplen) return r ;
  memmove(key + extpos, key + lplen, dlen + 1) ;
  return vuser_passwd_find(file, key, extpos + 1 + dlen, extpos) ;
}

static int lookup_virtual (lookup *l, conf_vdomain const *v, conf const *c, char const *lp, size_t lplen, size_t extpos, char const *dom)
{
  size_t dlen = strlen(dom) ;
  char key[lplen + dlen + 2] ;
  size_t off = 0, len = 0 ;
  int r ;
  char const *map = c->sa.s + v->map ;
  memcpy(key, lp, lplen) ;
  key[lplen] = '@' ;
  memcpy(key + lplen + 1, dom, dlen + 1) ;
  if (v->users == CONF_VUSERS_PASSWD)
  {
    /* a user the file lists has no target of its own: the domain's deliver (lib/vuser) */
    r = passwd_find(map, key, lplen, extpos, dlen) ;
    if (r > 0 && !addb(l, "", 0, &off)) return 0 ;
  }
  else
  {
    r = lookup_cdb(map, key, lplen + 1 + dlen, &l->sa, &off, &len) ;
    if (!r && extpos < lplen)
    {
      memmove(key + extpos, key + lplen, dlen + 1) ;
      r = lookup_cdb(map, key, extpos + 1 + dlen, &l->sa, &off, &len) ;
    }
    else if (r) l->ext = 0 ;
    if (!r) r = lookup_cdb(map, key + extpos, 1 + dlen, &l->sa, &off, &len) ;  /* "@domain": catch-all */
  }
  if (r < 0) return 0 ;
  if (!r)
  {
    if (extpos == 10 && !memcmp(lp, "postmaster", 10))
    {
      if (!addb(l, "root", 4, &off)) return 0 ;
      l->flags |= LOOKUP_F_POSTMASTER ;
      return set_alias(l, off, 5) ;
    }
    l->kind = LOOKUP_UNKNOWN ;
    return 1 ;
  }
  /* a Maildir path, an LMTP target, or none (the domain's deliver): lib/vuser; anything else forwards */
  if (l->sa.s[off] == '/' || l->sa.s[off] == '~' || !l->sa.s[off] || !strncmp(l->sa.s + off, VUSER_LMTP, sizeof(VUSER_LMTP) - 1))
  {
    l->kind = LOOKUP_VIRTUAL ;
    l->path = off ;
    return 1 ;
  }
  l->flags |= LOOKUP_F_VIRTUAL ;
  return set_alias(l, off, len + 1) ;
}

int lookup_address (lookup *l, conf const *c, char const *addr)
{
  size_t len = strlen(addr) ;
  size_t at = byte_rchr(addr, len, '@') ;
  size_t extpos ;
  char const *dom ;
  conf_vdomain const *v = 0 ;
  l->sa.len = 0 ;
  l->kind = LOOKUP_UNKNOWN ;
  l->flags = 0 ;
  l->local = l->ext = l->domain = l->user = l->home = l->path = l->entries = l->entrieslen = 0 ;
  l->uid = 0 ; l->gid = 0 ;
  if (!stralloc_0(&l->sa)) return 0 ;
  if (at >= len)
  {
    /* only "postmaster" may come without a domain (RFC 5321 §4.1.1.3) */
    if (!case_equals(addr, "postmaster")) return 1 ;
    at = len ;
    if (!addb(l, "", 0, &l->domain)) return 0 ;
  }
  else
  {
    if (!addb(l, addr + at + 1, len - at - 1, &l->domain)) return 0 ;
    case_lowerb(l->sa.s + l->domain, len - at - 1) ;
  }
  dom = l->sa.s + l->domain ;
  if (*dom && !conf_is_local_domain(c, dom))
  {
    v = conf_vdomain_find(c, dom) ;
    if (!v) { l->kind = LOOKUP_REMOTE ; return 1 ; }
  }
  if (!at || addr[0] == '"') return 1 ;   /* quoted local parts are never interpreted */
  if (!addb(l, addr, at, &l->local)) return 0 ;
  case_lowerb(l->sa.s + l->local, at) ;
  extpos = byte_chr(l->sa.s + l->local, at, '+') ;
  /* from addr, not from l->sa: appending may move l->sa */
  if (extpos < at && !addb(l, addr + extpos + 1, at - extpos - 1, &l->ext)) return 0 ;
  {
    /* copy the local part: l->sa may move while we look up */
    char lp[at + 1] ;
    int r ;
    memcpy(lp, l->sa.s + l->local, at + 1) ;
    if (v)
    {
      size_t dlen = len - at - 1 ;
      char d[dlen + 1] ;
      memcpy(d, l->sa.s + l->domain, dlen + 1) ;
      r = lookup_virtual(l, v, c, lp, at, extpos, d) ;
    }
    else r = lookup_local(l, c, lp, at, extpos) ;
    if (!r) return 0 ;
    l->sa.s[l->local + extpos] = 0 ;
  }
  return 1 ;
}

unsigned int lookup_entry_kind (char const *s)
{
  if (!*s) return LOOKUP_E_BAD ;
  if (s[0] == '/') return LOOKUP_E_FILE ;
  if (s[0] == '|') return s[1] ? LOOKUP_E_PROGRAM : LOOKUP_E_BAD ;
  if (!strncasecmp(s, ":include:", 9)) return s[9] == '/' ? LOOKUP_E_INCLUDE : LOOKUP_E_BAD ;
  return LOOKUP_E_ADDRESS ;
}

static int isblank_ (char c)
{
  return c == ' ' || c == '\t' || c == '\r' ;
}

ssize_t lookup_split_entries (char const *s, size_t len, stralloc *out)
{
  size_t i = 0 ;
  ssize_t n = 0 ;
  while (i < len)
  {
    size_t start, end ;
    while (i < len && (isblank_(s[i]) || s[i] == ',' || s[i] == '\n')) i++ ;
    if (i >= len) break ;
    if (s[i] == '"')
    {
      char const *q = memchr(s + i + 1, '"', len - i - 1) ;
      if (!q) return (errno = EINVAL, -1) ;
      start = i + 1 ; end = q - s ;
      i = end + 1 ;
    }
    else
    {
      start = i ;
      while (i < len && s[i] != ',' && s[i] != '\n') i++ ;
      end = i ;
      while (end > start && isblank_(s[end-1])) end-- ;
    }
    if (end == start || byte_chr(s + start, end - start, 0) < end - start) continue ;
    if (!stralloc_catb(out, s + start, end - start) || !stralloc_0(out)) return -1 ;
    n++ ;
  }
  return n ;
}

ssize_t lookup_read_include (char const *file, stralloc *out, struct stat *st)
{
  stralloc sa = STRALLOC_ZERO ;
  ssize_t r ;
  int fd = open_read(file) ;
  if (fd < 0) return -1 ;
  /* the owner and mode of the file read, not of whatever the path names later */
  if (fstat(fd, st) < 0) { fd_close(fd) ; return -1 ; }
  if (!S_ISREG(st->st_mode)) { fd_close(fd) ; return (errno = EINVAL, -1) ; }
  if (st->st_size > INCLUDE_MAX) { fd_close(fd) ; return (errno = EFBIG, -1) ; }
  if (!slurp(&sa, fd)) { int e = errno ; fd_close(fd) ; stralloc_free(&sa) ; errno = e ; return -1 ; }
  fd_close(fd) ;
  /* comment lines are dropped: blank them out */
  {
    size_t i = 0 ;
    int bol = 1 ;
    for (; i < sa.len ; i++)
    {
      if (bol && sa.s[i] == '#') while (i < sa.len && sa.s[i] != '\n') sa.s[i++] = ' ' ;
      bol = i < sa.len && sa.s[i] == '\n' ;
    }
  }
  r = lookup_split_entries(sa.s, sa.len, out) ;
  {
    int e = errno ;
    stralloc_free(&sa) ;
    errno = e ;
  }
  return r ;
}
