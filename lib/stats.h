/* ISC license: see LICENSE. */

#ifndef KETCH_STATS_H
#define KETCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The counters the daemons keep for ketch-stats(8): one fixed-size
 * record file per kind of writer in SPOOL/stats/ (spool-layout/SPOOL,
 * section 2), mapped MAP_SHARED by every process of that kind. An event
 * is one atomic add on the mapping: no lock, no system call, nothing a
 * second process of the same kind could wait for. The files are not
 * synced: they live in the page cache, so they survive a daemon's
 * restart, and a crash of the system loses at most the counts since the
 * kernel last wrote the pages back (Prometheus takes a counter that went
 * back for a reset).
 *
 * Every file has the same layout (below), so ketch-stats sums the files
 * value by value and needs to know no writer; each writer touches only
 * its own values, so every sum is one writer's. Gauges (STATS_G_*) are
 * stored, not added, by their one writer, which zeroes them when it
 * starts: a stopped daemon's gauges keep their last value.
 *
 * The per-destination failures (remote deliveries that were deferred or
 * bounced, by recipient domain) are a table of STATS_DEST_MAX slots,
 * claimed first come first served and never given back, then one
 * "other" counter. Why not the top N: a domain that left a top list and
 * came back would restart from a smaller number, and Prometheus counters
 * must only grow; with fixed slots every series is monotonic, the sum of
 * all series is every failure, and the label set (so the scraper's
 * memory) is bounded whatever the recipients. Removing the file resets
 * the table (and the counters: a reset Prometheus understands).
 * One writer (the scheduler) claims slots: a slot's name is written,
 * then its length is stored (release); a reader loads the length
 * (acquire) before the name, so it never sees a name half written.
 *
 * Values are host-endian: the file is read on the host that wrote it.
 * A file whose magic line is not ours (another version, damage) is not
 * used by a writer (stats_open fails with EPROTO) and is skipped by
 * ketch-stats; an empty one (just made by mkspool) is initialised.
 */

enum stats_value
{
  STATS_RECEIVED_SMTP,          /* messages queued by an SMTP session, no AUTH */
  STATS_RECEIVED_SUBMISSION,    /* ... by an authenticated SMTP session */
  STATS_RECEIVED_LOCAL,         /* ... by a local program (sendmail, enqueue) */
  STATS_DELIVERED_LOCAL,        /* recipients, per delivery attempt's result */
  STATS_DELIVERED_REMOTE,
  STATS_DEFERRED_LOCAL,
  STATS_DEFERRED_REMOTE,
  STATS_BOUNCED_LOCAL,
  STATS_BOUNCED_REMOTE,
  STATS_EXPIRED,                /* recipients given up at expire, still undelivered */
  STATS_SESSIONS_IN_TLS,        /* inbound SMTP sessions, counted at their end */
  STATS_SESSIONS_IN_PLAIN,
  STATS_SESSIONS_OUT_TLS,       /* outbound SMTP sessions, counted when opened */
  STATS_SESSIONS_OUT_PLAIN,
  STATS_DEST_OTHER,             /* remote failures of domains beyond the table */
  STATS_G_SESSIONS_OPEN,        /* gauges from here on */
  STATS_G_INFLIGHT_LOCAL,
  STATS_G_INFLIGHT_REMOTE,
  STATS_G_QUEUE_SIZE,
  STATS_G_QUEUE_OLDEST,         /* Unix time of the oldest message's arrival, 0: none */
  STATS_N
} ;
#define STATS_FIRST_GAUGE STATS_G_SESSIONS_OPEN

/* room for later values without a new layout: a writer of this version
   leaves the slots beyond STATS_N zero, and a reader adds them up too */
#define STATS_SLOTS 64
#define STATS_DEST_MAX 32
#define STATS_DEST_LEN 255      /* RFC 1035 §2.3.4: a name fits */
#define STATS_MAGIC "ketch-stats 1\n"
#define STATS_MAGIC_LEN 16

typedef struct stats_dest_s stats_dest ;
struct stats_dest_s
{
  uint64_t failures ;
  uint64_t len ;                /* 0: free; else the name's length */
  char name[STATS_DEST_LEN + 1] ;
} ;

typedef struct stats_rec_s stats_rec ;
struct stats_rec_s
{
  char magic[STATS_MAGIC_LEN] ;  /* STATS_MAGIC, NUL-padded */
  uint64_t v[STATS_SLOTS] ;
  stats_dest dest[STATS_DEST_MAX] ;
} ;

/* the record files, under SPOOL/stats/ */
#define STATS_DIR "stats"
#define STATS_FILE_SMTP "smtp"            /* smtp-listen and its sessions */
#define STATS_FILE_ENQUEUE "enqueue"      /* enqueue-listen and enqueue */
#define STATS_FILE_SCHEDULER "scheduler"
#define STATS_FILE_REMOTE "remote"        /* remote-send */

/* maps fn (made 0640 if missing), initialised if empty; 0 and errno on failure */
extern stats_rec *stats_open (char const *fn) ;
/* maps an open descriptor of a record file (smtp-session -S) */
extern stats_rec *stats_map_fd (int fd) ;
/* opens fn read-write for a child to map (close-on-exec clear); -1 and errno */
extern int stats_open_fd (char const *fn) ;
extern void stats_close (stats_rec *) ;

/* every writer calls these with its mapping, or 0 when it has none: then nothing happens */
static inline void stats_add (stats_rec *r, enum stats_value i, uint64_t n)
{
  if (r) __atomic_fetch_add(&r->v[i], n, __ATOMIC_RELAXED) ;
}
static inline void stats_set (stats_rec *r, enum stats_value i, uint64_t n)
{
  if (r) __atomic_store_n(&r->v[i], n, __ATOMIC_RELAXED) ;
}

/* one remote failure for domain (any case; stored lower case): its slot, a new one, or "other" */
extern void stats_dest_fail (stats_rec *, char const *domain, size_t len) ;

/*
 * The reader's side: the sum of the record files in dir, in *out (its
 * dest table merged by name, up to STATS_DEST_MAX * nfiles names in
 * the caller's table: dests of n slots). A missing or foreign file
 * counts as none. Returns the number of files read, or -1 and errno.
 */
typedef struct stats_sum_s stats_sum ;
struct stats_sum_s
{
  uint64_t v[STATS_SLOTS] ;
  size_t ndest ;
  struct { uint64_t failures ; size_t len ; char name[STATS_DEST_LEN + 1] ; } dest[STATS_DEST_MAX * 4] ;
} ;
extern int stats_read (char const *dir, stats_sum *out) ;
extern int stats_read_file (char const *fn, stats_sum *out) ;

#endif
