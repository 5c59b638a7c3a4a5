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

#endif
