/* ISC license: see LICENSE. */

/*
 * scheduler: the delivery daemon. Notices committed messages (trigger
 * FIFO, periodic rescan), expands and routes their recipients
 * (lib/lookup), runs local-deliver and remote-send within the
 * concurrency limits, records every result in the state file
 * (qstate_write: atomic), retries with quadratic backoff, warns, expires
 * and bounces (RFC 3464, through enqueue), and removes finished messages.
 * One iopause loop; signals through the selfpipe; absolute deadlines.
 * See scheduler(8).
 *
 * The file reads in that order: jobs, the messages loaded (lib/job:
 * loading, alias expansion), then their deliveries, local (lib/ldlv,
 * lib/cmd, or a request to local-spawn: lib/lsclient) and remote
 * (lib/rstream), then the results, bounces (lib/bounce), a job's step
 * (expire, dispatch, notify, settle), queue-ctl requests (lib/ctl), the
 * spool scan (lib/qscan), and the event loop's parts, then main.
 */

/* initgroups and setgroups are not POSIX */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <pwd.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "conf.h"
#include "envelope.h"
#include "queue.h"
#include "qremove.h"
#include "qstate.h"
#include "lookup.h"
#include "ctl.h"
#include "expand.h"
#include "decide.h"
#include "log.h"
#include "lspawn.h"
#include "lsclient.h"
#include "lines.h"
#include "outcome.h"
#include "report.h"
#include "bounce.h"
#include "enqclient.h"
#include "schedq.h"
#include "job.h"
#include "cmd.h"
#include "ldlv.h"
#include "rstream.h"
#include "qscan.h"
#include "stats.h"

#define USAGE "scheduler [ -C conf ] [ -d notif-fd ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define S(s) (s), (sizeof(s) - 1)   /* a string literal and its length */

#define MAX_ACTIVE 256       /* messages loaded in memory at once */
#define FRESH_RESERVE 32     /* of which retries may never take the last few: new mail first */
#define STOP_GRACE 30        /* seconds SIGTERM waits for deliveries in flight */
#define RETRY_BATCH 64       /* due retries loaded per loop iteration */
#define TRIGGER_MAX 4096     /* a trigger line longer is garbage (lib/lines) */

static conf c ;
static char const *conffile ;
static stralloc conffn = STRALLOC_ZERO ;  /* the configuration file, absolute */
static schedq sq = SCHEDQ_ZERO ;
static qremove qr = QREMOVE_ZERO ;   /* removals waiting for their bucket's fsync */
static genalloc jobs = GENALLOC_ZERO ;   /* job * */
static genalloc dlvs = GENALLOC_ZERO ;   /* ldlv *: local deliveries */
static genalloc streams = GENALLOC_ZERO ;   /* rstream *: remote-sends running */
static genalloc pend = GENALLOC_ZERO ;   /* rstream *: remote batches collected by this pass, started by pend_flush */
#define nlocal genalloc_len(ldlv *, &dlvs)
#define nremote genalloc_len(rstream *, &streams)
static int stopping = 0 ;
static tain stopdeadline ;
static tain nextrescan ;
static int isroot = 0 ;
static int ctl_pending = 0 ;
static int trigfd = -1 ;
static stralloc trigbuf = STRALLOC_ZERO ;   /* a partial line of the trigger */
static stralloc force_domains = STRALLOC_ZERO ;  /* "retry domain": NUL-terminated domains */
static lsclient ls = LSCLIENT_ZERO ;   /* local-spawn, when started as root */
static int notif = -1 ;   /* the readiness fd, told once the start-up scan is over */
static stats_rec *stats = 0 ;   /* SPOOL/stats/scheduler (lib/stats), or 0: not counted */
static tain stats_oldest_next ;   /* when the oldest message is looked for again */
#define STATS_OLDEST_EVERY 10   /* seconds: a pass over the index, 2 ms of CPU for a million messages */

static uint64_t wallnow (void)
{
  return (uint64_t)time(0) ;
}

/*
 * Logging: one line per event, the queue id first, untrusted bytes
 * quoted. The lines of one pass of the event loop are written together
 * before it waits (logflush): four lines per message, one write, never
 * mixed with a child's line (lib/log, log_batch).
 */
static log_batch logw = LOG_BATCH_ZERO(2) ;
#define logflush() log_batch_flush(&logw)
#define LOG(id, ...) log_batch_put(&logw, id, (char const *const []){ __VA_ARGS__, 0 })

/* jobs: messages loaded in memory (lib/job) */

static job *job_find (uint32_t ent)
{
  size_t n = genalloc_len(job *, &jobs), i = 0 ;
  job **js = genalloc_s(job *, &jobs) ;
  for (; i < n ; i++) if (js[i]->ent == ent) return js[i] ;
  return 0 ;
}

static void job_drop (job *j)
{
  size_t n = genalloc_len(job *, &jobs), i = 0 ;
  job **js = genalloc_s(job *, &jobs) ;
  for (; i < n ; i++) if (js[i] == j) { js[i] = js[n-1] ; genalloc_setlen(job *, &jobs, n - 1) ; break ; }
  job_free(j) ;
}

/*
 * The entry goes now; its bucket's fsync, then its state file, within
 * QREMOVE_DELAY (removals_commit). A message that had no state file when
 * it was read and was never written (j->q.stored) has none: the scheduler
 * is its only writer, and holds the spool's lock: none is unlinked.
 */
static void remove_message (job *j, char const *why)
{
  tain_now_g() ;
  if (!qremove_entry(&qr, j->id, j->q.stored, &STAMP)) { LOG(j->id, "remove result=error error=", log_quote(strerror(errno))) ; return ; }
  LOG(j->id, "removed reason=", why) ;
  schedq_delete(&sq, j->ent) ;
  job_drop(j) ;
}

static void log_failed (job *j, size_t i, char const *text)
{
  LOG(j->id, "delivery rcpt=", log_quote(qstate_str(&j->q, qstate_get(&j->q, i)->addr)), "result=perm text=", log_quote(text)) ;
}

static void fail_rcpt (job *j, size_t i, char const *text)
{
  job_fail(j, i, text) ;
  stats_add(stats, STATS_BOUNCED_LOCAL, 1) ;
  log_failed(j, i, text) ;
}

/* what alias expansion did (lib/job) */
static void expand_log (job *j, job_event const *ev, void *data)
{
  switch (ev->kind)
  {
    case JOB_EV_RCPT : LOG(j->id, "expand alias=", log_quote(ev->alias), "rcpt=", log_quote(ev->text)) ; break ;
    case JOB_EV_FAILED : log_failed(j, ev->rcpt, ev->text) ; break ;
    case JOB_EV_UNREADABLE :
      LOG(j->id, "expand alias=", log_quote(ev->alias), "result=error include=", log_quote(ev->text), "error=", log_quote(strerror(ev->err))) ;
      break ;
    case JOB_EV_TOODEEP : LOG(j->id, "expand alias=", log_quote(ev->alias), "result=too-deep") ; break ;
    case JOB_EV_TOOMANY : LOG(j->id, "expand alias=", log_quote(ev->alias), "result=too-many") ; break ;
    default : LOG(j->id, "expand alias=", log_quote(ev->alias), "result=skipped entry=", log_quote(ev->text)) ; break ;
  }
}

static void expand (job *j)
{
  job_expand(j, &c, &expand_log, 0) ;
}

