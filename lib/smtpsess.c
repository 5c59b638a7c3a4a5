/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/ip46.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "smtpauth.h"
#include "smtpclient.h"
#include "smtpreply.h"
#include "smtpsess.h"
#include "smtptx.h"
#include "tlsclient.h"
#include "tlsname.h"

/* the host failed: what, and why if any. 0, or -1 (ENOMEM) */
static int fail (smtpsess *s, int perm, char const *what, char const *why)
{
  s->fail.len = 0 ;
  s->failed = 1 ;
  s->failperm = perm ;
  return stralloc_cats(&s->fail, what) && (!why || (stralloc_catb(&s->fail, ": ", 2) && stralloc_cats(&s->fail, why)))
    && stralloc_0(&s->fail) ? 0 : -1 ;
}

/* the host failed with an SMTP reply; its text is the reason, a 5xx a permanent one. 0, or -1 */
static int fail_reply (smtpsess *s, smtpc const *c, char const *stage)
{
  s->fail.len = 0 ;
  s->failed = 1 ;
  s->failperm = smtpreply_class(&c->reply) == 5 ;
  return stralloc_cats(&s->fail, stage) && stralloc_catb(&s->fail, ": ", 2) && smtpreply_oneline(&c->reply, &s->fail) && stralloc_0(&s->fail) ? 0 : -1 ;
}

/* the host failed on an I/O error: the connection is unusable. 0, or -1 */
static int fail_io (smtpsess *s, smtpc *c, char const *stage)
{
  int r = fail(s, 0, stage, smtpc_error(c)) ;
  smtpc_close(c) ;
  return r ;
}

/* no TLS under "required" or "verify": temporary, and never in plaintext. 0, or -1 */
static int tls_refused (smtpsess *s, char const *what, char const *why)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = -1 ;
  if ((!why || (stralloc_cats(&sa, why) && stralloc_catb(&sa, "; ", 2)))
   && stralloc_cats(&sa, "tls ") && stralloc_cats(&sa, conf_tls_name(s->tlspolicy))
   && stralloc_cats(&sa, ": never in plaintext") && stralloc_0(&sa)) r = fail(s, 0, what, sa.s) ;
  stralloc_free(&sa) ;
  return r ;
}

/* the end of a session that failed: a polite QUIT when the connection still stands */
static int quit (smtpc *c, int r)
{
  smtpc_quit(c, SMTPTX_TIMEOUT_QUIT) ;
  return r ;
}

/* EHLO, and HELO if EHLO is refused (RFC 5321 §3.2). 1, 0 or -1 */
static int ehlo (smtpsess *s, smtpc *c)
{
  int helo ;
  if (!smtpc_ehlo(c, "EHLO", s->helo, &s->ext, &helo, s->tcommand)) return fail(s, 0, helo ? "HELO" : "EHLO", smtpc_error(c)) ;
  if (smtpreply_class(&c->reply) != 2) return fail_reply(s, c, helo ? "HELO" : "EHLO") ;
  return 1 ;
}

/* STARTTLS under the policy: 1 to go on (under TLS, or in plaintext when the policy allows), 0, or -1 */
static int starttls (smtpsess *s, smtpc *c, tlsclient *t)
{
  int mode = s->tlspolicy == CONF_TLS_VERIFY ? TLSCLIENT_VERIFY : s->tlspolicy == CONF_TLS_DANE ? TLSCLIENT_DANE : TLSCLIENT_OPPORTUNISTIC ;
  char const *servername = s->host ;
  int r ;
  if (!smtpc_command(c, "STARTTLS", 0, s->tcommand)) return fail_io(s, c, "STARTTLS") ;
  if (c->reply.code != 220)
  {
    stralloc sa = STRALLOC_ZERO ;
    s->tlsneg = SMTPSESS_TLS_REFUSED ;
    if (s->tlspolicy == CONF_TLS_OPPORTUNISTIC) return 1 ;
    r = smtpreply_oneline(&c->reply, &sa) && stralloc_0(&sa) ? tls_refused(s, "STARTTLS refused", sa.s) : -1 ;
    stralloc_free(&sa) ;
    return quit(c, r) ;
  }
  if (mode == TLSCLIENT_VERIFY && !*s->anchors_loaded)
  {
    char const *ca = s->cafile ? s->cafile : "/etc/ssl/certs/ca-certificates.crt" ;
    if (!tlsclient_anchors_load(s->anchors, ca)) { r = fail(s, 0, "unable to load trust anchors", ca) ; smtpc_close(c) ; return r ; }
    *s->anchors_loaded = 1 ;
  }
  {
    /* RFC 6066 §3: no IP literal in SNI; and BearSSL matches names only, so "verify" needs a name */
    ip46 dummy ;
    size_t k = ip46_scan(s->host, &dummy) ;
    if (k && !s->host[k])
    {
      if (mode != TLSCLIENT_OPPORTUNISTIC) return quit(c, fail(s, 0, "cannot verify a certificate for an IP address: route to a host name", 0)) ;
      servername = 0 ;
    }
  }
  t->dane = mode == TLSCLIENT_DANE ? s->tlsa : 0 ;
  if (!smtpc_starttls(c, t, servername, mode, mode == TLSCLIENT_VERIFY ? s->anchors : 0, &s->discarded, s->tcommand))
  {
    int be = tlsclient_error(t) ;
    char const *why = be && be != BR_ERR_IO ? tlsname_error(be) : strerror(errno) ;
    /* RFC 7672 §3: the exact reason DANE refused the chain, for the log */
    if (mode == TLSCLIENT_DANE && t->dv.reason) why = s->dane_fail = t->dv.reason ;
    s->tlsneg = SMTPSESS_TLS_HANDSHAKE ;
    s->tlserr = be == BR_ERR_IO ? 0 : be ;
    smtpc_close(c) ;
    /* RFC 7435 §3: only opportunistic may fall back to plaintext, and never with credentials */
    if (s->tlspolicy != CONF_TLS_OPPORTUNISTIC) return tls_refused(s, "TLS handshake failed", why) ;
    if (!s->authfile) s->plaintext = 1 ;
    return fail(s, 0, "TLS handshake failed", why) ;
  }
  s->tls = 1 ;
  s->tlsneg = SMTPSESS_TLS_OK ;
  s->tlsversion = tlsclient_version(t) ;
  s->tlscipher = tlsclient_cipher(t) ;
  if (mode == TLSCLIENT_DANE) s->dane_usage = t->dv.usage ;
  /* RFC 3207 §4.2: forget what the server said before TLS */
  r = ehlo(s, c) ;
  return r > 0 ? 1 : quit(c, r) ;
}

