/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/enqclient's readers: what enqueue-listen (or
 * enqueue -S) answers, given through a pipe: the id line, then the status;
 * and enqclient_stuff, whose stream ends at its last line only and gives
 * the message back (a last line given its LF) once the dots are undone.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <skalibs/stralloc.h>

#include "queue.h"
#include "enqclient.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  stralloc diag = STRALLOC_ZERO ;
  char id[QUEUE_ID_LEN + 1] ;
  int p[2], status = 0, r ;
  /* at most 4 KiB: within a pipe's buffer, written before it is read */
  if (pipe(p) < 0) abort() ;
  if (size && write(p[1], data, size) != (ssize_t)size) abort() ;
  close(p[1]) ;
  if (enqclient_id(p[0], id, 0, &status, &diag))
  {
    if (strlen(id) != QUEUE_ID_LEN || !queue_id_valid(id, QUEUE_ID_LEN)) abort() ;
    r = enqclient_status(p[0], &diag) ;
  }
  else
  {
    if (status < -1 || status > 255) abort() ;
    r = 0 ;
    close(p[0]) ;
  }
  if (r < 0 || r > 255) abort() ;
  {
    stralloc w = STRALLOC_ZERO, back = STRALLOC_ZERO ;
    size_t pos = 0 ;
    if (!enqclient_stuff(&w, (char const *)data, size) || w.len < 2 || memcmp(w.s + w.len - 2, ".\n", 2)) abort() ;
    for (;;)
    {
      char const *nl = memchr(w.s + pos, '\n', w.len - pos) ;
      size_t n ;
      if (!nl) abort() ;
      n = (size_t)(nl - (w.s + pos)) ;
      if (n == 1 && w.s[pos] == '.') break ;
      if (w.s[pos] == '.') { pos++ ; n-- ; }
      if (!stralloc_catb(&back, w.s + pos, n + 1)) abort() ;
      pos += n + 1 ;
    }
    /* the lone dot is the last line */
    if (pos + 2 != w.len) abort() ;
    if (back.len != size + (size && data[size - 1] != '\n') || (size && memcmp(back.s, data, size))) abort() ;
    stralloc_free(&w) ; stralloc_free(&back) ;
  }
  stralloc_free(&diag) ;
  return 0 ;
}
