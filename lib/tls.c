/* ISC license: see LICENSE. */

/*
 * BearSSL glue: PEM loading, and a server engine pumped over two
 * nonblocking descriptors (the UCSPI fds 0 and 1) with absolute deadlines,
 * its private key held here or by smtp-keyd.
 */

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <bearssl.h>

#include <skalibs/alloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/random.h>

#include "ecimpl.h"
#include "keyd.h"
#include "tcpack.h"
#include "tls.h"
#include "tlsname.h"

typedef struct sactx_s sactx ;
struct sactx_s { stralloc *sa ; int err ; } ;

static void sa_append (void *ctx, void const *s, size_t len)
{
  sactx *x = ctx ;
  if (!x->err && !stralloc_catb(x->sa, s, len)) x->err = errno ? errno : ENOMEM ;
}

int tls_pem_read (char const *file, stralloc *sa, genalloc *list)
{
  stralloc in = STRALLOC_ZERO ;
  br_pem_decoder_context pc ;
  tls_pemobj po = { 0, 0, 0 } ;
  sactx x = { .sa = sa, .err = 0 } ;
  int inobj = 0 ;
  char const *s ;
  size_t len ;
  if (!openslurpclose(&in, file)) return 0 ;
  /* the decoder loses a last object without a final newline */
  if (!stralloc_catb(&in, "\n", 1)) goto err ;
  br_pem_decoder_init(&pc) ;
  s = in.s ; len = in.len ;
  while (len)
  {
    size_t w = br_pem_decoder_push(&pc, s, len) ;
    s += w ; len -= w ;
    switch (br_pem_decoder_event(&pc))
    {
      case BR_PEM_BEGIN_OBJ :
        po.name = sa->len ;
        if (!stralloc_cats(sa, br_pem_decoder_name(&pc)) || !stralloc_0(sa)) goto err ;
        po.data = sa->len ;
        br_pem_decoder_setdest(&pc, &sa_append, &x) ;
        inobj = 1 ;
        break ;
      case BR_PEM_END_OBJ :
        if (inobj)
        {
          if (x.err) { errno = x.err ; goto err ; }
          po.len = sa->len - po.data ;
          if (!genalloc_append(tls_pemobj, list, &po)) goto err ;
          inobj = 0 ;
        }
        break ;
      case BR_PEM_ERROR : errno = EINVAL ; goto err ;
      default : break ;
    }
  }
  if (inobj) { errno = EINVAL ; goto err ; }
  /* the file may be a key */
  byte_zzero(in.s, in.a) ;
  stralloc_free(&in) ;
  return 1 ;
 err:
  {
    int e = errno ;
    if (in.s) byte_zzero(in.s, in.a) ;
    stralloc_free(&in) ;
    errno = e ;
  }
  return 0 ;
}

/*
 * Server preference order: AES-GCM first when the CPU has AES-NI and
 * PCLMULQDQ (BearSSL's x86ni AES and pclmul GHASH, constant time and
 * faster than ChaCha20), ChaCha20 first otherwise (BearSSL's portable AES
 * is slow, its ChaCha20 has an SSE2 version). Indexed [aesni][i].
 */
static uint16_t const suites_rsa[2][3] =
{
  {
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
  },
  {
    BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  }
} ;
static uint16_t const suites_ec[2][3] =
{
  {
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  },
  {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  }
} ;

/*
 * The implementations, chosen here once per process rather than by
 * br_ssl_server_init_full_*, which sets up every record cipher BearSSL
 * has (CBC, CCM, 3DES as well) and probes the CPU for each (CPUID, a
 * trap to the hypervisor in a virtual machine), for suites we never
 * enable. The _get functions return 0 where the CPU or the compiler
 * lacks the instructions; the portable fallbacks are the 64-bit constant
 * time ones. Curves: lib/ecimpl's, libsodium's X25519 and BearSSL's
 * br_ec_all_m31 for the rest (Debian's 0.6 has no 64-bit curve code,
 * br_ec_p256_m64 and br_ec_c25519_m64 came after it), with libsodium
 * initialised here, once per process; RSA:
 * the i62 code where the compiler has 128-bit products, which is what
 * br_rsa_*_get_default() return in 0.6.
 */
