/* ISC license: see LICENSE. */

#ifndef KETCH_AUTHTABLE_H
#define KETCH_AUTHTABLE_H

#include <stddef.h>

/*
 * The auth-table file: lines "user:crypt-hash" (yescrypt or SHA-512 from
 * crypt(3)); '#' starts a comment line. Read per check, so an edit needs
 * no restart. Returns 1 (the password matches), 0 (no such user or wrong
 * password) or -1 (error, errno set).
 */
extern int authtable_check (char const *, char const *, size_t, char const *, size_t) ;

#endif
