/* ISC license: see LICENSE. */

#ifndef KETCH_REPORT_H
#define KETCH_REPORT_H

#include "exitcodes.h"

#include <stddef.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * What a delivery program tells the scheduler.
 *
 * remote-send (remote-send(8)) writes one line per recipient on fd 1:
 *   JOB ok|temp|perm INDEX TEXT\n
 * JOB the 0-based position of the job (below) in its input, INDEX the
 * 0-based position among the job's recipients, TEXT the remote reply
 * with every octet < 32 or 127 turned into a space. A recipient with no
 * line, a garbled line, a crash or a nonzero exit is temporary: the
 * scheduler decides that, not this module.
 *
 * local-deliver reports by its exit code (lib/exitcodes.h); the text kept
 * for the recipient is its last stderr line, without the
 * "local-deliver: fatal: " or "local-deliver: info: " prefix.
 */

/*
 * remote-send's input (remote-send -b domain, its only form): the
 * scheduler writes jobs on its fd 0, each a netstring ("LEN:payload,")
 * whose payload is NUL-terminated fields:
 *   queue-id  header-length  flags  sender  recipient...
 * flags "-", "8", "u" or "8u": an 8-bit body (BODY=8BITMIME), an
 * envelope that needs SMTPUTF8.
 */

#define REPORT_JOB_MAX (1024 * 1024)   /* payload octets of one job */


extern char const *report_kind_name (unsigned int) ;  /* "ok", "temp", "perm" */

/* appends one job: the netstring. 1, or 0 and errno (EINVAL: too long, or a field holds a NUL) */
extern int report_job_put (stralloc *, char const *, size_t, char const *, char const *, char const *const *, unsigned int) ;

/*
 * The first job in a buffer: 1 with the payload at s + *start for *len
 * octets and *used octets consumed; 0: incomplete; -1: garbled (not a
 * netstring, or longer than REPORT_JOB_MAX).
 */
extern int report_job_next (char const *, size_t, size_t *, size_t *, size_t *) ;

/* a payload's fields, appended to the genalloc (char const *, pointing inside it): their count, 0 if garbled or no memory */
extern unsigned int report_job_fields (char const *, size_t, genalloc *) ;

/* appends one report line (job, KETCH_RESULT_*, index, text), text sanitized, "\n" included. 1, or 0 and errno */
extern int report_put_job (stralloc *, unsigned int, unsigned int, unsigned int, char const *, size_t) ;

/* one report line, without its "\n": KETCH_RESULT_* and *job, *index, *text (inside the line), or -1 if garbled */
extern int report_parse_job (char const *, unsigned int *, unsigned int *, char const **) ;

/* local-deliver's stderr: its last non-empty line, without the program's prefix; the length (0: none) */
extern size_t report_local_text (char const *, size_t, char const **) ;

#endif