typedef struct impls_s impls ;
struct impls_s
{
  br_block_ctr_class const *aes_ctr ;
  br_ghash ghash ;
  br_chacha20_run chacha20 ;
  br_poly1305_run poly1305 ;
  br_ec_impl const *ec ;
  int aesni ;
} ;

static impls const *impls_get (void)
{
  static impls x ;
  static int done = 0 ;
  if (!done)
  {
    br_block_ctr_class const *ctr = br_aes_x86ni_ctr_get_vtable() ;
    x.ghash = br_ghash_pclmul_get() ;
    x.aesni = ctr && x.ghash ;
    x.aes_ctr = ctr ? ctr : &br_aes_ct64_ctr_vtable ;
    if (!x.ghash) x.ghash = &br_ghash_ctmul64 ;
    x.chacha20 = br_chacha20_sse2_get() ;
    if (!x.chacha20) x.chacha20 = &br_chacha20_ct_run ;
    x.poly1305 = br_poly1305_ctmulq_get() ;
    if (!x.poly1305) x.poly1305 = &br_poly1305_ctmul_run ;
    x.ec = ecimpl_get() ;
    done = 1 ;
  }
  return &x ;
}

/*
 * What the engine needs for our suites (TLS 1.2, ECDHE, AEAD). BearSSL
 * runs every hash set here over the whole handshake transcript, so only
 * those with a use are set: SHA-256 and SHA-384, the PRFs of our suites
 * (RFC 5246 §5, §7.4.9), which also sign the ServerKeyExchange; SHA-1,
 * the signature hash of a client that sends no signature_algorithms
 * (RFC 5246 §7.4.1.4.1). MD5 served TLS 1.0 and 1.1 only. SHA-224 and
 * SHA-512 are left out: a client that offers them offers SHA-256 too
 * (OpenSSL, GnuTLS, BearSSL, Go do), and one that did not would get a
 * handshake failure, not a weaker signature.
 */
static void engine_setup (br_ssl_engine_context *eng, impls const *x)
{
  br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable) ;
  br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable) ;
  br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable) ;
  br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf) ;
  br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf) ;
  br_ssl_engine_set_ec(eng, x->ec) ;
  br_ssl_engine_set_gcm(eng, &br_sslrec_in_gcm_vtable, &br_sslrec_out_gcm_vtable) ;
  br_ssl_engine_set_aes_ctr(eng, x->aes_ctr) ;
  br_ssl_engine_set_ghash(eng, x->ghash) ;
  br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable) ;
  br_ssl_engine_set_chacha20(eng, x->chacha20) ;
  br_ssl_engine_set_poly1305(eng, x->poly1305) ;
}

int tls_chain_load (tls_chain *c, char const *file)
{
  stralloc sa = STRALLOC_ZERO ;
  genalloc objs = GENALLOC_ZERO ;
  struct stat st ;
  tls_pemobj const *o ;
  size_t n, i, ncert = 0, len = 0 ;
  tls_chain_free(c) ;
  /* before the read: a file replaced in between is only read again */
  if (stat(file, &st) < 0) return 0 ;
  if (!tls_pem_read(file, &sa, &objs)) goto err ;
  n = genalloc_len(tls_pemobj, &objs) ;
  o = genalloc_s(tls_pemobj, &objs) ;
  for (i = 0 ; i < n ; i++)
    if (!strcmp(sa.s + o[i].name, "CERTIFICATE")) { ncert++ ; len += o[i].len ; }
  if (!ncert) { errno = EINVAL ; goto err ; }
  /* sized once: the certificates' pointers into c->sa stay valid */
  if (!stralloc_ready(&c->sa, len)) goto err ;
  c->certs = alloc(ncert * sizeof(br_x509_certificate)) ;
  if (!c->certs) goto err ;
  for (i = 0 ; i < n ; i++)
    if (!strcmp(sa.s + o[i].name, "CERTIFICATE"))
    {
      c->certs[c->n].data = (unsigned char *)c->sa.s + c->sa.len ;
      c->certs[c->n++].data_len = o[i].len ;
      memcpy(c->sa.s + c->sa.len, sa.s + o[i].data, o[i].len) ;
      c->sa.len += o[i].len ;
    }
  c->dev = st.st_dev ;
  c->ino = st.st_ino ;
  c->size = st.st_size ;
  c->mtime = st.st_mtim ;
  c->ctime = st.st_ctim ;
  /* a key in the same file is not kept */
  byte_zzero(sa.s, sa.a) ;
  stralloc_free(&sa) ;
  genalloc_free(tls_pemobj, &objs) ;
  return 1 ;
 err:
  {
    int e = errno ;
    byte_zzero(sa.s, sa.a) ;
    stralloc_free(&sa) ;
    genalloc_free(tls_pemobj, &objs) ;
    tls_chain_free(c) ;
    errno = e ;
  }
  return 0 ;
}

