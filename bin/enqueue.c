/* ISC license: see LICENSE. */

/*
 * enqueue: the one way into the queue. Validates an envelope and a
 * message, writes them into tmp/, makes them durable and renames them
 * into queue/ (spool-layout/SPOOL, "commit"), wakes the scheduler,
 * prints the queue id. Exit 0 only after the commit is durable.
 */

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/skamisc.h>

#include "exitcodes.h"
#include "address.h"
#include "conf.h"
#include "envelope.h"
#include "message.h"
#include "queue.h"
#include "submit.h"
#include "stats.h"

#define USAGE "enqueue [ -C conf ] [ -S ] [ -a authuser ] [ -H reason ] [ -D ] [ -l ] [ -N ] [ -r fd ] -f sender [ recipient... ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

/* a refusal or a failure of lib/submit: its words, or silence for an abort */
static void die (int code, stralloc const *err)
{
  if (!err->len) _exit(code) ;
  strerr_dief(code, err->s) ;
}

/* recipients from a descriptor: one address per line */
static void read_rcpts (submit *s, int fd, stralloc *err)
{
  char buf[4096] ;
  char line[ADDRESS_PATH_MAX + 2] ;
  buffer b = BUFFER_INIT(&buffer_read, fd, buf, sizeof(buf)) ;
  for (;;)
  {
    size_t w = 0 ;
    int r = getlnmax(&b, line, sizeof(line), &w, '\n') ;
    /* a last line without its newline still counts */
    if (r < 0)
    {
      if (errno == ERANGE) strerr_dief(KETCH_EX_PERM, "invalid recipient: address longer than 256 octets") ;
      if (errno == EPIPE && w) r = 1 ;
      else strerr_diefusys(KETCH_EX_TEMP, "read recipients") ;
    }
    if (!r && !w) break ;
    if (w && line[w-1] == '\n') w-- ;
    if (w && line[w-1] == '\r') w-- ;
    if (!w) continue ;
    r = submit_rcpt(s, line, w, err) ;
    if (r) die(r, err) ;
  }
}

/* the message from stdin; with -S it ends at its final dot */
static void copy_message (submit *s, stralloc *err)
{
  char buf[65536] ;
  while (!s->m.done)
  {
    ssize_t r = fd_read(0, buf, sizeof(buf)) ;
    int e ;
    if (r < 0)
    {
      e = errno ;
      submit_abort(s) ;
      errno = e ;
      strerr_diefusys(KETCH_EX_TEMP, "read message") ;
    }
    if (!r) break ;
    e = submit_feed(s, buf, r, err) ;
    if (e) die(e, err) ;
  }
}

int main (int argc, char const *const *argv)
{
  submit s = SUBMIT_ZERO ;
  conf c ;
  stralloc sa = STRALLOC_ZERO ;
  char const *conffile = 0, *sender = 0, *auth = 0, *reason = 0 ;
  unsigned int flags = 0 ;
  int rcptfd = -1, session = 0, r ;
  PROG = "enqueue" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:Sa:H:DlNr:f:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'S' : session = 1 ; break ;
        case 'a' : auth = l.arg ; break ;
        case 'H' : flags |= SUBMIT_F_HOLD ; reason = l.arg ; break ;
        case 'D' : flags |= SUBMIT_F_SIGN ; break ;
        case 'l' : flags |= SUBMIT_F_LOCAL ; break ;
        case 'N' : flags |= SUBMIT_F_NOSIGN ; break ;
        case 'r' : if (!int0_scan(l.arg, &rcptfd) || rcptfd < 0) dieusage() ; break ;
        case 'f' : sender = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (!sender) dieusage() ;

  /* installed set-uid to the queue owner: the caller may not choose the spool */
  if (getuid() != geteuid()) { conffile = CONF_DEFAULT ; unsetenv("KETCH_CONF") ; }
  if (!conf_load_default(&c, conffile, &sa))
  {
    if (errno == EINVAL) strerr_dief(KETCH_EX_PERM, sa.s) ;
    strerr_diefu(KETCH_EX_TEMP, "load the configuration: ", sa.len ? sa.s : "") ;
  }

  r = submit_sender(&s, sender, strlen(sender), &sa) ;
  if (r) die(r, &sa) ;
  for (; *argv ; argv++)
  {
    r = submit_rcpt(&s, *argv, strlen(*argv), &sa) ;
    if (r) die(r, &sa) ;
  }
  if (rcptfd >= 0) read_rcpts(&s, rcptfd, &sa) ;
  if (!envelope_nrcpt(&s.e)) strerr_dief(KETCH_EX_PERM, "no recipient") ;
  if (auth)
  {
    /* a set-uid enqueue: the caller must be trusted to say who authenticated */
    r = submit_auth_from(&s, auth, &c, getuid(), &sa) ;
    if (r) die(r, &sa) ;
  }
  if (flags)
  {
    /* the same: -D is the session's word on its client */
    r = submit_flags(&s, flags, reason, &c, getuid(), &sa) ;
    if (r) die(r, &sa) ;
  }
  /* a local user's mail is signed (DKIM), the smtp-user's only when it says so */
  r = submit_dkim(&s, &c, getuid(), &sa) ;
  if (r) die(r, &sa) ;

  umask(077) ;
  if (chdir(c.sa.s + c.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", c.sa.s + c.spool) ;
  if (!queue_become_owner()) strerr_diefusys(KETCH_EX_TEMP, "become the spool owner") ;
  r = submit_open(&s, c.message_size, session ? MESSAGE_DOTS : 0, &sa) ;
  if (r) die(r, &sa) ;
  s.m.maxhops = c.max_hops ;
  if (session)
  {
    /* the session needs the id first, for its Received header */
    char line[QUEUE_ID_LEN + 1] ;
    memcpy(line, s.id, QUEUE_ID_LEN) ; line[QUEUE_ID_LEN] = '\n' ;
    if (allwrite(1, line, sizeof(line)) < sizeof(line))
    {
      int e = errno ;
      submit_abort(&s) ;
      errno = e ;
      strerr_diefusys(KETCH_EX_TEMP, "write the id") ;
    }
  }
  copy_message(&s, &sa) ;
  r = submit_commit(&s, &sa) ;
  if (r) die(r, &sa) ;
  /* the fallback way in (enqueue-listen counts its own): the record is
     mapped for one add, and unmapped by our exit; no record, no count */
  if (flags & SUBMIT_F_LOCAL) stats_add(stats_open(STATS_DIR "/" STATS_FILE_ENQUEUE), STATS_RECEIVED_LOCAL, 1) ;
  if (!session)
  {
    char line[QUEUE_ID_LEN + 1] ;
    memcpy(line, s.id, QUEUE_ID_LEN) ; line[QUEUE_ID_LEN] = '\n' ;
    if (allwrite(1, line, sizeof(line)) < sizeof(line)) strerr_diefusys(KETCH_EX_BUG, "print the id of committed message ", s.id) ;
  }
  return 0 ;
}
