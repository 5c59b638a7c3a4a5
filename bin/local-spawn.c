/* ISC license: see LICENSE. */

/*
 * local-spawn: the scheduler's root helper (qmail-lspawn's job). The
 * scheduler, started as root, runs it with a request pipe on fd 0 and a
 * report pipe on fd 1, then drops to the queue user. For each request,
 * local-spawn looks the user up itself (never taking a uid from the
 * pipe, never running anything as root), opens the message, and runs
 * local-deliver as that user, with a timeout: in a worker, a forked child
 * that drops to the user and calls local-deliver's code, linked in,
 * without an exec (an exec per delivery cost about half a millisecond of
 * CPU, a third of a message's whole budget), and that stays for the same
 * user's next deliveries (a fork per delivery cost a tenth of one). It
 * never executes anything. See local-spawn(8) for the protocol.
 */

/* initgroups and setgroups are not POSIX */
#define _DEFAULT_SOURCE
#ifdef __linux__
/* prctl(PR_SET_NAME): a delivery shows as local-deliver in ps and /proc/PID/comm */
#define _GNU_SOURCE
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <pwd.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/ancil.h>
#include <skalibs/netstring.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "conf.h"
#include "queue.h"
#include "lookup.h"
#include "expand.h"
#include "lspawn.h"

#define USAGE "local-spawn [ -C conf ]"
extern int local_deliver_main (int, char const *const *) ;
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define MAXCHILD 1000         /* deliveries at once */
#define WORKER_USES 1000      /* deliveries by one worker, then it is retired: whatever it leaks stays bounded */
#define WORKER_IDLE 5         /* seconds an idle worker waits for its user's next delivery */

/*
 * A worker: a forked child that dropped to one user (uid, gid, name)
 * and delivers that user's mail, one request at a time, until its
 * socket closes. The socket carries the requests out (the message's
 * descriptor, then local-deliver's arguments as a netstring of
 * NUL-terminated fields, as in the scheduler's requests) and back
 * its stderr, with a NUL after each delivery that returned (ok). A
 * delivery that fails exits the worker with local-deliver's code, as a
 * child of its own did before workers.
 */
typedef struct child_s child ;
struct child_s
{
  pid_t pid ;
  char tag[UINT_FMT] ;   /* the delivery in flight ("" when idle or unknown) */
  int busy ;
  int fd ;               /* the worker's socket; -1 once dismissed or closed */
  stralloc last ;        /* its last stderr line */
  stralloc cur ;
  tain deadline ;        /* busy: the delivery's; idle: its dismissal */
  int killed ;
  unsigned int uses ;
  uid_t uid ;
  gid_t gid ;
  char name[256] ;
} ;

static conf c ;
static genalloc children = GENALLOC_ZERO ;  /* child */

static void report (char const *tag, char const *code, char const *text, size_t len)
{
  stralloc sa = STRALLOC_ZERO ;
  if (lspawn_report(&sa, tag, code, text, len) && allwrite(1, sa.s, sa.len) < sa.len) strerr_diefusys(KETCH_EX_TEMP, "write a report") ;
  stralloc_free(&sa) ;
}

/* whom to run as: looked up here, never root */
static int resolve (char const *runas, uid_t *uid, gid_t *gid, char const **name)
{
  struct passwd *pw = 0 ;
  char const *table = 0 ;
  if (!strncmp(runas, "user ", 5))
  {
    pw = getpwnam(runas + 5) ;
    if (!pw) return 0 ;
  }
  else
  {
    struct stat st ;
    if (!strcmp(runas, "alias")) table = conf_str(&c, c.aliases) ;
    else if (!strncmp(runas, "vmap ", 5))
    {
      conf_vdomain const *v = conf_vdomain_find(&c, runas + 5) ;
      if (v) table = c.sa.s + v->map ;
    }
    else return 0 ;
    /* a table's files and programs run as its owner; nobody when root owns it */
    if (table && stat(table, &st) == 0 && st.st_uid) pw = getpwuid(st.st_uid) ;
    if (!pw) pw = getpwnam("nobody") ;
    if (!pw) return 0 ;
  }
  if (!pw->pw_uid) return (errno = EPERM, 0) ;
  *uid = pw->pw_uid ; *gid = pw->pw_gid ; *name = pw->pw_name ;
  return 1 ;
}