static job *job_load (uint32_t ent)
{
  schedq_ent *se = schedq_ent_at(&sq, ent) ;
  job *j = job_new(se->id, ent) ;
  unsigned int r ;
  if (!j) return 0 ;
  j->force = !!(se->where & SCHEDQ_F_FORCE) ;
  j->forcedom = !!(se->where & SCHEDQ_F_FORCEDOM) ;
  j->nostate = !!(se->where & SCHEDQ_F_NOSTATE) ;
  se->where &= ~SCHEDQ_F_MASK ;
  r = job_read(j) ;
  if (r == JOB_READ_OK && !genalloc_append(job *, &jobs, &j)) r = JOB_READ_NOMEM ;
  switch (r)
  {
    case JOB_READ_OK : break ;
    case JOB_READ_GONE :
      /* removed by hand, or a stale hint: forgotten */
      schedq_detach(&sq, ent) ;
      schedq_delete(&sq, ent) ;
      job_free(j) ;
      return 0 ;
    case JOB_READ_NOMEM :
      /* never left at the top of the heap: that would spin */
      job_free(j) ;
      schedq_push_heap(&sq, ent, (uint32_t)(wallnow() + 60)) ;
      return 0 ;
    default :
      LOG(j->id, "load result=error error=", log_quote(strerror(errno))) ;
      job_free(j) ;
      schedq_push_heap(&sq, ent, (uint32_t)(wallnow() + (r == JOB_READ_BAD ? 3600 : 60))) ;
      return 0 ;
  }
  schedq_detach(&sq, ent) ;
  if (job_fresh(j)) LOG(j->id, "pickup from=", log_quote(envelope_sender(&j->e)), "rcpts=", log_u64(qstate_n(&j->q))) ;
  expand(j) ;
  return j ;
}

/* deliveries */

/* a remote batch that will not run: its recipients are free again, its messages look again next time */
static void stream_release (rstream *s)
{
  size_t k = 0 ;
  for (; k < rstream_njobs(s) ; k++)
  {
    rstream_job *rj = rstream_job_at(s, k) ;
    job *j = rj->owner ;
    job_hold(j, genalloc_s(unsigned int, &rj->rcpts), genalloc_len(unsigned int, &rj->rcpts), 0) ;
    j->blocked = 1 ;
  }
}

static void start_dlv (ldlv *d, pid_t pid, int fd)
{
  d->pid = pid ;
  d->fd = fd ;
  tain_addsec_g(&d->deadline, c.timeout_delivery) ;
  if (!genalloc_append(ldlv *, &dlvs, &d))
  {
    /* cannot track it: kill it (not local-spawn's: pid 0), the recipient stays pending */
    if (pid) { kill(pid, SIGKILL) ; waitpid(pid, 0, 0) ; }
    ldlv_free(d) ;
    return ;
  }
  job_hold(d->j, &d->rcpt, 1, 1) ;
}

static char const *prog (stralloc *sa, char const *name)
{
  return conf_prog(&c, name, sa) ? sa->s : 0 ;
}

/*
 * One request to local-spawn: the entry, opened here as the queue user
 * and positioned at the message, goes with the facts (lib/lspawn); so
 * root never opens a path in the spool, and decides the rest itself.
 */
static int spawn_request (ldlv *d, job *j, char const *addr, char const *orig)
{
  int fd = job_entry(j, j->e.hdrlen) ;
  if (fd < 0) return 0 ;
  d->tag = lsclient_request(&ls, fd, j->id, c.timeout_delivery, envelope_sender(&j->e), addr, orig) ;
  fd_close(fd) ;
  return !!d->tag ;
}

/*
 * One local delivery for recipient i (l: its lookup, unused for an
 * alias's file or program). Returns 1 started (or finished right away
 * with a failure), 0 when a temporary error left it pending.
 */
static int start_local (job *j, size_t i, lookup *l)
{
  stralloc sa = STRALLOC_ZERO, p = STRALLOC_ZERO ;
  decide x = DECIDE_ZERO ;
  genalloc ga = GENALLOC_ZERO ;
  char const *const *argv = 0 ;
  char const *addr = qstate_str(&j->q, qstate_get(&j->q, i)->addr) ;
  char const *orig = qstate_get(&j->q, i)->orig ? qstate_str(&j->q, qstate_get(&j->q, i)->orig) : 0 ;
  int fd, rfd, ok = 0 ;
  pid_t pid ;
  ldlv *d ;
  if (ls.w < 0)
  {
    /* not root: the delivery is decided here (lib/decide) and runs as ourselves */
    if (!decide_local(&c, l, envelope_sender(&j->e), addr, orig, c.timeout_delivery, 0, &x)) goto end ;
    if (x.fail) { fail_rcpt(j, i, x.fail) ; ok = 1 ; goto end ; }
    if (!prog(&p, "local-deliver") || !cmd_add(&sa, p.s) || !cmd_add(&sa, "-C") || !cmd_add(&sa, conffn.s) || !stralloc_catb(&sa, x.args.s, x.args.len) || !cmd_argv(&sa, &ga, &argv)) goto end ;
  }
  d = ldlv_new(j, i) ;
  if (!d) goto end ;
  if (ls.w >= 0)
  {
    /* root: local-spawn decides who runs what from the facts alone, and runs it (local-spawn(8)) */
    if (!spawn_request(d, j, addr, orig)) { ldlv_free(d) ; goto end ; }
    LOG(j->id, "attempt rcpt=", log_quote(addr), "via=local-spawn tag=", log_u64(d->tag)) ;
    start_dlv(d, 0, -1) ;
    ok = 1 ;
    goto end ;
  }
  fd = queue_open(j->id, j->e.hdrlen) ;
  if (fd < 0) { ldlv_free(d) ; goto end ; }
  pid = cmd_spawn(argv, fd, 2, &rfd) ;
  fd_close(fd) ;
  if (!pid) { ldlv_free(d) ; goto end ; }
  LOG(j->id, "attempt rcpt=", log_quote(addr), "via=local pid=", log_u64((uint64_t)pid)) ;
  start_dlv(d, pid, rfd) ;
  ok = 1 ;
 end:
  if (!ok) LOG(j->id, "attempt rcpt=", log_quote(addr), "via=local result=error error=", log_quote(strerror(errno))) ;
  stralloc_free(&sa) ; stralloc_free(&p) ;
  decide_free(&x) ;
  genalloc_free(char const *, &ga) ;
  return ok ;
}

static void stream_log (rstream const *s, size_t k)
{
  rstream_job const *rj = rstream_job_at(s, k) ;
  LOG(((job const *)rj->owner)->id, "attempt domain=", log_quote(s->domain), "rcpts=", log_u64(genalloc_len(unsigned int, &rj->rcpts)),
    "via=remote pid=", log_u64((uint64_t)s->pid), "job=", log_u64(k + 1)) ;
}

/* j's recipients idx join s, running or not started yet. 1, or 0 (no memory: nothing changed) */
static int stream_join (rstream *s, job *j, genalloc *idx)
{
  static stralloc sa = STRALLOC_ZERO ;
  unsigned int const *v = genalloc_s(unsigned int, idx) ;
  size_t n = genalloc_len(unsigned int, idx) ;
  sa.len = 0 ;
  if (!job_batch_put(&sa, j, v, n)) return 0 ;
  /* an idle stream's deadline starts again from now */
  if (s->state == RSTREAM_IDLE) tain_now_g() ;
  if (!rstream_add(s, j, v, n, sa.s, sa.len, &STAMP, c.timeout_delivery)) return 0 ;
  job_hold(j, v, n, 1) ;
  if (s->state != RSTREAM_STARTING) stream_log(s, rstream_njobs(s) - 1) ;
  return 1 ;
}

/*
 * One remote-send -b for the jobs of s (its domain): they go down its
 * fd 0 and it delivers them over one SMTP connection. It is a stream
 * (lib/rstream): messages for the domain that fall due while it runs
 * join it, up to messages-per-connection. 1 started (s is in streams),
 * 0 not (s still the caller's).
 */
