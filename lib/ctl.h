/* ISC license: see LICENSE. */

#ifndef KETCH_CTL_H
#define KETCH_CTL_H

#include <skalibs/stralloc.h>

/*
 * The requests queue-ctl drops into ctl/ and the scheduler carries out:
 * one line in one file (queue-ctl(8), scheduler(8)),
 *
 *   retry all | retry domain DOMAIN | remove sender ADDRESS
 *   retry ID | hold ID | release ID | remove ID
 *
 * ADDRESS canonical, "<>" for the null sender. queue-ctl writes them with
 * ctl_format and the scheduler reads them with ctl_parse, so the two
 * cannot disagree on the grammar.
 */

enum ctl_op_e
{
  CTL_RETRY_ALL,
  CTL_RETRY_DOMAIN,
  CTL_REMOVE_SENDER,
  CTL_RETRY,
  CTL_HOLD,
  CTL_RELEASE,
  CTL_REMOVE,
  CTL_NOP           /* not an operation: the number of them */
} ;

/*
 * The operation queue-ctl's arguments ask for: verb ("retry", "hold",
 * "release", "remove") and its first argument ("all", "domain",
 * "sender", or an id). CTL_NOP for an unknown verb.
 */
extern unsigned int ctl_op (char const *, char const *) ;

/* the request line, "\n" included, appended to sa (arg unused for CTL_RETRY_ALL). 1, or 0 and errno */
extern int ctl_format (stralloc *, unsigned int, char const *) ;

/*
 * A request as read: trailing blanks and line ends are cut off (in
 * place), then the operation is returned (CTL_NOP if none), *arg set to
 * its argument inside the line.
 */
extern unsigned int ctl_parse (char *, char const **) ;

/*
 * The requests waiting in ctl/ (the spool is the current directory):
 * each file is read, handed to f, then unlinked, in directory order.
 * Dot files and NAME.tmp (queue-ctl has not renamed it in yet) are left
 * alone. f gets the request (NUL-terminated, writable, for ctl_parse),
 * the file's name and 0; or 0, the name and why it could not be read
 * ("too long" past CTL_LINE_MAX octets).
 */
#define CTL_LINE_MAX 1024
typedef void ctl_func (char *, char const *, char const *, void *) ;
extern void ctl_read (ctl_func *, void *) ;

/*
 * Whether the queue entry id (queue/, the spool the current directory)
 * is from sender who (a remove sender argument: "<>" the null sender),
 * any case. 0 also when it cannot be read: buf is the caller's scratch.
 */
extern int ctl_sender_is (char const *, char const *, stralloc *) ;

#endif
