/* ISC license: see LICENSE. */

/*
 * conf-check: check a configuration before it takes effect. Every error
 * is reported as "file:line: what is wrong", one per line on stderr (the
 * parser goes on after an error, so one run shows them all). With no
 * error, prints the effective configuration, every default filled in, as
 * sentences that the parser accepts again (a fixed point: checking the
 * printout prints it unchanged).
 *
 * The certificate, key, auth table and aliases must exist and be readable
 * by the user that reads them (conf_files_check): errors with file:line,
 * unless -s asks for the syntax only (an instance checked before its files
 * are made).
 *
 * -k lists the keywords the parser knows, one per line (lib/conf.c's
 * table), and reads no configuration: t/man-ops.t checks each against
 * ketch.conf(5).
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>

#include "exitcodes.h"
#include "conf.h"
#include "dkimkey.h"
#include "netaddr.h"

#define USAGE "conf-check [ -C conf ] [ -q ] [ -s ] | conf-check -k"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

/* the maps and credentials the configuration names but that are not
   there: warnings only (the errors are conf_files_check's) */
static void warn_missing (char const *what, char const *path)
{
  if (path && access(path, R_OK) < 0) strerr_warnwu("read ", what, " ", path, ": ", strerror(errno)) ;
}

/*
 * Each dkim-sign key that we can read is a key that signs (lib/dkimkey:
 * RSA of 1024 to 4096 bits, or Ed25519) of the algorithm its line names;
 * one we cannot read is conf_files_check's to report. The number of
 * errors, each a line "file:line: dkim-sign key FILE: what" in err.
 */
static unsigned int check_dkim (conf const *c, stralloc *err)
{
  size_t n = genalloc_len(conf_dkim, &c->dkim), i = 0 ;
  unsigned int nerr = 0 ;
  for (; i < n ; i++)
  {
    conf_dkim const *d = genalloc_s(conf_dkim, &c->dkim) + i ;
    char const *file = c->sa.s + d->key ;
    dkimkey k = DKIMKEY_ZERO ;
    char fmt[UINT_FMT] ;
    char const *what = 0 ;
    int r ;
    if (access(file, R_OK) < 0) continue ;
    r = dkimkey_load(&k, file) ;
    if (r) what = dkimkey_strerror(r) ;
    else if (d->alg != CONF_DKIM_ANY && (int)d->alg != k.type) what = "the key is not of the line's algorithm" ;
    dkimkey_free(&k) ;
    if (!what) continue ;
    nerr++ ;
    fmt[uint_fmt(fmt, d->line)] = 0 ;
    if (err->len && !err->s[err->len - 1]) err->s[err->len - 1] = '\n' ;
    if (!stralloc_cats(err, c->sa.s + c->file) || !stralloc_catb(err, ":", 1) || !stralloc_cats(err, fmt)
     || !stralloc_cats(err, ": dkim-sign key ") || !stralloc_cats(err, file) || !stralloc_catb(err, ": ", 2)
     || !stralloc_cats(err, what) || !stralloc_0(err)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  }
  return nerr ;
}

/* the messages already name the file and the line: print them bare, like a compiler */
static void die_errors (stralloc const *err, unsigned int nerr, char const *conffile)
{
  char fmt[UINT_FMT] ;
  if ((err->len && (buffer_puts(buffer_2, err->s) < 0 || buffer_puts(buffer_2, "\n") < 0)) || !buffer_flush(buffer_2))
    strerr_diefusys(KETCH_EX_TEMP, "write to stderr") ;
  fmt[uint_fmt(fmt, nerr)] = 0 ;
  strerr_dief(KETCH_EX_PERM, fmt, nerr == 1 ? " error in " : " errors in ", conffile) ;
}

int main (int argc, char const *const *argv)
{
  conf c ;
  stralloc err = STRALLOC_ZERO ;
  stralloc out = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  unsigned int nerr = 0 ;
  int quiet = 0, syntax = 0, keywords = 0 ;
  PROG = "conf-check" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:qsk", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'q' : quiet = 1 ; break ;
        case 's' : syntax = 1 ; break ;
        case 'k' : keywords = 1 ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc) dieusage() ;
  if (keywords)
  {
    if (!conf_keywords(&out)) strerr_diefusys(KETCH_EX_TEMP, "list the keywords") ;
    if (buffer_put(buffer_1, out.s, out.len) < 0 || !buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
    stralloc_free(&out) ;
    return 0 ;
  }
  conffile = conf_path(conffile) ;
  if (!conf_check(&c, conffile, &err, &nerr))
  {
    if (!nerr) strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
    die_errors(&err, nerr, conffile) ;
  }
  if (!syntax)
  {
    err.len = 0 ;
    nerr = conf_files_check(&c, CONF_FILES_ALL, &err) ;
    nerr += check_dkim(&c, &err) ;
    if (nerr) die_errors(&err, nerr, conffile) ;
  }
  /* the default comes from gethostname(), which the parser does not check */
  if (!netaddr_hostname(c.sa.s + c.hostname, strlen(c.sa.s + c.hostname)))
    strerr_warnw("the host name ", c.sa.s + c.hostname, " is not a valid domain: set hostname in ", conffile) ;
  {
    size_t n = genalloc_len(conf_vdomain, &c.vdomains), i = 0 ;
    for (; i < n ; i++)
    {
      conf_vdomain const *v = genalloc_s(conf_vdomain, &c.vdomains) + i ;
      warn_missing(v->users == CONF_VUSERS_PASSWD ? "virtual-domain passwd-file" : "virtual-domain map", c.sa.s + v->map) ;
    }
    n = genalloc_len(conf_route, &c.routes) ;
    for (i = 0 ; i < n ; i++) warn_missing("route credentials", conf_str(&c, genalloc_s(conf_route, &c.routes)[i].auth)) ;
  }
  if (quiet) { conf_free(&c) ; stralloc_free(&err) ; return 0 ; }
  if (!conf_print(&c, &out))
  {
    if (errno == EINVAL) strerr_dief(KETCH_EX_PERM, "a value holds both a blank and a double quote and cannot be printed") ;
    strerr_diefusys(KETCH_EX_TEMP, "format the configuration") ;
  }
  if (buffer_put(buffer_1, out.s, out.len) < 0 || !buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  /* freed for leak checkers (make SAN=...), not for the kernel's sake */
  stralloc_free(&out) ; stralloc_free(&err) ; conf_free(&c) ;
  return 0 ;
}