static int start_remote (rstream *s)
{
  stralloc p = STRALLOC_ZERO ;
  size_t np = rstream_njobs(s), k ;
  int fd = -1, wfd = -1, rfd, ok = 0 ;
  pid_t pid = 0 ;
  if (!prog(&p, "remote-send")) goto end ;
  /* room to track it first: a started remote-send is never lost */
  if (!genalloc_readyplus(rstream *, &streams, 1)) goto end ;
  {
    int w[2] ;
    if (pipe(w) < 0) goto end ;
    fd = w[0] ; wfd = w[1] ;
    if (coe(wfd) < 0 || ndelay_on(wfd) < 0) goto end ;
  }
  {
    char const *argv[6] = { p.s, "-C", conffn.s, "-b", s->domain, 0 } ;
    pid = cmd_spawn(argv, fd, 1, &rfd) ;
  }
  if (!pid) goto end ;
  ok = 1 ;
 end:
  if (fd >= 0) fd_close(fd) ;
  if (!ok)
  {
    if (wfd >= 0) fd_close(wfd) ;
    for (k = 0 ; k < np ; k++) LOG(((job const *)rstream_job_at(s, k)->owner)->id, "attempt domain=", log_quote(s->domain), "via=remote result=error error=", log_quote(strerror(errno))) ;
  }
  stralloc_free(&p) ;
  if (!ok) return 0 ;
  rstream_start(s, pid, rfd, wfd, !stopping, &STAMP, c.timeout_delivery) ;
  genalloc_append(rstream *, &streams, &s) ;
  for (k = 0 ; k < np ; k++) stream_log(s, k) ;
  return 1 ;
}

/*
 * Remote deliveries are collected during a scheduling pass, per domain,
 * and started after it (pend_flush): the recipients idx of j join this
 * pass's batch for domain, or a running stream's, or start a batch if
 * the limits allow, counting the batches not started yet. Only what is
 * due now is batched: a message alone for its domain goes at once,
 * alone. 1, or 0 (blocked, no memory).
 */
static int pend_add (job *j, char const *domain, genalloc *idx)
{
  rstream *const *v = genalloc_s(rstream *, &pend) ;
  size_t n = genalloc_len(rstream *, &pend), i = 0 ;
  unsigned int same = 0, running = rstream_count(genalloc_s(rstream *, &streams), nremote, domain) ;
  rstream *s = 0 ;
  for (; i < n ; i++)
  {
    if (strcasecmp(v[i]->domain, domain)) continue ;
    same++ ;
    if (rstream_njobs(v[i]) < c.messages_per_connection) s = v[i] ;
  }
  if (!s && !same && !stopping)
  {
    /* a running remote-send for the domain takes it (the stream's connection is open already) */
    rstream *r = rstream_find(genalloc_s(rstream *, &streams), nremote, domain, nremote + n >= c.concurrency_remote || running >= c.concurrency_destination) ;
    if (r) return stream_join(r, j, idx) ;
  }
  if (!s)
  {
    if (nremote + n >= c.concurrency_remote || running + same >= c.concurrency_destination) return 0 ;
    s = rstream_new(domain, c.messages_per_connection) ;
    if (!s) return 0 ;
    if (!genalloc_append(rstream *, &pend, &s)) { rstream_free(s) ; return 0 ; }
  }
  return stream_join(s, j, idx) ;
}

/* the end of a pass: one remote-send per batch collected */
static void pend_flush (void)
{
  size_t n = genalloc_len(rstream *, &pend), i = 0 ;
  for (; i < n ; i++)
  {
    rstream *s = genalloc_s(rstream *, &pend)[i] ;
    if (rstream_njobs(s) && !stopping && start_remote(s)) continue ;
    stream_release(s) ;
    rstream_free(s) ;
  }
  genalloc_setlen(rstream *, &pend, 0) ;
}

/* the counters of one result (lib/stats): a table by result and kind; a remote failure counts for its domain too */
static void count_result (enum ketch_result kind, int remote, char const *addr)
{
  static enum stats_value const which[3][2] =
  {
    [KETCH_RESULT_OK] = { STATS_DELIVERED_LOCAL, STATS_DELIVERED_REMOTE },
    [KETCH_RESULT_TEMP] = { STATS_DEFERRED_LOCAL, STATS_DEFERRED_REMOTE },
    [KETCH_RESULT_PERM] = { STATS_BOUNCED_LOCAL, STATS_BOUNCED_REMOTE },
  } ;
  char const *at ;
  if (!stats) return ;
  stats_add(stats, which[kind][!!remote], 1) ;
  if (!remote || kind == KETCH_RESULT_OK) return ;
  at = strrchr(addr, '@') ;
  if (at) stats_dest_fail(stats, at + 1, strlen(at + 1)) ;
  else stats_add(stats, STATS_DEST_OTHER, 1) ;
}

static void record (job *j, unsigned int i, enum ketch_result kind, char const *text, size_t len, int remote)
{
  qstate_rcpt const *r ;
  stralloc t = STRALLOC_ZERO ;
  outcome_record(&j->q, i, kind, text, len, wallnow(), remote ? c.retry_remote : c.retry_local, c.retry_max) ;
  r = qstate_get(&j->q, i) ;
  count_result(kind, remote, qstate_str(&j->q, r->addr)) ;
  j->dirty = 1 ;
  if (stralloc_catb(&t, text, len) && stralloc_0(&t))
    LOG(j->id, "delivery rcpt=", log_quote(qstate_str(&j->q, r->addr)), "result=", report_kind_name(kind), "attempt=", log_u64(r->attempts),
      kind == KETCH_RESULT_TEMP ? "next=" : "", kind == KETCH_RESULT_TEMP ? log_u64(r->next) : "", "text=", log_quote(t.s)) ;
  stralloc_free(&t) ;
}

/* a delivery's results are recorded: its recipients are free, the state written */
static void settle (job *j, unsigned int const *rcpts, size_t n)
{
  job_hold(j, rcpts, n, 0) ;
  /*
   * A message whose recipients are all done is removed by job_step next
   * (remove_message: unlink, then its bucket's fsync); writing its final
   * state first would cost two more fsyncs and a rename for nothing: a
   * crash before the removal is durable redelivers it either way, since
   * the delivery came first.
   */
  if (j->dirty && !j->inflight && job_done(j)) return ;
  if (j->dirty && qstate_write(&j->q, j->id)) j->dirty = 0 ;
  else if (j->dirty) LOG(j->id, "state result=error error=", log_quote(strerror(errno))) ;
}

/* the results in a remote-send's report so far, recorded as they come; a job with all its lines is settled */
static void stream_results (rstream *s)
{
  rstream_result r ;
  while (rstream_next(s, &STAMP, &r))
  {
    job *j = r.job->owner ;
    record(j, r.rcpt, r.kind, r.text, r.len, 1) ;
    if (r.last) settle(j, genalloc_s(unsigned int, &r.job->rcpts), genalloc_len(unsigned int, &r.job->rcpts)) ;
  }
}

/* local-deliver is over, or local-spawn reported (the text in d->out): the exit code decides; the last stderr line is the text */
static void finish_dlv (ldlv *d, int wstat)
{
  char const *text ;
  size_t len ;
  enum ketch_result kind = ldlv_result(d, wstat, &text, &len) ;
  record(d->j, d->rcpt, kind, text, len, 0) ;
  settle(d->j, &d->rcpt, 1) ;
}

/*
 * bounces and delay warnings, handed to the queue with the null sender
 * (lib/enqclient: enqueue-listen when it runs, else enqueue). Blocking,
 * as the queue user, once per report: the id is awaited for at most
 * timeout command.
 */