int tls_chain_current (tls_chain const *c, char const *file)
{
  struct stat st ;
  if (!c->n || stat(file, &st) < 0) return 0 ;
  return st.st_dev == c->dev && st.st_ino == c->ino && st.st_size == c->size
    && st.st_mtim.tv_sec == c->mtime.tv_sec && st.st_mtim.tv_nsec == c->mtime.tv_nsec
    && st.st_ctim.tv_sec == c->ctime.tv_sec && st.st_ctim.tv_nsec == c->ctime.tv_nsec ;
}

void tls_chain_free (tls_chain *c)
{
  stralloc_free(&c->sa) ;
  if (c->certs) alloc_free(c->certs) ;
  c->certs = 0 ;
  c->n = 0 ;
}

/* what a server knew is zeroed before its memory goes back to malloc
   (lib/tls.h, tls_server_free): a session process may serve another client */
void tls_server_free (tls_server *t)
{
  if (!t) return ;
  if (t->iobuf)
  {
    byte_zzero((char *)t->iobuf, BR_SSL_BUFSIZE_BIDI) ;
    alloc_free(t->iobuf) ;
  }
  if (t->sa.s) byte_zzero(t->sa.s, t->sa.a) ;
  stralloc_free(&t->sa) ;
  genalloc_free(tls_pemobj, &t->objs) ;
  if (t->chainown && t->chain) alloc_free(t->chain) ;
  /* the engine: keys, secrets, hashes, the ECDHE key, the decoded private key */
  byte_zzero((char *)t, sizeof(*t)) ;
  alloc_free(t) ;
}

/*
 * The policy used with smtp-keyd: BearSSL's single-chain policies, but
 * the signature of the ServerKeyExchange is asked of smtp-keyd. Only
 * ECDHE suites are enabled, so the engine never calls do_keyx (RSA key
 * exchange would need the key to decrypt, an oracle we do not offer).
 */
static tls_server *policy_server (br_ssl_server_policy_class const **pctx)
{
  return (tls_server *)(void *)((char *)pctx - offsetof(tls_server, policy)) ;
}

/* RFC 5246 §7.4.1.4.1 hash ids of the hashes engine_setup sets, in the order BearSSL's own policies prefer them */
static unsigned char const hash_pref[] = { 4, 5, 2 } ;

static int delegated_choose (br_ssl_server_policy_class const **pctx, br_ssl_server_context const *cc, br_ssl_server_choices *ch)
{
  tls_server *t = policy_server(pctx) ;
  size_t n, i = 0 ;
  br_suite_translated const *st = br_ssl_server_get_client_suites(cc, &n) ;
  /* bits 0-7: the hashes the client takes with RSA, bits 8-15 with ECDSA */
  uint32_t hashes = br_ssl_server_get_client_hashes(cc) >> (t->keytype == BR_KEYTYPE_EC ? 8 : 0) ;
  /* the common suites, in our order (BR_OPT_ENFORCE_SERVER_PREFERENCES): all ECDHE of our key's type */
  if (!n) return 0 ;
  for (; i < sizeof(hash_pref) ; i++) if (hashes & (1u << hash_pref[i])) break ;
  if (i == sizeof(hash_pref)) return 0 ;
  ch->cipher_suite = st[0][0] ;
  ch->algo_id = 0xFF00 + hash_pref[i] ;
  ch->chain = t->chain ;
  ch->chain_len = t->chainlen ;
  return 1 ;
}

static uint32_t delegated_keyx (br_ssl_server_policy_class const **pctx, unsigned char *data, size_t *len)
{
  return 0 ;
}

