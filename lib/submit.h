/* ISC license: see LICENSE. */

#ifndef KETCH_SUBMIT_H
#define KETCH_SUBMIT_H

#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>

#include <skalibs/stralloc.h>

#include "conf.h"
#include "dkimsign.h"
#include "envelope.h"
#include "message.h"
#include "queue.h"

/*
 * One message into the queue, as enqueue(8) takes it: the envelope
 * checked, tmp/ID created and locked, the envelope and the message
 * written, then the commit of spool-layout/SPOOL (fsync, rename into
 * queue/XX, fsync of queue/XX) and the scheduler's wake-up. A library,
 * so that enqueue-listen's workers take one message after another in
 * one process. The caller's working directory is the spool.
 *
 * Nothing here exits or prints. Every function returns 0, or
 * KETCH_EX_PERM (the input is refused: retrying will not help) or
 * KETCH_EX_TEMP, with the reason in err, NUL-terminated, as enqueue
 * prints it after "fatal: " ("invalid sender ...", "unable to write
 * tmp/ID: No space left on device"). err is left empty for one case: a
 * session's stream that ended before its final dot (an abort, not an
 * error). After a failure, tmp/ID is gone: submit_abort has run.
 * submit_free makes the structure ready for the next message.
 */

#define SUBMIT_RCPT_MAX 100000

/* the values of enqclient.h's ENQCLIENT_F_*, said by whoever submits */
#define SUBMIT_F_HOLD 0x1   /* queued held until queue-ctl release (a filter's quarantine) */
#define SUBMIT_F_SIGN 0x2   /* the submitter vouches for the sender: the message may be DKIM-signed */
#define SUBMIT_F_LOCAL 0x4  /* a local program's submission: counted as way local (lib/stats); anyone may say it */
#define SUBMIT_F_NOSIGN 0x8 /* not the submitter's own message (a ~/.forward's): never DKIM-signed; anyone may say it */
#define SUBMIT_F_ALL (SUBMIT_F_HOLD | SUBMIT_F_SIGN | SUBMIT_F_LOCAL | SUBMIT_F_NOSIGN)

typedef struct submit_s submit ;
struct submit_s
{
  envelope e ;
  message m ;
  stralloc out ;
  char id[QUEUE_ID_LEN + 1] ;
  char tmpfn[QUEUE_PATH_MAX] ;
  int fd ;             /* tmp/ID, locked; -1 when none */
  size_t envlen ;      /* octets of the envelope at the head of tmp/ID */
  unsigned int flags ; /* SUBMIT_F_*, set by submit_flags */
  conf const *dkimconf ; /* with dkim-sign lines, when the message may be signed (submit_dkim); else 0 */
  size_t room ;        /* octets reserved for the signatures after the envelope's body line (lib/dkimsign.h) */
  dkim dkim ;          /* the signer, fed as the message is written */
  size_t left ;        /* octets of the last submit_feed's input after the final dot (MESSAGE_DOTS): 0 when it ended with it */
} ;
#define SUBMIT_ZERO { .e = ENVELOPE_ZERO, .m = MESSAGE_ZERO, .out = STRALLOC_ZERO, .id = "", .tmpfn = "", .fd = -1, .envlen = 0, .flags = 0, .dkimconf = 0, .room = 0, .left = 0 }

/* the sender ("" is the null reverse-path); first, it starts the envelope */
extern int submit_sender (submit *, char const *, size_t, stralloc *) ;
extern int submit_rcpt (submit *, char const *, size_t, stralloc *) ;
/* the authenticated user: printable ASCII without spaces */
extern int submit_auth (submit *, char const *, stralloc *) ;
/*
 * The same, said by the process running as uid: only root, the queue
 * owner (our effective uid) and the configuration's smtp-user, whose
 * sessions pass it on, may say who authenticated; anyone else is
 * refused (KETCH_EX_PERM). The smtp-user is looked up in /etc/passwd
 * itself, not through NSS: enqueue and enqueue-listen are static.
 */
extern int submit_auth_from (submit *, char const *, conf const *, uid_t, stralloc *) ;
/*
 * The flags (SUBMIT_F_*) and, with SUBMIT_F_HOLD, the reason (or 0),
 * said by the process running as uid; after submit_sender, before
 * submit_open, which writes them into the envelope. SIGN, like the
 * authenticated user, is the session's word on its client: only root,
 * the queue owner and the smtp-user may say it (KETCH_EX_PERM
 * otherwise). HOLD anyone may say: it only delays one's own message.
 * The reason: printable ASCII, at most ENVELOPE_REASON_MAX octets
 * (KETCH_EX_PERM otherwise). An unknown flag is KETCH_EX_PERM.
 */
extern int submit_flags (submit *, unsigned int, char const *, conf const *, uid_t, stralloc *) ;
/*
 * DKIM signing (lib/dkimsign.h), said by the process running as uid,
 * after the sender, the authenticated user and the flags, before
 * submit_open: the message is signed at the commit when c has dkim-sign
 * lines for its From domain and its submitter vouches for it: an
 * authenticated user, SUBMIT_F_SIGN (a session's relay-from client), or
 * a local user: any uid but the smtp-user's (with no smtp-user line, the
 * sessions run as the queue owner, so any uid but ours). Mail that the
 * smtp-user hands in without either came from the Internet, and is never
 * signed; nor is a message submitted with SUBMIT_F_NOSIGN (a local
 * user's forward of mail that came from anywhere). 0, or KETCH_EX_TEMP (the user database unreadable). Without
 * dkim-sign lines it costs nothing.
 */
extern int submit_dkim (submit *, conf const *, uid_t, stralloc *) ;
/* tmp/ID created, the envelope written, s->id set; max 0: no size limit;
   options MESSAGE_DOTS for a dot-terminated stream. Then s->m.maxhops
   may be set: the hop count of message.h, 0 for none */
extern int submit_open (submit *, uint64_t, unsigned int, stralloc *) ;
/* the next octets of the message; with MESSAGE_DOTS, s->m.done once the final dot came, and s->left what followed it */
extern int submit_feed (submit *, char const *, size_t, stralloc *) ;
/* the end of the input: the commit; 0 = durable in queue/XX */
extern int submit_commit (submit *, stralloc *) ;
extern void submit_abort (submit *) ;
extern void submit_free (submit *) ;

#endif
