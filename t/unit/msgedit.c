/* ISC license: see LICENSE. */

/* Unit test of lib/msgedit: a stored message read for the filters, edited by them, written for enqueue. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "enqclient.h"
#include "milter.h"
#include "msgedit.h"
#include "tap.h"

static milter_mods mods = MILTER_MODS_ZERO ;

static void modb (char type, uint32_t index, char const *a, size_t alen, char const *b, size_t blen)
{
  milter_mod m = { .type = type, .index = index, .a = mods.data.len, .alen = alen, .b = 0, .blen = blen } ;
  if (!stralloc_catb(&mods.data, a, alen) || !stralloc_0(&mods.data)) _exit(111) ;
  m.b = mods.data.len ;
  if (!stralloc_catb(&mods.data, b, blen) || !stralloc_0(&mods.data) || !genalloc_append(milter_mod, &mods.list, &m)) _exit(111) ;
}

#define ADD(n, v) modb(MILTER_MOD_ADDHDR, 0, (n), strlen(n), (v), strlen(v))
#define INS(i, n, v) modb(MILTER_MOD_INSHDR, (i), (n), strlen(n), (v), strlen(v))
#define CHG(i, n, v) modb(MILTER_MOD_CHGHDR, (i), (n), strlen(n), (v), strlen(v))
#define BODY(c) modb(MILTER_MOD_REPLBODY, 0, (c), strlen(c), "", 0)

/* msgedit_apply on msg with the mods given since the last call (then forgotten): the new message, or the errno's name */
static char const *run (char const *msg, size_t len, uint64_t max)
{
  static stralloc out = STRALLOC_ZERO ;
  int r = msgedit_apply(msg, len, &mods, max, &out) ;
  int e = errno ;
  genalloc_setlen(milter_mod, &mods.list, 0) ;
  mods.data.len = 0 ;
  if (!r) return out.len ? "FAILED-BUT-OUTPUT" : e == EPROTO ? "EPROTO" : e == EFBIG ? "EFBIG" : "ERROR" ;
  if (!stralloc_0(&out)) _exit(111) ;
  out.len-- ;
  return memchr(out.s, 0, out.len) ? "NUL-IN-OUTPUT" : out.s ;
}

static void is (char const *got, char const *want, char const *what)
{
  int c = !strcmp(got, want) ;
  ok(c, "%s", what) ;
  if (!c) printf("# got  [%s]\n# want [%s]\n", got, want) ;
}

#define APPLY(msg, want, what) is(run((msg), strlen(msg), 0), (want), (what))

/* msgedit_headers: "name=value|" for each header, stopping after stop headers (0: never) */
static stralloc hs = STRALLOC_ZERO ;
static unsigned int hstop, hcount ;

static int hcollect (void *ctx, char const *n, size_t nlen, char const *v, size_t vlen)
{
  (void)ctx ;
  if (!stralloc_catb(&hs, n, nlen) || !stralloc_catb(&hs, "=", 1) || !stralloc_catb(&hs, v, vlen) || !stralloc_catb(&hs, "|", 1)) _exit(111) ;
  return ++hcount == hstop ? 0 : 1 ;
}

static char const *headers (char const *msg, unsigned int stop, int *r)
{
  hs.len = 0 ; hstop = stop ; hcount = 0 ;
  *r = msgedit_headers(msg, strlen(msg), &hcollect, 0) ;
  if (!stralloc_0(&hs)) _exit(111) ;
  return hs.s ;
}

/* msgedit_body: the chunks concatenated, and their number; each at most max */
static stralloc bs = STRALLOC_ZERO ;
static size_t bmax ;
static unsigned int bchunks, bbad, bstop ;

static int bcollect (void *ctx, char const *s, size_t n)
{
  (void)ctx ;
  if (!n || n > bmax) bbad++ ;
  if (!stralloc_catb(&bs, s, n)) _exit(111) ;
  return ++bchunks == bstop ? 7 : 1 ;
}

static char const *body (char const *msg, size_t max, int *r)
{
  bs.len = 0 ; bchunks = 0 ; bbad = 0 ; bmax = max ? max : 1 ;
  *r = msgedit_body(msg, strlen(msg), max, &bcollect, 0) ;
  if (!stralloc_0(&bs)) _exit(111) ;
  return bs.s ;
}

