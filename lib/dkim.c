/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bearssl.h>

#include <skalibs/types.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include "address.h"
#include "base64.h"
#include "dkim.h"

/* the names signed (lower case), From first: the order of h= */
static char const *const names[DKIM_NAMES] =
{
  "from", "to", "cc", "subject", "date", "message-id", "reply-to",
  "mime-version", "content-type", "content-transfer-encoding",
  "in-reply-to", "references",
  "list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post",
  "list-subscribe", "list-post", "list-owner", "list-archive"
} ;

enum state_e { H_BOL, H_NAME, H_REST, H_BODY } ;

/* where canonical octets go: a hash, or (the tests) a stralloc; buffered */
typedef struct sink_s sink ;
struct sink_s
{
  br_sha256_context *h ;
  stralloc *sa ;
  int err ;
  size_t len ;
  char buf[1024] ;
} ;

static void sink_flush (sink *k)
{
  if (k->h) br_sha256_update(k->h, k->buf, k->len) ;
  else if (!k->err && !stralloc_catb(k->sa, k->buf, k->len)) k->err = errno ;
  k->len = 0 ;
}

static inline void sink_put (sink *k, char c)
{
  if (k->len == sizeof(k->buf)) sink_flush(k) ;
  k->buf[k->len++] = c ;
}

static void sink_puts (sink *k, char const *s, size_t n)
{
  while (n--) sink_put(k, *s++) ;
}

/*
 * Relaxed body canonicalization, §3.4.4, on the stored form: a LF is a
 * line end (CRLF); blanks (SP, HTAB) are held back until something else
 * follows on the line, then written as one space; line ends are held
 * back until a line with something on it follows, so that the empty
 * lines at the end are never written; a non-empty body then ends with
 * one CRLF (body_end).
 */
static void body_feed (uint64_t *crlf, unsigned char *sp, unsigned char *nonempty, sink *k, char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    char c = s[i] ;
    if (c == '\n') { *sp = 0 ; (*crlf)++ ; }
    else if (c == ' ' || c == '\t') *sp = 1 ;
    else
    {
      for (; *crlf ; (*crlf)--) sink_puts(k, "\r\n", 2) ;
      if (*sp) { sink_put(k, ' ') ; *sp = 0 ; }
      sink_put(k, c) ;
      *nonempty = 1 ;
    }
  }
}

static void body_end (unsigned char nonempty, sink *k)
{
  if (nonempty) sink_puts(k, "\r\n", 2) ;
}

/*
 * Relaxed header canonicalization, §3.4.2, of one field as stored: the
 * name lower-cased, blanks around the colon dropped, the value unfolded
 * (a LF is dropped: the blank after it stays, and joins the run), runs
 * of blanks made one space, blanks at the end dropped. A stateful
 * machine, so that a field may come in pieces (pread).
 */
enum hc_e { HC_NAME, HC_VALSTART, HC_VAL } ;
typedef struct hcanon_s hcanon ;
struct hcanon_s { unsigned char state ; unsigned char sp ; } ;

static void hc_feed (hcanon *h, sink *k, char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++)
  {
    char c = s[i] ;
    switch (h->state)
    {
      case HC_NAME :
        if (c == ':') { sink_put(k, ':') ; h->state = HC_VALSTART ; }
        else if (c != ' ' && c != '\t' && c != '\n') sink_put(k, c >= 'A' && c <= 'Z' ? c + 32 : c) ;
        break ;
      case HC_VALSTART :
        if (c == ' ' || c == '\t' || c == '\n') break ;
        h->state = HC_VAL ;
        sink_put(k, c) ;
        break ;
      default :
        if (c == '\n') break ;
        if (c == ' ' || c == '\t') { h->sp = 1 ; break ; }
        if (h->sp) { sink_put(k, ' ') ; h->sp = 0 ; }
        sink_put(k, c) ;
        break ;
    }
  }
}

int dkim_canon_header (char const *s, size_t len, stralloc *sa)
{
  sink k = { .h = 0, .sa = sa, .err = 0, .len = 0 } ;
  hcanon h = { .state = HC_NAME, .sp = 0 } ;
  hc_feed(&h, &k, s, len) ;
  sink_puts(&k, "\r\n", 2) ;
  sink_flush(&k) ;
  return k.err ? (errno = k.err, 0) : 1 ;
}

