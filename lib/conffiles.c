/* ISC license: see LICENSE. */

/*
 * conf_files_check, apart from lib/conf.c: it asks the user database,
 * which a static binary (the set-uid enqueue) must not link.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>
#include <grp.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>

#include "conf.h"

/*
 * conf_files_check: each file a line names exists, is a regular file,
 * and can be read by the user that reads it: the smtp-user for the
 * certificate (smtp-session sends it), the caller for the key and the auth
 * table (smtp-keyd reads them, started by smtp-listen before it drops
 * root: smtp-keyd(8)), the queue-user for the aliases (local-spawn and the scheduler look them
 * up) and the dkim-sign keys (enqueue signs); where the configuration names no such user, or the system does not
 * know it, the caller. The permission bits of the file are what is
 * checked for a named user (root reads everything); the directories on
 * the way are not. Returns the number of problems, each a line
 * "file:line: keyword file: what is wrong" appended to err, the lines
 * joined by newlines and NUL-terminated (a problem counts even when its
 * line could not be allocated).
 */

static int readable_by (struct stat const *st, struct passwd const *pw)
{
  struct group *gr ;
  char **m ;
  if (!pw->pw_uid) return 1 ;
  if (st->st_uid == pw->pw_uid) return !!(st->st_mode & S_IRUSR) ;
  if (st->st_gid == pw->pw_gid) return !!(st->st_mode & S_IRGRP) ;
  gr = getgrgid(st->st_gid) ;
  if (gr) for (m = gr->gr_mem ; *m ; m++) if (!strcmp(*m, pw->pw_name)) return !!(st->st_mode & S_IRGRP) ;
  return !!(st->st_mode & S_IROTH) ;
}

static int file_problem (conf const *c, stralloc *err, unsigned int line, char const *what, char const *path, char const *a, char const *b)
{
  char fmt[UINT_FMT] ;
  fmt[uint_fmt(fmt, line)] = 0 ;
  if (err->len && err->s[err->len - 1] == 0) err->s[err->len - 1] = '\n' ;
  return stralloc_cats(err, c->sa.s + c->file) && stralloc_catb(err, ":", 1) && stralloc_cats(err, fmt)
    && stralloc_catb(err, ": ", 2) && stralloc_cats(err, what) && stralloc_catb(err, " ", 1)
    && stralloc_cats(err, path) && stralloc_catb(err, ": ", 2) && stralloc_cats(err, a)
    && (!b || stralloc_cats(err, b)) && stralloc_0(err) ;
}

/* 1 if the file has a problem (said in err, memory permitting), else 0 */
static unsigned int check_file (conf const *c, stralloc *err, unsigned int line, char const *what, size_t off, size_t user)
{
  char const *path = c->sa.s + off ;
  struct passwd *pw ;
  struct stat st ;
  if (!off) return 0 ;
  if (stat(path, &st) < 0) return file_problem(c, err, line, what, path, strerror(errno), 0), 1 ;
  if (!S_ISREG(st.st_mode)) return file_problem(c, err, line, what, path, "not a regular file", 0), 1 ;
  pw = user ? getpwnam(c->sa.s + user) : 0 ;
  if (pw) return readable_by(&st, pw) ? 0 : (file_problem(c, err, line, what, path, "not readable by ", c->sa.s + user), 1) ;
  if (access(path, R_OK) < 0) return file_problem(c, err, line, what, path, strerror(errno), 0), 1 ;
  return 0 ;
}

unsigned int conf_files_check (conf const *c, unsigned int what, stralloc *err)
{
  unsigned int n = 0 ;
  if (what & CONF_FILES_SMTP)
  {
    n += check_file(c, err, c->cert_line, "certificate", c->cert, c->smtp_user) ;
    n += check_file(c, err, c->cert_line, "key", c->key, 0) ;
    n += check_file(c, err, c->auth_table_line, "auth-table", c->auth_table, 0) ;
  }
  if (what & CONF_FILES_ALIASES) n += check_file(c, err, c->aliases_line, "aliases", c->aliases, c->queue_user) ;
  /* enqueue and enqueue-listen sign as the queue user */
  if (what & CONF_FILES_DKIM)
  {
    size_t i = 0, nd = genalloc_len(conf_dkim, &c->dkim) ;
    for (; i < nd ; i++)
    {
      conf_dkim const *d = genalloc_s(conf_dkim, &c->dkim) + i ;
      n += check_file(c, err, d->line, "dkim-sign key", d->key, c->queue_user) ;
    }
  }
  return n ;
}
