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
 * The delivering process's part of a unique name: its pid, asked once
 * (pid 0: not yet), and Q, the deliveries it named so far (the
 * specification's Qn). A caller keeps one per process, made after its
 * last fork: a copy inherited by a child would name the parent's pid.
 */
typedef struct maildir_proc_s maildir_proc, *maildir_proc_ref ;
struct maildir_proc_s
{
  uint64_t pid ;
  uint64_t q ;
} ;
#define MAILDIR_PROC_ZERO { .pid = 0, .q = 0 }

extern int maildir_make (char const *) ;
extern int maildir_deliver (maildir_proc *, char const *, char const *, size_t, char const *, size_t, int, stralloc *) ;

#endif
