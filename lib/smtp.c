/* ISC license: see LICENSE. */

/*
 * Command-line parsing for the SMTP server (RFC 5321 §4.1). Strict:
 * CRLF is the only line end (§2.3.8), so a CR or LF inside a line is an
 * error, never a separator; NUL is refused.
 */

#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/types.h>

#include "smtp.h"

int smtp_line_check (char const *s, size_t len)
{
  size_t i = 0 ;
  for (; i < len ; i++)
    switch (s[i])
    {
      case 0 : return SMTP_LINE_NUL ;
      case '\r' : return SMTP_LINE_BARECR ;
      case '\n' : return SMTP_LINE_BARELF ;
      default : break ;
    }
  return SMTP_LINE_OK ;
}

static struct { char const *name ; int verb ; } const verbs[] =
{
  { "HELO", SMTP_HELO },
  { "EHLO", SMTP_EHLO },
  { "DATA", SMTP_DATA },
  { "RSET", SMTP_RSET },
  { "NOOP", SMTP_NOOP },
  { "QUIT", SMTP_QUIT },
  { "VRFY", SMTP_VRFY },
  { "EXPN", SMTP_EXPN },
  { "HELP", SMTP_HELP },
  { "STARTTLS", SMTP_STARTTLS },
  { "AUTH", SMTP_AUTH },
  { 0, 0 }
} ;

int smtp_verb (char const *s, size_t len, size_t *arg)
{
  size_t n = 0 ;
  unsigned int i = 0 ;
  /* §4.1.1.2, §4.1.1.3: "MAIL FROM:" and "RCPT TO:" are fixed strings */
  if (len >= 10 && case_startb(s, len, "MAIL FROM:")) { *arg = 10 ; return SMTP_MAIL ; }
  if (len >= 8 && case_startb(s, len, "RCPT TO:")) { *arg = 8 ; return SMTP_RCPT ; }
  while (n < len && s[n] != ' ') n++ ;
  for (; verbs[i].name ; i++)
    if (strlen(verbs[i].name) == n && case_startb(s, n, verbs[i].name))
    {
      *arg = n < len ? n + 1 : len ;
      return verbs[i].verb ;
    }
  *arg = len ;
  return SMTP_UNKNOWN ;
}

int smtp_path_split (char const *s, size_t len, size_t *pathlen, size_t *params)
{
  size_t i = 1 ;
  int quoted = 0 ;
  if (!len || s[0] != '<') return 0 ;
  for (; i < len ; i++)
  {
    if (quoted)
    {
      if (s[i] == '\\') { if (++i >= len) return 0 ; }
      else if (s[i] == '"') quoted = 0 ;
    }
    else if (s[i] == '"') quoted = 1 ;
    else if (s[i] == '>') break ;
    else if (s[i] == '<' || s[i] == ' ') return 0 ;
  }
  if (i >= len) return 0 ;
  *pathlen = ++i ;
  if (i < len && s[i] != ' ') return 0 ;
  while (i < len && s[i] == ' ') i++ ;
  *params = i ;
  return 1 ;
}

/* esmtp-keyword ["=" esmtp-value], RFC 5321 §4.1.2; calls f for each one */
typedef int param_func (char const *, size_t, char const *, size_t, void *) ;

static int params_each (char const *s, size_t len, param_func *f, void *data)
{
  size_t i = 0 ;
  while (i < len)
  {
    size_t k = i, klen, v = 0, vlen = 0 ;
    int r ;
    while (i < len && s[i] != ' ' && s[i] != '=') i++ ;
    klen = i - k ;
    if (!klen) return SMTP_PARAM_SYNTAX ;
    if (i < len && s[i] == '=')
    {
      v = ++i ;
      while (i < len && s[i] != ' ') i++ ;
      vlen = i - v ;
      if (!vlen) return SMTP_PARAM_SYNTAX ;
    }
    {
      size_t j = 0 ;
      for (; j < klen ; j++)
      {
        char c = s[k + j] ;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c == '-' && j))) return SMTP_PARAM_SYNTAX ;
      }
      for (j = 0 ; j < vlen ; j++)
      {
        unsigned char c = s[v + j] ;
        if (c < 33 || c == '=' || c == 127) return SMTP_PARAM_SYNTAX ;
      }
    }
    r = (*f)(s + k, klen, vlen ? s + v : 0, vlen, data) ;
    if (r) return r ;
    while (i < len && s[i] == ' ') i++ ;
  }
  return SMTP_PARAM_OK ;
}

static int kweq (char const *k, size_t klen, char const *name)
{
  return strlen(name) == klen && case_startb(k, klen, name) ;
}

