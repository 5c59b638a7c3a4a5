/* ISC license: see LICENSE. */

#ifndef KETCH_LOOKUP_H
#define KETCH_LOOKUP_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>

#include "conf.h"

/*
 * What an address means here: the one answer that smtp-session gives at
 * RCPT (accept, or 550 5.1.1 for LOOKUP_UNKNOWN) and that the scheduler
 * routes and expands by. Cheap by construction: at most two cdb lookups
 * (the full local part, then without its +extension) and one getpwnam,
 * whose last answer is kept for a second (lookup.c: the same user is
 * asked for by the session, the scheduler and local-spawn per message);
 * for a passwd-file domain, as many scans of that file (lib/vuser).
 *
 *  - LOOKUP_REMOTE   the domain is neither local nor virtual.
 *  - LOOKUP_ALIAS    an aliases(5) entry (local domains), or a virtual
 *                    user whose target is an address (forward). The
 *                    entries are NUL-terminated strings, one after the
 *                    other, in sa from entries for entrieslen octets;
 *                    classify each with lookup_entry_kind.
 *  - LOOKUP_LOCAL    a system user (local domains): user, uid, gid, home.
 *  - LOOKUP_VIRTUAL  a virtual user: its map target (path) is a maildir
 *                    path, "lmtp:TARGET", or "" (none: the domain's
 *                    deliver); a passwd-file's users have "" (lib/vuser).
 *  - LOOKUP_UNKNOWN  nobody by that name, or a system account: uid
 *                    below local-uid-min (root excepted) or gid 0. A
 *                    system account not in group 0 has LOOKUP_F_SYSTEM
 *                    and its user, uid, gid and home: it receives the
 *                    mail an alias sends it, as LOOKUP_LOCAL, and none
 *                    other (lookup_aliased).
 *
 * At RCPT, smtp-session answers: lookup_address returned 0: 451 4.3.0
 * (temporary); LOOKUP_UNKNOWN: 550 5.1.1; LOOKUP_REMOTE: the relay
 * rules decide; anything else: 250.
 *
 * A local part is matched in lower case; "user+tag" matches "user+tag"
 * first, then "user", with the extension "tag" kept. "postmaster" (any
 * case, any local domain, or no domain at all) always exists: an alias to
 * "root" when the aliases file does not define it (RFC 5321 §4.5.1).
 * A quoted local part never matches a user or an alias.
 *
 * The aliases file FILE is compiled by newaliases(8) (lib/tables.c)
 * into FILE.cdb (keys: lower-case local parts; values: the entries, each
 * NUL-terminated). A
 * virtual-domain map FILE ("user@domain [target]" lines, "@domain target"
 * for a catch-all) becomes FILE.cdb the same way (keys: lower-case
 * address; values: the target). A missing cdb is an empty table. A
 * virtual-domain passwd-file is read as it is, at each lookup
 * (lib/vuser): one scan of the file, once more without the extension.
 */

enum lookup_kind_e
{
  LOOKUP_UNKNOWN,
  LOOKUP_REMOTE,
  LOOKUP_LOCAL,
  LOOKUP_ALIAS,
  LOOKUP_VIRTUAL
} ;

#define LOOKUP_F_VIRTUAL 0x01     /* the alias is a virtual user's forward */
#define LOOKUP_F_POSTMASTER 0x02  /* the built-in postmaster alias */
#define LOOKUP_F_SYSTEM 0x04      /* UNKNOWN: a system account, which an alias may name */

typedef struct lookup_s lookup, *lookup_ref ;
struct lookup_s
{
  unsigned int kind ;
  unsigned int flags ;
  stralloc sa ;       /* strings, NUL-terminated; offset 0 = none (sa starts with a NUL) */
  size_t local ;      /* the local part, lower case, without its extension */
  size_t ext ;        /* the extension (after the first '+'), or 0 */
  size_t domain ;     /* the domain, lower case ("" for a bare postmaster) */
  size_t user ;       /* LOCAL: the login name */
  size_t home ;       /* LOCAL: the home directory */
  uid_t uid ;
  gid_t gid ;
  size_t path ;       /* VIRTUAL: the target ("/maildir", "lmtp:TARGET", "" the domain's deliver) */
  size_t entries ;    /* ALIAS: the first entry */
  size_t entrieslen ; /* ALIAS: total length of the entries, NULs included */
} ;
#define LOOKUP_ZERO { .kind = LOOKUP_UNKNOWN, .flags = 0, .sa = STRALLOC_ZERO, .local = 0, .ext = 0, .domain = 0, .user = 0, .home = 0, .uid = 0, .gid = 0, .path = 0, .entries = 0, .entrieslen = 0 }

#define lookup_str(l, off) ((off) ? (l)->sa.s + (off) : (char const *)0)

/* 1 and l->kind set; 0 and errno on a temporary error (unreadable cdb, passwd error) */
extern int lookup_address (lookup *, conf const *, char const *) ;
/* key in FILE.cdb: 1 found (the data appended to sa, NUL-terminated, at
   *off, *len octets, when sa is not 0), 0 absent or no cdb, -1 error */
extern int lookup_cdb (char const *, char const *, size_t, stralloc *, size_t *, size_t *) ;
extern char const *lookup_kind_name (unsigned int) ;

/* a recipient an alias gave: a system account it names is a local user */
extern void lookup_aliased (lookup *) ;
extern void lookup_free (lookup *) ;

/* what an alias entry is */
enum lookup_entry_e
{
  LOOKUP_E_ADDRESS,   /* an address, or a bare local name (the hostname's domain) */
  LOOKUP_E_FILE,      /* /path: append to an mbox */
  LOOKUP_E_PROGRAM,   /* |command args: run, argv split on spaces, no shell */
  LOOKUP_E_INCLUDE,   /* :include:/path: entries read from a file */
  LOOKUP_E_BAD
} ;
extern unsigned int lookup_entry_kind (char const *) ;

/*
 * The right-hand side of an alias (or a :include: file): entries
 * separated by commas or newlines, blanks around them dropped; an entry
 * may be "double quoted" to hold a comma. Appends each entry,
 * NUL-terminated, to out; returns the number of entries, or -1 (EINVAL
 * for an unterminated quote, or ENOMEM).
 */
extern ssize_t lookup_split_entries (char const *, size_t, stralloc *) ;

/*
 * :include: files: read and split (bounded to 1 MiB), with the fstat of
 * the file read (a regular file, else EINVAL): its owner runs its files
 * and programs.
 */
extern ssize_t lookup_read_include (char const *, stralloc *, struct stat *) ;

#endif
