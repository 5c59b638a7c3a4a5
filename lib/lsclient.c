/* ISC license: see LICENSE. */

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/unixmessage.h>

#include "exitcodes.h"
#include "lspawn.h"
#include "lsclient.h"

pid_t lsclient_fork (lsclient *l, char const **what)
{
  int req[2], rep[2] ;
  pid_t pid ;
  *what = "pipe" ;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, req) < 0) return -1 ;
  if (pipe(rep) < 0) { fd_close(req[0]) ; fd_close(req[1]) ; return -1 ; }
  *what = "fork" ;
  pid = fork() ;
  if (pid < 0) { fd_close(req[0]) ; fd_close(req[1]) ; fd_close(rep[0]) ; fd_close(rep[1]) ; return -1 ; }
  if (!pid)
  {
    fd_close(req[1]) ; fd_close(rep[0]) ;
    if (fd_move(0, req[0]) < 0 || fd_move(1, rep[1]) < 0) _exit(KETCH_EX_TEMP) ;
    return 0 ;
  }
  fd_close(req[0]) ; fd_close(rep[1]) ;
  l->pid = pid ; l->w = req[1] ; l->r = rep[0] ;
  *what = "set up the local-spawn pipes" ;
  if (coe(l->w) < 0 || coe(l->r) < 0 || ndelay_on(l->r) < 0) return -1 ;
  unixmessage_sender_init(&l->s, l->w) ;
  return pid ;
}

unsigned int lsclient_request (lsclient *l, int fd, char const *id, unsigned int timeout, char const *sender, char const *rcpt, char const *orig)
{
  unsigned int tag = ++l->tag ;
  if (!tag) tag = ++l->tag ;
  l->req.len = 0 ;
  return lspawn_request(&l->req, tag, id, timeout, sender, rcpt, orig) && lspawn_send(&l->s, l->req.s, l->req.len, &fd, 1) ? tag : 0 ;
}

int lsclient_reload (lsclient *l)
{
  return lspawn_send(&l->s, LSPAWN_RELOAD, sizeof(LSPAWN_RELOAD), 0, 0) ;
}

int lsclient_read (lsclient *l, stralloc *sa)
{
  char b[4096] ;
  for (;;)
  {
    ssize_t r = fd_read(l->r, b, sizeof(b)) ;
    if (!r) return 0 ;
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1 ;
    if (!stralloc_catb(sa, b, r)) return -2 ;
    /* drained: a read more would only hear EAGAIN; the poll wakes us for the rest (and for the end) */
    if ((size_t)r < sizeof(b)) return 1 ;
  }
}
