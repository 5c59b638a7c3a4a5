/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/lookup and lib/expand: the input is compiled
 * as an aliases file and as a virtual map, read as a :include: file and
 * split as an alias's right-hand side; then the names at the start of its
 * lines are looked up in a local domain, a virtual domain and a virtual
 * domain that reads it as a Dovecot passwd-file (lib/vuser), and what they give
 * is expanded (alias entries, or a local delivery's arguments).
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "address.h"
#include "conf.h"
#include "lookup.h"
#include "tables.h"
#include "expand.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static conf c ;
static int loaded = 0 ;

static void load (void)
{
  static char const text[] =
    "hostname mx.test.example\n"
    "spool /nonexistent\n"
    "local-domain test.example\n"
    "aliases aliases\n"
    "virtual-domain virt.example map vmap\n"
    "virtual-domain pw.example passwd-file vmap deliver lmtp unix:/nonexistent/lmtp\n"
    "deliver maildir ~/Maildir/\n" ;
  char fn[FUZZ_PATH_MAX] ;
  stralloc err = STRALLOC_ZERO ;
  fuzz_write(fn, "ketch.conf", text, sizeof(text) - 1) ;
  if (!conf_load(&c, fn, &err)) abort() ;
  stralloc_free(&err) ;
  loaded = 1 ;
}

static void look (char const *addr)
{
  lookup l = LOOKUP_ZERO ;
  if (!lookup_address(&l, &c, addr)) { lookup_free(&l) ; return ; }
  if (l.kind == LOOKUP_ALIAS)
  {
    stralloc texts = STRALLOC_ZERO ;
    genalloc items = GENALLOC_ZERO ;
    size_t i ;
    if (l.entries + l.entrieslen > l.sa.len) abort() ;
    if (!expand_entries(&c, l.sa.s + l.entries, l.entrieslen, 1, &texts, &items)) abort() ;
    for (i = 0 ; i < genalloc_len(expand_item, &items) ; i++)
    {
      expand_item const *it = genalloc_s(expand_item, &items) + i ;
      if (it->text >= texts.len || it->depth > EXPAND_DEPTH + 1) abort() ;
    }
    stralloc_free(&texts) ;
    genalloc_free(expand_item, &items) ;
  }
  else if (l.kind == LOOKUP_LOCAL || l.kind == LOOKUP_VIRTUAL)
  {
    expand_local x = EXPAND_LOCAL_ZERO ;
    if (expand_local_who(&c, &l, addr, &x) && !x.fail)
      expand_local_args(&c, &l, "s@x.example", addr, 0, 1000, &x) ;
    expand_local_free(&x) ;
  }
  lookup_free(&l) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  char fn[FUZZ_PATH_MAX] ;
  stralloc sa = STRALLOC_ZERO ;
  size_t pos = 0 ;
  unsigned int k = 0 ;
  if (!loaded) load() ;
  fuzz_write(fn, "aliases", data, size) ;
  tables_compile_aliases(fn, &sa) ;
  fuzz_write(fn, "vmap", data, size) ;
  sa.len = 0 ;
  tables_compile_vmap(fn, &sa) ;
  sa.len = 0 ;
  {
    struct stat st ;
    if (lookup_read_include(fn, &sa, &st) < -1) abort() ;
  }
  sa.len = 0 ;
  if (lookup_split_entries(s, size, &sa) < -1) abort() ;
  look("postmaster@test.example") ;
  look("postmaster") ;
  /* the names the lines start with, in either domain */
  while (pos < size && k++ < 8)
  {
    char const *nl = memchr(s + pos, '\n', size - pos) ;
    size_t e = nl ? (size_t)(nl - s) : size, j = pos ;
    static char const *const dom[3] = { "@test.example", "@virt.example", "@pw.example" } ;
    unsigned int d ;
    while (j < e && s[j] != ':' && s[j] != ' ' && s[j] != '\t' && s[j] != '@') j++ ;
    for (d = 0 ; d < 3 && j > pos && j - pos < 200 ; d++)
    {
      char buf[256] ;
      size_t dl = strlen(dom[d]) ;
      address a = ADDRESS_ZERO ;
      memcpy(buf, s + pos, j - pos) ;
      memcpy(buf + (j - pos), dom[d], dl + 1) ;
      if (!address_parse(&a, buf, j - pos + dl, ADDRESS_UTF8)) look(a.s) ;
    }
    pos = e + 1 ;
  }
  stralloc_free(&sa) ;
  return 0 ;
}
