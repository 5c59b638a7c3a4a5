/* ISC license: see LICENSE. */

#ifndef KETCH_EXITCODES_H
#define KETCH_EXITCODES_H

/*
 * The exit codes every ketch program uses, as qmail and skarnet do.
 * The same table is in every man page (EXIT STATUS).
 */
#define KETCH_EX_OK 0       /* success */
#define KETCH_EX_PERM 100   /* permanent: bad usage, bad input, bad configuration */
#define KETCH_EX_BUG 101    /* internal inconsistency */
#define KETCH_EX_TEMP 111   /* temporary: try again later */

/*
 * The result of one delivery attempt to one recipient, as the scheduler
 * records it (lib/outcome), delivery agents report it (lib/report,
 * lib/lspawn) and remote-send keeps it. One vocabulary for all of them:
 * the values are also the order of severity.
 */
enum ketch_result { KETCH_RESULT_OK = 0, KETCH_RESULT_TEMP = 1, KETCH_RESULT_PERM = 2 } ;

#endif
