/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "message.h"
#include "enqclient.h"
#include "milter.h"
#include "msgedit.h"

/*
 * One field of the header section while edits are made: its text, from
 * the name to the end of its last line without that line's LF, is in
 * the message (src 0) or in the scratch text of new fields (src 1), at
 * off; the name is its first nlen octets.
 */
typedef struct field_s field ;
struct field_s
{
  size_t off ;
  size_t len ;
  size_t nlen ;
  int src ;
} ;

/* the shape of a message past its fields: whether an empty line (the
   separator) ended them; the body runs from body to the end */
typedef struct layout_s layout ;
struct layout_s
{
  size_t body ;
  int sep ;
} ;

static int isblank_ (char c)
{
  return c == ' ' || c == '\t' ;
}

/* RFC 5322 §3.6.8 ftext: printable US-ASCII but ':' */
static int isftext (char c)
{
  return (unsigned char)c >= 33 && (unsigned char)c <= 126 && c != ':' ;
}

/* the length of the name when s[0..len) starts with "name *WSP :", else 0; *colon gets the ':' offset */
static size_t field_start (char const *s, size_t len, size_t *colon)
{
  size_t n = 0, i ;
  while (n < len && isftext(s[n])) n++ ;
  if (!n) return 0 ;
  for (i = n ; i < len && isblank_(s[i]) ; i++) ;
  if (i == len || s[i] != ':') return 0 ;
  *colon = i ;
  return n ;
}

/* the end of the line at pos: its LF, or len for a last line without one */
static size_t line_end (char const *s, size_t len, size_t pos)
{
  char const *nl = memchr(s + pos, '\n', len - pos) ;
  return nl ? (size_t)(nl - s) : len ;
}

/*
 * Walks the header section (msgedit.h): f (if not null) gets each
 * field's offset, its name's length, the offset after its ':' and the
 * end of its last line (without the LF); a non-1 answer stops the walk
 * and is returned. Fills *lay when the walk goes to the end, and
 * returns 1.
 */
typedef int field_fn (void *, char const *, size_t, size_t, size_t, size_t) ;

static int walk (char const *s, size_t len, layout *lay, field_fn *f, void *ctx)
{
  size_t pos = 0, start = 0, nlen = 0, value = 0, end = 0, colon ;
  int infield = 0 ;
  lay->sep = 0 ;
  while (pos < len)
  {
    size_t e = line_end(s, len, pos), n ;
    if (infield && isblank_(s[pos])) { end = e ; pos = e < len ? e + 1 : len ; continue ; }
    if (infield)
    {
      int r = f ? (*f)(ctx, s, start, nlen, value, end) : 1 ;
      if (r != 1) return r ;
      infield = 0 ;
    }
    if (e == pos) { lay->body = pos + 1 ; lay->sep = 1 ; return 1 ; }
    n = field_start(s + pos, e - pos, &colon) ;
    if (!n) { lay->body = pos ; return 1 ; }
    start = pos ; nlen = n ; value = pos + colon + 1 ; end = e ; infield = 1 ;
    pos = e < len ? e + 1 : len ;
  }
  if (infield && f)
  {
    int r = (*f)(ctx, s, start, nlen, value, end) ;
    if (r != 1) return r ;
  }
  lay->body = len ;
  return 1 ;
}


 /* msgedit_headers */

typedef struct hwalk_s hwalk ;
struct hwalk_s
{
  msgedit_header_fn *f ;
  void *ctx ;
  stralloc v ;
} ;

static int hwalk_field (void *p, char const *s, size_t start, size_t nlen, size_t v, size_t end)
{
  hwalk *w = p ;
  char const *nl ;
  /* the SP we add when we write a field (no SMFIP_HDR_LEADSPC) */
  if (v < end && s[v] == ' ') v++ ;
  nl = memchr(s + v, '\n', end - v) ;
  if (!nl) return (*w->f)(w->ctx, s + start, nlen, s + v, end - v) ;
  /* folded: every LF inside the field goes out as CRLF */
  w->v.len = 0 ;
  while (nl)
  {
    size_t n = (size_t)(nl - (s + v)) ;
    if (!stralloc_catb(&w->v, s + v, n) || !stralloc_catb(&w->v, "\r\n", 2)) return 0 ;
    v += n + 1 ;
    nl = memchr(s + v, '\n', end - v) ;
  }
  if (!stralloc_catb(&w->v, s + v, end - v)) return 0 ;
  return (*w->f)(w->ctx, s + start, nlen, w->v.s, w->v.len) ;
}