int dkim_canon_body (char const *s, size_t len, stralloc *sa)
{
  sink k = { .h = 0, .sa = sa, .err = 0, .len = 0 } ;
  uint64_t crlf = 0 ;
  unsigned char sp = 0, nonempty = 0 ;
  body_feed(&crlf, &sp, &nonempty, &k, s, len) ;
  body_end(nonempty, &k) ;
  sink_flush(&k) ;
  return k.err ? (errno = k.err, 0) : 1 ;
}

void dkim_init (dkim *d)
{
  memset(d, 0, sizeof(*d)) ;
  br_sha256_init(&d->body) ;
  d->state = H_BOL ;
  d->cur = -1 ;
}

static int lookup (char const *s, size_t n)
{
  unsigned int i = 0 ;
  /* RFC 5322 §4.5's obsolete form: blanks before the colon */
  while (n && (s[n-1] == ' ' || s[n-1] == '\t')) n-- ;
  for (; i < DKIM_NAMES ; i++) if (strlen(names[i]) == n && !strncasecmp(names[i], s, n)) return i ;
  return -1 ;
}

static void field_end (dkim *d)
{
  if (d->cur >= 0)
  {
    dkim_field *f = &d->ring[d->cur][d->count[d->cur] % DKIM_PER_NAME] ;
    f->off = d->curoff ;
    f->len = d->pos - d->curoff ;
    d->count[d->cur]++ ;
  }
  d->cur = -1 ;
}

void dkim_feed (dkim *d, char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len && d->state != H_BODY ; i++, d->pos++)
  {
    char c = s[i] ;
    switch (d->state)
    {
      case H_BOL :
        if (c == '\n') { field_end(d) ; d->state = H_BODY ; break ; }
        if (c == ' ' || c == '\t') { d->state = H_REST ; break ; }
        field_end(d) ;
        d->curoff = d->pos ;
        d->name[0] = c ; d->namelen = 1 ;
        d->state = H_NAME ;
        break ;
      case H_NAME :
        if (c == ':') { d->cur = lookup(d->name, d->namelen) ; d->state = H_REST ; }
        else if (c == '\n') d->state = H_BOL ;  /* no colon: no field of ours */
        else if (d->namelen < sizeof(d->name)) d->name[d->namelen++] = c ;
        break ;
      default :
        if (c == '\n') d->state = H_BOL ;
        break ;
    }
  }
  if (i < len)
  {
    sink k = { .h = &d->body, .sa = 0, .err = 0, .len = 0 } ;
    body_feed(&d->crlf, &d->sp, &d->nonempty, &k, s + i, len - i) ;
    sink_flush(&k) ;
    d->pos += len - i ;
  }
}

void dkim_end (dkim *d, unsigned char *bh)
{
  sink k = { .h = &d->body, .sa = 0, .err = 0, .len = 0 } ;
  if (d->state != H_BODY) { field_end(d) ; d->state = H_BODY ; }
  body_end(d->nonempty, &k) ;
  sink_flush(&k) ;
  br_sha256_out(&d->body, bh) ;
}

/* the field f of the message, read from fd at base, through the canonicalizer into k */
static int field_hash (dkim_field const *f, int fd, uint64_t base, sink *k)
{
  char buf[4096] ;
  hcanon h = { .state = HC_NAME, .sp = 0 } ;
  uint64_t done = 0 ;
  while (done < f->len)
  {
    size_t n = f->len - done < sizeof(buf) ? f->len - done : sizeof(buf) ;
    ssize_t r = pread(fd, buf, n, base + f->off + done) ;
    if (r < 0) return 0 ;
    if (!r) return (errno = EINVAL, 0) ;
    hc_feed(&h, k, buf, r) ;
    done += r ;
  }
  sink_puts(k, "\r\n", 2) ;
  return 1 ;
}

/*
 * The domain of a From field's first address: after the colon, the
 * first angle-addr's content if there is one, else the addr-spec;
 * comments and quoted strings skipped, so that neither a display name
 * nor a comment can hold the '<' or the '@' that counts; the domain is
 * after the last '@'. Total: any input gives 1 or 0.
 */
