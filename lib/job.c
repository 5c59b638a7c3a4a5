/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/alloc.h>

#include "envelope.h"
#include "qstate.h"
#include "queue.h"
#include "lookup.h"
#include "expand.h"
#include "outcome.h"
#include "report.h"
#include "job.h"

job *job_new (char const *id, uint32_t ent)
{
  job *j = alloc(sizeof(job)) ;
  if (!j) return 0 ;
  memset(j, 0, sizeof(job)) ;
  {
    envelope ez = ENVELOPE_ZERO ;
    qstate qz = QSTATE_ZERO ;
    stralloc sz = STRALLOC_ZERO ;
    genalloc gz = GENALLOC_ZERO ;
    j->e = ez ; j->q = qz ; j->busy = sz ; j->looked = gz ;
  }
  j->ent = ent ;
  j->fd = -1 ;
  memcpy(j->id, id, QUEUE_ID_LEN) ;
  j->id[QUEUE_ID_LEN] = 0 ;
  return j ;
}

void job_looked_drop (job *j)
{
  size_t n = genalloc_len(lookup, &j->looked), k = 0 ;
  for (; k < n ; k++) lookup_free(genalloc_s(lookup, &j->looked) + k) ;
  genalloc_setlen(lookup, &j->looked, 0) ;
}

void job_free (job *j)
{
  job_entry_close(j) ;
  job_looked_drop(j) ;
  genalloc_free(lookup, &j->looked) ;
  envelope_free(&j->e) ;
  qstate_free(&j->q) ;
  stralloc_free(&j->busy) ;
  alloc_free(j) ;
}

unsigned int job_read (job *j)
{
  stralloc buf = STRALLOC_ZERO ;
  int fd = queue_open(j->id, 0), ok ;
  if (fd < 0)
  {
    char fn[QUEUE_PATH_MAX] ;
    if (errno != ENOENT) return JOB_READ_ERROR ;
    queue_path(fn, "state", j->id) ;
    unlink(fn) ;
    return JOB_READ_GONE ;
  }
  ok = envelope_read(&j->e, fd, &buf) && (j->nostate ? qstate_from_envelope(&j->q, &j->e) : qstate_read(&j->q, j->id, &j->e)) ;
  {
    int e = errno ;
    /* kept for the step that follows: a new message's first delivery sends the entry on (job_entry) */
    job_entry_close(j) ;
    if (ok) j->fd = fd ; else fd_close(fd) ;
    stralloc_free(&buf) ;
    errno = e ;
  }
  if (!ok) return JOB_READ_BAD ;
  if (!stralloc_ready(&j->busy, qstate_n(&j->q))) return JOB_READ_NOMEM ;
  memset(j->busy.s, 0, qstate_n(&j->q)) ;
  j->busy.len = qstate_n(&j->q) ;
  return JOB_READ_OK ;
}

int job_entry (job *j, size_t off)
{
  int fd = j->fd ;
  if (fd < 0) return queue_open(j->id, off) ;
  j->fd = -1 ;
  if (lseek(fd, off, SEEK_SET) < 0) { fd_close(fd) ; return queue_open(j->id, off) ; }
  return fd ;
}

void job_entry_close (job *j)
{
  if (j->fd >= 0) { fd_close(j->fd) ; j->fd = -1 ; }
}

int job_fresh (job const *j)
{
  size_t n = qstate_n(&j->q), i = 0 ;
  for (; i < n ; i++) if (qstate_get(&j->q, i)->attempts || qstate_get(&j->q, i)->status != QSTATE_PENDING) return 0 ;
  return 1 ;
}

int job_done (job const *j)
{
  size_t i = 0, n = qstate_n(&j->q) ;
  for (; i < n ; i++) if (!outcome_done(qstate_get(&j->q, i)->status)) return 0 ;
  return 1 ;
}

void job_hold (job *j, unsigned int const *rcpts, size_t n, int on)
{
  size_t i = 0 ;
  for (; i < n ; i++) j->busy.s[rcpts[i]] = on ;
  if (on) j->inflight++ ; else j->inflight-- ;
}

void job_fail (job *j, size_t i, char const *text)
{
  outcome_fail(&j->q, i, text) ;
  j->dirty = 1 ;
}

int job_domain_forced (stralloc const *forced, char const *domain)
{
  size_t pos = 0 ;
  for (; pos < forced->len ; pos += strlen(forced->s + pos) + 1)
    if (!strcasecmp(domain, forced->s + pos)) return 1 ;
  return 0 ;
}

int job_due (job const *j, qstate_rcpt const *r, uint64_t now, stralloc const *forced)
{
  char const *at ;
  if (j->force || r->next <= now) return 1 ;
  at = j->forcedom ? strrchr(qstate_str(&j->q, r->addr), '@') : 0 ;
  return at && job_domain_forced(forced, at + 1) ;
}

int job_batch_put (stralloc *sa, job const *j, unsigned int const *rcpts, size_t n)
{
  genalloc rs = GENALLOC_ZERO ;   /* char const * */
  size_t k = 0 ;
  int f8 = !!(j->e.flags & ENVELOPE_F_8BIT), fu = !!(j->e.flags & ENVELOPE_F_SMTPUTF8), ok = 0 ;
  for (; k < n ; k++)
  {
    char const *a = qstate_str(&j->q, qstate_get(&j->q, rcpts[k])->addr) ;
    if (!genalloc_append(char const *, &rs, &a)) goto end ;
  }
  ok = report_job_put(sa, j->id, j->e.hdrlen, f8 && fu ? "8u" : f8 ? "8" : fu ? "u" : "-", envelope_sender(&j->e), genalloc_s(char const *, &rs), n) ;
 end:
  genalloc_free(char const *, &rs) ;
  return ok ;
}