/* entries compare with runs of blanks collapsed: the scheduler split them on spaces */
static int entry_equal (char const *a, char const *b)
{
  for (;;)
  {
    while (*a == ' ' && a[1] == ' ') a++ ;
    while (*b == ' ' && b[1] == ' ') b++ ;
    if (*a != *b) return 0 ;
    if (!*a) return 1 ;
    a++ ; b++ ;
  }
}

/* is want one of the alias's files or programs, as the scheduler expands it (lib/expand)? */
static int entry_listed (lookup const *l, char const *want)
{
  stralloc texts = STRALLOC_ZERO ;
  genalloc items = GENALLOC_ZERO ;
  size_t n, k = 0 ;
  int r = 0 ;
  if (expand_entries(&c, l->sa.s + l->entries, l->entrieslen, 1, &texts, &items))
  {
    n = genalloc_len(expand_item, &items) ;
    for (; !r && k < n ; k++)
    {
      expand_item const *it = genalloc_s(expand_item, &items) + k ;
      r = it->kind == EXPAND_I_RCPT && entry_equal(texts.s + it->text, want) ;
    }
  }
  stralloc_free(&texts) ;
  genalloc_free(expand_item, &items) ;
  return r ;
}

static int add (stralloc *sa, char const *s)
{
  return stralloc_cats(sa, s) && stralloc_0(sa) ;
}

/*
 * The delivery is decided here again, from the configuration and the
 * tables, not taken from the pipe: a scheduler that lost its integrity
 * can make us deliver a message, but never choose the program, the
 * file or the user. args are local-deliver's arguments:
 * [options] -- sender recipient user home method [arg...]. On success
 * out holds the arguments to run, NUL-separated.
 */
static int authorize (char const *runas, char const *name, char const *const *args, unsigned int na, stralloc *out)
{
  lookup l = LOOKUP_ZERO ;
  char const *orig = 0, *sender, *rcpt ;
  unsigned int i = 0 ;
  int ok = 0 ;
  while (i < na && strcmp(args[i], "--"))
  {
    if (args[i][0] != '-' || !args[i][1] || args[i][2] || !strchr("toed", args[i][1]) || i + 1 >= na) return 0 ;
    if (args[i][1] == 'o') orig = args[i+1] ;
    if (!add(out, args[i]) || !add(out, args[i+1])) return 0 ;
    i += 2 ;
  }
  if (i + 6 > na) return 0 ;
  sender = args[i+1] ; rcpt = args[i+2] ;
  if (!add(out, "--") || !add(out, sender) || !add(out, rcpt)) return 0 ;
  if (!strncmp(runas, "user ", 5) || !strncmp(runas, "vmap ", 5))
  {
    /* the user, home (or local part, maildir), method and its arguments the scheduler derives (lib/expand) */
    expand_local x = EXPAND_LOCAL_ZERO ;
    unsigned int kind = runas[0] == 'u' ? LOOKUP_LOCAL : LOOKUP_VIRTUAL ;
    if (lookup_address(&l, &c, rcpt) && l.kind == kind && (kind != LOOKUP_LOCAL || !strcmp(l.sa.s + l.user, name))
     && expand_local_who(&c, &l, rcpt, &x) && x.kind != EXPAND_L_ALIAS && !x.fail
     && expand_local_args(&c, &l, sender, rcpt, 0, 0, &x) && !x.fail)
    {
      size_t pos = 0 ;
      unsigned int k = 0 ;
      ok = 1 ;
      for (; ok && k < x.nargs ; k++, pos += strlen(x.args.s + pos) + 1)
        if (k + 2 >= x.method) ok = add(out, x.args.s + pos) ;
    }
    expand_local_free(&x) ;
  }
  else if (!strcmp(runas, "alias"))
  {
    /* the file or program must be an entry of the alias it came from */
    stralloc want = STRALLOC_ZERO ;
    char const *method = args[i+5] ;
    unsigned int k = i + 6 ;
    struct passwd *pw = getpwnam(name) ;
    if (!orig || !pw || !lookup_address(&l, &c, orig) || l.kind != LOOKUP_ALIAS) goto end ;
    if (!strcmp(method, "mbox") && k + 1 == na) { if (!stralloc_cats(&want, args[k])) goto end ; }
    else if (!strcmp(method, "mda") && k < na)
    {
      if (!stralloc_catb(&want, "|", 1)) goto end ;
      for (; k < na ; k++) if ((k > i + 6 && !stralloc_catb(&want, " ", 1)) || !stralloc_cats(&want, args[k])) goto end ;
    }
    else goto end ;
    if (!stralloc_0(&want)) goto end ;
    if (entry_listed(&l, want.s))
    {
      ok = add(out, pw->pw_name) && add(out, pw->pw_dir) ;
      for (k = i + 5 ; ok && k < na ; k++) ok = add(out, args[k]) ;
    }
    stralloc_free(&want) ;
  }
 end:
  lookup_free(&l) ;
  return ok ;
}

