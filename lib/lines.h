/* ISC license: see LICENSE. */

#ifndef KETCH_LINES_H
#define KETCH_LINES_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * Lines read from a pipe (the scheduler's trigger FIFO, local-spawn's
 * reports): a read ends anywhere, so the octets gather in a buffer and
 * a line is handled only once its "\n" has come.
 */

/*
 * Each whole line in sa goes to f with its length, NUL-terminated in
 * place (its "\n" overwritten); what follows the last "\n" stays, moved
 * to the start of sa.
 */
extern void lines_take (stralloc *, void (*)(char *, size_t)) ;

/*
 * Reads non-blocking fd until it has nothing more (or fails, or memory
 * runs out), handing each whole line to f as lines_take does. A partial
 * line longer than max is garbage: dropped, so the next "\n"
 * resynchronises. A read shorter than asked took all there was: no
 * read follows it to hear EAGAIN (one system call per wake-up less),
 * so fd must be in a level-triggered poll set, which wakes again for
 * what comes after.
 */
extern void lines_read (int, stralloc *, size_t, void (*)(char *, size_t)) ;

#endif
