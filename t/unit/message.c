/* ISC license: see LICENSE. */

#include <string.h>

#include "message.h"
#include "tap.h"

/* feed in chunks of size step, to cross every boundary */
static int run (char const *in, unsigned int options, size_t step, uint64_t max, stralloc *out, int *err)
{
  message m = MESSAGE_ZERO ;
  size_t len = strlen(in), i = 0 ;
  m.options = options ; m.max = max ;
  out->len = 0 ;
  while (i < len)
  {
    size_t n = len - i < step ? len - i : step ;
    size_t used = message_feed(&m, in + i, n, out) ;
    i += used ;
    if (m.err || m.done) break ;
  }
  *err = m.err ;
  if (m.err) return 0 ;
  if (!message_finish(&m, out)) { *err = m.err ; return 0 ; }
  return 1 ;
}

static void same (char const *in, unsigned int options, char const *want, char const *what)
{
  stralloc out = STRALLOC_ZERO ;
  size_t step ;
  int allok = 1, err ;
  for (step = 1 ; step <= strlen(in) + 1 ; step++)
    if (!run(in, options, step, 0, &out, &err) || out.len != strlen(want) || (out.len && memcmp(out.s, want, out.len))) allok = 0 ;
  ok(allok, "%s", what) ;
  stralloc_free(&out) ;
}

static void fails (char const *in, unsigned int options, int want, char const *what)
{
  stralloc out = STRALLOC_ZERO ;
  size_t step ;
  int allok = 1, err ;
  for (step = 1 ; step <= strlen(in) + 1 ; step++)
    if (run(in, options, step, 0, &out, &err) || err != want) allok = 0 ;
  ok(allok, "%s", what) ;
  stralloc_free(&out) ;
}

/* the hop count of in, fed in chunks of every size: the same for each, or -1 */
static int hops (char const *in)
{
  size_t len = strlen(in), step = 1 ;
  int count = -1 ;
  for (; step <= len ; step++)
  {
    message_hops h = MESSAGE_HOPS_ZERO ;
    size_t i = 0 ;
    for (; i < len ; i += step) message_hops_feed(&h, in + i, len - i < step ? len - i : step) ;
    if (count >= 0 && (int)h.count != count) return -1 ;
    count = h.count ;
  }
  return count ;
}

/* n lines "Received: x" then a body line "Received: y" */
static char const *received_lines (stralloc *sa, unsigned int n)
{
  sa->len = 0 ;
  while (n--) stralloc_cats(sa, "Received: from a by b; date\n") ;
  stralloc_cats(sa, "Subject: s\n\nReceived: in the body\n") ;
  stralloc_0(sa) ;
  return sa->s ;
}

/*
 * An independent model of message_feed, one octet at a time, written
 * from what it must do (bare CR and NUL refused, RFC 5322's 998-octet
 * lines, the size limit, dot-stuffing, the Received count): the oracle
 * the plain runs (lib/message.c, plain_run) are checked against. After
 * an error only the error, the count and the octets stored must agree.
 */
static size_t model_feed (message *m, char const *s, size_t len, stralloc *out)
{
  size_t i ;
  if (m->err || m->done) return 0 ;
  if (!stralloc_readyplus(out, len)) return (size_t)-1 ;
  for (i = 0 ; i < len ; i++)
  {
    unsigned char c = s[i] ;
    int lf = c == '\n', pending = m->cr ;
    m->cr = 0 ;
    if (pending && !lf) return m->err = MESSAGE_EBARECR, i ;
    if (!pending && c == '\r') { m->cr = 1 ; continue ; }
    if (!c) return m->err = MESSAGE_ENUL, i ;
    /* at a line's start: the first dot goes; a dot alone on its line ends the message */
    if (m->options & MESSAGE_DOTS && m->bol && (lf ? m->dot : c == '.' && !m->dot))
    {
      if (lf) { m->done = 1 ; return i + 1 ; }
      m->dot = 1 ;
      continue ;
    }
    m->linelen = lf ? 0 : m->linelen + 1 ;
    m->bol = lf ;
    if (lf) m->dot = 0 ;
    if (m->linelen > MESSAGE_LINE_MAX) return m->err = MESSAGE_ELINE, i ;
    if (c >= 0x80) m->has8bit = 1 ;
    if (m->max && m->size >= m->max) return m->err = MESSAGE_ESIZE, i ;
    out->s[out->len++] = c ;
    m->size++ ;
    if (!m->maxhops || m->hops.state == MESSAGE_HOPS_BODY) continue ;
    message_hops_feed(&m->hops, (char const *)&c, 1) ;
    if (m->hops.count > m->maxhops) return m->err = MESSAGE_EHOPS, i + 1 ;
  }
  return i ;
}

