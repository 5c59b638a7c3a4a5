/* ISC license: see LICENSE. */

#ifndef KETCH_TEXT_H
#define KETCH_TEXT_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * Text from elsewhere (a remote server's reply, a delivery program's
 * last words) carried as one field of a line: a report line of
 * remote-send (lib/report) or local-spawn (lib/lspawn), a recipient's
 * result in a state file (lib/qstate). Every control octet (below 32:
 * CR, LF and TAB among them) and DEL (127) becomes a space, so the text
 * can neither end its line early nor carry terminal escapes; octets
 * above 127 stay (an SMTPUTF8 server's reply, RFC 6531). The length
 * never changes: what was at offset i is still there.
 */

/* in place */
extern void text_printable (char *, size_t) ;

/* appends s[0..len), made printable. 1, or 0 (ENOMEM) */
extern int text_printable_cat (stralloc *, char const *, size_t) ;

#endif
