/* ISC license: see LICENSE. */

#include <string.h>

#include "address.h"
#include "tap.h"

static void good (char const *in, unsigned int opt, char const *canon)
{
  address a = ADDRESS_ZERO ;
  int r = address_parse(&a, in, strlen(in), opt) ;
  ok(r == 0 && !strcmp(a.s, canon), "accept %s -> %s (got %s: %s)", in, canon, a.s, address_strerror(r)) ;
}

static void bad (char const *in, unsigned int opt, int e)
{
  address a = ADDRESS_ZERO ;
  char shown[80] ;
  size_t i = 0 ;
  int r = address_parse(&a, in, strlen(in), opt) ;
  for (; in[i] && i < sizeof(shown) - 1 ; i++) shown[i] = (unsigned char)in[i] < 32 ? '?' : in[i] ;
  shown[i] = 0 ;
  ok(r == e, "refuse %s: %s (got %s)", shown, address_strerror(e), address_strerror(r)) ;
}

int main (void)
{
  char big[400] ;
  tap_plan(40) ;
  good("user@example.org", 0, "user@example.org") ;
  good("<user@Example.ORG>", ADDRESS_BRACKETS, "user@example.org") ;
  good("User.Name+tag@example.org", 0, "User.Name+tag@example.org") ;
  good("\"john doe\"@example.org", 0, "\"john doe\"@example.org") ;
  good("\"plain\"@example.org", 0, "plain@example.org") ;
  good("\"a\\\"b\"@example.org", 0, "\"a\\\"b\"@example.org") ;
  good("\"a@b\"@example.org", 0, "\"a@b\"@example.org") ;
  good("a%b@example.org", 0, "a%b@example.org") ;
  good("b!a@example.org", 0, "b!a@example.org") ;
  good("x@[127.0.0.1]", 0, "x@[127.0.0.1]") ;
  good("x@[IPv6:::1]", 0, "x@[ipv6:::1]") ;
  good("<@a.example,@b.example:u@c.example>", ADDRESS_BRACKETS, "u@c.example") ;
  good("<>", ADDRESS_NULL_OK, "") ;
  good("", ADDRESS_NULL_OK, "") ;
  good("<Postmaster>", ADDRESS_BRACKETS | ADDRESS_NODOMAIN_OK, "Postmaster") ;
  good("j\xc3\xb6rg@b\xc3\xbc" "cher.example", ADDRESS_UTF8, "j\xc3\xb6rg@b\xc3\xbc" "cher.example") ;
  good("$x`id`|&'{}@example.org", 0, "$x`id`|&'{}@example.org") ;
  good("\"; rm -rf /\"@example.org", 0, "\"; rm -rf /\"@example.org") ;
  bad("<>", 0, ADDRESS_EEMPTY) ;
  bad("@Av:", 0, ADDRESS_ESYNTAX) ;  /* fuzzer: a route with no mailbox read past the end */
  bad("user", 0, ADDRESS_ESYNTAX) ;
  bad("post", ADDRESS_NODOMAIN_OK, ADDRESS_ESYNTAX) ;
  bad("user@example.org", ADDRESS_BRACKETS, ADDRESS_ESYNTAX) ;
  bad("us er@example.org", 0, ADDRESS_ELOCAL) ;
  bad(".user@example.org", 0, ADDRESS_ELOCAL) ;
  bad("us..er@example.org", 0, ADDRESS_ELOCAL) ;
  bad("user@-example.org", 0, ADDRESS_EDOMAIN) ;
  bad("user@example..org", 0, ADDRESS_EDOMAIN) ;
  bad("user@example.org.", 0, ADDRESS_EDOMAIN) ;
  bad("user@", 0, ADDRESS_EDOMAIN) ;
  bad("user@[300.1.1.1]", 0, ADDRESS_ELITERAL) ;
  bad("user@[foo:bar]", 0, ADDRESS_ELITERAL) ;
  bad("u\nser@example.org", 0, ADDRESS_ECTRL) ;
  bad("j\xc3\xb6rg@example.org", 0, ADDRESS_E8BIT) ;
  bad("\"unterminated@example.org", 0, ADDRESS_ELOCAL) ;
  memset(big, 'a', 65) ; strcpy(big + 65, "@example.org") ;
  bad(big, 0, ADDRESS_ELOCALLEN) ;
  memset(big, 'a', 63) ; big[63] = '.' ; memset(big + 64, 'b', 63) ; big[127] = '.' ;
  memset(big + 128, 'c', 63) ; big[191] = '.' ; memset(big + 192, 'd', 63) ; big[255] = 0 ;
  {
    char addr[300] = "u@" ;
    strcat(addr, big) ;
    bad(addr, 0, ADDRESS_EPATHLEN) ;
  }
  memset(big, 'a', 64) ; big[64] = 0 ;
  {
    char addr[100] ;
    strcpy(addr, "u@") ; strcat(addr, big) ; strcat(addr, ".org") ;
    bad(addr, 0, ADDRESS_EDOMAIN) ;
  }
  ok(address_domain_valid("a-b.example", 11, 0), "domain with a hyphen") ;
  ok(!address_domain_valid("ab-.example", 11, 0), "label ending with a hyphen") ;
  return tap_done() ;
}
