/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>

#include "keyd.h"

size_t keyd_hash_len (unsigned int id)
{
  static size_t const len[7] = { 0, 0, 20, 28, 32, 48, 64 } ;
  return id < 7 ? len[id] : 0 ;
}

int keyd_req_parse (char const *s, size_t len, keyd_req *r)
{
  if (!len) return 0 ;
  r->type = s[0] ;
  r->hash_id = 0 ;
  r->data = r->pass = 0 ;
  r->len = r->passlen = 0 ;
  if (s[0] == KEYD_KEY) return len == 1 ;
  if (len < 2) return 0 ;
  if (s[0] == KEYD_SIGN)
  {
    r->hash_id = (unsigned char)s[1] ;
    r->data = s + 2 ;
    r->len = len - 2 ;
    return keyd_hash_len(r->hash_id) && r->len == keyd_hash_len(r->hash_id) ;
  }
  if (s[0] == KEYD_AUTH)
  {
    size_t ulen = (unsigned char)s[1] ;
    if (!ulen || len < 2 + ulen || len - 2 - ulen > KEYD_PASS_MAX) return 0 ;
    r->data = s + 2 ;
    r->len = ulen ;
    r->pass = s + 2 + ulen ;
    r->passlen = len - 2 - ulen ;
    return !memchr(r->pass, 0, r->passlen) ;
  }
  if (s[0] == KEYD_SAVE || s[0] == KEYD_LOAD)
  {
    r->data = s + 1 ;
    r->len = KEYD_SESSION_ID ;
    if (s[0] == KEYD_LOAD) return len == 1 + KEYD_SESSION_ID ;
    r->pass = s + 1 + KEYD_SESSION_ID ;
    r->passlen = KEYD_SESSION_PARAMS ;
    return len == 1 + KEYD_SESSION_ID + KEYD_SESSION_PARAMS ;
  }
  return 0 ;
}

size_t keyd_sign_fmt (char *buf, unsigned int id, char const *hash, size_t len)
{
  if (!keyd_hash_len(id) || len != keyd_hash_len(id)) return 0 ;
  buf[0] = KEYD_SIGN ;
  buf[1] = (char)id ;
  memcpy(buf + 2, hash, len) ;
  return 2 + len ;
}

size_t keyd_auth_fmt (char *buf, char const *user, size_t ulen, char const *pass, size_t plen)
{
  if (!ulen || ulen > KEYD_USER_MAX || plen > KEYD_PASS_MAX) return 0 ;
  buf[0] = KEYD_AUTH ;
  buf[1] = (char)(unsigned char)ulen ;
  memcpy(buf + 2, user, ulen) ;
  memcpy(buf + 2 + ulen, pass, plen) ;
  return 2 + ulen + plen ;
}

size_t keyd_save_fmt (char *buf, char const *id, char const *params)
{
  buf[0] = KEYD_SAVE ;
  memcpy(buf + 1, id, KEYD_SESSION_ID) ;
  memcpy(buf + 1 + KEYD_SESSION_ID, params, KEYD_SESSION_PARAMS) ;
  return 1 + KEYD_SESSION_ID + KEYD_SESSION_PARAMS ;
}

size_t keyd_load_fmt (char *buf, char const *id)
{
  buf[0] = KEYD_LOAD ;
  memcpy(buf + 1, id, KEYD_SESSION_ID) ;
  return 1 + KEYD_SESSION_ID ;
}

/* waits until fd is ready for events; 1, or 0 (errno) */
static int ready (int fd, char events, tain const *deadline)
{
  iopause_fd x = { .fd = fd, .events = events, .revents = 0 } ;
  int r = iopause_g(&x, 1, deadline) ;
  if (r < 0) return 0 ;
  if (!r) return (errno = ETIMEDOUT, 0) ;
  return 1 ;
}

/* The door is shared by every session and by the listener: its file
   status flags are too, so we never set O_NONBLOCK on it, and say
   MSG_DONTWAIT per call instead. */
int keyd_open (int door, tain const *deadline)
{
  int p[2] ;
  char c = 'k' ;
  struct iovec v = { .iov_base = &c, .iov_len = 1 } ;
  union { struct cmsghdr h ; char buf[CMSG_SPACE(sizeof(int))] ; } u ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) } ;
  struct cmsghdr *h ;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) return -1 ;
  memset(u.buf, 0, sizeof(u.buf)) ;
  h = CMSG_FIRSTHDR(&m) ;
  h->cmsg_level = SOL_SOCKET ;
  h->cmsg_type = SCM_RIGHTS ;
  h->cmsg_len = CMSG_LEN(sizeof(int)) ;
  memcpy(CMSG_DATA(h), &p[1], sizeof(int)) ;
  for (;;)
  {
    if (sendmsg(door, &m, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) break ;
    if (!error_isagain(errno) || !ready(door, IOPAUSE_WRITE, deadline)) goto err ;
  }
  fd_close(p[1]) ;
  return p[0] ;
 err:
  {
    int e = errno ;
    fd_close(p[0]) ;
    fd_close(p[1]) ;
    errno = e ;
  }
  return -1 ;
}

/* The reply is waited for before the first recv: smtp-keyd has to be
   woken and to answer, and a recv tried at once fails with EAGAIN (three
   system calls for nothing per STARTTLS: the key type and the signature;
   t/bench/README.md). */
ssize_t keyd_call (int ch, char const *req, size_t len, char *rep, tain const *deadline)
{
  ssize_t r ;
  for (;;)
  {
    if (send(ch, req, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len) break ;
    if (!error_isagain(errno) || !ready(ch, IOPAUSE_WRITE, deadline)) return -1 ;
  }
  for (;;)
  {
    if (!ready(ch, IOPAUSE_READ, deadline)) return -1 ;
    r = recv(ch, rep, KEYD_REP_MAX, MSG_DONTWAIT) ;
    if (r > 0) return r ;
    if (!r) return (errno = EPIPE, -1) ;
    if (!error_isagain(errno)) return -1 ;
  }
}

/* A save is worth no wait: the channel's buffer is empty (every request
   before this one was answered), so a full one means smtp-keyd is stuck,
   and the session is then not cached. */
int keyd_post (int ch, char const *req, size_t len)
{
  return send(ch, req, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len ;
}
