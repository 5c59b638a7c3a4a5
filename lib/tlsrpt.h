/* ISC license: see LICENSE. */

#ifndef KETCH_TLSRPT_H
#define KETCH_TLSRPT_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

/*
 * The TLS-RPT result store (RFC 8460): remote-send appends the result of
 * each TLS negotiation with a policy domain's MX host, and tlsrpt-send
 * reads them back once the period is over, to aggregate them into the
 * domain's report (lib/tlsrptrep).
 *
 * Layout (spool-layout/SPOOL): SPOOL/tlsrpt/START-END/DOMAIN, START and
 * END the period's bounds in seconds since the epoch (END excluded),
 * DOMAIN the policy domain (the recipient domain, lower case). One line
 * per result:
 *
 *   v1 TAB policy-type TAB result-type TAB sending-ip TAB receiving-ip
 *      TAB receiving-mx-hostname [ TAB policy-string ]... LF
 *
 * Fields are percent-encoded (%XX) for '%', every byte below 0x21 and
 * above 0x7e, so no field holds a TAB or LF. remote-send runs as several
 * processes at once: each line goes out in one write(2) on a descriptor
 * opened O_APPEND, at most TLSRPT_LINE_MAX (PIPE_BUF, 4096: the size
 * POSIX keeps whole for pipes and that Linux local file systems append
 * whole), so lines never interleave and no lock is needed. A line that
 * would be longer drops its policy strings, then is not written.
 *
 * The reader (tlsrpt_parse) is total and bounded: the file is the queue
 * user's, but a truncated or damaged line must only be skipped.
 */

#define TLSRPT_LINE_MAX 4096

/* RFC 8460 §4.3: the policy types */
enum tlsrpt_policy { TLSRPT_P_TLSA, TLSRPT_P_STS, TLSRPT_P_NONE, TLSRPT_P_N } ;
extern char const *const tlsrpt_policy_names[TLSRPT_P_N] ;

/* RFC 8460 §4.3.2: success, then the result types, in the RFC's order */
enum tlsrpt_result
{
  TLSRPT_SUCCESS,
  TLSRPT_STARTTLS_NOT_SUPPORTED,  /* §4.3.2.1 */
  TLSRPT_CERT_HOST_MISMATCH,
  TLSRPT_CERT_EXPIRED,
  TLSRPT_CERT_NOT_TRUSTED,
  TLSRPT_VALIDATION_FAILURE,
  TLSRPT_TLSA_INVALID,            /* §4.3.2.2 */
  TLSRPT_DNSSEC_INVALID,
  TLSRPT_DANE_REQUIRED,
  TLSRPT_STS_POLICY_FETCH_ERROR,  /* §4.3.2.3 */
  TLSRPT_STS_POLICY_INVALID,
  TLSRPT_STS_WEBPKI_INVALID,
  TLSRPT_R_N
} ;
extern char const *const tlsrpt_result_names[TLSRPT_R_N] ;

/* the most policy strings a record keeps (an STS policy's lines, a TLSA RRset) */
#define TLSRPT_STRINGS_MAX 32

typedef struct tlsrpt_rec_s tlsrpt_rec, *tlsrpt_rec_ref ;
struct tlsrpt_rec_s
{
  unsigned int policy ;     /* enum tlsrpt_policy */
  unsigned int result ;     /* enum tlsrpt_result */
  char const *sendip ;      /* "" when unknown */
  char const *recvip ;
  char const *mx ;
  unsigned int nstrings ;
  char const *strings[TLSRPT_STRINGS_MAX] ;
} ;

/*
 * A session's TLS negotiation (lib/smtpsess: s->tlsneg, s->tlserr) as
 * an RFC 8460 result type; -1 when there was none to report (the
 * session ended before STARTTLS, or the policy was "none").
 */
extern int tlsrpt_classify (unsigned int, int) ;

/* the period holding time now: its bounds, aligned on multiples of period (86400: the UTC day, RFC 8460 §4.1) */
extern void tlsrpt_period (uint64_t, unsigned int, uint64_t *, uint64_t *) ;

/* the record's line into sa (replacing its contents): 1, or 0 (ENOMEM; EMSGSIZE when too long even without its strings) */
extern int tlsrpt_line (stralloc *, tlsrpt_rec const *) ;

/*
 * Append r to spool/tlsrpt/START-END/domain, START-END the period of
 * time now (the directory is made when missing). 1, or 0 and errno:
 * EINVAL for a domain that cannot be a file name.
 */
extern int tlsrpt_record (char const *, char const *, unsigned int, uint64_t, tlsrpt_rec const *) ;

/*
 * One line (without its LF) read back: 1 with r filled, its strings
 * decoded into sa (r's pointers point into sa: valid until sa changes);
 * 0 (EINVAL) for a line that is not a record.
 */
extern int tlsrpt_parse (char const *, size_t, tlsrpt_rec *, stralloc *) ;

/* a period directory's name "START-END": 1 with the bounds, else 0 */
extern int tlsrpt_period_scan (char const *, uint64_t *, uint64_t *) ;

#endif
