/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/stralloc.h>
#include <skalibs/fmtscan.h>

#include "logline.h"

char const *const logline_level_names[LOGLINE_LEVELS] =
{
  [LOGLINE_INFO] = "info", [LOGLINE_WARNING] = "warning", [LOGLINE_ERROR] = "error", [LOGLINE_FATAL] = "fatal"
} ;

/* strerr's words (skalibs' strerr_die*, strerr_warn*), and the one event name that is a level */
static struct { char const *word ; unsigned int level ; } const diag_words[] =
{
  { "fatal", LOGLINE_FATAL },
  { "warning", LOGLINE_WARNING },
  { "info", LOGLINE_INFO },
  { 0, 0 }
} ;

/*
 * A JSON string being written: octets in, RFC 8259 section 7 escapes
 * out, UTF-8 checked on the way (RFC 3629 section 4's table: no
 * overlong form, no surrogate, nothing above U+10FFFF). The octets of a
 * sequence not yet complete wait in pend; a sequence that breaks off
 * becomes one U+FFFD (Unicode's "maximal subpart" practice) and the
 * octet that broke it is read again.
 */
typedef struct jstr_s jstr ;
struct jstr_s
{
  stralloc *sa ;
  unsigned char pend[4] ;
  unsigned int npend ;
  unsigned int need ;        /* octets the sequence still needs */
  unsigned char lo, hi ;     /* the range of the next continuation octet */
} ;

static int j_cat (jstr *j, char const *s, size_t n) { return stralloc_catb(j->sa, s, n) ; }

static int j_bad (jstr *j)
{
  j->npend = j->need = 0 ;
  return j_cat(j, "\\ufffd", 6) ;
}

static int j_ascii (jstr *j, unsigned char c)
{
  static char const hex[] = "0123456789abcdef" ;
  char e[6] = { '\\', 'u', '0', '0', 0, 0 } ;
  switch (c)
  {
    case '"' : return j_cat(j, "\\\"", 2) ;
    case '\\' : return j_cat(j, "\\\\", 2) ;
    case '\b' : return j_cat(j, "\\b", 2) ;
    case '\f' : return j_cat(j, "\\f", 2) ;
    case '\n' : return j_cat(j, "\\n", 2) ;
    case '\r' : return j_cat(j, "\\r", 2) ;
    case '\t' : return j_cat(j, "\\t", 2) ;
    default : break ;
  }
  if (c >= 0x20) return j_cat(j, (char const *)&c, 1) ;
  e[4] = hex[c >> 4] ; e[5] = hex[c & 15] ;
  return j_cat(j, e, 6) ;
}

static int j_octet (jstr *j, unsigned char c)
{
  if (j->npend)
  {
    if (c < j->lo || c > j->hi)
    {
      if (!j_bad(j)) return 0 ;
      return j_octet(j, c) ;  /* once: npend is now 0 */
    }
    j->pend[j->npend++] = c ;
    j->lo = 0x80 ; j->hi = 0xbf ;
    if (--j->need) return 1 ;
    {
      unsigned int n = j->npend ;
      j->npend = 0 ;
      return j_cat(j, (char const *)j->pend, n) ;
    }
  }
  if (c < 0x80) return j_ascii(j, c) ;
  j->lo = 0x80 ; j->hi = 0xbf ;
  if (c >= 0xc2 && c <= 0xdf) j->need = 1 ;
  else if (c >= 0xe0 && c <= 0xef)
  {
    j->need = 2 ;
    if (c == 0xe0) j->lo = 0xa0 ;        /* overlong */
    else if (c == 0xed) j->hi = 0x9f ;   /* surrogates */
  }
  else if (c >= 0xf0 && c <= 0xf4)
  {
    j->need = 3 ;
    if (c == 0xf0) j->lo = 0x90 ;        /* overlong */
    else if (c == 0xf4) j->hi = 0x8f ;   /* above U+10FFFF */
  }
  else return j_bad(j) ;
  j->pend[0] = c ;
  j->npend = 1 ;
  return 1 ;
}

