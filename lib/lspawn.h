/* ISC license: see LICENSE. */

#ifndef KETCH_LSPAWN_H
#define KETCH_LSPAWN_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * The pipe protocol between the scheduler and its root helper
 * local-spawn (local-spawn(8)); both ends use this module.
 *
 * A request is a netstring ("LEN:payload,") whose payload is
 * NUL-terminated fields:
 *   tag  runas  queue-id  header-length  timeout  arg...
 * A report is one line per request:
 *   TAG CODE TEXT\n   local-deliver exited with CODE, TEXT its last word
 *   TAG t TEXT\n      temporary failure before or around local-deliver
 * TEXT with every octet < 32 or 127 replaced by a space.
 */

#define LSPAWN_REQ_MAX 65536   /* payload octets */
/*
 * A request whose runas is LSPAWN_RELOAD (tag 0, id "-", no argument)
 * is the scheduler's SIGHUP passed on: local-spawn reads its own
 * configuration file again. It has no report.
 */
#define LSPAWN_RELOAD "reload"
#define LSPAWN_FIELDS_MAX 64

/* appends one request. 1, or 0 and errno */
extern int lspawn_request (stralloc *, unsigned int, char const *, char const *, size_t, unsigned int, char const *const *) ;

/*
 * The first request in a buffer: 1 with the payload at s + *start for
 * *len octets and *used octets consumed; 0: incomplete, read more; -1:
 * garbled (not a netstring, or longer than LSPAWN_REQ_MAX).
 */
extern int lspawn_request_next (char const *, size_t, size_t *, size_t *, size_t *) ;

/* a payload's fields (at most max, each NUL-terminated inside it): their count */
extern unsigned int lspawn_fields (char const *, size_t, char const **, unsigned int) ;

/* appends one report line; code "t" for a temporary failure. 1, or 0 and errno */
extern int lspawn_report (stralloc *, char const *, char const *, char const *, size_t) ;

/*
 * A report line (without "\n"): 1 with *tag, *code (an exit code; "t"
 * or a bad code is KETCH_EX_TEMP) and *text; 0 if there is no tag.
 */
extern int lspawn_report_parse (char const *, unsigned int *, unsigned int *, char const **) ;

#endif
