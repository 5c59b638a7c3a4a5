/* ISC license: see LICENSE. */

/*
 * local-deliver: one delivery of one message to one local recipient,
 * into a Maildir, an mbox, or an MDA program, or over LMTP (lib/deliver
 * does it). The scheduler runs it as the recipient user, with the queue
 * entry on fd 0 positioned at the message. Exit 0 delivered, 100
 * permanent failure, 111 temporary failure; one line on stderr says why.
 * The exact argv is in local-deliver(8).
 */

#include <errno.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include "exitcodes.h"
#include "conf.h"
#include "deliver.h"

#define USAGE "local-deliver [ -t timeout ] [ -e extension ] [ -o original ] [ -d domain ] [ -F ] [ -C conf ] sender recipient user home maildir DIR | mbox FILE | mda PROGRAM [ ARG... ] | lmtp unix:PATH|HOST:PORT"

int main (int argc, char const *const *argv)
{
  deliver d = DELIVER_ZERO ;
  deliver_req r = DELIVER_REQ_ZERO ;
  stralloc text = STRALLOC_ZERO ;
  enum ketch_result res ;
  PROG = "local-deliver" ;
  if (argc < 1 || !deliver_req_argv(&r, argc, argv)) strerr_dieusage(KETCH_EX_PERM, USAGE) ;
  if (r.forward)
  {
    /* a forward goes into the queue of this configuration */
    static conf c ;
    if (!conf_load_default(&c, r.conffile, &text))
      strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, text.len ? text.s : "unable to load the configuration") ;
    r.cf = &c ;
    text.len = 0 ;
  }
  r.fd = 0 ;
  /* an MDA's words go to our stderr, before our own last one */
  r.out = 2 ;
  res = deliver_run(&d, &r, &text) ;
  if (res == KETCH_RESULT_OK) strerr_warni(text.len ? text.s : "delivered") ;
  else strerr_dief(res == KETCH_RESULT_PERM ? KETCH_EX_PERM : KETCH_EX_TEMP, text.len ? text.s : "delivery failed") ;
  return 0 ;
}
