/* ISC license: see LICENSE. */

#ifndef KETCH_ADDRLIST_H
#define KETCH_ADDRLIST_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * RFC 5322 §3.4 address lists, as found in To, Cc and Bcc header fields:
 * mailboxes (addr-spec, or display name and angle-addr), groups
 * ("name: a, b;"), comments (nested), quoted strings, domain literals,
 * folded lines, and the obsolete forms of §4.4 that real mail still holds
 * (empty list members, a route in an angle-addr, CFWS around the dots
 * and "@" of an addr-spec). Display names and comments are dropped.
 * Words side by side ("bob smith@x", "info@x y") are a phrase, which is
 * only ever a display name before an angle-addr: a syntax error, never
 * joined into one address. Each address is appended to out in
 * address_parse's canonical form, NUL-terminated; an address without a
 * domain gets "@domain" when domain is not 0.
 *
 * Returns 1, or 0 with errno: EINVAL (a syntax error, or an address that
 * address_parse refuses), ERANGE (more than max addresses in total,
 * counting the *n already there), ENOMEM. Bounded: one pass, no recursion.
 */
extern int addrlist_parse (stralloc *out, size_t *n, size_t max, char const *s, size_t len, char const *domain) ;

#endif
