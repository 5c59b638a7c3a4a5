/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <bearssl.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/error.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/random.h>
#include <skalibs/bytestr.h>

#include "ecimpl.h"
#include "tls.h"
#include "tlsclient.h"
#include "tlsname.h"

/* trust anchors: offsets into sa while it grows, pointers at the end */

typedef struct taoff_s taoff ;
struct taoff_s
{
  size_t dn, dnlen, k1, k1len, k2, k2len ;
  int curve ;
  unsigned char keytype ;
} ;

typedef struct dnsink_s dnsink ;
struct dnsink_s
{
  stralloc *sa ;
  int ok ;
} ;

static void dn_append (void *ctx, void const *s, size_t len)
{
  dnsink *d = ctx ;
  if (!stralloc_catb(d->sa, s, len)) d->ok = 0 ;
}

static int anchor_add (tlsclient_anchors *a, genalloc *offs, char const *der, size_t len)
{
  br_x509_decoder_context xd ;
  br_x509_pkey const *pk ;
  taoff o = { .dn = a->sa.len } ;
  size_t base = a->sa.len ;
  dnsink d = { .sa = &a->sa, .ok = 1 } ;
  br_x509_decoder_init(&xd, &dn_append, &d) ;
  br_x509_decoder_push(&xd, der, len) ;
  if (!d.ok) return (errno = ENOMEM, 0) ;
  pk = br_x509_decoder_get_pkey(&xd) ;
  if (!pk) { a->sa.len = base ; return 1 ; }  /* a certificate BearSSL cannot use is skipped, as brssl does */
  o.dnlen = a->sa.len - o.dn ;
  o.keytype = pk->key_type ;
  if (pk->key_type == BR_KEYTYPE_RSA)
  {
    o.k1 = a->sa.len ; o.k1len = pk->key.rsa.nlen ;
    if (!stralloc_catb(&a->sa, (char const *)pk->key.rsa.n, pk->key.rsa.nlen)) return 0 ;
    o.k2 = a->sa.len ; o.k2len = pk->key.rsa.elen ;
    if (!stralloc_catb(&a->sa, (char const *)pk->key.rsa.e, pk->key.rsa.elen)) return 0 ;
  }
  else if (pk->key_type == BR_KEYTYPE_EC)
  {
    o.curve = pk->key.ec.curve ;
    o.k1 = a->sa.len ; o.k1len = pk->key.ec.qlen ;
    if (!stralloc_catb(&a->sa, (char const *)pk->key.ec.q, pk->key.ec.qlen)) return 0 ;
  }
  else { a->sa.len = base ; return 1 ; }
  return genalloc_append(taoff, offs, &o) ;
}

