/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "senderlogin.h"

static int blank (char c)
{
  return c == ' ' || c == '\t' || c == ',' || c == '\r' ;
}

/* the next word of the line [*i, end): 1 with it at *w, *wlen; 0 at the end */
static int word (char const *s, size_t end, size_t *i, char const **w, size_t *wlen)
{
  size_t j = *i ;
  while (j < end && blank(s[j])) j++ ;
  if (j >= end) { *i = j ; return 0 ; }
  *w = s + j ;
  while (j < end && !blank(s[j])) j++ ;
  *wlen = j - (*w - s) ;
  *i = j ;
  return 1 ;
}

static int same (char const *a, size_t alen, char const *b, size_t blen)
{
  return alen == blen && !case_diffb(a, alen, b) ;
}

/* does the entry w (an address, or @domain) cover addr? */
static int covers (char const *w, size_t wlen, char const *addr, size_t alen)
{
  if (w[0] == '@')
  {
    size_t at = alen ;
    while (at && addr[at - 1] != '@') at-- ;
    /* no '@' in addr: no domain to match */
    return at && same(w + 1, wlen - 1, addr + at, alen - at) ;
  }
  return same(w, wlen, addr, alen) ;
}

/*
 * Each line of the map, in turn: f(ctx, login, llen, entry, elen) for
 * every entry of it; the walk stops when f returns nonzero, which it
 * returns.
 */
typedef int entry_f (void *, char const *, size_t, char const *, size_t) ;
static int walk (char const *s, size_t len, entry_f *f, void *ctx)
{
  size_t pos = 0 ;
  while (pos < len)
  {
    char const *nl = memchr(s + pos, '\n', len - pos) ;
    size_t end = nl ? (size_t)(nl - s) : len, i = pos ;
    char const *login, *w ;
    size_t llen, wlen ;
    if (word(s, end, &i, &login, &llen) && login[0] != '#')
      while (word(s, end, &i, &w, &wlen))
      {
        int r = (*f)(ctx, login, llen, w, wlen) ;
        if (r) return r ;
      }
    pos = end + 1 ;
  }
  return 0 ;
}

typedef struct query_s query ;
struct query_s
{
  char const *login ;
  size_t llen ;
  char const *addr ;
  size_t alen ;
  stralloc *out ;
} ;

static int allowed_f (void *ctx, char const *login, size_t llen, char const *w, size_t wlen)
{
  query const *q = ctx ;
  return same(login, llen, q->login, q->llen) && covers(w, wlen, q->addr, q->alen) ;
}

int senderlogin_allowed (char const *s, size_t len, char const *login, size_t llen, char const *addr, size_t alen)
{
  query q = { .login = login, .llen = llen, .addr = addr, .alen = alen, .out = 0 } ;
  if (!llen || !alen) return 0 ;
  return walk(s, len, &allowed_f, &q) == 1 ;
}

int senderlogin_check (char const *file, char const *login, char const *addr)
{
  stralloc sa = STRALLOC_ZERO ;
  int r ;
  if (!openslurpclose(&sa, file)) return -1 ;
  r = senderlogin_allowed(sa.s, sa.len, login, strlen(login), addr, strlen(addr)) ;
  stralloc_free(&sa) ;
  return r ;
}

static int owners_f (void *ctx, char const *login, size_t llen, char const *w, size_t wlen)
{
  query *q = ctx ;
  if (!covers(w, wlen, q->addr, q->alen)) return 0 ;
  return !stralloc_catb(q->out, login, llen) || !stralloc_catb(q->out, " ", 1) ? -1 : 0 ;
}

int senderlogin_owners (char const *s, size_t len, char const *addr, size_t alen, stralloc *out)
{
  query q = { .login = 0, .llen = 0, .addr = addr, .alen = alen, .out = out } ;
  return alen ? walk(s, len, &owners_f, &q) == 0 : 1 ;
}

/* The From fields, as the octets stream by */

enum { F_LINE, F_NAME, F_FIELD, F_BODY } ;

void senderlogin_from_reset (senderlogin_from *f)
{
  f->state = F_LINE ; f->match = 0 ; f->infrom = 0 ; f->over = 0 ; f->count = 0 ;
  f->value.len = 0 ;
}

static int keep (senderlogin_from *f, char c)
{
  if (f->over) return 1 ;
  if (f->value.len >= SENDERLOGIN_FROM_MAX) { f->over = 1 ; return 1 ; }
  return stralloc_catb(&f->value, &c, 1) ;
}

