/* ISC license: see LICENSE. */

#ifndef KETCH_CONNSLOTS_H
#define KETCH_CONNSLOTS_H

#include <stdint.h>

/*
 * The connection limits of smtp-listen (limit connections, limit
 * connections-per-client), counted in a table of slots in one anonymous
 * shared mapping: one slot per session process, which says whether it
 * serves a client now and from which address.
 *
 * Why shared: with smtp-listen -f each session process accepts its own
 * connections (smtp-listen(8)), so the process that must decide whether
 * a connection is over a limit is the one that accepted it, and the
 * counts are every process's. One writer per field:
 * - smtp-listen alone takes a free slot for a process it forks
 *   (connslots_take: FREE to IDLE) and frees it when it reaps the process
 *   (connslots_free), so a process that dies leaves no count behind;
 * - the process alone moves its own slot between IDLE and BUSY
 *   (connslots_claim, connslots_release).
 *
 * The invariant: a limit is never exceeded. A claim stores BUSY and then
 * counts the BUSY slots, both sequentially consistent: of two claims at
 * once, each sees the other, or at least one does (a store then a load
 * on each side, Dekker's pattern), so both may refuse but both cannot
 * accept past the limit. A slot's address is written before its BUSY
 * store, so a count that sees BUSY sees that address, unless the owner
 * has since released and claimed again, in which case that later claim
 * counts us. Without -f, smtp-listen claims on its sessions' behalf: one
 * writer, the same code.
 */

#define CONNSLOTS_MAX 65536

enum connslot_state { CONNSLOT_FREE = 0, CONNSLOT_IDLE, CONNSLOT_BUSY } ;

typedef struct connslot_s connslot ;
struct connslot_s
{
  uint32_t state ;   /* enum connslot_state, atomic */
  char ip[16] ;      /* the client's address (IPv4 in the first 4), when BUSY */
} ;

typedef struct connslots_s connslots ;
struct connslots_s
{
  uint32_t top ;     /* slots from top up are FREE: the counts scan below it (written by smtp-listen) */
  uint32_t pad ;
  connslot slot[CONNSLOTS_MAX] ;
} ;

/* what a claim found, itself included */
typedef struct connslots_count_s connslots_count ;
struct connslots_count_s
{
  unsigned int busy ;
  unsigned int client ;   /* BUSY with the same address */
  unsigned int idle ;
} ;

/* the table, all FREE, in a new anonymous shared mapping (its untouched pages cost nothing); 0 (errno) on failure */
extern connslots *connslots_map (void) ;

/* smtp-listen: the lowest FREE slot, now IDLE, or -1 if none */
extern int connslots_take (connslots *) ;
/* smtp-listen: the slot of a reaped process, FREE again */
extern void connslots_free (connslots *, unsigned int) ;

/*
 * A session process (or smtp-listen for an exec'd one): slot i BUSY with
 * ip, then the counts. 0: within both limits, the slot stays BUSY; else
 * the slot is IDLE again and the limit it would pass is said:
 * CONNSLOTS_OVER_ALL or CONNSLOTS_OVER_CLIENT. c, if not 0, gets the counts.
 */
#define CONNSLOTS_OVER_ALL 1
#define CONNSLOTS_OVER_CLIENT 2
extern int connslots_claim (connslots *, unsigned int i, char const *ip, unsigned int maxall, unsigned int maxclient, connslots_count *c) ;
/* the client of slot i is gone: IDLE */
extern void connslots_release (connslots *, unsigned int i) ;

/* slot i's state now */
extern enum connslot_state connslots_state (connslots const *, unsigned int i) ;
/* slots in state s (a snapshot: others change it meanwhile) */
extern unsigned int connslots_n (connslots const *, enum connslot_state s) ;

#endif
