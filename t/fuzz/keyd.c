/* ISC license: see LICENSE. */
/* libFuzzer: smtp-keyd's request parser, which reads what any session sends. */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "keyd.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  char again[KEYD_REQ_MAX] ;
  keyd_req r ;
  size_t n = 0 ;
  if (!keyd_req_parse(s, size, &r)) return 0 ;
  /* a request that parses was within smtp-keyd's bound, and formats back to itself */
  if (size > KEYD_REQ_MAX) abort() ;
  switch (r.type)
  {
    case KEYD_KEY : if (size != 1) abort() ; return 0 ;
    case KEYD_SIGN :
      if (r.hash_id < 2 || r.hash_id > 6 || r.len != keyd_hash_len(r.hash_id) || r.data != s + 2) abort() ;
      n = keyd_sign_fmt(again, r.hash_id, r.data, r.len) ;
      break ;
    case KEYD_AUTH :
      if (!r.len || r.len > KEYD_USER_MAX || r.passlen > KEYD_PASS_MAX || r.data != s + 2 || r.pass != r.data + r.len) abort() ;
      if (memchr(r.pass, 0, r.passlen)) abort() ;
      n = keyd_auth_fmt(again, r.data, r.len, r.pass, r.passlen) ;
      break ;
    /* a session exactly: an ID of 32 octets, and for a save its 52 of parameters */
    case KEYD_SAVE :
      if (r.len != KEYD_SESSION_ID || r.data != s + 1 || r.pass != r.data + r.len || r.passlen != KEYD_SESSION_PARAMS) abort() ;
      n = keyd_save_fmt(again, r.data, r.pass) ;
      break ;
    case KEYD_LOAD :
      if (r.len != KEYD_SESSION_ID || r.data != s + 1) abort() ;
      n = keyd_load_fmt(again, r.data) ;
      break ;
    default : abort() ;
  }
  if (n != size || memcmp(again, s, size)) abort() ;
  return 0 ;
}
