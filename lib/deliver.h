/* ISC license: see LICENSE. */

#ifndef KETCH_DELIVER_H
#define KETCH_DELIVER_H

#include <stddef.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>

#include "exitcodes.h"
#include "conf.h"
#include "maildir.h"

/*
 * One delivery of one message to one local recipient, already running
 * as the recipient's user: into a Maildir, an mbox, an MDA program, or
 * over LMTP (lib/lmtp). local-deliver(8) is a main() around it, and a
 * local-spawn(8) worker calls it once per request. It returns the
 * result (lib/exitcodes.h) with one line of text saying what happened
 * (local-deliver prints it: the scheduler keeps that last word); it
 * never exits and never prints. The behaviour of each method is written
 * up in local-deliver(8).
 *
 * A request is local-deliver's arguments (deliver_req_argv): the
 * scheduler and local-spawn make them (lib/decide), and the same words
 * cross an exec or a worker's socket.
 *
 * With forward set (-F), the user's ~/.forward decides (lib/dotforward,
 * local-deliver(8)): its addresses are queued again as one new message
 * (lib/enqclient, through cf), then its files, programs and the mailbox
 * are delivered in its order, the message read again from its start
 * for each (r->fd must then be seekable); the first failure stops and
 * is the result. A .forward that is refused (hostile, unusable) is not
 * followed at all: the delivery is the one without it, and its text
 * says what was ignored and why.
 *
 * Process state: an MDA delivery traps SIGCHLD with skalibs' selfpipe
 * (selfpipe_init returns the one already there) and ignores SIGPIPE,
 * for the rest of the process's life, as a forward does SIGPIPE; the
 * caller has no use for them.
 */

enum deliver_method_e
{
  DELIVER_M_MAILDIR,    /* args[0]: the Maildir */
  DELIVER_M_MBOX,       /* args[0]: the file */
  DELIVER_M_MDA,        /* args: the program (an absolute path) and its arguments */
  DELIVER_M_LMTP        /* args[0]: unix:PATH or HOST:PORT */
} ;

typedef struct deliver_req_s deliver_req, *deliver_req_ref ;
struct deliver_req_s
{
  char const *sender ;    /* "" for the null sender */
  char const *rcpt ;      /* Delivered-To, RECIPIENT */
  char const *user ;      /* USER, LOGNAME */
  char const *home ;      /* HOME, an MDA's working directory */
  char const *ext ;       /* EXTENSION ("" none) */
  char const *orig ;      /* ORIGINAL_RECIPIENT; 0: rcpt */
  char const *domain ;    /* DOMAIN when rcpt has none */
  unsigned int timeout ;  /* seconds: an MDA, the mbox locks, each LMTP read or write */
  unsigned int method ;   /* deliver_method_e */
  char const *const *args ;  /* the method's operands, up to a null pointer */
  int fd ;                /* the message: LF line ends, positioned at its first header line */
  int out ;               /* an MDA's output is copied here (at most 64 KiB, controls blanked); -1: nowhere */
  int forward ;           /* -F: the user's ~/.forward decides */
  char const *conffile ;  /* -C: the configuration a forward's spawned enqueue reads; 0: the default */
  conf const *cf ;        /* with forward: the host name and the way into the queue; 0: a forward fails (temporary) */
} ;
#define DELIVER_REQ_ZERO { .sender = "", .rcpt = "", .user = "", .home = "/", .ext = "", .orig = 0, .domain = "", .timeout = 600, .method = DELIVER_M_MAILDIR, .args = 0, .fd = 0, .out = -1, .forward = 0, .conffile = 0, .cf = 0 }

/*
 * local-deliver's argv (local-deliver(8); argv[0] the program's name):
 * [-t timeout] [-e ext] [-o orig] [-d domain] [-F] [-C conf] [--] sender
 * rcpt user home method operands. Fills r but its fd, out and cf,
 * pointing into argv. 1, or
 * 0 if argv is not a request (usage).
 */
extern int deliver_req_argv (deliver_req *, unsigned int, char const *const *) ;

/* the engine's buffers, kept by the caller from one delivery to the next */
typedef struct deliver_s deliver, *deliver_ref ;
struct deliver_s
{
  stralloc pre ;    /* Return-Path, Delivered-To */
  stralloc head ;   /* the message's header block, as read */
  maildir_proc mp ; /* this process's part of Maildir names, its last Maildir held open: a deliver is made in the process that delivers */
  uid_t euid ;      /* ours, asked at the first delivery (euid_known) */
  int euid_known ;
  stralloc nofwd ;  /* the home last found without a .forward, NUL-terminated (DELIVER_NOFWD_SECS) */
  int64_t nofwd_until ;   /* seconds (CLOCK_REALTIME): looked for again from then on */
} ;
#define DELIVER_ZERO { .pre = STRALLOC_ZERO, .head = STRALLOC_ZERO, .mp = MAILDIR_PROC_ZERO, .euid = 0, .euid_known = 0, .nofwd = STRALLOC_ZERO, .nofwd_until = 0 }

/*
 * A home found without a .forward is not looked in again for this many
 * seconds by the same engine: a local-spawn worker delivers a burst of
 * mail for its one user, and each look was an open answering ENOENT. A
 * .forward made meanwhile is followed from the next second on, as
 * lib/lookup sees a change to the user database.
 */
#define DELIVER_NOFWD_SECS 1

/*
 * Delivers, reading r's fd to its end (or not, on a failure). text (a C
 * string, its length without the NUL) says what happened: "delivered to
 * ..." or why not ("unable to ...: reason", an MDA's exit, the LMTP
 * server's reply). Every I/O error is temporary, ENOSPC and EDQUOT too.
 */
extern enum ketch_result deliver_run (deliver *, deliver_req const *, stralloc *) ;

extern void deliver_free (deliver *) ;

#endif
