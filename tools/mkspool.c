/* ISC license: see LICENSE. */

/*
 * mkspool: create or repair a spool (spool-layout/SPOOL): every
 * directory and the trigger FIFO, with the owner and modes of the
 * specification, then the recovery of tmp/. Idempotent.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include "exitcodes.h"
#include "conf.h"
#include "queue.h"
#include "stats.h"

#define USAGE "mkspool [ -C conf ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

static uid_t uid ;
static gid_t gid ;

static void make (char const *path, mode_t mode, int fifo)
{
  struct stat st ;
  if ((fifo ? mkfifo(path, mode) : mkdir(path, mode)) < 0 && errno != EEXIST)
    strerr_diefusys(KETCH_EX_TEMP, "create ", path) ;
  if (lstat(path, &st) < 0) strerr_diefusys(KETCH_EX_TEMP, "stat ", path) ;
  if (fifo ? !S_ISFIFO(st.st_mode) : !S_ISDIR(st.st_mode))
    strerr_dief(KETCH_EX_PERM, path, " exists and is not a ", fifo ? "FIFO" : "directory") ;
  if ((st.st_uid != uid || st.st_gid != gid) && chown(path, uid, gid) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "chown ", path) ;
  if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "chmod ", path) ;
}

/*
 * A record file of SPOOL/stats (lib/stats), empty: its writer gives it
 * its layout. Made here so that it has the queue owner and mode 0640
 * even when its writer starts as root (smtp-listen opens it before it
 * drops its privileges); an existing one is left as it is but for its
 * owner and mode.
 */
static void make_file (char const *path, mode_t mode)
{
  struct stat st ;
  int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode) ;
  if (fd < 0) strerr_diefusys(KETCH_EX_TEMP, "create ", path) ;
  if (fstat(fd, &st) < 0) strerr_diefusys(KETCH_EX_TEMP, "stat ", path) ;
  if (!S_ISREG(st.st_mode)) strerr_dief(KETCH_EX_PERM, path, " exists and is not a regular file") ;
  if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "chown ", path) ;
  if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "chmod ", path) ;
  close(fd) ;
}

int main (int argc, char const *const *argv)
{
  conf c ;
  stralloc err = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  char const *spool ;
  unsigned int i = 0, removed = 0 ;
  PROG = "mkspool" ;
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
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  spool = c.sa.s + c.spool ;
  uid = getuid() ; gid = getgid() ;
  if (!uid && c.queue_user)
  {
    struct passwd *pw = getpwnam(c.sa.s + c.queue_user) ;
    if (!pw) strerr_dief(KETCH_EX_PERM, "unknown queue-user: ", c.sa.s + c.queue_user) ;
    uid = pw->pw_uid ; gid = pw->pw_gid ;
  }
  umask(0) ;
  make(spool, 0750, 0) ;
  if (chdir(spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", spool) ;
  make("tmp", 0700, 0) ;
  make("queue", 0700, 0) ;
  make("state", 0700, 0) ;
  make("ctl", 0700, 0) ;
  make("corrupt", 0700, 0) ;
  /* TLS-RPT's records (lib/tlsrpt); an older spool gets it when mkspool runs again */
  make("tlsrpt", 0700, 0) ;
  /* the MTA-STS policy cache (RFC 8461 §5.1), remote-send's */
  make("sts", 0700, 0) ;
  /* the daemons' counters (lib/stats): readable by the queue owner's group, for ketch-stats(8) */
  make(STATS_DIR, 0750, 0) ;
  make_file(STATS_DIR "/" STATS_FILE_SMTP, 0640) ;
  make_file(STATS_DIR "/" STATS_FILE_ENQUEUE, 0640) ;
  make_file(STATS_DIR "/" STATS_FILE_SCHEDULER, 0640) ;
  make_file(STATS_DIR "/" STATS_FILE_REMOTE, 0640) ;
  /* the recipient callout cache (lib/callout), the SMTP sessions', outside the spool */
  if (c.callout_cache)
  {
    uid_t qu = uid ; gid_t qg = gid ;
    if (!getuid() && c.smtp_user)
    {
      struct passwd *pw = getpwnam(c.sa.s + c.smtp_user) ;
      if (!pw) strerr_dief(KETCH_EX_PERM, "unknown smtp-user: ", c.sa.s + c.smtp_user) ;
      uid = pw->pw_uid ; gid = pw->pw_gid ;
    }
    make(c.sa.s + c.callout_cache, 0700, 0) ;
    uid = qu ; gid = qg ;
  }
  for (; i < QUEUE_BUCKETS ; i++)
  {
    char path[9] ;
    queue_bucketdir(path, "queue", i) ;
    make(path, 0700, 0) ;
    queue_bucketdir(path, "state", i) ;
    make(path, 0700, 0) ;
  }
  make("trigger", 0600, 1) ;
  if (!queue_recover_tmp(&removed)) strerr_diefusys(KETCH_EX_TEMP, "recover ", spool, "/tmp") ;
  if (removed)
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, removed)] = 0 ;
    strerr_warni("removed ", fmt, " stale temporary files from ", spool, "/tmp") ;
  }
  return 0 ;
}
