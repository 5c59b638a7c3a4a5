/* ISC license: see LICENSE. */

#ifndef KETCH_RELAYDOM_H
#define KETCH_RELAYDOM_H

#include "conf.h"

/*
 * The RCPT decision for a relay domain (relay-domain, ketch.conf(5)):
 * this host takes the domain's mail from any client (a backup MX, an
 * inbound gateway) and forwards it, so a recipient is accepted only if
 * the domain would take it. How that is known is the relay-domain line's
 * choice: its recipients file (a list of addresses, one per line,
 * compiled by newaliases(8) into FILE.cdb like a virtual-domain map;
 * "user+ext@domain" matches "user@domain" too), a callout to the next
 * hop (RELAYDOM_VERIFY: the session asks, lib/callout), or nothing (any
 * recipient; the next hop's bounce comes later). A recipient refused
 * here is never queued: a backup MX that accepts everything becomes a
 * source of backscatter when the primary refuses it later.
 */

enum relaydom_e
{
  RELAYDOM_NONE = 0,  /* not a relay domain */
  RELAYDOM_OK,        /* accepted */
  RELAYDOM_VERIFY,    /* accepted if the next hop takes it: a callout decides */
  RELAYDOM_UNKNOWN,   /* not in the recipients list: 550 5.1.1 */
  RELAYDOM_TEMP       /* the list could not be read: 451 4.3.0 */
} ;

/* rcpt (canonical, with its domain) under the configuration's relay-domain lines */
extern enum relaydom_e relaydom_rcpt (conf const *, char const *) ;

#endif
