/* ISC license: see LICENSE. */

#include <string.h>

#include <bearssl.h>

#include "daneverify.h"
#include "tlsa.h"

/* DER (X.690 §8.1): one identifier octet (ours are all low-tag-number), a definite length of at most 4 octets */
static int der_item (unsigned char const *s, size_t len, size_t pos, unsigned char *tag, size_t *hdr, size_t *clen)
{
  size_t i = pos, n = 0 ;
  if (pos > len || len - pos < 2) return 0 ;
  *tag = s[i++] ;
  if ((*tag & 0x1f) == 0x1f) return 0 ;
  if (s[i] < 0x80) n = s[i++] ;
  else
  {
    unsigned int k = s[i++] & 0x7f ;
    if (!k || k > 4 || len - i < k) return 0 ;
    while (k--) n = (n << 8) | s[i++] ;
  }
  if (n > len - i) return 0 ;
  *hdr = i - pos ;
  *clen = n ;
  return 1 ;
}

int daneverify_spki (unsigned char const *s, size_t len, size_t *off, size_t *slen)
{
  unsigned char tag ;
  size_t hdr, clen, pos, end, k ;
  /* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {...} ...} */
  if (!der_item(s, len, 0, &tag, &hdr, &clen) || tag != 0x30) return 0 ;
  if (!der_item(s, hdr + clen, hdr, &tag, &k, &clen) || tag != 0x30) return 0 ;
  pos = hdr + k ;
  end = pos + clen ;
  /* [0] version (optional), serialNumber, signature, issuer, validity, subject */
  if (!der_item(s, end, pos, &tag, &hdr, &clen)) return 0 ;
  if (tag == 0xa0) { pos += hdr + clen ; if (!der_item(s, end, pos, &tag, &hdr, &clen)) return 0 ; }
  if (tag != 0x02) return 0 ;
  pos += hdr + clen ;
  for (k = 0 ; k < 4 ; k++)
  {
    if (!der_item(s, end, pos, &tag, &hdr, &clen) || tag != 0x30) return 0 ;
    pos += hdr + clen ;
  }
  /* subjectPublicKeyInfo SEQUENCE */
  if (!der_item(s, end, pos, &tag, &hdr, &clen) || tag != 0x30) return 0 ;
  *off = pos ;
  *slen = hdr + clen ;
  return 1 ;
}

int daneverify_match (tlsa_set const *set, tlsa_rr const *rr, unsigned char const *der, size_t len)
{
  unsigned char const *obj = der ;
  unsigned char const *data = tlsa_set_data(set, rr) ;
  unsigned char h[64] ;
  size_t olen = len ;
  if (rr->selector == TLSA_SELECTOR_SPKI)
  {
    size_t o ;
    if (!daneverify_spki(der, len, &o, &olen)) return 0 ;
    obj = der + o ;
  }
  switch (rr->mtype)
  {
    case TLSA_MATCH_FULL : return rr->len == olen && !memcmp(obj, data, olen) ;
    case TLSA_MATCH_SHA256 :
    {
      br_sha256_context c ;
      br_sha256_init(&c) ; br_sha256_update(&c, obj, olen) ; br_sha256_out(&c, h) ;
      return rr->len == 32 && !memcmp(h, data, 32) ;
    }
    case TLSA_MATCH_SHA512 :
    {
      br_sha512_context c ;
      br_sha512_init(&c) ; br_sha512_update(&c, obj, olen) ; br_sha512_out(&c, h) ;
      return rr->len == 64 && !memcmp(h, data, 64) ;
    }
    default : return 0 ;
  }
}

/*
 * A record of selector SPKI vouches for the key in the SubjectPublicKeyInfo
 * daneverify_spki found; the TLS engine uses the key BearSSL's decoder
 * found. Both read the same DER the same way, but the engine must never
 * run with a key the record did not name: the decoded key's bytes must be
 * the SPKI's (EC: the point ends it; RSA: the exponent ends it and the
 * modulus is in it).
 */
static int has (unsigned char const *s, size_t n, unsigned char const *x, size_t xlen)
{
  size_t i = 0 ;
  if (!xlen || xlen > n) return 0 ;
  for (; i <= n - xlen ; i++) if (!memcmp(s + i, x, xlen)) return 1 ;
  return 0 ;
}

