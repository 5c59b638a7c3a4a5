/* ISC license: see LICENSE. */

#ifndef KETCH_DECIDE_H
#define KETCH_DECIDE_H

#include <sys/types.h>
#include <pwd.h>

#include <skalibs/stralloc.h>

#include "conf.h"
#include "lookup.h"

/*
 * How a local recipient is delivered, and as whom: the one decision,
 * made in one place. Its answer is local-deliver's arguments (lib/deliver
 * reads them back: local-deliver(8)) and, for local-spawn, the user the
 * delivery runs as.
 *
 * The scheduler decides for itself when it runs local-deliver as its own
 * user (not started as root): its lookup is trusted, and whatever it
 * runs runs as itself. Under a root scheduler it sends only the facts
 * (lib/lspawn) and local-spawn decides with DECIDE_F_SPAWN: the
 * recipient is looked up here, a system account is a user only for an
 * alias that names it, an alias's "/file" or "|program" must be an entry
 * of the alias it came from (expand_entry_listed), and the delivery runs
 * as the user, the owner of a virtual domain's map (its Maildirs),
 * alias-user (a virtual user over LMTP: no mailbox written, no privilege
 * needed), or the owner of the
 * file that lists the entry (expand_entry_owner), never as root or a
 * member of group 0 (decide_who).
 */

#define DECIDE_F_SPAWN 0x01   /* local-spawn, as root: derive and check everything */

typedef struct decide_s decide, *decide_ref ;
struct decide_s
{
  uid_t uid ;          /* DECIDE_F_SPAWN: the user the delivery runs as */
  gid_t gid ;
  char name[256] ;
  stralloc args ;      /* local-deliver's arguments after its name, each NUL-terminated */
  char const *fail ;   /* a permanent failure (EXPAND_T_*): nothing to run */
  char const *why ;    /* refused for now (temporary): nothing to run */
} ;
#define DECIDE_ZERO { .uid = 0, .gid = 0, .name = "", .args = STRALLOC_ZERO, .fail = 0, .why = 0 }

/* the text of a refusal that says no more (a forged request learns nothing) */
#define DECIDE_T_REFUSED "local-spawn refused the delivery (it does not match the configuration or tables)"

/*
 * The delivery to rcpt, sent by sender, that came from the alias orig (0
 * or "": none), with the delivery timeout in seconds. Without
 * DECIDE_F_SPAWN, l is the caller's lookup of rcpt (not read for a
 * "/file" or "|program" recipient); with it, l is filled here. 1 with
 * args, or with fail or why set; 0 and errno on a temporary error.
 */
extern int decide_local (conf const *, lookup *, char const *, char const *, char const *, unsigned int, unsigned int, decide *) ;

/*
 * The owner rule: a delivery runs as a passwd entry's uid, name and
 * primary group (the passwd group, as qmail-lspawn and initgroups take
 * it, never the group of some file: a table's group says who may edit
 * it, not whose mail it is). Never root, never group 0. 1, or 0.
 */
extern int decide_who (decide *, struct passwd const *) ;

extern void decide_free (decide *) ;

#endif
