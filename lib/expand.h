/* ISC license: see LICENSE. */

#ifndef KETCH_EXPAND_H
#define KETCH_EXPAND_H

#include <stddef.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "conf.h"
#include "lookup.h"
#include "qstate.h"

/*
 * From a recipient to what the scheduler does with it: the recipients an
 * alias stands for, and the local-deliver arguments of a local, virtual
 * or alias (file, program) recipient. The scheduler and local-spawn
 * deliver by it (lib/decide) and ketch-route prints it, so the dry run
 * cannot drift.
 *
 * Loops: a recipient already in the message is never added again (the
 * scheduler's rule, which alone breaks every loop); nesting stops at
 * EXPAND_DEPTH, a message at EXPAND_MAX recipients.
 */

#define EXPAND_MAX 1000     /* recipients per message after alias expansion */
#define EXPAND_DEPTH 10     /* alias nesting */

#define EXPAND_T_UNKNOWN "550 5.1.1 no such user here"
#define EXPAND_T_TOODEEP "554 5.4.6 alias nesting too deep (a loop?)"
#define EXPAND_T_VPATH "554 5.3.5 virtual maildir path is not absolute"
/* a virtual user without a target of its own, whose domain has no deliver, or whose local part its template refuses */
#define EXPAND_T_VNONE "554 5.3.5 no mailbox for this virtual user in its domain's deliver"
#define EXPAND_T_PATH "554 5.3.5 bad mailbox path for this user"

/* what one alias entry (or an entry of a :include: file) gave */
enum expand_item_e
{
  EXPAND_I_RCPT,        /* a recipient: a canonical address, "/file" or "|command args" */
  EXPAND_I_INCLUDE,     /* a :include: read; its entries follow, one level deeper */
  EXPAND_I_UNREADABLE,  /* a :include: that could not be read (err) */
  EXPAND_I_TOODEEP,     /* a :include: beyond EXPAND_DEPTH */
  EXPAND_I_BAD,         /* a control character, or not an entry at all */
  EXPAND_I_NOTADDR      /* not an address (address_parse) */
} ;

typedef struct expand_item_s expand_item, *expand_item_ref ;
struct expand_item_s
{
  unsigned int kind ;
  unsigned int depth ;  /* the nesting depth of the recipient (or entry) */
  size_t text ;         /* offset in the caller's stralloc: the recipient, else the entry */
  int err ;             /* UNREADABLE: errno */
  size_t include ;      /* from a :include: file: the offset of its path in the caller's stralloc; 0: from the table */
  uid_t owner ;         /* from a :include: file: its owner and mode, as read */
  mode_t mode ;
} ;

/*
 * The entries of an alias (NUL-terminated strings, len octets, as
 * lookup_address gives them), depth the depth of the recipients they
 * make: appends expand_item to items, their strings to sa. An address
 * without a domain gets the hostname's. 1, or 0 and errno (ENOMEM).
 */
extern int expand_entries (conf const *, char const *, size_t, unsigned int, stralloc *, genalloc *) ;

/*
 * Whether a recipient an alias gave joins the message (its qstate):
 * not past EXPAND_MAX recipients, and never twice, which alone breaks
 * every loop.
 */
#define EXPAND_A_NEW 0
#define EXPAND_A_TOOMANY 1
#define EXPAND_A_KNOWN 2
extern unsigned int expand_admit (qstate const *, char const *) ;

/* how local-deliver is run for one recipient */
enum expand_local_e
{
  EXPAND_L_ALIAS,       /* an alias's /file or |program: as the owner of the file listing it (expand_entry_owner) */
  EXPAND_L_VIRTUAL,     /* a virtual user's maildir: as the owner of the domain's map */
  EXPAND_L_VLMTP,       /* a virtual user over LMTP: as alias-user, no mailbox written here (lib/vuser) */
  EXPAND_L_USER         /* a system user: as that user */
} ;

typedef struct expand_local_s expand_local, *expand_local_ref ;
struct expand_local_s
{
  unsigned int kind ;
  stralloc args ;       /* local-deliver's arguments after -t and -o, each NUL-terminated */
  unsigned int nargs ;
  unsigned int method ; /* index in args of the method ("maildir", "mbox", "mda", "lmtp") */
  char const *fail ;    /* a permanent failure (EXPAND_T_*): nothing to run */
} ;
#define EXPAND_LOCAL_ZERO { .kind = EXPAND_L_USER, .args = STRALLOC_ZERO, .nargs = 0, .method = 0, .fail = 0 }

/*
 * Who delivers for recipient addr (lookup l, unused for a "/file" or
 * "|program" recipient): kind, or fail. 1, or 0 and errno.
 */
extern int expand_local_who (conf const *, lookup const *, char const *, expand_local *) ;

/*
 * Then local-deliver's arguments (local-deliver(8)): [-e ext] -- sender
 * rcpt user home method args. For an alias recipient, orig is the alias
 * (0: none) and uid the identity it runs as (its name and home go into
 * the arguments). 1 (fail may be set), or 0 and errno.
 */
extern int expand_local_args (conf const *, lookup const *, char const *, char const *, char const *, uid_t, expand_local *) ;

/*
 * Who runs an alias's file or program (sendmail's rule): the owner of
 * the file that lists it, the :include: file (it) or else the table
 * (table, the aliases file or a virtual-domain map), when that owner is
 * not root; for a file root owns, alias-user ("nobody" by default). An
 * include file group- or world-writable lists for anyone: EPERM. 1 and
 * *uid, or 0 and errno.
 */
extern int expand_entry_owner (conf const *, expand_item const *, char const *, uid_t *) ;

/*
 * Whether rcpt (a "/file" or "|program" recipient, or an address) is,
 * as the same text, a recipient that an alias's entries (as
 * lookup_address gives them) expand to, :include: files read: what
 * local-spawn asks before it runs an alias's file or program. 1 with
 * the index of its item in *i (the expansion is appended to texts and
 * items); 0 if not, or on an error.
 */
extern int expand_entry_listed (conf const *, char const *, size_t, char const *, stralloc *, genalloc *, size_t *) ;

extern void expand_local_free (expand_local *) ;

/*
 * A mailbox path template (deliver maildir|mbox) for user, domain and
 * home, appended to out, NUL-terminated. 1, or 0 and errno (EINVAL: a
 * user or domain that could leave its directory, "~/" with no absolute
 * home, an unknown %-sequence).
 */
extern int conf_expand_path (char const *, char const *, char const *, char const *, stralloc *) ;

#endif
