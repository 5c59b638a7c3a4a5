/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>

#include "envelope.h"

static int addstr (envelope *e, char const *s, size_t len, size_t *pos)
{
  *pos = e->sa.len ;
  return stralloc_catb(&e->sa, s, len) && stralloc_0(&e->sa) ;
}

/* sa starts with one NUL so that offset 0 can mean "absent" */
int envelope_init (envelope *e, char const *sender)
{
  e->sa.len = 0 ;
  genalloc_setlen(size_t, &e->rcpt, 0) ;
  e->flags = 0 ; e->auth = 0 ; e->reason = 0 ; e->hdrlen = 0 ;
  if (!stralloc_0(&e->sa)) return 0 ;
  return addstr(e, sender, strlen(sender), &e->sender) ;
}

int envelope_add_rcpt (envelope *e, char const *s)
{
  size_t pos ;
  if (!addstr(e, s, strlen(s), &pos)) return 0 ;
  return genalloc_append(size_t, &e->rcpt, &pos) ;
}

int envelope_set_auth (envelope *e, char const *s)
{
  return addstr(e, s, strlen(s), &e->auth) ;
}

int envelope_reason_valid (char const *s, size_t len)
{
  size_t i = 0 ;
  if (!len || len > ENVELOPE_REASON_MAX) return 0 ;
  for (; i < len ; i++) if ((unsigned char)s[i] < 32 || (unsigned char)s[i] > 126) return 0 ;
  return 1 ;
}

int envelope_set_hold (envelope *e, char const *reason)
{
  size_t len = reason ? strlen(reason) : 0 ;
  if (len && !envelope_reason_valid(reason, len)) return (errno = EINVAL, 0) ;
  if (len && !addstr(e, reason, len, &e->reason)) return 0 ;
  e->flags |= ENVELOPE_F_HOLD ;
  return 1 ;
}

static int validvalue (char const *s)
{
  for (; *s ; s++) if ((unsigned char)*s < 32 || *s == 127) return 0 ;
  return 1 ;
}

/* what the encoder writes, the decoder accepts, and nothing else: no control octet */
static int validline (char const *s, size_t n)
{
  size_t i = 0 ;
  for (; i < n ; i++) if ((unsigned char)s[i] < 32 || s[i] == 127) return 0 ;
  return 1 ;
}

int envelope_encode (envelope const *e, stralloc *out)
{
  size_t n = envelope_nrcpt(e), i = 0 ;
  if (!n || !validvalue(envelope_sender(e))) return (errno = EINVAL, 0) ;
  if (!stralloc_cats(out, "ketch 1\nfrom ")
   || !stralloc_cats(out, envelope_sender(e))
   || !stralloc_catb(out, "\n", 1)) return 0 ;
  for (; i < n ; i++)
  {
    if (!validvalue(envelope_rcpt(e, i))) return (errno = EINVAL, 0) ;
    if (!stralloc_cats(out, "to ") || !stralloc_cats(out, envelope_rcpt(e, i)) || !stralloc_catb(out, "\n", 1)) return 0 ;
  }
  if (e->auth)
  {
    if (!validvalue(envelope_auth(e))) return (errno = EINVAL, 0) ;
    if (!stralloc_cats(out, "auth ") || !stralloc_cats(out, envelope_auth(e)) || !stralloc_catb(out, "\n", 1)) return 0 ;
  }
  if (e->flags & ENVELOPE_F_SMTPUTF8 && !stralloc_cats(out, "smtputf8\n")) return 0 ;
  if (e->flags & ENVELOPE_F_HOLD)
  {
    char const *r = envelope_reason(e) ;
    if (r && !envelope_reason_valid(r, strlen(r))) return (errno = EINVAL, 0) ;
    if (!stralloc_cats(out, "hold") || (r && (!stralloc_catb(out, " ", 1) || !stralloc_cats(out, r))) || !stralloc_catb(out, "\n", 1)) return 0 ;
  }
  if (e->flags & ENVELOPE_F_SIGN && !stralloc_cats(out, "sign\n")) return 0 ;
  return stralloc_cats(out, e->flags & ENVELOPE_F_8BIT ? "body 8bit\n\n" : "body 7bit\n\n") ;
}

/*
 * Strict and total: any line that is not exactly one of the forms above,
 * a missing sender, no recipient, or no terminating empty line within
 * len bytes is EINVAL (EAGAIN when the head is merely incomplete).
 */