int dkim_from_domain (char const *s, size_t len, char *domain)
{
  char addr[DKIM_DOMAIN_MAX + 1] ;
  size_t i = 0, n = 0 ;
  unsigned int depth = 0 ;
  int quoted = 0, angle = 0, haveat = 0, over = 0 ;
  char const *colon = memchr(s, ':', len) ;
  if (!colon) return 0 ;
  i = colon + 1 - s ;
  for (; i < len ; i++)
  {
    char c = s[i] ;
    if (quoted)
    {
      if (c == '\\') i++ ;
      else if (c == '"') quoted = 0 ;
      continue ;
    }
    if (depth)
    {
      if (c == '\\') i++ ;
      else if (c == '(') depth++ ;
      else if (c == ')') depth-- ;
      continue ;
    }
    if (c == '(') { depth = 1 ; continue ; }
    if (c == '"') { quoted = 1 ; continue ; }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue ;
    if (c == '>' && angle) break ;
    /* the end of the first mailbox */
    if (!angle && (c == ',' || c == ';')) break ;
    /* an angle-addr (what came before was a display name), or a group's name before ':': start again */
    if (c == '<' || (!angle && c == ':'))
    {
      if (c == '<') angle = 1 ;
      n = 0 ; haveat = 0 ; over = 0 ;
      continue ;
    }
    if (c == '@') { haveat = 1 ; n = 0 ; over = 0 ; continue ; }
    if (!haveat) continue ;
    if (n >= DKIM_DOMAIN_MAX) over = 1 ;
    else addr[n++] = c >= 'A' && c <= 'Z' ? c + 32 : c ;
  }
  if (!haveat || over || !n) return 0 ;
  /* a domain literal or anything that is not a host name: no signature */
  if (!address_domain_valid(addr, n, 0)) return 0 ;
  memcpy(domain, addr, n) ;
  domain[n] = 0 ;
  return 1 ;
}

int dkim_from (dkim const *d, int fd, uint64_t base, char *domain)
{
  char buf[4096] ;
  dkim_field const *f = &d->ring[0][0] ;
  size_t n ;
  ssize_t r ;
  if (d->count[0] != 1) return 0 ;
  /* the address is near the start of the field; a From field longer than this is cut */
  n = f->len < sizeof(buf) ? f->len : sizeof(buf) ;
  r = pread(fd, buf, n, base + f->off) ;
  if (r < 0) return -1 ;
  return dkim_from_domain(buf, r, domain) ;
}

/* folding: a word goes on the line if it fits in DKIM_LINE columns, else on a new one */
typedef struct fold_s fold ;
struct fold_s
{
  stralloc *sa ;
  size_t col ;
} ;

static int word (fold *f, char const *s, size_t len, int space)
{
  if (f->col + space + len > DKIM_LINE && f->col > 1)
  {
    if (!stralloc_catb(f->sa, "\n ", 2)) return 0 ;
    f->col = 1 ;
  }
  else if (space)
  {
    if (!stralloc_catb(f->sa, " ", 1)) return 0 ;
    f->col++ ;
  }
  if (!stralloc_catb(f->sa, s, len)) return 0 ;
  f->col += len ;
  return 1 ;
}

static int tag (fold *f, char const *name, char const *value, size_t vlen)
{
  char buf[DKIM_DOMAIN_MAX + 8] ;
  size_t n = strlen(name) ;
  if (n + vlen + 2 > sizeof(buf)) return (errno = EINVAL, 0) ;
  memcpy(buf, name, n) ;
  buf[n++] = '=' ;
  memcpy(buf + n, value, vlen) ;
  n += vlen ;
  buf[n++] = ';' ;
  return word(f, buf, n, 1) ;
}

/* a base64 value that may be cut anywhere (§3.5: FWS in base64 is ignored) */
static int flow (fold *f, char const *s, size_t len)
{
  while (len)
  {
    size_t room, n ;
    if (f->col + 8 > DKIM_LINE)
    {
      if (!stralloc_catb(f->sa, "\n ", 2)) return 0 ;
      f->col = 1 ;
    }
    room = DKIM_LINE - f->col ;
    n = len < room ? len : room ;
    if (!stralloc_catb(f->sa, s, n)) return 0 ;
    f->col += n ; s += n ; len -= n ;
  }
  return 1 ;
}

/* the h= list: (row, instance from the bottom) pairs, From over-signed */
typedef struct hent_s hent ;
struct hent_s { unsigned char row ; unsigned char back ; } ;

static unsigned int hlist (dkim const *d, hent *h)
{
  unsigned int n = 0, row = 0 ;
  for (; row < DKIM_NAMES ; row++)
  {
    unsigned int c = d->count[row], j = 0 ;
    if (c > DKIM_PER_NAME) c = DKIM_PER_NAME ;
    /* From once more than present: the extra entry hashes nothing, and no From can be added */
    if (!row) c++ ;
    for (; j < c && n < DKIM_H_MAX ; j++, n++) { h[n].row = row ; h[n].back = j ; }
  }
  return n ;
}

