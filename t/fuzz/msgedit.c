/* ISC license: see LICENSE. */

/*
 * libFuzzer harness for lib/msgedit: a message and a filter's list of
 * modifications, both from the input. Whatever the octets, nothing is
 * read or written out of bounds. On a message in stored form (the input
 * made into one), a success gives a message in stored form (no CR, no
 * NUL, no line over 998 octets, a LF at the end, at most max octets)
 * whose fields and body, read back with msgedit_headers and
 * msgedit_body, are those of a model that applies the same edits to
 * the fields as the filter sees them (msgedit.h: in order, libmilter's
 * indexes); a failure is EPROTO or EFBIG with nothing in the output,
 * and EFBIG only when the result is really over max.
 *
 * The input: octet 0 chooses max (0: none, else 8 times it) and the
 * chunk size for msgedit_body; octets 1-2 the message's length; then
 * the message; then the modifications, each a type octet (its low 3
 * bits the type, bit 6 a field name from a small table instead of one
 * from the input, bits 3-5 which), an index octet (255: a huge index),
 * and two strings, each a length octet and that many octets.
 */

#include <errno.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "message.h"
#include "milter.h"
#include "msgedit.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size) ;

static char const types[8] = { MILTER_MOD_ADDHDR, MILTER_MOD_INSHDR, MILTER_MOD_CHGHDR, MILTER_MOD_REPLBODY, MILTER_MOD_ADDRCPT, MILTER_MOD_DELRCPT, MILTER_MOD_CHGFROM, MILTER_MOD_QUARANTINE } ;
static char const *const names[8] = { "Subject", "subject", "X-A", "x-a", "From", "Received", "B", "X-Spam" } ;

/* the model's fields: name and value at offsets in one pool */
typedef struct mfield_s mfield ;
struct mfield_s
{
  size_t n, nlen, v, vlen ;
} ;

typedef struct model_s model ;
struct model_s
{
  stralloc pool ;
  genalloc fields ;  /* mfield */
  stralloc body ;
} ;
#define MODEL_ZERO { .pool = STRALLOC_ZERO, .fields = GENALLOC_ZERO, .body = STRALLOC_ZERO }

static int field_add (void *p, char const *n, size_t nlen, char const *v, size_t vlen)
{
  model *m = p ;
  mfield f = { .n = m->pool.len, .nlen = nlen, .v = m->pool.len + nlen, .vlen = vlen } ;
  if (!stralloc_catb(&m->pool, n, nlen) || !stralloc_catb(&m->pool, v, vlen) || !genalloc_append(mfield, &m->fields, &f)) abort() ;
  return 1 ;
}

typedef struct bodyc_s bodyc ;
struct bodyc_s
{
  stralloc *sa ;
  size_t max ;
} ;

static int body_add (void *p, char const *s, size_t n)
{
  bodyc *b = p ;
  if (!n || n > b->max) abort() ;
  if (!stralloc_catb(b->sa, s, n)) abort() ;
  return 1 ;
}

static void readback (char const *s, size_t len, size_t chunk, model *m)
{
  bodyc b = { .sa = &m->body, .max = chunk } ;
  if (msgedit_headers(s, len, &field_add, m) != 1) abort() ;
  if (msgedit_body(s, len, chunk, &body_add, &b) != 1) abort() ;
}

static void model_free (model *m)
{
  stralloc_free(&m->pool) ;
  genalloc_free(mfield, &m->fields) ;
  stralloc_free(&m->body) ;
}

static int name_eq (char const *a, char const *b, size_t n)
{
  size_t i ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char x = a[i], y = b[i] ;
    if (x >= 'A' && x <= 'Z') x += 32 ;
    if (y >= 'A' && y <= 'Z') y += 32 ;
    if (x != y) return 0 ;
  }
  return 1 ;
}