static int spki_holds (unsigned char const *der, size_t len, br_x509_pkey const *pk)
{
  size_t off, n ;
  if (!daneverify_spki(der, len, &off, &n)) return 0 ;
  der += off ;
  switch (pk->key_type)
  {
    case BR_KEYTYPE_EC :
      return pk->key.ec.qlen && pk->key.ec.qlen <= n && !memcmp(der + n - pk->key.ec.qlen, pk->key.ec.q, pk->key.ec.qlen) ;
    case BR_KEYTYPE_RSA :
      return pk->key.rsa.elen && pk->key.rsa.elen <= n && !memcmp(der + n - pk->key.rsa.elen, pk->key.rsa.e, pk->key.rsa.elen)
        && has(der, n, pk->key.rsa.n, pk->key.rsa.nlen) ;
    default : return 0 ;
  }
}

#define DV(ctx) ((daneverify *)(void *)(ctx))
#define CERT(d, i) ((d)->chain + (d)->off[i])
#define CERTLEN(d, i) ((d)->off[(i) + 1] - (d)->off[i])

static void dv_start_chain (br_x509_class const **ctx, char const *name)
{
  daneverify *d = DV(ctx) ;
  d->n = 0 ;
  d->used = 0 ;
  d->off[0] = 0 ;
  d->overflow = 0 ;
  d->pkey = 0 ;
  d->usage = -1 ;
  d->reason = 0 ;
  d->x509err = 0 ;
}

static void dv_start_cert (br_x509_class const **ctx, uint32_t len)
{
  daneverify *d = DV(ctx) ;
  if (d->n >= DANEVERIFY_CERTS) d->overflow = 1 ;
}

static void dv_append (br_x509_class const **ctx, unsigned char const *s, size_t len)
{
  daneverify *d = DV(ctx) ;
  if (d->overflow) return ;
  if (len > DANEVERIFY_BYTES - d->used) { d->overflow = 1 ; return ; }
  memcpy(d->chain + d->used, s, len) ;
  d->used += len ;
}

static void dv_end_cert (br_x509_class const **ctx)
{
  daneverify *d = DV(ctx) ;
  if (d->overflow) return ;
  d->off[++d->n] = d->used ;
}

static void dn_append (void *ctx, void const *s, size_t len)
{
  daneverify *d = ctx ;
  if (len > DANEVERIFY_DN_MAX - d->tadnlen) { d->tadnlen = DANEVERIFY_DN_MAX + 1 ; return ; }
  memcpy(d->tadn + d->tadnlen, s, len) ;
  d->tadnlen += len ;
}

/* certificate i matched a DANE-TA record: the chain below it, validated with it as the only anchor. 0 or BearSSL's error */
static unsigned int ta_chain (daneverify *d, unsigned int i, tlsa_rr const *rr)
{
  br_x509_pkey const *pk ;
  br_x509_class const **xc = &d->xc.vtable ;
  unsigned int j ;
  d->tadnlen = 0 ;
  br_x509_decoder_init(&d->tadec, &dn_append, d) ;
  br_x509_decoder_push(&d->tadec, CERT(d, i), CERTLEN(d, i)) ;
  pk = br_x509_decoder_get_pkey(&d->tadec) ;
  if (!pk) return br_x509_decoder_last_error(&d->tadec) ? (unsigned int)br_x509_decoder_last_error(&d->tadec) : BR_ERR_X509_TRUNCATED ;
  if (d->tadnlen > DANEVERIFY_DN_MAX) return BR_ERR_X509_LIMIT_EXCEEDED ;
  if (rr->selector == TLSA_SELECTOR_SPKI && !spki_holds(CERT(d, i), CERTLEN(d, i), pk)) return BR_ERR_X509_BAD_DN ;
  memset(&d->ta, 0, sizeof(d->ta)) ;
  d->ta.dn.data = d->tadn ;
  d->ta.dn.len = d->tadnlen ;
  d->ta.flags = BR_X509_TA_CA ;
  d->ta.pkey = *pk ;
  /* what br_ssl_client_init_full gives its engine */
  br_x509_minimal_init(&d->xc, &br_sha256_vtable, &d->ta, 1) ;
  br_x509_minimal_set_hash(&d->xc, br_sha1_ID, &br_sha1_vtable) ;
  br_x509_minimal_set_hash(&d->xc, br_sha224_ID, &br_sha224_vtable) ;
  br_x509_minimal_set_hash(&d->xc, br_sha256_ID, &br_sha256_vtable) ;
  br_x509_minimal_set_hash(&d->xc, br_sha384_ID, &br_sha384_vtable) ;
  br_x509_minimal_set_hash(&d->xc, br_sha512_ID, &br_sha512_vtable) ;
  br_x509_minimal_set_rsa(&d->xc, br_rsa_pkcs1_vrfy_get_default()) ;
  br_x509_minimal_set_ecdsa(&d->xc, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default()) ;
  (*xc)->start_chain(xc, d->name) ;
  for (j = 0 ; j < i ; j++)
  {
    (*xc)->start_cert(xc, (uint32_t)CERTLEN(d, j)) ;
    (*xc)->append(xc, CERT(d, j), CERTLEN(d, j)) ;
    (*xc)->end_cert(xc) ;
  }
  return (*xc)->end_chain(xc) ;
}