/*
 * One request: tag NUL runas NUL id NUL hdrlen NUL timeout NUL arg NUL ...
 * (the local-deliver arguments after argv[0]).
 */

/*
 * The user's groups, as initgroups() would set them (at most NGROUPS_CAP).
 * The last answer is kept for one second: a burst of deliveries to one
 * user asks NSS once (with libnss_systemd, one getgrouplist is about 100
 * system calls). nscd keeps group answers far longer.
 */
#define NGROUPS_CAP 1024
static gid_t groups[NGROUPS_CAP] ;
static int gcache_n = -1 ;
static gid_t gcache_gid ;
static char gcache_name[256] ;
static tain gcache_until ;

static int grouplist (char const *name, gid_t gid, int *n)
{
  int ng = NGROUPS_CAP ;
  size_t len = strlen(name) ;
  tain_now_g() ;
  if (gcache_n >= 0 && gid == gcache_gid && len < sizeof(gcache_name) && !strcmp(name, gcache_name) && tain_less(&STAMP, &gcache_until))
  {
    *n = gcache_n ;
    return 1 ;
  }
  gcache_n = -1 ;
  if (getgrouplist(name, gid, groups, &ng) < 0) return (errno = E2BIG, 0) ;
  *n = ng ;
  if (len < sizeof(gcache_name))
  {
    memcpy(gcache_name, name, len + 1) ;
    gcache_gid = gid ;
    gcache_n = ng ;
    tain_addsec(&gcache_until, &STAMP, 1) ;
  }
  return 1 ;
}

static size_t busy_count (void)
{
  size_t n = genalloc_len(child, &children), i = 0, k = 0 ;
  for (; i < n ; i++) if (genalloc_s(child, &children)[i].busy) k++ ;
  return k ;
}

/* an idle worker for this user, or 0 */
static child *worker_idle (uid_t uid, gid_t gid, char const *name)
{
  size_t n = genalloc_len(child, &children), i = 0 ;
  for (; i < n ; i++)
  {
    child *ch = genalloc_s(child, &children) + i ;
    if (!ch->busy && ch->fd >= 0 && !ch->killed && ch->uid == uid && ch->gid == gid && !strcmp(ch->name, name)) return ch ;
  }
  return 0 ;
}

/* an idle worker gets no more requests: it reads the end of its socket and exits; reap() forgets it */
static void worker_dismiss (child *ch)
{
  if (ch->fd >= 0) fd_close(ch->fd) ;
  ch->fd = -1 ;
}

