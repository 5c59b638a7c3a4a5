/* ISC license: see LICENSE. */

#ifndef KETCH_SMTPAUTH_H
#define KETCH_SMTPAUTH_H

#include <stddef.h>

#include <skalibs/stralloc.h>


/*
 * The SMTP client's AUTH helpers (RFC 4954): the credentials file of a
 * route or smarthost. The base64 of the answers is lib/base64.
 *
 * The file holds lines "user password" (any host) or "host user password"
 * (that host only, preferred); '#' starts a comment; words are separated
 * by spaces or tabs, so a password cannot hold one. It must be a regular
 * file owned by the effective user and unreadable by group and others.
 */

/* reads the file into sa after the checks; 1, or 0 with errno
   (EPERM: group/world access or another owner; EINVAL: not a regular file) */
extern int smtpauth_creds_read (char const *, stralloc *) ;

/* finds the credentials for host in the text; 1 (user and pass set,
   NUL-terminated), 0 none, -1 out of memory */
extern int smtpauth_creds_find (char const *, size_t, char const *, stralloc *, stralloc *) ;

#endif