lookup *job_looked (job *j, size_t i)
{
  lookup *l ;
  if (i >= genalloc_len(lookup, &j->looked)) return 0 ;
  l = genalloc_s(lookup, &j->looked) + i ;
  return l->kind != JOB_LOOKED_NONE ? l : 0 ;
}

/* recipient i's lookup, kept for the dispatch of this pass; *l is left empty */
static void looked_keep (job *j, size_t i, lookup *l)
{
  lookup none = LOOKUP_ZERO ;
  none.kind = JOB_LOOKED_NONE ;
  while (genalloc_len(lookup, &j->looked) <= i) if (!genalloc_append(lookup, &j->looked, &none)) return ;
  lookup_free(genalloc_s(lookup, &j->looked) + i) ;
  genalloc_s(lookup, &j->looked)[i] = *l ;
  none.kind = 0 ;
  *l = none ;
}

static void tell (job *j, job_event_func *f, void *data, unsigned int kind, char const *alias, char const *text, size_t rcpt, int err)
{
  job_event ev = { .kind = kind, .alias = alias, .text = text, .rcpt = rcpt, .err = err } ;
  f(j, &ev, data) ;
}

/* one recipient of an alias (lib/expand): added unless present already */
static void add_item (job *j, char const *text, expand_item const *it, char const *parent, genalloc *depth, job_event_func *f, void *data)
{
  switch (it->kind)
  {
    case EXPAND_I_RCPT : break ;
    case EXPAND_I_UNREADABLE : tell(j, f, data, JOB_EV_UNREADABLE, parent, text + 9, 0, it->err) ; return ;
    case EXPAND_I_TOODEEP : tell(j, f, data, JOB_EV_TOODEEP, parent, text, 0, 0) ; return ;
    case EXPAND_I_INCLUDE : return ;
    default : tell(j, f, data, JOB_EV_SKIPPED, parent, text, 0, 0) ; return ;
  }
  switch (expand_admit(&j->q, text))
  {
    case EXPAND_A_TOOMANY : tell(j, f, data, JOB_EV_TOOMANY, parent, text, 0, 0) ; return ;
    case EXPAND_A_KNOWN : return ;
    default : break ;
  }
  if (qstate_add_rcpt(&j->q, text, parent) && genalloc_append(unsigned int, depth, &it->depth))
  {
    char z = 0 ;
    stralloc_catb(&j->busy, &z, 1) ;
    j->dirty = 1 ;
    tell(j, f, data, JOB_EV_RCPT, parent, text, qstate_n(&j->q) - 1, 0) ;
  }
}

static void fail (job *j, size_t i, char const *text, job_event_func *f, void *data)
{
  job_fail(j, i, text) ;
  tell(j, f, data, JOB_EV_FAILED, 0, text, i, 0) ;
}

void job_expand (job *j, conf const *c, job_event_func *f, void *data)
{
  genalloc depth = GENALLOC_ZERO ;   /* unsigned int, by recipient: its alias nesting */
  lookup l = LOOKUP_ZERO ;
  size_t i = 0 ;
  for (; i < qstate_n(&j->q) ; i++)
  {
    unsigned int zero = 0 ;
    if (!genalloc_append(unsigned int, &depth, &zero)) break ;
  }
  for (i = 0 ; i < qstate_n(&j->q) ; i++)
  {
    qstate_rcpt *r = qstate_get(&j->q, i) ;
    char const *a ;
    unsigned int d = genalloc_s(unsigned int, &depth)[i] ;
    if (r->status != QSTATE_PENDING || r->attempts) continue ;
    a = qstate_str(&j->q, r->addr) ;
    if (a[0] == '/' || a[0] == '|') continue ;
    if (!lookup_address(&l, c, a)) continue ;   /* temporary: the dispatch retries the lookup */
    if (r->orig) lookup_aliased(&l) ;
    if (l.kind == LOOKUP_UNKNOWN) { fail(j, i, EXPAND_T_UNKNOWN, f, data) ; continue ; }
    if (l.kind != LOOKUP_ALIAS) { looked_keep(j, i, &l) ; continue ; }
    if (d >= EXPAND_DEPTH) { fail(j, i, EXPAND_T_TOODEEP, f, data) ; continue ; }
    {
      /* the alias: its entries are copied out (expand_entries), since qstate_add_rcpt may move q.sa */
      stralloc texts = STRALLOC_ZERO, parent = STRALLOC_ZERO ;
      genalloc items = GENALLOC_ZERO ;
      size_t k = 0 ;
      if (stralloc_cats(&parent, a) && stralloc_0(&parent)
       && expand_entries(c, l.sa.s + l.entries, l.entrieslen, d + 1, &texts, &items))
      {
        outcome_apply(&j->q, i, OUTCOME_EV_EXPAND) ;
        j->dirty = 1 ;
        for (; k < genalloc_len(expand_item, &items) ; k++)
        {
          expand_item const *it = genalloc_s(expand_item, &items) + k ;
          add_item(j, texts.s + it->text, it, parent.s, &depth, f, data) ;
        }
      }
      stralloc_free(&texts) ; stralloc_free(&parent) ;
      genalloc_free(expand_item, &items) ;
    }
  }
  lookup_free(&l) ;
  genalloc_free(unsigned int, &depth) ;
}
