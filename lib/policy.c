/* ISC license: see LICENSE. */

/*
 * The recipient decision shared by smtp-session and dry-run tools; the
 * meaning of an address comes from lookup_address (lib/lookup.h), so the
 * answer at RCPT is the scheduler's answer at delivery.
 */

#include "address.h"
#include "conf.h"
#include "lookup.h"
#include "policy.h"
#include "relaydom.h"

int policy_rcpt (conf const *c, char const *ip, int is6, int authed, address const *a, char const **reply)
{
  static lookup l = LOOKUP_ZERO ;
  int relay = authed || (ip && conf_relay_allowed(c, ip, is6)) ;
  if (a->flags & ADDRESS_F_LITERAL)
  {
    /* RFC 5321 §4.1.3: never one of our domains, only relayed */
    *reply = relay ? "250 2.1.5 Ok" : "550 5.7.1 Relaying denied" ;
    return relay ;
  }
  if (!lookup_address(&l, c, a->s))
  {
    *reply = "451 4.3.0 Temporary failure looking up the recipient" ;
    return 0 ;
  }
  switch (l.kind)
  {
    case LOOKUP_LOCAL :
    case LOOKUP_ALIAS :
    case LOOKUP_VIRTUAL :
      *reply = "250 2.1.5 Ok" ;
      return 1 ;
    case LOOKUP_REMOTE :
      if (relay) { *reply = "250 2.1.5 Ok" ; return 1 ; }
      switch (relaydom_rcpt(c, a->s))
      {
        case RELAYDOM_OK : *reply = "250 2.1.5 Ok" ; return 1 ;
        case RELAYDOM_VERIFY : *reply = "250 2.1.5 Ok" ; return POLICY_VERIFY ;
        case RELAYDOM_UNKNOWN : *reply = "550 5.1.1 No such user here" ; return 0 ;
        case RELAYDOM_TEMP : *reply = "451 4.3.0 Temporary failure looking up the recipient" ; return 0 ;
        default : *reply = "550 5.7.1 Relaying denied" ; return 0 ;
      }
    default :
      *reply = "550 5.1.1 No such user here" ;
      return 0 ;
  }
}
