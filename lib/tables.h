/* ISC license: see LICENSE. */

#ifndef KETCH_TABLES_H
#define KETCH_TABLES_H

#include <skalibs/stralloc.h>

/*
 * The compilers of the lookup tables, for newaliases(8): a text table
 * FILE becomes FILE.cdb, in the format lookup.h describes, and readers
 * never see a half-written one: FILE.cdb.tmp is written with FILE's
 * permission bits (at most 0644), fsync'd, renamed over FILE.cdb, and the
 * directory fsync'd. A table over 256 MiB is refused (EFBIG). 1, or 0
 * and errno; on a syntax error, errno EINVAL and "file:line: what" in
 * err, and FILE.cdb is left as it was.
 *
 * aliases(5): "name: entry, entry, ..." (entries as lookup_split_entries
 * reads them); a line starting with a blank continues the previous one;
 * '#' at the start of a line is a comment. A name defined twice keeps
 * its first definition.
 *
 * A virtual-domain map: "user@domain [target]" or "@domain target" (the
 * catch-all) per line; blank lines and '#' comments are skipped. A user
 * without a target is delivered by the domain's deliver; a target
 * "lmtp:TARGET" must be unix:/PATH or HOST:PORT (lib/vuser).
 *
 * A relay-domain's recipients list: one address "user@domain" per line
 * (blanks around it dropped), blank lines and '#' comments skipped; keys
 * in lower case, empty values (lib/relaydom).
 */
extern int tables_compile_aliases (char const *, stralloc *) ;
extern int tables_compile_vmap (char const *, stralloc *) ;
extern int tables_compile_list (char const *, stralloc *) ;

#endif
