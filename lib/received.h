/* ISC license: see LICENSE. */

#ifndef KETCH_RECEIVED_H
#define KETCH_RECEIVED_H

#include <stddef.h>
#include <time.h>

#include <skalibs/stralloc.h>

/*
 * The Received trace field an SMTP server prepends to a message it
 * accepts (RFC 5321 §4.4), with RFC 3848's names for the protocol:
 *
 *   Received: from HELO ([IP])
 *   	by HOST (ketch) with PROTO (VERSION cipher=SUITE) id ID
 *   	for <RCPT>;
 *   	DATE
 *
 * Lines end in LF (the form enqueue -S reads). The TLS comment is there
 * only with TLS; "for" only when the message has one recipient, since
 * naming one of several would disclose the others to each.
 */

typedef struct received_s received ;
struct received_s
{
  char const *helo ;       /* the client's HELO name, cleaned (received_name) */
  char const *ip ;         /* the client's address as text, or "unknown" */
  int is6 ;                /* written [IPv6:...] (RFC 5321 §4.1.3) */
  char const *host ;       /* ours */
  char const *proto ;      /* received_proto */
  char const *tlsversion ; /* 0 without TLS */
  char const *cipher ;
  char const *id ;         /* the queue id */
  char const *rcpt ;       /* the one recipient, or 0 */
  time_t when ;
} ;
#define RECEIVED_ZERO { .helo = 0, .ip = 0, .is6 = 0, .host = 0, .proto = 0, .tlsversion = 0, .cipher = 0, .id = 0, .rcpt = 0, .when = 0 }

/* RFC 3848: SMTP after HELO; ESMTP, with S for TLS and A for AUTH, after EHLO */
extern char const *received_proto (int, int, int) ;

/* A client-given name made safe for the field and for logs: every octet
   but letters, digits and ".-_[]:" becomes '_', in place. */
extern void received_name (char *, size_t) ;

/* appends the field to sa; 1, or 0 (ENOMEM) */
extern int received_fmt (stralloc *, received const *) ;

#endif
