/* ISC license: see LICENSE. */
/*
 * libFuzzer: the two end-of-DATA scanners agree. The session decodes the
 * wire with smtp_data_feed (lib/smtp.c) into a dot-terminated LF stream,
 * and enqueue -S reads that stream with message_feed(MESSAGE_DOTS)
 * (lib/message.c), which also reads CRLF line ends. The same wire bytes go
 * (1) through the session's decoder, (2) straight into enqueue's, and (3)
 * through both, as a message goes from smtp-session to enqueue. Required:
 *
 *  - the pipeline is lossless: whatever the session accepts, enqueue
 *    accepts whole (all of the stream, its end at the stream's end, no
 *    error) under the same size limit, and stores it as (2) stores the
 *    wire, which is the wire with CRLF made LF, each line's leading dot
 *    removed and the final "." line dropped (RFC 5321 §4.5.2);
 *  - (1) and (2) find the end of the data at the same octet, accept the
 *    same inputs, and refuse the others for the same reason: a NUL, a bare
 *    CR, a line over 998 octets, more than the size limit. Both count
 *    lines and size as stored: a leading (stuffing) dot is in neither
 *    count (RFC 5321 §4.5.3.1.6), the end marker not in the size (RFC
 *    1870 §4). Until lib/smtp.c did so too, the session refused a line of
 *    999 octets that started with a dot, and a message within the limit by
 *    fewer octets than it had dot lines plus two.
 *
 * Where they legitimately differ, the harness asserts only what must hold:
 *
 *  - a bare LF: RFC 5321 §2.3.8 makes it an error on the wire, so the
 *    session refuses the message but reads on to the real CRLF.CRLF; enqueue
 *    takes LF as a line end (its own input, sendmail's, has LF ends). Inputs
 *    with a bare LF before the end are compared through the pipeline only
 *    (the session refuses them: nothing reaches enqueue);
 *  - the session reads on to the end after an error, so that it stays in
 *    step with the client; enqueue stops at the first error. On a refused
 *    input the session's reasons are a set and enqueue's is the first one:
 *    enqueue's must be in the set.
 */

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>

#include "smtp.h"
#include "message.h"

static stralloc stream = STRALLOC_ZERO ;

/* the same octets (an empty stralloc has no buffer to compare) */
static int same (stralloc const *a, stralloc const *b)
{
  return a->len == b->len && (!a->len || !memcmp(a->s, b->s, a->len)) ;
}

static void put (void *ctx, char const *s, size_t n)
{
  (void)ctx ;
  if (!stralloc_catb(&stream, s, n)) abort() ;
}

/* the session's decoder, in two pieces split at split */
static size_t session (char const *s, size_t len, size_t split, uint64_t max, smtp_data *d)
{
  size_t used ;
  stream.len = 0 ;
  d->max = max ;
  used = smtp_data_feed(d, s, split, &put, 0) ;
  if (used > split) abort() ;
  if (!d->done) used += smtp_data_feed(d, s + split, len - split, &put, 0) ;
  if (used > len || (!d->done && used != len)) abort() ;
  return used ;
}

/* enqueue's reader, in two pieces split at split: the octets it consumed */
static size_t enqueue (char const *s, size_t len, size_t split, uint64_t max, message *m, stralloc *out)
{
  size_t used ;
  m->options = MESSAGE_DOTS ;
  m->max = max ;
  out->len = 0 ;
  used = message_feed(m, s, split, out) ;
  if (used == (size_t)-1) abort() ;
  if (used == split && !m->err && !m->done)
  {
    size_t more = message_feed(m, s + split, len - split, out) ;
    if (more == (size_t)-1) abort() ;
    used += more ;
  }
  if (used > len) abort() ;
  /* it stops early only at the end or at an error */
  if (used < len && !m->err && !m->done) abort() ;
  return used ;
}

/* the stored form as RFC 5321 §4.5.2 defines it, from an accepted wire
   message of len octets that ends with its "." CRLF line */
