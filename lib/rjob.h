/* ISC license: see LICENSE. */

#ifndef KETCH_RJOB_H
#define KETCH_RJOB_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

#include "smtpreply.h"

/*
 * One job of remote-send (remote-send(8)): one queued message for some
 * recipients of one domain, in the form a transaction sends it (the
 * envelope, the body in the SMTP wire form), and each recipient's
 * result until the job's report (lib/report) tells the scheduler.
 *
 * A recipient starts PENDING (no result yet). A transaction's RCPT that
 * a server accepts makes it ACCEPTED: the result waits for the reply to
 * the final dot (RFC 5321 §4.1.1.4) or for the transaction's failure.
 * OK, TEMP and PERM are final; a job is done when every recipient has a
 * final result. A result's text is the reply that decided it, at most
 * RJOB_TEXT_MAX octets (remote-send(8), REPORT FORMAT); the report makes
 * it printable.
 *
 * The strings of the envelope (id, sender, recipients) are the caller's
 * and must outlive the job. The allocations are kept from one job to
 * the next: one job's lifetime costs no allocation once they are large
 * enough.
 */

#define RJOB_TEXT_MAX 1000
#define RJOB_READ_MAX (256 * 1024)   /* a body up to this is read, a larger one mapped (rjob_body) */

enum rjob_status { RJOB_PENDING = 0, RJOB_ACCEPTED, RJOB_OK, RJOB_TEMP, RJOB_PERM } ;

typedef struct rjob_result_s rjob_result ;
struct rjob_result_s
{
  enum rjob_status status ;
  size_t text ;   /* offset in texts */
  size_t len ;
} ;

typedef struct rjob_s rjob, *rjob_ref ;
struct rjob_s
{
  char const *id ;                /* the queue id */
  char const *sender ;
  char const *const *rcpts ;
  unsigned int nrcpt ;
  int utf8 ;                      /* the envelope needs SMTPUTF8 (RFC 6531) */
  int eightbit ;                  /* the body has octets above 127, or the queue says so (RFC 6152) */
  stralloc raw ;                  /* the body as stored, when read (rjob_body) */
  stralloc wire ;                 /* the body as sent: CRLF, dot-stuffed, with the final dot */
  uint64_t size ;                 /* RFC 1870 §3: CRLF counted, the final dot and stuffed dots not */
  tain deadline ;                 /* timeout delivery: the job ends by then (the caller's) */
  genalloc results ;              /* rjob_result, one per recipient */
  stralloc texts ;
  stralloc scratch ;
} ;
#define RJOB_ZERO { .id = "-", .sender = "", .rcpts = 0, .nrcpt = 0, .utf8 = 0, .eightbit = 0, .raw = STRALLOC_ZERO, .wire = STRALLOC_ZERO, .size = 0, .deadline = TAIN_ZERO, .results = GENALLOC_ZERO, .texts = STRALLOC_ZERO, .scratch = STRALLOC_ZERO }

/*
 * A new job: id, sender, n recipients, utf8; every recipient PENDING,
 * the body empty. An address with a line end, or an empty recipient,
 * could never go into a command line: those recipients (all of them for
 * such a sender) are PERM at once (501). 1, or 0 (ENOMEM).
 */
extern int rjob_start (rjob *, char const *, char const *, char const *const *, unsigned int, int) ;

/*
 * The body: the queue entry open on fd, after its envelope head of
 * hdrlen octets, encoded in the wire form (RFC 5321 §4.5.2; read when
 * it is at most RJOB_READ_MAX, mapped when larger). 1; 0 when the entry
 * cannot be read (errno); -1 out of memory.
 */
extern int rjob_body (rjob *, int, size_t) ;

#define rjob_res(j, i) (genalloc_s(rjob_result, &(j)->results) + (i))
#define rjob_status(j, i) (rjob_res((j), (i))->status)
#define rjob_text(j, i) ((j)->texts.s + rjob_res((j), (i))->text)

/* the status a reply gives: 2xx OK, 5xx PERM, else TEMP */
extern enum rjob_status rjob_reply_status (smtpreply const *) ;

/* recipient i gets status and text (cut to RJOB_TEXT_MAX). 1, or 0 (ENOMEM) */
extern int rjob_set (rjob *, unsigned int, enum rjob_status, char const *, size_t) ;
/* every recipient in status which gets status and text. 1, or 0 */
extern int rjob_set_all (rjob *, enum rjob_status, char const *, size_t, enum rjob_status) ;
/* every recipient in status which gets the reply's status and its text on one line. 1, or 0 */
extern int rjob_set_all_reply (rjob *, smtpreply const *, enum rjob_status) ;
/* recipient i gets the reply's status and text. 1, or 0 */
extern int rjob_set_reply (rjob *, unsigned int, smtpreply const *) ;

/* every recipient has its final result */
extern int rjob_done (rjob const *) ;

/* appends the job's report (lib/report: one line per recipient, in order; TEMP for one not final) as job number job. 1, or 0 */
extern int rjob_report (rjob const *, unsigned int, stralloc *) ;

extern void rjob_free (rjob *) ;

#endif