static int inject (char const *id, char const *to, stralloc *msg, stralloc *newid)
{
  enqclient h = ENQCLIENT_ZERO ;
  stralloc wire = STRALLOC_ZERO, diag = STRALLOC_ZERO ;
  tain d ;
  /* to, with its NUL, is the list of recipients; after "--" in enqueue's argv: a sender may begin with '-' */
  enqclient_req r = { .conffile = conffn.s, .sender = "", .auth = 0, .rcpts = to, .rlen = strlen(to) + 1, .deadline = &d } ;
  int e ;
  tain_now_g() ;
  tain_addsec_g(&d, c.timeout_command) ;
  e = enqclient_submit(&h, &c, &r, &diag) ;
  if (e < 0) return 0 ;
  if (!e)
  {
    /* a write cut short is enqueue refusing the message: its code says why */
    if (!enqclient_stuff(&wire, msg->s, msg->len) || allwrite(h.fd, wire.s, wire.len) < wire.len) enqclient_abort(&h) ;
    e = enqclient_finish(&h, &diag) ;
  }
  logflush() ;
  if (diag.len) allwrite(2, diag.s, diag.len) ;
  stralloc_free(&wire) ; stralloc_free(&diag) ;
  if (e) { LOG(id, "inject result=error to=", log_quote(to), "exit=", log_u64(e)) ; return 0 ; }
  /* queued: a copy of the id that fails leaves it out of the log line, never makes a second bounce */
  if (!stralloc_cats(newid, h.id) || !stralloc_0(newid)) newid->len = 0 ;
  return 1 ;
}

/*
 * Tell the sender about the recipients in state `which` (FAILED: a
 * bounce; DEFERRED: a delay warning). Returns 1 when done (sent, or none
 * owed), 0 to retry.
 */
static int notify_sender (job *j, unsigned int which)
{
  stralloc msg = STRALLOC_ZERO, to = STRALLOC_ZERO, newid = STRALLOC_ZERO ;
  unsigned int n ;
  int ok = 0 ;
  switch (bounce_make(&msg, &to, &n, j->id, &j->e, &j->q, which, c.sa.s + c.hostname, wallnow()))
  {
    case BOUNCE_TO_SEND : break ;
    case BOUNCE_TO_NONE : ok = 1 ; goto end ;
    case BOUNCE_TO_DROP : LOG(j->id, "bounce result=dropped reason=\"a bounce to postmaster failed\"") ; ok = 1 ; goto end ;
    default : goto end ;
  }
  if (!inject(j->id, to.s, &msg, &newid)) goto end ;
  LOG(j->id, which == QSTATE_FAILED ? "bounce" : "delay-warning", "to=", log_quote(to.s), "rcpts=", log_u64(n), "id=", log_quote(newid.s)) ;
  ok = 1 ;
 end:
  stralloc_free(&msg) ; stralloc_free(&to) ; stralloc_free(&newid) ;
  return ok ;
}

/* the life of an active message: expire, dispatch, settle */

static void dispatch (job *j)
{
  size_t n = qstate_n(&j->q), i = 0 ;
  uint64_t now = wallnow() ;
  lookup l = LOOKUP_ZERO, *lp ;
  genalloc idx = GENALLOC_ZERO ;
  stralloc done = STRALLOC_ZERO ;   /* remote recipients grouped already */
  j->blocked = 0 ;
  if (!stralloc_ready(&done, n)) return ;
  memset(done.s, 0, n) ;
  for (; i < n ; i++)
  {
    qstate_rcpt *r = qstate_get(&j->q, i) ;
    char const *a = qstate_str(&j->q, r->addr) ;
    if (j->busy.s[i] || done.s[i]) continue ;
    if (!outcome_open(r->status)) continue ;
    if (!job_due(j, r, now, &force_domains)) continue ;
    if (a[0] == '/' || a[0] == '|')
    {
      /* an alias's file or program: local, no lookup */
      if (nlocal >= c.concurrency_local) { j->blocked = 1 ; continue ; }
      if (!start_local(j, i, &l)) j->blocked = 1 ;
      continue ;
    }
    if (nlocal >= c.concurrency_local)
    {
      /*
       * The local slots are full and this recipient's domain is local or
       * virtual: it waits for a slot without a lookup (getpwnam, cdb) at
       * every step of the job.
       */
      char const *at = strrchr(a, '@') ;
      if (at && (conf_is_local_domain(&c, at + 1) || conf_vdomain_find(&c, at + 1))) { j->blocked = 1 ; continue ; }
    }
    lp = job_looked(j, i) ;
    if (!lp)
    {
      if (!lookup_address(&l, &c, a))
      {
        record(j, i, KETCH_RESULT_TEMP, S("temporary lookup failure"), 0) ;
        continue ;
      }
      if (r->orig) lookup_aliased(&l) ;
      lp = &l ;
    }
    if (lp->kind == LOOKUP_UNKNOWN) { fail_rcpt(j, i, EXPAND_T_UNKNOWN) ; continue ; }
    if (lp->kind == LOOKUP_ALIAS)
    {
      /* an alias seen after its first attempt (the table changed): expand now */
      outcome_apply(&j->q, i, OUTCOME_EV_REOPEN) ;
      expand(j) ;
      n = qstate_n(&j->q) ;
      if (!stralloc_ready(&done, n)) break ;
      memset(done.s + i, 0, n - i) ;
      continue ;
    }
    if (lp->kind == LOOKUP_REMOTE)
    {
      char const *dom = strrchr(a, '@') + 1 ;
      size_t k = i ;
      genalloc_setlen(unsigned int, &idx, 0) ;
      for (; k < n ; k++)
      {
        qstate_rcpt *rk = qstate_get(&j->q, k) ;
        char const *ak = qstate_str(&j->q, rk->addr), *at = strrchr(ak, '@') ;
        unsigned int ui = k ;
        if (j->busy.s[k] || done.s[k] || !at || strcasecmp(at + 1, dom)) continue ;
        if (rk->status != QSTATE_PENDING && rk->status != QSTATE_DEFERRED) continue ;
        if (!job_due(j, rk, now, &force_domains)) continue ;
        done.s[k] = 1 ;
        genalloc_append(unsigned int, &idx, &ui) ;
      }
      {
        stralloc d = STRALLOC_ZERO ;
        if (!stralloc_cats(&d, dom) || !stralloc_0(&d) || !pend_add(j, d.s, &idx)) j->blocked = 1 ;
        stralloc_free(&d) ;
      }
      continue ;
    }
    if (nlocal >= c.concurrency_local) { j->blocked = 1 ; continue ; }
    if (!start_local(j, i, lp)) j->blocked = 1 ;
  }
  if (!j->blocked) j->force = j->forcedom = 0 ;
  lookup_free(&l) ;
  genalloc_free(unsigned int, &idx) ;
  stralloc_free(&done) ;
}