/* the worker's side: requests until the end of its socket (fd 2) */
static void worker_loop (void)
{
  stralloc a = STRALLOC_ZERO ;
  for (;;)
  {
    char const *argv[LSPAWN_FIELDS_MAX + 2] ;
    size_t start, len, used ;
    unsigned int n ;
    int mfd, r ;
    iopause_fd x = { .fd = 2, .events = IOPAUSE_READ, .revents = 0 } ;
    /* ancil_recv_fd does not wait (MSG_DONTWAIT): wait for the next request, or the end */
    if (iopause(&x, 1, 0, 0) < 0) _exit(KETCH_EX_TEMP) ;
    mfd = ancil_recv_fd(2, 'm') ;
    if (mfd < 0) _exit(0) ;
    /* then its arguments; nothing follows them until we answer, so reading whole blocks takes no more */
    a.len = 0 ;
    while (!(r = lspawn_request_next(a.s, a.len, &start, &len, &used)))
    {
      ssize_t k ;
      if (!stralloc_readyplus(&a, 4096)) _exit(KETCH_EX_TEMP) ;
      k = fd_read(2, a.s + a.len, 4096) ;
      if (k <= 0) _exit(KETCH_EX_TEMP) ;
      a.len += k ;
    }
    if (r < 0 || used != a.len) _exit(KETCH_EX_TEMP) ;
    argv[0] = "local-deliver" ;
    n = lspawn_fields(a.s + start, len, argv + 1, LSPAWN_FIELDS_MAX) ;
    /* every octet in a field (local-spawn sends at most LSPAWN_FIELDS_MAX) */
    if (!n || argv[n] + strlen(argv[n]) + 1 != a.s + start + len) _exit(KETCH_EX_TEMP) ;
    argv[n + 1] = 0 ;
    if (fd_move(0, mfd) < 0) _exit(KETCH_EX_TEMP) ;
    /* a failure exits with its code (strerr_die*); a return is a delivery done */
    if (local_deliver_main((int)n + 1, argv)) _exit(KETCH_EX_TEMP) ;
    if (!buffer_flush(buffer_2) || fd_write(2, "", 1) != 1) _exit(KETCH_EX_TEMP) ;
  }
}

/*
 * A new worker for this user: forked now, it drops to the user at once
 * and waits for requests (its first comes right after).
 */
