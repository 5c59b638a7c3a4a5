/* ISC license: see LICENSE. */

/* lib/tcpack: a TCP socket is put in quick-ACK mode (Linux); anything else is refused, unchanged */

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tcpack.h"
#include "tap.h"

int main (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0 } ;
  socklen_t alen = sizeof(a) ;
  int l, c, s, p[2], v = 0 ;
  socklen_t vlen = sizeof(v) ;
  tap_plan(5) ;
  l = socket(AF_INET, SOCK_STREAM, 0) ;
  c = socket(AF_INET, SOCK_STREAM, 0) ;
  if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0
   || getsockname(l, (struct sockaddr *)&a, &alen) < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0
   || (s = accept(l, 0, 0)) < 0 || pipe(p) < 0)
  { ok(0, "a loopback TCP connection and a pipe") ; return tap_done() ; }
  /* a reply sent at once after data received: the kernel goes into its
     delayed-ACK (pingpong) mode, which TCP_QUICKACK reads as 0 */
  if (write(c, "x", 1) != 1 || read(s, &v, 1) != 1 || write(s, "y", 1) != 1 || read(c, &v, 1) != 1
   || write(c, "z", 1) != 1 || read(s, &v, 1) != 1 || write(s, "w", 1) != 1)
  { ok(0, "a first exchange") ; return tap_done() ; }
#ifdef TCP_QUICKACK
  v = 1 ;
  ok(getsockopt(s, IPPROTO_TCP, TCP_QUICKACK, &v, &vlen) == 0 && v == 0, "after the exchange the socket delays its ACKs") ;
  ok(tcpack_now(s) == 0, "tcpack_now on a TCP socket") ;
  v = 0 ;
  ok(getsockopt(s, IPPROTO_TCP, TCP_QUICKACK, &v, &vlen) == 0 && v == 1, "the socket then ACKs at once (TCP_QUICKACK reads 1)") ;
#else
  ok(tcpack_now(s) < 0 && errno == ENOSYS, "no TCP_QUICKACK here: ENOSYS") ;
  /* TAP's skip directive: nothing more to check on such a system */
  printf("ok %u # skip no TCP_QUICKACK\nok %u # skip no TCP_QUICKACK\n", tap_n + 1, tap_n + 2) ;
  tap_n += 2 ;
#endif
  errno = 0 ;
  ok(tcpack_now(p[0]) < 0 && errno == ENOTSOCK, "a pipe: refused, ENOTSOCK") ;
  errno = 0 ;
  ok(tcpack_now(-1) < 0 && errno == EBADF, "no descriptor: EBADF") ;
  return tap_done() ;
}
