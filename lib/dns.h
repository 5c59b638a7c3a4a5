/* ISC license: see LICENSE. */

#ifndef KETCH_DNS_H
#define KETCH_DNS_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "tlsa.h"

/*
 * DNS for remote-send: MX records, then A/AAAA of each exchanger.
 *
 * Why glibc's stub resolver (res_nquery from libresolv) and not libunbound
 * or c-ares: remote-send makes a handful of sequential queries per run and
 * exits, so an asynchronous library buys nothing; res_nquery is in libc6,
 * needs no new dependency, and honours /etc/resolv.conf, which is where
 * every Debian host already points at its resolver. The DANE question
 * (RFC 7672: TLSA records are usable only when DNSSEC-validated) is
 * answered the way Postfix and Exim answer it: validation is the job of a
 * local validating resolver (unbound, knot-resolver, systemd-resolved on
 * 127.0.0.1), and the stub trusts its AD bit. glibc 2.31+ passes the AD
 * bit through only with "options trust-ad" (RES_TRUSTAD), which
 * dns_dnssec_init sets for a resolver we trust (below); a TLSA lookup is
 * then one more res_nquery for _PORT._tcp.HOST with RES_USE_DNSSEC, and
 * the answer's AD bit read from its header. In-process validation
 * (libunbound) would need us to maintain the root trust anchor and a
 * cache in a process that lives for one delivery; a local resolver does
 * both better and serves every program on the host.
 *
 * Timeouts are ours: dns_init sets the per-try timeout and retry count, so
 * a dead resolver costs at most timeout * (retries + 1) per query.
 *
 * Failure mapping (RFC 5321 §5.1, RFC 7505): NXDOMAIN is permanent;
 * NOERROR without records is NODATA (the implicit MX, or an exchanger
 * without addresses); SERVFAIL, REFUSED, FORMERR, timeouts and malformed
 * answers are all DNS_TEMP, because a broken resolver must delay mail,
 * never bounce it.
 */

/* results */
#define DNS_OK 0        /* records found */
#define DNS_NODATA 1    /* the name exists, without records of that type */
#define DNS_NXDOMAIN 2  /* the name does not exist */
#define DNS_TEMP 3      /* timeout, SERVFAIL, REFUSED, bad answer: try later */

typedef struct dns_mx_s dns_mx, *dns_mx_ref ;
struct dns_mx_s
{
  uint16_t pref ;
  size_t name ;   /* offset of the exchanger's name (NUL-terminated, no final dot) in the caller's stralloc; "" is the root */
} ;

typedef struct dns_ip_s dns_ip, *dns_ip_ref ;
struct dns_ip_s
{
  char ip[16] ;
  int is6 ;
} ;

/* ip, is6, port: a nameserver to use instead of resolv.conf's (port 0: keep resolv.conf);
   timeout: seconds per try. 1, or 0 with errno. Only an IPv4 nameserver can be forced. */
extern int dns_init (char const *, int, uint16_t, unsigned int) ;

/* MX records of a domain, appended to genalloc (dns_mx), names to stralloc. Returns DNS_* */
extern int dns_mx_lookup (char const *, genalloc *, stralloc *) ;

/* AAAA then A records of a host, appended to genalloc (dns_ip). Returns DNS_*:
   DNS_OK if either family has records. */
extern int dns_ip_lookup (char const *, genalloc *) ;
/* the same, from a raw answer (for the fuzzer): the records our code walks */
extern int dns_mx_parse (unsigned char const *, size_t, genalloc *, stralloc *) ;
extern int dns_ip_parse (unsigned char const *, size_t, int, genalloc *) ;

/* RFC 7505 §3: a lone MX record whose exchanger is the root, "MX 0 .", says no mail */
extern int dns_mx_isnull (dns_mx const *, size_t, char const *) ;

/* RFC 5321 §5.1: ascending preference; records of equal preference in random order */
extern void dns_mx_sort (dns_mx *, size_t) ;

/*
 * For ketch-doctor (and whoever checks what a domain publishes): TXT and
 * PTR records. Separate from the delivery lookups above; the same result
 * codes. dns_txt_lookup appends each TXT record of name to sa, its
 * character-strings concatenated (RFC 7208 §3.3, RFC 7489 §6.6.3 read
 * them so) and NUL-terminated; a record holding a NUL byte is dropped,
 * since no text record we read may contain one. dns_ptr_lookup appends
 * the names (no final dot, NUL-terminated) of the PTR records of an
 * address. Both return DNS_*; DNS_OK only when something was appended.
 */
extern int dns_txt_lookup (char const *, stralloc *) ;
extern int dns_txt_parse (unsigned char const *, size_t, stralloc *) ;
extern int dns_ptr_lookup (char const *, int, stralloc *) ;
extern int dns_ptr_parse (unsigned char const *, size_t, stralloc *) ;
/* the reverse name of an address (RFC 1035 §3.5, RFC 3596 §2.5), NUL-terminated, into buf of 73 bytes */
#define DNS_PTRNAME_MAX 73
extern void dns_ptr_name (char *, char const *, int) ;

extern char const *dns_strerror (int) ;

/*
 * DNSSEC for DANE (RFC 7672 §2.1). The answer's AD bit (RFC 4035
 * §3.2.3) says the resolver validated it; it is worth what the path
 * from the resolver to us is worth, and that path is plain UDP/TCP
 * that anyone between the two can rewrite (RFC 4035 §4.9.3, RFC 6698
 * §4.1). So the bit is trusted from two resolvers only: the one the
 * configuration names as validating (dnssec-resolver, ketch.conf(5):
 * the operator vouches for the resolver and the path), and the only
 * nameserver of resolv.conf when it is on the loopback (the path never
 * leaves the host). Any other resolver's answers are insecure.
 *
 * dns_dnssec_init (after dns_init): DNS_DNSSEC_TRUST, the nameserver
 * dns_init set validates; DNS_DNSSEC_AUTO, trust resolv.conf's when it
 * is a lone loopback address. Returns 1 when the AD bit is trusted from
 * now on; then every query asks for DNSSEC (EDNS0 DO bit) and glibc is
 * told to pass the AD bit through (RES_TRUSTAD, glibc 2.31). Without a
 * call, queries are as before: no EDNS0, and nothing is ever secure.
 *
 * dns_secure: every answer of the last dns_mx_lookup, dns_ip_lookup or
 * dns_tlsa_lookup came from the trusted resolver with the AD bit: the
 * records, or their absence (NODATA, NXDOMAIN), are validated.
 *
 * A validating resolver answers SERVFAIL for a bogus answer (RFC 4035
 * §5.5); that is DNS_TEMP like every other failure, and for TLSA it
 * defers the mail (RFC 7672 §2.2). Only the reason differs: after a
 * TLSA lookup's DNS_TEMP, dns_bogus says whether the same question with
 * checking disabled (the CD bit) was answered, that is, whether the
 * records exist and failed validation, rather than being unreachable.
 */
#define DNS_DNSSEC_TRUST 1
#define DNS_DNSSEC_AUTO 2
extern int dns_dnssec_init (int) ;
extern int dns_dnssec_trusted (void) ;
extern int dns_secure (void) ;
extern int dns_bogus (void) ;

/* the TLSA RRset of _port._tcp.host (RFC 6698 §3) into the set (lib/tlsa). DNS_*, and dns_secure */
extern int dns_tlsa_lookup (char const *, uint16_t, tlsa_set *) ;
/* the same, from a raw answer (for the fuzzer) */
extern int dns_tlsa_parse (unsigned char const *, size_t, tlsa_set *) ;

#endif
