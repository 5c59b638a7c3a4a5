/* ISC license: see LICENSE. */

#ifndef KETCH_LMTP_H
#define KETCH_LMTP_H

#include <stddef.h>

#include <skalibs/stralloc.h>

#include "exitcodes.h"

/*
 * LMTP (RFC 2033) as local delivery uses it (lib/deliver): one
 * transaction for one recipient, to unix:PATH or HOST:PORT (a bracketed
 * IPv6 host allowed), over the shared SMTP client (lib/smtpclient):
 * greeting, LHLO, MAIL FROM, RCPT TO and DATA (the three in one write
 * when the server offers PIPELINING, RFC 2920), the message in its wire
 * form (lib/smtpdata: CRLF line ends, dot-stuffing, a bare CR made a
 * space; RFC 5321 §4.5.2, §2.3.8), the one per-recipient reply after
 * the dot (RFC 2033 §4.2), QUIT. The connection, each reply, each write
 * and each block of the message must be done by a deadline timeout
 * seconds after its start. The message is read and sent a block at a
 * time, never held whole.
 *
 * The reply each step expects (2xx; 3xx to DATA) goes on; any other 5xx
 * is permanent; 4xx, another class, and every connection, I/O or
 * protocol error are temporary (RFC 5321 §4.2.1; the table is in
 * lmtp.c). So Dovecot's quota answers keep the class it gives them: 452
 * 4.2.2 (quota_full_tempfail = yes) is retried, 552 5.2.2 is bounced. A
 * refusal's text is the server's reply first, then the step in
 * parentheses: "552 5.2.2 Quota exceeded (lmtp delivery)", so the
 * bounce's Status and Diagnostic-Code carry the server's own (RFC 3464
 * §2.3.4, §2.3.6).
 */

/*
 * Delivers the message: the octets of pre (prelen), then of head
 * (headlen), then the rest of fd to its end, LF line ends. Returns the
 * result with text (a C string): the server's last reply, or why not.
 */
extern enum ketch_result lmtp_deliver (char const *target, unsigned int timeout, char const *sender, char const *rcpt,
  char const *pre, size_t prelen, char const *head, size_t headlen, int fd, stralloc *text) ;

#endif
