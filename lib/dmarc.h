/* ISC license: see LICENSE. */

#ifndef KETCH_DMARC_H
#define KETCH_DMARC_H

#include <stddef.h>

/*
 * DMARC policy records (RFC 7489 §6.3, §6.4): the TXT record at
 * _dmarc.DOMAIN, checked as a receiver reads it. v=DMARC1 first (§6.3:
 * "MUST be the first tag"), then tag=value pairs separated by ";" with
 * optional spaces and tabs around. The tags of §6.3 are checked for
 * their values; unknown tags are ignored as §6.3 requires, and a known
 * tag given twice is an error. p= is required: §6.6.3 lets a receiver
 * read a record without p but with rua as p=none, and drop it
 * otherwise; ketch-doctor wants the record that needs no such repair.
 * np= (RFC 9091) is read as sp=.
 *
 * Bounded and total: one pass over the bytes given, no allocation.
 */

enum dmarc_policy { DMARC_P_UNSET, DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT } ;

typedef struct dmarc_s dmarc ;
struct dmarc_s
{
  unsigned char p ;      /* enum dmarc_policy */
  unsigned char sp ;     /* DMARC_P_UNSET: as p */
  unsigned int pct ;     /* 100 when not given */
  unsigned int nrua ;    /* aggregate report addresses */
  unsigned int nruf ;    /* failure report addresses */
  char adkim ;           /* 'r' or 's' */
  char aspf ;
} ;

/* a record to consider: begins with v=DMARC1 (§6.6.3: the others are discarded) */
extern int dmarc_is_record (char const *, size_t) ;

/* 1 with d filled, or 0 (EINVAL) with *errpos and *why */
extern int dmarc_parse (char const *, size_t, dmarc *, size_t *, char const **) ;

extern char const *dmarc_policy_name (unsigned int) ;

#endif
