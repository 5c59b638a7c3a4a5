/* ISC license: see LICENSE. */

/*
 * lib/ldlv: a local delivery's result from its end (exit code, signal,
 * timeout, local-spawn's report) and its stderr, read as it comes and
 * kept up to LDLV_OUT_MAX; a delivery taken out of the scheduler's list.
 */

#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/djbunix.h>

#include "exitcodes.h"
#include "ldlv.h"
#include "tap.h"

/* d's stderr, a pipe holding s, its write end closed */
static void feed (ldlv *d, char const *s, size_t len)
{
  int p[2] ;
  if (pipe(p) < 0) return ;
  ndelay_on(p[0]) ;
  if (len && write(p[1], s, len) != (ssize_t)len) return ;
  close(p[1]) ;
  d->fd = p[0] ;
}

static int is (enum ketch_result kind, char const *text, size_t len, enum ketch_result wkind, char const *wtext)
{
  return kind == wkind && len == strlen(wtext) && !memcmp(text, wtext, len) ;
}

int main (void)
{
  genalloc list = GENALLOC_ZERO ;   /* ldlv * */
  char const *text ;
  size_t len ;
  enum ketch_result k ;
  ldlv *d = ldlv_new(0, 3), *e ;
  tap_plan(13) ;
  ok(d && d->rcpt == 3 && d->fd == -1 && !d->pid && !d->killed && !d->out.len, "a new delivery: its recipient, no fd") ;

  feed(d, "maildir: deliver\nmailbox full\n", 30) ;
  k = ldlv_result(d, KETCH_EX_TEMP << 8, &text, &len) ;
  ok(is(k, text, len, KETCH_RESULT_TEMP, "mailbox full") && d->fd == -1, "exit 111: temporary, the last stderr line, the fd read to its end and closed") ;

  d->out.len = 0 ;
  feed(d, "", 0) ;
  k = ldlv_result(d, 0, &text, &len) ;
  ok(is(k, text, len, KETCH_RESULT_OK, "delivered"), "exit 0, nothing said: delivered") ;
  k = ldlv_result(d, KETCH_EX_PERM << 8, &text, &len) ;
  ok(is(k, text, len, KETCH_RESULT_PERM, "local-deliver failed"), "exit 100, nothing said: permanent, failed") ;
  k = ldlv_result(d, SIGKILL, &text, &len) ;
  ok(k == KETCH_RESULT_TEMP && is(k, text, len, KETCH_RESULT_TEMP, "local-deliver crashed"), "a signal: temporary, crashed") ;
  stralloc_cats(&d->out, "said something\n") ;
  d->killed = 1 ;
  k = ldlv_result(d, 0, &text, &len) ;
  ok(is(k, text, len, KETCH_RESULT_TEMP, "local delivery timed out"), "killed at its deadline: temporary, whatever it said or exited with") ;
  d->killed = 0 ;

  d->out.len = 0 ;
  stralloc_cats(&d->out, "5.1.1 no such mailbox") ;
  k = ldlv_result(d, KETCH_EX_PERM << 8, &text, &len) ;
  ok(is(k, text, len, KETCH_RESULT_PERM, "5.1.1 no such mailbox"), "local-spawn's report text (in out, no fd)") ;

  {
    stralloc big = STRALLOC_ZERO ;
    int p[2] ;
    size_t n = 0 ;
    d->out.len = 0 ;
    while (big.len < LDLV_OUT_MAX + 8192) stralloc_cats(&big, "0123456789abcdef") ;
    if (pipe(p) < 0) return 111 ;
    ndelay_on(p[0]) ; ndelay_on(p[1]) ;
    d->fd = p[0] ;
    while (n < big.len)
    {
      ssize_t w = write(p[1], big.s + n, big.len - n) ;
      if (w > 0) n += w ;
      while (ldlv_read(d)) ;
    }
    close(p[1]) ;
    ldlv_read(d) ;
    ok(d->out.len == LDLV_OUT_MAX && d->fd == -1, "stderr kept up to LDLV_OUT_MAX, read to its end (%zu)", d->out.len) ;
    stralloc_free(&big) ;
  }

  e = ldlv_new(0, 5) ;
  genalloc_append(ldlv *, &list, &d) ;
  genalloc_append(ldlv *, &list, &e) ;
  ok(ldlv_take(&list, 0) == d && genalloc_len(ldlv *, &list) == 1 && genalloc_s(ldlv *, &list)[0] == e, "taken out: the last takes its place") ;
  ok(ldlv_take(&list, 0) == e && !genalloc_len(ldlv *, &list), "the last taken out: empty") ;
  /* ldlv_find: a child's by its pid, local-spawn's (pid 0) by its tag */
  d->pid = 42 ; d->tag = 7 ; e->pid = 0 ; e->tag = 7 ;
  genalloc_append(ldlv *, &list, &d) ;
  genalloc_append(ldlv *, &list, &e) ;
  ok(!ldlv_find(&list, 43, 0) && !ldlv_find(&list, 0, 8) && genalloc_len(ldlv *, &list) == 2, "none found: the list stays") ;
  ok(ldlv_find(&list, 0, 7) == e && genalloc_len(ldlv *, &list) == 1, "local-spawn's by its tag, not a child's with the same tag") ;
  ok(ldlv_find(&list, 42, 0) == d && !genalloc_len(ldlv *, &list), "a child's by its pid, taken out") ;
  ldlv_free(d) ; ldlv_free(e) ;
  genalloc_free(ldlv *, &list) ;
  return tap_done() ;
}
