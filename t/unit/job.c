/* ISC license: see LICENSE. */

/*
 * lib/job: a queue entry loaded (its envelope, its state, the busy
 * flags), gone, or corrupt; its aliases expanded, with the events the
 * scheduler logs in the order they happen; the lookups kept for the
 * pass; recipients held and freed.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "envelope.h"
#include "expand.h"
#include "qstate.h"
#include "queue.h"
#include "tables.h"
#include "job.h"
#include "tap.h"

static stralloc evs = STRALLOC_ZERO ;   /* the events, one "kind alias text" line each */

static void record (job *j, job_event const *ev, void *data)
{
  char buf[32] ;
  snprintf(buf, sizeof(buf), "%u ", ev->kind) ;
  stralloc_cats(&evs, buf) ;
  stralloc_cats(&evs, ev->alias ? ev->alias : "-") ;
  stralloc_cats(&evs, " ") ;
  stralloc_cats(&evs, ev->text) ;
  if (ev->kind == JOB_EV_RCPT || ev->kind == JOB_EV_FAILED)
  {
    snprintf(buf, sizeof(buf), " #%zu", ev->rcpt) ;
    stralloc_cats(&evs, buf) ;
  }
  stralloc_cats(&evs, "\n") ;
  (*(unsigned int *)data)++ ;
}

/* needle in the first len octets of s, NULs and all */
static int has (char const *s, size_t len, char const *needle)
{
  size_t n = strlen(needle), i = 0 ;
  for (; i + n <= len ; i++) if (!memcmp(s + i, needle, n)) return 1 ;
  return 0 ;
}

/* a queue entry for id: the envelope of sender and rcpts, then a message */
static int entry (char const *id, char const *sender, char const *const *rcpts)
{
  envelope e = ENVELOPE_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  char fn[QUEUE_PATH_MAX] ;
  int ok = envelope_init(&e, sender) ;
  for (; ok && *rcpts ; rcpts++) ok = envelope_add_rcpt(&e, *rcpts) ;
  ok = ok && envelope_encode(&e, &sa) && stralloc_cats(&sa, "Subject: t\n\nbody\n") ;
  queue_path(fn, "queue", id) ;
  fn[8] = 0 ; mkdir(fn, 0700) ;
  queue_path(fn, "state", id) ;
  fn[8] = 0 ; mkdir(fn, 0700) ;
  queue_path(fn, "queue", id) ;
  ok = ok && openwritenclose_unsafe(fn, sa.s, sa.len) ;
  envelope_free(&e) ; stralloc_free(&sa) ;
  return ok ;
}

