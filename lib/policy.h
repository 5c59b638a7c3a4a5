/* ISC license: see LICENSE. */

#ifndef KETCH_POLICY_H
#define KETCH_POLICY_H

#include "address.h"
#include "conf.h"

/*
 * Relay control, fail closed: may this client give this recipient?
 * A recipient is accepted for a local or virtual domain when lookup(3)
 * knows the user (system user, alias, virtual user), or for any other
 * domain when the client may relay (its IP is in a relay-from network, or
 * it authenticated). Address literals, source routes, '%', '!' and quoted
 * local parts are never interpreted: address_parse keeps them as data,
 * and a literal domain is never local.
 *
 * A relay domain's recipient (lib/relaydom) is accepted from any client,
 * if its recipients list has it; with "verify", POLICY_VERIFY says the
 * caller must ask the next hop (lib/callout) before it accepts. A relay
 * client's recipients are never verified: it may send anywhere anyway.
 *
 * policy_rcpt (conf, ip, is6, authed, rcpt, &reply): ip is 4 or 16
 * octets, or 0 when unknown (never a relay client). Returns 1 (accept),
 * POLICY_VERIFY or 0 (refuse); *reply is the complete SMTP reply without
 * CRLF, a static string (4xx on a temporary lookup failure).
 */
#define POLICY_VERIFY 2
extern int policy_rcpt (conf const *, char const *, int, int, address const *, char const **) ;

#endif
