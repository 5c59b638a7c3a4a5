/* ISC license: see LICENSE. */

#include <bearssl.h>

#include "tlsname.h"

/* the wording is what an operator reads in a report or a log: say what went wrong, from our side */
static struct { int err ; char const *s ; } const errtab[] =
{
  { BR_ERR_OK, "no error" },
  { BR_ERR_BAD_PARAM, "bad parameter" },
  { BR_ERR_BAD_STATE, "bad state" },
  { BR_ERR_UNSUPPORTED_VERSION, "unsupported protocol version" },
  { BR_ERR_BAD_VERSION, "unsupported protocol version" },
  { BR_ERR_BAD_LENGTH, "bad record length" },
  { BR_ERR_TOO_LARGE, "record too large" },
  { BR_ERR_BAD_MAC, "bad record MAC" },
  { BR_ERR_NO_RANDOM, "no random source" },
  { BR_ERR_UNKNOWN_TYPE, "unknown record type" },
  { BR_ERR_UNEXPECTED, "unexpected message" },
  { BR_ERR_BAD_CCS, "bad ChangeCipherSpec" },
  { BR_ERR_BAD_ALERT, "bad alert" },
  { BR_ERR_BAD_HANDSHAKE, "bad handshake message" },
  { BR_ERR_OVERSIZED_ID, "oversized session id" },
  { BR_ERR_BAD_CIPHER_SUITE, "no common cipher suite" },
  { BR_ERR_BAD_COMPRESSION, "bad compression" },
  { BR_ERR_BAD_FRAGLEN, "bad fragment length" },
  { BR_ERR_BAD_SECRENEG, "bad secure renegotiation" },
  { BR_ERR_EXTRA_EXTENSION, "extra extension" },
  { BR_ERR_BAD_SNI, "bad server name" },
  { BR_ERR_BAD_HELLO_DONE, "bad HelloDone" },
  { BR_ERR_LIMIT_EXCEEDED, "limit exceeded" },
  { BR_ERR_BAD_FINISHED, "bad Finished" },
  { BR_ERR_RESUME_MISMATCH, "resume mismatch" },
  { BR_ERR_INVALID_ALGORITHM, "invalid algorithm" },
  { BR_ERR_BAD_SIGNATURE, "bad signature" },
  { BR_ERR_WRONG_KEY_USAGE, "wrong key usage" },
  { BR_ERR_NO_CLIENT_AUTH, "no client certificate" },
  { BR_ERR_IO, "I/O error or timeout" },
  { BR_ERR_X509_TRUNCATED, "truncated certificate" },
  { BR_ERR_X509_EMPTY_CHAIN, "no certificate" },
  { BR_ERR_X509_UNSUPPORTED, "unsupported certificate" },
  { BR_ERR_X509_BAD_SIGNATURE, "bad certificate signature" },
  { BR_ERR_X509_EXPIRED, "certificate expired or not yet valid" },
  { BR_ERR_X509_BAD_SERVER_NAME, "certificate does not match the host name" },
  { BR_ERR_X509_NOT_CA, "issuer is not a CA" },
  { BR_ERR_X509_NOT_TRUSTED, "certificate chain not trusted" },
  { -1, 0 }
} ;

char const *tlsname_error (int e)
{
  unsigned int i = 0 ;
  /* an alert carries its number on top of the base: the base says who sent it */
  if (e >= BR_ERR_SEND_FATAL_ALERT) return "fatal alert sent" ;
  if (e >= BR_ERR_RECV_FATAL_ALERT) return "fatal alert received" ;
  for (; errtab[i].s ; i++) if (errtab[i].err == e) return errtab[i].s ;
  return e >= BR_ERR_X509_OK && e < 64 ? "certificate error" : "TLS protocol error" ;
}

/* the versions BearSSL speaks (RFC 2246, 4346, 5246) */
char const *tlsname_version (unsigned int v)
{
  switch (v)
  {
    case BR_TLS10 : return "TLSv1.0" ;
    case BR_TLS11 : return "TLSv1.1" ;
    case BR_TLS12 : return "TLSv1.2" ;
    default : return "unknown" ;
  }
}

/* every suite BearSSL implements (br_ssl_client_init_full offers them all); the server enables the ECDHE AEAD ones */
static struct { unsigned int id ; char const *name ; } const suitetab[] =
{
  { BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305" },
  { BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM, "ECDHE-ECDSA-AES128-CCM" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CCM, "ECDHE-ECDSA-AES256-CCM" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, "ECDHE-ECDSA-AES128-CCM8" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8, "ECDHE-ECDSA-AES256-CCM8" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, "ECDHE-ECDSA-AES256-SHA384" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384, "ECDHE-RSA-AES256-SHA384" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA" },
  { BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA" },
  { BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA" },
  { BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA" },
  { BR_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256, "ECDH-ECDSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384, "ECDH-ECDSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256, "ECDH-RSA-AES128-GCM-SHA256" },
  { BR_TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384, "ECDH-RSA-AES256-GCM-SHA384" },
  { BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256, "ECDH-ECDSA-AES128-SHA256" },
  { BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384, "ECDH-ECDSA-AES256-SHA384" },
  { BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256, "ECDH-RSA-AES128-SHA256" },
  { BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384, "ECDH-RSA-AES256-SHA384" },
  { BR_TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA, "ECDH-ECDSA-AES128-SHA" },
  { BR_TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA, "ECDH-ECDSA-AES256-SHA" },
  { BR_TLS_ECDH_RSA_WITH_AES_128_CBC_SHA, "ECDH-RSA-AES128-SHA" },
  { BR_TLS_ECDH_RSA_WITH_AES_256_CBC_SHA, "ECDH-RSA-AES256-SHA" },
  { BR_TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256" },
  { BR_TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384" },
  { BR_TLS_RSA_WITH_AES_128_CCM, "AES128-CCM" },
  { BR_TLS_RSA_WITH_AES_256_CCM, "AES256-CCM" },
  { BR_TLS_RSA_WITH_AES_128_CCM_8, "AES128-CCM8" },
  { BR_TLS_RSA_WITH_AES_256_CCM_8, "AES256-CCM8" },
  { BR_TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256" },
  { BR_TLS_RSA_WITH_AES_256_CBC_SHA256, "AES256-SHA256" },
  { BR_TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA" },
  { BR_TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA" },
  { BR_TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-ECDSA-DES-CBC3-SHA" },
  { BR_TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA" },
  { BR_TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA, "ECDH-ECDSA-DES-CBC3-SHA" },
  { BR_TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA, "ECDH-RSA-DES-CBC3-SHA" },
  { BR_TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA" },
  { 0, 0 }
} ;

char const *tlsname_suite (unsigned int id)
{
  unsigned int i = 0 ;
  for (; suitetab[i].name ; i++) if (suitetab[i].id == id) return suitetab[i].name ;
  return "unknown" ;
}
