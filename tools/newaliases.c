/* ISC license: see LICENSE. */

/*
 * newaliases: compile the text lookup tables of the configuration into
 * cdb (the aliases file, every virtual-domain map, every relay-domain's
 * recipients list), or the named files.
 * Each FILE becomes FILE.cdb atomically: FILE.cdb.tmp written, fsync'd,
 * renamed, directory fsync'd. Readers never see a half-written table.
 */

#include <errno.h>
#include <string.h>

#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>

#include "exitcodes.h"
#include "conf.h"
#include "tables.h"

#define USAGE "newaliases [ -C conf ] [ -a aliasfile... | -v mapfile... | -r listfile... ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

/* mode: 'a' aliases, 'v' a virtual-domain map, 'r' a recipients list */
static void compile (char const *file, int mode)
{
  stralloc err = STRALLOC_ZERO ;
  if (!(mode == 'v' ? tables_compile_vmap(file, &err) : mode == 'r' ? tables_compile_list(file, &err) : tables_compile_aliases(file, &err)))
  {
    if (errno == EINVAL && err.len) strerr_dief(KETCH_EX_PERM, err.s) ;
    strerr_diefusys(KETCH_EX_TEMP, "compile ", file) ;
  }
  stralloc_free(&err) ;
}

int main (int argc, char const *const *argv)
{
  char const *conffile = 0 ;
  int mode = 0 ;
  PROG = "newaliases" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:avr", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'a' : mode = 'a' ; break ;
        case 'v' : mode = 'v' ; break ;
        case 'r' : mode = 'r' ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (mode)
  {
    if (!argc) dieusage() ;
    for (; *argv ; argv++) compile(*argv, mode) ;
    return 0 ;
  }
  if (argc) dieusage() ;
  {
    conf c ;
    stralloc err = STRALLOC_ZERO ;
    size_t n, i = 0 ;
    if (!conf_load_default(&c, conffile, &err))
      strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
    if (c.aliases) compile(c.sa.s + c.aliases, 'a') ;
    n = genalloc_len(conf_vdomain, &c.vdomains) ;
    for (; i < n ; i++)
    {
      conf_vdomain const *v = genalloc_s(conf_vdomain, &c.vdomains) + i ;
      size_t j = 0 ;
      /* a passwd-file is Dovecot's, read as it is (lib/vuser): nothing to compile */
      if (v->users == CONF_VUSERS_PASSWD) continue ;
      /* several domains may share one map: compile it once */
      for (; j < i ; j++) if (!strcmp(c.sa.s + genalloc_s(conf_vdomain, &c.vdomains)[j].map, c.sa.s + v->map)) break ;
      if (j == i) compile(c.sa.s + v->map, 'v') ;
    }
    n = genalloc_len(conf_relaydomain, &c.relay_domains) ;
    for (i = 0 ; i < n ; i++)
    {
      conf_relaydomain const *d = genalloc_s(conf_relaydomain, &c.relay_domains) + i ;
      size_t j = 0 ;
      if (d->check != CONF_RELAY_CHECK_LIST) continue ;
      for (; j < i ; j++) if (genalloc_s(conf_relaydomain, &c.relay_domains)[j].list && !strcmp(c.sa.s + genalloc_s(conf_relaydomain, &c.relay_domains)[j].list, c.sa.s + d->list)) break ;
      if (j == i) compile(c.sa.s + d->list, 'r') ;
    }
  }
  return 0 ;
}
