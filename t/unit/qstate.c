/* ISC license: see LICENSE. */

#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "qstate.h"
#include "tap.h"

static int decodes (char const *s)
{
  qstate q = QSTATE_ZERO ;
  int r = qstate_decode(&q, s, strlen(s)) ;
  qstate_free(&q) ;
  return r ;
}

int main (void)
{
  envelope e = ENVELOPE_ZERO ;
  qstate q = QSTATE_ZERO, d = QSTATE_ZERO ;
  stralloc sa = STRALLOC_ZERO, sb = STRALLOC_ZERO ;
  tap_plan(13) ;
  ok(envelope_init(&e, "s@x") && envelope_add_rcpt(&e, "a@x") && envelope_add_rcpt(&e, "list@x"), "envelope") ;
  ok(qstate_from_envelope(&q, &e) && qstate_n(&q) == 2 && !q.flags, "initial state from the envelope, not held") ;
  ok(envelope_set_hold(&e, "spam") && qstate_from_envelope(&q, &e) && q.flags == QSTATE_F_HOLD && qstate_n(&q) == 2, "an envelope held at entry: the initial state is held") ;
  e.flags &= ~ENVELOPE_F_HOLD ;
  ok(qstate_from_envelope(&q, &e) && !q.flags, "... and qstate_from_envelope starts afresh") ;
  qstate_get(&q, 0)->status = QSTATE_DEFERRED ;
  qstate_get(&q, 0)->attempts = 3 ;
  qstate_get(&q, 0)->next = 1795240953 ;
  ok(qstate_set_result(&q, 0, "451 4.3.0 try\tlater\r\n", 21), "result") ;
  qstate_get(&q, 1)->status = QSTATE_EXPANDED ;
  ok(qstate_add_rcpt(&q, "b@x", "list@x"), "expansion") ;
  q.flags = QSTATE_F_HOLD | QSTATE_F_WARNED ;
  ok(qstate_encode(&q, &sa), "encode") ;
  ok(qstate_decode(&d, sa.s, sa.len) && qstate_encode(&d, &sb) && sa.len == sb.len && !memcmp(sa.s, sb.s, sa.len), "round trip") ;
  ok(!strcmp(qstate_str(&d, qstate_get(&d, 0)->result), "451 4.3.0 try later  "), "result kept on one line") ;
  ok(!decodes("ketch-state 1\t-\npending\t0\t0\ta@x\t-\n") && errno == EINVAL, "short line refused") ;
  {
    /* a released message: its state file says not held, and qstate_read takes the file over the envelope */
    char dir[] = "/tmp/ketch-unit-qstate.XXXXXX" ;
    char const *id = "006b01754abaf1d0077cb041" ;
    qstate r = QSTATE_ZERO ;
    int ok1 = 0, ok2 = 0 ;
    if (mkdtemp(dir) && chdir(dir) == 0 && mkdir("tmp", 0700) == 0 && mkdir("state", 0700) == 0)
    {
      envelope_set_hold(&e, 0) ;
      ok1 = qstate_read(&r, id, &e) && r.flags == QSTATE_F_HOLD ;
      ok2 = ok1 && !r.stored ;
      r.flags &= ~QSTATE_F_HOLD ;
      ok1 = ok1 && qstate_write(&r, id) ;
      ok2 = ok2 && r.stored ;
      r.stored = 0 ;
      ok1 = ok1 && qstate_read(&r, id, &e) && !r.flags ;
      ok2 = ok2 && r.stored ;
      unlink("state/41/006b01754abaf1d0077cb041") ; rmdir("state/41") ; rmdir("state") ; rmdir("tmp") ;
      if (chdir("/") == 0) rmdir(dir) ;
    }
    ok(ok1, "held by the envelope until a state file says otherwise") ;
    ok(ok2, "stored: not when read without a state file, then once written, and when read from one") ;
    qstate_free(&r) ;
  }
  ok(!decodes("ketch-state 1\tbogus\npending\t0\t0\ta@x\t-\t-\n") && errno == EINVAL, "unknown flag refused") ;
  return tap_done() ;
}