/* a string of n copies of c (a static buffer) */
static char const *rep (char c, size_t n)
{
  static char buf[2][2048] ;
  static int w = 0 ;
  w = !w ;
  memset(buf[w], c, n) ;
  buf[w][n] = 0 ;
  return buf[w] ;
}

int main (void)
{
  static char const m3[] = "X-A: 1\nB: 2\nx-a: 3\nX-A: 4\n\nbody\n" ;
  char big[1100] ;
  int r ;
  tap_plan(108) ;

  /* msgedit_headers */
  is(headers("From: a\nSubject:  two\nX:y\nT:\tt\nFolded: a\n\tb\n  c\n\nbody: no\n", 0, &r),
    "From=a|Subject= two|X=y|T=\tt|Folded=a\r\n\tb\r\n  c|", "headers: one SP eaten, a second SP or a HT kept, folding given as CRLF, the body not read") ;
  ok(r == 1, "headers: 1 when every header was given") ;
  is(headers("Subject \t: x\nEmpty:\nFold:\n x\n", 0, &r), "Subject=x|Empty=|Fold=\r\n x|", "headers: blanks before the colon are not the name's; an empty value; a value that starts folded") ;
  is(headers("A: 1\nB: 2\n", 0, &r), "A=1|B=2|", "headers: a message with no separator and no body") ;
  is(headers("A: 1\nnot a header\nC: 3\n", 0, &r), "A=1|", "headers: a line that is no field ends the section") ;
  is(headers("hello\n", 0, &r), "", "headers: no header section at all") ;
  ok(r == 1, "headers: 1 with none") ;
  is(headers(" indented\nA: b\n", 0, &r), "", "headers: a continuation with no field before it is the body") ;
  is(headers("", 0, &r), "", "headers: the empty message") ;
  is(headers("A: 1\nB: 2\nC: 3\n", 2, &r), "A=1|B=2|", "headers: f's 0 stops the walk") ;
  ok(r == 0, "headers: and is returned") ;
  is(headers("A: last line without LF", 0, &r), "A=last line without LF|", "headers: a last line without LF is read in bounds") ;

  /* msgedit_body */
  is(body("A: 1\n\nl1\nl2\n", 1000, &r), "l1\r\nl2\r\n", "body: CRLF line ends") ;
  ok(r == 1 && bchunks == 1 && !bbad, "body: one chunk when it fits") ;
  is(body("A: 1\n\nl1\nl2\n", 3, &r), "l1\r\nl2\r\n", "body: the same in chunks of 3") ;
  ok(r == 1 && bchunks == 3 && !bbad, "body: 3 chunks, each at most 3 octets (one ends between CR and LF)") ;
  is(body("A: 1\n\nab\n", 0, &r), "ab\r\n", "body: max 0 is taken as 1") ;
  ok(r == 1 && bchunks == 4 && !bbad, "body: 4 chunks of 1") ;
  bstop = 2 ;
  body("A: 1\n\nabcdef\n", 2, &r) ;
  ok(r == 7 && bchunks == 2, "body: f's non-1 answer stops and is returned") ;
  bstop = 0 ;
  body("A: 1\n\n", 100, &r) ;
  ok(r == 1 && !bchunks, "body: an empty body: no call") ;
  body("A: 1\nB: 2\n", 100, &r) ;
  ok(r == 1 && !bchunks, "body: no body: no call") ;
  is(body("A: 1\nfirst\n\nthird\n", 100, &r), "first\r\n\r\nthird\r\n", "body: without a separator, from the line that ended the section") ;
  is(body("hello\n", 100, &r), "hello\r\n", "body: a message with no header section is all body") ;

  /* ADDHDR, INSHDR */
  ADD("X", "y") ;
  APPLY("A: 1\nB: 2\n\nbody\n", "A: 1\nB: 2\nX: y\n\nbody\n", "ADDHDR appends after the last field") ;
  INS(0, "X", "y") ;
  APPLY("A: 1\nB: 2\n\nbody\n", "X: y\nA: 1\nB: 2\n\nbody\n", "INSHDR 0 puts the field first") ;
  INS(1, "X", "y") ;
  APPLY("A: 1\nB: 2\n\nbody\n", "A: 1\nX: y\nB: 2\n\nbody\n", "INSHDR 1 puts it second") ;
  INS(2, "X", "y") ;
  APPLY("A: 1\nB: 2\n\nbody\n", "A: 1\nB: 2\nX: y\n\nbody\n", "INSHDR at the number of fields appends") ;
  INS(4000000000u, "X", "y") ;
  APPLY("A: 1\nB: 2\n\nbody\n", "A: 1\nB: 2\nX: y\n\nbody\n", "INSHDR far past the end appends") ;
  INS(1, "X", "y") ;
  APPLY("A: 1\n\tfolded\nB: 2\n\nbody\n", "A: 1\n\tfolded\nX: y\nB: 2\n\nbody\n", "INSHDR counts a folded field once") ;
  ADD("X", "") ;
  APPLY("A: 1\n\nbody\n", "A: 1\nX: \n\nbody\n", "ADDHDR with an empty value: name, colon, our space") ;
  ADD("X", " lead") ;
  APPLY("A: 1\n\n", "A: 1\nX:  lead\n\n", "ADDHDR: our space is added even before the filter's own") ;

  /* CHGHDR */
  CHG(1, "X-A", "new") ;
  APPLY(m3, "X-A: new\nB: 2\nx-a: 3\nX-A: 4\n\nbody\n", "CHGHDR 1: the first of that name, in place") ;
  CHG(2, "x-A", "two") ;
  APPLY(m3, "X-A: 1\nB: 2\nx-A: two\nX-A: 4\n\nbody\n", "CHGHDR 2: names match case-insensitively; the filter's spelling is written") ;
  CHG(0, "X-A", "zero") ;
  APPLY(m3, "X-A: zero\nB: 2\nx-a: 3\nX-A: 4\n\nbody\n", "CHGHDR 0 is taken as 1 (Sendmail, Postfix)") ;
  CHG(3, "X-A", "") ;
  APPLY(m3, "X-A: 1\nB: 2\nx-a: 3\n\nbody\n", "CHGHDR with an empty value deletes") ;
  CHG(4, "X-A", "v") ;
  APPLY(m3, "X-A: 1\nB: 2\nx-a: 3\nX-A: 4\nX-A: v\n\nbody\n", "CHGHDR past the last of that name appends (Postfix)") ;
  CHG(4, "X-A", "") ;
  APPLY(m3, m3, "CHGHDR deleting past the last of that name changes nothing") ;
  CHG(1, "Nope", "") ;
  APPLY(m3, m3, "CHGHDR deleting a name that is not there changes nothing") ;
  CHG(1, "X-A", "") ; CHG(1, "X-A", "") ; CHG(1, "X-A", "") ;
  APPLY(m3, "B: 2\n\nbody\n", "CHGHDR 1 three times deletes the three, each seeing the last") ;
  CHG(1, "A", "x\r\n\ty") ;
  APPLY("A: 1\n\tlong\n\tfold\nB: 2\n\n", "A: x\n\ty\nB: 2\n\n", "CHGHDR replaces a folded field whole") ;
  CHG(1, "X-A-B", "x") ;
  APPLY("X-A: 1\n\n", "X-A: 1\nX-A-B: x\n\n", "CHGHDR: a longer name is another name") ;
  CHG(1, "X-", "x") ;
  APPLY("X-A: 1\n\n", "X-A: 1\nX-: x\n\n", "CHGHDR: so is a prefix") ;

  /* several edits: in order, each on the result of the ones before */
  INS(0, "A", "1") ; CHG(1, "A", "2") ;
  APPLY("B: b\n\n", "A: 2\nB: b\n\n", "order: CHGHDR sees the field INSHDR inserted") ;
  ADD("X", "1") ; INS(0, "Y", "2") ; CHG(1, "X", "") ; INS(1, "Z", "3") ;
  APPLY("B: b\n\nbody\n", "Y: 2\nZ: 3\nB: b\n\nbody\n", "order: add, insert first, delete the added, insert second") ;
  CHG(1, "B", "") ; ADD("B", "new") ;
  APPLY("B: old\nC: c\n\n", "C: c\nB: new\n\n", "order: delete then add moves a field to the end") ;

  /* folding, both ways */
  ADD("X", "a\r\n\tb") ;
  APPLY("A: 1\n\n", "A: 1\nX: a\n\tb\n\n", "folding in: CRLF HT stored as LF HT") ;
  ADD("X", "a\n b\r\n  c") ;
  APPLY("A: 1\n\n", "A: 1\nX: a\n b\n  c\n\n", "folding in: LF SP as well") ;
  ADD("X", "\r\n\tstarts folded") ;
  APPLY("", "X: \n\tstarts folded\n", "folding in: a value that starts folded") ;
  {
    static char const fm[] = "Folded: a\n\tb\n  c\nSubject:  two\nT:\tt\n\nbody\n" ;
    is(headers(fm, 0, &r), "Folded=a\r\n\tb\r\n  c|Subject= two|T=\tt|", "round trip: what the filter is given") ;
    CHG(1, "Folded", "a\r\n\tb\r\n  c") ; CHG(1, "Subject", " two") ; CHG(1, "T", "\tt") ;
    APPLY(fm, "Folded: a\n\tb\n  c\nSubject:  two\nT: \tt\n\nbody\n", "round trip: every field given back as read is unchanged but for one with no SP after ':'") ;
  }

  /* injection and other refusals */
  ADD("X", "x\r\nBcc: evil") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a CRLF not followed by a blank (a new field)") ;
  ADD("X", "x\nBcc:") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a LF not followed by a blank") ;
  ADD("X", "x\rBcc: evil") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a bare CR") ;
  ADD("X", "x\r\n") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a value ending in CRLF (an empty line: a body)") ;
  ADD("X", "x\r\n\r\nbody") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: an empty line inside a value") ;
  ADD("X", "x\r\n \r\n\tthen") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a continuation line of blanks only") ;
  ADD("X", "x\n\t") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a last continuation of blanks only") ;
  ADD("X", "x\r\r\n y") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: CR CR LF") ;
  modb(MILTER_MOD_ADDHDR, 0, "X", 1, "a\0b", 3) ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a NUL in a value") ;
  ADD("", "x") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: an empty name") ;
  ADD("Bcc: x\nTo", "y") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a name with a colon and a LF") ;
  ADD("Two words", "y") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a name with a space") ;
  ADD("X\x7f", "y") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a name with DEL") ;
  ADD("X\xc3\xa9", "y") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a name with 8-bit octets") ;
  CHG(1, "A:", "") ;
  APPLY("A: 1\n\n", "EPROTO", "refused: a bad name in a deletion too") ;
  INS(0, "X", "\xc3\xa9t\xc3\xa9") ;
  APPLY("A: 1\n\n", "X: \xc3\xa9t\xc3\xa9\nA: 1\n\n", "8-bit octets in a value pass, as in a message") ;
  ADD("X", "ok") ; ADD("Y", "x\r\nBcc: evil") ;
  APPLY("A: 1\n\n", "EPROTO", "one refused edit refuses them all: no output") ;

  /* line lengths (RFC 5322 §2.1.1) */
  ADD("X", rep('a', 995)) ;
  ok(strlen(run("", 0, 0)) == 999, "a field line of 998 octets passes") ;
  ADD("X", rep('a', 996)) ;
  APPLY("", "EPROTO", "one of 999 is refused") ;
  ADD(rep('N', 996), "") ;
  ok(strlen(run("", 0, 0)) == 999, "a name of 996 octets with an empty value fits") ;
  ADD(rep('N', 997), "") ;
  APPLY("", "EPROTO", "a name of 997 does not") ;
  memcpy(big, "x\r\n\t", 4) ; memset(big + 4, 'b', 997) ; big[1001] = 0 ;
  ADD("X", big) ;
  ok(strlen(run("", 0, 0)) == 5 + 998 + 1, "a continuation line of 998 octets passes") ;
  big[1001] = 'b' ; big[1002] = 0 ;
  ADD("X", big) ;
  APPLY("", "EPROTO", "one of 999 is refused") ;

  /* size */
  ADD("X", "y") ;
  is(run("A: 1\n\nbody\n", 11, 16), "A: 1\nX: y\n\nbody\n", "max: a result of exactly max octets") ;
  ADD("X", "y") ;
  is(run("A: 1\n\nbody\n", 11, 15), "EFBIG", "max: one octet more is EFBIG") ;
  CHG(1, "A", "") ;
  is(run("A: 1\n\nbody\n", 11, 7), "\nbody\n", "max: a result that shrank below it") ;

  /* mods that are not msgedit's, and bad offsets */
  modb(MILTER_MOD_ADDRCPT, 0, "<a@b>", 5, "", 0) ;
  modb(MILTER_MOD_DELRCPT, 0, "<a@b>", 5, "", 0) ;
  modb(MILTER_MOD_CHGFROM, 0, "<a@b>", 5, "", 0) ;
  modb(MILTER_MOD_QUARANTINE, 0, "why", 3, "", 0) ;
  modb('?', 0, "x", 1, "", 0) ;
  APPLY(m3, m3, "envelope edits, quarantine and unknown types are passed over") ;
  ADD("X", "y") ; genalloc_s(milter_mod, &mods.list)[0].a = mods.data.len + 1 ;
  APPLY(m3, "EPROTO", "an offset past the data is refused") ;
  ADD("X", "y") ; genalloc_s(milter_mod, &mods.list)[0].blen = (size_t)-1 ;
  APPLY(m3, "EPROTO", "a length past the data (wrapping) is refused") ;

  /* REPLBODY */
  BODY("new\r\nline\r\n") ;
  APPLY("A: 1\n\nold\n", "A: 1\n\nnew\nline\n", "REPLBODY: CRLF becomes LF") ;
  BODY("new\r\nlast") ;
  APPLY("A: 1\n\nold\n", "A: 1\n\nnew\nlast\n", "REPLBODY: a last line without CRLF gets its LF") ;
  BODY("ne") ; BODY("w\r") ; ADD("X", "y") ; BODY("\nx") ;
  APPLY("A: 1\n\nold\n", "A: 1\nX: y\n\nnew\nx\n", "REPLBODY: chunks concatenate, a CRLF split between two, a header edit between them") ;
  BODY("") ;
  APPLY("A: 1\n\nold\n", "A: 1\n\n", "REPLBODY: an empty body") ;
  BODY("hi\r\n") ;
  APPLY("A: 1\n", "A: 1\n\nhi\n", "REPLBODY on a message without a body: the separator is added") ;
  BODY("\r\n\r\n") ;
  APPLY("A: 1\n\nold\n", "A: 1\n\n\n\n", "REPLBODY: a body of empty lines") ;
  BODY("a\rb\r\n") ;
  APPLY("A: 1\n\nold\n", "EPROTO", "REPLBODY: a bare CR is refused") ;
  BODY("a\nb\r\n") ;
  APPLY("A: 1\n\nold\n", "EPROTO", "REPLBODY: a bare LF is refused") ;
  modb(MILTER_MOD_REPLBODY, 0, "a\0b\r\n", 5, "", 0) ;
  APPLY("A: 1\n\nold\n", "EPROTO", "REPLBODY: a NUL is refused") ;
  BODY("ends\r") ;
  APPLY("A: 1\n\nold\n", "EPROTO", "REPLBODY: a CR at the very end is refused") ;
  BODY(rep('a', 500)) ; BODY(rep('a', 498)) ; BODY("\r\n") ;
  ok(strlen(run("", 0, 0)) == 999, "REPLBODY: a line of 998 octets over two chunks passes") ;
  BODY(rep('a', 500)) ; BODY(rep('a', 499)) ; BODY("\r\n") ;
  APPLY("", "EPROTO", "REPLBODY: one of 999 is refused") ;

  /* shapes: empty, headers only, body only */
  APPLY("", "", "no edits on the empty message") ;
  ADD("X", "y") ;
  APPLY("", "X: y\n", "ADDHDR on the empty message") ;
  ADD("X", "y") ; BODY("") ;
  is(run(0, 0, 0), "X: y\n", "the empty message as an empty stralloc (a null pointer): no arithmetic on it") ;
  BODY("b\r\n") ;
  APPLY("", "b\n", "REPLBODY on the empty message: a body without fields") ;
  BODY("Subject: b\r\n") ;
  APPLY("", "\nSubject: b\n", "REPLBODY: a body line that looks like a field gets a separator before it") ;
  BODY("\r\nb\r\n") ;
  APPLY("hello\n", "\n\nb\n", "REPLBODY: a body that starts with an empty line too") ;
  BODY(" b\r\n") ;
  APPLY("hello\n", " b\n", "REPLBODY: a first line that starts blank, with no field before it, needs none") ;
  CHG(1, "A", "") ;
  APPLY("A: 1\n", "", "deleting the only field of a headers-only message: the empty message") ;
  CHG(1, "A", "") ;
  APPLY("A: 1\n\n", "\n", "deleting the only field: the separator stays") ;
  ADD("X", "y") ;
  APPLY("A: 1\n", "A: 1\nX: y\n", "ADDHDR on a headers-only message: still no body") ;
  INS(0, "X", "y") ;
  APPLY("body only\n", "X: y\n\nbody only\n", "INSHDR on a message with no header section: a separator keeps the body a body") ;
  INS(0, "X", "y") ;
  APPLY(" indented\n", "X: y\n\n indented\n", "INSHDR before a body that starts blank: it does not become a continuation") ;
  ADD("X", "y") ;
  APPLY("A: 1\nnot a field\n", "A: 1\nX: y\n\nnot a field\n", "ADDHDR on a message with no separator: one is written") ;
  ADD("X", "y") ;
  is(run("A: 1\n\nno LF", 11, 0), "A: 1\nX: y\n\nno LF\n", "a last line without LF gets one") ;

  /* msgedit_write_stuffed: what enqclient_stuff makes */
  {
    static char const *const msgs[] = { "a\n.b\n..c\nlast", "", ".\n\n.", "Subject: x\n\n.dot\n.\n..\nend\n", "\n", 0 } ;
    unsigned int i, same = 0 ;
    for (i = 0 ; msgs[i] ; i++)
    {
      stralloc want = STRALLOC_ZERO ;
      char got[256] ;
      int p[2] ;
      ssize_t n ;
      if (pipe(p) < 0 || !enqclient_stuff(&want, msgs[i], strlen(msgs[i]))) _exit(111) ;
      r = msgedit_write_stuffed(p[1], msgs[i], strlen(msgs[i])) ;
      close(p[1]) ;
      n = read(p[0], got, sizeof(got)) ;
      close(p[0]) ;
      if (r == 1 && n == (ssize_t)want.len && !memcmp(got, want.s, want.len)) same++ ;
      else printf("# message %u differs\n", i) ;
      stralloc_free(&want) ;
    }
    ok(same == i, "write_stuffed: the same octets as enqclient_stuff, for %u messages", i) ;
  }
  {
    stralloc m = STRALLOC_ZERO ;
    stralloc want = STRALLOC_ZERO, got = STRALLOC_ZERO ;
    int p[2] ;
    pid_t pid ;
    size_t i ;
    for (i = 0 ; i < 20000 ; i++) if (!stralloc_cats(&m, i % 3 ? "line of text\n" : ".dotted\n")) _exit(111) ;
    if (!enqclient_stuff(&want, m.s, m.len) || pipe(p) < 0) _exit(111) ;
    pid = fork() ;
    if (pid < 0) _exit(111) ;
    if (!pid) { close(p[0]) ; _exit(msgedit_write_stuffed(p[1], m.s, m.len) ? 0 : 1) ; }
    close(p[1]) ;
    for (;;)
    {
      ssize_t n ;
      if (!stralloc_readyplus(&got, 65536)) _exit(111) ;
      n = read(p[0], got.s + got.len, 65536) ;
      if (n <= 0) break ;
      got.len += n ;
    }
    close(p[0]) ;
    ok(waitpid(pid, &r, 0) == pid && WIFEXITED(r) && !WEXITSTATUS(r) && got.len == want.len && !memcmp(got.s, want.s, want.len),
      "write_stuffed: a message of %zu octets, through many buffer flushes, as enqclient_stuff makes it", m.len) ;
    stralloc_free(&m) ; stralloc_free(&want) ; stralloc_free(&got) ;
  }
  {
    int p[2] ;
    if (pipe(p) < 0) _exit(111) ;
    close(p[0]) ;
    signal(SIGPIPE, SIG_IGN) ;
    ok(!msgedit_write_stuffed(p[1], "a\n", 2) && errno == EPIPE, "write_stuffed: a reader gone is 0 EPIPE") ;
    close(p[1]) ;
  }

  stralloc_free(&hs) ; stralloc_free(&bs) ;
  genalloc_free(milter_mod, &mods.list) ; stralloc_free(&mods.data) ;
  return tap_done() ;
}