int envelope_decode (envelope *e, char const *s, size_t len)
{
  size_t pos = 0 ;
  int havefrom = 0, havebody = 0 ;
  e->sa.len = 0 ; genalloc_setlen(size_t, &e->rcpt, 0) ;
  e->flags = 0 ; e->auth = 0 ; e->reason = 0 ; e->hdrlen = 0 ; e->sender = 0 ;
  if (!stralloc_0(&e->sa)) return 0 ;
  for (;;)
  {
    char const *line = s + pos ;
    char const *nl = memchr(line, '\n', len - pos) ;
    size_t n ;
    if (!nl) return (errno = len - pos < ENVELOPE_LINE_MAX ? EAGAIN : EINVAL, 0) ;
    n = nl - line ;
    if (n >= ENVELOPE_LINE_MAX || !validline(line, n)) return (errno = EINVAL, 0) ;
    pos += n + 1 ;
    if (line == s)
    {
      if (n != 7 || memcmp(line, "ketch 1", 7)) return (errno = EINVAL, 0) ;
      continue ;
    }
    if (!n)
    {
      if (!havebody) return (errno = EINVAL, 0) ;
      break ;
    }
    /* after the body line, only pad lines: "pad" and blanks (the DKIM reserve, lib/dkimsign.h) */
    if (havebody)
    {
      size_t j = 3 ;
      if (n < 3 || memcmp(line, "pad", 3)) return (errno = EINVAL, 0) ;
      for (; j < n ; j++) if (line[j] != ' ') return (errno = EINVAL, 0) ;
      continue ;
    }
    if (n >= 5 && !memcmp(line, "from ", 5))
    {
      if (havefrom++ || envelope_nrcpt(e)) return (errno = EINVAL, 0) ;
      if (!addstr(e, line + 5, n - 5, &e->sender)) return 0 ;
    }
    else if (n >= 4 && !memcmp(line, "to ", 3))
    {
      size_t p ;
      if (!havefrom || e->auth || e->flags) return (errno = EINVAL, 0) ;
      if (!addstr(e, line + 3, n - 3, &p) || !genalloc_append(size_t, &e->rcpt, &p)) return 0 ;
    }
    else if (n >= 6 && !memcmp(line, "auth ", 5))
    {
      if (e->auth || !envelope_nrcpt(e) || e->flags) return (errno = EINVAL, 0) ;
      if (!addstr(e, line + 5, n - 5, &e->auth)) return 0 ;
    }
    else if (n == 8 && !memcmp(line, "smtputf8", 8) && envelope_nrcpt(e) && !e->flags) e->flags |= ENVELOPE_F_SMTPUTF8 ;
    /* "hold" alone, or "hold " and a valid reason: one form per meaning, as the encoder writes it */
    else if (n >= 4 && !memcmp(line, "hold", 4) && (n == 4 || line[4] == ' ') && envelope_nrcpt(e) && !(e->flags & (ENVELOPE_F_HOLD | ENVELOPE_F_SIGN)))
    {
      if (n > 4)
      {
        if (!envelope_reason_valid(line + 5, n - 5)) return (errno = EINVAL, 0) ;
        if (!addstr(e, line + 5, n - 5, &e->reason)) return 0 ;
      }
      e->flags |= ENVELOPE_F_HOLD ;
    }
    else if (n == 4 && !memcmp(line, "sign", 4) && envelope_nrcpt(e) && !(e->flags & ENVELOPE_F_SIGN)) e->flags |= ENVELOPE_F_SIGN ;
    else if (n == 9 && envelope_nrcpt(e) && (!memcmp(line, "body 7bit", 9) || !memcmp(line, "body 8bit", 9)))
    {
      havebody = 1 ;
      if (line[5] == '8') e->flags |= ENVELOPE_F_8BIT ;
    }
    else return (errno = EINVAL, 0) ;
  }
  if (!envelope_nrcpt(e)) return (errno = EINVAL, 0) ;
  e->hdrlen = pos ;
  return 1 ;
}

/*
 * Read the head of a queue entry from fd into buf (which may also receive
 * the first bytes of the body), and decode it. The fd's offset is then
 * somewhere after the head: callers seek to e->hdrlen.
 */
int envelope_read (envelope *e, int fd, stralloc *buf)
{
  buf->len = 0 ;
  for (;;)
  {
    ssize_t r ;
    if (!stralloc_readyplus(buf, 4096)) return 0 ;
    r = fd_read(fd, buf->s + buf->len, 4096) ;
    if (r < 0) return 0 ;
    if (!r) return (errno = EINVAL, 0) ;
    /* decode only once the empty line has arrived: linear, not quadratic */
    {
      size_t from = buf->len ? buf->len - 1 : 0 ;
      buf->len += r ;
      /* byte_search returns len - 1, not len, when the needle is absent: found only if both octets fit */
      if (byte_search(buf->s + from, buf->len - from, "\n\n", 2) + 2 <= buf->len - from
       || (buf->len >= 8 && memcmp(buf->s, "ketch 1\n", 8)))
        return envelope_decode(e, buf->s, buf->len) ;
    }
    if (buf->len > ENVELOPE_MAX) return (errno = EINVAL, 0) ;
  }
}

void envelope_free (envelope *e)
{
  stralloc_free(&e->sa) ;
  genalloc_free(size_t, &e->rcpt) ;
}
