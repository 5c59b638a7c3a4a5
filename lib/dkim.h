/* ISC license: see LICENSE. */

#ifndef KETCH_DKIM_H
#define KETCH_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include <skalibs/stralloc.h>

#include "dkimkey.h"

/*
 * The DKIM signer (RFC 6376), as lib/submit runs it while a message
 * streams into the queue: one pass over the stored form, no second read
 * of the body.
 *
 * dkim_feed sees the octets of the message as they are written to tmp/ID
 * (the stored form of spool-layout/SPOOL: LF line ends, no dot-stuffing,
 * a final LF). Each LF is a CRLF on the wire, and canonicalization works
 * on that: the stored form and the wire form hash alike. The body is
 * hashed as it passes (relaxed, §3.4.4: blanks at line ends dropped, runs
 * of blanks made one space, empty lines at the end dropped, SHA-256). Of
 * the header section only the positions of the fields worth signing are
 * kept: for each name of the table below, the last DKIM_PER_NAME
 * instances (a verifier takes instances from the bottom up, §5.4.2). At
 * the commit dkim_sign reads those fields back from the file (pread: a
 * few hundred octets at the head of the file, not the body), hashes them
 * relaxed (§3.4.2) in h= order, then the signature field itself with an
 * empty b= (§3.7), and signs.
 *
 * The signed fields (§5.4.1's advice): From, To, Cc, Subject, Date,
 * Message-ID, Reply-To, MIME-Version, Content-Type,
 * Content-Transfer-Encoding, In-Reply-To, References and the List-*
 * fields of RFC 2369, 2919 and 8058, each as often as present (at most
 * DKIM_PER_NAME, and DKIM_H_MAX names in all); From once more than
 * present, so that no From can be added (§8.15). No l= (§8.2), t= set,
 * no x=. The field is folded at 78 columns where its words allow, b= and
 * bh= inside their values (FWS is allowed in base64, §3.5).
 *
 * The signed message: the one From field's first address gives the
 * domain (dkim_from_domain); a message with no From or several From
 * fields is not signed (RFC 5322 §3.6 allows one; DMARC refuses
 * several).
 *
 * Nothing here prints or exits.
 */

#define DKIM_NAMES 20          /* the rows of the table of signed names */
#define DKIM_PER_NAME 8        /* instances of one name signed, the bottom-most */
#define DKIM_H_MAX 40          /* names in h=, From's over-signing included */
#define DKIM_NAME_MAX 25       /* "content-transfer-encoding" */
#define DKIM_LINE 78           /* RFC 5322 §2.1.1's recommended line length */
#define DKIM_DOMAIN_MAX 253

typedef struct dkim_field_s dkim_field ;
struct dkim_field_s
{
  uint64_t off ;   /* in the message */
  uint64_t len ;   /* the whole field, its final LF included */
} ;

typedef struct dkim_s dkim ;
struct dkim_s
{
  br_sha256_context body ;
  uint64_t pos ;             /* octets of the message fed so far */
  uint64_t crlf ;            /* body: line ends held back (empty lines at the end do not count) */
  uint64_t curoff ;          /* the current header field's start */
  unsigned char state ;
  unsigned char sp ;         /* body: blanks held back */
  unsigned char nonempty ;   /* body: something hashed */
  unsigned char namelen ;
  char name[DKIM_NAME_MAX + 2] ;
  int cur ;                  /* the current field's row in the table, or -1 */
  unsigned int count[DKIM_NAMES] ;
  dkim_field ring[DKIM_NAMES][DKIM_PER_NAME] ;
} ;

extern void dkim_init (dkim *) ;
/* the next octets of the stored message */
extern void dkim_feed (dkim *, char const *, size_t) ;
/* the end of the message: the last field closed, the body hash done (out: 32 octets) */
extern void dkim_end (dkim *, unsigned char *) ;

/*
 * The domain of the message's From field, lower-cased into domain
 * (DKIM_DOMAIN_MAX + 1 octets, NUL-terminated), read from fd at base
 * (the message's offset in the file). 1: found; 0: none (no From field,
 * several, no address, a domain literal); -1: read error (errno).
 */
extern int dkim_from (dkim const *, int, uint64_t, char *) ;
/* the same, from one From field's text ("From: ..."), as dkim_from reads it */
extern int dkim_from_domain (char const *, size_t, char *) ;

/*
 * Appends one DKIM-Signature field, in the stored form (LF line ends,
 * folded, a final LF), signed with key for d=domain s=selector at time t,
 * over the body hash bh (dkim_end's) and the header fields read from fd
 * at base. 1, or 0 and errno (a read error, or the key failed to sign).
 */
extern int dkim_sign (dkim const *, dkimkey const *, char const *, char const *, uint64_t, unsigned char const *, int, uint64_t, stralloc *) ;

/* the most octets dkim_sign can append for a domain and a selector of
   these lengths and a key of this type (an RSA key of DKIMKEY_RSA_MAX bits) */
extern size_t dkim_reserve (size_t, size_t, int) ;

/* the canonical forms, for the tests: relaxed header field (§3.4.2, with its CRLF) and relaxed body (§3.4.4) */
extern int dkim_canon_header (char const *, size_t, stralloc *) ;
extern int dkim_canon_body (char const *, size_t, stralloc *) ;

#endif
