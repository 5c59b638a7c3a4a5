/* ISC license: see LICENSE. */

#ifndef KETCH_DKIMSIGN_H
#define KETCH_DKIMSIGN_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include "conf.h"
#include "dkim.h"

/*
 * DKIM signing on the way into the queue (lib/submit): where the
 * signatures go in the queue entry, and which keys make them.
 *
 * The signature is known only at the commit, after the whole message
 * has been written to tmp/ID in one pass; it belongs at the head of the
 * message. So enqueue reserves room for it when it writes the envelope:
 * after the body line, pad lines ("pad" and blanks, which the envelope
 * reader skips) up to the empty line that ends the envelope. At the
 * commit, the room is written again, in place, with one pwrite before
 * the fsync of spool-layout/SPOOL: fewer pad lines, the empty line, and
 * the DKIM-Signature fields, which so become the first lines of the
 * message. The file is written once, committed once, never changed
 * after; every delivery reads the signed message as any other, and
 * nothing downstream knows about DKIM. A message left unsigned (its
 * From domain has no key) keeps its pad lines: the room costs a few
 * kilobytes of the queue entry, and only for mail that may be signed
 * when a dkim-sign line exists.
 *
 * The room is the most the configuration's keys can need for one From
 * domain (dkim_reserve for each key of a domain, added up, the largest
 * of the domains), known before the message is read.
 */

#define DKIMSIGN_PAD_LINE 1000   /* octets of the longest pad line, its LF included */

/* the room to reserve after the body line: 0 when the configuration signs nothing */
extern size_t dkimsign_reserve (conf const *) ;

/*
 * Appends the room's content, len octets: pad lines, the empty line,
 * then sig[0..siglen) (siglen 0: the room as first written). 1, or 0
 * with EINVAL when the signatures do not fit (len must leave 5 octets:
 * "pad\n" and the empty line).
 */
extern int dkimsign_room (size_t, char const *, size_t, stralloc *) ;

/*
 * The signatures of a message whose From domain has keys in c: every
 * key of that domain loaded and signing (dkim_sign; t = now), the
 * fields appended to out. d has seen the whole message (dkim_feed), read
 * back from fd at base for its header fields. 0 (out unchanged when the
 * message is not to be signed: no single From, no key for its domain),
 * or KETCH_EX_TEMP with the reason in err ("unable to read DKIM key
 * FILE for d=DOMAIN s=SEL: ..."): a key that fails never lets the
 * message go unsigned.
 */
extern int dkimsign_sign (dkim *, conf const *, int, uint64_t, stralloc *, stralloc *) ;

#endif