static size_t delegated_sign (br_ssl_server_policy_class const **pctx, unsigned algo_id, unsigned char *data, size_t hv_len, size_t len)
{
  tls_server *t = policy_server(pctx) ;
  char req[KEYD_REQ_MAX], rep[KEYD_REP_MAX] ;
  size_t n = algo_id >= 0xFF00 ? keyd_sign_fmt(req, algo_id & 0xFF, (char const *)data, hv_len) : 0 ;
  ssize_t r ;
  if (!n) return 0 ;
  r = keyd_call(t->keyd, req, n, rep, t->deadline) ;
  if (r < 2 || rep[0] != KEYD_OK || (size_t)(r - 1) > len) return 0 ;
  memcpy(data, rep + 1, r - 1) ;
  return r - 1 ;
}

static br_ssl_server_policy_class const delegated_policy =
{
  .context_size = sizeof(br_ssl_server_policy_class const *),
  .choose = &delegated_choose,
  .do_keyx = &delegated_keyx,
  .do_sign = &delegated_sign
} ;

/*
 * The session cache is smtp-keyd's (lib/tlscache), shared by every
 * session process of the listener: BearSSL saves a session after a full
 * handshake, and looks up the 32-octet ID a client presents in its
 * ClientHello. This process asks for that ID only: it never holds
 * another client's parameters. BearSSL resumes a loaded session if the
 * client still offers its suite, at its version if the client still
 * takes it; it checks neither against the server's own settings, so we
 * do: TLS 1.2, and one of the suites we enable for this key now (a
 * session made under another policy, or saved by a compromised session
 * process with a suite we never chose, is not resumed: a full handshake
 * follows). A failed request is a cache miss, never a failed handshake.
 */
static tls_server *cache_server (br_ssl_session_cache_class const **cctx)
{
  return (tls_server *)(void *)((char *)cctx - offsetof(tls_server, cache)) ;
}

static void keyd_save (br_ssl_session_cache_class const **cctx, br_ssl_server_context *sc, br_ssl_session_parameters const *sp)
{
  tls_server *t = cache_server(cctx) ;
  char req[KEYD_REQ_MAX], params[KEYD_SESSION_PARAMS] ;
  (void)sc ;
  t->saved = 1 ;
  if (sp->session_id_len != KEYD_SESSION_ID) return ;
  params[0] = sp->version >> 8 ; params[1] = sp->version & 0xff ;
  params[2] = sp->cipher_suite >> 8 ; params[3] = sp->cipher_suite & 0xff ;
  memcpy(params + 4, sp->master_secret, 48) ;
  keyd_post(t->keyd, req, keyd_save_fmt(req, (char const *)sp->session_id, params)) ;
  byte_zzero(params, sizeof(params)) ;
  byte_zzero(req, sizeof(req)) ;
}

static int keyd_load (br_ssl_session_cache_class const **cctx, br_ssl_server_context *sc, br_ssl_session_parameters *sp)
{
  tls_server *t = cache_server(cctx) ;
  char req[KEYD_REQ_MAX], rep[KEYD_REP_MAX] ;
  unsigned int i = 0 ;
  uint16_t version, suite ;
  ssize_t r ;
  (void)sc ;
  if (sp->session_id_len != KEYD_SESSION_ID) return 0 ;
  r = keyd_call(t->keyd, req, keyd_load_fmt(req, (char const *)sp->session_id), rep, t->deadline) ;
  if (r != 1 + KEYD_SESSION_PARAMS || rep[0] != KEYD_OK) return 0 ;
  version = (uint16_t)((unsigned char)rep[1] << 8 | (unsigned char)rep[2]) ;
  suite = (uint16_t)((unsigned char)rep[3] << 8 | (unsigned char)rep[4]) ;
  for (; i < 3 ; i++) if (t->suites[i] == suite) break ;
  if (version == BR_TLS12 && i < 3)
  {
    sp->version = version ;
    sp->cipher_suite = suite ;
    memcpy(sp->master_secret, rep + 5, 48) ;
    t->loaded = 1 ;
  }
  byte_zzero(rep, sizeof(rep)) ;
  return t->loaded ;
}

static br_ssl_session_cache_class const keyd_cache =
{
  .context_size = sizeof(br_ssl_session_cache_class const *),
  .save = &keyd_save,
  .load = &keyd_load
} ;

