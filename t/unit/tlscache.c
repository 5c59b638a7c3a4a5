/* ISC license: see LICENSE. */

/* Unit test of lib/tlscache: store, lookup, expiry, eviction of the oldest, flush. */

#include <errno.h>
#include <string.h>

#include <skalibs/tai.h>

#include "tap.h"
#include "tlscache.h"

static void mkid (unsigned char *id, unsigned int k)
{
  memset(id, 0, TLSCACHE_ID) ;
  memcpy(id, &k, sizeof(k)) ;
  id[TLSCACHE_ID - 1] = 0x5a ;
}

static void mkval (unsigned char *v, unsigned int k)
{
  memset(v, (int)(k & 0xff), TLSCACHE_VAL) ;
  memcpy(v, &k, sizeof(k)) ;
}

int main (void)
{
  tlscache c ;
  tain t0, t1, d ;
  unsigned char id[TLSCACHE_ID], val[TLSCACHE_VAL], got[TLSCACHE_VAL] ;
  unsigned int k ;
  tap_plan(17) ;
  tain_now_set_stopwatch_g() ;
  tain_now_g() ;
  t0 = STAMP ;

  ok(sizeof(tlscache_entry) == 104, "an entry is 104 octets (%zu): 20000 of them and 32768 buckets make 2.1 MB", sizeof(tlscache_entry)) ;
  tlscache_init(&c, 4) ;
  mkid(id, 1) ;
  ok(!c.e && !tlscache_get(&c, id, got, &t0) && !tlscache_len(&c) && !tlscache_deadline(&c, &d), "a new cache allocates nothing, finds nothing, has no deadline") ;
  mkval(val, 1) ;
  ok(tlscache_put(&c, id, val, &t0, 300) && tlscache_len(&c) == 1, "a store") ;
  memset(got, 0, sizeof(got)) ;
  ok(tlscache_get(&c, id, got, &t0) && !memcmp(got, val, TLSCACHE_VAL), "the value comes back by its ID") ;
  mkval(val, 99) ;
  errno = 0 ;
  ok(!tlscache_put(&c, id, val, &t0, 300) && errno == EEXIST && tlscache_get(&c, id, got, &t0) && got[4] == 1, "an ID already there is not replaced (EEXIST)") ;
  mkid(id, 2) ;
  ok(!tlscache_get(&c, id, got, &t0), "another ID: not found") ;
  id[0] = 1 ; id[TLSCACHE_ID - 1] = 0x5b ;
  ok(!tlscache_get(&c, id, got, &t0), "an ID that differs in its last octet: not found") ;

  /* expiry: at now + 300 the entry is gone, before it is there */
  mkid(id, 1) ;
  tain_addsec(&t1, &t0, 299) ;
  ok(tlscache_get(&c, id, got, &t1) && !tlscache_expire(&c, &t1), "at 299 s: still there, nothing expires") ;
  tain_addsec(&t1, &t0, 300) ;
  ok(!tlscache_get(&c, id, got, &t1), "at 300 s: not found any more") ;
  ok(tlscache_deadline(&c, &d) && !tain_less(&d, &t1) && !tain_less(&t1, &d), "the deadline is the oldest entry's expiry") ;
  ok(tlscache_expire(&c, &t1) == 1 && !tlscache_len(&c) && !tlscache_deadline(&c, &d), "expire wipes it: the cache is empty") ;
  {
    /* wiped: the first store took slot 0, and no octet of it is left */
    static tlscache_entry const zero ;
    ok(!memcmp(c.e, &zero, sizeof(zero)), "an expired entry is zeroed in the table") ;
  }

  /* full: the oldest goes, a store always succeeds */
  for (k = 10 ; k < 16 ; k++)
  {
    tain tk ;
    tain_addsec(&tk, &t0, k) ;
    mkid(id, k) ; mkval(val, k) ;
    if (!tlscache_put(&c, id, val, &tk, 300)) break ;
  }
  ok(k == 16 && tlscache_len(&c) == 4, "6 stores into 4 places: each succeeds, 4 kept") ;
  mkid(id, 10) ;
  {
    int gone = !tlscache_get(&c, id, got, &t1) ;
    mkid(id, 11) ;
    gone &= !tlscache_get(&c, id, got, &t1) ;
    mkid(id, 12) ;
    ok(gone && tlscache_get(&c, id, got, &t1) && got[4] == 12, "the two oldest were evicted, the third is there") ;
  }
  mkid(id, 15) ;
  ok(tlscache_get(&c, id, got, &t1) && got[4] == 15, "the newest is there") ;
  tain_addsec(&t1, &t0, 313) ;
  ok(tlscache_expire(&c, &t1) == 2 && tlscache_len(&c) == 2, "expiry takes the oldest first: 2 of 4 at 313 s") ;
  tlscache_flush(&c) ;
  mkid(id, 15) ;
  ok(!c.e && !tlscache_len(&c) && !tlscache_get(&c, id, got, &t0) && tlscache_put(&c, id, val, &t0, 1) && tlscache_len(&c) == 1,
     "flush drops everything and frees the table; the cache is usable after") ;
  tlscache_flush(&c) ;
  return tap_done() ;
}
