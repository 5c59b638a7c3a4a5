/* ISC license: see LICENSE. */

/*
 * The write side of the lookup tables: newaliases(8) compiles the text
 * of the aliases file and of each virtual-domain map into the cdb that
 * lib/lookup.c reads. See tables.h.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/cdbmake.h>

#include "address.h"
#include "lookup.h"
#include "netaddr.h"
#include "vuser.h"
#include "tables.h"

#define TABLE_MAX (256 << 20)

static int table_fail (stralloc *err, char const *file, unsigned int line, char const *what)
{
  char fmt[UINT_FMT] ;
  fmt[uint_fmt(fmt, line)] = 0 ;
  err->len = 0 ;
  if (stralloc_cats(err, file) && stralloc_catb(err, ":", 1) && stralloc_cats(err, fmt)
   && stralloc_catb(err, ": ", 2) && stralloc_cats(err, what)) stralloc_0(err) ;
  errno = EINVAL ;
  return 0 ;
}

typedef struct table_s table ;
struct table_s
{
  char const *file ;
  stralloc text ;
  stralloc tmpfn ;
  stralloc fn ;
  int fd ;
  cdbmaker maker ;
  size_t pos ;        /* the next line's start in text (table_line) */
  unsigned int line ; /* the number of the line table_line gave last */
} ;

/* the next line of the text, without its newline, at *s (writable: keys
   are lowered in place), *n octets; 0 at the end */
static int table_line (table *t, char **s, size_t *n)
{
  char *nl ;
  if (t->pos >= t->text.len) return 0 ;
  *s = t->text.s + t->pos ;
  nl = memchr(*s, '\n', t->text.len - t->pos) ;
  *n = nl ? (size_t)(nl - *s) : t->text.len - t->pos ;
  t->pos += *n + 1 ;
  t->line++ ;
  return 1 ;
}

static int table_start (table *t, char const *file, stralloc *err)
{
  struct stat st ;
  int fd ;
  t->file = file ;
  t->fd = -1 ;
  err->len = 0 ;
  fd = open_read(file) ;
  if (fd < 0) return 0 ;
  if (fstat(fd, &st) < 0 || st.st_size > TABLE_MAX || !slurp(&t->text, fd))
  {
    int e = st.st_size > TABLE_MAX ? EFBIG : errno ;
    fd_close(fd) ;
    errno = e ;
    return 0 ;
  }
  fd_close(fd) ;
  if (!stralloc_cats(&t->fn, file) || !stralloc_cats(&t->fn, ".cdb") || !stralloc_0(&t->fn)) return 0 ;
  if (!stralloc_cats(&t->tmpfn, t->fn.s) || !stralloc_cats(&t->tmpfn, ".tmp") || !stralloc_0(&t->tmpfn)) return 0 ;
  t->fd = open_trunc(t->tmpfn.s) ;
  if (t->fd < 0) return 0 ;
  if (fchmod(t->fd, st.st_mode & 0644) < 0) return 0 ;
  /* the ndelay flag of open_trunc is harmless on a regular file */
  return cdbmake_start(&t->maker, t->fd) ;
}

static int table_finish (table *t, int ok)
{
  int e = errno ;
  if (ok)
  {
    ok = cdbmake_finish(&t->maker) && fsync(t->fd) == 0 ;
    e = errno ;
  }
  if (t->fd >= 0) fd_close(t->fd) ;
  if (ok && rename(t->tmpfn.s, t->fn.s) < 0) { ok = 0 ; e = errno ; }
  if (ok)
  {
    /* the rename is durable only once the directory is */
    char const *slash = strrchr(t->fn.s, '/') ;
    int dfd ;
    if (slash == t->fn.s) slash++ ;
    {
      size_t n = slash ? (size_t)(slash - t->fn.s) : 1 ;
      char dir[n + 1] ;
      if (slash) memcpy(dir, t->fn.s, n) ; else dir[0] = '.' ;
      dir[n] = 0 ;
      dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
      if (dfd < 0 || fsync(dfd) < 0) { ok = 0 ; e = errno ; }
      if (dfd >= 0) fd_close(dfd) ;
    }
  }
  else if (t->tmpfn.len) unlink(t->tmpfn.s) ;
  /* a table given up halfway never reached cdbmake_finish, which frees this */
  genalloc_free(diuint32, &t->maker.hplist) ;
  stralloc_free(&t->text) ;
  stralloc_free(&t->fn) ;
  stralloc_free(&t->tmpfn) ;
  errno = e ;
  return ok ;
}