static int mail_param (char const *k, size_t klen, char const *v, size_t vlen, void *data)
{
  smtp_mailparams *p = data ;
  if (kweq(k, klen, "SIZE"))
  {
    /* RFC 1870 §6: size-value is 1*20DIGIT */
    uint64_t n ;
    size_t j = 0 ;
    if (!v || vlen > 20) return SMTP_PARAM_SYNTAX ;
    for (; j < vlen ; j++) if (v[j] < '0' || v[j] > '9') return SMTP_PARAM_SYNTAX ;
    if (uint64_scan(v, &n) != vlen) n = UINT64_MAX ;
    p->size = n ? n : 1 ;
    return SMTP_PARAM_OK ;
  }
  if (kweq(k, klen, "BODY"))
  {
    if (!v) return SMTP_PARAM_SYNTAX ;
    if (vlen == 4 && case_startb(v, vlen, "7BIT")) p->body = SMTP_BODY_7BIT ;
    else if (vlen == 8 && case_startb(v, vlen, "8BITMIME")) p->body = SMTP_BODY_8BITMIME ;
    else return SMTP_PARAM_SYNTAX ;
    return SMTP_PARAM_OK ;
  }
  if (kweq(k, klen, "SMTPUTF8"))
  {
    if (v) return SMTP_PARAM_SYNTAX ;
    p->smtputf8 = 1 ;
    return SMTP_PARAM_OK ;
  }
  if (kweq(k, klen, "AUTH"))
  {
    /* RFC 4954 §5: accepted and not trusted; the envelope records our own AUTH result */
    if (!v) return SMTP_PARAM_SYNTAX ;
    p->auth = 1 ;
    return SMTP_PARAM_OK ;
  }
  return SMTP_PARAM_UNKNOWN ;
}

int smtp_mail_params (char const *s, size_t len, smtp_mailparams *p)
{
  return params_each(s, len, &mail_param, p) ;
}

static int rcpt_param (char const *k, size_t klen, char const *v, size_t vlen, void *data)
{
  return SMTP_PARAM_UNKNOWN ;
}

int smtp_rcpt_params (char const *s, size_t len)
{
  return params_each(s, len, &rcpt_param, 0) ;
}

static void data_emit (smtp_data *d, char const *s, size_t n, smtp_data_put *put, void *ctx)
{
  if (d->bad || !n) return ;
  if (d->max && d->size + n > d->max) { d->bad |= SMTP_DATA_SIZE ; return ; }
  d->size += n ;
  (*put)(ctx, s, n) ;
}

size_t smtp_data_feed (smtp_data *d, char const *s, size_t len, smtp_data_put *put, void *ctx)
{
  size_t i = 0, run = 0 ;   /* s[run..i) are plain octets not yet emitted */
  if (d->done) return 0 ;
  for (; i < len ; i++)
  {
    char b = s[i] ;
    if (d->cr)
    {
      d->cr = 0 ;
      if (b == '\n')
      {
        /* the end marker, "." CRLF, goes out as ".\n" but is no message
           octet (RFC 1870 §4): not counted against the size */
        if (d->linelen == 1 && d->dotfirst)
        {
          if (!d->bad) (*put)(ctx, "\n", 1) ;
          d->done = 1 ;
          return i + 1 ;
        }
        data_emit(d, "\n", 1, put, ctx) ;
        d->linelen = 0 ; d->dotfirst = 0 ;
        run = i + 1 ;
        continue ;
      }
      /* a CR not followed by LF is part of the line, never a line end */
      d->bad |= SMTP_DATA_BARE ;
      d->linelen++ ;
    }
    if (b == '\r')
    {
      data_emit(d, s + run, i - run, put, ctx) ;
      d->cr = 1 ;
      run = i + 1 ;
      continue ;
    }
    if (b == '\n')
    {
      d->bad |= SMTP_DATA_BARE ;
      d->linelen++ ;
      continue ;
    }
    if (!b) d->bad |= SMTP_DATA_NUL ;
    if (!d->linelen && b == '.')
    {
      /* a line's leading dot, stuffing or the end marker's, is passed on
         (enqueue takes it off) but is not a message octet: it counts
         neither towards the size (RFC 1870 §4) nor towards the line's
         length (RFC 5321 §4.5.3.1.6). Here run == i: a line starts. */
      if (!d->bad) (*put)(ctx, ".", 1) ;
      d->dotfirst = 1 ;
      d->linelen = 1 ;
      run = i + 1 ;
      continue ;
    }
    if (++d->linelen - d->dotfirst > SMTP_TEXTLINE_MAX - 2) d->bad |= SMTP_DATA_LONG ;
  }
  data_emit(d, s + run, i - run, put, ctx) ;
  return len ;
}