tls_server *tls_server_new (char const *certfile, tls_chain const *lent, char const *keyfile, int keyd, int cache, int fdr, int fdw, tain const *deadline)
{
  tls_server *t = alloc(sizeof(tls_server)) ;
  size_t n, i, ncert = 0, nkey ;
  tls_pemobj const *o ;
  impls const *x = impls_get() ;
  char rnd[32] ;
  if (!t) return 0 ;
  memset(t, 0, sizeof(*t)) ;
  t->sa = stralloc_zero ;
  t->objs = genalloc_zero ;
  t->fdr = fdr ; t->fdw = fdw ;
  t->keyd = keyd ;
  t->deadline = deadline ;
  if (lent && tls_chain_current(lent, certfile))
  {
    t->chain = lent->certs ;
    t->chainlen = lent->n ;
  }
  else if (!tls_pem_read(certfile, &t->sa, &t->objs)) goto err ;
  nkey = genalloc_len(tls_pemobj, &t->objs) ;
  if (keyd < 0 && !tls_pem_read(keyfile, &t->sa, &t->objs)) goto err ;
  n = genalloc_len(tls_pemobj, &t->objs) ;
  o = genalloc_s(tls_pemobj, &t->objs) ;
  /* the sa no longer grows: pointers into it are stable from here on */
  if (!t->chain)
  {
    for (i = 0 ; i < nkey ; i++) if (!strcmp(t->sa.s + o[i].name, "CERTIFICATE")) ncert++ ;
    if (!ncert) { errno = EINVAL ; goto err ; }
    t->chain = alloc(ncert * sizeof(br_x509_certificate)) ;
    if (!t->chain) goto err ;
    t->chainown = 1 ;
    for (i = 0 ; i < nkey ; i++)
      if (!strcmp(t->sa.s + o[i].name, "CERTIFICATE"))
      {
        t->chain[t->chainlen].data = (unsigned char *)t->sa.s + o[i].data ;
        t->chain[t->chainlen++].data_len = o[i].len ;
      }
  }
  if (keyd >= 0)
  {
    /* smtp-keyd reads the key now: an unusable one is a 454 to STARTTLS, not a failed handshake */
    char req = KEYD_KEY, rep[KEYD_REP_MAX] ;
    ssize_t r = keyd_call(keyd, &req, 1, rep, deadline) ;
    if (r < 0) goto err ;
    if (r != 2 || rep[0] != KEYD_OK) { errno = EINVAL ; goto err ; }
    t->keytype = (unsigned char)rep[1] ;
  }
  else
  {
    br_skey_decoder_init(&t->skey) ;
    for (i = nkey ; i < n ; i++)
    {
      char const *name = t->sa.s + o[i].name ;
      if (!strcmp(name, "PRIVATE KEY") || !strcmp(name, "RSA PRIVATE KEY") || !strcmp(name, "EC PRIVATE KEY"))
      {
        br_skey_decoder_push(&t->skey, t->sa.s + o[i].data, o[i].len) ;
        break ;
      }
    }
    if (i == n || br_skey_decoder_last_error(&t->skey)) { errno = EINVAL ; goto err ; }
    t->keytype = br_skey_decoder_key_type(&t->skey) ;
  }
  br_ssl_server_zero(&t->sc) ;
  engine_setup(&t->sc.eng, x) ;
  if (t->keytype == BR_KEYTYPE_RSA)
  {
    static br_rsa_private_key const none = { 0 } ;
    br_ssl_server_set_single_rsa(&t->sc, t->chain, t->chainlen, keyd < 0 ? br_skey_decoder_get_rsa(&t->skey) : &none,
      BR_KEYTYPE_SIGN, br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default()) ;
    t->suites = suites_rsa[x->aesni] ;
  }
  else if (t->keytype == BR_KEYTYPE_EC)
  {
    static br_ec_private_key const none = { 0 } ;
    /* the issuer key type matters only for the static ECDH suites, which we never enable */
    br_ssl_server_set_single_ec(&t->sc, t->chain, t->chainlen, keyd < 0 ? br_skey_decoder_get_ec(&t->skey) : &none,
      BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(), br_ecdsa_sign_asn1_get_default()) ;
    t->suites = suites_ec[x->aesni] ;
  }
  else { errno = EINVAL ; goto err ; }
  br_ssl_engine_set_suites(&t->sc.eng, t->suites, 3) ;
  if (keyd >= 0)
  {
    /* the key placeholder above is never used: this policy replaces the single-key one */
    t->policy = &delegated_policy ;
    br_ssl_server_set_policy(&t->sc, &t->policy) ;
    if (cache)
    {
      t->cache = &keyd_cache ;
      br_ssl_server_set_cache(&t->sc, &t->cache) ;
    }
  }
  br_ssl_engine_set_versions(&t->sc.eng, BR_TLS12, BR_TLS12) ;
  br_ssl_engine_add_flags(&t->sc.eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION) ;
  t->iobuf = alloc(BR_SSL_BUFSIZE_BIDI) ;
  if (!t->iobuf) goto err ;
  br_ssl_engine_set_buffer(&t->sc.eng, t->iobuf, BR_SSL_BUFSIZE_BIDI, 1) ;
  random_buf(rnd, sizeof(rnd)) ;
  br_ssl_engine_inject_entropy(&t->sc.eng, rnd, sizeof(rnd)) ;
  byte_zzero(rnd, sizeof(rnd)) ;
  if (!br_ssl_server_reset(&t->sc)) { errno = EINVAL ; goto err ; }
  return t ;
 err:
  {
    int e = errno ;
    tls_server_free(t) ;
    errno = e ;
  }
  return 0 ;
}