/* the field as the filter will read it back: every LF given as CRLF */
static mfield model_field (model *m, char const *n, size_t nlen, char const *v, size_t vlen)
{
  mfield f = { .n = m->pool.len, .nlen = nlen, .v = 0, .vlen = 0 } ;
  size_t i ;
  if (!stralloc_catb(&m->pool, n, nlen)) abort() ;
  f.v = m->pool.len ;
  for (i = 0 ; i < vlen ; i++)
  {
    if (v[i] == '\n' && (!i || v[i-1] != '\r') && !stralloc_catb(&m->pool, "\r", 1)) abort() ;
    if (!stralloc_catb(&m->pool, v + i, 1)) abort() ;
  }
  f.vlen = m->pool.len - f.v ;
  return f ;
}

/* the edits on the model, simply: the meaning of msgedit.h, not its code */
static void model_apply (model *m, milter_mods const *mods)
{
  milter_mod const *list = genalloc_s(milter_mod, &mods->list) ;
  size_t n = genalloc_len(milter_mod, &mods->list), i ;
  stralloc nb = STRALLOC_ZERO ;
  int repl = 0 ;
  for (i = 0 ; i < n ; i++)
  {
    milter_mod const *d = list + i ;
    char const *a = mods->data.s + d->a, *b = mods->data.s + d->b ;
    size_t nf = genalloc_len(mfield, &m->fields), j ;
    mfield f ;
    if (d->type == MILTER_MOD_REPLBODY)
    {
      repl = 1 ;
      if (!stralloc_catb(&nb, a, d->alen)) abort() ;
    }
    else if (d->type == MILTER_MOD_ADDHDR || d->type == MILTER_MOD_INSHDR)
    {
      f = model_field(m, a, d->alen, b, d->blen) ;
      j = d->type == MILTER_MOD_INSHDR && d->index < nf ? d->index : nf ;
      if (!genalloc_insertb(mfield, &m->fields, j, &f, 1)) abort() ;
    }
    else if (d->type == MILTER_MOD_CHGHDR)
    {
      mfield *fs = genalloc_s(mfield, &m->fields) ;
      uint32_t k = 0, want = d->index ? d->index : 1 ;
      for (j = 0 ; j < nf ; j++)
        if (fs[j].nlen == d->alen && name_eq(m->pool.s + fs[j].n, a, d->alen) && ++k == want) break ;
      if (!d->blen)
      {
        if (j < nf)
        {
          memmove(fs + j, fs + j + 1, (nf - j - 1) * sizeof(mfield)) ;
          genalloc_setlen(mfield, &m->fields, nf - 1) ;
        }
      }
      else
      {
        f = model_field(m, a, d->alen, b, d->blen) ;
        if (j < nf) genalloc_s(mfield, &m->fields)[j] = f ;
        else if (!genalloc_append(mfield, &m->fields, &f)) abort() ;
      }
    }
  }
  if (repl)
  {
    if (nb.len && nb.s[nb.len - 1] != '\n' && !stralloc_catb(&nb, "\r\n", 2)) abort() ;
    m->body.len = 0 ;
    if (!stralloc_catb(&m->body, nb.s, nb.len)) abort() ;
  }
  stralloc_free(&nb) ;
}

/* the lines of s (LF-separated) are at most 998 octets, and those after the first are not blanks only (or, for a body, anything) */
static int lines_ok (char const *s, size_t len, int folded)
{
  size_t i = 0, start = 0 ;
  for (;;)
  {
    if (i == len || s[i] == '\n')
    {
      size_t j ;
      if (i - start > MESSAGE_LINE_MAX) return 0 ;
      if (folded && start)
      {
        for (j = start ; j < i && (s[j] == ' ' || s[j] == '\t') ; j++) ;
        if (j == i || j == start) return 0 ;
      }
      if (i == len) return 1 ;
      start = i + 1 ;
    }
    i++ ;
  }
}