/* the credentials for the host from the route's file: 1, 0 (the host failed), or -1 */
static int creds_load (smtpsess *s, stralloc *user, stralloc *pass)
{
  stralloc sa = STRALLOC_ZERO ;
  int r ;
  if (!smtpauth_creds_read(s->authfile, &sa))
  {
    char const *why = errno == EPERM ? "the credentials file is readable by others or not ours: refused"
      : errno == EINVAL ? "the credentials file is not a regular file"
      : "cannot read the credentials file" ;
    stralloc_free(&sa) ;
    return fail(s, 0, why, s->authfile) ;
  }
  r = smtpauth_creds_find(sa.s, sa.len, s->host, user, pass) ;
  byte_zzero(sa.s, sa.a) ;
  stralloc_free(&sa) ;
  if (!r) return fail(s, 0, "no credentials for this host in the credentials file", s->authfile) ;
  return r ;
}

/* RFC 4954: AUTH PLAIN with an initial response, else LOGIN. 1, 0 or -1 */
static int auth (smtpsess *s, smtpc *c)
{
  stralloc user = STRALLOC_ZERO, pass = STRALLOC_ZERO ;
  int r ;
  if (!c->tls) return fail(s, 0, "refusing to send AUTH credentials without TLS", 0) ;
  r = creds_load(s, &user, &pass) ;
  if (r > 0)
  {
    /* the fields are NUL-terminated */
    if (!s->ext.auth_plain && !s->ext.auth_login) r = fail(s, 0, "the server offers neither AUTH PLAIN nor AUTH LOGIN", 0) ;
    else if (!smtpc_auth(c, user.s, user.len - 1, pass.s, pass.len - 1, s->ext.auth_plain, s->tcommand)) r = fail(s, 0, "AUTH", smtpc_error(c)) ;
    else if (c->reply.code != 235)
    {
      r = fail_reply(s, c, "AUTH") ;
      /* a refused login is our configuration's fault: retry, never bounce */
      s->failperm = 0 ;
    }
  }
  if (pass.s) byte_zzero(pass.s, pass.a) ;
  stralloc_free(&user) ; stralloc_free(&pass) ;
  return r ;
}

int smtpsess_open (smtpsess *s, smtpc *c, tlsclient *t)
{
  int r ;
  s->discarded = 0 ;
  s->tls = 0 ;
  s->plaintext = 0 ;
  s->failed = 0 ;
  s->dane_usage = -1 ;
  s->dane_fail = 0 ;
  s->tlsneg = SMTPSESS_TLS_NOTTRIED ;
  s->tlserr = 0 ;
  /* §4.5.3.2.1: 5 minutes for the greeting */
  if (!smtpc_reply(c, s->tcommand)) return fail_io(s, c, "greeting") ;
  if (smtpreply_class(&c->reply) != 2) return quit(c, fail_reply(s, c, "greeting")) ;
  if ((r = ehlo(s, c)) <= 0) return quit(c, r) ;
  if (s->tlspolicy != CONF_TLS_NONE && !s->ext.starttls) s->tlsneg = SMTPSESS_TLS_NOTOFFERED ;
  if (s->tlspolicy != CONF_TLS_NONE && s->ext.starttls && (r = starttls(s, c, t)) <= 0) return r ;
  if (!c->tls && s->tlspolicy != CONF_TLS_OPPORTUNISTIC && s->tlspolicy != CONF_TLS_NONE)
    return quit(c, tls_refused(s, "the server does not offer STARTTLS", 0)) ;
  if (s->authfile && (r = auth(s, c)) <= 0) return quit(c, r) ;
  return 1 ;
}

void smtpsess_free (smtpsess *s)
{
  stralloc_free(&s->fail) ;
}