static unsigned dv_end_chain (br_x509_class const **ctx)
{
  daneverify *d = DV(ctx) ;
  tlsa_rr const *rr = tlsa_set_rrs(d->tlsa) ;
  size_t nrr = tlsa_set_n(d->tlsa), k ;
  unsigned int i ;
  if (d->overflow) { d->reason = "the certificate chain is too long" ; return BR_ERR_X509_LIMIT_EXCEEDED ; }
  if (!d->n) { d->reason = "the server sent no certificate" ; return BR_ERR_X509_EMPTY_CHAIN ; }
  br_x509_decoder_init(&d->dec, 0, 0) ;
  br_x509_decoder_push(&d->dec, CERT(d, 0), CERTLEN(d, 0)) ;
  if (!br_x509_decoder_get_pkey(&d->dec))
  {
    int e = br_x509_decoder_last_error(&d->dec) ;
    d->reason = "the server's certificate cannot be decoded" ;
    return e ? (unsigned)e : BR_ERR_X509_TRUNCATED ;
  }
  /* §3.1.1: DANE-EE, the leaf alone */
  for (k = 0 ; k < nrr ; k++)
    if (rr[k].usage == TLSA_USAGE_DANE_EE && daneverify_match(d->tlsa, rr + k, CERT(d, 0), CERTLEN(d, 0))
     && (rr[k].selector != TLSA_SELECTOR_SPKI || spki_holds(CERT(d, 0), CERTLEN(d, 0), br_x509_decoder_get_pkey(&d->dec))))
    {
      d->usage = TLSA_USAGE_DANE_EE ;
      d->pkey = br_x509_decoder_get_pkey(&d->dec) ;
      return 0 ;
    }
  /* §3.1.2: DANE-TA, a certificate above the leaf, and the chain from the leaf to it */
  for (i = 1 ; i < d->n ; i++)
    for (k = 0 ; k < nrr ; k++)
      if (rr[k].usage == TLSA_USAGE_DANE_TA && daneverify_match(d->tlsa, rr + k, CERT(d, i), CERTLEN(d, i)))
      {
        unsigned int e = ta_chain(d, i, rr + k) ;
        if (e)
        {
          /* another record may name another anchor of the same chain: keep looking, remember why this one failed */
          d->x509err = (int)e ;
          continue ;
        }
        d->usage = TLSA_USAGE_DANE_TA ;
        d->pkey = (*d->xc.vtable->get_pkey)(&d->xc.vtable, 0) ;
        if (!d->pkey) d->pkey = br_x509_decoder_get_pkey(&d->dec) ;
        d->x509err = 0 ;
        return 0 ;
      }
  if (d->x509err)
  {
    d->reason = d->x509err == BR_ERR_X509_BAD_SERVER_NAME ? "a DANE-TA record matches, but the certificate does not name the host"
      : "a DANE-TA record matches, but the chain to it does not validate" ;
    return (unsigned)d->x509err ;
  }
  d->reason = "no TLSA record matches the server's certificate chain" ;
  return BR_ERR_X509_NOT_TRUSTED ;
}

static br_x509_pkey const *dv_get_pkey (br_x509_class const *const *ctx, unsigned *usages)
{
  daneverify const *d = (daneverify const *)(void const *)ctx ;
  if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN ;
  return d->pkey ;
}

static br_x509_class const dv_vtable =
{
  .context_size = sizeof(daneverify),
  .start_chain = &dv_start_chain,
  .start_cert = &dv_start_cert,
  .append = &dv_append,
  .end_cert = &dv_end_cert,
  .end_chain = &dv_end_chain,
  .get_pkey = &dv_get_pkey
} ;

void daneverify_init (daneverify *d, tlsa_set const *set, char const *name)
{
  d->vtable = &dv_vtable ;
  d->tlsa = set ;
  d->name = name ;
  d->n = 0 ;
  d->used = 0 ;
  d->overflow = 0 ;
  d->pkey = 0 ;
  d->usage = -1 ;
  d->reason = 0 ;
  d->x509err = 0 ;
}
