/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/wait.h>

#include <skalibs/alloc.h>
#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include "report.h"
#include "rstream.h"

rstream *rstream_new (char const *domain, size_t max)
{
  size_t len = strlen(domain) ;
  rstream *s ;
  if (len > ADDRESS_DOMAIN_MAX) { errno = EINVAL ; return 0 ; }
  s = alloc(sizeof(rstream)) ;
  if (!s) return 0 ;
  memset(s, 0, sizeof(rstream)) ;
  {
    stralloc sz = STRALLOC_ZERO ;
    genalloc gz = GENALLOC_ZERO ;
    s->in = sz ; s->out = sz ; s->jobs = gz ;
  }
  s->state = RSTREAM_STARTING ;
  memcpy(s->domain, domain, len + 1) ;
  s->max = max ;
  s->fd = s->wfd = -1 ;
  return s ;
}

static void job_free (rstream_job *j)
{
  genalloc_free(unsigned int, &j->rcpts) ;
  stralloc_free(&j->seen) ;
}

void rstream_free (rstream *s)
{
  size_t k = 0 ;
  if (s->fd >= 0) fd_close(s->fd) ;
  if (s->wfd >= 0) fd_close(s->wfd) ;
  stralloc_free(&s->in) ;
  stralloc_free(&s->out) ;
  for (; k < rstream_njobs(s) ; k++) job_free(rstream_job_at(s, k)) ;
  genalloc_free(rstream_job, &s->jobs) ;
  alloc_free(s) ;
}

int rstream_open (rstream const *s)
{
  return s->state == RSTREAM_BUSY || s->state == RSTREAM_IDLE ;
}

int rstream_wants_write (rstream const *s)
{
  return s->wfd >= 0 && s->inpos < s->in.len ;
}

/* no more jobs (CLOSING): its fd 0 closes once all is written, which tells remote-send to QUIT after its last job */
static void no_more (rstream *s)
{
  if (rstream_open(s)) s->state = RSTREAM_CLOSING ;
  if (s->wfd >= 0 && s->inpos >= s->in.len && !rstream_open(s))
  {
    fd_close(s->wfd) ;
    s->wfd = -1 ;
    stralloc_free(&s->in) ;
    s->inpos = 0 ;
  }
}

void rstream_write (rstream *s)
{
  if (s->wfd < 0) return ;
  while (s->inpos < s->in.len)
  {
    ssize_t w = fd_write(s->wfd, s->in.s + s->inpos, s->in.len - s->inpos) ;
    if (w < 0)
    {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return ;
      /* it died: its report says what it did */
      s->in.len = s->inpos = 0 ;
      no_more(s) ;
      return ;
    }
    s->inpos += w ;
  }
  s->in.len = s->inpos = 0 ;
  if (!rstream_open(s)) no_more(s) ;
}

int rstream_add (rstream *s, void *owner, unsigned int const *rcpts, size_t n, char const *job, size_t len, tain const *now, unsigned int timeout)
{
  rstream_job j = { .owner = owner, .rcpts = GENALLOC_ZERO, .seen = STRALLOC_ZERO, .left = n, .done = 0 } ;
  size_t len0 = s->in.len ;
  if (s->state != RSTREAM_STARTING && !rstream_open(s)) { errno = EPIPE ; return 0 ; }
  if (!genalloc_catb(unsigned int, &j.rcpts, rcpts, n)
   || !stralloc_ready(&j.seen, n + 1)
   || !stralloc_catb(&s->in, job, len)
   || !genalloc_append(rstream_job, &s->jobs, &j))
  {
    s->in.len = len0 ;
    job_free(&j) ;
    return 0 ;
  }
  memset(j.seen.s, 0, n + 1) ;
  if (s->state == RSTREAM_STARTING) return 1 ;
  if (s->state == RSTREAM_IDLE)
  {
    /* it was idle: timeout delivery counts from now */
    s->state = RSTREAM_BUSY ;
    tain_addsec(&s->deadline, now, timeout) ;
  }
  if (rstream_njobs(s) >= s->max) no_more(s) ;
  rstream_write(s) ;
  return 1 ;
}

void rstream_start (rstream *s, pid_t pid, int fd, int wfd, int more, tain const *now, unsigned int timeout)
{
  s->pid = pid ;
  s->fd = fd ;
  s->wfd = wfd ;
  tain_addsec(&s->deadline, now, timeout) ;
  s->state = RSTREAM_BUSY ;
  if (!more || rstream_njobs(s) >= s->max) no_more(s) ;
  rstream_write(s) ;
}

void rstream_close (rstream *s, tain const *now, unsigned int timeout)
{
  if (!rstream_open(s)) return ;
  no_more(s) ;
  /* what it still has to do, and its QUIT, within the timeout */
  tain_addsec(&s->deadline, now, timeout) ;
}

void rstream_read (rstream *s, tain const *now, unsigned int timeout)
{
  char buf[4096] ;
  size_t max = RSTREAM_REPORT_MAX * (rstream_njobs(s) ? rstream_njobs(s) : 1) ;
  ssize_t r ;
  if (s->fd < 0) return ;
  r = fd_read(s->fd, buf, sizeof(buf)) ;
  if (r > 0)
  {
    if (s->out.len < max) stralloc_catb(&s->out, buf, (size_t)r > max - s->out.len ? max - s->out.len : (size_t)r) ;
    /* timeout delivery per job: the deadline moves with its reports (scheduler(8)) */
    if (s->state != RSTREAM_KILLED) tain_addsec(&s->deadline, now, timeout) ;
    return ;
  }
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ;
  /* its report at end of file: it is exiting, nothing more goes to it */
  fd_close(s->fd) ;
  s->fd = -1 ;
  no_more(s) ;
}