int tlsclient_anchors_load (tlsclient_anchors *a, char const *file)
{
  stralloc pem = STRALLOC_ZERO ;
  genalloc objs = GENALLOC_ZERO ;
  genalloc offs = GENALLOC_ZERO ;
  size_t i, n ;
  /* the PEM reader is lib/tls's, shared with the server side */
  if (!tls_pem_read(file, &pem, &objs)) goto err ;
  n = genalloc_len(tls_pemobj, &objs) ;
  for (i = 0 ; i < n ; i++)
  {
    tls_pemobj const *o = genalloc_s(tls_pemobj, &objs) + i ;
    char const *name = pem.s + o->name ;
    if ((!strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE"))
     && !anchor_add(a, &offs, pem.s + o->data, o->len)) goto err ;
  }
  n = genalloc_len(taoff, &offs) ;
  for (i = 0 ; i < n ; i++)
  {
    taoff const *o = genalloc_s(taoff, &offs) + i ;
    br_x509_trust_anchor ta ;
    memset(&ta, 0, sizeof(ta)) ;
    ta.dn.data = (unsigned char *)a->sa.s + o->dn ;
    ta.dn.len = o->dnlen ;
    ta.flags = BR_X509_TA_CA ;
    ta.pkey.key_type = o->keytype ;
    if (o->keytype == BR_KEYTYPE_RSA)
    {
      ta.pkey.key.rsa.n = (unsigned char *)a->sa.s + o->k1 ; ta.pkey.key.rsa.nlen = o->k1len ;
      ta.pkey.key.rsa.e = (unsigned char *)a->sa.s + o->k2 ; ta.pkey.key.rsa.elen = o->k2len ;
    }
    else
    {
      ta.pkey.key.ec.curve = o->curve ;
      ta.pkey.key.ec.q = (unsigned char *)a->sa.s + o->k1 ; ta.pkey.key.ec.qlen = o->k1len ;
    }
    if (!genalloc_append(br_x509_trust_anchor, &a->ta, &ta)) goto err ;
  }
  genalloc_free(taoff, &offs) ;
  genalloc_free(tls_pemobj, &objs) ;
  stralloc_free(&pem) ;
  return 1 ;
 err:
  {
    int e = errno ;
    genalloc_free(taoff, &offs) ;
    genalloc_free(tls_pemobj, &objs) ;
    stralloc_free(&pem) ;
    errno = e ;
  }
  return 0 ;
}

void tlsclient_anchors_free (tlsclient_anchors *a)
{
  stralloc_free(&a->sa) ;
  genalloc_free(br_x509_trust_anchor, &a->ta) ;
}

/*
 * The opportunistic X.509 class: feeds the chain to br_x509_minimal (for
 * the log's verdict) and decodes the first certificate itself, whose key
 * is used whatever the verdict. br_x509_minimal's own get_pkey refuses
 * the key after a name mismatch, so wrapping its end_chain is not enough.
 */

#define INNER(ctx) ((br_x509_class const **)&((tlsclient_x509 *)(void *)(ctx))->inner->vtable)
#define OX(ctx) ((tlsclient_x509 *)(void *)(ctx))

static void ox_start_chain (br_x509_class const **ctx, char const *name)
{
  OX(ctx)->ncert = 0 ;
  OX(ctx)->chain_err = BR_ERR_X509_TRUNCATED ;
  (*INNER(ctx))->start_chain(INNER(ctx), name) ;
}

static void ox_start_cert (br_x509_class const **ctx, uint32_t len)
{
  if (!OX(ctx)->ncert) br_x509_decoder_init(&OX(ctx)->dec, 0, 0) ;
  (*INNER(ctx))->start_cert(INNER(ctx), len) ;
}

static void ox_append (br_x509_class const **ctx, unsigned char const *s, size_t len)
{
  if (!OX(ctx)->ncert) br_x509_decoder_push(&OX(ctx)->dec, s, len) ;
  (*INNER(ctx))->append(INNER(ctx), s, len) ;
}

static void ox_end_cert (br_x509_class const **ctx)
{
  OX(ctx)->ncert++ ;
  (*INNER(ctx))->end_cert(INNER(ctx)) ;
}

static unsigned ox_end_chain (br_x509_class const **ctx)
{
  unsigned r = (*INNER(ctx))->end_chain(INNER(ctx)) ;
  OX(ctx)->chain_err = (int)r ;
  if (!OX(ctx)->ncert) return r ? r : BR_ERR_X509_EMPTY_CHAIN ;
  if (!br_x509_decoder_get_pkey(&OX(ctx)->dec))
  {
    int e = br_x509_decoder_last_error(&OX(ctx)->dec) ;
    return e ? (unsigned)e : BR_ERR_X509_TRUNCATED ;
  }
  return 0 ;
}

static br_x509_pkey const *ox_get_pkey (br_x509_class const *const *ctx, unsigned *usages)
{
  tlsclient_x509 *o = (tlsclient_x509 *)(void *)ctx ;
  if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN ;
  return br_x509_decoder_get_pkey(&o->dec) ;
}

static br_x509_class const ox_vtable =
{
  .context_size = sizeof(tlsclient_x509),
  .start_chain = &ox_start_chain,
  .start_cert = &ox_start_cert,
  .append = &ox_append,
  .end_cert = &ox_end_cert,
  .end_chain = &ox_end_chain,
  .get_pkey = &ox_get_pkey
} ;

/* deadline-aware callbacks over a nonblocking fd */

static int tio_read (void *ctx, unsigned char *buf, size_t len)
{
  tlsclient *t = ctx ;
  for (;;)
  {
    ssize_t r = fd_read(t->fd, (char *)buf, len) ;
    if (r > 0) return (int)r ;
    if (!r) return (errno = EPIPE, -1) ;
    if (!error_isagain(errno)) return -1 ;
    {
      iopause_fd x = { .fd = t->fd, .events = IOPAUSE_READ, .revents = 0 } ;
      int e = iopause_g(&x, 1, t->deadline) ;
      if (e <= 0) { if (!e) errno = ETIMEDOUT ; return -1 ; }
    }
  }
}

static int tio_write (void *ctx, unsigned char const *buf, size_t len)
{
  tlsclient *t = ctx ;
  for (;;)
  {
    ssize_t r = fd_write(t->fd, (char const *)buf, len) ;
    if (r > 0) return (int)r ;
    if (r < 0 && !error_isagain(errno)) return -1 ;
    {
      iopause_fd x = { .fd = t->fd, .events = IOPAUSE_WRITE, .revents = 0 } ;
      int e = iopause_g(&x, 1, t->deadline) ;
      if (e <= 0) { if (!e) errno = ETIMEDOUT ; return -1 ; }
    }
  }
}

int tlsclient_start (tlsclient *t, int fd, char const *servername, int mode, tlsclient_anchors const *a, tain const *deadline)
{
  unsigned char rnd[32] ;
  br_x509_trust_anchor const *tas = a ? genalloc_s(br_x509_trust_anchor, &a->ta) : 0 ;
  size_t ntas = a ? genalloc_len(br_x509_trust_anchor, &a->ta) : 0 ;
  t->fd = fd ;
  t->mode = mode ;
  t->deadline = deadline ;
  br_ssl_client_init_full(&t->cc, &t->xc, tas, ntas) ;
  /* its ECDHE is br_ec_get_default()'s: X25519 from libsodium instead (lib/ecimpl) */
  br_ssl_engine_set_ec(&t->cc.eng, ecimpl_get()) ;
  /* BearSSL 0.6 has no TLS 1.3; 1.0 and 1.1 are left to peers from another age */
  br_ssl_engine_set_versions(&t->cc.eng, BR_TLS12, BR_TLS12) ;
  br_ssl_engine_set_buffer(&t->cc.eng, t->iobuf, sizeof(t->iobuf), 1) ;
  memset(&t->ox, 0, sizeof(t->ox)) ;
  t->ox.vtable = &ox_vtable ;
  t->ox.inner = &t->xc ;
  t->ox.chain_err = BR_ERR_X509_TRUNCATED ;
  if (mode == TLSCLIENT_OPPORTUNISTIC) br_ssl_engine_set_x509(&t->cc.eng, &t->ox.vtable) ;
  else if (mode == TLSCLIENT_DANE)
  {
    if (!t->dane || !servername) return (errno = EINVAL, 0) ;
    daneverify_init(&t->dv, t->dane, servername) ;
    br_ssl_engine_set_x509(&t->cc.eng, &t->dv.vtable) ;
  }
  random_buf((char *)rnd, sizeof(rnd)) ;
  br_ssl_engine_inject_entropy(&t->cc.eng, rnd, sizeof(rnd)) ;
  byte_zzero((char *)rnd, sizeof(rnd)) ;
  if (!br_ssl_client_reset(&t->cc, servername, 0)) return (errno = EPROTO, 0) ;
  br_sslio_init(&t->ioc, &t->cc.eng, &tio_read, t, &tio_write, t) ;
  /* flushing runs the engine until application data can be sent: the whole handshake */
  if (br_sslio_flush(&t->ioc) < 0) return (errno = errno ? errno : EPROTO, 0) ;
  if (mode != TLSCLIENT_OPPORTUNISTIC) t->ox.chain_err = 0 ;
  return 1 ;
}

ssize_t tlsclient_read (tlsclient *t, char *s, size_t len)
{
  int r = br_sslio_read(&t->ioc, s, len) ;
  if (r >= 0) return r ;
  if (br_ssl_engine_current_state(&t->cc.eng) == BR_SSL_CLOSED && !br_ssl_engine_last_error(&t->cc.eng)) return 0 ;
  return -1 ;
}

int tlsclient_write (tlsclient *t, char const *s, size_t len)
{
  return br_sslio_write_all(&t->ioc, s, len) == 0 ;
}

int tlsclient_flush (tlsclient *t)
{
  return br_sslio_flush(&t->ioc) == 0 ;
}

void tlsclient_close (tlsclient *t)
{
  br_sslio_close(&t->ioc) ;
}

int tlsclient_error (tlsclient *t)
{
  return br_ssl_engine_last_error(&t->cc.eng) ;
}

char const *tlsclient_version (tlsclient *t)
{
  return tlsname_version(br_ssl_engine_get_version(&t->cc.eng)) ;
}

unsigned int tlsclient_cipher (tlsclient *t)
{
  br_ssl_session_parameters sp ;
  br_ssl_engine_get_session_parameters(&t->cc.eng, &sp) ;
  return sp.cipher_suite ;
}
