/* ISC license: see LICENSE. */

#include <errno.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "tcpack.h"

int tcpack_now (int fd)
{
#ifdef TCP_QUICKACK
  int one = 1 ;
  return setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)) ;
#else
  (void)fd ;
  return (errno = ENOSYS, -1) ;
#endif
}
