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

int main (void)
{
  char line[1200] ;
  stralloc out = STRALLOC_ZERO ;
  int err ;
  tap_plan(22) ;
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