/* one write of the gathered records: 1 (some or all went), 0 (EAGAIN), -1 (error) */
static int out_write (tls_server *t)
{
  ssize_t w = fd_write(t->fdw, (char const *)t->out, t->outlen) ;
  if (w < 0) return error_isagain(errno) ? 0 : -1 ;
  t->outlen -= w ;
  memmove(t->out, t->out + w, t->outlen) ;
  return 1 ;
}

/* the engine's next record: gathered in t->out if it fits (2), else
   what was gathered written, or the record itself when nothing was:
   1 (some went), 0 (EAGAIN), -1 (error) */
static int send_rec (tls_server *t)
{
  br_ssl_engine_context *eng = &t->sc.eng ;
  size_t len ;
  unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len) ;
  ssize_t w ;
  if (len <= sizeof(t->out) - t->outlen)
  {
    memcpy(t->out + t->outlen, buf, len) ;
    t->outlen += len ;
    br_ssl_engine_sendrec_ack(eng, len) ;
    return 2 ;
  }
  if (t->outlen) return out_write(t) ;
  w = fd_write(t->fdw, (char const *)buf, len) ;
  if (w < 0) return error_isagain(errno) ? 0 : -1 ;
  br_ssl_engine_sendrec_ack(eng, w) ;
  return 1 ;
}

/*
 * Runs the engine until its state has a bit of want, or is closed.
 * Returns the state, or -1 (ETIMEDOUT, EPIPE on TCP EOF, I/O error).
 *
 * The descriptors are nonblocking, and each transfer is tried before
 * any wait: iopause comes only after an EAGAIN. BearSSL asks for a
 * record's 5-octet header, then for its body: read as asked, that is
 * two reads per record, six for a client's ClientKeyExchange,
 * ChangeCipherSpec and Finished, which come in one segment. So a read
 * for less than t->in takes what the socket holds, up to t->in's size,
 * and the engine is fed from there, as much as it asks for at a time,
 * before any other read or wait: one read per flight or SMTP command
 * (a pipelining client's records may follow in it, and stay staged
 * until the engine wants them). A read for more (a large record's
 * body, once t->in is empty) goes to the engine's buffer directly. A
 * read that filled its buffer is followed by the next at once, more
 * being most likely there; a read that got less, the first read of a
 * call, or one after a write (the peer has yet to answer), waits for
 * the descriptor first.
 *
 * BearSSL makes one record at a time, and a flight of the handshake
 * may be several: ChangeCipherSpec then Finished; ServerHello,
 * ChangeCipherSpec and Finished when a session is resumed. Records that
 * fit in t->out are gathered there as the engine makes them, and go out
 * in one write (one TCP segment) once it has nothing more to send; a
 * larger record goes out from the engine's buffer, after what was
 * gathered. Nothing gathered is left behind when pump returns its
 * state: the peer may be waiting for it (a closed engine's last alert
 * gets one try). Staged records are the client's ciphertext: they go
 * with the tls_server, zeroed (tls_server_free).
 */