static void job_step (job *j)
{
  size_t n, i ;
  uint64_t now = wallnow(), arrived = queue_id_time(j->id), next ;
  /* an id from a clock that ran ahead must not look ancient */
  uint64_t age = now > arrived ? now - arrived : 0 ;
  int alldone ;
  if (j->remove)
  {
    job_entry_close(j) ;
    if (j->inflight) return ;
    remove_message(j, "queue-ctl") ;
    return ;
  }
  if (age >= c.expire)
  {
    /* expiry: everything not yet done fails now, with its last error */
    n = qstate_n(&j->q) ;
    for (i = 0 ; i < n ; i++)
    {
      qstate_rcpt *r = qstate_get(&j->q, i) ;
      if (j->busy.s[i] || !outcome_open(r->status)) continue ;
      LOG(j->id, "expire rcpt=", log_quote(qstate_str(&j->q, r->addr)), "age=", log_u64(age)) ;
      if (outcome_expire(&j->q, i)) { j->dirty = 1 ; stats_add(stats, STATS_EXPIRED, 1) ; }
    }
  }
  if (!(j->q.flags & QSTATE_F_HOLD) && !stopping) dispatch(j) ;
  job_looked_drop(j) ;
  /*
   * A job a limit blocked stays in memory for the next free slot, which
   * comes soon under load (a burst of new mail fills the local slots):
   * it keeps the entry it was read with, open at most while it is
   * blocked (MAX_ACTIVE descriptors at most), rather than opening it
   * again by its path then (an open and a close per message).
   */
  if (!j->blocked || stopping) job_entry_close(j) ;
  if (j->inflight) return ;
  n = qstate_n(&j->q) ;
  if (outcome_find(&j->q, QSTATE_FAILED) < n && j->bounce_next <= now && !stopping)
  {
    int done = notify_sender(j, QSTATE_FAILED) ;
    if (!done && age >= 2 * c.expire)
    {
      /* a bounce that cannot be injected has had a lifetime of its own: given up, not retried for ever */
      LOG(j->id, "bounce result=expired age=", log_u64(age)) ;
      done = 1 ;
    }
    if (done)
    {
      for (i = 0 ; i < n ; i++) outcome_apply(&j->q, i, OUTCOME_EV_BOUNCED) ;
      j->dirty = 1 ;
    }
    else j->bounce_next = now + c.retry_local ;
  }
  if (!(j->q.flags & QSTATE_F_WARNED) && age >= c.warn && !stopping)
  {
    if (outcome_find(&j->q, QSTATE_DEFERRED) < n && notify_sender(j, QSTATE_DEFERRED)) { j->q.flags |= QSTATE_F_WARNED ; j->dirty = 1 ; }
  }
  next = outcome_next(&j->q, j->bounce_next, &alldone) ;
  if (alldone) { remove_message(j, "done") ; return ; }
  if (j->dirty)
  {
    if (qstate_write(&j->q, j->id)) j->dirty = 0 ;
    else { LOG(j->id, "state result=error error=", log_quote(strerror(errno))) ; return ; }
  }
  if (j->q.flags & QSTATE_F_HOLD)
  {
    /* a quarantine's reason comes from a filter: quoted */
    if (j->e.flags & ENVELOPE_F_HOLD) LOG(j->id, "held quarantine=", log_quote(j->e.reason ? envelope_reason(&j->e) : "")) ;
    else LOG(j->id, "held") ;
    job_drop(j) ;   /* stays detached: only a release brings it back */
    return ;
  }
  if (j->blocked || stopping) return ;
  if (next <= now) next = now ;
  schedq_push_heap(&sq, j->ent, next > UINT32_MAX ? UINT32_MAX : (uint32_t)next) ;
  job_drop(j) ;
}

/* queue-ctl requests: spool/ctl/NAME, one line each */

static job *ctl_job (char const *id)
{
  uint32_t k ;
  job *j ;
  if (!queue_id_valid(id, strlen(id))) return 0 ;
  k = schedq_find(&sq, id) ;
  if (k == SCHEDQ_NONE)
  {
    char fn[QUEUE_PATH_MAX] ;
    struct stat st ;
    queue_path(fn, "queue", id) ;
    if (stat(fn, &st) < 0) return 0 ;
    k = schedq_insert(&sq, id) ;
    if (k == SCHEDQ_NONE) return 0 ;
  }
  j = job_find(k) ;
  return j ? j : job_load(k) ;
}

static void retry_all (void)
{
  size_t n = genalloc_len(job *, &jobs), i = 0 ;
  schedq_force_all(&sq, SCHEDQ_F_FORCE) ;
  for (; i < n ; i++) genalloc_s(job *, &jobs)[i]->force = 1 ;
}

static void ctl_apply (char *line)
{
  char const *arg ;
  unsigned int op = ctl_parse(line, &arg) ;
  job *j = 0 ;
  switch (op)
  {
    case CTL_RETRY_ALL :
      retry_all() ;
      LOG("scheduler", "ctl", "command=", log_quote(line)) ;
      return ;
    case CTL_RETRY_DOMAIN :
    {
      /* every message is looked at; only recipients in that domain are forced */
      size_t nj = genalloc_len(job *, &jobs), i = 0 ;
      if (!job_domain_forced(&force_domains, arg) && (!stralloc_cats(&force_domains, arg) || !stralloc_0(&force_domains))) return ;
      schedq_force_all(&sq, SCHEDQ_F_FORCEDOM) ;
      for (; i < nj ; i++) genalloc_s(job *, &jobs)[i]->forcedom = 1 ;
      LOG("scheduler", "ctl command=", log_quote(line)) ;
      return ;
    }
    case CTL_REMOVE_SENDER :
    {
      uint32_t total = genalloc_len(schedq_ent, &sq.ents), k = 0 ;
      unsigned int count = 0 ;
      stralloc buf = STRALLOC_ZERO ;
      for (; k < total ; k++)
      {
        char id[QUEUE_ID_LEN + 1] ;
        if (schedq_where(&sq, k) == SCHEDQ_W_FREE) continue ;
        memcpy(id, schedq_ent_at(&sq, k)->id, QUEUE_ID_LEN) ; id[QUEUE_ID_LEN] = 0 ;
        if (!ctl_sender_is(id, arg, &buf)) continue ;
        j = ctl_job(id) ;
        if (j) { j->remove = 1 ; count++ ; LOG(j->id, "ctl command=remove") ; job_step(j) ; }
      }
      stralloc_free(&buf) ;
      LOG("scheduler", "ctl command=", log_quote(line), "matched=", log_u64(count)) ;
      return ;
    }
    case CTL_RETRY :
    case CTL_HOLD :
    case CTL_RELEASE :
    case CTL_REMOVE :
      j = ctl_job(arg) ;
      if (!j) { LOG("scheduler", "ctl command=", log_quote(line), "result=unknown-id") ; return ; }
      LOG(j->id, "ctl command=", log_quote(line)) ;
      if (op == CTL_REMOVE) j->remove = 1 ;
      else if (op == CTL_RETRY) j->force = 1 ;
      else if (op == CTL_HOLD ? !(j->q.flags & QSTATE_F_HOLD) : !!(j->q.flags & QSTATE_F_HOLD))
      {
        /* written at once, not once no delivery is in flight (job_step): a restart
           meanwhile must find the new word, not the old state's or, for a message
           queued held, the envelope's */
        j->q.flags ^= QSTATE_F_HOLD ;
        j->dirty = 1 ;
        if (qstate_write(&j->q, j->id)) j->dirty = 0 ;
      }
      job_step(j) ;
      return ;
    default :
      LOG("scheduler", "ctl result=unknown-command command=", log_quote(line)) ;
  }
}

static void ctl_one (char *line, char const *fn, char const *err, void *data)
{
  if (line) ctl_apply(line) ;
  else LOG("scheduler", "ctl result=error file=", log_quote(fn), "error=", log_quote(err)) ;
}

static void ctl_scan (void)
{
  ctl_pending = 0 ;
  ctl_read(&ctl_one, 0) ;
}

/* the spool scan (lib/qscan), one bucket per pass of the event loop */

/* detached because loaded: the scan leaves it alone */
static int job_active (uint32_t k, void *data)
{
  return !!job_find(k) ;
}

static qscan scan = { .phase = QSCAN_NONE, .sq = &sq, .qr = &qr, .active = &job_active } ;
static int scan_failed = 0 ;   /* the start-up scan met an error: it may have missed messages */
static int scan_clean = 0 ;    /* the start-up scan is over and saw every bucket */

