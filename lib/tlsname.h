/* ISC license: see LICENSE. */

#ifndef KETCH_TLSNAME_H
#define KETCH_TLSNAME_H

/*
 * BearSSL's numbers as words, for both sides of TLS (lib/tls, the
 * server; lib/tlsclient, the client): one table of engine and X.509
 * error codes, the protocol versions, one table of cipher suites with
 * their usual (OpenSSL) names, so that the server's log, the client's
 * log and a report say the same thing of the same event. Tables only: nothing here touches an engine.
 */

/* a BearSSL error code (br_ssl_engine_last_error, X.509 codes, alerts sent or received) */
extern char const *tlsname_error (int) ;

/* a protocol version (br_ssl_engine_get_version): "TLSv1.2" for BR_TLS12 and so on; "unknown" for another number */
extern char const *tlsname_version (unsigned int) ;

/* a cipher suite number (br_ssl_session_parameters.cipher_suite); "unknown" for one BearSSL does not implement */
extern char const *tlsname_suite (unsigned int) ;

#endif