int dkim_sign (dkim const *d, dkimkey const *key, char const *domain, char const *selector, uint64_t t, unsigned char const *bh, int fd, uint64_t base, stralloc *out)
{
  br_sha256_context hh ;
  sink k = { .h = &hh, .sa = 0, .err = 0, .len = 0 } ;
  hent h[DKIM_H_MAX] ;
  unsigned int nh = hlist(d, h), i = 0 ;
  size_t start = out->len, bstart ;
  fold f = { .sa = out, .col = 15 } ;
  stralloc tmp = STRALLOC_ZERO ;
  unsigned char sig[DKIMKEY_SIG_MAX], hash[32] ;
  size_t siglen = dkimkey_siglen(key) ;
  char fmt[UINT64_FMT] ;
  char const *alg = dkimkey_algorithm(key->type) ;
  int e ;

  br_sha256_init(&hh) ;
  if (!stralloc_cats(out, "DKIM-Signature:")
   || !tag(&f, "v", "1", 1) || !tag(&f, "a", alg, strlen(alg))
   || !tag(&f, "c", "relaxed/relaxed", 15)
   || !tag(&f, "d", domain, strlen(domain)) || !tag(&f, "s", selector, strlen(selector))
   || !tag(&f, "t", fmt, uint64_fmt(fmt, t))) goto err ;
  for (; i < nh ; i++)
  {
    char buf[DKIM_NAME_MAX + 4] ;
    size_t n = 0 ;
    char const *name = names[h[i].row] ;
    unsigned int c = d->count[h[i].row] ;
    if (!i) { memcpy(buf, "h=", 2) ; n = 2 ; }
    memcpy(buf + n, name, strlen(name)) ; n += strlen(name) ;
    buf[n++] = i + 1 < nh ? ':' : ';' ;
    if (!word(&f, buf, n, !i)) goto err ;
    /* the instance back from the bottom, if there is one (an absent one hashes nothing, §5.4.2) */
    if (h[i].back < c && !field_hash(&d->ring[h[i].row][(c - 1 - h[i].back) % DKIM_PER_NAME], fd, base, &k)) goto err ;
  }
  if (!stralloc_copyb(&tmp, "", 0) || !base64_cat(&tmp, (char const *)bh, 32) || !tag(&f, "bh", tmp.s, tmp.len)) goto err ;
  if (!word(&f, "b=", 2, 1)) goto err ;
  bstart = out->len ;
  /* §3.7: the signature field itself, b= empty, canonicalized, no final CRLF */
  {
    hcanon hc = { .state = HC_NAME, .sp = 0 } ;
    hc_feed(&hc, &k, out->s + start, bstart - start) ;
  }
  sink_flush(&k) ;
  br_sha256_out(&hh, hash) ;
  if (!dkimkey_sign(key, hash, sig)) { errno = EINVAL ; goto err ; }
  tmp.len = 0 ;
  if (!base64_cat(&tmp, (char const *)sig, siglen) || !flow(&f, tmp.s, tmp.len) || !stralloc_catb(out, "\n", 1)) goto err ;
  stralloc_free(&tmp) ;
  return 1 ;
 err:
  e = errno ;
  out->len = start ;
  stralloc_free(&tmp) ;
  errno = e ;
  return 0 ;
}

size_t dkim_reserve (size_t dlen, size_t slen, int type)
{
  size_t sig = BASE64_LEN(type == DKIMKEY_ED25519 ? DKIMKEY_ED25519_SIG : DKIMKEY_SIG_MAX) ;
  /* every word and blank of dkim_sign's field at its longest, unfolded */
  size_t l = sizeof("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;")
    + 4 + dlen + 4 + slen + 4 + UINT64_FMT + 3 + DKIM_H_MAX * (DKIM_NAME_MAX + 1)
    + 5 + BASE64_LEN(32) + 3 + sig + 1 ;
  /*
   * A fold adds at most 2 octets. It comes after a word of at most 39
   * octets only once the line holds 40 (or after b= pieces, on full
   * lines), so all but the folds before the three longer words (d=, s=,
   * bh=) end lines of 40 octets or more.
   */
  return l + 2 * (l / 40 + 8) ;
}