/*
 * aliases(5): "name: entry, entry, ..."; a line starting with a blank
 * continues the previous one; '#' at the start of a line is a comment.
 */
int tables_compile_aliases (char const *file, stralloc *err)
{
  table t = { .text = STRALLOC_ZERO, .tmpfn = STRALLOC_ZERO, .fn = STRALLOC_ZERO, .fd = -1, .maker = CDBMAKER_ZERO } ;
  stralloc key = STRALLOC_ZERO, val = STRALLOC_ZERO ;
  size_t pos = 0 ;
  unsigned int line = 0, keyline = 0 ;
  int ok = 0 ;
  if (!table_start(&t, file, err)) return table_finish(&t, 0) ;
  for (;;)
  {
    char const *s = t.text.s + pos ;
    size_t n ;
    int eof = pos >= t.text.len ;
    if (!eof)
    {
      char const *nl = memchr(s, '\n', t.text.len - pos) ;
      n = nl ? (size_t)(nl - s) : t.text.len - pos ;
      pos += n + 1 ;
      line++ ;
      if (!n || s[0] == '#') continue ;
      if (s[0] == ' ' || s[0] == '\t')
      {
        if (!key.len) { table_fail(err, file, line, "continuation line without an alias") ; goto end ; }
        if (!stralloc_catb(&val, ",", 1) || !stralloc_catb(&val, s, n)) goto end ;
        continue ;
      }
    }
    if (key.len)
    {
      stralloc entries = STRALLOC_ZERO ;
      ssize_t k = lookup_split_entries(val.s, val.len, &entries) ;
      if (k < 0)
      {
        stralloc_free(&entries) ;
        if (errno == EINVAL) table_fail(err, file, keyline, "unterminated quote") ;
        goto end ;
      }
      if (!k) { stralloc_free(&entries) ; table_fail(err, file, keyline, "alias without entries") ; goto end ; }
      /* a name defined twice: cdb_find returns the first, so the first wins */
      if (!cdbmake_add(&t.maker, key.s, key.len - 1, entries.s, entries.len)) { stralloc_free(&entries) ; goto end ; }
      stralloc_free(&entries) ;
      key.len = 0 ; val.len = 0 ;
    }
    if (eof) break ;
    {
      char const *colon = memchr(s, ':', n) ;
      size_t kl ;
      if (!colon) { table_fail(err, file, line, "expected name: entries") ; goto end ; }
      kl = colon - s ;
      while (kl && (s[kl-1] == ' ' || s[kl-1] == '\t')) kl-- ;
      if (!kl || kl > ADDRESS_LOCAL_MAX || byte_chr(s, kl, ' ') < kl || byte_chr(s, kl, '\t') < kl || byte_chr(s, kl, 0) < kl)
      { table_fail(err, file, line, "bad alias name") ; goto end ; }
      if (!stralloc_copyb(&key, s, kl) || !stralloc_0(&key)) goto end ;
      case_lowerb(key.s, kl) ;
      if (!stralloc_copyb(&val, colon + 1, n - (colon - s) - 1)) goto end ;
      keyline = line ;
    }
  }
  ok = 1 ;
 end:
  stralloc_free(&key) ; stralloc_free(&val) ;
  return table_finish(&t, ok) ;
}