/* CRLF to LF; 0 on a CR that is not before a LF, a NUL, or (crlf) a LF after no CR */
static int unwire (char const *s, size_t len, int crlf, stralloc *sa)
{
  size_t i ;
  for (i = 0 ; i < len ; i++)
  {
    if (!s[i]) return 0 ;
    if (s[i] == '\r') { if (i + 1 == len || s[i+1] != '\n') return 0 ; continue ; }
    if (s[i] == '\n' && crlf && (!i || s[i-1] != '\r')) return 0 ;
    if (!stralloc_catb(sa, s + i, 1)) abort() ;
  }
  return 1 ;
}

/* whether msgedit.h lets the edits through, checked simply */
static int mods_valid (milter_mods const *mods)
{
  milter_mod const *list = genalloc_s(milter_mod, &mods->list) ;
  size_t n = genalloc_len(milter_mod, &mods->list), i, k ;
  stralloc sa = STRALLOC_ZERO, body = STRALLOC_ZERO ;
  int ok = 1 ;
  for (i = 0 ; ok && i < n ; i++)
  {
    milter_mod const *d = list + i ;
    char const *a = mods->data.s + d->a, *b = mods->data.s + d->b ;
    if (d->type == MILTER_MOD_REPLBODY) { if (!stralloc_catb(&body, a, d->alen)) abort() ; continue ; }
    if (d->type != MILTER_MOD_ADDHDR && d->type != MILTER_MOD_INSHDR && d->type != MILTER_MOD_CHGHDR) continue ;
    if (!d->alen) ok = 0 ;
    for (k = 0 ; k < d->alen ; k++) if ((unsigned char)a[k] < 33 || (unsigned char)a[k] > 126 || a[k] == ':') ok = 0 ;
    sa.len = 0 ;
    if (!stralloc_catb(&sa, a, d->alen) || !stralloc_catb(&sa, ": ", 2)) abort() ;
    if (d->type == MILTER_MOD_CHGHDR && !d->blen) { if (d->alen + 2 > MESSAGE_LINE_MAX) ok = 0 ; continue ; }
    if (!unwire(b, d->blen, 0, &sa) || !lines_ok(sa.s, sa.len, 1)) ok = 0 ;
  }
  if (ok)
  {
    sa.len = 0 ;
    if (!unwire(body.s, body.len, 1, &sa) || !lines_ok(sa.s, sa.len, 0)) ok = 0 ;
  }
  stralloc_free(&sa) ; stralloc_free(&body) ;
  return ok ;
}

static void model_same (model const *x, model const *y)
{
  size_t n = genalloc_len(mfield, &x->fields), i ;
  mfield const *a = genalloc_s(mfield, &x->fields), *b = genalloc_s(mfield, &y->fields) ;
  if (n != genalloc_len(mfield, &y->fields)) abort() ;
  for (i = 0 ; i < n ; i++)
    if (a[i].nlen != b[i].nlen || a[i].vlen != b[i].vlen
     || memcmp(x->pool.s + a[i].n, y->pool.s + b[i].n, a[i].nlen)
     || memcmp(x->pool.s + a[i].v, y->pool.s + b[i].v, a[i].vlen)) abort() ;
  if (x->body.len != y->body.len || (x->body.len && memcmp(x->body.s, y->body.s, x->body.len))) abort() ;
}

/* the message part of the input, made into stored form */
static void stored (char const *s, size_t len, stralloc *sa)
{
  size_t i, line = 0 ;
  for (i = 0 ; i < len ; i++)
  {
    char c = s[i] == '\r' ? 'r' : s[i] ? s[i] : '0' ;
    if (c != '\n' && line == MESSAGE_LINE_MAX) { if (!stralloc_catb(sa, "\n", 1)) abort() ; line = 0 ; }
    if (!stralloc_catb(sa, &c, 1)) abort() ;
    line = c == '\n' ? 0 : line + 1 ;
  }
  if (sa->len && sa->s[sa->len - 1] != '\n' && !stralloc_catb(sa, "\n", 1)) abort() ;
}