/* killed with its process group: the helpers it started go too */
static void rstream_kill (rstream *s)
{
  s->state = RSTREAM_KILLED ;
  if (s->pid > 0) { kill(-s->pid, SIGKILL) ; kill(s->pid, SIGKILL) ; }
  tain_addsec(&s->deadline, &s->deadline, 3600) ;
}

void rstream_check (rstream *s, tain const *now, int stopping, int all, unsigned int timeout)
{
  switch (s->state)
  {
    case RSTREAM_IDLE :
      /* an idle stream is not delivering: it waits for mail (or its end), not for its deadline */
      if (stopping || !tain_less(now, &s->idle)) rstream_close(s, now, timeout) ;
      return ;
    case RSTREAM_BUSY :
    case RSTREAM_CLOSING :
      if (all || !tain_less(now, &s->deadline)) rstream_kill(s) ;
      return ;
    default : return ;
  }
}

void rstream_deadline (rstream const *s, tain *deadline)
{
  tain const *t = s->state == RSTREAM_IDLE ? &s->idle : &s->deadline ;
  if (s->state == RSTREAM_STARTING || s->state == RSTREAM_EXITED) return ;
  if (tain_less(t, deadline)) *deadline = *t ;
}

void rstream_reaped (rstream *s, int wstat)
{
  s->why = s->state == RSTREAM_KILLED ? "remote-send timed out"
    : WIFSIGNALED(wstat) ? "remote-send crashed"
    : "remote-send gave no report for this recipient" ;
  if (s->fd >= 0)
  {
    size_t max = RSTREAM_REPORT_MAX * rstream_njobs(s) ;
    char buf[4096] ;
    for (;;)
    {
      ssize_t r = fd_read(s->fd, buf, sizeof(buf)) ;
      if (r <= 0) break ;
      if (s->out.len < max) stralloc_catb(&s->out, buf, (size_t)r > max - s->out.len ? max - s->out.len : (size_t)r) ;
    }
  }
  s->state = RSTREAM_EXITED ;
}

/* a job's recipient k has its result */
static void got (rstream *s, rstream_job *j, size_t k, tain const *now, rstream_result *res)
{
  size_t i = 0 ;
  j->seen.s[k] = 1 ;
  res->job = j ;
  res->rcpt = genalloc_s(unsigned int, &j->rcpts)[k] ;
  res->last = !--j->left ;
  if (!res->last) return ;
  j->done = 1 ;
  if (s->state != RSTREAM_BUSY) return ;
  for (; i < rstream_njobs(s) ; i++) if (!rstream_job_at(s, i)->done) return ;
  s->state = RSTREAM_IDLE ;
  tain_addsec(&s->idle, now, RSTREAM_LINGER) ;
}

int rstream_next (rstream *s, tain const *now, rstream_result *res)
{
  size_t k ;
  while (s->outpos < s->out.len)
  {
    char *line = s->out.s + s->outpos ;
    size_t len = byte_chr(line, s->out.len - s->outpos, '\n') ;
    unsigned int jb, index ;
    char const *text ;
    int kind ;
    rstream_job *j ;
    if (s->outpos + len >= s->out.len) break ;   /* no newline (yet) */
    line[len] = 0 ;
    s->outpos += len + 1 ;
    kind = report_parse_job(line, &jb, &index, &text) ;
    if (kind < 0 || jb >= rstream_njobs(s)) continue ;
    j = rstream_job_at(s, jb) ;
    if (j->done || index >= genalloc_len(unsigned int, &j->rcpts) || j->seen.s[index]) continue ;
    res->kind = kind ;
    res->text = text ;
    res->len = strlen(text) ;
    got(s, j, index, now, res) ;
    return 1 ;
  }
  if (s->outpos)
  {
    memmove(s->out.s, s->out.s + s->outpos, s->out.len - s->outpos) ;
    s->out.len -= s->outpos ;
    s->outpos = 0 ;
  }
  if (s->state != RSTREAM_EXITED) return 0 ;
  for (k = 0 ; k < rstream_njobs(s) ; k++)
  {
    rstream_job *j = rstream_job_at(s, k) ;
    size_t i = 0 ;
    if (j->done) continue ;
    while (j->seen.s[i]) i++ ;
    res->kind = KETCH_RESULT_TEMP ;
    res->text = s->why ;
    res->len = strlen(s->why) ;
    got(s, j, i, now, res) ;
    return 1 ;
  }
  return 0 ;
}

rstream *rstream_find (rstream *const *v, size_t n, char const *domain, int busy_ok)
{
  rstream *best = 0 ;
  size_t i = 0 ;
  for (; i < n ; i++)
  {
    rstream *s = v[i] ;
    if (!rstream_open(s) || strcasecmp(s->domain, domain)) continue ;
    if (s->state == RSTREAM_IDLE) return s ;
    if (busy_ok && (!best || rstream_njobs(s) < rstream_njobs(best))) best = s ;
  }
  return best ;
}

unsigned int rstream_count (rstream *const *v, size_t n, char const *domain)
{
  unsigned int k = 0 ;
  size_t i = 0 ;
  for (; i < n ; i++) if (!strcmp(v[i]->domain, domain)) k++ ;
  return k ;
}

rstream *rstream_take (genalloc *list, pid_t pid)
{
  size_t n = genalloc_len(rstream *, list), i = 0 ;
  for (; i < n ; i++)
  {
    rstream *s = genalloc_s(rstream *, list)[i] ;
    if (s->pid != pid) continue ;
    genalloc_s(rstream *, list)[i] = genalloc_s(rstream *, list)[n-1] ;
    genalloc_setlen(rstream *, list, n - 1) ;
    return s ;
  }
  return 0 ;
}
