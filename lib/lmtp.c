/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <netdb.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/skamisc.h>

#include "exitcodes.h"
#include "lmtp.h"

#define S(x) x, sizeof(x) - 1

/* text: "unable to " and the pieces (up to a null pointer), ": " and errno's words. Returns r */
static enum ketch_result unable (stralloc *text, enum ketch_result r, char const *const *s)
{
  int e = errno ;
  text->len = 0 ;
  stralloc_cats(text, "unable to ") ;
  for (; *s ; s++) stralloc_cats(text, *s) ;
  stralloc_cats(text, ": ") ;
  stralloc_cats(text, strerror(e)) ;
  if (stralloc_0(text)) text->len-- ;
  return r ;
}
#define unable(text, ...) unable(text, KETCH_RESULT_TEMP, (char const *const[]){ __VA_ARGS__, 0 })

/* text: the pieces. Returns r */
static enum ketch_result say (stralloc *text, enum ketch_result r, char const *const *s)
{
  text->len = 0 ;
  for (; *s ; s++) stralloc_cats(text, *s) ;
  if (stralloc_0(text)) text->len-- ;
  return r ;
}
#define say(text, r, ...) say(text, r, (char const *const[]){ __VA_ARGS__, 0 })

/* a connected socket with both timeouts set, or -1 with text */
static int connect_to (char const *target, unsigned int timeout, stralloc *text)
{
  struct timeval tv = { .tv_sec = timeout, .tv_usec = 0 } ;
  int fd = -1 ;
  if (!strncmp(target, S("unix:")))
  {
    char const *file = target + sizeof("unix:") - 1 ;
    struct sockaddr_un sun ;
    size_t n = strlen(file) ;
    if (n >= sizeof(sun.sun_path)) return (say(text, KETCH_RESULT_TEMP, "lmtp socket path too long: ", file), -1) ;
    memset(&sun, 0, sizeof(sun)) ;
    sun.sun_family = AF_UNIX ;
    memcpy(sun.sun_path, file, n + 1) ;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
    if (fd < 0) return (unable(text, "create a socket"), -1) ;
    /* bounded: every read, write and the connect itself */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ;
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ;
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
    {
      unable(text, "connect to ", target) ;
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
    int e ;
    if (!colon || !n || n >= sizeof(host)) return (say(text, KETCH_RESULT_TEMP, "bad lmtp target: ", target), -1) ;
    memcpy(host, target, n) ; host[n] = 0 ;
    if (host[0] == '[' && host[n-1] == ']') { memmove(host, host + 1, n - 2) ; host[n-2] = 0 ; }
    memset(&hints, 0, sizeof(hints)) ;
    hints.ai_socktype = SOCK_STREAM ;
    e = getaddrinfo(host, colon + 1, &hints, &res) ;
    if (e) return (say(text, KETCH_RESULT_TEMP, "unable to resolve ", host, ": ", gai_strerror(e)), -1) ;
    for (ai = res ; ai ; ai = ai->ai_next)
    {
      fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0) ;
      if (fd < 0) continue ;
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ;
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) ;
      if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break ;
      fd_close(fd) ; fd = -1 ;
    }
    freeaddrinfo(res) ;
    if (fd < 0) unable(text, "connect to ", target) ;
    return fd ;
  }
}

/*
 * One reply, possibly multi-line (RFC 5321 §4.2.1): its code, its last
 * line in line with control characters blanked; 0 with text on an
 * error.
 */
static unsigned int reply (buffer *b, stralloc *line, stralloc *text)
{
  unsigned int code = 0, lines = 0 ;
  size_t i = 0 ;
  for (;;)
  {
    line->len = 0 ;
    if (skagetln(b, line, '\n') <= 0) return (unable(text, "read the lmtp reply"), 0) ;
    if (++lines > 100 || line->len > 2048) return (say(text, KETCH_RESULT_TEMP, "lmtp reply too long"), 0) ;
    while (line->len && (line->s[line->len-1] == '\n' || line->s[line->len-1] == '\r')) line->len-- ;
    if (line->len < 3 || line->s[0] < '2' || line->s[0] > '5' || line->s[1] < '0' || line->s[1] > '9' || line->s[2] < '0' || line->s[2] > '9')
      return (say(text, KETCH_RESULT_TEMP, "garbled lmtp reply"), 0) ;
    code = (line->s[0] - '0') * 100 + (line->s[1] - '0') * 10 + (line->s[2] - '0') ;
    if (line->len == 3 || line->s[3] == ' ') break ;
    if (line->s[3] != '-') return (say(text, KETCH_RESULT_TEMP, "garbled lmtp reply"), 0) ;
  }
  for (; i < line->len ; i++) if ((unsigned char)line->s[i] < 32) line->s[i] = ' ' ;
  return code ;
}