int msgedit_headers (char const *msg, size_t len, msgedit_header_fn *f, void *ctx)
{
  hwalk w = { .f = f, .ctx = ctx, .v = STRALLOC_ZERO } ;
  layout lay ;
  int r = walk(msg, len, &lay, &hwalk_field, &w) ;
  int e = errno ;
  stralloc_free(&w.v) ;
  errno = e ;
  return r ;
}


 /* msgedit_body */

typedef struct chunker_s chunker ;
struct chunker_s
{
  msgedit_body_fn *f ;
  void *ctx ;
  size_t max ;
  stralloc buf ;
} ;

/* adds s[0..n) to the chunk, giving every full chunk to f; 1, or f's non-1 answer */
static int chunk_put (chunker *c, char const *s, size_t n)
{
  while (n)
  {
    size_t w = c->max - c->buf.len ;
    if (w > n) w = n ;
    memcpy(c->buf.s + c->buf.len, s, w) ;
    c->buf.len += w ; s += w ; n -= w ;
    if (c->buf.len == c->max)
    {
      int r = (*c->f)(c->ctx, c->buf.s, c->buf.len) ;
      c->buf.len = 0 ;
      if (r != 1) return r ;
    }
  }
  return 1 ;
}

int msgedit_body (char const *msg, size_t len, size_t max, msgedit_body_fn *f, void *ctx)
{
  chunker c = { .f = f, .ctx = ctx, .max = max ? max : 1, .buf = STRALLOC_ZERO } ;
  layout lay ;
  size_t pos ;
  int r ;
  static char const crlf[2] = "\r\n" ;
  if (walk(msg, len, &lay, 0, 0) != 1) return 0 ;
  pos = lay.body ;
  if (pos >= len) return 1 ;
  /* the CRLF form is at most twice as long: no larger buffer than that */
  if (c.max / 2 > len - pos) c.max = 2 * (len - pos) ;
  if (!stralloc_ready(&c.buf, c.max)) return 0 ;
  r = 1 ;
  while (r == 1 && pos < len)
  {
    size_t e = line_end(msg, len, pos) ;
    r = chunk_put(&c, msg + pos, e - pos) ;
    if (r == 1 && e < len) r = chunk_put(&c, crlf, 2) ;
    pos = e < len ? e + 1 : len ;
  }
  if (r == 1 && c.buf.len) r = (*f)(ctx, c.buf.s, c.buf.len) ;
  stralloc_free(&c.buf) ;
  return r ;
}


 /* msgedit_apply */

typedef struct edit_s edit ;
struct edit_s
{
  char const *msg ;
  genalloc fields ;  /* field, in order */
  stralloc text ;    /* the new fields' text */
  stralloc body ;    /* the new body, once a REPLBODY came */
  int replbody ;
  int cr ;           /* the new body's last octet was a CR */
  size_t linelen ;   /* octets in the new body's last line */
} ;
#define EDIT_ZERO { .msg = 0, .fields = GENALLOC_ZERO, .text = STRALLOC_ZERO, .body = STRALLOC_ZERO, .replbody = 0, .cr = 0, .linelen = 0 }

static int proto (void)
{
  errno = EPROTO ;
  return 0 ;
}

static char const *field_text (edit const *e, field const *f)
{
  return (f->src ? e->text.s : e->msg) + f->off ;
}

static int collect (void *p, char const *s, size_t start, size_t nlen, size_t value, size_t end)
{
  edit *e = p ;
  field f = { .off = start, .len = end - start, .nlen = nlen, .src = 0 } ;
  (void)s ; (void)value ;
  return genalloc_append(field, &e->fields, &f) ;
}

/* ASCII only, whatever the locale: field names are US-ASCII (RFC 5322 §2.2) */
static int name_eq (char const *a, char const *b, size_t n)
{
  size_t i ;
  for (i = 0 ; i < n ; i++)
  {
    unsigned char x = a[i], y = b[i] ;
    if (x >= 'A' && x <= 'Z') x += 'a' - 'A' ;
    if (y >= 'A' && y <= 'Z') y += 'a' - 'A' ;
    if (x != y) return 0 ;
  }
  return 1 ;
}