static int same_state (message const *a, message const *b)
{
  return a->size == b->size && a->linelen == b->linelen && a->bol == b->bol && a->cr == b->cr
    && a->dot == b->dot && a->done == b->done && a->has8bit == b->has8bit && a->err == b->err
    && a->hops.count == b->hops.count && a->hops.state == b->hops.state && a->hops.match == b->hops.match ;
}

/* xorshift: the same inputs on every run */
static uint32_t rnd_state = 2463534242u ;
static uint32_t rnd (void)
{
  rnd_state ^= rnd_state << 13 ; rnd_state ^= rnd_state >> 17 ; rnd_state ^= rnd_state << 5 ;
  return rnd_state ;
}

/* random messages fed in random chunks to both: every call's count, its
   error or the state after it, and the octets stored are the same; 1 if so */
static int differential (unsigned int rounds)
{
  static char const alphabet[] = "aR.:\r\n \t\xc3\0eivdc" ;
  static char in[8192] ;
  stralloc o1 = STRALLOC_ZERO, o2 = STRALLOC_ZERO ;
  int good = 1 ;
  unsigned int r = 0 ;
  for (; r < rounds && good ; r++)
  {
    message a = MESSAGE_ZERO, b = MESSAGE_ZERO ;
    size_t len = rnd() % sizeof(in), i = 0 ;
    unsigned int mode = rnd() % 4 ;
    /* mostly plain text, in long lines now and then (the 998 limit) */
    for (; i < len ; i++)
    {
      uint32_t x = rnd() % 1000 ;
      in[i] = mode == 0 && x < 995 ? 'x' : x < 900 ? "Received: by x\r\n"[i % 16] : alphabet[x % (sizeof(alphabet) - 1)] ;
    }
    a.options = b.options = rnd() % 2 ? MESSAGE_DOTS : 0 ;
    a.max = b.max = rnd() % 3 ? 0 : rnd() % 9000 ;
    a.maxhops = b.maxhops = rnd() % 2 ? 0 : rnd() % 4 ;
    o1.len = o2.len = 0 ;
    for (i = 0 ; i < len && good ; )
    {
      size_t n = 1 + rnd() % (rnd() % 2 ? 16 : 2000), u1, u2 ;
      if (n > len - i) n = len - i ;
      u1 = message_feed(&a, in + i, n, &o1) ;
      u2 = model_feed(&b, in + i, n, &o2) ;
      if (u1 != u2 || a.err != b.err || (!a.err && !same_state(&a, &b)) || o1.len != o2.len || memcmp(o1.s, o2.s, o1.len)) good = 0 ;
      if (a.err || a.done || u1 < n) break ;
      i += n ;
    }
  }
  stralloc_free(&o1) ; stralloc_free(&o2) ;
  return good ;
}

