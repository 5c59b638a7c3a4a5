/* ISC license: see LICENSE. */

/*
 * Unit test of lib/tables, the compilers newaliases runs: what each
 * table's cdb holds (keys in lower case, continuation lines, comments,
 * the first of two definitions), each syntax error at its line with the
 * cdb left as it was and no temporary file left behind, and the cdb's
 * permission bits taken from the text's.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/cdb.h>

#include "tables.h"
#include "tap.h"

static char dir[] = "/tmp/ketch-tables.XXXXXX" ;
static char fn[64], cdbfn[64], tmpfn[64] ;
static stralloc err = STRALLOC_ZERO ;

/* the text table, with mode; then compile it (vmap or aliases) */
static int compile (char const *text, mode_t mode, int vmap)
{
  if (!openwritenclose_unsafe(fn, text, strlen(text)) || chmod(fn, mode) < 0) _exit(111) ;
  err.len = 0 ;
  return vmap ? tables_compile_vmap(fn, &err) : tables_compile_aliases(fn, &err) ;
}

/* the cdb's value for key is want (its length given: aliases' values hold NULs) */
static int has (char const *key, char const *want, size_t wantlen)
{
  cdb c = CDB_ZERO ;
  cdb_data d ;
  int r ;
  if (!cdb_init(&c, cdbfn)) return 0 ;
  r = cdb_find(&c, &d, key, strlen(key)) == 1 && d.len == wantlen && !memcmp(d.s, want, wantlen) ;
  cdb_free(&c) ;
  return r ;
}

#define HAS(key, want) has(key, want, sizeof(want) - 1)

static int absent (char const *key)
{
  cdb c = CDB_ZERO ;
  cdb_data d ;
  int r ;
  if (!cdb_init(&c, cdbfn)) return 0 ;
  r = cdb_find(&c, &d, key, strlen(key)) == 0 ;
  cdb_free(&c) ;
  return r ;
}

/* compiling text fails with "FILE:what", the previous cdb is still there and no .tmp is left */
static int fails (char const *text, int vmap, char const *what)
{
  size_t n = strlen(fn) ;
  if (compile(text, 0644, vmap)) return 0 ;
  if (errno != EINVAL || !err.len || strncmp(err.s, fn, n) || err.s[n] != ':' || strcmp(err.s + n + 1, what))
  {
    printf("# got: %.*s\n", (int)err.len, err.s) ;
    return 0 ;
  }
  return access(tmpfn, F_OK) < 0 && errno == ENOENT && (vmap ? HAS("keep@v.example", "/kept") : HAS("keep", "kept\0")) ;
}

static mode_t mode_of (char const *path)
{
  struct stat st ;
  return stat(path, &st) < 0 ? (mode_t)-1 : st.st_mode & 07777 ;
}

int main (void)
{
  tap_plan(16) ;
  if (!mkdtemp(dir)) return 111 ;
  strcpy(fn, dir) ; strcat(fn, "/table") ;
  strcpy(cdbfn, fn) ; strcat(cdbfn, ".cdb") ;
  strcpy(tmpfn, cdbfn) ; strcat(tmpfn, ".tmp") ;

  ok(compile("# comment\n\nRoot: alice, Bob@Example.org\nlist: a,\n  b\n\tc\n"
    "quoted: \"x, y\", z\nroot: later\n", 0644, 0), "aliases: compiled") ;
  ok(HAS("root", "alice\0Bob@Example.org\0"), "aliases: the name in lower case, each entry NUL-terminated, their case kept, the first definition of two") ;
  ok(HAS("list", "a\0b\0c\0"), "aliases: continuation lines, blank or tab") ;
  ok(HAS("quoted", "x, y\0z\0"), "aliases: a quoted entry holds a comma") ;
  ok(absent("# comment") && absent("") && absent("Root"), "aliases: comments and blank lines are no names, and no name is kept in upper case") ;
  ok(access(tmpfn, F_OK) < 0 && mode_of(cdbfn) == 0644, "aliases: no temporary file left, the text's mode") ;

  ok(compile("keep: kept\n", 0644, 0), "aliases: a table to keep") ;
  ok(fails(" x\n", 0, "1: continuation line without an alias")
     && fails("keep: y\nnocolon\n", 0, "2: expected name: entries")
     && fails("\nbad name: x\n", 0, "2: bad alias name")
     && fails(": x\n", 0, "1: bad alias name")
     && fails("a:\n", 0, "1: alias without entries")
     && fails("a: \"x\n  y\n", 0, "1: unterminated quote"), "aliases: each syntax error at its line (the alias's, for its entries), the cdb kept, no .tmp") ;

  ok(compile("# map\nAlice@V.Example /home/alice/Maildir\n  @v.example  bob@elsewhere.example  \r\n", 0640, 1), "vmap: compiled") ;
  ok(HAS("alice@v.example", "/home/alice/Maildir") && HAS("@v.example", "bob@elsewhere.example"),
     "vmap: the key in lower case, the catch-all, blanks and CR around the target dropped") ;
  ok(mode_of(cdbfn) == 0640, "vmap: the text's mode (0640)") ;
  ok(compile("a@v.example\nb@v.example lmtp:unix:/run/dovecot/lmtp\nc@v.example lmtp:[::1]:24\n", 0644, 1)
     && HAS("a@v.example", "") && HAS("b@v.example", "lmtp:unix:/run/dovecot/lmtp") && HAS("c@v.example", "lmtp:[::1]:24"),
     "vmap: a user without a target (the domain's deliver), per-user LMTP targets") ;
  ok(compile("keep@v.example /kept\n", 0666, 1) && mode_of(cdbfn) == 0644, "vmap: at most 0644 (a world-writable text)") ;
  ok(fails("alice /x\n", 1, "1: expected user@domain or @domain first")
     && fails("\nalice@ /x\n", 1, "2: expected user@domain or @domain first")
     && fails("@v.example\n", 1, "1: missing target")
     && fails("a@v.example lmtp:nowhere\n", 1, "1: lmtp: takes unix:/PATH or HOST:PORT")
     && fails("a@v.example lmtp:unix:\n", 1, "1: lmtp: takes unix:/PATH or HOST:PORT")
     && fails("a@v.example /x y\n", 1, "1: text after the target"), "vmap: each syntax error at its line, the cdb kept, no .tmp") ;
  {
    static char const nul[] = "a@v.example /x\0y\n" ;
    if (!openwritenclose_unsafe(fn, nul, sizeof(nul) - 1)) _exit(111) ;
    err.len = 0 ;
    ok(!tables_compile_vmap(fn, &err) && errno == EINVAL && strstr(err.s, ":1: NUL in the target"), "vmap: a NUL in the target") ;
  }

  unlink(fn) ;
  err.len = 0 ;
  ok(!tables_compile_aliases(fn, &err) && errno == ENOENT && !err.len && HAS("keep@v.example", "/kept"), "a missing text: its errno, no message, the cdb kept") ;

  unlink(cdbfn) ;
  rmdir(dir) ;
  stralloc_free(&err) ;
  return tap_done() ;
}
