/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/enqclient's readers: what enqueue-listen (or
 * enqueue -S) answers, given through a pipe: the id line, then the status.
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
  stralloc_free(&diag) ;
  return 0 ;
}