int main (void)
{
  char line[1200] ;
  stralloc out = STRALLOC_ZERO ;
  int err ;
  tap_plan(23) ;
  ok(differential(20000), "20,000 random messages in random chunks: message_feed stores, counts and refuses exactly as a model of it, octet by octet, does") ;
  same("a\r\nb\r\n", 0, "a\nb\n", "CRLF stored as LF") ;
  same("a\nb\n", 0, "a\nb\n", "LF kept") ;
  same("a\nb", 0, "a\nb\n", "a final line gets its line end") ;
  fails("a\rb\n", 0, MESSAGE_EBARECR, "bare CR refused") ;
  fails("a\r", 0, MESSAGE_EBARECR, "trailing bare CR refused") ;
  {
    message m = MESSAGE_ZERO ;
    out.len = 0 ;
    message_feed(&m, "a\0b\n", 4, &out) ;
    ok(m.err == MESSAGE_ENUL && out.len == 1, "NUL refused") ;
  }
  memset(line, 'x', 999) ; line[999] = '\n' ; line[1000] = 0 ;
  fails(line, 0, MESSAGE_ELINE, "999-octet line refused") ;
  line[998] = '\n' ; line[999] = 0 ;
  same(line, 0, line, "998-octet line accepted") ;
  same("a\n..b\n.\n", MESSAGE_DOTS, "a\n.b\n", "dots: unstuffed and terminated") ;
  same("a\n.\nafter\n", MESSAGE_DOTS, "a\n", "dots: nothing after the final dot is read") ;
  fails("a\n.b\n", MESSAGE_DOTS, MESSAGE_ETRUNC, "dots: EOF before the dot is truncation") ;
  same(".\n", MESSAGE_DOTS, "", "dots: empty message") ;
  ok(!run("abcdef\n", 0, 3, 4, &out, &err) && err == MESSAGE_ESIZE, "size limit enforced") ;
  {
    message m = MESSAGE_ZERO ;
    out.len = 0 ;
    message_feed(&m, "caf\xc3\xa9\n", 6, &out) ;
    ok(m.has8bit, "8-bit octets noticed") ;
  }

  /* issue 15: the hop count (RFC 5321 §6.3) */
  ok(hops("Received: a\nreceived: b\nRECEIVED : c\nReceived\t: d\nSubject: x\n\nReceived: body\n") == 4, "hops: field names of any case, blanks before the colon; the body not counted") ;
  ok(hops("Received: a\n  Received: folded\n\tReceived: folded\nX-Received: no\nReceivedX: no\nReceive: no\n\n") == 1, "hops: folded lines and other names not counted") ;
  ok(hops("Received: a\r\nReceived: b\r\n\r\nReceived: body\r\n") == 2, "hops: CRLF lines count alike, and CRLF CRLF ends the header") ;
  ok(hops("\nReceived: body\n") == 0 && hops("Received") == 0 && hops("Received:") == 1, "hops: an empty header, a name without colon, a last line without end") ;
  {
    stralloc in = STRALLOC_ZERO ;
    message m = MESSAGE_ZERO ;
    m.maxhops = 50 ;
    out.len = 0 ;
    received_lines(&in, 50) ;
    ok(message_feed(&m, in.s, in.len - 1, &out) == in.len - 1 && !m.err && m.hops.count == 50 && message_finish(&m, &out), "50 Received fields under a limit of 50: accepted") ;
    m = (message)MESSAGE_ZERO ;
    m.maxhops = 50 ;
    out.len = 0 ;
    received_lines(&in, 51) ;
    message_feed(&m, in.s, in.len - 1, &out) ;
    ok(m.err == MESSAGE_EHOPS && !strcmp(message_strerror(m.err), "too many hops (Received fields): a mail loop"), "51: refused, MESSAGE_EHOPS") ;
    m = (message)MESSAGE_ZERO ;
    out.len = 0 ;
    message_feed(&m, in.s, in.len - 1, &out) ;
    ok(!m.err && m.hops.count == 0, "no limit: nothing counted") ;
    m = (message)MESSAGE_ZERO ;
    m.maxhops = 2 ; m.options = MESSAGE_DOTS ;
    out.len = 0 ;
    message_feed(&m, "Received: a\r\nReceived: b\r\n\r\nReceived: c\r\nReceived: d\r\n.\r\n", 57, &out) ;
    ok(!m.err && m.done && m.hops.count == 2, "a dot-terminated stream: the header counted, the body not") ;
    stralloc_free(&in) ;
  }
  stralloc_free(&out) ;
  return tap_done() ;
}