static int j_end (jstr *j)
{
  if (j->npend && !j_bad(j)) return 0 ;
  return j_cat(j, "\"", 1) ;
}

static int j_raw (jstr *j, char const *s, size_t n)
{
  size_t i = 0 ;
  for (; i < n ; i++) if (!j_octet(j, (unsigned char)s[i])) return 0 ;
  return 1 ;
}

/*
 * The inside of a value string_quote made (without its quotes), decoded
 * on the way: \a \b \t \n \v \f \r, \0xHH, and a backslash before any
 * other octet stands for that octet (as skalibs' string_unquote reads
 * it). A backslash last stands for itself.
 */
static int j_quoted (jstr *j, char const *s, size_t n)
{
  static char const esc[] = "abtnvfr" ;
  static char const val[] = "\a\b\t\n\v\f\r" ;
  size_t i = 0 ;
  for (; i < n ; i++)
  {
    char const *e ;
    unsigned char c = s[i] ;
    if (c == '\\' && i + 1 < n)
    {
      c = s[++i] ;
      if (c && (e = strchr(esc, c))) c = val[e - esc] ;
      else if (c == '0' && i + 3 < n && s[i+1] == 'x' && fmtscan_num(s[i+2], 16) < 16 && fmtscan_num(s[i+3], 16) < 16)
      {
        c = (unsigned char)(fmtscan_num(s[i+2], 16) << 4 | fmtscan_num(s[i+3], 16)) ;
        i += 3 ;
      }
    }
    if (!j_octet(j, c)) return 0 ;
  }
  return 1 ;
}

int logline_json_string (stralloc *sa, char const *s, size_t n)
{
  jstr j = { .sa = sa, .npend = 0, .need = 0 } ;
  return j_cat(&j, "\"", 1) && j_raw(&j, s, n) && j_end(&j) ;
}

/*
 * The line's words: a word ends at a space; a field is key=value, the
 * value quoted when it starts with '"' and ends at the next '"' not
 * escaped by a backslash (an unterminated one runs to the end of the
 * line, and is then taken as it is, unquoted).
 */
typedef struct word_s word ;
struct word_s
{
  size_t key, keylen ;   /* the whole word, when there is no '=' */
  size_t val, vallen ;   /* the value without its quotes */
  int eq ;
  int quoted ;
} ;

/* the next word from pos (spaces skipped) into w; the position after it, len at the end */
static size_t word_next (char const *s, size_t len, size_t pos, word *w, int fields)
{
  size_t i ;
  while (pos < len && s[pos] == ' ') pos++ ;
  w->key = pos ; w->keylen = 0 ; w->val = pos ; w->vallen = 0 ; w->eq = 0 ; w->quoted = 0 ;
  for (i = pos ; i < len && s[i] != ' ' && !(fields && s[i] == '=') ; i++) ;
  w->keylen = i - pos ;
  if (i >= len || s[i] != '=') return i ;
  w->eq = 1 ;
  w->val = ++i ;
  if (i < len && s[i] == '"')
  {
    size_t q = i + 1 ;
    while (q < len && s[q] != '"') q += s[q] == '\\' ? 2 : 1 ;
    if (q < len)
    {
      w->quoted = 1 ;
      w->val = i + 1 ;
      w->vallen = q - i - 1 ;
      return q + 1 ;
    }
    w->vallen = len - i ;
    return len ;
  }
  for (; i < len && s[i] != ' ' ; i++) ;
  w->vallen = i - w->val ;
  return i ;
}

