/* ISC license: see LICENSE. */

#ifndef KETCH_VUSER_H
#define KETCH_VUSER_H

#include <stddef.h>

#include <skalibs/stralloc.h>

#include "conf.h"

/*
 * Virtual users (virtual-domain, ketch.conf(5)): who they are and how
 * their mail is delivered, with no system account.
 *
 * Who. A map entry (lib/lookup reads FILE.cdb), or a line of a Dovecot
 * passwd-file, read here as it is, so that a Dovecot site keeps one user
 * list. Such a line is user:{SCHEME}hash:uid:gid:gecos:home:shell:extra;
 * only its first field matters to ketch. The scan compares that field as
 * it goes and keeps nothing: no octet after a line's first colon (the
 * password hash, the rest) is copied, held, returned or logged. It is
 * total and bounded: O(1) memory whatever the file holds, at most
 * VUSER_FILE_MAX octets read; blank lines and lines starting with '#'
 * are skipped (Dovecot's reader does the same), a line without a colon
 * names nobody. A field matches, case aside, the whole address
 * ("user@domain", Dovecot's %u) or, when it has no '@', the local part
 * (a per-domain file, Dovecot's %n).
 *
 * How. The target of a map entry, else the domain's deliver:
 *   "/path"        a Maildir, written as the map's owner;
 *   "lmtp:TARGET"  LMTP (lib/lmtp) to unix:PATH or HOST:PORT;
 *   "" (none)      the domain's deliver: maildir TEMPLATE (%u the local
 *                  part, %d the domain: lib/expand's conf_expand_path),
 *                  or lmtp TARGET.
 * An LMTP delivery writes no mailbox and needs no privilege: under a
 * root scheduler, local-spawn runs it as alias-user (lib/decide). Its
 * RCPT TO is the recipient as the queue holds it, user@domain, which is
 * what Dovecot's userdb looks up (auth_username_format %Lu).
 */

#define VUSER_FILE_MAX (64 << 20)   /* a passwd-file larger than this is an error (EFBIG) */
#define VUSER_LMTP "lmtp:"          /* the prefix of a map entry's LMTP target */

/* the streaming matcher of passwd-file lines: vuser_scan_init, then vuser_scan_feed */
typedef struct vuser_scan_s vuser_scan, *vuser_scan_ref ;
struct vuser_scan_s
{
  char const *addr ;  /* what is looked for: local@domain, lower case */
  size_t alen ;
  size_t llen ;       /* the local part: addr[0..llen) */
  size_t pos ;        /* octets of the current line's first field seen */
  unsigned int state ;/* VUSER_S_*: where in a line the scan is */
  int full ;          /* the field so far is addr's prefix */
  int local ;         /* ... the local part's, with no '@' seen */
} ;

extern void vuser_scan_init (vuser_scan *, char const *, size_t, size_t) ;
/* n more octets of the file: 1 when a line so far names the user, else 0 */
extern int vuser_scan_feed (vuser_scan *, char const *, size_t) ;

/*
 * Whether the passwd-file file lists addr (alen octets, lower case, its
 * local part the first llen): 1 yes, 0 no, -1 and errno (unreadable,
 * EFBIG).
 */
extern int vuser_passwd_find (char const *, char const *, size_t, size_t) ;

/*
 * How a virtual user of v is delivered, its map target being target
 * ("" for none, a passwd-file's user): *method CONF_DELIVER_MAILDIR or
 * CONF_DELIVER_LMTP, and the Maildir or the LMTP target appended to
 * out, NUL-terminated. 1; or 0 and errno: EINVAL for a relative path,
 * no target where the domain has no deliver, a local part unfit for a
 * path (the delivery fails: lib/expand's EXPAND_T_VPATH), ENOMEM.
 */
extern int vuser_target (conf const *, conf_vdomain const *, char const *, char const *, char const *, unsigned int *, stralloc *) ;

/* whether that delivery is over LMTP (needs no privilege): 1 or 0 */
extern int vuser_lmtp (conf_vdomain const *, char const *) ;

/* the words of a method, for ketch-route and the logs: "maildir", "lmtp" */
extern char const *vuser_method_name (unsigned int) ;

#endif
