/* ISC license: see LICENSE. */

#ifndef KETCH_MAILDIR_H
#define KETCH_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

/*
 * Delivery into a Maildir (the Maildir specification, cr.yp.to/proto/
 * maildir.html): a unique name, the message written into tmp/, fsync,
 * rename into new/, fsync of new/. Then and only then is it delivered.
 * The message is pre (the headers we prepend), then head (what the
 * caller already read), then the rest of fd until EOF.
 */

/*
 * What one delivering process keeps from one delivery to the next: its
 * part of a unique name, its pid, asked once (pid 0: not yet), and Q,
 * the names it made so far (the specification's Qn); and the last
 * Maildir's tmp/ and new/ open (-1: none), for MAILDIR_DIRS_SECS: a
 * worker delivers a burst of mail for one user, and opening new/ for
 * its fsync, then closing it, cost two system calls per delivery (and
 * each path walked from the root). The message is created in the tmp/
 * held, renamed into the new/ held, and that new/ is the directory
 * fsynced: the name made durable is always the one in the directory
 * synced, even if the Maildir was moved meanwhile (then the message is
 * in the Maildir moved, and the next delivery after MAILDIR_DIRS_SECS
 * finds the path's new one). A caller keeps one per process, made after
 * its last fork: a copy inherited by a child would name the parent's pid.
 */
#define MAILDIR_DIRS_SECS 1
typedef struct maildir_proc_s maildir_proc, *maildir_proc_ref ;
struct maildir_proc_s
{
  uint64_t pid ;
  uint64_t q ;
  int tmpfd ;
  int newfd ;
  stralloc dir ;       /* the Maildir they belong to, NUL-terminated */
  int64_t until ;      /* seconds (CLOCK_REALTIME): opened again from then on */
} ;
#define MAILDIR_PROC_ZERO { .pid = 0, .q = 0, .tmpfd = -1, .newfd = -1, .dir = STRALLOC_ZERO, .until = 0 }

extern int maildir_make (char const *) ;
extern int maildir_deliver (maildir_proc *, char const *, char const *, size_t, char const *, size_t, int, stralloc *) ;
extern void maildir_proc_free (maildir_proc *) ;

#endif