static int name_valid (char const *s, size_t n)
{
  size_t i ;
  if (!n || n + 2 > MESSAGE_LINE_MAX) return 0 ;
  for (i = 0 ; i < n ; i++) if (!isftext(s[i])) return 0 ;
  return 1 ;
}

/*
 * Appends "name: value" to e->text and describes it in *f: the value
 * from the filter's form to the stored form, every check of msgedit.h
 * made on the way. 1, or 0 with EPROTO or ENOMEM (e->text as it was).
 */
static int field_make (edit *e, char const *name, size_t nlen, char const *v, size_t vlen, field *f)
{
  size_t start = e->text.len, line = nlen + 2, i = 0, run = 0 ;
  if (!name_valid(name, nlen)) return proto() ;
  if (!stralloc_catb(&e->text, name, nlen) || !stralloc_catb(&e->text, ": ", 2)) goto err ;
  while (i < vlen)
  {
    char c = v[i] ;
    if (c == '\r' || c == '\n')
    {
      size_t j = i + 1, k ;
      if (c == '\r' && (j == vlen || v[j++] != '\n')) goto eproto ;
      /* RFC 5322 §2.2.3: the break must be followed by a blank, and the line by more than blanks */
      for (k = j ; k < vlen && isblank_(v[k]) ; k++) ;
      if (k == j || k == vlen || v[k] == '\r' || v[k] == '\n') goto eproto ;
      if (!stralloc_catb(&e->text, v + run, i - run) || !stralloc_catb(&e->text, "\n", 1)) goto err ;
      line = 0 ; i = run = j ;
      continue ;
    }
    if (!c || ++line > MESSAGE_LINE_MAX) goto eproto ;
    i++ ;
  }
  if (!stralloc_catb(&e->text, v + run, i - run)) goto err ;
  f->off = start ; f->len = e->text.len - start ; f->nlen = nlen ; f->src = 1 ;
  return 1 ;
 eproto:
  errno = EPROTO ;
 err:
  e->text.len = start ;
  return 0 ;
}

/* one REPLBODY chunk: CRLF to LF, the checks of msgedit.h across chunk boundaries; 1, or 0 EPROTO/ENOMEM */
static int body_feed (edit *e, char const *s, size_t n)
{
  size_t i, run = 0 ;
  e->replbody = 1 ;
  for (i = 0 ; i < n ; i++)
  {
    char c = s[i] ;
    if (e->cr)
    {
      if (c != '\n') return proto() ;
      e->cr = 0 ; e->linelen = 0 ; run = i ;
    }
    else if (c == '\r')
    {
      if (!stralloc_catb(&e->body, s + run, i - run)) return 0 ;
      e->cr = 1 ; run = i + 1 ;
    }
    else if (c == '\n' || !c || ++e->linelen > MESSAGE_LINE_MAX) return proto() ;
  }
  return stralloc_catb(&e->body, s + run, n - run) ;
}

/* the mod's string at off, n octets long: inside data, whatever the offsets */
static int inside (stralloc const *data, size_t off, size_t n)
{
  return off <= data->len && n <= data->len - off ;
}

static int mod_apply (edit *e, milter_mod const *m, stralloc const *data)
{
  field f ;
  size_t nf = genalloc_len(field, &e->fields), j ;
  char const *a, *b ;
  switch (m->type)
  {
    case MILTER_MOD_ADDHDR :
    case MILTER_MOD_INSHDR :
    case MILTER_MOD_CHGHDR :
    case MILTER_MOD_REPLBODY : break ;
    default : return 1 ;  /* the caller's */
  }
  if (!inside(data, m->a, m->alen) || !inside(data, m->b, m->blen)) return proto() ;
  a = data->s + m->a ; b = data->s + m->b ;
  if (m->type == MILTER_MOD_REPLBODY) return body_feed(e, a, m->alen) ;
  if (m->type == MILTER_MOD_CHGHDR)
  {
    field *fs = genalloc_s(field, &e->fields) ;
    uint32_t want = m->index ? m->index : 1 ;
    if (!name_valid(a, m->alen)) return proto() ;
    for (j = 0 ; j < nf ; j++)
      if (fs[j].nlen == m->alen && name_eq(field_text(e, fs + j), a, m->alen) && !--want) break ;
    if (!m->blen)
    {
      if (j < nf)
      {
        memmove(fs + j, fs + j + 1, (nf - j - 1) * sizeof(field)) ;
        genalloc_setlen(field, &e->fields, nf - 1) ;
      }
      return 1 ;
    }
    if (!field_make(e, a, m->alen, b, m->blen, &f)) return 0 ;
    if (j == nf) return genalloc_append(field, &e->fields, &f) ;
    fs[j] = f ;
    return 1 ;
  }
  if (!field_make(e, a, m->alen, b, m->blen, &f)) return 0 ;
  j = m->type == MILTER_MOD_INSHDR && m->index < nf ? m->index : nf ;
  return genalloc_insertb(field, &e->fields, j, &f, 1) ;
}

