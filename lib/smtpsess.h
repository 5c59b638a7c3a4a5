/* ISC license: see LICENSE. */

#ifndef KETCH_SMTPSESS_H
#define KETCH_SMTPSESS_H

#include <stddef.h>

#include <skalibs/stralloc.h>

#include "smtpclient.h"
#include "smtpreply.h"
#include "tlsclient.h"

/*
 * The opening of an SMTP client session with one host, under the
 * host's policy (its route, conf(5)): on a connected smtpc, the
 * greeting, EHLO (HELO if refused, RFC 5321 §3.2), STARTTLS (RFC 3207)
 * as the TLS policy says, EHLO again under TLS, and AUTH (RFC 4954)
 * with the route's credentials. Then the session is ready for MAIL
 * (lib/smtptx), with the server's extensions in s->ext.
 *
 * The TLS policy (CONF_TLS_*), decided here once:
 *  - none: no STARTTLS;
 *  - opportunistic: STARTTLS when offered; a refusal goes on in
 *    plaintext, and a failed handshake is worth one more session in
 *    plaintext (RFC 7435 §3; s->plaintext), unless the route has
 *    credentials, which never go out in plaintext;
 *  - required, verify, dane: no TLS means no mail to this host, a
 *    temporary failure of the host, never a retry in plaintext (RFC 3207
 *    §4.1 leaves the choice to the client; the policy made it); verify
 *    checks the certificate against the trust anchors and the name;
 *    dane checks it against the host's usable TLSA records, s->tlsa
 *    (RFC 7672 §3, lib/daneverify; lib/route decided the policy), and
 *    says in s->dane_usage which usage matched (s->dane_fail: why none).
 *
 * This module never logs: what happened comes back in the struct, in
 * the order the caller logs it: s->discarded (plaintext after the 220
 * to STARTTLS, thrown away), s->tls (the handshake succeeded: version
 * and cipher), then s->failed with s->fail ("what: why") and
 * s->failperm when the host failed. After a failure the connection is
 * closed.
 */

typedef struct smtpsess_s smtpsess, *smtpsess_ref ;
struct smtpsess_s
{
  /* the caller's, for the session */
  char const *host ;          /* the name: SNI, the certificate's name, the credentials' */
  char const *helo ;          /* our name, for EHLO */
  unsigned int tlspolicy ;    /* CONF_TLS_* */
  char const *authfile ;      /* the route's credentials file; 0: no AUTH */
  char const *cafile ;        /* the trust anchors for verify */
  unsigned int tcommand ;     /* seconds for a command's reply (§4.5.3.2) */
  tlsa_set const *tlsa ;      /* the TLSA records, for the dane policy */
  tlsclient_anchors *anchors ; /* loaded from cafile on the first verify, kept */
  int *anchors_loaded ;
  /* what happened */
  smtpreply_ext ext ;
  size_t discarded ;
  int tls ;
  char const *tlsversion ;
  unsigned int tlscipher ;
  int dane_usage ;            /* dane: the usage of the record that matched; -1 */
  char const *dane_fail ;     /* dane: why the chain was refused (constant); 0 */
  unsigned int tlsneg ;        /* SMTPSESS_TLS_*: how the TLS negotiation went, for TLS-RPT (lib/tlsrpt) */
  int tlserr ;                /* SMTPSESS_TLS_HANDSHAKE: BearSSL's error (tlsclient_error), 0 for I/O */
  int plaintext ;
  int failed ;
  int failperm ;
  stralloc fail ;             /* NUL-terminated when failed */
} ;
#define SMTPSESS_ZERO { .host = "", .helo = "", .tlspolicy = 0, .authfile = 0, .cafile = 0, .tcommand = 300, .tlsa = 0, .anchors = 0, .anchors_loaded = 0, .ext = SMTPREPLY_EXT_ZERO, .discarded = 0, .tls = 0, .tlsversion = "", .tlscipher = 0, .dane_usage = -1, .dane_fail = 0, .tlsneg = 0, .tlserr = 0, .plaintext = 0, .failed = 0, .failperm = 0, .fail = STRALLOC_ZERO }

/* s->tlsneg: no negotiation (policy none, or the session ended before it), TLS, or why not */
#define SMTPSESS_TLS_NOTTRIED 0
#define SMTPSESS_TLS_OK 1
#define SMTPSESS_TLS_NOTOFFERED 2  /* no STARTTLS in the EHLO reply */
#define SMTPSESS_TLS_REFUSED 3     /* STARTTLS answered other than 220 */
#define SMTPSESS_TLS_HANDSHAKE 4   /* the handshake failed: s->tlserr, s->dane_fail */

/* on a connected smtpc, with t for TLS: 1 ready for MAIL; 0 the host failed (s->fail), or -1 out of memory */
extern int smtpsess_open (smtpsess *, smtpc *, tlsclient *) ;

extern void smtpsess_free (smtpsess *) ;

#endif
