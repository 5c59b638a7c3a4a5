/* ISC license: see LICENSE. */

/*
 * ketch-passwd: prints a crypt(3) hash of the password read from stdin,
 * for the auth-table file ("user:hash"). yescrypt by default, SHA-512
 * with -s. The password is never an argument: argv is visible to all.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <crypt.h>

#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/skamisc.h>

#include "exitcodes.h"

#define USAGE "ketch-passwd [ -s ] < password"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
#define PASSWORD_MAX 1024

int main (int argc, char const *const *argv)
{
  char pw[PASSWORD_MAX + 1] ;
  char const *prefix = "$y$" ;
  char const *salt, *hash ;
  size_t w = 0 ;
  int r ;
  PROG = "ketch-passwd" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "s", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 's' : prefix = "$6$" ; break ;
        default : dieusage() ;
      }
    }
  }
  r = getlnmax(buffer_0, pw, sizeof(pw), &w, '\n') ;
  if (r < 0 && !(errno == EPIPE && w))
  {
    if (errno == ERANGE) strerr_dief(KETCH_EX_PERM, "password longer than 1024 octets") ;
    strerr_diefusys(KETCH_EX_TEMP, "read the password") ;
  }
  if (w && pw[w-1] == '\n') w-- ;
  if (w && pw[w-1] == '\r') w-- ;
  if (!w) strerr_dief(KETCH_EX_PERM, "empty password") ;
  if (memchr(pw, 0, w)) strerr_dief(KETCH_EX_PERM, "NUL in password") ;
  pw[w] = 0 ;
  salt = crypt_gensalt(prefix, 0, 0, 0) ;
  if (!salt) strerr_diefusys(KETCH_EX_TEMP, "generate a salt") ;
  hash = crypt(pw, salt) ;
  byte_zzero(pw, sizeof(pw)) ;
  if (!hash || hash[0] == '*') strerr_diefusys(KETCH_EX_TEMP, "hash the password") ;
  if (buffer_puts(buffer_1, hash) < 0 || buffer_putsflush(buffer_1, "\n") < 0) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  return 0 ;
}