/* the start-up scan is over */
static void scan_started (void)
{
  if (scan.orphans) LOG("scheduler", "recovery orphan-states=", log_u64(scan.orphans)) ;
  LOG("scheduler", "start messages=", log_u64(sq.n)) ;
  scan_clean = !scan_failed ;
  ctl_scan() ;
  if (notif >= 0) { fd_write(notif, "\n", 1) ; fd_close(notif) ; notif = -1 ; }
  tain_addsec_g(&nextrescan, c.rescan) ;
}

static void scan_step (void)
{
  int r ;
  if (!qscan_running(&scan)) return ;
  r = qscan_step(&scan) ;
  if (r & QSCAN_ERROR) scan_failed |= scan.startup ;
  if (r & QSCAN_ERROR)
    LOG("scheduler", scan.errdir[0] == 'q' ? "warning=\"cannot scan the queue\"" : "warning=\"cannot scan the states\"", "error=", log_quote(strerror(errno))) ;
  if ((r & QSCAN_OVER) && scan.startup) scan_started() ;
}

/*
 * A hint: the message was committed before its id was written (enqueue),
 * so it is new mail. While the start-up scan runs, one the scan already
 * met (detached, no job yet) is new mail too.
 *
 * An id not in the index once a clean start-up scan is over was
 * committed after the scan read its bucket, so after this scheduler
 * took SPOOL/lock: no state file can exist for it but one this
 * scheduler wrote, and it has written none, never having loaded it
 * (or the entry is gone, which its load finds). Its first load builds
 * the initial state without looking (SCHEDQ_F_NOSTATE: an open
 * answering ENOENT per message less); every later load reads the state
 * file, as before. A scan that met an error may have missed a bucket:
 * then every load looks.
 */
static void fresh_id (char const *id)
{
  uint32_t k = schedq_find(&sq, id) ;
  if (k != SCHEDQ_NONE)
  {
    if (qscan_starting(&scan) && schedq_where(&sq, k) == SCHEDQ_W_DETACHED && !job_find(k)) schedq_push_fresh(&sq, k) ;
    return ;
  }
  k = schedq_insert(&sq, id) ;
  if (k == SCHEDQ_NONE) return ;
  if (scan_clean) schedq_ent_at(&sq, k)->where |= SCHEDQ_F_NOSTATE ;
  schedq_push_fresh(&sq, k) ;
}

/* the trigger: a committed message's id, or "ctl" */
static void trigger_line (char *s, size_t len)
{
  if (len == QUEUE_ID_LEN && queue_id_valid(s, len)) fresh_id(s) ;
  else if (len == 3 && !memcmp(s, "ctl", 3)) ctl_pending = 1 ;
}

static void activate (void)
{
  unsigned int retries = 0 ;
  for (;;)
  {
    size_t active = genalloc_len(job *, &jobs) ;
    uint32_t k ;
    job *j ;
    if (stopping || active >= MAX_ACTIVE) return ;
    k = schedq_pop_fresh(&sq) ;
    if (k == SCHEDQ_NONE)
    {
      /* retries: never the last few slots, which stay for new mail */
      if (active >= MAX_ACTIVE - FRESH_RESERVE) return ;
      /* nor before the start-up scan is over: their times are unknown until each is read, which would slow the scan down */
      if (qscan_starting(&scan)) return ;
      /* a few at a time: the trigger is read again before the next batch */
      if (retries++ >= RETRY_BATCH) return ;
      k = schedq_top(&sq) ;
      if (k == SCHEDQ_NONE || schedq_ent_at(&sq, k)->next > wallnow()) return ;
    }
    j = job_load(k) ;
    if (j) job_step(j) ;
  }
}

static void step_all (void)
{
  size_t i = genalloc_len(job *, &jobs) ;
  /* backwards: job_step may drop the job it is given */
  while (i--)
  {
    job *j ;
    if (i >= genalloc_len(job *, &jobs)) continue ;
    j = genalloc_s(job *, &jobs)[i] ;
    job_step(j) ;
  }
}

static void reap (void)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = waitpid(-1, &wstat, WNOHANG) ;
    ldlv *d ;
    rstream *s ;
    if (pid <= 0) break ;
    if (pid == ls.pid) { logflush() ; strerr_dief(KETCH_EX_TEMP, "local-spawn died") ; }
    d = ldlv_find(&dlvs, pid, 0) ;
    if (d) { finish_dlv(d, wstat) ; ldlv_free(d) ; continue ; }
    s = rstream_take(&streams, pid) ;
    if (!s) continue ;
    rstream_reaped(s, wstat) ;
    stream_results(s) ;
    rstream_free(s) ;
  }
}

static void reload (void)
{
  conf nc ;
  stralloc err = STRALLOC_ZERO ;
  if (!conf_load(&nc, conffn.s, &err))
  {
    LOG("scheduler", "reload result=error error=", log_quote(err.len ? err.s : strerror(errno))) ;
    stralloc_free(&err) ;
    return ;
  }
  if (strcmp(nc.sa.s + nc.spool, c.sa.s + c.spool)) LOG("scheduler", "reload warning=\"spool changed: restart to use it\"") ;
  conf_free(&c) ;
  c = nc ;
  {
    /* a running remote-send read the old configuration (routes, TLS): it takes no more jobs */
    size_t n = nremote, i = 0 ;
    tain_now_g() ;
    for (; i < n ; i++) rstream_close(genalloc_s(rstream *, &streams)[i], &STAMP, c.timeout_delivery) ;
  }
  if (ls.w >= 0)
  {
    /* local-spawn decides each delivery again from its own copy: it reads the file again too */
    if (!lsclient_reload(&ls))
      LOG("scheduler", "reload warning=\"local-spawn not told: restart to use the new configuration for local deliveries\"") ;
  }
  LOG("scheduler", "reload result=ok") ;
  stralloc_free(&err) ;
}

/*
 * Started as root: local-spawn keeps root to run local-deliver as each
 * recipient; we drop to the queue user (scheduler(8), PRIVILEGES).
 */
static void start_spawn (void)
{
  stralloc p = STRALLOC_ZERO ;
  char const *argv[4] ;
  char const *what ;
  if (!prog(&p, "local-spawn")) strerr_diefu(KETCH_EX_TEMP, "allocate") ;
  argv[0] = p.s ; argv[1] = "-C" ; argv[2] = conffn.s ; argv[3] = 0 ;
  switch (lsclient_fork(&ls, &what))
  {
    case -1 : strerr_diefusys(KETCH_EX_TEMP, what) ;
    case 0 :
      execv(argv[0], (char *const *)argv) ;
      strerr_diefusys(KETCH_EX_TEMP, "exec ", argv[0]) ;
  }
  stralloc_free(&p) ;
}

static void drop_privileges (void)
{
  struct passwd *pw ;
  if (!isroot) return ;
  if (!c.queue_user) { LOG("scheduler", "warning=\"no queue-user: the scheduler keeps root\"") ; return ; }
  pw = getpwnam(c.sa.s + c.queue_user) ;
  if (!pw) strerr_dief(KETCH_EX_PERM, "unknown queue-user: ", c.sa.s + c.queue_user) ;
  if (!pw->pw_uid) strerr_dief(KETCH_EX_PERM, "queue-user must not be root") ;
  if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
    strerr_diefusys(KETCH_EX_TEMP, "drop privileges to ", pw->pw_name) ;
  isroot = 0 ;
}

