/* ISC license: see LICENSE. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "tls.h"

/* the chain takes the DER of the CERTIFICATE objects as they are (BearSSL
   parses them in the handshake), so short stand-ins serve here */
#define CERT1 "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
#define CERT2 "-----BEGIN CERTIFICATE-----\nCgsM\n-----END CERTIFICATE-----\n"
#define KEY "-----BEGIN PRIVATE KEY-----\nBAUG\n-----END PRIVATE KEY-----\n"

int main (void)
{
  tls_chain c = TLS_CHAIN_ZERO ;
  char path[sizeof("/tmp/ketch-unit.XXXXXX/") + 64] ;
  tap_plan(9) ;
  if (!tap_tmpdir()) { printf("Bail out! mkdtemp\n") ; return 1 ; }
  ok(!tls_chain_current(&c, "/nonexistent"), "nothing loaded: not current") ;
  tap_put("crt", CERT1 CERT2 KEY) ;
  strcpy(path, tap_path("crt")) ;
  ok(tls_chain_load(&c, path) && c.n == 2, "a chain of two certificates, a key after them") ;
  ok(c.sa.len == 6 && !memcmp(c.certs[0].data, "\1\2\3", 3) && c.certs[0].data_len == 3
     && !memcmp(c.certs[1].data, "\12\13\14", 3) && c.certs[1].data_len == 3, "their DER, in order") ;
  ok(!memchr(c.sa.s, 4, c.sa.len), "the key in the same file is not kept") ;
  ok(tls_chain_current(&c, path), "the file unchanged: current") ;
  tap_put("crt.new", CERT2) ;
  rename(tap_path("crt.new"), path) ;
  ok(!tls_chain_current(&c, path), "renewed by a rename: not current") ;
  ok(tls_chain_load(&c, path) && c.n == 1 && c.certs[0].data[0] == 10 && tls_chain_current(&c, path), "loaded again: the new chain, current") ;
  tap_put("crt", KEY) ;
  errno = 0 ;
  ok(!tls_chain_load(&c, path) && errno == EINVAL && !c.n && !c.certs && !tls_chain_current(&c, path), "no certificate in the file: EINVAL, and nothing kept") ;
  ok(!tls_chain_load(&c, tap_path("missing")) && errno == ENOENT, "a missing file: ENOENT") ;
  tls_chain_free(&c) ;
  tap_rmtmp() ;
  return tap_done() ;
}
