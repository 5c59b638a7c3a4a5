/* ISC license: see LICENSE. */

#ifndef KETCH_POLICY_H
#define KETCH_POLICY_H

#include "address.h"
#include "conf.h"

/*
 * Relay control, fail closed: may this client give this recipient?
 * A recipient is accepted for a local domain (when the user exists), for
 * a virtual domain, or for any domain when the client may relay (its IP
 * is in a relay-from network, or it authenticated). Address literals,
 * source routes, '%', '!' and quoted local parts are never interpreted:
 * address_parse keeps them as data, and a literal domain is never local.
 *
 * Returns 1 (accept) or 0 (refuse); *reply is the complete SMTP reply
 * without CRLF, a static string.
 */
extern int policy_rcpt (conf const *, char const *, int, int, address const *, char const **) ;

/* does the local user of a local domain exist? 1 yes, 0 no, -1 error */
extern int policy_local_user (conf const *, char const *, size_t) ;

#endif
