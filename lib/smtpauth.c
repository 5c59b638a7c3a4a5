/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "smtpauth.h"

int smtpauth_creds_read (char const *file, stralloc *sa)
{
  struct stat st ;
  int fd = open_read(file) ;
  if (fd < 0) return 0 ;
  if (fstat(fd, &st) < 0) goto err ;
  if (!S_ISREG(st.st_mode)) { errno = EINVAL ; goto err ; }
  /* a password others can read is a password others have */
  if (st.st_mode & 077 || st.st_uid != geteuid()) { errno = EPERM ; goto err ; }
  if (!slurp(sa, fd)) goto err ;
  fd_close(fd) ;
  return 1 ;
 err:
  {
    int e = errno ;
    fd_close(fd) ;
    errno = e ;
  }
  return 0 ;
}

static int set2 (stralloc *user, stralloc *pass, char const *u, size_t ul, char const *p, size_t pl)
{
  user->len = pass->len = 0 ;
  return stralloc_catb(user, u, ul) && stralloc_0(user) && stralloc_catb(pass, p, pl) && stralloc_0(pass) ;
}

int smtpauth_creds_find (char const *s, size_t len, char const *host, stralloc *user, stralloc *pass)
{
  size_t pos = 0, hostlen = strlen(host) ;
  int found = 0 ;
  while (pos < len)
  {
    char const *w[3] ;
    size_t wl[3] ;
    unsigned int n = 0 ;
    size_t end = pos + byte_chr(s + pos, len - pos, '\n') ;
    size_t i = pos ;
    for (;;)
    {
      size_t j ;
      while (i < end && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) i++ ;
      if (i >= end || s[i] == '#') break ;
      if (n == 3) { n = 4 ; break ; }
      for (j = i ; j < end && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' ; j++) ;
      w[n] = s + i ; wl[n] = j - i ; n++ ;
      i = j ;
    }
    pos = end + 1 ;
    if (n == 3 && wl[0] == hostlen && !strncasecmp(w[0], host, hostlen))
      return set2(user, pass, w[1], wl[1], w[2], wl[2]) ? 1 : -1 ;
    if (n == 2 && !found)
    {
      if (!set2(user, pass, w[0], wl[0], w[1], wl[1])) return -1 ;
      found = 1 ;
    }
  }
  return found ;
}
