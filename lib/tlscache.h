/* ISC license: see LICENSE. */

#ifndef KETCH_TLSCACHE_H
#define KETCH_TLSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/tai.h>

/*
 * smtp-keyd's TLS session cache: what a TLS 1.2 server needs to resume a
 * session by its ID (RFC 5246 §7.3), kept for a fixed lifetime, in a
 * table of fixed size shared by every session process of a listener
 * through smtp-keyd (lib/keyd.h's 'P' and 'L' requests).
 *
 * An entry is a session ID (TLSCACHE_ID octets: BearSSL's server makes
 * them of 32 random octets) and an opaque value (TLSCACHE_VAL octets:
 * the protocol version, the cipher suite and the master secret, as
 * lib/keyd.h lays them out). The memory is bounded: at most the capacity
 * given to tlscache_init (smtp-keyd: TLSCACHE_ENTRIES), 104 octets each
 * and a bucket index of 4 octets per slot of the next power of two: for
 * 20000 entries 2.1 MB, allocated at the first store, so a server with
 * the cache off or unused has none.
 *
 * Every entry of a cache lives as long (the caller flushes the cache
 * when its lifetime changes), so the order of insertion is the order of
 * expiry: the entries are a ring, oldest first, and both expiry and
 * eviction (a store into a full table evicts the oldest: a store never
 * fails for lack of room) take the oldest. An entry is wiped when it
 * expires, is evicted or flushed: tlscache_expire at the next event or
 * deadline (tlscache_deadline) takes it out, so a master secret lives no
 * longer than the lifetime plus one turn of the caller's loop.
 *
 * The IDs come from session processes, which a compromised one could
 * choose to collide in one bucket: buckets are picked by SipHash-2-4
 * (libsodium's crypto_shorthash) under a random key of the cache's.
 * An ID already present is not replaced (tlscache_put fails, EEXIST):
 * a session cannot overwrite the entry of another.
 */

#define TLSCACHE_ID 32
#define TLSCACHE_VAL 52
#define TLSCACHE_ENTRIES 20000

typedef struct tlscache_entry_s tlscache_entry ;
struct tlscache_entry_s
{
  unsigned char id[TLSCACHE_ID] ;
  unsigned char val[TLSCACHE_VAL] ;
  uint32_t next ;   /* the next entry of its bucket, or TLSCACHE_NONE */
  tain expire ;
} ;
#define TLSCACHE_NONE UINT32_MAX

typedef struct tlscache_s tlscache ;
struct tlscache_s
{
  tlscache_entry *e ;  /* cap entries, a ring; 0 until the first store */
  uint32_t *head ;     /* nbuckets heads */
  uint32_t cap ;
  uint32_t nbuckets ;  /* a power of two, at least cap */
  uint32_t first ;     /* the oldest entry */
  uint32_t n ;
  unsigned char key[16] ;
} ;
#define TLSCACHE_ZERO { .e = 0, .head = 0, .cap = 0, .nbuckets = 0, .first = 0, .n = 0 }

/* an empty cache of at most cap entries (1 to 2^30); allocates nothing */
extern void tlscache_init (tlscache *, uint32_t) ;
/* stores id's value until now + secs: 1, or 0 (EEXIST: id is there; ENOMEM) */
extern int tlscache_put (tlscache *, unsigned char const *, unsigned char const *, tain const *, unsigned int) ;
/* id's value into val (TLSCACHE_VAL octets): 1, or 0 (none, or expired at now) */
extern int tlscache_get (tlscache const *, unsigned char const *, unsigned char *, tain const *) ;
/* wipes the entries expired at now: how many */
extern uint32_t tlscache_expire (tlscache *, tain const *) ;
/* the oldest entry's expiry into deadline: 1, or 0 (the cache is empty) */
extern int tlscache_deadline (tlscache const *, tain *) ;
extern uint32_t tlscache_len (tlscache const *) ;
/* wipes every entry and frees the table; the cache stays usable */
extern void tlscache_flush (tlscache *) ;

#endif
