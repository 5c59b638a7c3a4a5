/* ISC license: see LICENSE. */

#ifndef KETCH_LDLV_H
#define KETCH_LDLV_H

#include <stddef.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "job.h"

/*
 * A local delivery as the scheduler keeps it while it runs: one
 * recipient of one job, run by local-deliver as a child of the
 * scheduler (pid, its stderr on fd), or by local-spawn (tag, pid 0,
 * its report line in out). The result is the exit code's (lib/outcome);
 * the text is the last line local-deliver wrote on its stderr, or what
 * the end says (timed out, crashed, delivered, failed).
 */

#define LDLV_OUT_MAX 65536   /* octets kept of local-deliver's stderr */

typedef struct ldlv_s ldlv ;
struct ldlv_s
{
  job *j ;               /* not to be touched once done: the job may be gone */
  unsigned int rcpt ;
  pid_t pid ;
  unsigned int tag ;
  int fd ;               /* local-deliver's stderr, or -1 */
  stralloc out ;
  tain deadline ;
  int killed ;           /* past its deadline, killed: temporary */
} ;

/* a delivery of recipient i of j, not started yet: 0 if no memory */
extern ldlv *ldlv_new (job *, unsigned int) ;
extern void ldlv_free (ldlv *) ;

/* one read of its stderr, kept up to LDLV_OUT_MAX: 1 if it gave something; at its end or on an error, fd is closed */
extern int ldlv_read (ldlv *) ;

/*
 * The delivery is over with wait status wstat (local-spawn's: its code
 * << 8): what is left on its stderr is read, then the result kind and
 * its text (*text for *len octets, in out or a literal).
 */
extern enum ketch_result ldlv_result (ldlv *, int, char const **, size_t *) ;

/* element i of a list of ldlv * taken out (the last takes its place) */
extern ldlv *ldlv_take (genalloc *, size_t) ;

/*
 * The delivery run by child pid, or for pid 0 the one local-spawn runs
 * with tag, taken out of a list of ldlv * (as ldlv_take); 0 if none.
 */
extern ldlv *ldlv_find (genalloc *, pid_t, unsigned int) ;

#endif
