/* ISC license: see LICENSE. */

#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "tap.h"
#include "base64.h"
#include "conf.h"
#include "dkim.h"
#include "dkimkey.h"
#include "dkimsign.h"
#include "envelope.h"

static int same (stralloc const *sa, char const *s)
{
  int r = sa->len == strlen(s) && !memcmp(sa->s, s, sa->len) ;
  if (!r) printf("# got [%.*s]\n", (int)sa->len, sa->s) ;
  return r ;
}

static int canon_h (char const *in, char const *want)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = dkim_canon_header(in, strlen(in), &sa) && same(&sa, want) ;
  stralloc_free(&sa) ;
  return r ;
}

static int canon_b (char const *in, char const *want)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = dkim_canon_body(in, strlen(in), &sa) && same(&sa, want) ;
  stralloc_free(&sa) ;
  return r ;
}

/* the body hash of a whole message fed in pieces of step octets, in base64 */
static void bodyhash (char const *msg, size_t step, stralloc *out)
{
  dkim d ;
  unsigned char bh[32] ;
  size_t len = strlen(msg), i = 0 ;
  dkim_init(&d) ;
  for (; i < len ; i += step) dkim_feed(&d, msg + i, len - i < step ? len - i : step) ;
  dkim_end(&d, bh) ;
  out->len = 0 ;
  base64_cat(out, (char const *)bh, 32) ;
}

static int from (char const *field, char const *want)
{
  char dom[DKIM_DOMAIN_MAX + 1] ;
  int r = dkim_from_domain(field, strlen(field), dom) ;
  if (!want) return !r ;
  if (r != 1 || strcmp(dom, want)) { printf("# %s: %d %s\n", field, r, r ? dom : "") ; return 0 ; }
  return 1 ;
}

/* a message in a file, signed: dkim fed step octets at a time; the field in sig */
static int sign_file (char const *msg, size_t step, dkimkey const *k, char const *domain, stralloc *sig)
{
  dkim d ;
  unsigned char bh[32] ;
  size_t len = strlen(msg), i = 0 ;
  int fd = open(tap_path("msg"), O_RDWR | O_CREAT | O_TRUNC, 0600), r ;
  if (fd < 0 || write(fd, "ENVELOPE\n", 9) != 9 || write(fd, msg, len) != (ssize_t)len) return 0 ;
  dkim_init(&d) ;
  for (; i < len ; i += step) dkim_feed(&d, msg + i, len - i < step ? len - i : step) ;
  dkim_end(&d, bh) ;
  sig->len = 0 ;
  r = dkim_sign(&d, k, domain, "sel", 1700000000, bh, fd, 9, sig) ;
  close(fd) ;
  /* NUL-terminated for strstr, the NUL not counted */
  if (r && !stralloc_0(sig)) return 0 ;
  if (r) sig->len-- ;
  return r ;
}

static int lines_fit (stralloc const *sa)
{
  size_t i = 0, col = 0 ;
  for (; i < sa->len ; i++)
  {
    if (sa->s[i] == '\n') { if (i + 1 < sa->len && sa->s[i+1] != ' ') return 0 ; col = 0 ; continue ; }
    if (++col > DKIM_LINE) return 0 ;
  }
  return sa->len && sa->s[sa->len - 1] == '\n' ;
}

/* h= of a field, unfolded */
static int h_is (stralloc const *sig, char const *want)
{
  char buf[2048] ;
  size_t n = 0, i = 0 ;
  char const *h ;
  for (; i < sig->len && n < sizeof(buf) - 1 ; i++) if (sig->s[i] != '\n' && sig->s[i] != ' ') buf[n++] = sig->s[i] ;
  buf[n] = 0 ;
  h = strstr(buf, ";h=") ;
  if (!h || strncmp(h + 3, want, strlen(want)) || h[3 + strlen(want)] != ';') { printf("# %s\n", buf) ; return 0 ; }
  return 1 ;
}

