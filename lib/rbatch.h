/* ISC license: see LICENSE. */

#ifndef KETCH_RBATCH_H
#define KETCH_RBATCH_H

#include <stddef.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * remote-send's input: the stream of jobs the scheduler writes on its
 * fd 0 (lib/report: netstrings of queue id, header length, flags,
 * sender, recipients), as read, parsed and numbered. A job's strings
 * point into the input buffer: they stay valid until the jobs are
 * forgotten, which the caller does only once every job known is over
 * and reported (rbatch_forget; rbatch_read forgets them too, because a
 * read may move the buffer). Jobs are numbered from the first of the
 * stream (base + index), as the report lines count them.
 *
 * A garbled job, or more than RBATCH_INPUT_MAX octets without a whole
 * job, fails with EPROTO: the scheduler and we disagree, and the run
 * ends (every recipient without a report line is temporary).
 */

#define RBATCH_INPUT_MAX (1024 * 1024)  /* unparsed job octets held at most */

typedef struct rbatch_job_s rbatch_job, *rbatch_job_ref ;
struct rbatch_job_s
{
  char const *id ;
  size_t hdrlen ;
  int eightbit ;          /* flags "8": the body is 8-bit (RFC 6152) */
  int utf8 ;              /* flags "u": the envelope needs SMTPUTF8 (RFC 6531) */
  char const *sender ;
  size_t rcpt0 ;          /* its recipients: fields from this one */
  unsigned int nrcpt ;
} ;

typedef struct rbatch_s rbatch, *rbatch_ref ;
struct rbatch_s
{
  stralloc input ;        /* as read: the fields point into it */
  size_t parsed ;         /* input: whole jobs up to here */
  int eof ;
  unsigned int base ;     /* jobs of the stream before the current ones */
  genalloc list ;         /* rbatch_job */
  genalloc fields ;       /* char const *: every job's recipients */
  genalloc scratch ;      /* char const *: one job's fields */
  unsigned int n ;        /* jobs in list */
  unsigned int cur ;      /* the current job's index in list (the caller's) */
} ;
#define RBATCH_ZERO { .input = STRALLOC_ZERO, .parsed = 0, .eof = 0, .base = 0, .list = GENALLOC_ZERO, .fields = GENALLOC_ZERO, .scratch = GENALLOC_ZERO, .n = 0, .cur = 0 }

#define rbatch_job_at(b, i) (genalloc_s(rbatch_job, &(b)->list) + (i))
#define rbatch_rcpts(b, jb) (genalloc_s(char const *, &(b)->fields) + (jb)->rcpt0)

/* every whole job in the input after those parsed, appended to the list. 1, or 0 (EPROTO: garbled; ENOMEM) */
extern int rbatch_parse (rbatch *) ;

/* every job known is over: forgotten, counted in base; the input they took is dropped */
extern void rbatch_forget (rbatch *) ;

/* one read from fd (nonblocking or ready), then rbatch_forget. 1 (EOF sets eof), or 0 (EPROTO: too much input without a whole job; ENOMEM; read's errno) */
extern int rbatch_read (rbatch *, int) ;

/* the input ended inside a job */
#define rbatch_truncated(b) ((b)->eof && (b)->parsed < (b)->input.len)

extern void rbatch_free (rbatch *) ;

#endif
