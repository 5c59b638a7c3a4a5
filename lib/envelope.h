/* ISC license: see LICENSE. */

#ifndef KETCH_ENVELOPE_H
#define KETCH_ENVELOPE_H

#include <stddef.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * The envelope stored at the head of a queue entry (spool-layout/SPOOL,
 * "queue entry"): text lines, then an empty line, then the message.
 *
 *   ketch 1
 *   from <sender, empty for the null reverse-path>
 *   to <recipient>          one line per recipient, at least one
 *   auth <user>             optional: the client authenticated as user
 *   smtputf8                optional: an address holds UTF-8 (RFC 6531)
 *   hold [<reason>]         optional: held from the start (a filter's
 *                           quarantine), reason printable ASCII
 *   sign                    optional: the submitter vouched for the
 *                           sender (an authenticated or relay-from
 *                           client): the message may be DKIM-signed
 *   body 7bit | body 8bit   whether the body holds octets above 127
 *   pad <blanks>            optional, any number: room enqueue reserved
 *                           for DKIM signatures and did not use
 *   <empty line>
 *
 * The body line is last but for pad lines, and fixed-width, so enqueue
 * writes "7bit" before it has read the message and patches one octet
 * (ENVELOPE_BODYFLAG_OFF before the end of the head it encoded) if it
 * finds an 8-bit octet. Pad lines (lib/dkimsign.h) come only from
 * enqueue, after the encoded head; envelope_encode never writes them.
 *
 * Addresses are in address_parse's canonical form, which never holds a
 * newline. The id and the arrival time are the entry's file name.
 *
 * The hold and sign lines came later than the rest: an entry without
 * them is what every earlier enqueue wrote, and reads as not held and
 * not vouched for. The hold line is the state the message starts in:
 * once the scheduler writes a state file (lib/qstate.h), that file
 * says whether it is held, and a release there is never undone by
 * the envelope, which is never rewritten.
 */

#define ENVELOPE_F_8BIT 0x01
#define ENVELOPE_F_SMTPUTF8 0x02
#define ENVELOPE_F_HOLD 0x04       /* held from the start, until queue-ctl release */
#define ENVELOPE_F_SIGN 0x08       /* the submitter vouched for the sender: may be DKIM-signed */
#define ENVELOPE_REASON_MAX 256    /* octets of a hold's reason, printable ASCII */
#define ENVELOPE_LINE_MAX 1024
#define ENVELOPE_BODYFLAG_OFF 6   /* the '7' of "body 7bit\n\n" is hdrlen - 6 */
#define ENVELOPE_MAX (64 << 20)   /* the head of an entry is at most 64 MiB */

typedef struct envelope_s envelope, *envelope_ref ;
struct envelope_s
{
  stralloc sa ;       /* the strings, each NUL-terminated */
  genalloc rcpt ;     /* size_t: offsets of the recipients in sa */
  size_t sender ;     /* offset of the sender in sa */
  size_t auth ;       /* offset of the auth user in sa, or 0 for none (sa starts with a NUL) */
  size_t reason ;     /* with ENVELOPE_F_HOLD: offset of its reason in sa, or 0 for none */
  unsigned int flags ;
  size_t hdrlen ;     /* length of the envelope head, empty line included */
} ;
#define ENVELOPE_ZERO { .sa = STRALLOC_ZERO, .rcpt = GENALLOC_ZERO, .sender = 0, .auth = 0, .reason = 0, .flags = 0, .hdrlen = 0 }

extern int envelope_init (envelope *, char const *) ;
extern int envelope_add_rcpt (envelope *, char const *) ;
extern int envelope_set_auth (envelope *, char const *) ;
/* ENVELOPE_F_HOLD, with reason (0 or "": none), which must be envelope_reason_valid */
extern int envelope_set_hold (envelope *, char const *) ;
/* s[0..len) is a reason a hold line may hold: 1 to ENVELOPE_REASON_MAX octets of printable ASCII */
extern int envelope_reason_valid (char const *, size_t) ;
extern int envelope_encode (envelope const *, stralloc *) ;
extern int envelope_decode (envelope *, char const *, size_t) ;
extern int envelope_read (envelope *, int, stralloc *) ;
extern void envelope_free (envelope *) ;

#define envelope_sender(e) ((e)->sa.s + (e)->sender)
#define envelope_nrcpt(e) genalloc_len(size_t, &(e)->rcpt)
#define envelope_rcpt(e, i) ((e)->sa.s + genalloc_s(size_t, &(e)->rcpt)[i])
#define envelope_auth(e) ((e)->auth ? (e)->sa.s + (e)->auth : 0)
#define envelope_reason(e) ((e)->reason ? (e)->sa.s + (e)->reason : 0)

#endif
