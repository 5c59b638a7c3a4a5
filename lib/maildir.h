/* ISC license: see LICENSE. */

#ifndef KETCH_MAILDIR_H
#define KETCH_MAILDIR_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * Delivery into a Maildir (the Maildir specification, cr.yp.to/proto/
 * maildir.html): a unique name, the message written into tmp/, fsync,
 * rename into new/, fsync of new/. Then and only then is it delivered.
 * The message is pre (the headers we prepend), then head (what the
 * caller already read), then the rest of fd until EOF.
 */

extern int maildir_make (char const *) ;
extern int maildir_deliver (char const *, char const *, size_t, char const *, size_t, int, stralloc *) ;

#endif
