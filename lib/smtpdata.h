/* ISC license: see LICENSE. */

#ifndef KETCH_SMTPDATA_H
#define KETCH_SMTPDATA_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

/*
 * The SMTP client's message encoder: a message as stored in the spool
 * (LF line ends, no dot-stuffing) to what follows DATA on the wire
 * (RFC 5321 §4.5.2): CRLF line ends, a dot doubled at the start of every
 * line, a line end added to a last line without one, then ".\r\n".
 * The output never holds a bare CR or LF (§2.3.8): a CRLF in the input
 * stays one line end, any other CR becomes a space.
 *
 * *size gets the RFC 1870 §3 message size: octets with CRLF counted, the
 * final dot and the doubled dots not. *has8bit is set if an octet is
 * above 127 (RFC 6152 BODY=8BITMIME). Appends to wire; 1, or 0 (ENOMEM).
 */
extern int smtpdata_encode (char const *, size_t, stralloc *, uint64_t *, int *) ;

#endif