/* local-spawn's reports: "tag code text", code an exit status or "t" (temporary) */
static void spawn_line (char *line, size_t len)
{
  unsigned int tag, code ;
  char const *text ;
  ldlv *d ;
  if (!lspawn_report_parse(line, &tag, &code, &text)) return ;
  d = ldlv_find(&dlvs, 0, tag) ;
  if (!d) return ;
  d->out.len = 0 ;
  stralloc_cats(&d->out, text) ;
  finish_dlv(d, (int)(code << 8)) ;
  ldlv_free(d) ;
}

static void spawn_read (stralloc *buf)
{
  switch (lsclient_read(&ls, buf))
  {
    case 0 : logflush() ; strerr_dief(KETCH_EX_TEMP, "local-spawn exited") ;
    case -1 : logflush() ; strerr_diefusys(KETCH_EX_TEMP, "read from local-spawn") ;
    case -2 : strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  }
  lines_take(buf, &spawn_line) ;
}

/* the event loop's parts */

/* the group commit of the buckets whose removals are due (all with force); *next, if *left */
static void removals_commit (int force, tain *next, int *left)
{
  unsigned int failed ;
  tain_now_g() ;
  failed = qremove_commit(&qr, &STAMP, force, next, left) ;
  if (failed) LOG("scheduler", "remove-commit result=error buckets=", log_u64(failed), "error=", log_quote(strerror(errno))) ;
}

static int stop_now (void)
{
  size_t k = genalloc_len(job *, &jobs) ;
  {
    tain next ;
    int left ;
    removals_commit(1, &next, &left) ;
  }
  while (k--)
  {
    job *j = genalloc_s(job *, &jobs)[k] ;
    if (j->dirty && !qstate_write(&j->q, j->id)) LOG(j->id, "state result=error error=", log_quote(strerror(errno))) ;
  }
  LOG("scheduler", "stop") ;
  logflush() ;
  return 0 ;
}

