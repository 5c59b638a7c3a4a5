/* ISC license: see LICENSE. */

#include <string.h>
#include <errno.h>

#include <skalibs/stralloc.h>

#include "tap.h"
#include "senderlogin.h"

static char const map[] = "# logins\n  alice  alice@example.org, a.smith@example.org\nbob @example.net\r\nbob bob@example.org\n#carol carol@example.org\nDave dave@Example.ORG\n" ;

static int allowed (char const *login, char const *addr)
{
  return senderlogin_allowed(map, sizeof(map) - 1, login, strlen(login), addr, strlen(addr)) ;
}

/* the From fields of a message, fed in pieces of n octets, checked for login */
static int from_ok (char const *msg, size_t n, char const *login)
{
  senderlogin_from f = SENDERLOGIN_FROM_ZERO ;
  size_t len = strlen(msg), i = 0 ;
  int r = 1 ;
  senderlogin_from_reset(&f) ;
  for (; i < len ; i += n) if (!senderlogin_from_feed(&f, msg + i, len - i < n ? len - i : n)) r = -1 ;
  if (r > 0) r = senderlogin_from_allowed(&f, map, sizeof(map) - 1, login, strlen(login)) ;
  stralloc_free(&f.value) ;
  return r ;
}

/* the addresses senderlogin_from_next finds, separated by spaces */
static int next_is (char const *value, char const *want)
{
  char addr[SENDERLOGIN_ADDR_MAX + 1], got[1024] = "" ;
  size_t pos = 0, n = 0 ;
  int r ;
  while ((r = senderlogin_from_next(value, strlen(value), &pos, addr)) > 0 && n + strlen(addr) + 2 < sizeof(got))
  {
    if (n) got[n++] = ' ' ;
    memcpy(got + n, addr, strlen(addr) + 1) ; n += strlen(addr) ;
  }
  if (r < 0) memcpy(got + n, "!", 2) ;
  if (strcmp(got, want)) { printf("# got [%s]\n", got) ; return 0 ; }
  return 1 ;
}

int main (void)
{
  stralloc sa = STRALLOC_ZERO ;
  char big[SENDERLOGIN_FROM_MAX + 64] ;
  tap_plan(17) ;
  ok(allowed("alice", "alice@example.org") && allowed("alice", "a.smith@example.org") && allowed("ALICE", "Alice@Example.Org"), "map: a login's addresses, commas and blanks, any case") ;
  ok(!allowed("alice", "bob@example.org") && !allowed("alice", "alice@example.net") && !allowed("alic", "alice@example.org"), "map: another's address, another domain, a prefix of the login") ;
  ok(allowed("bob", "anyone@example.net") && allowed("bob", "bob@example.org") && !allowed("bob", "x@sub.example.net") && !allowed("bob", "example.net"), "map: @domain (not its subdomains), two lines of one login, CRLF") ;
  ok(!allowed("carol", "carol@example.org") && !allowed("#carol", "carol@example.org") && allowed("dave", "dave@example.org"), "map: a comment line is nobody's") ;
  ok(!allowed("", "x@example.net") && !allowed("bob", ""), "map: an empty login or address is never allowed") ;
  ok(senderlogin_owners(map, sizeof(map) - 1, "bob@example.org", 15, &sa) && sa.len == 4 && !memcmp(sa.s, "bob ", 4), "owners: the logins that may use an address") ;
  ok(next_is("Alice <alice@example.org>", "alice@example.org") && next_is("alice@example.org (Alice, <x@y>)", "alice@example.org"), "from: an angle-addr, an addr-spec with a comment holding , and <>") ;
  ok(next_is("\"Smith, A. <x@y>\" <a.smith@example.org>, bob@example.org", "a.smith@example.org bob@example.org"), "from: a quoted display name with , and <>, then a second mailbox") ;
  ok(next_is("Team: alice@example.org, <bob@example.org>;", "alice@example.org bob@example.org") && next_is("undisclosed:;", "") && next_is("  ", ""), "from: a group, an empty group, blanks") ;
  ok(next_is("\"a\\\"b\"@example.org", "\"a\\\"b\"@example.org"), "from: a quoted local part with a quoted-pair, kept whole") ;
  {
    static char const nul[] = "a\0b@example.org" ;
    char addr[SENDERLOGIN_ADDR_MAX + 1] ;
    size_t pos = 0 ;
    ok(senderlogin_from_next(nul, sizeof(nul) - 1, &pos, addr) == -1, "from: an address holding a NUL is refused (fuzz: regress-nul-in-address)") ;
  }
  memset(big, 'a', sizeof(big) - 1) ; big[sizeof(big) - 1] = 0 ;
  ok(next_is(big, "!"), "from: an address longer than the limit") ;
  ok(from_ok("From: Alice <alice@example.org>\r\nSubject: x\r\n\r\nFrom: eve@evil.example\r\n", 1, "alice") == 1, "message: From owned, octet by octet; a From in the body is not a field") ;
  ok(from_ok("Subject: x\r\nfrom :\r\n a.smith@example.org,\r\n\tbob@example.org\r\n\r\nbody\r\n", 3, "alice") == 0, "message: a folded From (obsolete blank before the colon) with someone else's address") ;
  ok(from_ok("From: alice@example.org\nFrom: x@example.net\n\n", 7, "alice") == 0 && from_ok("From: alice@example.org\nFrom: x@example.net\n\n", 7, "bob") == 0, "message: two From fields, each checked") ;
  ok(from_ok("Subject: no from\r\nFromage: x@evil.example\r\n\r\n", 5, "alice") == 1, "message: no From field, nothing to check; Fromage is not From") ;
  {
    stralloc m = STRALLOC_ZERO ;
    size_t i = 0 ;
    stralloc_cats(&m, "From: alice@example.org") ;
    for (; i < SENDERLOGIN_FROM_MAX / 10 ; i++) stralloc_cats(&m, ",\r\n alice@example.org") ;
    stralloc_cats(&m, "\r\n\r\n") ; stralloc_0(&m) ;
    ok(from_ok(m.s, 100, "alice") == 0, "message: From fields past the limit are refused") ;
    stralloc_free(&m) ;
  }
  stralloc_free(&sa) ;
  return tap_done() ;
}
