/* ISC license: see LICENSE. */

#ifndef KETCH_LMTP_H
#define KETCH_LMTP_H

#include <stddef.h>

#include <skalibs/stralloc.h>

#include "exitcodes.h"

/*
 * LMTP (RFC 2033) as local delivery uses it (lib/deliver): one
 * transaction for one recipient, to unix:PATH or HOST:PORT (a bracketed
 * IPv6 host allowed): greeting, LHLO, MAIL FROM, RCPT TO, DATA with CRLF
 * line ends and dot-stuffing (RFC 5321 §4.5.2), the one per-recipient
 * reply after the dot (RFC 2033 §4.2), QUIT. Every read and write is
 * bounded by the timeout (SO_RCVTIMEO, SO_SNDTIMEO).
 *
 * A 2xx or 3xx reply where one is expected goes on; 5xx is permanent;
 * 4xx and every connection, I/O or protocol error are temporary. This
 * client is small on purpose: it is to move onto the shared SMTP client
 * (lib/smtpclient) when that exists.
 */

/*
 * Delivers the message: the octets of pre (prelen), then of head
 * (headlen), then the rest of fd to its end, LF line ends. Returns the
 * result with text (a C string): the server's last reply, or why not.
 */
extern enum ketch_result lmtp_deliver (char const *target, unsigned int timeout, char const *sender, char const *rcpt,
  char const *pre, size_t prelen, char const *head, size_t headlen, int fd, stralloc *text) ;

#endif