static int pump (tls_server *t, unsigned int want, tain const *deadline)
{
  br_ssl_engine_context *eng = &t->sc.eng ;
  int rwait = 1, wwait = 0 ;
  t->deadline = deadline ;
  for (;;)
  {
    unsigned int st = br_ssl_engine_current_state(eng) ;
    iopause_fd x[2] ;
    unsigned int n = 0, iw = 2, ir = 2 ;
    int r ;
    if (st & BR_SSL_CLOSED)
    {
      if (t->outlen) out_write(t) ;
      t->outlen = 0 ;
      return (int)st ;
    }
    if (st & BR_SSL_SENDREC && !wwait)
    {
      r = send_rec(t) ;
      if (r == 2) continue ;
      if (r < 0) return -1 ;
      if (!r) wwait = 1 ;
      else rwait = 1 ;
      continue ;
    }
    if (t->outlen && !wwait)
    {
      r = out_write(t) ;
      if (r < 0) return -1 ;
      if (!r) wwait = 1 ;
      else rwait = 1 ;
      continue ;
    }
    if (st & want && !t->outlen) return (int)st ;
    if (st & BR_SSL_RECVREC && (t->inlen || !rwait))
    {
      size_t len ;
      unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len) ;
      ssize_t w ;
      if (!t->inlen && len < sizeof(t->in))
      {
        w = fd_read(t->fdr, (char *)t->in, sizeof(t->in)) ;
        if (!w) return (errno = EPIPE, -1) ;
        if (w < 0)
        {
          if (!error_isagain(errno)) return -1 ;
          rwait = 1 ;
          continue ;
        }
        t->inpos = 0 ;
        t->inlen = w ;
        rwait = (size_t)w < sizeof(t->in) ;
      }
      if (t->inlen)
      {
        size_t k = t->inlen < len ? t->inlen : len ;
        memcpy(buf, t->in + t->inpos, k) ;
        t->inpos += k ;
        t->inlen -= k ;
        br_ssl_engine_recvrec_ack(eng, k) ;
        continue ;
      }
      w = fd_read(t->fdr, (char *)buf, len) ;
      if (!w) return (errno = EPIPE, -1) ;
      if (w > 0)
      {
        br_ssl_engine_recvrec_ack(eng, w) ;
        rwait = (size_t)w < len ;
      }
      else if (error_isagain(errno)) rwait = 1 ;
      else return -1 ;
      continue ;
    }
    /* here what is to be sent waits for the descriptor (wwait), and so does a read (rwait) */
    if (st & BR_SSL_SENDREC || t->outlen) { x[n].fd = t->fdw ; x[n].events = IOPAUSE_WRITE ; x[n].revents = 0 ; iw = n++ ; }
    if (st & BR_SSL_RECVREC) { x[n].fd = t->fdr ; x[n].events = IOPAUSE_READ ; x[n].revents = 0 ; ir = n++ ; }
    if (!n) return (errno = EPROTO, -1) ;
    r = iopause_g(x, n, deadline) ;
    if (r < 0) return -1 ;
    if (!r) return (errno = ETIMEDOUT, -1) ;
    if (iw < 2 && x[iw].revents & (IOPAUSE_WRITE | IOPAUSE_EXCEPT)) wwait = 0 ;
    if (ir < 2 && x[ir].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT)) rwait = 0 ;
  }
}

/*
 * A resumption's last flight is the client's ChangeCipherSpec and
 * Finished (RFC 5246 §7.3, figure 2), and after STARTTLS the client
 * speaks next (EHLO, RFC 3207 §4.2) with nothing from us in between: a
 * client with Nagle's algorithm on would hold its EHLO until Linux's
 * delayed ACK of the flight (lib/tcpack). So it is ACKed at once (on the
 * smtps port our greeting follows anyway, and this is one segment
 * more). Best effort: the descriptor may be no TCP socket (a pipe in
 * tests).
 */
