/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/unixmessage.h>

#include "exitcodes.h"
#include "lspawn.h"
#include "netstr.h"
#include "text.h"

int lspawn_request (stralloc *sa, unsigned int tag, char const *id, unsigned int timeout, char const *sender, char const *rcpt, char const *orig)
{
  char t[UINT_FMT], d[UINT_FMT] ;
  size_t len = sa->len ;
  t[uint_fmt(t, tag)] = 0 ;
  d[uint_fmt(d, timeout)] = 0 ;
  if (netstr_field(sa, t) && netstr_field(sa, id) && netstr_field(sa, d)
   && netstr_field(sa, sender) && netstr_field(sa, rcpt) && netstr_field(sa, orig ? orig : "")) return 1 ;
  sa->len = len ;
  return 0 ;
}

int lspawn_request_next (char const *s, size_t n, size_t *start, size_t *len, size_t *used)
{
  return netstr_next(s, n, LSPAWN_REQ_MAX, start, len, used) ;
}

unsigned int lspawn_fields (char const *s, size_t len, char const **f, unsigned int max)
{
  return netstr_fields(s, len, f, max) ;
}

int lspawn_report (stralloc *sa, char const *tag, char const *code, char const *text, size_t len)
{
  return stralloc_cats(sa, tag) && stralloc_catb(sa, " ", 1) && stralloc_cats(sa, code) && stralloc_catb(sa, " ", 1)
   && text_printable_cat(sa, text, len) && stralloc_catb(sa, "\n", 1) ;
}

int lspawn_report_parse (char const *line, unsigned int *tag, unsigned int *code, char const **text)
{
  size_t k = uint_scan(line, tag) ;
  *code = KETCH_EX_TEMP ;
  *text = "" ;
  if (!k || line[k] != ' ') return 0 ;
  if (line[k+1] == 't') { if (line[k+2] == ' ') *text = line + k + 3 ; }
  else
  {
    size_t m = uint_scan(line + k + 1, code) ;
    /* a garbled code (junk after it, or beyond 255) is temporary, never a delivery */
    if (!m || *code > 255 || (line[k+1+m] && line[k+1+m] != ' ')) *code = KETCH_EX_TEMP ;
    else if (line[k+1+m] == ' ') *text = line + k + 2 + m ;
  }
  return 1 ;
}

int lspawn_send (unixmessage_sender *s, char const *payload, size_t len, int *fds, unsigned int nfds)
{
  unixmessage m = { .s = (char *)payload, .len = len, .fds = fds, .nfds = nfds } ;
  int ok ;
  if (!unixmessage_put(s, &m)) return 0 ;
  /* a blocking socket: flush returns once all is sent, or on an error */
  while (!(ok = unixmessage_sender_flush(s)) && errno == EINTR) ;
  if (!ok)
  {
    int e = errno ;
    unixmessage_unput(s) ;
    errno = e ;
  }
  return ok ;
}