/* text: the pieces said, then the reply line */
static enum ketch_result with_reply (stralloc *text, enum ketch_result r, stralloc const *line)
{
  if (stralloc_catb(text, line->s, line->len) && stralloc_0(text)) text->len-- ;
  return r ;
}

/* the reply to what: 1 if 2xx or 3xx, else 0 with *r and text */
static int expect (buffer *in, stralloc *line, stralloc *text, char const *what, enum ketch_result *r)
{
  unsigned int code = reply(in, line, text) ;
  if (code >= 200 && code < 400) return 1 ;
  *r = code >= 500 ? KETCH_RESULT_PERM : KETCH_RESULT_TEMP ;
  if (code) with_reply(text, say(text, *r, "lmtp ", what, ": "), line) ;
  return 0 ;
}

/* the message as DATA: CRLF line ends, dot-stuffed (RFC 5321 §4.5.2). 1, or 0 */
static int data (buffer *out, char const *s, size_t n, int *bol)
{
  size_t i = 0 ;
  for (; i < n ; i++)
  {
    if (*bol && s[i] == '.' && buffer_put(out, S(".")) < 0) return 0 ;
    if (s[i] == '\n' ? buffer_put(out, S("\r\n")) < 0 : buffer_put(out, s + i, 1) < 0) return 0 ;
    *bol = s[i] == '\n' ;
  }
  return 1 ;
}

/* a command line: the pieces, then CRLF, sent. 1, or 0 */
static int command (buffer *out, char const *verb, size_t verblen, char const *arg, char const *end, size_t endlen)
{
  return buffer_put(out, verb, verblen) >= 0 && buffer_puts(out, arg) >= 0 && buffer_put(out, end, endlen) >= 0 && buffer_flush(out) ;
}

enum ketch_result lmtp_deliver (char const *target, unsigned int timeout, char const *sender, char const *rcpt,
  char const *pre, size_t prelen, char const *head, size_t headlen, int fd, stralloc *text)
{
  int sock = connect_to(target, timeout, text) ;
  char ibuf[4096], obuf[65536], rbuf[65536] ;
  buffer in, out ;
  stralloc line = STRALLOC_ZERO ;
  char host[256] ;
  int bol = 1 ;
  enum ketch_result r = KETCH_RESULT_TEMP ;
  if (sock < 0) return KETCH_RESULT_TEMP ;
  in = (buffer)BUFFER_INIT(&buffer_read, sock, ibuf, sizeof(ibuf)) ;
  out = (buffer)BUFFER_INIT(&buffer_write, sock, obuf, sizeof(obuf)) ;
  if (gethostname(host, sizeof(host) - 1) < 0) memcpy(host, "localhost", sizeof("localhost")) ;
  host[sizeof(host) - 1] = 0 ;
  if (!expect(&in, &line, text, "greeting", &r)) goto end ;
  if (!command(&out, S("LHLO "), host, S("\r\n"))) goto write ;
  if (!expect(&in, &line, text, "LHLO", &r)) goto end ;
  if (!command(&out, S("MAIL FROM:<"), sender, S(">\r\n"))) goto write ;
  if (!expect(&in, &line, text, "MAIL", &r)) goto end ;
  if (!command(&out, S("RCPT TO:<"), rcpt, S(">\r\n"))) goto write ;
  if (!expect(&in, &line, text, "RCPT", &r)) goto end ;
  if (buffer_put(&out, S("DATA\r\n")) < 0 || !buffer_flush(&out)) goto write ;
  if (!expect(&in, &line, text, "DATA", &r)) goto end ;
  if (!data(&out, pre, prelen, &bol) || !data(&out, head, headlen, &bol)) goto write ;
  for (;;)
  {
    ssize_t n = fd_read(fd, rbuf, sizeof(rbuf)) ;
    if (n < 0) { unable(text, "read the message") ; goto end ; }
    if (!n) break ;
    if (!data(&out, rbuf, n, &bol)) goto write ;
  }
  if ((!bol && buffer_put(&out, S("\r\n")) < 0) || buffer_put(&out, S(".\r\n")) < 0 || !buffer_flush(&out)) goto write ;
  /* RFC 2033 §4.2: one reply per accepted recipient after the dot; we sent one */
  if (!expect(&in, &line, text, "delivery", &r)) goto end ;
  /* the delivery is done: QUIT is a courtesy, its failure changes nothing */
  if (buffer_put(&out, S("QUIT\r\n")) >= 0) buffer_flush(&out) ;
  r = with_reply(text, say(text, KETCH_RESULT_OK, "delivered by lmtp to ", target, ": "), &line) ;
  goto end ;
 write:
  unable(text, "write to ", target) ;
  r = KETCH_RESULT_TEMP ;
 end:
  fd_close(sock) ;
  stralloc_free(&line) ;
  return r ;
}
