/* ISC license: see LICENSE. */

/*
 * queue-ctl: ask the scheduler to deliver now, hold, release or remove
 * messages. Only the scheduler changes delivery state (one writer per
 * file), so queue-ctl never touches queue/ or state/: it drops a request
 * into ctl/ and wakes the scheduler, which reads ctl/ on that hint, on its
 * rescan timer and when it starts. A request is one line in one file:
 *
 *   retry all | retry ID | retry domain DOMAIN | hold ID | release ID
 *   remove ID | remove sender ADDRESS      (ADDRESS canonical; "<>" = null sender)
 *
 * written as ctl/NAME.tmp, fsync'd, renamed to ctl/NAME (so the scheduler
 * never sees half a request), the directory fsync'd, then "ctl\n" is
 * written to the trigger FIFO without blocking.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/bytestr.h>
#include <skalibs/skamisc.h>

#include "exitcodes.h"
#include "address.h"
#include "conf.h"
#include "ctl.h"
#include "queue.h"

#define USAGE "queue-ctl [ -C conf ] retry all | retry id... | retry domain domain... | hold id... | release id... | remove id... | remove sender address..."
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

static int own = 0 ;
static uid_t owner ;
static gid_t group ;

/* one request: its own file, durable before the scheduler can see it */
static void submit (unsigned int op, char const *arg)
{
  char name[QUEUE_ID_LEN + 1] ;
  char tmp[4 + QUEUE_ID_LEN + 5] ;
  char fn[4 + QUEUE_ID_LEN + 1] ;
  stralloc line = STRALLOC_ZERO ;
  int fd ;
  unsigned int tries = 0 ;
  if (!ctl_format(&line, op, arg)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  for (;;)
  {
    queue_id_make(name) ;
    memcpy(tmp, "ctl/", 4) ; memcpy(tmp + 4, name, QUEUE_ID_LEN) ; memcpy(tmp + 4 + QUEUE_ID_LEN, ".tmp", 5) ;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
    if (fd >= 0) break ;
    if (errno != EEXIST || ++tries >= 10) strerr_diefusys(KETCH_EX_TEMP, "create ", tmp) ;
  }
  memcpy(fn, tmp, 4 + QUEUE_ID_LEN) ; fn[4 + QUEUE_ID_LEN] = 0 ;
  /* run by root: the request belongs to the queue owner, who must read and unlink it */
  if (own && fchown(fd, owner, group) < 0) { unlink(tmp) ; strerr_diefusys(KETCH_EX_TEMP, "chown ", tmp) ; }
  if (allwrite(fd, line.s, line.len) < line.len || fsync(fd) < 0)
  {
    int e = errno ; unlink(tmp) ; errno = e ;
    strerr_diefusys(KETCH_EX_TEMP, "write ", tmp) ;
  }
  fd_close(fd) ;
  if (rename(tmp, fn) < 0) { int e = errno ; unlink(tmp) ; errno = e ; strerr_diefusys(KETCH_EX_TEMP, "rename ", tmp, " to ", fn) ; }
  if (!queue_dir_sync("ctl")) strerr_diefusys(KETCH_EX_TEMP, "fsync ctl") ;
  {
    /* a quoted local part may hold quotes and backslashes: escape for the log */
    stralloc q = STRALLOC_ZERO ;
    if (!string_quote(&q, line.s, line.len - 1) || !stralloc_0(&q)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
    strerr_warni(name, " ctl request=", q.s) ;
    stralloc_free(&q) ;
  }
  stralloc_free(&line) ;
}

static void wake (void)
{
  int fd = open("trigger", O_WRONLY | O_NONBLOCK | O_CLOEXEC) ;
  if (fd < 0) return ;  /* no scheduler running: it reads ctl/ when it starts */
  (void)fd_write(fd, "ctl\n", 4) ;
  fd_close(fd) ;
}

static void check_id (char const *id, int mustexist)
{
  char fn[QUEUE_PATH_MAX] ;
  if (!queue_id_valid(id, strlen(id))) strerr_dief(KETCH_EX_PERM, "not a queue id: ", id) ;
  queue_path(fn, "queue", id) ;
  if (mustexist && access(fn, F_OK) < 0)
  {
    if (errno == ENOENT) strerr_dief(KETCH_EX_PERM, "no such message: ", id) ;
    strerr_diefusys(KETCH_EX_TEMP, "stat ", fn) ;
  }
}

int main (int argc, char const *const *argv)
{
  conf c ;
  stralloc err = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  char const *verb ;
  unsigned int op ;
  PROG = "queue-ctl" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc < 2) dieusage() ;
  verb = argv[0] ;
  if (ctl_op(verb, argv[1]) == CTL_NOP) dieusage() ;
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  if (chdir(c.sa.s + c.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", c.sa.s + c.spool) ;
  if (!getuid())
  {
    struct stat st ;
    if (stat("ctl", &st) < 0) strerr_diefusys(KETCH_EX_TEMP, "stat ", c.sa.s + c.spool, "/ctl") ;
    own = 1 ; owner = st.st_uid ; group = st.st_gid ;
  }
  argv++ ; argc-- ;

  /* validate every argument before the first request is written: all or none */
  op = ctl_op(verb, argv[0]) ;
  if (op == CTL_RETRY_ALL)
  {
    if (argc != 1) dieusage() ;
  }
  else if (op == CTL_RETRY_DOMAIN)
  {
    int i = 1 ;
    if (argc < 2) dieusage() ;
    for (; i < argc ; i++)
    {
      case_lowers((char *)argv[i]) ;
      if (!address_domain_valid(argv[i], strlen(argv[i]), ADDRESS_UTF8)) strerr_dief(KETCH_EX_PERM, "not a domain: ", argv[i]) ;
    }
  }
  else if (op == CTL_REMOVE_SENDER)
  {
    int i = 1 ;
    if (argc < 2) dieusage() ;
    for (; i < argc ; i++)
    {
      address a = ADDRESS_ZERO ;
      int r = address_parse(&a, argv[i], strlen(argv[i]), ADDRESS_NULL_OK | ADDRESS_UTF8) ;
      if (r)
      {
        stralloc q = STRALLOC_ZERO ;
        if (!string_quote(&q, argv[i], strlen(argv[i])) || !stralloc_0(&q)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
        strerr_dief(KETCH_EX_PERM, "invalid sender ", q.s, ": ", address_strerror(r)) ;
      }
    }
  }
  else
  {
    int i = 0 ;
    /* a message already gone is an error for hold and release; retry
       and remove of a finished message are harmless, but say so */
    for (; i < argc ; i++) check_id(argv[i], op == CTL_HOLD || op == CTL_RELEASE) ;
  }

  if (op == CTL_RETRY_ALL) submit(op, 0) ;
  else if (op == CTL_REMOVE_SENDER)
  {
    int i = 1 ;
    for (; i < argc ; i++)
    {
      address a = ADDRESS_ZERO ;
      address_parse(&a, argv[i], strlen(argv[i]), ADDRESS_NULL_OK | ADDRESS_UTF8) ;
      submit(op, a.len ? a.s : "<>") ;
    }
  }
  else
  {
    int i = op == CTL_RETRY_DOMAIN ;
    for (; i < argc ; i++) submit(op, argv[i]) ;
  }
  wake() ;
  return 0 ;
}
