/* ISC license: see LICENSE. */

/* setgroups(2) is not in POSIX */
#define _DEFAULT_SOURCE

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
#include <grp.h>

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

#define USAGE "enqueue [ -C conf ] [ -S ] [ -a authuser ] [ -r fd ] -f sender [ recipient... ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define RCPT_MAX 100000

static char tmpfn[QUEUE_PATH_MAX] ;
static int tmpfd = -1 ;

/* every failure after the temp file exists goes through here: nothing is left behind */
static void cleanup (void)
{
  if (tmpfd >= 0) unlink(tmpfn) ;
}

#define die_perm(...) do { cleanup() ; strerr_dief(KETCH_EX_PERM, __VA_ARGS__) ; } while (0)
#define die_tempsys(...) do { int e_ = errno ; cleanup() ; errno = e_ ; strerr_diefusys(KETCH_EX_TEMP, __VA_ARGS__) ; } while (0)

static void add_address (envelope *e, char const *s, size_t len, unsigned int options, char const *what)
{
  address a = ADDRESS_ZERO ;
  int r = address_parse(&a, s, len, options) ;
  if (r)
  {
    stralloc q = STRALLOC_ZERO ;
    if (!string_quote(&q, s, len) || !stralloc_0(&q)) strerr_diefu(KETCH_EX_TEMP, "allocate") ;
    strerr_dief(KETCH_EX_PERM, "invalid ", what, " ", q.s, ": ", address_strerror(r)) ;
  }
  if (what[0] == 's' ? !envelope_init(e, a.s) : !envelope_add_rcpt(e, a.s)) strerr_diefu(KETCH_EX_TEMP, "allocate") ;
  /* after envelope_init, which clears the flags: a UTF-8 sender alone needs SMTPUTF8 too */
  if (a.flags & ADDRESS_F_8BIT) e->flags |= ENVELOPE_F_SMTPUTF8 ;
}

/* recipients from a descriptor: one address per line */
static void read_rcpts (envelope *e, int fd)
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
    if (envelope_nrcpt(e) >= RCPT_MAX) strerr_dief(KETCH_EX_PERM, "too many recipients") ;
    add_address(e, line, w, ADDRESS_UTF8, "recipient") ;
  }
}

static void copy_message (message *m, int session)
{
  char buf[65536] ;
  stralloc out = STRALLOC_ZERO ;
  for (;;)
  {
    ssize_t r = fd_read(0, buf, sizeof(buf)) ;
    size_t used ;
    if (r < 0) die_tempsys("read message") ;
    if (!r) break ;
    out.len = 0 ;
    used = message_feed(m, buf, r, &out) ;
    if (used == (size_t)-1) die_tempsys("allocate") ;
    if (out.len && allwrite(tmpfd, out.s, out.len) < out.len) die_tempsys("write ", tmpfn) ;
    if (m->err) die_perm(message_strerror(m->err)) ;
    if (m->done) break ;
  }
  out.len = 0 ;
  if (!message_finish(m, &out))
  {
    /* a session that stops before its final dot aborted the message */
    if (session && m->err == MESSAGE_ETRUNC) { cleanup() ; _exit(KETCH_EX_TEMP) ; }
    die_perm(message_strerror(m->err)) ;
  }
  if (out.len && allwrite(tmpfd, out.s, out.len) < out.len) die_tempsys("write ", tmpfn) ;
  stralloc_free(&out) ;
}

/*
 * The queue has one owner. Run by root (a script, or sendmail on an
 * instance without a set-uid enqueue), write as that owner, so the
 * scheduler can read the entry and root never owns a queue file.
 */
static void become_owner (void)
{
  struct stat st ;
  if (geteuid()) return ;
  if (stat(".", &st) < 0) strerr_diefusys(KETCH_EX_TEMP, "stat the spool") ;
  if (!st.st_uid) return ;
  if (setgroups(0, 0) < 0 || setgid(st.st_gid) < 0 || setuid(st.st_uid) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "become the spool owner") ;
}