/* an LMTP target of a map entry, as conf_load checks deliver lmtp's: unix:/PATH, or HOST:PORT with a port */
static int lmtp_target_ok (char const *s, size_t n)
{
  size_t start, hl ;
  uint16_t port = 0 ;
  if (n > 6 && !memcmp(s, "unix:/", 6)) return 1 ;
  return netaddr_hostport(s, n, &start, &hl, &port) == 1 && port ;
}

/* virtual map: "user@domain [target]" or "@domain target" per line; '#' comments */
int tables_compile_vmap (char const *file, stralloc *err)
{
  table t = { .text = STRALLOC_ZERO, .tmpfn = STRALLOC_ZERO, .fn = STRALLOC_ZERO, .fd = -1, .maker = CDBMAKER_ZERO } ;
  char *s ;
  size_t n ;
  int ok = 0 ;
  if (!table_start(&t, file, err)) return table_finish(&t, 0) ;
  while (table_line(&t, &s, &n))
  {
    size_t i = 0, k, v, ve ;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++ ;
    if (i == n || s[i] == '#') continue ;
    k = i ;
    while (i < n && s[i] != ' ' && s[i] != '\t') i++ ;
    if (byte_chr(s + k, i - k, '@') >= i - k || s[i-1] == '@') { table_fail(err, file, t.line, "expected user@domain or @domain first") ; goto end ; }
    case_lowerb(s + k, i - k) ;
    ve = i ;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++ ;
    v = i ;
    while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r') i++ ;
    /* no target: a user of the domain's deliver (lib/vuser); a catch-all always forwards or delivers somewhere */
    if (v == i && s[k] == '@') { table_fail(err, file, t.line, "missing target") ; goto end ; }
    {
      size_t e = i ;
      while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++ ;
      if (i < n) { table_fail(err, file, t.line, "text after the target") ; goto end ; }
      if (byte_chr(s + v, e - v, 0) < e - v) { table_fail(err, file, t.line, "NUL in the target") ; goto end ; }
      if (e - v >= sizeof(VUSER_LMTP) - 1 && !memcmp(s + v, VUSER_LMTP, sizeof(VUSER_LMTP) - 1) && !lmtp_target_ok(s + v + sizeof(VUSER_LMTP) - 1, e - v - (sizeof(VUSER_LMTP) - 1)))
      { table_fail(err, file, t.line, "lmtp: takes unix:/PATH or HOST:PORT") ; goto end ; }
      if (!cdbmake_add(&t.maker, s + k, ve - k, s + v, e - v)) goto end ;
    }
  }
  ok = 1 ;
 end:
  return table_finish(&t, ok) ;
}

/* recipients list: "user@domain" per line; '#' comments */
int tables_compile_list (char const *file, stralloc *err)
{
  table t = { .text = STRALLOC_ZERO, .tmpfn = STRALLOC_ZERO, .fn = STRALLOC_ZERO, .fd = -1, .maker = CDBMAKER_ZERO } ;
  char *s ;
  size_t n ;
  int ok = 0 ;
  if (!table_start(&t, file, err)) return table_finish(&t, 0) ;
  while (table_line(&t, &s, &n))
  {
    size_t i = 0, k, at ;
    while (n && (s[n-1] == ' ' || s[n-1] == '\t' || s[n-1] == '\r')) n-- ;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++ ;
    if (i == n || s[i] == '#') continue ;
    k = i ;
    at = k + byte_rchr(s + k, n - k, '@') ;
    if (at == k || at + 1 >= n || n - k > ADDRESS_MAX || byte_chr(s + k, n - k, ' ') < n - k || byte_chr(s + k, n - k, '\t') < n - k || byte_chr(s + k, n - k, 0) < n - k)
    { table_fail(err, file, t.line, "expected one address, user@domain") ; goto end ; }
    case_lowerb(s + k, n - k) ;
    if (!cdbmake_add(&t.maker, s + k, n - k, "", 0)) goto end ;
  }
  ok = 1 ;
 end:
  return table_finish(&t, ok) ;
}
