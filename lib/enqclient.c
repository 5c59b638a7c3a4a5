/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/socket.h>

#include "queue.h"
#include "netstr.h"
#include "enqclient.h"

int enqclient_connect (char const *path)
{
  int fd = ipc_stream_internal(O_CLOEXEC) ;
  if (fd < 0) return -1 ;
  if (ipc_connect(fd, path) < 0)
  {
    int e = errno ;
    fd_close(fd) ;
    errno = e ;
    return -1 ;
  }
  return fd ;
}

int enqclient_request (int fd, char const *sender, char const *auth, char const *rcpts, size_t rlen)
{
  stralloc sa = STRALLOC_ZERO ;
  int ok = netstr_field(&sa, sender) && netstr_field(&sa, auth ? auth : "")
    && stralloc_catb(&sa, rcpts, rlen) && netstr_seal(&sa, 0, ENQCLIENT_REQUEST_MAX)
    && allwrite(fd, sa.s, sa.len) == sa.len ;
  stralloc_free(&sa) ;
  return ok ;
}

/* the rest of the answer, to end of file, into diag (if any); bounded */
static void drain (int fd, stralloc *diag)
{
  char buf[1024] ;
  for (;;)
  {
    ssize_t r = fd_read(fd, buf, sizeof(buf)) ;
    if (r <= 0) break ;
    if (diag && diag->len < 4096) stralloc_catb(diag, buf, r) ;
  }
}

/* "CODE\n" at the start of s[0..n), an exit code of 1 to 3 digits: the
   code, or -1. The buffer is not terminated: nothing past n is read. */
static int scan_code (char const *s, size_t n, size_t *used)
{
  unsigned int code = 0 ;
  size_t k = 0 ;
  for (; k < n && k < 3 && s[k] >= '0' && s[k] <= '9' ; k++) code = code * 10 + (unsigned int)(s[k] - '0') ;
  if (!k || k >= n || s[k] != '\n' || code > 255) return -1 ;
  *used = k + 1 ;
  return (int)code ;
}

int enqclient_id (int fd, char *id, tain const *deadline, int *status, stralloc *diag)
{
  char buf[QUEUE_ID_LEN + 1] ;
  size_t n = 0, used ;
  /* exactly the id line: what follows it belongs to enqclient_status */
  while (n < sizeof(buf))
  {
    ssize_t r ;
    if (deadline)
    {
      iopause_fd x = { .fd = fd, .events = IOPAUSE_READ, .revents = 0 } ;
      int e = iopause_g(&x, 1, deadline) ;
      if (e < 0) break ;
      if (!e) { errno = ETIMEDOUT ; break ; }
    }
    r = fd_read(fd, buf + n, sizeof(buf) - n) ;
    if (r < 0 && deadline && error_isagain(errno)) continue ;
    if (r <= 0) break ;
    n += r ;
    if (memchr(buf, '\n', n)) break ;
  }
  if (n == sizeof(buf) && buf[QUEUE_ID_LEN] == '\n' && queue_id_valid(buf, QUEUE_ID_LEN))
  {
    memcpy(id, buf, QUEUE_ID_LEN) ;
    id[QUEUE_ID_LEN] = 0 ;
    return 1 ;
  }
  *status = scan_code(buf, n, &used) ;
  if (*status >= 0)
  {
    if (diag) stralloc_catb(diag, buf + used, n - used) ;
    drain(fd, diag) ;
  }
  return 0 ;
}

int enqclient_status (int fd, stralloc *diag)
{
  char buf[1024] ;
  size_t n = 0, used ;
  int code ;
  for (;;)
  {
    ssize_t r = fd_read(fd, buf + n, sizeof(buf) - n) ;
    if (r <= 0) break ;
    n += r ;
    if (memchr(buf, '\n', n) || n == sizeof(buf)) break ;
  }
  code = scan_code(buf, n, &used) ;
  if (code < 0) code = 111 ;
  /* a success has no words: no read for the end of file */
  else if (code)
  {
    if (diag) stralloc_catb(diag, buf + used, n - used) ;
    drain(fd, diag) ;
  }
  fd_close(fd) ;
  return code ;
}