/* "prog: WORD: text": the level of WORD (info when it is none of strerr's), and where text starts; -1: not a diagnostic */
static int diagnostic (char const *s, size_t len, size_t *prog, size_t *text)
{
  word w ;
  size_t pos = word_next(s, len, 0, &w, 0), i = 0 ;
  if (w.key || w.keylen < 2 || s[w.keylen - 1] != ':') return -1 ;
  *prog = w.keylen - 1 ;
  *text = word_next(s, len, pos, &w, 0) ;
  if (w.keylen >= 2 && s[w.key + w.keylen - 1] == ':')
    for (; diag_words[i].word ; i++)
      if (strlen(diag_words[i].word) == w.keylen - 1 && !memcmp(diag_words[i].word, s + w.key, w.keylen - 1))
      {
        while (*text < len && s[*text] == ' ') (*text)++ ;
        return diag_words[i].level ;
      }
  *text = pos ;
  while (*text < len && s[*text] == ' ') (*text)++ ;
  return LOGLINE_INFO ;
}

static int word_is (char const *s, size_t off, size_t n, char const *what)
{
  return n == strlen(what) && !memcmp(s + off, what, n) ;
}

unsigned int logline_level (char const *s, size_t len)
{
  size_t prog, text, pos ;
  word w ;
  int d = diagnostic(s, len, &prog, &text) ;
  if (d >= 0) return d ;
  pos = word_next(s, len, 0, &w, 0) ;
  pos = word_next(s, len, pos, &w, 0) ;
  if (word_is(s, w.key, w.keylen, "warning")) return LOGLINE_WARNING ;
  while (pos < len)
  {
    pos = word_next(s, len, pos, &w, 1) ;
    if (w.eq && !w.quoted && word_is(s, w.key, w.keylen, "result") && word_is(s, w.val, w.vallen, "error")) return LOGLINE_ERROR ;
  }
  return LOGLINE_INFO ;
}

static int jkey (stralloc *sa, char const *s, size_t n, int first)
{
  return (first || stralloc_catb(sa, ",", 1)) && logline_json_string(sa, s, n) && stralloc_catb(sa, ":", 1) ;
}

int logline_json (stralloc *sa, char const *s, size_t len, char const *time, char const *program)
{
  size_t prog, text, pos ;
  word w ;
  int d = diagnostic(s, len, &prog, &text) ;
  unsigned int level = logline_level(s, len) ;
  if (!stralloc_cats(sa, "{\"time\":") || !logline_json_string(sa, time, strlen(time))
   || !stralloc_cats(sa, ",\"program\":") || !logline_json_string(sa, program, strlen(program))
   || !stralloc_cats(sa, ",\"level\":\"") || !stralloc_cats(sa, logline_level_names[level])) return 0 ;
  if (d >= 0)
    return stralloc_cats(sa, "\",\"id\":null,\"event\":\"") && stralloc_cats(sa, logline_level_names[d])
      && stralloc_cats(sa, "\",\"fields\":{\"source\":") && logline_json_string(sa, s, prog)
      && stralloc_cats(sa, ",\"text\":") && logline_json_string(sa, s + text, len - text)
      && stralloc_cats(sa, "}}\n") ;
  pos = word_next(s, len, 0, &w, 0) ;
  if (!stralloc_cats(sa, "\",\"id\":") || !logline_json_string(sa, s + w.key, w.keylen)) return 0 ;
  pos = word_next(s, len, pos, &w, 0) ;
  if (!stralloc_cats(sa, ",\"event\":") || !logline_json_string(sa, s + w.key, w.keylen) || !stralloc_cats(sa, ",\"fields\":{")) return 0 ;
  for (int first = 1 ; pos < len ; )
  {
    pos = word_next(s, len, pos, &w, 1) ;
    if (!w.keylen && !w.eq) continue ;
    if (!jkey(sa, s + w.key, w.keylen, first)) return 0 ;
    first = 0 ;
    if (!w.eq) { if (!stralloc_cats(sa, "true")) return 0 ; continue ; }
    {
      jstr j = { .sa = sa, .npend = 0, .need = 0 } ;
      if (!j_cat(&j, "\"", 1) || !(w.quoted ? j_quoted(&j, s + w.val, w.vallen) : j_raw(&j, s + w.val, w.vallen)) || !j_end(&j)) return 0 ;
    }
  }
  return stralloc_cats(sa, "}}\n") ;
}
