/* ISC license: see LICENSE. */

#ifndef KETCH_DOTFORWARD_H
#define KETCH_DOTFORWARD_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * A local user's ~/.forward (sendmail's, Postfix's): the owner's own
 * word on where that user's mail goes. The delivery reads it already
 * running as the user (lib/deliver, in local-deliver or a local-spawn
 * worker): root never opens a path in a user's home, and whatever the
 * file names (a file, a program) is written or run with the user's
 * rights only. Only the owner's file names files and programs: an
 * address a client typed is never read as one (lib/lookup, lib/decide).
 *
 * dotforward_read opens the file and judges it; dotforward_parse turns
 * what it read into targets. Both are bounded and total.
 *
 * The file (ketch.conf(5), dot-forward; local-deliver(8)): lines ending
 * with LF (a CR before it dropped); blank lines, and lines whose first
 * non-blank octet is '#', ignored. A line holds entries as an alias's
 * right-hand side does (lookup_split_entries): separated by commas,
 * blanks around them dropped, "double quoted" to hold a comma. An entry:
 *
 *   |program args  run as the user: an absolute path, argv split on
 *                  spaces, never a shell (as an alias's program)
 *   /file          appended to as an mbox, as the user
 *   \user          the user's own mailbox (sendmail's escape: no
 *                  forwarding for that copy)
 *   address        forwarded: queued again (lib/enqclient) with the
 *                  same envelope sender; a bare name gets the host
 *                  name's domain. The user's own address (the login
 *                  name, bare or at the host name or at the domain it
 *                  was delivered to, or that very recipient) is the
 *                  mailbox, as \user.
 *
 * Anything else refuses the whole file, which is then not followed at
 * all (never half of it): a line over DOTFORWARD_LINE_MAX octets, a
 * control octet but the tab, an unterminated quote, a :include: (a
 * .forward names no other file of entries), more than
 * DOTFORWARD_ENTRIES_MAX entries, an entry that is no address.
 */

#define DOTFORWARD_MAX 65536          /* octets of the file */
#define DOTFORWARD_LINE_MAX 1000      /* octets of a line, its LF not counted */
#define DOTFORWARD_ENTRIES_MAX 100

/* what dotforward_read found */
enum dotforward_read_e
{
  DOTFORWARD_R_NONE,     /* no file (or no absolute home): deliver as without one */
  DOTFORWARD_R_READ,     /* read, into the caller's stralloc */
  DOTFORWARD_R_REFUSED,  /* hostile or unusable: not followed; why says what */
  DOTFORWARD_R_ERROR     /* an I/O error (errno): try again later */
} ;

/*
 * home/.forward, read by the process running as its owner (uid): opened
 * without following a symbolic link and without waiting on a FIFO, it
 * must be a regular file owned by uid or root, not group- or
 * world-writable, at most DOTFORWARD_MAX octets, in a home directory
 * owned by uid or root and not group- or world-writable (whoever can
 * write there can replace the file). An unreadable file is refused
 * too. The absent file costs one open(2). Appends the content to sa;
 * *why (a constant string) says why a file was refused.
 */
extern unsigned int dotforward_read (char const *, unsigned int, stralloc *, char const **) ;

/* a target: its kind, then its text (sa holds them, kind octet first, each NUL-terminated) */
#define DOTFORWARD_SELF 's'      /* the mailbox; no text */
#define DOTFORWARD_ADDRESS 'a'   /* a canonical address */
#define DOTFORWARD_FILE 'f'      /* an absolute path */
#define DOTFORWARD_PROGRAM 'p'   /* the command line after '|' */

typedef struct dotforward_s dotforward, *dotforward_ref ;
struct dotforward_s
{
  stralloc sa ;         /* the targets, in the file's order, the mailbox at most once */
  unsigned int n ;      /* targets */
  unsigned int naddr ;  /* of which addresses */
} ;
#define DOTFORWARD_ZERO { .sa = STRALLOC_ZERO, .n = 0, .naddr = 0 }

/*
 * The file's content s[0..len) for user (the login name), delivered as
 * rcpt (an address), on host hostname: f filled (emptied first). 1;
 * 0 refused, *why (a constant string) saying why; -1 and errno (ENOMEM).
 * No target at all (only comments) is 1 with f->n 0: no forwarding.
 */
extern int dotforward_parse (dotforward *, char const *, size_t, char const *, char const *, char const *, char const **) ;

extern void dotforward_free (dotforward *) ;

#endif
