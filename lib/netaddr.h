/* ISC license: see LICENSE. */

#ifndef KETCH_NETADDR_H
#define KETCH_NETADDR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Total scanners for the network words of the configuration: each takes
 * the whole of s[0..len) or refuses it, and never wraps a number into
 * range (skalibs' ip4_scan reads 300.1.2.3 as 44.1.2.3). Numbers are
 * decimal without leading zeros: "010" means 8 to inet_aton(3).
 * They return 1 when s is valid, else 0 with the output untouched.
 */

/* dotted quad, RFC 791 notation: exactly four octets 0-255 */
extern int netaddr_ip4 (char const *, size_t, char *) ;
/* RFC 4291 §2.2 text forms, with at most one "::" and an optional
   dotted-quad tail; no zone index */
extern int netaddr_ip6 (char const *, size_t, char *) ;
/* either of the above, chosen by the presence of a colon */
extern int netaddr_ip (char const *, size_t, char *, int *) ;
/* a prefix length from 0 to max */
extern int netaddr_prefix (char const *, size_t, unsigned int, unsigned int *) ;
/* a port from 1 to 65535 */
extern int netaddr_port (char const *, size_t, uint16_t *) ;
/* RFC 1123 §2.1 host name: labels of 1-63 letters, digits and hyphens,
   no hyphen at either end, at most 253 octets, and not all-numeric in its
   last label (so a mistyped dotted quad is never taken for a name) */
extern int netaddr_hostname (char const *, size_t) ;
/* HOST, HOST:PORT, [ADDRESS] or [ADDRESS]:PORT, with HOST a host name or
   a dotted quad: the host's span in s (without brackets) and the port,
   which is left untouched when none is given. Returns 1, or 0 for a bad
   host, or -1 for a good host with a bad port */
extern int netaddr_hostport (char const *, size_t, size_t *, size_t *, uint16_t *) ;

#endif
