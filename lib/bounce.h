/* ISC license: see LICENSE. */

#ifndef KETCH_BOUNCE_H
#define KETCH_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include "envelope.h"
#include "qstate.h"

/*
 * Delivery status notifications, RFC 3464: a multipart/report
 * (RFC 6522) with a human part, a message/delivery-status part (one
 * per-recipient block for each failed or delayed recipient) and the
 * original header as text/rfc822-headers. The caller sends it with the
 * null reverse-path (RFC 5321 §4.5.5) through enqueue.
 */

typedef struct bounce_rcpt_s bounce_rcpt ;
struct bounce_rcpt_s
{
  char const *addr ;
  char const *orig ;    /* the envelope recipient it came from, or 0 */
  char const *result ;  /* the last answer ("550 5.1.1 ..." or our text), or 0 */
} ;

#define BOUNCE_FAILED 0
#define BOUNCE_DELAYED 1

typedef struct bounce_s bounce ;
struct bounce_s
{
  unsigned int action ;     /* BOUNCE_FAILED or BOUNCE_DELAYED */
  char const *hostname ;    /* Reporting-MTA */
  char const *id ;          /* the queue id of the original */
  char const *to ;          /* the bounce's recipient */
  uint64_t arrival ;        /* Unix time the original arrived */
  uint64_t now ;
  char const *boundary ;    /* unique: the caller derives it from the id */
} ;

/*
 * Whom a report goes to (RFC 3464 §2, RFC 5321 §4.5.5: never to the null
 * sender): the sender; for a failed message from the null sender,
 * postmaster@hostname, once: if the message was for a postmaster
 * already (forpostmaster), the report is dropped. A delay warning about
 * a message from the null sender is owed to nobody.
 */
#define BOUNCE_TO_NONE 0   /* nothing owed */
#define BOUNCE_TO_SEND 1   /* to holds the recipient, NUL-terminated */
#define BOUNCE_TO_DROP 2   /* a failed bounce to postmaster: dropped (the caller logs it) */
extern int bounce_to (char const *, unsigned int, int, char const *, stralloc *) ;  /* or -1 and errno */

/* "postmaster", alone or with a domain, any case (RFC 5321 §4.5.1) */
extern int bounce_is_postmaster (char const *) ;

/* the header of a message (fd at its first line), appended: up to and with the line before the blank one, at most 64 KiB */
extern void bounce_read_header (int, stralloc *) ;

/* RFC 3463 §2: the longest status code, "5.123.123", and its NUL */
#define BOUNCE_STATUS_MAX 10
extern int bounce_status (char const *, int, char *, size_t) ;
extern int bounce_date (uint64_t, stralloc *) ;
extern int bounce_format (stralloc *, bounce const *, bounce_rcpt const *, unsigned int, char const *, size_t) ;

/*
 * The report owed about the recipients of message id (envelope e, state
 * q) in state which: QSTATE_FAILED, a bounce; QSTATE_DEFERRED, a delay
 * warning. The return is bounce_to's: BOUNCE_TO_SEND with the whole
 * message in msg, its recipient in to and the number of recipients it
 * reports in *n; BOUNCE_TO_NONE when none is owed (no such recipient,
 * or nobody to tell); BOUNCE_TO_DROP; or -1 and errno. The original's
 * header is read from the entry (queue/, the spool the current
 * directory) only when a report is owed. The boundary is derived from
 * the id and hostname, unique.
 */
extern int bounce_make (stralloc *, stralloc *, unsigned int *, char const *, envelope const *, qstate const *, unsigned int, char const *, uint64_t) ;

#endif