int main (void)
{
  conf c ;
  stralloc err = STRALLOC_ZERO, text = STRALLOC_ZERO ;
  char id[QUEUE_ID_LEN + 1], id2[QUEUE_ID_LEN + 1], fn[QUEUE_PATH_MAX] ;
  char const *rcpts[] = { "staff@test.example", "nobody-here@test.example", "root@test.example", 0 } ;
  unsigned int nev = 0 ;
  job *j ;
  tap_plan(27) ;
  if (!tap_tmpdir() || chdir(tap_dir()) < 0) return 111 ;
  mkdir("queue", 0700) ; mkdir("state", 0700) ;

  stralloc_cats(&text, "staff: root, other-root@test.example, root@test.example, :include:") ;
  stralloc_cats(&text, tap_path("missing")) ;
  stralloc_cats(&text, "\n") ; stralloc_0(&text) ;
  tap_put("aliases", text.s) ;
  text.len = 0 ;
  stralloc_cats(&text, "hostname mx.test.example\nlocal-domain test.example\ndeliver maildir ~/Maildir/\naliases ") ;
  stralloc_cats(&text, tap_path("aliases")) ; stralloc_cats(&text, "\nspool ") ;
  stralloc_cats(&text, tap_dir()) ; stralloc_cats(&text, "\n") ; stralloc_0(&text) ;
  tap_put("ketch.conf", text.s) ;
  if (!conf_load(&c, tap_path("ketch.conf"), &err) || !tables_compile_aliases(tap_path("aliases"), &err))
  {
    printf("# %s\n", err.len ? err.s : strerror(errno)) ;
    return 111 ;
  }

  queue_id_make(id) ;
  ok(entry(id, "s@x.example", rcpts), "an entry") ;
  j = job_new(id, 7) ;
  ok(j && j->ent == 7 && !strcmp(j->id, id) && !j->inflight && !j->dirty, "a new job: its id and entry, nothing else") ;
  ok(job_read(j) == JOB_READ_OK && qstate_n(&j->q) == 3 && j->busy.len == 3 && !strcmp(envelope_sender(&j->e), "s@x.example"), "read: the envelope, a state of 3 recipients, 3 busy flags") ;
  ok(job_fresh(j) && !job_done(j), "never tried: fresh, not done") ;
  {
    /* nostate (the scheduler knows no state file can exist): the initial state, the state file never opened */
    char sfn[QUEUE_PATH_MAX] ;
    char *slash ;
    job *k = job_new(id, 8) ;
    queue_path(sfn, "state", id) ;
    slash = strrchr(sfn, '/') ;
    *slash = 0 ; mkdir(sfn, 0700) ; *slash = '/' ;
    tap_put(sfn, "not a state file\n") ;
    k->nostate = 1 ;
    ok(job_read(k) == JOB_READ_OK && qstate_n(&k->q) == 3 && !k->q.stored, "nostate: the state built from the envelope, no state file read (a corrupt one there)") ;
    job_free(k) ;
    k = job_new(id, 8) ;
    ok(job_read(k) == JOB_READ_BAD, "without nostate, the state file is read (corrupt: bad)") ;
    job_free(k) ;
    unlink(sfn) ;
  }
  ok(queue_open(id, j->e.hdrlen) >= 0, "the entry opens at the message") ;
  {
    /* the descriptor job_read opened serves one reader, at the message; the next gets its own */
    int kept = j->fd, a, b ;
    char ca = 0, cb = 0 ;
    a = job_entry(j, j->e.hdrlen) ;
    b = job_entry(j, j->e.hdrlen) ;
    ok(kept >= 0 && a == kept && j->fd == -1 && b >= 0 && b != a && read(a, &ca, 1) == 1 && read(b, &cb, 1) == 1 && ca == cb && lseek(a, 0, SEEK_CUR) == (off_t)j->e.hdrlen + 1 && lseek(b, 0, SEEK_CUR) == (off_t)j->e.hdrlen + 1,
      "job_entry: the descriptor job_read left, once, at the message; then a new one, its offset its own") ;
    close(a) ; close(b) ;
    j->fd = open("/dev/null", O_RDONLY) ;
    a = j->fd ;
    job_entry_close(j) ;
    ok(j->fd == -1 && fcntl(a, F_GETFD) < 0, "job_entry_close closes what was left") ;
  }

  job_expand(j, &c, &record, &nev) ;
  stralloc_0(&evs) ;
  {
    char const *s = evs.s, *nl ;
    for (; (nl = strchr(s, '\n')) ; s = nl + 1) printf("# %.*s\n", (int)(nl - s), s) ;
  }
  ok(qstate_get(&j->q, 0)->status == QSTATE_EXPANDED && j->dirty, "the alias is expanded, the state dirty") ;
  ok(qstate_get(&j->q, 1)->status == QSTATE_FAILED, "the unknown user failed") ;
  ok(qstate_n(&j->q) == 5 && j->busy.len == 5 && !strcmp(qstate_str(&j->q, qstate_get(&j->q, 3)->addr), "root@mx.test.example")
    && !strcmp(qstate_str(&j->q, qstate_get(&j->q, 4)->addr), "other-root@test.example")
    && !strcmp(qstate_str(&j->q, qstate_get(&j->q, 4)->orig), "staff@test.example"),
    "two recipients added, with their original, a bare name at the hostname; one already there is not added again") ;
  {
    char want[512] ;
    snprintf(want, sizeof(want), "%u staff@test.example root@mx.test.example #3\n%u staff@test.example other-root@test.example #4\n%u staff@test.example %s\n"
      "%u - " EXPAND_T_UNKNOWN " #1\n%u - " EXPAND_T_UNKNOWN " #4\n",
      JOB_EV_RCPT, JOB_EV_RCPT, JOB_EV_UNREADABLE, tap_path("missing"), JOB_EV_FAILED, JOB_EV_FAILED) ;
    ok(!strcmp(evs.s, want) && nev == 5, "the events in order: added, added, unreadable include, then each unknown as its turn comes") ;
  }
  ok(job_looked(j, 2) && job_looked(j, 2)->kind == LOOKUP_LOCAL && job_looked(j, 3) && !job_looked(j, 0) && !job_looked(j, 1) && !job_looked(j, 4) && !job_looked(j, 9),
    "the local users' lookups are kept for the pass, none for the others") ;
  job_looked_drop(j) ;
  ok(!job_looked(j, 2), "dropped at the end of the pass") ;
  {
    unsigned int v[2] = { 2, 3 } ;
    job_hold(j, v, 2, 1) ;
    ok(j->inflight == 1 && j->busy.s[2] && j->busy.s[3] && !j->busy.s[0], "held: busy, in flight") ;
    job_hold(j, v, 2, 0) ;
    ok(!j->inflight && !j->busy.s[2] && !j->busy.s[3], "freed") ;
  }
  {
    stralloc forced = STRALLOC_ZERO, sa = STRALLOC_ZERO ;
    qstate_rcpt *r = qstate_get(&j->q, 2) ;
    unsigned int v[2] = { 2, 4 } ;
    r->next = 1000 ;
    stralloc_catb(&forced, "other.example\0MX.test.example\0", 31) ;
    ok(job_domain_forced(&forced, "mx.test.EXAMPLE") && !job_domain_forced(&forced, "test.example") && job_domain_forced(&forced, "other.example"), "the forced domains, any case") ;
    ok(job_due(j, r, 1000, &forced) && !job_due(j, r, 999, &forced), "due at its time, not before") ;
    j->forcedom = 1 ;
    qstate_get(&j->q, 3)->next = 5000 ;
    ok(!job_due(j, r, 999, &forced) && job_due(j, qstate_get(&j->q, 3), 999, &forced), "a forced domain forces its recipients only") ;
    j->forcedom = 0 ; j->force = 1 ;
    ok(job_due(j, r, 0, &forced), "force: every recipient due") ;
    j->force = 0 ;
    ok(job_batch_put(&sa, j, v, 2) && sa.len && sa.s[sa.len - 1] == ',', "a batch job: one netstring") ;
    ok(has(sa.s, sa.len, id) && has(sa.s, sa.len, "s@x.example") && has(sa.s, sa.len, "root@test.example") && has(sa.s, sa.len, "other-root@test.example") && !has(sa.s, sa.len, "staff@"),
      "with the id, the sender and the two recipients only") ;
    stralloc_free(&forced) ; stralloc_free(&sa) ;
  }
  job_free(j) ;

  /* gone: its orphan state file goes too */
  queue_id_make(id2) ;
  while (!strcmp(id2, id)) queue_id_make(id2) ;
  queue_path(fn, "state", id2) ;
  fn[8] = 0 ; mkdir(fn, 0700) ;
  queue_path(fn, "state", id2) ;
  openwritenclose_unsafe(fn, "x", 1) ;
  j = job_new(id2, 0) ;
  ok(j && job_read(j) == JOB_READ_GONE && access(fn, F_OK) < 0 && errno == ENOENT, "no entry: gone, the orphan state unlinked") ;
  job_free(j) ;

  /* corrupt */
  queue_path(fn, "queue", id2) ;
  fn[8] = 0 ; mkdir(fn, 0700) ;
  queue_path(fn, "queue", id2) ;
  openwritenclose_unsafe(fn, "garbage\n\n", 9) ;
  j = job_new(id2, 0) ;
  ok(j && job_read(j) == JOB_READ_BAD, "a corrupt entry: bad") ;
  job_free(j) ;
  chmod(fn, 0) ;
  j = job_new(id2, 0) ;
  ok(j && (geteuid() == 0 || job_read(j) == JOB_READ_ERROR), "an unreadable entry: an error, to look at again soon") ;
  job_free(j) ;
  ok(queue_open(id2, 0) < 0 || geteuid() == 0, "queue_open fails likewise") ;

  conf_free(&c) ;
  stralloc_free(&err) ; stralloc_free(&text) ; stralloc_free(&evs) ;
  tap_rmtmp() ;
  return tap_done() ;
}
