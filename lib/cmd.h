/* ISC license: see LICENSE. */

#ifndef KETCH_CMD_H
#define KETCH_CMD_H

#include <sys/types.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * A helper program the scheduler runs from its event loop (local-deliver,
 * remote-send): its argv, built as NUL-terminated strings in one
 * stralloc, and the child, started with the message on its fd 0 and a
 * pipe back on its fd 1 or 2.
 */

/* s appended to sa, with its NUL: 1, or 0 and errno */
extern int cmd_add (stralloc *, char const *) ;

/* the strings of sa as an argv in ga, null-terminated: 1 with *argv set, or 0 and errno */
extern int cmd_argv (stralloc const *, genalloc *, char const *const **) ;

/*
 * Forks and execs argv (a path) as ourselves, in a process group of its
 * own (a timeout kills what it started too), its signals as they were
 * before selfpipe_init (selfpipe_finish): fd0 becomes its fd 0; outfd 1,
 * its fd 1 is the pipe; outfd 2, its fd 2 is the pipe and its fd 1
 * /dev/null. The read end, non-blocking and close-on-exec, in *rfd. The
 * child exits 111 when it cannot exec. The pid, or 0 and errno.
 */
extern pid_t cmd_spawn (char const *const *, int, int, int *) ;

#endif