static child *worker_start (uid_t uid, gid_t gid, char const *name)
{
  child ch = { .fd = -1, .busy = 0, .last = STRALLOC_ZERO, .cur = STRALLOC_ZERO, .killed = 0, .uses = 0, .uid = uid, .gid = gid } ;
  int p[2], ng ;
  pid_t pid ;
  /*
   * The supplementary groups are resolved here, in the long-lived parent,
   * not by initgroups() in the child: in a fresh child every delivery
   * would load the NSS modules (libnss_systemd and its libraries) again,
   * about 200 system calls and a millisecond of CPU per message.
   */
  if (strlen(name) >= sizeof(ch.name) || !grouplist(name, gid, &ng)) return 0 ;
  memcpy(ch.name, name, strlen(name) + 1) ;
  if (genalloc_len(child, &children) >= MAXCHILD)
  {
    /* full of idle workers: dismiss them, they are reaped soon */
    size_t i = 0 ;
    for (; i < genalloc_len(child, &children) ; i++) if (!genalloc_s(child, &children)[i].busy) worker_dismiss(genalloc_s(child, &children) + i) ;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0) return 0 ;
  pid = fork() ;
  if (pid < 0) { fd_close(p[0]) ; fd_close(p[1]) ; return 0 ; }
  if (!pid)
  {
    int null = open("/dev/null", O_RDWR) ;
    selfpipe_finish() ;
    /* its own process group: a timeout kills what it started too */
    setpgid(0, 0) ;
    fd_close(p[0]) ;
    if (null < 0 || fd_copy(0, null) < 0 || fd_move(1, null) < 0 || fd_move(2, p[1]) < 0) _exit(KETCH_EX_TEMP) ;
    if (setgroups(ng, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0) _exit(KETCH_EX_TEMP) ;
    if (!getuid() || !geteuid()) _exit(KETCH_EX_TEMP) ;
    /* what an exec would have closed: the other workers' sockets */
    {
      size_t j = 0 ;
      for (; j < genalloc_len(child, &children) ; j++)
        if (genalloc_s(child, &children)[j].fd >= 0) fd_close(genalloc_s(child, &children)[j].fd) ;
    }
#ifdef __linux__
    prctl(PR_SET_NAME, "local-deliver", 0, 0, 0) ;
#endif
    /* no exec: the worker stays non-dumpable after the setuid, so the
       user cannot ptrace a process that began as root */
    worker_loop() ;
  }
  fd_close(p[1]) ;
  if (ndelay_on(p[0]) < 0) { fd_close(p[0]) ; kill(pid, SIGKILL) ; return 0 ; }
  ch.pid = pid ;
  ch.fd = p[0] ;
  if (!genalloc_append(child, &children, &ch)) { fd_close(p[0]) ; kill(pid, SIGKILL) ; return 0 ; }
  return genalloc_s(child, &children) + genalloc_len(child, &children) - 1 ;
}

/* one request down a worker's socket: the message's descriptor, then the arguments. 1, or 0 */
static int worker_send (child *ch, int fd, stralloc const *args)
{
  stralloc ns = STRALLOC_ZERO ;
  int ok ;
  if (ch->fd < 0 || !ancil_send_fd(ch->fd, fd, 'm')) return 0 ;
  ok = netstring_appendb(&ns, args->s, args->len) && allwrite(ch->fd, ns.s, ns.len) == ns.len ;
  stralloc_free(&ns) ;
  return ok ;
}

static void handle (char const *s, size_t len)
{
  char const *f[LSPAWN_FIELDS_MAX] ;
  unsigned int n = lspawn_fields(s, len, f, LSPAWN_FIELDS_MAX - 1) ;
  uid_t uid ; gid_t gid ;
  char const *name ;
  size_t hdrlen ;
  unsigned int timeout ;
  stralloc args = STRALLOC_ZERO ;
  char uname[256] ;
  if (n < 6) { strerr_warnw("bad request") ; return ; }
  if (!resolve(f[1], &uid, &gid, &name)) { report(f[0], "t", "no such user, or root, for this delivery", 40) ; return ; }
  /* getpwnam's storage is reused by the lookups below: keep a copy */
  if (strlen(name) >= sizeof(uname)) { report(f[0], "t", "user name too long", 18) ; return ; }
  memcpy(uname, name, strlen(name) + 1) ;
  name = uname ;
  if (!authorize(f[1], name, f + 5, n - 5, &args))
  {
    strerr_warnw("refused a delivery request: ", f[1], " for ", f[2]) ;
    report(f[0], "t", "local-spawn refused the delivery (it does not match the configuration or tables)", 80) ;
    stralloc_free(&args) ;
    return ;
  }
  if (!queue_id_valid(f[2], strlen(f[2])) || !size0_scan(f[3], &hdrlen) || !uint0_scan(f[4], &timeout)) { report(f[0], "t", "bad request", 11) ; stralloc_free(&args) ; return ; }
  if (busy_count() >= MAXCHILD) { report(f[0], "t", "too many deliveries", 19) ; stralloc_free(&args) ; return ; }
  {
    /* what a worker takes in one request (local-spawn(8)) */
    size_t k = 0, nf = 0 ;
    for (; k < args.len ; k++) if (!args.s[k]) nf++ ;
    if (nf > LSPAWN_FIELDS_MAX || args.len > LSPAWN_REQ_MAX) { report(f[0], "t", "too many or too long delivery arguments", 39) ; stralloc_free(&args) ; return ; }
  }
  {
    char fn[QUEUE_PATH_MAX] ;
    int fd ;
    child *ch ;
    queue_path(fn, "queue", f[2]) ;
    fd = open(fn, O_RDONLY | O_CLOEXEC) ;
    if (fd < 0 || lseek(fd, hdrlen, SEEK_SET) < 0) { if (fd >= 0) fd_close(fd) ; report(f[0], "t", "cannot open the message", 23) ; stralloc_free(&args) ; return ; }
    ch = worker_idle(uid, gid, name) ;
    if (!ch) ch = worker_start(uid, gid, name) ;
    if (!ch) { fd_close(fd) ; report(f[0], "t", "cannot start a delivery worker", 30) ; stralloc_free(&args) ; return ; }
    if (!worker_send(ch, fd, &args))
    {
      /* it is gone or broken: retire it, this delivery is temporary */
      fd_close(fd) ;
      worker_dismiss(ch) ;
      report(f[0], "t", "cannot reach the delivery worker", 32) ;
      stralloc_free(&args) ;
      return ;
    }
    fd_close(fd) ;
    ch->busy = 1 ;
    ch->uses++ ;
    ch->last.len = ch->cur.len = 0 ;
    memcpy(ch->tag, f[0], strlen(f[0]) < UINT_FMT ? strlen(f[0]) + 1 : 1) ;
    if (strlen(f[0]) >= UINT_FMT) ch->tag[0] = 0 ;
    tain_now_g() ;
    tain_addsec_g(&ch->deadline, timeout + 5) ;
  }
  stralloc_free(&args) ;
}

/* a worker's NUL: its delivery returned, delivered; it is idle now, or retired */
static void worker_done (child *ch)
{
  if (!ch->busy || ch->killed) return ;
  if (ch->cur.len) { ch->last.len = 0 ; stralloc_catb(&ch->last, ch->cur.s, ch->cur.len) ; ch->cur.len = 0 ; }
  report(ch->tag, "0", ch->last.s ? ch->last.s : "", ch->last.len) ;
  ch->busy = 0 ;
  ch->tag[0] = 0 ;
  ch->last.len = 0 ;
  tain_now_g() ;
  tain_addsec_g(&ch->deadline, WORKER_IDLE) ;
  if (ch->uses >= WORKER_USES) worker_dismiss(ch) ;
}

static void child_read (child *ch)
{
  char buf[4096] ;
  for (;;)
  {
    ssize_t r = fd_read(ch->fd, buf, sizeof(buf)) ;
    size_t i = 0 ;
    if (r <= 0)
    {
      if (!r || (errno != EAGAIN && errno != EWOULDBLOCK)) { fd_close(ch->fd) ; ch->fd = -1 ; }
      return ;
    }
    /* keep its last line: the scheduler logs it with the delivery's result */
    for (; i < (size_t)r ; i++)
    {
      if (buf[i] == '\n') { if (ch->cur.len) { ch->last.len = 0 ; stralloc_catb(&ch->last, ch->cur.s, ch->cur.len) ; ch->cur.len = 0 ; } }
      else if (!buf[i]) worker_done(ch) ;
      else if (ch->cur.len < 1024) stralloc_catb(&ch->cur, buf + i, 1) ;
    }
  }
}

static void reap (void)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = waitpid(-1, &wstat, WNOHANG) ;
    size_t n = genalloc_len(child, &children), i = 0 ;
    if (pid <= 0) return ;
    for (; i < n ; i++)
    {
      child *ch = genalloc_s(child, &children) + i ;
      char code[INT_FMT] ;
      if (ch->pid != pid) continue ;
      if (ch->fd >= 0) { child_read(ch) ; if (ch->fd >= 0) fd_close(ch->fd) ; }
      if (ch->cur.len) { ch->last.len = 0 ; stralloc_catb(&ch->last, ch->cur.s, ch->cur.len) ; }
      /* a worker that exits busy: its delivery failed with this code (or timed out, or crashed); idle, it was retired */
      if (ch->busy)
      {
        if (ch->killed) report(ch->tag, "t", "local delivery timed out", 24) ;
        else if (WIFSIGNALED(wstat)) report(ch->tag, "t", "local-deliver crashed", 21) ;
        else
        {
          /* a 0 exit without its NUL mark (it never should): not known delivered */
          int e = WEXITSTATUS(wstat) ;
          code[int_fmt(code, e ? e : KETCH_EX_TEMP)] = 0 ;
          report(ch->tag, code, ch->last.s ? ch->last.s : "", ch->last.len) ;
        }
      }
      stralloc_free(&ch->last) ; stralloc_free(&ch->cur) ;
      *ch = genalloc_s(child, &children)[n-1] ;
      genalloc_setlen(child, &children, n - 1) ;
      break ;
    }
  }
}

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO, in = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  int sfd, eof = 0 ;
  PROG = "local-spawn" ;
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
  }
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  if (chdir(c.sa.s + c.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", c.sa.s + c.spool) ;
  sfd = selfpipe_init() ;
  if (sfd < 0) strerr_diefusys(KETCH_EX_TEMP, "selfpipe_init") ;
  if (!selfpipe_trap(SIGCHLD) || !sig_altignore(SIGPIPE) || !sig_altignore(SIGHUP) || !sig_altignore(SIGALRM)) strerr_diefusys(KETCH_EX_TEMP, "trap signals") ;
  /* SIGTERM or a terminal's SIGINT to the process group: our children
     finish, the scheduler records them, and we go when it closes our stdin */
  if (!sig_altignore(SIGTERM) || !sig_altignore(SIGINT)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGTERM and SIGINT") ;
  if (ndelay_on(0) < 0) strerr_diefusys(KETCH_EX_TEMP, "set fd 0 nonblocking") ;
  tain_now_set_stopwatch_g() ;
  for (;;)
  {
    size_t n = genalloc_len(child, &children), i, nx = 2 ;
    iopause_fd x[2 + n] ;
    tain deadline = TAIN_INFINITE ;
    int r ;
    if (eof)
    {
      /* the scheduler is gone: idle workers are dismissed, busy ones finish */
      for (i = 0 ; i < n ; i++) if (!genalloc_s(child, &children)[i].busy) worker_dismiss(genalloc_s(child, &children) + i) ;
      if (!n) return 0 ;
    }
    x[0].fd = sfd ; x[0].events = IOPAUSE_READ ;
    x[1].fd = 0 ; x[1].events = eof ? 0 : IOPAUSE_READ ;
    for (i = 0 ; i < n ; i++)
    {
      child *ch = genalloc_s(child, &children) + i ;
      if (ch->fd >= 0) { x[nx].fd = ch->fd ; x[nx].events = IOPAUSE_READ ; nx++ ; }
      if (tain_less(&ch->deadline, &deadline)) deadline = ch->deadline ;
    }
    r = iopause_g(x, nx, &deadline) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    for (i = 0 ; i < n ; i++)
    {
      child *ch = genalloc_s(child, &children) + i ;
      if (ch->killed || tain_less(&STAMP, &ch->deadline)) continue ;
      if (ch->busy) { ch->killed = 1 ; kill(-ch->pid, SIGKILL) ; kill(ch->pid, SIGKILL) ; }
      else worker_dismiss(ch) ;   /* idle too long */
      tain_addsec_g(&ch->deadline, 3600) ;
    }
    if (!r) continue ;
    for (i = 2 ; i < nx ; i++)
      if (x[i].revents)
      {
        size_t k = 0 ;
        for (; k < genalloc_len(child, &children) ; k++)
          if (genalloc_s(child, &children)[k].fd == x[i].fd) { child_read(genalloc_s(child, &children) + k) ; break ; }
      }
    if (x[1].revents)
    {
      char buf[8192] ;
      ssize_t rr = fd_read(0, buf, sizeof(buf)) ;
      if (rr < 0 && errno != EAGAIN && errno != EWOULDBLOCK) strerr_diefusys(KETCH_EX_TEMP, "read requests") ;
      if (!rr) eof = 1 ;
      if (rr > 0 && !stralloc_catb(&in, buf, rr)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
      for (;;)
      {
        size_t start, len, used ;
        int rq = lspawn_request_next(in.s, in.len, &start, &len, &used) ;
        if (rq < 0) strerr_dief(KETCH_EX_BUG, "garbled request stream") ;
        if (!rq) break ;
        handle(in.s + start, len) ;
        memmove(in.s, in.s + used, in.len - used) ;
        in.len -= used ;
      }
    }
    if (x[0].revents & IOPAUSE_READ)
    {
      int sig ;
      while ((sig = selfpipe_read()) > 0) if (sig == SIGCHLD) reap() ;
      if (sig < 0) strerr_diefusys(KETCH_EX_TEMP, "selfpipe_read") ;
    }
  }
}