static void pollset_add (genalloc *x, int fd, short events)
{
  iopause_fd p = { .fd = fd, .events = events, .revents = 0 } ;
  if (!genalloc_append(iopause_fd, x, &p)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
}

/* the poll set: the selfpipe, the trigger, then local-spawn, then every delivery's pipes */
enum { POLL_SELFPIPE, POLL_TRIGGER, POLL_OUTPUTS } ;
static void build_pollset (genalloc *x, int sfd, tain *deadline)
{
  size_t i = 0 ;
  genalloc_setlen(iopause_fd, x, 0) ;
  {
    tain const inf = TAIN_INFINITE ;
    *deadline = inf ;
  }
  pollset_add(x, sfd, IOPAUSE_READ) ;   /* POLL_SELFPIPE */
  pollset_add(x, trigfd, stopping ? 0 : IOPAUSE_READ) ;   /* POLL_TRIGGER */
  if (ls.r >= 0) pollset_add(x, ls.r, IOPAUSE_READ) ;
  for (; i < nlocal ; i++)
  {
    ldlv *d = genalloc_s(ldlv *, &dlvs)[i] ;
    if (d->fd >= 0) pollset_add(x, d->fd, IOPAUSE_READ) ;
    /* local-spawn enforces the timeout of its own deliveries */
    if (d->pid && tain_less(&d->deadline, deadline)) *deadline = d->deadline ;
  }
  for (i = 0 ; i < nremote ; i++)
  {
    rstream *s = genalloc_s(rstream *, &streams)[i] ;
    if (s->fd >= 0) pollset_add(x, s->fd, IOPAUSE_READ) ;
    if (rstream_wants_write(s)) pollset_add(x, s->wfd, IOPAUSE_WRITE) ;
    rstream_deadline(s, deadline) ;
    if (stopping && s->state == RSTREAM_IDLE) *deadline = STAMP ;   /* check_deadlines closes it now */
  }
  if (stopping)
  {
    if (tain_less(&stopdeadline, deadline)) *deadline = stopdeadline ;
    return ;
  }
  if (tain_less(&nextrescan, deadline)) *deadline = nextrescan ;
  {
    uint32_t k = schedq_top(&sq) ;
    if (k != SCHEDQ_NONE && genalloc_len(job *, &jobs) < MAX_ACTIVE - FRESH_RESERVE)
    {
      uint64_t next = schedq_ent_at(&sq, k)->next, now = wallnow() ;
      uint64_t wait = next > now ? next - now : 0 ;
      tain t ;
      tain_addsec_g(&t, wait > 86400 ? 86400 : (int)wait) ;
      if (tain_less(&t, deadline)) *deadline = t ;
    }
  }
  if (genalloc_len(uint32_t, &sq.fresh) > sq.freshhead && genalloc_len(job *, &jobs) < MAX_ACTIVE) *deadline = STAMP ;
  if (qscan_running(&scan)) *deadline = STAMP ;   /* the next bucket: only a look at what is ready meanwhile */
}

/*
 * The gauges (lib/stats): stores into the mapping, once per pass of the
 * loop, no system call. The oldest message is a pass over the index
 * (schedq_oldest), so it is looked for every STATS_OLDEST_EVERY seconds
 * only, and at once when the queue had none (then the pass is short:
 * the index holds few live entries); ketch-stats turns its arrival time
 * into an age when scraped. A removed oldest message is thereby still
 * shown for STATS_OLDEST_EVERY seconds at most.
 */
static void stats_gauges (void)
{
  if (!stats) return ;
  stats_set(stats, STATS_G_QUEUE_SIZE, sq.n) ;
  stats_set(stats, STATS_G_INFLIGHT_LOCAL, nlocal) ;
  stats_set(stats, STATS_G_INFLIGHT_REMOTE, nremote) ;
  if (tain_less(&STAMP, &stats_oldest_next) && (!sq.n || stats->v[STATS_G_QUEUE_OLDEST])) return ;
  {
    uint32_t k = schedq_oldest(&sq) ;
    stats_set(stats, STATS_G_QUEUE_OLDEST, k == SCHEDQ_NONE ? 0 : queue_id_time(schedq_ent_at(&sq, k)->id)) ;
  }
  tain_addsec_g(&stats_oldest_next, STATS_OLDEST_EVERY) ;
}

/* a delivery past its deadline is killed (its process group), and counts as temporary; an idle stream is closed at its own */
static void check_deadlines (void)
{
  size_t i = 0 ;
  int all = stopping && !tain_less(&STAMP, &stopdeadline) ;
  for (; i < nlocal ; i++)
  {
    ldlv *d = genalloc_s(ldlv *, &dlvs)[i] ;
    if (!d->pid || d->killed) continue ;
    if (all || !tain_less(&STAMP, &d->deadline))
    {
      d->killed = 1 ;
      kill(-d->pid, SIGKILL) ;
      kill(d->pid, SIGKILL) ;
      tain_addsec_g(&d->deadline, 3600) ;
    }
  }
  for (i = 0 ; i < nremote ; i++) rstream_check(genalloc_s(rstream *, &streams)[i], &STAMP, stopping, all, c.timeout_delivery) ;
  if (all)
  {
    /* local-spawn's deliveries cannot be killed from here: stop waiting, count them temporary */
    size_t k = genalloc_len(ldlv *, &dlvs) ;
    while (k--)
    {
      ldlv *d = genalloc_s(ldlv *, &dlvs)[k] ;
      if (d->pid) continue ;
      ldlv_take(&dlvs, k) ;
      d->out.len = 0 ;
      stralloc_cats(&d->out, "interrupted by shutdown") ;
      finish_dlv(d, KETCH_EX_TEMP << 8) ;
      ldlv_free(d) ;
    }
    tain_addsec_g(&stopdeadline, 5) ;
  }
  if (!stopping && !qscan_running(&scan) && !tain_less(&STAMP, &nextrescan))
  {
    qscan_start(&scan, 0) ;
    ctl_scan() ;
    tain_addsec_g(&nextrescan, c.rescan) ;
  }
}

static void read_outputs (genalloc *x, stralloc *sb)
{
  size_t nx = genalloc_len(iopause_fd, x), i = POLL_OUTPUTS ;
  for (; i < nx ; i++)
  {
    iopause_fd const *p = genalloc_s(iopause_fd, x) + i ;
    size_t k = 0 ;
    if (!p->revents) continue ;
    if (p->fd == ls.r) { spawn_read(sb) ; continue ; }
    for (; k < nlocal ; k++)
    {
      ldlv *d = genalloc_s(ldlv *, &dlvs)[k] ;
      if (d->fd == p->fd) { ldlv_read(d) ; break ; }
    }
    if (k < nlocal) continue ;
    for (k = 0 ; k < nremote ; k++)
    {
      rstream *s = genalloc_s(rstream *, &streams)[k] ;
      if (s->wfd == p->fd) { rstream_write(s) ; break ; }
      if (s->fd != p->fd) continue ;
      /* a batch: its results as they come */
      rstream_read(s, &STAMP, c.timeout_delivery) ;
      stream_results(s) ;
      break ;
    }
  }
}

static void handle_signals (void)
{
  for (;;)
  {
    int sig = selfpipe_read() ;
    if (sig < 0) strerr_diefusys(KETCH_EX_TEMP, "selfpipe_read") ;
    if (!sig) return ;
    switch (sig)
    {
      case SIGCHLD : reap() ; break ;
      case SIGALRM : LOG("scheduler", "signal=ALRM action=retry-all") ; retry_all() ; break ;
      case SIGHUP : reload() ; break ;
      case SIGTERM :
      case SIGINT :   /* Ctrl-C reaches a daemon run without s6's setsid (runit, a shell) */
        if (stopping) break ;
        stopping = 1 ;
        tain_addsec_g(&stopdeadline, STOP_GRACE) ;
        LOG("scheduler", "signal=", sig == SIGINT ? "INT" : "TERM", " action=stop inflight=", log_u64(nlocal + nremote)) ;
        break ;
      default : break ;
    }
  }
}

/* the set-up, in main's order */

static void load_conf (void)
{
  stralloc err = STRALLOC_ZERO ;
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  if (conf_files_check(&c, CONF_FILES_ALIASES, &err)) strerr_dief(KETCH_EX_PERM, err.len ? err.s : "unable to check the aliases file") ;
  {
    /* children get -C with an absolute path: we chdir to the spool */
    char const *f = c.sa.s + c.file, *slash = strrchr(f, '/') ;
    if (f[0] == '/') { if (!stralloc_cats(&conffn, f)) strerr_diefu(KETCH_EX_TEMP, "allocate") ; }
    else if (!stralloc_cats(&conffn, c.sa.s + c.dir) || !stralloc_catb(&conffn, "/", 1) || !stralloc_cats(&conffn, slash ? slash + 1 : f))
      strerr_diefu(KETCH_EX_TEMP, "allocate") ;
    if (!stralloc_0(&conffn)) strerr_diefu(KETCH_EX_TEMP, "allocate") ;
  }
  stralloc_free(&err) ;
}

/* into the spool, holding its lock: one scheduler per spool */
static void lock_spool (void)
{
  int lockfd, r ;
  if (chdir(c.sa.s + c.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", c.sa.s + c.spool) ;
  lockfd = open("lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600) ;
  if (lockfd < 0) strerr_diefusys(KETCH_EX_TEMP, "open ", c.sa.s + c.spool, "/lock") ;
  if (isroot)
  {
    /* the lock belongs to the spool's owner like every other spool file,
       else a scheduler later started as the queue user could not open it */
    struct stat st ;
    if (stat(".", &st) < 0) strerr_diefusys(KETCH_EX_TEMP, "stat ", c.sa.s + c.spool) ;
    if (fchown(lockfd, st.st_uid, st.st_gid) < 0) strerr_diefusys(KETCH_EX_TEMP, "chown ", c.sa.s + c.spool, "/lock") ;
  }
  r = fd_lock(lockfd, 1, 1) ;
  if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "lock ", c.sa.s + c.spool, "/lock") ;
  if (!r) strerr_dief(KETCH_EX_TEMP, "another scheduler holds ", c.sa.s + c.spool, "/lock") ;
}

/* signals through the selfpipe: its fd */
static int trap_signals (void)
{
  sigset_t set ;
  int sfd = selfpipe_init() ;
  if (sfd < 0) strerr_diefusys(KETCH_EX_TEMP, "selfpipe_init") ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  sigemptyset(&set) ;
  sigaddset(&set, SIGCHLD) ; sigaddset(&set, SIGTERM) ; sigaddset(&set, SIGINT) ; sigaddset(&set, SIGHUP) ; sigaddset(&set, SIGALRM) ;
  if (!selfpipe_trapset(&set)) strerr_diefusys(KETCH_EX_TEMP, "trap signals") ;
  return sfd ;
}

int main (int argc, char const *const *argv)
{
  stralloc sb = STRALLOC_ZERO ;
  genalloc x = GENALLOC_ZERO ;   /* iopause_fd */
  int sfd ;
  unsigned int removed = 0 ;
  PROG = "scheduler" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:d:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'd' : if (!int0_scan(l.arg, &notif) || notif < 0) dieusage() ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  load_conf() ;
  isroot = !geteuid() ;
  umask(077) ;
  lock_spool() ;
  if (isroot) start_spawn() ;
  drop_privileges() ;
  /* O_RDWR: we are a writer too, so the FIFO never reports EOF */
  trigfd = open("trigger", O_RDWR | O_NONBLOCK | O_CLOEXEC) ;
  if (trigfd < 0) strerr_diefusys(KETCH_EX_TEMP, "open ", c.sa.s + c.spool, "/trigger") ;
  sfd = trap_signals() ;
  tain_now_set_stopwatch_g() ;
  /* counters are not worth a refusal to deliver: without the file, none are kept */
  stats = stats_open(STATS_DIR "/" STATS_FILE_SCHEDULER) ;
  if (!stats) LOG("scheduler", "warning=\"no statistics\" error=", log_quote(strerror(errno))) ;

  /* start-up recovery: every time, idempotent (spool-layout/SPOOL) */
  if (!queue_recover_tmp(&removed)) strerr_diefusys(KETCH_EX_TEMP, "recover ", c.sa.s + c.spool, "/tmp") ;
  if (removed) LOG("scheduler", "recovery stale-tmp=", log_u64(removed)) ;
  /* the start-up scan: the event loop reads it bucket by bucket, and then says it is ready */
  qscan_start(&scan, 1) ;

  for (;;)
  {
    tain deadline ;
    int r ;
    scan_step() ;
    if (ctl_pending) ctl_scan() ;
    activate() ;
    step_all() ;
    activate() ;
    pend_flush() ;
    if (stopping && !nlocal && !nremote) return stop_now() ;
    build_pollset(&x, sfd, &deadline) ;
    {
      tain next ;
      int left ;
      removals_commit(0, &next, &left) ;
      if (left && tain_less(&next, &deadline)) deadline = next ;
    }
    stats_gauges() ;
    logflush() ;
    r = iopause_g(genalloc_s(iopause_fd, &x), genalloc_len(iopause_fd, &x), &deadline) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    check_deadlines() ;
    if (!r) continue ;
    read_outputs(&x, &sb) ;
    if (genalloc_s(iopause_fd, &x)[POLL_TRIGGER].revents & IOPAUSE_READ) lines_read(trigfd, &trigbuf, TRIGGER_MAX, &trigger_line) ;
    if (genalloc_s(iopause_fd, &x)[POLL_SELFPIPE].revents & IOPAUSE_READ) handle_signals() ;
  }
}
