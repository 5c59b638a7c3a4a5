/* ISC license: see LICENSE. */

#ifndef KETCH_TLS_H
#define KETCH_TLS_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <bearssl.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

/*
 * TLS with BearSSL. Generic helpers first (PEM loading, error and suite
 * names: the names are lib/tlsname's, shared with the client side); then
 * the server side used by smtp-session for STARTTLS and implicit TLS
 * (RFC 3207, RFC 8314).
 *
 * Policy: TLS 1.2 only, and only forward-secret AEAD suites (ECDHE with
 * AES-GCM or ChaCha20-Poly1305). The engine is driven from the caller's
 * loop: every call takes an absolute deadline and uses iopause on the
 * connection's descriptors, never alarm().
 */

/* one PEM object: offsets into the caller's stralloc */
typedef struct tls_pemobj_s tls_pemobj ;
struct tls_pemobj_s
{
  size_t name ;   /* NUL-terminated object name, e.g. "CERTIFICATE" */
  size_t data ;   /* DER bytes */
  size_t len ;
} ;

/* appends every PEM object of a file to sa/list (tls_pemobj). 1 ok, 0 error (EINVAL: bad PEM) */
extern int tls_pem_read (char const *, stralloc *, genalloc *) ;

/*
 * A certificate chain decoded once and lent to many servers: smtp-listen
 * -f loads it per configuration load, before the fork, and every session
 * it forks uses its copy-on-write pages instead of reading and decoding
 * the PEM file per STARTTLS. Only the CERTIFICATE objects are kept (a
 * file that also holds the key gives no key to the listener or the
 * sessions: smtp-keyd holds it). The stat of the file is taken before
 * the read; a server given a chain whose file has changed since (renewed
 * by a rename: another inode; rewritten in place: another size or time)
 * reads the file itself, so a renewed certificate is served at once, and
 * decoded once again at the next reload.
 */
typedef struct tls_chain_s tls_chain ;
struct tls_chain_s
{
  stralloc sa ;                /* DER of the certificates */
  br_x509_certificate *certs ; /* into sa; 0: nothing loaded */
  size_t n ;
  dev_t dev ;
  ino_t ino ;
  off_t size ;
  struct timespec mtime ;
  struct timespec ctime ;
} ;
#define TLS_CHAIN_ZERO { .sa = STRALLOC_ZERO, .certs = 0, .n = 0 }

/* decodes the chain of a file, replacing what c held. 1 ok; 0 error
   (errno; EINVAL: no certificate), c then empty */
extern int tls_chain_load (tls_chain *, char const *) ;
/* is c loaded, and the file still the one it was loaded from? (one stat) */
extern int tls_chain_current (tls_chain const *, char const *) ;
extern void tls_chain_free (tls_chain *) ;

/* a handshake flight's small records: ServerHello, ChangeCipherSpec and
   Finished (a resumption), ChangeCipherSpec and Finished (a full one) */
#define TLS_OUT_STAGE 512
/* records read ahead of what the engine asks for: a client's flight (its
   key exchange, ChangeCipherSpec and Finished) or an SMTP command, in
   one read; a DATA record of 4 KiB too */
#define TLS_IN_STAGE 4096

typedef struct tls_server_s tls_server ;
struct tls_server_s
{
  br_ssl_server_context sc ;
  /* with smtp-keyd: our policy, which has it sign (lib/tls.c) */
  br_ssl_server_policy_class const *policy ;
  /* with smtp-keyd and its cache on: our session cache, which asks smtp-keyd (lib/tls.c) */
  br_ssl_session_cache_class const *cache ;
  uint16_t const *suites ;  /* the suites we enable: a cached session must have one */
  int loaded ;         /* the engine took a cached session's parameters... */
  int saved ;          /* ...or made a new one, which it saved */
  int keyd ;           /* the channel to smtp-keyd, or -1: the key is ours */
  int keytype ;
  tain const *deadline ;  /* the current call's, for smtp-keyd's answer */
  br_skey_decoder_context skey ;
  br_x509_certificate *chain ;  /* ours, or the lent tls_chain's */
  size_t chainlen ;
  int chainown ;
  stralloc sa ;        /* DER of the chain and the key */
  genalloc objs ;      /* tls_pemobj */
  unsigned char *iobuf ;
  /* records out, gathered into one write (lib/tls.c, pump) */
  unsigned char out[TLS_OUT_STAGE] ;
  size_t outlen ;
  /* records in, read ahead (lib/tls.c, pump): in[inpos..inpos+inlen) */
  unsigned char in[TLS_IN_STAGE] ;
  size_t inpos ;
  size_t inlen ;
  int fdr ;
  int fdw ;
} ;

/* Allocates a server (the TLS buffers exist only from here on), takes
   the certificate chain from the tls_chain (may be 0) while it is current
   for the file, or reads the file (a renewed certificate needs no
   restart), and resets the engine. The tls_chain must outlive the server. With keyd, a channel to smtp-keyd
   (lib/keyd.h), the key stays there: smtp-keyd reads it and signs the
   handshake's hash; with keyd -1 the key file is read here. With keyd
   and cache nonzero, sessions are saved in smtp-keyd's cache and a
   client can resume one (RFC 5246 §7.3); without, none is resumed. 0 on
   error with errno (EINVAL: unusable certificate or key). */
extern tls_server *tls_server_new (char const *, tls_chain const *, char const *, int, int, int, int, tain const *) ;

/*
 * Frees a server, everything it knew of its client zeroed first, for a
 * process that serves another client after it (smtp-listen -f, lib/smtpd.h
 * smtpd_wipe): the whole tls_server, and in it the BearSSL server
 * context (the master secret and the session parameters, the handshake
 * hashes, the ECDHE private key, the record ciphers' keys, IVs and
 * GHASH or Poly1305 state, the decoded private key when it is ours),
 * then the record buffers (BR_SSL_BUFSIZE_BIDI octets: the client's
 * plaintext is decrypted in place there, ours encrypted in place), the
 * PEM file contents when we read them. That is everything: BearSSL
 * allocates nothing, its state is the context and the buffers we gave
 * it, and the stack frames of its computations are the caller's to wipe
 * (smtpd_wipe does). What stays is the lent tls_chain, which is public.
 */
extern void tls_server_free (tls_server *) ;

/* runs the handshake. 1 ok, 0 error (errno; ETIMEDOUT on deadline) */
extern int tls_handshake (tls_server *, tain const *) ;
/* plaintext in: >0 bytes, 0 clean close or EOF, -1 error */
extern ssize_t tls_read (tls_server *, char *, size_t, tain const *) ;
/* plaintext out, then flushed to the network: 1 ok, 0 error */
extern int tls_write (tls_server *, char const *, size_t, tain const *) ;
/* the last plaintext (may be empty), then the close_notify: both in one
   write when they fit in the out stage. The peer's close_notify is not
   waited for (RFC 5246 §7.2.1 allows it) */
extern void tls_close (tls_server *, char const *, size_t, tain const *) ;
/* does the engine hold decrypted bytes not yet read? */
extern int tls_pending (tls_server const *) ;
extern unsigned int tls_suite (tls_server const *) ;
/* after the handshake: was it the resumption of a cached session? */
extern int tls_resumed (tls_server const *) ;
/* the protocol version negotiated, by name ("TLSv1.2") */
extern char const *tls_version (tls_server const *) ;
extern int tls_last_error (tls_server const *) ;

#endif
