/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/queue's id checks: queue_id_valid on any
 * octets, and on a valid id the time and bucket it names, which stay in
 * range. A fresh id is always valid.
 * Run with `make fuzz` (t/fuzz/README).
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "queue.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  char id[QUEUE_ID_LEN + 1] ;
  char b[3] ;
  char path[QUEUE_PATH_MAX] ;
  size_t i ;
  for (i = 0 ; i <= size ; i++)
  {
    if (!queue_id_valid(s + i, size - i)) continue ;
    if (size - i != QUEUE_ID_LEN) abort() ;
    /* ten hex digits: below 2^40 */
    if (queue_id_time(s + i) >> 40) abort() ;
    queue_bucket(b, s + i) ;
    if (strlen(b) != 2) abort() ;
    queue_path(path, "queue", s + i) ;
    if (strlen(path) != 9 + QUEUE_ID_LEN || memcmp(path + 9, s + i, QUEUE_ID_LEN)) abort() ;
  }
  queue_id_make(id) ;
  if (!queue_id_valid(id, strlen(id))) abort() ;
  return 0 ;
}
