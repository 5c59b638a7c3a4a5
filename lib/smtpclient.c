/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "base64.h"
#include "smtpauth.h"
#include "smtpclient.h"
#include "tlsname.h"

#define CHUNK (64 * 1024)   /* body octets per write */

void smtpc_init (smtpc *c, int fd, tain const *limit)
{
  c->fd = fd ;
  c->tls = 0 ;
  c->limit = limit ;
  c->inpos = c->inlen = 0 ;
  c->out.len = 0 ;
}

void smtpc_close (smtpc *c)
{
  if (c->fd >= 0) fd_close(c->fd) ;
  c->fd = -1 ;
  c->tls = 0 ;
  c->inpos = c->inlen = 0 ;
  c->out.len = 0 ;
}

void smtpc_free (smtpc *c)
{
  smtpc_close(c) ;
  stralloc_free(&c->out) ;
  stralloc_free(&c->line) ;
  smtpreply_free(&c->reply) ;
}

void smtpc_deadline (smtpc *c, unsigned int secs)
{
  tain_now_g() ;
  tain_addsec_g(&c->deadline, secs) ;
  if (c->limit && tain_less(c->limit, &c->deadline)) c->deadline = *c->limit ;
}

static int wait_fd (smtpc *c, int events)
{
  iopause_fd x = { .fd = c->fd, .events = events, .revents = 0 } ;
  int r = iopause_g(&x, 1, &c->deadline) ;
  if (r < 0) return 0 ;
  if (!r) return (errno = ETIMEDOUT, 0) ;
  return 1 ;
}

/* under TLS, the engine holds what is written until a flush */
static int net_write (smtpc *c, char const *s, size_t len)
{
  if (c->tls) return tlsclient_write(c->tls, s, len) ;
  while (len)
  {
    ssize_t w = fd_write(c->fd, s, len) ;
    if (w > 0) { s += w ; len -= w ; continue ; }
    if (w < 0 && !error_isagain(errno)) return 0 ;
    if (!wait_fd(c, IOPAUSE_WRITE)) return 0 ;
  }
  return 1 ;
}

static ssize_t net_read (smtpc *c, char *s, size_t len)
{
  if (c->tls) return tlsclient_read(c->tls, s, len) ;
  for (;;)
  {
    ssize_t r = fd_read(c->fd, s, len) ;
    if (r >= 0) return r ;
    if (!error_isagain(errno)) return -1 ;
    if (!wait_fd(c, IOPAUSE_READ)) return -1 ;
  }
}

int smtpc_put (smtpc *c, char const *a, char const *b, char const *d)
{
  return stralloc_cats(&c->out, a) && (!b || stralloc_cats(&c->out, b)) && (!d || stralloc_cats(&c->out, d))
    && stralloc_catb(&c->out, "\r\n", 2) ;
}

int smtpc_flush (smtpc *c, unsigned int secs)
{
  smtpc_deadline(c, secs) ;
  if (!net_write(c, c->out.s, c->out.len)) return 0 ;
  if (c->tls && !tlsclient_flush(c->tls)) return 0 ;
  c->out.len = 0 ;
  return 1 ;
}

/* one line into c->line, without its CRLF (a bare LF ends it too) */
static int get_line (smtpc *c)
{
  c->line.len = 0 ;
  for (;;)
  {
    if (c->inpos < c->inlen)
    {
      size_t n = byte_chr(c->inbuf + c->inpos, c->inlen - c->inpos, '\n') ;
      int eol = n < c->inlen - c->inpos ;
      if (c->line.len + n > SMTPC_LINE_MAX) return (errno = EPROTO, 0) ;
      if (!stralloc_catb(&c->line, c->inbuf + c->inpos, n)) return 0 ;
      c->inpos += n + eol ;
      if (eol)
      {
        if (c->line.len && c->line.s[c->line.len - 1] == '\r') c->line.len-- ;
        return 1 ;
      }
    }
    {
      ssize_t r = net_read(c, c->inbuf, sizeof(c->inbuf)) ;
      if (r <= 0) { if (!r) errno = EPIPE ; return 0 ; }
      c->inpos = 0 ; c->inlen = r ;
    }
  }
}

int smtpc_reply (smtpc *c, unsigned int secs)
{
  smtpc_deadline(c, secs) ;
  smtpreply_reset(&c->reply) ;
  for (;;)
  {
    int r ;
    if (!get_line(c)) return 0 ;
    r = smtpreply_line(&c->reply, c->line.s, c->line.len) ;
    if (r < 0) return 0 ;
    if (r) return 1 ;
  }
}