static void check_form (stralloc const *out, uint64_t max)
{
  size_t i, line = 0 ;
  if (max && out->len > max) abort() ;
  if (out->len && out->s[out->len - 1] != '\n') abort() ;
  for (i = 0 ; i < out->len ; i++)
  {
    if (!out->s[i] || out->s[i] == '\r') abort() ;
    if (out->s[i] == '\n') line = 0 ;
    else if (++line > MESSAGE_LINE_MAX) abort() ;
  }
}

static int ignore_field (void *p, char const *n, size_t nlen, char const *v, size_t vlen)
{
  (void)p ; (void)n ; (void)v ;
  if (!nlen || (vlen && !v)) abort() ;
  return 1 ;
}

static int ignore_body (void *p, char const *s, size_t n)
{
  (void)p ; (void)s ;
  if (!n || n > 3) abort() ;
  return 1 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  milter_mods mods = MILTER_MODS_ZERO ;
  stralloc msg = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  model want = MODEL_ZERO, got = MODEL_ZERO ;
  uint64_t max ;
  size_t chunk, mlen, pos ;
  char const *raw ;
  if (size < 3) return 0 ;
  max = (uint64_t)data[0] * 8 ;
  chunk = (data[0] % 5) + 1 ;
  mlen = (data[1] | (size_t)data[2] << 8) % (size - 2) ;
  raw = (char const *)data + 3 ;
  pos = 3 + mlen ;
  while (pos + 2 <= size)
  {
    uint8_t t = data[pos], idx = data[pos + 1] ;
    milter_mod m = { .type = types[t & 7], .index = idx == 255 ? 4000000000u : idx, .a = 0, .alen = 0, .b = 0, .blen = 0 } ;
    size_t l ;
    pos += 2 ;
    m.a = mods.data.len ;
    if (t & 0x40) { if (!stralloc_cats(&mods.data, names[(t >> 3) & 7])) abort() ; }
    else
    {
      l = pos < size ? data[pos++] : 0 ;
      if (l > size - pos) l = size - pos ;
      if (!stralloc_catb(&mods.data, (char const *)data + pos, l)) abort() ;
      pos += l ;
    }
    m.alen = mods.data.len - m.a ;
    if (!stralloc_0(&mods.data)) abort() ;
    m.b = mods.data.len ;
    l = pos < size ? data[pos++] : 0 ;
    if (l > size - pos) l = size - pos ;
    if (!stralloc_catb(&mods.data, (char const *)data + pos, l)) abort() ;
    pos += l ;
    m.blen = l ;
    if (!stralloc_0(&mods.data) || !genalloc_append(milter_mod, &mods.list, &m)) abort() ;
  }

  /* any octets: in bounds, and nothing in the output after a failure */
  if (!msgedit_apply(raw, mlen, &mods, max, &out) && out.len) abort() ;
  if (msgedit_headers(raw, mlen, &ignore_field, 0) != 1) abort() ;
  if (msgedit_body(raw, mlen, 3, &ignore_body, 0) != 1) abort() ;

  /* a message in stored form: the result against the model */
  stored(raw, mlen, &msg) ;
  readback(msg.s, msg.len, 1 << 20, &want) ;
  if (msgedit_apply(msg.s, msg.len, &mods, max, &out))
  {
    if (!mods_valid(&mods)) abort() ;
    check_form(&out, max) ;
    model_apply(&want, &mods) ;
    readback(out.s, out.len, chunk, &got) ;
    model_same(&want, &got) ;
  }
  else
  {
    int e = errno ;
    if (out.len) abort() ;
    if (e == EFBIG)
    {
      if (!mods_valid(&mods) || !max || !msgedit_apply(msg.s, msg.len, &mods, 0, &out) || out.len <= max) abort() ;
      check_form(&out, 0) ;
    }
    else if (e != EPROTO || mods_valid(&mods)) abort() ;
  }

  model_free(&want) ; model_free(&got) ;
  stralloc_free(&msg) ; stralloc_free(&out) ;
  genalloc_free(milter_mod, &mods.list) ; stralloc_free(&mods.data) ;
  return 0 ;
}
