/* ISC license: see LICENSE. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netdb.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/ip46.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "smtpclient.h"
#include "smtpdata.h"
#include "lmtp.h"

#define S(x) x, sizeof(x) - 1
#define CHUNK (64 * 1024)   /* message octets read, and wire octets gathered, per step */

/* text: the pieces (up to a null pointer). Returns r */
static enum ketch_result said (stralloc *text, enum ketch_result r, char const *const *s)
{
  text->len = 0 ;
  for (; *s ; s++) stralloc_cats(text, *s) ;
  if (stralloc_0(text)) text->len-- ;
  return r ;
}
#define say(text, r, ...) said(text, r, (char const *const[]){ __VA_ARGS__, 0 })

/* text: the pieces said, then the reply as one line, controls blanked (it is logged). Returns r */
static enum ketch_result with_reply (stralloc *text, enum ketch_result r, smtpreply const *reply)
{
  size_t i = text->len ;
  if (smtpreply_oneline(reply, text)) for (; i < text->len ; i++) if ((unsigned char)text->s[i] < 32) text->s[i] = ' ' ;
  if (stralloc_0(text)) text->len-- ;
  return r ;
}

/* connected to target, unix:PATH or HOST:PORT, by the deadline: the socket, nonblocking; or -1 with text */
static int connect_to (char const *target, tain const *deadline, stralloc *text)
{
  if (!strncmp(target, S("unix:")))
  {
    char const *file = target + sizeof("unix:") - 1 ;
    int fd ;
    if (strlen(file) >= sizeof(((struct sockaddr_un *)0)->sun_path)) return (say(text, KETCH_RESULT_TEMP, "lmtp socket path too long: ", file), -1) ;
    fd = ipc_stream_nbcoe() ;
    if (fd < 0) return (say(text, KETCH_RESULT_TEMP, "unable to create a socket: ", strerror(errno)), -1) ;
    if (!ipc_timed_connect_g(fd, file, deadline))
    {
      say(text, KETCH_RESULT_TEMP, "unable to connect to ", target, ": ", strerror(errno)) ;
      fd_close(fd) ;
      return -1 ;
    }
    return fd ;
  }
  {
    char const *colon = strrchr(target, ':') ;
    struct addrinfo hints, *res = 0, *ai ;
    size_t n = colon ? (size_t)(colon - target) : 0 ;
    char host[256] ;
    int fd = -1, e ;
    if (!colon || !n || n >= sizeof(host)) return (say(text, KETCH_RESULT_TEMP, "bad lmtp target: ", target), -1) ;
    memcpy(host, target, n) ; host[n] = 0 ;
    if (host[0] == '[' && host[n-1] == ']') { memmove(host, host + 1, n - 2) ; host[n-2] = 0 ; }
    memset(&hints, 0, sizeof(hints)) ;
    hints.ai_socktype = SOCK_STREAM ;
    e = getaddrinfo(host, colon + 1, &hints, &res) ;
    if (e) return (say(text, KETCH_RESULT_TEMP, "unable to resolve ", host, ": ", gai_strerror(e)), -1) ;
    /* the addresses in turn, all within the one deadline of the connection step */
    for (ai = res ; ai ; ai = ai->ai_next)
    {
      int is6 = ai->ai_family == AF_INET6 ;
      ip46 ip ;
      uint16_t port ;
      if (is6) { ip46_from_ip6(&ip, (char const *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr) ; port = ntohs(((struct sockaddr_in6 *)ai->ai_addr)->sin6_port) ; }
      else if (ai->ai_family == AF_INET) { ip46_from_ip4(&ip, (char const *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr) ; port = ntohs(((struct sockaddr_in *)ai->ai_addr)->sin_port) ; }
      else continue ;
      fd = socket_tcp46_nbcoe(is6) ;
      if (fd < 0) continue ;
      if (socket_deadlineconnstamp46_g(fd, &ip, port, deadline)) break ;
      fd_close(fd) ; fd = -1 ;
    }
    if (fd < 0) say(text, KETCH_RESULT_TEMP, "unable to connect to ", target, ": ", strerror(errno)) ;
    freeaddrinfo(res) ;
    return fd ;
  }
}

/*
 * The whole lines of raw (up to its last LF; all of it at the end) onto
 * wire as DATA (lib/smtpdata), the rest kept in raw. smtpdata_encode
 * decides dot-stuffing and line ends within a line, so encoding a
 * message a run of whole lines at a time gives what encoding it at once
 * gives, less the final ".\r\n" of every run but the last: the message
 * never needs to be held whole. Invariant: raw holds no LF before from
 * (what is kept is part of a line), so a long line is scanned once.
 * 1, or 0 (ENOMEM).
 */
static int encode (stralloc *raw, size_t from, stralloc *wire, int end)
{
  size_t i = from + byte_rchr(raw->s + from, raw->len - from, '\n') ;
  size_t n = end ? raw->len : i < raw->len ? i + 1 : 0 ;
  uint64_t size ;
  int eightbit = 0 ;
  if (!n && !end) return 1 ;
  if (!smtpdata_encode(raw->s, n, wire, &size, &eightbit)) return 0 ;
  if (!end) wire->len -= 3 ;
  memmove(raw->s, raw->s + n, raw->len - n) ;
  raw->len -= n ;
  return 1 ;
}

/*
 * The message after the 354: pre, head, then fd to its end, sent in
 * blocks of at least CHUNK octets. A block goes out only once more of
 * the message is read, so the final dot always leaves with the last
 * lines (smtpc_data). OK, or TEMP with text.
 */
static enum ketch_result body (smtpc *c, char const *target, unsigned int timeout, char const *pre, size_t prelen,
  char const *head, size_t headlen, int fd, stralloc *raw, stralloc *wire, stralloc *text)
{
  if (!stralloc_catb(raw, pre, prelen) || !stralloc_catb(raw, head, headlen) || !encode(raw, 0, wire, 0)) goto nomem ;
  for (;;)
  {
    ssize_t n ;
    if (!stralloc_readyplus(raw, CHUNK)) goto nomem ;
    n = fd_read(fd, raw->s + raw->len, CHUNK) ;
    if (n < 0) return say(text, KETCH_RESULT_TEMP, "unable to read the message: ", strerror(errno)) ;
    if (!n) break ;
    if (wire->len >= CHUNK)
    {
      if (!smtpc_data(c, wire->s, wire->len, timeout)) goto write ;
      wire->len = 0 ;
    }
    raw->len += n ;
    if (!encode(raw, raw->len - n, wire, 0)) goto nomem ;
  }
  if (!encode(raw, 0, wire, 1)) goto nomem ;
  if (!smtpc_data(c, wire->s, wire->len, timeout)) goto write ;
  return KETCH_RESULT_OK ;
 write:
  return say(text, KETCH_RESULT_TEMP, "unable to write to ", target, ": ", smtpc_error(c)) ;
 nomem:
  return say(text, KETCH_RESULT_TEMP, "unable to allocate: ", strerror(errno)) ;
}

/*
 * What a reply other than the one a step wants means, by its class (RFC
 * 5321 §4.2.1: 4yz a transient negative completion, 5yz a permanent
 * one; RFC 2033 §4.2: after the dot, one such reply per recipient).
 * The enhanced code (RFC 3463 §2) never overrides the class: it is the
 * server's word on what went wrong, and the server has already chosen
 * the class. Dovecot's quota is the case in point: a mailbox over quota
 * (RFC 3463 §3.3, X.2.2 "mailbox full") is answered 552 5.2.2 by
 * default, a permanent failure bounced with an RFC 3464 DSN, or 452
 * 4.2.2 with quota_full_tempfail = yes, a temporary one retried until
 * the message expires. A 1yz, 2yz or 3yz where another class was wanted
 * is a protocol error: temporary.
 */
static enum ketch_result const class_result[10] =
{
  [4] = KETCH_RESULT_TEMP,
  [5] = KETCH_RESULT_PERM,
} ;

/*
 * The reply in c->reply, to what, is of class cls: 1, or 0 with *r as
 * class_result says and text. The text starts with the reply itself, so
 * that a bounce's Status and Diagnostic-Code are the server's
 * (lib/bounce), then names the step: "552 5.2.2 quota (lmtp delivery)".
 */
static int expect (smtpc const *c, char const *what, unsigned int cls, enum ketch_result *r, stralloc *text)
{
  unsigned int got = smtpreply_class(&c->reply) ;
  if (got == cls) return 1 ;
  /* KETCH_RESULT_OK is 0: a class without a row is temporary */
  *r = got < 10 && class_result[got] == KETCH_RESULT_PERM ? KETCH_RESULT_PERM : KETCH_RESULT_TEMP ;
  text->len = 0 ;
  with_reply(text, *r, &c->reply) ;
  stralloc_cats(text, " (lmtp ") ; stralloc_cats(text, what) ; stralloc_cats(text, ")") ;
  if (stralloc_0(text)) text->len-- ;
  return 0 ;
}

/* the envelope commands (RFC 2033 §4.1) and the class of the reply each one wants */
enum { CMD_MAIL, CMD_RCPT, CMD_DATA, CMD_N } ;
static struct { char const *verb ; char const *a ; char const *z ; unsigned int cls ; } const cmds[CMD_N] =
{
  [CMD_MAIL] = { "MAIL", "MAIL FROM:<", ">", 2 },
  [CMD_RCPT] = { "RCPT", "RCPT TO:<", ">", 2 },
  [CMD_DATA] = { "DATA", "DATA", 0, 3 },
} ;

enum ketch_result lmtp_deliver (char const *target, unsigned int timeout, char const *sender, char const *rcpt,
  char const *pre, size_t prelen, char const *head, size_t headlen, int fd, stralloc *text)
{
  smtpc c = SMTPC_ZERO ;
  smtpreply_ext e ;
  stralloc raw = STRALLOC_ZERO, wire = STRALLOC_ZERO ;
  char const *args[CMD_N] = { [CMD_MAIL] = sender, [CMD_RCPT] = rcpt, [CMD_DATA] = 0 } ;
  char host[256] ;
  enum ketch_result r = KETCH_RESULT_TEMP ;
  unsigned int i = 0 ;
  int sock, helo ;
  smtpc_deadline(&c, timeout) ;
  sock = connect_to(target, &c.deadline, text) ;
  if (sock < 0) return KETCH_RESULT_TEMP ;
  /* each step (a reply, a write, a block of the message) within timeout, as a deadline from its start */
  smtpc_init(&c, sock, 0) ;
  if (gethostname(host, sizeof(host) - 1) < 0) memcpy(host, "localhost", sizeof("localhost")) ;
  host[sizeof(host) - 1] = 0 ;
  if (!smtpc_reply(&c, timeout)) goto read ;
  if (!expect(&c, "greeting", 2, &r, text)) goto end ;
  /* LHLO: a refusal is the reply, never a HELO (RFC 2033 §4.1) */
  if (!smtpc_ehlo(&c, "LHLO", host, &e, &helo, timeout)) goto read ;
  if (!expect(&c, "LHLO", 2, &r, text)) goto end ;
  /* MAIL, RCPT and DATA in one write when the server pipelines (RFC 2920 §3.1), else one by one; the replies in order */
  for (; i < CMD_N ; i++)
  {
    if (!i || !e.pipelining)
    {
      unsigned int j = i ;
      for (; j < (e.pipelining ? CMD_N : i + 1) ; j++)
        if (!smtpc_put(&c, cmds[j].a, args[j], cmds[j].z)) { say(text, KETCH_RESULT_TEMP, "unable to allocate: ", strerror(errno)) ; goto end ; }
      if (!smtpc_flush(&c, timeout)) goto write ;
    }
    if (!smtpc_reply(&c, timeout)) goto read ;
    if (!expect(&c, cmds[i].verb, cmds[i].cls, &r, text)) goto end ;
  }
  r = body(&c, target, timeout, pre, prelen, head, headlen, fd, &raw, &wire, text) ;
  if (r != KETCH_RESULT_OK) goto end ;
  r = KETCH_RESULT_TEMP ;
  /* RFC 2033 §4.2: one reply per accepted recipient after the dot; we sent one */
  if (!smtpc_reply(&c, timeout)) goto read ;
  if (!expect(&c, "delivery", 2, &r, text)) goto end ;
  r = with_reply(text, say(text, KETCH_RESULT_OK, "delivered by lmtp to ", target, ": "), &c.reply) ;
  /* the delivery is done: QUIT is a courtesy, its reply not awaited, its failure changes nothing */
  if (smtpc_put(&c, "QUIT", 0, 0)) smtpc_flush(&c, timeout) ;
  goto end ;
 read:
  if (errno == EPROTO) say(text, KETCH_RESULT_TEMP, "garbled lmtp reply") ;
  else say(text, KETCH_RESULT_TEMP, "unable to read the lmtp reply: ", smtpc_error(&c)) ;
  goto end ;
 write:
  say(text, KETCH_RESULT_TEMP, "unable to write to ", target, ": ", smtpc_error(&c)) ;
 end:
  smtpc_free(&c) ;
  stralloc_free(&raw) ;
  stralloc_free(&wire) ;
  return r ;
}