int smtpc_command (smtpc *c, char const *a, char const *b, unsigned int secs)
{
  return smtpc_put(c, a, b, 0) && smtpc_flush(c, secs) && smtpc_reply(c, secs) ;
}

int smtpc_ehlo (smtpc *c, char const *verb, char const *name, smtpreply_ext *e, int *helo, unsigned int secs)
{
  static smtpreply_ext const zero = SMTPREPLY_EXT_ZERO ;
  *e = zero ;
  *helo = 0 ;
  if (!smtpc_put(c, verb, " ", name) || !smtpc_flush(c, secs) || !smtpc_reply(c, secs)) return 0 ;
  if (smtpreply_class(&c->reply) == 2) { smtpreply_ehlo(&c->reply, e) ; return 1 ; }
  /* RFC 5321 §3.2: a server that refuses EHLO may still know HELO; LMTP has no HELO (RFC 2033 §4.1) */
  if (smtpreply_class(&c->reply) != 5 || strcmp(verb, "EHLO")) return 1 ;
  *helo = 1 ;
  return smtpc_command(c, "HELO ", name, secs) ;
}

int smtpc_starttls (smtpc *c, tlsclient *t, char const *servername, int mode, tlsclient_anchors const *a, size_t *discarded, unsigned int secs)
{
  *discarded = c->inlen - c->inpos ;
  c->inpos = c->inlen = 0 ;
  smtpc_deadline(c, secs) ;
  if (!tlsclient_start(t, c->fd, servername, mode, a, &c->deadline)) return 0 ;
  c->tls = t ;
  return 1 ;
}

int smtpc_auth (smtpc *c, char const *user, size_t ulen, char const *pass, size_t plen, int plain, unsigned int secs)
{
  stralloc tok = STRALLOC_ZERO ;
  int r = 0 ;
  if (plain)
  {
    /* RFC 4616: authzid (empty) NUL authcid NUL passwd, in the initial response */
    stralloc raw = STRALLOC_ZERO ;
    int ok = stralloc_catb(&raw, "", 1) && stralloc_catb(&raw, user, ulen) && stralloc_catb(&raw, "", 1)
      && stralloc_catb(&raw, pass, plen) && base64_cat(&tok, raw.s, raw.len) && stralloc_0(&tok) ;
    if (raw.s) byte_zzero(raw.s, raw.a) ;
    stralloc_free(&raw) ;
    if (ok) r = smtpc_command(c, "AUTH PLAIN ", tok.s, secs) ;
  }
  else
  {
    /* LOGIN: the user name and the password, each after a 334 */
    r = smtpc_command(c, "AUTH LOGIN", 0, secs) ;
    if (r && c->reply.code == 334)
      r = base64_cat(&tok, user, ulen) && stralloc_0(&tok) && smtpc_command(c, tok.s, 0, secs) ;
    if (r && c->reply.code == 334)
    {
      byte_zzero(tok.s, tok.a) ; tok.len = 0 ;
      r = base64_cat(&tok, pass, plen) && stralloc_0(&tok) && smtpc_command(c, tok.s, 0, secs) ;
    }
  }
  if (c->out.s) byte_zzero(c->out.s, c->out.a) ;
  if (tok.s) byte_zzero(tok.s, tok.a) ;
  stralloc_free(&tok) ;
  return r ;
}

int smtpc_data (smtpc *c, char const *wire, size_t len, unsigned int secs)
{
  size_t pos = 0 ;
  while (pos < len)
  {
    size_t n = len - pos > CHUNK ? CHUNK : len - pos ;
    /* never leave the final dot alone in a write of its own */
    if (len - pos - n < 1024) n = len - pos ;
    smtpc_deadline(c, secs) ;
    if (!net_write(c, wire + pos, n)) return 0 ;
    pos += n ;
  }
  smtpc_deadline(c, secs) ;
  return !c->tls || tlsclient_flush(c->tls) ;
}

void smtpc_quit (smtpc *c, unsigned int secs)
{
  if (c->fd < 0) return ;
  c->out.len = 0 ;
  smtpc_command(c, "QUIT", 0, secs) ;
  smtpc_close(c) ;
}

char const *smtpc_error (smtpc const *c)
{
  int e = c->tls ? tlsclient_error(c->tls) : 0 ;
  if (e && e != BR_ERR_IO) return tlsname_error(e) ;
  if (errno == EPIPE) return "connection closed by the server" ;
  if (errno == EPROTO) return "the server does not speak SMTP" ;
  return strerror(errno) ;
}
