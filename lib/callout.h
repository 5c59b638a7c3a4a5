/* ISC license: see LICENSE. */

#ifndef KETCH_CALLOUT_H
#define KETCH_CALLOUT_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "conf.h"
#include "exitcodes.h"
#include "smtpclient.h"

/*
 * A recipient callout (Postfix's reject_unverified_recipient): is this
 * recipient of a relay domain (relay-domain ... verify) one the next hop
 * would take? The session asks the next hop itself, the way remote-send
 * would deliver (lib/route: the relay-domain's via host, the domain's
 * route, else its MX hosts without this host and worse ones): connect,
 * EHLO (lib/smtpsess, no TLS: nothing but the address is said), MAIL
 * FROM:<> (RFC 5321 §4.5.5: the null sender, so a refusal never bounces
 * back to anyone), RCPT TO, then QUIT; no DATA, so nothing is ever
 * delivered. The next hop's answer to RCPT is the answer: 2xx OK, 5xx
 * PERM, 4xx TEMP. No next hop answering in time (callout timeout, the
 * whole callout, DNS and every host included), or a refusal of the null
 * sender, is TEMP: the client tries again later, never refused for our
 * failure.
 *
 * The cache: the OK and PERM answers are kept (callout positive and
 * callout negative say how long), across sessions and processes, in the
 * directory of "callout cache", which the SMTP user owns (mkspool makes
 * it; not under the spool, which the SMTP user cannot enter). Without
 * that line every RCPT is asked. The cache has a fixed
 * number of slots, CALLOUT_SLOTS files named by a hash of the address
 * (three hex digits), each holding the one last answer for an address
 * of that hash: a hostile client who makes up addresses evicts entries
 * (costing itself a callout each, bounded in time) but can never make
 * the cache larger than CALLOUT_SLOTS records of CALLOUT_RECORD_MAX
 * octets. A slot is replaced whole (written under a name of this
 * process's, then renamed), never fsync'd: a cache lost in a crash is
 * asked again. TEMP answers are not kept: they are the ones that change.
 *
 * A record is one line, "P TIME ADDRESS" or "N TIME ADDRESS": positive
 * or negative, the Unix time of the answer, the address as asked. The
 * parser (callout_record_parse) is total and bounded: a slot holding
 * anything else is a miss.
 *
 * This module never logs and never exits: what happened comes back in
 * the callout struct, for the session to log.
 */

#define CALLOUT_SLOTS 4096
#define CALLOUT_RECORD_MAX 320   /* "P " 20 digits " " 256-octet address (ADDRESS_MAX) "\n", with room */

typedef struct callout_s callout, *callout_ref ;
struct callout_s
{
  enum ketch_result result ;
  int cached ;         /* the answer came from the cache */
  stralloc host ;      /* the host asked (NUL-terminated), or empty */
  stralloc answer ;    /* its reply to RCPT as one line, or why no one answered (NUL-terminated) */
} ;
#define CALLOUT_ZERO { .result = KETCH_RESULT_TEMP, .cached = 0, .host = STRALLOC_ZERO, .answer = STRALLOC_ZERO }

/*
 * Verifies rcpt (canonical, its domain a relay-domain's) with the cache
 * (if configured) and, on a miss, a callout; now is the Unix
 * time. 1 with co->result, or 0 and errno (out of memory).
 */
extern int callout_verify (conf const *, char const *, uint64_t, callout *) ;

/*
 * The callout itself on a connected smtpc whose greeting is still to be
 * read (the caller's deadline bounds it), with helo as our name: 1 when
 * the next hop answered RCPT (co->result), 0 when it could not be asked
 * (co->answer says why; the connection is closed), -1 out of memory.
 */
extern int callout_ask (smtpc *, char const *, char const *, char const *, unsigned int, callout *) ;

/* the cache: the slot file of an address in the cache directory, "DIR/XYZ", NUL-terminated */
extern int callout_slot (char const *, char const *, stralloc *) ;

/*
 * A record's parser, total and bounded: 1 with *positive, *when and the
 * address at s + *addr, *addrlen octets; 0 when s is no record.
 */
extern int callout_record_parse (char const *, size_t, int *, uint64_t *, size_t *, size_t *) ;

/*
 * The cache's answer for rcpt at now, with the lifetimes in seconds:
 * 1 (a hit: *result OK or PERM), 0 (a miss: none, expired, another
 * address in the slot, a broken record, or no cache directory).
 */
extern int callout_cache_get (char const *, char const *, uint64_t, unsigned int, unsigned int, enum ketch_result *) ;

/* keeps the answer (OK or PERM) for rcpt, given at now. 1, or 0 and errno */
extern int callout_cache_put (char const *, char const *, enum ketch_result, uint64_t) ;

extern void callout_free (callout *) ;

#endif
