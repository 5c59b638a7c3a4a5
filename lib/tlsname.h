/* ISC license: see LICENSE. */

#ifndef KETCH_TLSNAME_H
#define KETCH_TLSNAME_H

/*
 * BearSSL's numbers as words, for both sides of TLS (lib/tls, the
 * server; lib/tlsclient, the client): one table of engine and X.509
 * error codes, one of cipher suites with their usual (OpenSSL) names, so
 * that the server's log, the client's log and a report say the same
 * thing of the same event. Tables only: nothing here touches an engine.
 */

/* a BearSSL error code (br_ssl_engine_last_error, X.509 codes, alerts sent or received) */
extern char const *tlsname_error (int) ;

/* a cipher suite number (br_ssl_session_parameters.cipher_suite); "unknown" for one BearSSL does not implement */
extern char const *tlsname_suite (unsigned int) ;

#endif
