/* ISC license: see LICENSE. */
/* libFuzzer: the SMTP command and DATA parsers are total and bounded, and
   nothing but CRLF.CRLF ever ends DATA. */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include "smtp.h"

static char out[1 << 16] ;
static size_t outlen ;

static void put (void *ctx, char const *s, size_t n)
{
  (void)ctx ;
  if (outlen + n > sizeof(out)) abort() ;
  memcpy(out + outlen, s, n) ;
  outlen += n ;
}

static void check_data (char const *s, size_t len, size_t split)
{
  smtp_data d = SMTP_DATA_ZERO ;
  size_t used ;
  outlen = 0 ;
  used = smtp_data_feed(&d, s, split, &put, 0) ;
  if (used > split) abort() ;
  if (!d.done) used += smtp_data_feed(&d, s + split, len - split, &put, 0) ;
  if (used > len) abort() ;
  if (memchr(out, '\r', outlen)) abort() ;
  if (d.done)
  {
    /* the input really ends with CRLF "." CRLF (or starts with "." CRLF) */
    if (!(used == 3 ? !memcmp(s, ".\r\n", 3) : used > 4 && !memcmp(s + used - 5, "\r\n.\r\n", 5))) abort() ;
    if (!d.bad)
    {
      size_t i = 0 ;
      /* the stream ends with ".\n" and holds no other "." line */
      if (outlen < 2 || memcmp(out + outlen - 2, ".\n", 2)) abort() ;
      if (outlen > 2 && out[outlen - 3] != '\n') abort() ;
      for (; i + 2 < outlen ; i++)
        if ((i == 0 || out[i-1] == '\n') && out[i] == '.' && out[i+1] == '\n') abort() ;
      if (memchr(out, 0, outlen)) abort() ;
    }
  }
  else if (used != len) abort() ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s = (char const *)data ;
  size_t a, pl, pp ;
  smtp_mailparams mp = SMTP_MAILPARAMS_ZERO ;
  smtp_line_check(s, size) ;
  if (smtp_verb(s, size, &a) < 0 || a > size) abort() ;
  if (smtp_path_split(s, size, &pl, &pp) && (pl > size || pp > size || pl > pp)) abort() ;
  smtp_mail_params(s, size, &mp) ;
  smtp_rcpt_params(s, size) ;
  if (size < sizeof(out) / 2) check_data(s, size, size ? data[0] % (size + 1) : 0) ;
  return 0 ;
}
