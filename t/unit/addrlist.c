/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include "addrlist.h"
#include "tap.h"

/* the addresses found, joined with spaces, or "ERR" plus the errno name */
static char const *parse (char const *s, size_t max)
{
  static char res[4096] ;
  stralloc out = STRALLOC_ZERO ;
  size_t n = 0, i = 0 ;
  if (!addrlist_parse(&out, &n, max, s, strlen(s), "host.example"))
  {
    stralloc_free(&out) ;
    return errno == ERANGE ? "ERANGE" : errno == EINVAL ? "EINVAL" : "ERR" ;
  }
  res[0] = 0 ;
  while (i < out.len)
  {
    if (res[0]) strcat(res, " ") ;
    strcat(res, out.s + i) ;
    i += strlen(out.s + i) + 1 ;
  }
  stralloc_free(&out) ;
  return res ;
}

/* the input as a TAP description: folding shown as \\r \\n, not as line breaks */
static char const *show (char const *s)
{
  static char buf[512] ;
  size_t n = 0 ;
  for (; *s && n < sizeof(buf) - 3 ; s++)
  {
    if (*s == '\r' || *s == '\n' || *s == '\t') { buf[n++] = '\\' ; buf[n++] = *s == '\r' ? 'r' : *s == '\n' ? 'n' : 't' ; }
    else buf[n++] = *s ;
  }
  buf[n] = 0 ;
  return buf ;
}

#define T(in, want) do { char const *got_ = parse(in, 100) ; ok(!strcmp(got_, want), "%s -> %s (got %s)", show(in), want, got_) ; } while (0)

int main (void)
{
  tap_plan(56) ;
  T("a@b.example", "a@b.example") ;
  T("a@B.Example, c@d.example", "a@b.example c@d.example") ;
  T("John Doe <jd@x.example>", "jd@x.example") ;
  T("\"Doe, John\" <jd@x.example>, other@y.example", "jd@x.example other@y.example") ;
  T("jd@x.example (John, \"the\" (nested) Doe)", "jd@x.example") ;
  T("undisclosed-recipients:;", "") ;
  T("friends: a@x.example, B <b@y.example>;, c@z.example", "a@x.example b@y.example c@z.example") ;
  T("a@x.example,\r\n\tb@y.example", "a@x.example b@y.example") ;
  T("Name\r\n <a@x.example>", "a@x.example") ;
  T("bob", "bob@host.example") ;
  T("Bob <bob>", "bob@host.example") ;
  T("\"john doe\"@x.example", "\"john doe\"@x.example") ;
  T("a@[192.0.2.1]", "a@[192.0.2.1]") ;
  T("<@relay.example:a@x.example>", "a@x.example") ;
  T("a@x.example,,, b@y.example,", "a@x.example b@y.example") ;
  T("j . d @ x . example", "j.d@x.example") ;
  T("", "") ;
  T("a@x.example <b@y.example>", "b@y.example") ;
  T("<a@x.example> junk", "EINVAL") ;
  T("<a@x.example", "EINVAL") ;
  T("a@x.example (unclosed", "EINVAL") ;
  T("\"unclosed@x.example", "EINVAL") ;
  T("g: a@x.example", "EINVAL") ;
  T("a@@x.example", "EINVAL") ;
  T("a@-x.example", "EINVAL") ;
  /* RFC 5322 §3.4: words side by side are a phrase, only ever a display name before <...> or a group's name */
  T("bob smith@example.com", "EINVAL") ;
  T("info@example.com x", "EINVAL") ;
  T("info@example.com x, a@b.example", "EINVAL") ;
  T("a@b.example, bob smith@example.com", "EINVAL") ;
  T("bob\r\n smith@example.com", "EINVAL") ;
  T("bob(comment)smith@example.com", "EINVAL") ;
  T("bob@example.com(comment)x", "EINVAL") ;
  T("bob@exam ple.com", "EINVAL") ;
  T("bob@example .com x", "EINVAL") ;
  T("bob \"smith\"@example.com", "EINVAL") ;
  T("\"bob\" smith@example.com", "EINVAL") ;
  T("a@[192.0.2.1] x", "EINVAL") ;
  T("Bob Smith", "EINVAL") ;
  T("g: bob smith@example.com;", "EINVAL") ;
  T("< bob smith@example.com >", "EINVAL") ;
  T("Bob <bob smith@example.com>", "EINVAL") ;
  T("Bob <info@example.com x>", "EINVAL") ;
  /* ... while CFWS around the words, dots and "@" of an addr-spec is legal (obs-local-part, obs-domain: §4.4) */
  T("  bob@example.com  ", "bob@example.com") ;
  T("(lead) bob@example.com (trail)", "bob@example.com") ;
  T("bob (Bob Smith) @ example.com", "bob@example.com") ;
  T("bob.(c)smith@example.com", "bob.smith@example.com") ;
  T("bob\r\n\t.smith@example\r\n .com", "bob.smith@example.com") ;
  T("\"bob smith\" @ example.com", "\"bob smith\"@example.com") ;
  T("< bob@example.com >", "bob@example.com") ;
  T("Bob Q. Smith <bob@example.com>", "bob@example.com") ;
  T("\"Smith, Bob\" (work) <bob@example.com> (trail)", "bob@example.com") ;
  T("<@a.example, @b.example:bob@example.com>", "bob@example.com") ;
  T("team: bob@example.com, Jane Doe <jane@example.com>;", "bob@example.com jane@example.com") ;
  T("a@[192.0.2.1] (literal)", "a@[192.0.2.1]") ;
  T("bob", "bob@host.example") ;
  {
    char const *got = parse("a@x.example, b@x.example, c@x.example", 2) ;
    ok(!strcmp(got, "ERANGE"), "more than max addresses: ERANGE (got %s)", got) ;
  }
  return tap_done() ;
}
