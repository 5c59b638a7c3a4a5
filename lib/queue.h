/* ISC license: see LICENSE. */

#ifndef KETCH_QUEUE_H
#define KETCH_QUEUE_H

#include <stddef.h>
#include <stdint.h>

/*
 * The spool, as specified in spool-layout/SPOOL. Every path here is
 * relative to the spool directory: programs chdir there first.
 *
 * A queue id is 24 lower-case hex digits: 10 of Unix seconds, 5 of
 * microseconds, 6 of the creating pid, 3 random. So ids sort by arrival
 * time, are unique without locks (one creator per pid per microsecond, and
 * tmp/ entries are created with O_EXCL), and are safe as file names.
 */
#define QUEUE_ID_LEN 24
#define QUEUE_BUCKETS 256
#define QUEUE_PATH_MAX 40   /* "queue/xx/" + id + NUL, with room */

extern void queue_id_make (char *) ;   /* QUEUE_ID_LEN + 1 bytes */
/* the same with the caller's pid, which a process that makes an id per
   client (a -f session process) knows already: getpid is a system call */
extern void queue_id_make_pid (char *, uint32_t) ;
extern int queue_id_valid (char const *, size_t) ;
extern uint64_t queue_id_time (char const *) ;
extern void queue_bucket (char *, char const *) ;  /* 3 bytes: "xx" NUL */
extern void queue_path (char *, char const *, char const *) ;  /* buf, "queue"|"state", id */
extern void queue_tmppath (char *, char const *) ;             /* "tmp/" id */
/* the entry queue/xx/ID, open for reading at offset off: the fd, or -1 and errno */
extern int queue_open (char const *, size_t) ;

extern void queue_bucketdir (char *, char const *, unsigned int) ;  /* buf[9]: "queue/xx" */
typedef int queue_foreach_func (char const *, void *) ;
extern int queue_foreach (char const *, queue_foreach_func *, void *) ;
extern int queue_foreach_bucket (char const *, unsigned int, queue_foreach_func *, void *) ;
extern int queue_dir_sync (char const *) ;
/* rename(tmp, DIR/XX/ID), making a missing bucket XX first; 1 or 0, errno */
extern int queue_rename_into (char const *, char *) ;
/* free space below which MAIL gets 452 4.3.1, whatever the size */
#define QUEUE_ROOM_RESERVE 65536
/* 1 if the spool's filesystem has room for size octets plus the reserve */
extern int queue_has_room (char const *, uint64_t) ;
/* tmp/ID created, locked and still linked: id[QUEUE_ID_LEN+1], fn[QUEUE_PATH_MAX] */
extern int queue_tmp_create (char *, char *, int *) ;
extern int queue_commit (int, char const *) ;
extern void queue_trigger (char const *) ;
extern int queue_recover_tmp (unsigned int *) ;
/* run by root in the spool: become its owner, no supplementary groups (a
   spool owned by root: stay root); 1, or 0 and errno */
extern int queue_become_owner (void) ;

#endif
