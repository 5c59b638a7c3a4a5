/* ISC license: see LICENSE. */

#ifndef KETCH_REPORT_H
#define KETCH_REPORT_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * What a delivery program tells the scheduler.
 *
 * remote-send (remote-send(8)) writes one line per recipient on fd 1:
 *   ok|temp|perm INDEX TEXT\n
 * INDEX the 0-based position among its recipients, TEXT the remote reply
 * with every octet < 32 or 127 turned into a space. A recipient with no
 * line, a garbled line, a crash or a nonzero exit is temporary: the
 * scheduler decides that, not this module.
 *
 * local-deliver reports by its exit code (lib/exitcodes.h); the text kept
 * for the recipient is its last stderr line, without the
 * "local-deliver: fatal: " or "local-deliver: info: " prefix.
 */

#define REPORT_OK 0
#define REPORT_TEMP 1
#define REPORT_PERM 2

extern char const *report_kind_name (unsigned int) ;  /* "ok", "temp", "perm" */

/* appends one remote-send line, text sanitized, "\n" included. 1, or 0 and errno */
extern int report_put (stralloc *, unsigned int, unsigned int, char const *, size_t) ;

/* one line, without its "\n": REPORT_* and *index, *text (inside the line), or -1 if garbled */
extern int report_parse (char const *, unsigned int *, char const **) ;

/* local-deliver's stderr: its last non-empty line, without the program's prefix; the length (0: none) */
extern size_t report_local_text (char const *, size_t, char const **) ;

#endif