int tls_handshake (tls_server *t, tain const *deadline)
{
  int st = pump(t, BR_SSL_SENDAPP, deadline) ;
  if (st < 0) return 0 ;
  if (st & BR_SSL_CLOSED) return (errno = EPROTO, 0) ;
  if (tls_resumed(t)) tcpack_now(t->fdr) ;
  return 1 ;
}

ssize_t tls_read (tls_server *t, char *buf, size_t len, tain const *deadline)
{
  unsigned char *p ;
  size_t n ;
  int st = pump(t, BR_SSL_RECVAPP, deadline) ;
  if (st < 0) return errno == EPIPE ? 0 : -1 ;
  if (st & BR_SSL_CLOSED) return br_ssl_engine_last_error(&t->sc.eng) ? (errno = EPROTO, -1) : 0 ;
  p = br_ssl_engine_recvapp_buf(&t->sc.eng, &n) ;
  if (n > len) n = len ;
  memcpy(buf, p, n) ;
  br_ssl_engine_recvapp_ack(&t->sc.eng, n) ;
  return (ssize_t)n ;
}

/*
 * What the engine holds to send, written. Records that fit in t->out are
 * gathered there as pump does, so that the last reply and the
 * close_notify after it go in one write (tls_close); a write is tried
 * before any wait. 1 when all is written, or 0 (errno; EPIPE: the engine
 * is closed).
 */
static int flush (tls_server *t, tain const *deadline)
{
  br_ssl_engine_context *eng = &t->sc.eng ;
  br_ssl_engine_flush(eng, 0) ;
  for (;;)
  {
    unsigned int st = br_ssl_engine_current_state(eng) ;
    iopause_fd x = { .fd = t->fdw, .events = IOPAUSE_WRITE, .revents = 0 } ;
    int r ;
    if (st & BR_SSL_SENDREC) r = send_rec(t) ;
    else if (t->outlen) r = out_write(t) ;
    else return st & BR_SSL_CLOSED ? (errno = EPIPE, 0) : 1 ;
    if (r < 0) return 0 ;
    if (r) continue ;
    r = iopause_g(&x, 1, deadline) ;
    if (r < 0) return 0 ;
    if (!r) return (errno = ETIMEDOUT, 0) ;
  }
}

/* plaintext into the engine, as much as it takes at a time: 1, or 0 (errno) */
static int put (tls_server *t, char const *s, size_t len, tain const *deadline)
{
  while (len)
  {
    unsigned char *p ;
    size_t n ;
    int st = pump(t, BR_SSL_SENDAPP, deadline) ;
    if (st < 0) return 0 ;
    if (st & BR_SSL_CLOSED) return (errno = EPIPE, 0) ;
    p = br_ssl_engine_sendapp_buf(&t->sc.eng, &n) ;
    if (n > len) n = len ;
    memcpy(p, s, n) ;
    br_ssl_engine_sendapp_ack(&t->sc.eng, n) ;
    s += n ; len -= n ;
  }
  return 1 ;
}

int tls_write (tls_server *t, char const *s, size_t len, tain const *deadline)
{
  return put(t, s, len, deadline) && flush(t, deadline) ;
}

/* BearSSL's close makes the record of what put left, then the
   close_notify (RFC 5246 §7.2.1): flush gathers both */
void tls_close (tls_server *t, char const *s, size_t len, tain const *deadline)
{
  if (!put(t, s, len, deadline)) return ;
  br_ssl_engine_close(&t->sc.eng) ;
  flush(t, deadline) ;
}

int tls_pending (tls_server const *t)
{
  return !!(br_ssl_engine_current_state(&t->sc.eng) & BR_SSL_RECVAPP) ;
}

unsigned int tls_suite (tls_server const *t)
{
  br_ssl_session_parameters sp ;
  br_ssl_engine_get_session_parameters(&t->sc.eng, &sp) ;
  return sp.cipher_suite ;
}

int tls_resumed (tls_server const *t)
{
  /* a resumption cancelled after the load (the client no longer offers the suite) is a full handshake, which saves */
  return t->loaded && !t->saved ;
}

char const *tls_version (tls_server const *t)
{
  return tlsname_version(br_ssl_engine_get_version(&t->sc.eng)) ;
}

int tls_last_error (tls_server const *t)
{
  return br_ssl_engine_last_error(&t->sc.eng) ;
}
