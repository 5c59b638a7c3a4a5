/* ISC license: see LICENSE. */

#ifndef KETCH_RSTREAM_H
#define KETCH_RSTREAM_H

#include <stddef.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

#include "address.h"
#include "exitcodes.h"

/*
 * One remote-send -b as the scheduler keeps it: a stream of jobs for one
 * domain over one SMTP connection. The protocol is lib/report's batch
 * form: jobs (netstrings) down its fd 0, and back on its fd 1 one line
 * "JOB ok|temp|perm INDEX TEXT" per recipient, written once that job is
 * over. A job is one message's recipients at the domain; the owner is
 * the caller's message, which this module never looks into.
 *
 * States (rstream_state):
 *   STARTING  collected during a scheduling pass, not running yet
 *   BUSY      running, takes more jobs, some job lacks a line
 *   IDLE      running, takes more jobs, every job has all its lines:
 *             closed at its idle deadline (RSTREAM_LINGER) unless a
 *             job comes, so a steady flow to one place costs neither a
 *             process nor a connection per message
 *   CLOSING   running, takes no more jobs: its fd 0 is closed once what
 *             it has is written, and it ends with QUIT after the last
 *   KILLED    past its deadline: killed (its process group), not reaped
 *   EXITED    reaped: every recipient still without its line is
 *             temporary
 *
 *   start                STARTING -> BUSY, or CLOSING if it takes no more
 *   add                  IDLE -> BUSY; BUSY/IDLE -> CLOSING at its max
 *   the last line in     BUSY -> IDLE
 *   close                BUSY/IDLE -> CLOSING (idle deadline, stop, reload)
 *   a failed write, its report at end of file   BUSY/IDLE -> CLOSING
 *   the deadline         BUSY/CLOSING -> KILLED
 *   reaped               any running state -> EXITED
 *
 * Deadlines: timeout delivery counts per job, so the deadline moves on
 * with each read of its report, and starts again when an idle stream
 * gets a job and when a stream is closed (what it still has to do, and
 * its QUIT). Results are taken as they come (rstream_next), so that a
 * message's results are made durable as soon as they are known
 * (spool-layout/SPOOL, the duplicate window). Garbled lines, lines for
 * no job and second lines for a recipient are ignored.
 */

#define RSTREAM_LINGER 2         /* seconds an idle stream keeps its connection for more of its domain's mail */
#define RSTREAM_REPORT_MAX 65536 /* octets of report kept per job */

typedef enum rstream_state_e rstream_state ;
enum rstream_state_e
{
  RSTREAM_STARTING,
  RSTREAM_BUSY,
  RSTREAM_IDLE,
  RSTREAM_CLOSING,
  RSTREAM_KILLED,
  RSTREAM_EXITED
} ;

typedef struct rstream_job_s rstream_job ;
struct rstream_job_s
{
  void *owner ;          /* the caller's message: not to be touched once done, it may be gone */
  genalloc rcpts ;       /* unsigned int: the caller's indices of its recipients, in the job's order */
  stralloc seen ;        /* one octet per recipient: 1 once its line is in */
  size_t left ;          /* recipients without their line */
  int done ;             /* every recipient has its result */
} ;

typedef struct rstream_s rstream ;
struct rstream_s
{
  rstream_state state ;
  char domain[ADDRESS_DOMAIN_MAX + 1] ;
  size_t max ;           /* jobs it takes in all (messages-per-connection) */
  pid_t pid ;
  int fd ;               /* its report (its fd 1); -1 at end of file */
  int wfd ;              /* its fd 0; -1 once closed */
  stralloc in ;          /* jobs not written yet, from inpos */
  size_t inpos ;
  stralloc out ;         /* its report; whole lines are taken from outpos */
  size_t outpos ;
  genalloc jobs ;        /* rstream_job */
  tain deadline ;
  tain idle ;            /* IDLE: closed then */
  char const *why ;      /* EXITED: the text of a recipient without its line */
} ;

/* one recipient's result (rstream_next) */
typedef struct rstream_result_s rstream_result ;
struct rstream_result_s
{
  rstream_job *job ;
  unsigned int rcpt ;       /* the caller's index */
  enum ketch_result kind ;
  char const *text ;        /* valid until the next call */
  size_t len ;
  int last ;                /* the job's last: it is done */
} ;

#define rstream_njobs(s) genalloc_len(rstream_job, &(s)->jobs)
#define rstream_job_at(s, k) (genalloc_s(rstream_job, &(s)->jobs) + (k))

/* a STARTING stream for domain, taking at most max jobs; 0 and errno (EINVAL: domain too long) */
extern rstream *rstream_new (char const *, size_t) ;
extern void rstream_free (rstream *) ;

/*
 * A job: the owner, its n recipients (the caller's indices) and the job
 * as lib/report writes it (report_job_put), queued for the stream's fd 0
 * and written at once if it runs. now and the timeout: an idle stream's
 * deadline starts again. 1, or 0 (no memory: nothing changed).
 */
extern int rstream_add (rstream *, void *, unsigned int const *, size_t, char const *, size_t, tain const *, unsigned int) ;

/* it runs: pid, its report's fd (non-blocking), its fd 0's (non-blocking); more: it may take more jobs than it has */
extern void rstream_start (rstream *, pid_t, int, int, int, tain const *, unsigned int) ;

/* BUSY or IDLE: it takes more jobs */
extern int rstream_open (rstream const *) ;

/* jobs wait for its fd 0 to drain */
extern int rstream_wants_write (rstream const *) ;

/* writes what its fd 0 takes now */
extern void rstream_write (rstream *) ;

/* one read of its report; the deadline moves on */
extern void rstream_read (rstream *, tain const *, unsigned int) ;

/* no more jobs: its deadline is now plus the timeout */
extern void rstream_close (rstream *, tain const *, unsigned int) ;

/* its deadlines at now: an idle stream is closed (at once when stopping), a late one killed (every one if all) */
extern void rstream_check (rstream *, tain const *, int, int, unsigned int) ;

/* *deadline lowered to this stream's next deadline */
extern void rstream_deadline (rstream const *, tain *) ;

/* reaped with this wait status: the rest of its report is read */
extern void rstream_reaped (rstream *, int) ;

/*
 * The next result in the report's whole lines, and once EXITED each
 * recipient without its line, as temporary. 1, or 0 when there is none
 * (yet).
 */
extern int rstream_next (rstream *, tain const *, rstream_result *) ;

/*
 * Of n streams: the one for domain that can take one more job now, an
 * idle one first, a busy one (the fewest jobs) only if busy_ok; or 0.
 * rstream_count: how many are for domain.
 */
extern rstream *rstream_find (rstream *const *, size_t, char const *, int) ;
extern unsigned int rstream_count (rstream *const *, size_t, char const *) ;

/* the stream whose remote-send is child pid, taken out of a list of rstream * (the last takes its place); 0 if none */
extern rstream *rstream_take (genalloc *, pid_t) ;

#endif