#ifdef KETCH_ENQUEUE_MAIN
/*
 * Linked into enqueue-listen, which calls it in a forked child per
 * connection, the socket on fds 0 and 1, and hands over the configuration
 * it loaded: the child parses no file.
 */
#define main KETCH_ENQUEUE_MAIN
int main (int, char const *const *) ;
conf const *enqueue_conf = 0 ;
#else
static conf const *const enqueue_conf = 0 ;
#endif

int main (int argc, char const *const *argv)
{
  envelope e = ENVELOPE_ZERO ;
  conf c ;
  stralloc sa = STRALLOC_ZERO ;
  message m = MESSAGE_ZERO ;
  char id[QUEUE_ID_LEN + 1] ;
  char const *conffile = 0, *sender = 0, *auth = 0 ;
  int rcptfd = -1, session = 0 ;
  PROG = "enqueue" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:Sa:r:f:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'S' : session = 1 ; break ;
        case 'a' : auth = l.arg ; break ;
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
  if (enqueue_conf) c = *enqueue_conf ;
  else if (!conf_load_default(&c, conffile, &sa))
  {
    if (errno == EINVAL) strerr_dief(KETCH_EX_PERM, sa.s) ;
    strerr_diefu(KETCH_EX_TEMP, "load the configuration: ", sa.len ? sa.s : "") ;
  }

  add_address(&e, sender, strlen(sender), ADDRESS_NULL_OK | ADDRESS_UTF8, "sender") ;
  for (; *argv ; argv++)
  {
    if (envelope_nrcpt(&e) >= RCPT_MAX) strerr_dief(KETCH_EX_PERM, "too many recipients") ;
    add_address(&e, *argv, strlen(*argv), ADDRESS_UTF8, "recipient") ;
  }
  if (rcptfd >= 0) read_rcpts(&e, rcptfd) ;
  if (!envelope_nrcpt(&e)) strerr_dief(KETCH_EX_PERM, "no recipient") ;
  if (auth)
  {
    size_t i = 0 ;
    for (; auth[i] ; i++) if ((unsigned char)auth[i] <= 32 || auth[i] == 127) strerr_dief(KETCH_EX_PERM, "invalid auth user") ;
    if (!envelope_set_auth(&e, auth)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  }

  umask(077) ;
  if (chdir(c.sa.s + c.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", c.sa.s + c.spool) ;
  become_owner() ;
  /* locked until exit: start-up recovery deletes only unlocked temp files */
  if (!queue_tmp_create(id, tmpfn, &tmpfd)) strerr_diefusys(KETCH_EX_TEMP, "create a file in ", c.sa.s + c.spool, "/tmp") ;

  sa.len = 0 ;
  if (!envelope_encode(&e, &sa)) die_tempsys("encode the envelope") ;
  if (allwrite(tmpfd, sa.s, sa.len) < sa.len) die_tempsys("write ", tmpfn) ;
  if (session)
  {
    /* the session needs the id first, for its Received header */
    char line[QUEUE_ID_LEN + 1] ;
    memcpy(line, id, QUEUE_ID_LEN) ; line[QUEUE_ID_LEN] = '\n' ;
    if (allwrite(1, line, sizeof(line)) < sizeof(line)) die_tempsys("write the id") ;
  }

  m.max = c.message_size ;
  m.options = session ? MESSAGE_DOTS : 0 ;
  copy_message(&m, session) ;
  if (m.has8bit && pwrite(tmpfd, "8", 1, sa.len - ENVELOPE_BODYFLAG_OFF) != 1) die_tempsys("write ", tmpfn) ;

  if (!queue_commit(tmpfd, id)) die_tempsys("commit ", tmpfn) ;
  tmpfd = -1 ;
  queue_trigger(id) ;
  if (!session)
  {
    char line[QUEUE_ID_LEN + 1] ;
    memcpy(line, id, QUEUE_ID_LEN) ; line[QUEUE_ID_LEN] = '\n' ;
    if (allwrite(1, line, sizeof(line)) < sizeof(line)) strerr_diefusys(KETCH_EX_BUG, "print the id of committed message ", id) ;
  }
  return 0 ;
}
