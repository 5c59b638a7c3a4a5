/* ISC license: see LICENSE. */

#ifndef KETCH_ADDRESS_H
#define KETCH_ADDRESS_H

#include <stddef.h>

/* RFC 5321 §4.5.3.1: size limits, in octets */
#define ADDRESS_LOCAL_MAX 64
#define ADDRESS_DOMAIN_MAX 255
#define ADDRESS_PATH_MAX 256
/* a mailbox is a path without its angle brackets */
#define ADDRESS_MAX (ADDRESS_PATH_MAX - 2)

/* options for address_parse */
#define ADDRESS_NULL_OK 0x01   /* "" and "<>" mean the null reverse-path */
#define ADDRESS_UTF8 0x02      /* RFC 6531: UTF-8 in local part and domain */
#define ADDRESS_BRACKETS 0x04  /* the input must be <...> (SMTP MAIL/RCPT) */
#define ADDRESS_NODOMAIN_OK 0x08 /* "postmaster" alone (RCPT TO:<Postmaster>, RFC 5321 §4.5.1) */

/* flags describing a parsed address */
#define ADDRESS_F_QUOTED 0x01   /* the local part needs quotes */
#define ADDRESS_F_LITERAL 0x02  /* the domain is an address literal */
#define ADDRESS_F_ROUTE 0x04    /* a source route was given and dropped (RFC 5321 §4.1.2, C.) */
#define ADDRESS_F_8BIT 0x08     /* holds octets above 127 */

/* parse errors; 0 is success */
enum address_error_e
{
  ADDRESS_OK = 0,
  ADDRESS_EEMPTY,
  ADDRESS_ESYNTAX,
  ADDRESS_ELOCAL,
  ADDRESS_EDOMAIN,
  ADDRESS_ELITERAL,
  ADDRESS_ELOCALLEN,
  ADDRESS_EDOMAINLEN,
  ADDRESS_EPATHLEN,
  ADDRESS_E8BIT,
  ADDRESS_ECTRL,
  ADDRESS_NERRORS
} ;

/*
 * The canonical form, stored in the queue: local@domain, the local part
 * unquoted when it is a dot-string and quoted with minimal escapes
 * otherwise, its case kept; the domain in lower case. The null path is "".
 * Invariant: s holds no control character, no space outside quotes and
 * never a newline, so it can be stored one per line.
 */
typedef struct address_s address, *address_ref ;
struct address_s
{
  char s[ADDRESS_MAX + 1] ;
  size_t len ;
  size_t at ;      /* index of the '@' that separates domain; len when there is none */
  unsigned int flags ;
} ;
#define ADDRESS_ZERO { .s = "", .len = 0, .at = 0, .flags = 0 }

extern int address_parse (address *, char const *, size_t, unsigned int) ;
extern char const *address_strerror (int) ;
extern int address_domain_valid (char const *, size_t, unsigned int) ;
extern int address_local_isdotstring (char const *, size_t, unsigned int) ;

#endif
