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
 * Runs argv (a path) as ourselves, in a process group of its own (a
 * timeout kills what it started too), with no signal blocked (the
 * scheduler's selfpipe blocks those it catches): fd0 becomes its fd 0;
 * outfd 1, its fd 1 is the pipe; outfd 2, its fd 2 is the pipe and its
 * fd 1 /dev/null. The read end, non-blocking and close-on-exec, in *rfd.
 * posix_spawn, not fork: the child shares our memory until its exec
 * instead of copying our page tables, and we take no copy-on-write
 * fault afterwards on each page we write (in W2 on the bench machine,
 * a PVM guest, the forks and their faults were a quarter of the
 * scheduler's CPU: t/bench/README.md).
 * The pid, or 0 and errno: a program that cannot be run (no such file,
 * not executable) is an error here, as a failed fork is, not a child
 * that exits.
 */
extern pid_t cmd_spawn (char const *const *, int, int, int *) ;

#endif
