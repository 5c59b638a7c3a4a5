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

int smtpauth_b64 (stralloc *sa, char const *s, size_t len)
{
  static char const tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" ;
  size_t i = 0 ;
  for (; i + 2 < len ; i += 3)
  {
    unsigned char a = s[i], b = s[i+1], c = s[i+2] ;
    char q[4] = { tab[a >> 2], tab[((a & 3) << 4) | (b >> 4)], tab[((b & 15) << 2) | (c >> 6)], tab[c & 63] } ;
    if (!stralloc_catb(sa, q, 4)) return 0 ;
  }
  if (len - i == 1)
  {
    unsigned char a = s[i] ;
    char q[4] = { tab[a >> 2], tab[(a & 3) << 4], '=', '=' } ;
    if (!stralloc_catb(sa, q, 4)) return 0 ;
  }
  else if (len - i == 2)
  {
    unsigned char a = s[i], b = s[i+1] ;
    char q[4] = { tab[a >> 2], tab[((a & 3) << 4) | (b >> 4)], tab[(b & 15) << 2], '=' } ;
    if (!stralloc_catb(sa, q, 4)) return 0 ;
  }
  return 1 ;
}