/* whether a body reads back as itself after no field and no separator: its first line is not empty and not a field's */
static int body_bare (char const *body, size_t blen)
{
  size_t e = line_end(body, blen, 0), colon ;
  return e && !field_start(body, e, &colon) ;
}

/* the new message into out: fields, separator, body (msgedit.h) */
static int compose (edit *e, char const *msg, size_t len, layout const *lay, uint64_t max, stralloc *out)
{
  field const *fs = genalloc_s(field, &e->fields) ;
  size_t nf = genalloc_len(field, &e->fields), i ;
  size_t blen = len - lay->body ;
  char const *body = blen ? msg + lay->body : "" ;
  uint64_t total = 0 ;
  int addlf, sep ;
  if (e->replbody)
  {
    if (e->cr) return proto() ;
    blen = e->body.len ;
    body = blen ? e->body.s : "" ;
  }
  /* a last line without its LF: the old message's, or the filter's without its CRLF */
  addlf = blen && body[blen - 1] != '\n' ;
  sep = lay->sep || (blen && (nf || !body_bare(body, blen))) ;
  for (i = 0 ; i < nf ; i++) total += fs[i].len + 1 ;
  total += sep + blen + addlf ;
  if (max && total > max) return (errno = EFBIG, 0) ;
  if (total > (size_t)-1 - 1 || !stralloc_ready(out, total)) return (errno = ENOMEM, 0) ;
  out->len = 0 ;
  for (i = 0 ; i < nf ; i++)
  {
    memcpy(out->s + out->len, field_text(e, fs + i), fs[i].len) ;
    out->len += fs[i].len ;
    out->s[out->len++] = '\n' ;
  }
  if (sep) out->s[out->len++] = '\n' ;
  if (blen) memcpy(out->s + out->len, body, blen) ;
  out->len += blen ;
  if (addlf) out->s[out->len++] = '\n' ;
  return 1 ;
}

int msgedit_apply (char const *msg, size_t len, milter_mods const *mods, uint64_t max, stralloc *out)
{
  edit e = EDIT_ZERO ;
  layout lay ;
  milter_mod const *m = genalloc_s(milter_mod, &mods->list) ;
  size_t n = genalloc_len(milter_mod, &mods->list), i ;
  int ok = 0, err ;
  e.msg = msg ;
  out->len = 0 ;
  if (walk(msg, len, &lay, &collect, &e) != 1) goto end ;
  for (i = 0 ; i < n ; i++) if (!mod_apply(&e, m + i, &mods->data)) goto end ;
  ok = compose(&e, msg, len, &lay, max, out) ;
 end:
  err = errno ;
  if (!ok) out->len = 0 ;
  genalloc_free(field, &e.fields) ;
  stralloc_free(&e.text) ;
  stralloc_free(&e.body) ;
  errno = err ;
  return ok ;
}


 /* msgedit_write_stuffed */

static int put_buffer (void *b, char const *s, size_t n)
{
  return buffer_put((buffer *)b, s, n) >= 0 ;
}

int msgedit_write_stuffed (int fd, char const *msg, size_t len)
{
  /* one pipe's capacity per write */
  char buf[65536] ;
  buffer b = BUFFER_INIT(&buffer_write, fd, buf, sizeof(buf)) ;
  return enqclient_stuff_to(&put_buffer, &b, msg, len) && buffer_flush(&b) ;
}