static void reference (char const *s, size_t len, stralloc *out)
{
  size_t i = 0 ;
  int bol = 1 ;
  out->len = 0 ;
  for (; i + 3 < len ; i++)
  {
    if (bol && s[i] == '.') { bol = 0 ; continue ; }
    bol = 0 ;
    if (s[i] == '\r') continue ;
    if (!stralloc_catb(out, s + i, 1)) abort() ;
    if (s[i] == '\n') bol = 1 ;
  }
}

/* a bare LF in s[0..len): an LF not after a CR */
static int bare_lf (char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++) if (s[i] == '\n' && (!i || s[i-1] != '\r')) return 1 ;
  return 0 ;
}

static unsigned int session_reason (int err)
{
  switch (err)
  {
    case MESSAGE_ENUL : return SMTP_DATA_NUL ;
    case MESSAGE_EBARECR : return SMTP_DATA_BARE ;
    case MESSAGE_ELINE : return SMTP_DATA_LONG ;
    case MESSAGE_ESIZE : return SMTP_DATA_SIZE ;
    default : abort() ;
  }
}

/* under the size limit max, the session and enqueue give one answer: a
   message of stored octets is accepted iff stored <= max */
static void sizes (char const *s, size_t len, size_t split, size_t stored, uint64_t max)
{
  smtp_data d = SMTP_DATA_ZERO ;
  message m = MESSAGE_ZERO ;
  stralloc out = STRALLOC_ZERO ;
  size_t u, c ;
  if (!max) return ;
  u = session(s, len, split, max, &d) ;
  if (!d.done) abort() ;
  if (d.bad & ~(unsigned int)SMTP_DATA_SIZE) abort() ;
  if (!d.bad != (stored <= max)) abort() ;
  c = enqueue(s, len, split, max, &m, &out) ;
  if (!d.bad) { if (m.err || !m.done || c != u) abort() ; }
  else if (m.err != MESSAGE_ESIZE) abort() ;
  stralloc_free(&out) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;
int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *s ;
  size_t len, split, u, c ;
  uint64_t max ;
  smtp_data d = SMTP_DATA_ZERO ;
  message m = MESSAGE_ZERO ;
  stralloc direct = STRALLOC_ZERO ;
  stralloc ref = STRALLOC_ZERO ;
  if (size < 3) return 0 ;
  /* two octets choose a size limit near the message's size, one the split */
  max = ((unsigned int)data[0] << 8 | data[1]) % 4096 ;
  split = data[2] ;
  s = (char const *)data + 3 ;
  len = size - 3 ;
  if (split > len) split = len ;

  /* (1) the session, without a limit */
  u = session(s, len, split, 0, &d) ;

  /* (3) what the session accepts, enqueue accepts whole and stores as (2) */
  if (d.done && !d.bad)
  {
    message p = MESSAGE_ZERO ;
    stralloc piped = STRALLOC_ZERO ;
    stralloc st = STRALLOC_ZERO ;
    if (!stralloc_copyb(&st, stream.s, stream.len)) abort() ;
    if (enqueue(st.s, st.len, st.len / 2, 0, &p, &piped) != st.len || p.err || !p.done) abort() ;
    reference(s, u, &ref) ;
    if (!same(&piped, &ref)) abort() ;
    /* the size the session counts (and logs) is the size stored */
    if (d.size != piped.len) abort() ;
    sizes(s, len, split, piped.len, max) ;
    stralloc_free(&piped) ;
    stralloc_free(&st) ;
  }

  /* (2) enqueue on the wire, compared with (1) where no bare LF comes first */
  c = enqueue(s, len, split, 0, &m, &direct) ;
  if (!bare_lf(s, d.done ? u : len))
  {
    if (d.done && !d.bad)
    {
      /* the same end, the same stored octets */
      if (m.err || !m.done || c != u) abort() ;
      if (!same(&direct, &ref)) abort() ;
    }
    else if (m.err)
    {
      /* enqueue's first reason is one of the session's */
      if (!(session_reason(m.err) & d.bad)) abort() ;
    }
    else
    {
      /* enqueue refused nothing: then the session did not either, and
         neither found the end, or both found it (first branch) */
      if (m.done || d.done || d.bad || c != len) abort() ;
    }
  }
  stralloc_free(&direct) ;
  stralloc_free(&ref) ;
  return 0 ;
}