int main (void)
{
  stralloc sa = STRALLOC_ZERO, sb = STRALLOC_ZERO ;
  dkimkey k = DKIMKEY_ZERO ;
  tap_plan(45) ;
  if (!tap_tmpdir()) return 111 ;

  /* RFC 6376 §3.4.6's example, in the stored form (each LF a CRLF) */
  ok(canon_h("A: X\n", "a:X\r\n"), "relaxed header: §3.4.6, A") ;
  ok(canon_h("B : Y\t\n\tZ  \n", "b:Y Z\r\n"), "relaxed header: §3.4.6, B (blank before the colon, folded, blanks at the end)") ;
  ok(canon_b(" C \nD \t E\n\n\n", " C\r\nD E\r\n"), "relaxed body: §3.4.6") ;
  ok(canon_b("", "") && canon_b("\n\n", "") && canon_b(" \t\n", ""), "relaxed body: nothing, empty lines, blanks: empty") ;
  ok(canon_b("\n\nx\n", "\r\n\r\nx\r\n"), "relaxed body: empty lines before text stay") ;
  ok(canon_h("SUBJECT:hello\n", "subject:hello\r\n"), "relaxed header: the name lower-cased, not the value") ;

  bodyhash("From: a@b.example\n\n", 1, &sa) ;
  ok(sa.len == 44 && !memcmp(sa.s, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", 44), "the empty body's hash (sha256 of nothing)") ;
  bodyhash("From: a@b.example\n", 1, &sb) ;
  ok(sa.len == sb.len && !memcmp(sa.s, sb.s, sa.len), "... and a message with no body at all") ;
  bodyhash("From: a@b.example\n\n\n\n  \n", 3, &sb) ;
  ok(sa.len == sb.len && !memcmp(sa.s, sb.s, sa.len), "... and a body of empty lines and blanks") ;
  {
    /* the body after the header section, hashed in one piece or one octet at a time */
    static char const m[] = "From: a@b.example\nSubject: x\n\n C \nD \t E\n\n\n" ;
    br_sha256_context h ;
    unsigned char out[32] ;
    br_sha256_init(&h) ;
    br_sha256_update(&h, " C\r\nD E\r\n", 9) ;
    br_sha256_out(&h, out) ;
    sb.len = 0 ; base64_cat(&sb, (char const *)out, 32) ;
    bodyhash(m, 1, &sa) ;
    ok(sa.len == sb.len && !memcmp(sa.s, sb.s, sa.len), "body hash: the §3.4.6 body, fed octet by octet") ;
    bodyhash(m, 1000, &sa) ;
    ok(sa.len == sb.len && !memcmp(sa.s, sb.s, sa.len), "... and in one piece") ;
  }

  ok(from("From: a@Example.ORG\n", "example.org"), "From: a bare address, lower-cased") ;
  ok(from("From: \"x@evil.example\" <a@b.example>\n", "b.example"), "From: a quoted display name holds no address") ;
  ok(from("From: (c@evil.example) a@e.example\n", "e.example"), "From: nor does a comment") ;
  ok(from("From: Name <a@b.example> (x@evil.example)\n", "b.example"), "From: a comment after") ;
  ok(from("From: a@b.example, c@d.example\n", "b.example"), "From: the first of two mailboxes") ;
  ok(from("From: Group: a@g.example;\n", "g.example"), "From: a group's first member") ;
  ok(from("From: Name <a@[192.0.2.1]>\n", 0), "From: a domain literal: none") ;
  ok(from("From: undisclosed-recipients:;\n", 0) && from("From: nobody\n", 0) && from("From:\n", 0), "From: no address: none") ;
  ok(from("From: a@b.example\n\t(folded)\n", "b.example"), "From: folded") ;
  ok(from("From: <\"a@b\"@c.example>\n", "c.example"), "From: a quoted local part with an @") ;

  ok(dkimkey_generate(&k, DKIMKEY_ED25519, 0), "an Ed25519 key for the signatures") ;
  {
    static char const m[] =
      "Received: from x\n\tby y\n"
      "From: Someone <a@b.example>\n"
      "To: one@x.example\n"
      "Subject: s\n"
      "X-Other: o\n"
      "To: two@x.example,\n three@x.example\n"
      "Date: Sun, 6 Dec 2026 19:00:00 +0000\n"
      "\n"
      "body\n" ;
    stralloc s1 = STRALLOC_ZERO ;
    ok(sign_file(m, 1, &k, "b.example", &s1), "sign, the message fed octet by octet") ;
    ok(sign_file(m, 4096, &k, "b.example", &sa) && sa.len == s1.len && !memcmp(sa.s, s1.s, sa.len), "... the same field from one piece (Ed25519 is deterministic)") ;
    ok(h_is(&sa, "from:from:to:to:subject:date"), "h=: From over-signed, both To, no Received or X-") ;
    ok(lines_fit(&sa), "the field: lines of at most 78 columns, continued with a blank, a final LF") ;
    ok(!strncmp(sa.s, "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=b.example;", 70) && strstr(sa.s, "t=1700000000;") && !strstr(sa.s, " l="), "v=1, a=, c=relaxed/relaxed, d=, t=, no l=") ;
    ok(sa.len <= dkim_reserve(9, 3, DKIMKEY_ED25519), "within dkim_reserve") ;
    stralloc_free(&s1) ;
  }
  {
    /* every name of the table, more instances than are signed: the longest h= */
    static char const *const names[] = { "From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To", "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe", "List-Post", "List-Owner", "List-Archive" } ;
    stralloc m = STRALLOC_ZERO ;
    unsigned int i = 0, j ;
    for (; i < sizeof(names) / sizeof(*names) ; i++)
      for (j = 0 ; j < (i ? 10 : 1) ; j++)
        stralloc_cats(&m, names[i]), stralloc_cats(&m, ": v@b.example\n") ;
    stralloc_cats(&m, "\nbody\n") ; stralloc_0(&m) ;
    ok(sign_file(m.s, 7, &k, "a-long-domain-name.example", &sa), "sign the message with every signed name ten times") ;
    ok(sa.len <= dkim_reserve(26, 3, DKIMKEY_ED25519), "... within dkim_reserve (%zu <= %zu)", sa.len, dkim_reserve(26, 3, DKIMKEY_ED25519)) ;
    ok(h_is(&sa, "from:from:to:to:to:to:to:to:to:to:cc:cc:cc:cc:cc:cc:cc:cc:subject:subject:subject:subject:subject:subject:subject:subject:date:date:date:date:date:date:date:date:message-id:message-id:message-id:message-id:message-id:message-id"), "... at most 8 of a name, 40 in all") ;
    ok(lines_fit(&sa), "... folded at 78 columns") ;
    stralloc_free(&m) ;
  }
  {
    /* two From fields: no domain, no signature */
    dkim d ;
    char dom[DKIM_DOMAIN_MAX + 1] ;
    int fd = open(tap_path("msg"), O_RDONLY) ;
    dkim_init(&d) ;
    dkim_feed(&d, "From: a@b.example\nFrom: c@d.example\n\nx\n", 39) ;
    ok(fd >= 0 && dkim_from(&d, fd, 0, dom) == 0, "two From fields: not signed") ;
    if (fd >= 0) close(fd) ;
  }

  /* the room in the envelope */
  {
    envelope e = ENVELOPE_ZERO ;
    stralloc env = STRALLOC_ZERO ;
    envelope_init(&e, "a@b.example") ; envelope_add_rcpt(&e, "c@d.example") ;
    envelope_encode(&e, &env) ;
    {
      size_t head = env.len - 1 ;
      env.len = head ;
      ok(dkimsign_room(2500, 0, 0, &env) && env.len == head + 2500 && envelope_decode(&e, env.s, env.len) && e.hdrlen == env.len, "the room: pad lines the envelope reader skips, the empty line last") ;
      env.len = head ;
      ok(dkimsign_room(2500, "DKIM-Signature: x\n", 18, &env) && env.len == head + 2500 && envelope_decode(&e, env.s, env.len) && e.hdrlen == env.len - 18
         && !memcmp(env.s + env.len - 18, "DKIM-Signature: x\n", 18), "... with a signature: the message starts with it") ;
      env.len = head ;
    }
    ok(!dkimsign_room(22, "DKIM-Signature: x\n", 18, &env), "... a signature that does not fit is refused") ;
    ok(envelope_decode(&e, "ketch 1\nfrom a@b\nto c@d\nbody 7bit\npad x\n\n", 41) == 0, "a pad line holds blanks only") ;
    envelope_free(&e) ; stralloc_free(&env) ;
  }

  /* the configuration */
  {
    conf c ;
    conf_dkim const *d ;
    size_t i = 0 ;
    tap_put("k.conf", "dkim-sign Example.org selector s1 key k1\ndkim-sign example.org selector s2 key k2 algorithm ed25519-sha256\n"
      "dkim-sign parent.example selector p key kp subdomains\ndkim-sign sub.parent.example selector q key kq\n") ;
    ok(conf_load(&c, tap_path("k.conf"), &sa), "dkim-sign lines") ;
    d = conf_dkim_next(&c, "example.org", &i) ;
    ok(d && !strcmp(c.sa.s + d->selector, "s1") && d->alg == CONF_DKIM_ANY && (d = conf_dkim_next(&c, "example.org", &i)) && !strcmp(c.sa.s + d->selector, "s2")
       && d->alg == CONF_DKIM_ED25519 && !conf_dkim_next(&c, "example.org", &i), "a domain's two keys, the domain lower-cased") ;
    i = 0 ; d = conf_dkim_next(&c, "a.b.parent.example", &i) ;
    ok(d && !strcmp(c.sa.s + d->domain, "parent.example") && !conf_dkim_next(&c, "a.b.parent.example", &i), "subdomains: the parent's key") ;
    i = 0 ; d = conf_dkim_next(&c, "x.sub.parent.example", &i) ;
    ok(d && !strcmp(c.sa.s + d->selector, "p"), "... the nearest parent with subdomains") ;
    i = 0 ; d = conf_dkim_next(&c, "sub.parent.example", &i) ;
    ok(d && !strcmp(c.sa.s + d->selector, "q") && !conf_dkim_next(&c, "sub.parent.example", &i), "... but a domain's own line first") ;
    i = 0 ;
    ok(!conf_dkim_next(&c, "x.example.org", &i), "no subdomains, no key") ;
    ok(dkimsign_reserve(&c) > dkim_reserve(11, 2, DKIMKEY_RSA), "the room: both keys of example.org") ;
    conf_free(&c) ;
    tap_put("k.conf", "dkim-sign example.org selector s1 key k1\ndkim-sign example.org selector s1 key k2\n") ;
    ok(!conf_load(&c, tap_path("k.conf"), &sa) && strstr(sa.s, "given twice"), "a selector twice is refused") ;
  }
  dkimkey_free(&k) ;
  stralloc_free(&sa) ; stralloc_free(&sb) ;
  tap_rmtmp() ;
  return tap_done() ;
}
