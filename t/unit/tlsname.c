/* ISC license: see LICENSE. */

#include <string.h>

#include <bearssl.h>

#include "tap.h"
#include "tlsname.h"

int main (void)
{
  tap_plan(10) ;
  ok(!strcmp(tlsname_suite(BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256), "ECDHE-RSA-CHACHA20-POLY1305"), "a server suite by its name") ;
  ok(!strcmp(tlsname_suite(BR_TLS_RSA_WITH_AES_128_CBC_SHA), "AES128-SHA"), "a client-only suite too (br_ssl_client_init_full offers it)") ;
  ok(!strcmp(tlsname_suite(0xFFFF), "unknown"), "an unknown suite") ;
  ok(!strcmp(tlsname_error(BR_ERR_X509_BAD_SERVER_NAME), "certificate does not match the host name"), "one wording for a name mismatch") ;
  ok(!strcmp(tlsname_error(BR_ERR_BAD_CIPHER_SUITE), "no common cipher suite"), "an engine error") ;
  ok(!strcmp(tlsname_error(BR_ERR_RECV_FATAL_ALERT + 40), "fatal alert received") && !strcmp(tlsname_error(BR_ERR_SEND_FATAL_ALERT + 40), "fatal alert sent"), "alerts: who sent them") ;
  ok(!strcmp(tlsname_error(BR_ERR_X509_BAD_DN), "certificate error"), "an X.509 code without its own words") ;
  ok(!strcmp(tlsname_error(11), "TLS protocol error"), "an engine code without its own words") ;
  ok(!strcmp(tlsname_version(BR_TLS12), "TLSv1.2") && !strcmp(tlsname_version(BR_TLS11), "TLSv1.1") && !strcmp(tlsname_version(BR_TLS10), "TLSv1.0"), "the versions BearSSL speaks") ;
  ok(!strcmp(tlsname_version(0x0304), "unknown") && !strcmp(tlsname_version(0), "unknown"), "another version: unknown") ;
  return tap_done() ;
}
