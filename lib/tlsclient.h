/* ISC license: see LICENSE. */

#ifndef KETCH_TLSCLIENT_H
#define KETCH_TLSCLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include <bearssl.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

#include "daneverify.h"
#include "tlsa.h"

/*
 * The TLS client side of remote-send (STARTTLS, RFC 3207), on BearSSL.
 * The server side is lib/tls.[ch]; the two share only lib/tlsname (error
 * and cipher suite names), so that neither program links the other's
 * engine. tlsname_error says what tlsclient_error means.
 *
 * Two modes:
 * - TLSCLIENT_OPPORTUNISTIC (RFC 7435): encrypt, accept any certificate.
 *   The chain is still run through the X.509 engine when trust anchors
 *   are given, so the log can say whether it would have verified; the
 *   server's key comes from its own certificate, decoded here, so a name
 *   mismatch or an expired certificate does not stop the handshake.
 * - TLSCLIENT_VERIFY: the chain must lead to one of the anchors and the
 *   certificate must name the server (RFC 6125 through br_x509_minimal).
 * - TLSCLIENT_DANE: the chain must match the usable TLSA records in
 *   t->dane (set before the start), as lib/daneverify checks them
 *   (RFC 7672 §3); t->dv says which usage matched, or why none did.
 *
 * I/O is blocking in appearance and bounded by *deadline, an absolute
 * time the caller moves forward before each step (RFC 5321 §4.5.3.2).
 * The structure is large (BearSSL's 33 kB buffer): make it static.
 */

#define TLSCLIENT_OPPORTUNISTIC 0
#define TLSCLIENT_VERIFY 1
#define TLSCLIENT_DANE 2

typedef struct tlsclient_anchors_s tlsclient_anchors, *tlsclient_anchors_ref ;
struct tlsclient_anchors_s
{
  stralloc sa ;      /* DNs and key bytes */
  genalloc ta ;      /* br_x509_trust_anchor, pointing into sa once loaded */
} ;
#define TLSCLIENT_ANCHORS_ZERO { .sa = STRALLOC_ZERO, .ta = GENALLOC_ZERO }

/* loads every CA certificate of a PEM file; 1, or 0 with errno (EINVAL: bad PEM or certificate) */
extern int tlsclient_anchors_load (tlsclient_anchors *, char const *) ;
extern void tlsclient_anchors_free (tlsclient_anchors *) ;

typedef struct tlsclient_x509_s tlsclient_x509 ;
struct tlsclient_x509_s
{
  br_x509_class const *vtable ;     /* first: BearSSL passes &vtable around */
  br_x509_minimal_context *inner ;
  br_x509_decoder_context dec ;     /* the end-entity certificate, decoded for its key */
  unsigned int ncert ;
  int chain_err ;                   /* what br_x509_minimal said of the chain */
} ;

typedef struct tlsclient_s tlsclient, *tlsclient_ref ;
struct tlsclient_s
{
  br_ssl_client_context cc ;
  br_x509_minimal_context xc ;
  tlsclient_x509 ox ;
  tlsa_set const *dane ;            /* TLSCLIENT_DANE: the records, the caller's */
  daneverify dv ;
  br_sslio_context ioc ;
  int fd ;
  int mode ;
  tain const *deadline ;
  unsigned char iobuf[BR_SSL_BUFSIZE_BIDI] ;
} ;

/* handshake over a nonblocking connected fd: 1, or 0 (tlsclient_error says why; errno for I/O) */
extern int tlsclient_start (tlsclient *, int, char const *, int, tlsclient_anchors const *, tain const *) ;
/* like read(2): count, 0 at the end of the stream, -1 on error */
extern ssize_t tlsclient_read (tlsclient *, char *, size_t) ;
/* 1 when everything is handed to the engine, 0 on error; tlsclient_flush sends it */
extern int tlsclient_write (tlsclient *, char const *, size_t) ;
extern int tlsclient_flush (tlsclient *) ;
extern void tlsclient_close (tlsclient *) ;
extern int tlsclient_error (tlsclient *) ;
/* the chain verdict: 0 verified, else a BearSSL X.509 error code */
#define tlsclient_chain_error(t) ((t)->ox.chain_err)
extern char const *tlsclient_version (tlsclient *) ;
extern unsigned int tlsclient_cipher (tlsclient *) ;

#endif