int senderlogin_from_feed (senderlogin_from *f, char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len && f->state != F_BODY ; i++)
  {
    char c = s[i] ;
    if (c == '\r') continue ;
    switch (f->state)
    {
      case F_LINE :
        if (c == '\n') { f->state = F_BODY ; break ; }
        /* RFC 5322 §2.2.3: a line starting with a blank continues the field */
        if (c == ' ' || c == '\t') { f->state = F_FIELD ; if (f->infrom && !keep(f, ' ')) return 0 ; break ; }
        f->infrom = 0 ;
        f->match = 0 ;
        f->state = F_NAME ;
        /* fall through - the octet is the name's first */
      case F_NAME :
        if (f->match < 4 && (c | 0x20) == "from"[f->match]) { f->match++ ; break ; }
        /* §4.5.3's obsolete form: blanks before the colon */
        if (f->match == 4 && (c == ' ' || c == '\t')) break ;
        if (f->match == 4 && c == ':')
        {
          f->infrom = 1 ;
          if (f->count++ && !keep(f, ',')) return 0 ;
          f->state = F_FIELD ;
          break ;
        }
        f->state = c == '\n' ? F_LINE : F_FIELD ;
        break ;
      case F_FIELD :
        if (c == '\n') { f->state = F_LINE ; break ; }
        if (f->infrom && !keep(f, c)) return 0 ;
        break ;
    }
  }
  return 1 ;
}

int senderlogin_from_next (char const *s, size_t len, size_t *pos, char *addr)
{
  for (;;)
  {
    size_t i = *pos, n = 0, an = 0 ;
    unsigned int depth = 0 ;
    int quoted = 0, angle = 0, hadangle = 0, over = 0, aover = 0 ;
    char plain[SENDERLOGIN_ADDR_MAX + 1] ;
    if (i >= len) return 0 ;
    /* one mailbox: up to a ',' or ';' outside quotes, comments and angles */
    for (; i < len ; i++)
    {
      char c = s[i] ;
      /* a NUL would cut the address short where it is compared: no such address is anyone's */
      if (!c) { over = aover = 1 ; continue ; }
      if (quoted)
      {
        /* a quoted-pair is kept whole: its second octet is never the quote's end */
        if (c == '\\' && i + 1 < len)
        {
          if (angle) { if (an + 1 < SENDERLOGIN_ADDR_MAX) { addr[an++] = c ; addr[an++] = s[i+1] ; } else aover = 1 ; }
          else if (n + 1 < SENDERLOGIN_ADDR_MAX) { plain[n++] = c ; plain[n++] = s[i+1] ; }
          else over = 1 ;
          i++ ;
          continue ;
        }
        if (c == '"') quoted = 0 ;
      }
      else if (depth)
      {
        if (c == '\\') i++ ;
        else if (c == '(') depth++ ;
        else if (c == ')') depth-- ;
        continue ;
      }
      else if (c == '(') { depth = 1 ; continue ; }
      else if (c == '"') quoted = 1 ;
      else if (!angle && (c == ',' || c == ';')) break ;
      /* a group's name (display-name ":"): what came before was no address */
      else if (!angle && c == ':') { n = 0 ; over = 0 ; continue ; }
      else if (c == '<') { angle = 1 ; hadangle = 1 ; an = 0 ; aover = 0 ; continue ; }
      else if (c == '>' && angle) { angle = 0 ; continue ; }
      else if (c == ' ' || c == '\t') continue ;
      if (angle)
      {
        if (an < SENDERLOGIN_ADDR_MAX) addr[an++] = c ; else aover = 1 ;
      }
      else if (n < SENDERLOGIN_ADDR_MAX) plain[n++] = c ;
      else over = 1 ;
    }
    *pos = i + 1 ;
    if (hadangle)
    {
      if (aover) return -1 ;
      if (!an) continue ;
      addr[an] = 0 ;
      return 1 ;
    }
    if (over) return -1 ;
    /* nothing but blanks and comments (an empty group, a trailing comma) */
    if (!n) continue ;
    memcpy(addr, plain, n) ;
    addr[n] = 0 ;
    return 1 ;
  }
}

int senderlogin_from_allowed (senderlogin_from const *f, char const *map, size_t maplen, char const *login, size_t llen)
{
  char addr[SENDERLOGIN_ADDR_MAX + 1] ;
  size_t pos = 0 ;
  int r ;
  if (f->over) return 0 ;
  while ((r = senderlogin_from_next(f->value.s, f->value.len, &pos, addr)) != 0)
    if (r < 0 || !senderlogin_allowed(map, maplen, login, llen, addr, strlen(addr))) return 0 ;
  return 1 ;
}
