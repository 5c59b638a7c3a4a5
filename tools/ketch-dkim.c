/* ISC license: see LICENSE. */

/*
 * ketch-dkim: the keys of dkim-sign (ketch.conf(5)). keygen makes one
 * (BearSSL's RSA key generation, or libsodium's Ed25519, from the
 * system's RNG), stores it where enqueue can read it and nobody else
 * (the queue-user's, mode 0600, never over an existing file), and prints
 * the DNS record to publish and the configuration line to add. txt
 * prints the record again from a key file.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include "exitcodes.h"
#include "address.h"
#include "conf.h"
#include "dkimkey.h"

#define USAGE "ketch-dkim keygen [ -C conf ] [ -t rsa|ed25519 ] [ -b bits ] [ -o file ] domain selector | ketch-dkim txt file domain selector"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

static void name_check (char *s, char const *what)
{
  case_lowers(s) ;
  if (!address_domain_valid(s, strlen(s), 0)) strerr_dief(KETCH_EX_PERM, "not a ", what, ": ", s) ;
}

static void put (stralloc const *sa)
{
  if (buffer_put(buffer_1, sa->s, sa->len) < 0 || !buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
}

/* the zone line for key k */
static void zone (dkimkey const *k, char const *domain, char const *selector, stralloc *out)
{
  stralloc txt = STRALLOC_ZERO ;
  if (!dkimkey_txt(k, &txt) || !dkimkey_zone(domain, selector, txt.s, txt.len, out)) strerr_diefusys(KETCH_EX_TEMP, "format the TXT record") ;
  stralloc_free(&txt) ;
}

static int txt (int argc, char **argv)
{
  dkimkey k = DKIMKEY_ZERO ;
  stralloc out = STRALLOC_ZERO ;
  int r ;
  if (argc != 3) dieusage() ;
  name_check(argv[1], "domain") ;
  name_check(argv[2], "selector") ;
  r = dkimkey_load(&k, argv[0]) ;
  if (r == DKIMKEY_ESYS) strerr_diefusys(KETCH_EX_TEMP, "read ", argv[0]) ;
  if (r) strerr_dief(KETCH_EX_PERM, argv[0], ": ", dkimkey_strerror(r)) ;
  zone(&k, argv[1], argv[2], &out) ;
  dkimkey_free(&k) ;
  put(&out) ;
  return 0 ;
}

/*
 * The key into file: written to file.tmp (O_EXCL), fsynced, given to
 * the queue-user, then linked to its name, which fails if the name is
 * taken: an existing key is never replaced, and no half-written key is
 * ever under the name.
 */
static void store (stralloc const *pem, char const *file, struct passwd const *pw)
{
  stralloc tmp = STRALLOC_ZERO ;
  int fd ;
  if (!stralloc_cats(&tmp, file) || !stralloc_cats(&tmp, ".tmp") || !stralloc_0(&tmp)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  fd = open(tmp.s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) ;
  if (fd < 0) strerr_diefusys(KETCH_EX_TEMP, "create ", tmp.s) ;
  if (allwrite(fd, pem->s, pem->len) < pem->len || fd_sync(fd) < 0
   || (pw && fchown(fd, pw->pw_uid, pw->pw_gid) < 0))
  {
    int e = errno ;
    unlink(tmp.s) ;
    errno = e ;
    strerr_diefusys(KETCH_EX_TEMP, "write ", tmp.s) ;
  }
  fd_close(fd) ;
  if (link(tmp.s, file) < 0)
  {
    int e = errno ;
    unlink(tmp.s) ;
    errno = e ;
    if (e == EEXIST) strerr_dief(KETCH_EX_PERM, file, " exists: a key is never overwritten (a new selector makes a new key)") ;
    strerr_diefusys(KETCH_EX_TEMP, "link ", tmp.s, " to ", file) ;
  }
  unlink(tmp.s) ;
  stralloc_free(&tmp) ;
}

static int keygen (int argc, char **argv)
{
  conf c ;
  dkimkey k = DKIMKEY_ZERO ;
  stralloc sa = STRALLOC_ZERO, pem = STRALLOC_ZERO, file = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  char const *conffile = 0, *ofile = 0 ;
  struct passwd *pw = 0 ;
  unsigned int bits = DKIMKEY_RSA_DEFAULT ;
  int type = DKIMKEY_RSA ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, (char const *const *)argv, "C:t:b:o:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 't' :
          if (!strcmp(l.arg, "rsa")) type = DKIMKEY_RSA ;
          else if (!strcmp(l.arg, "ed25519")) type = DKIMKEY_ED25519 ;
          else dieusage() ;
          break ;
        case 'b' : if (!uint0_scan(l.arg, &bits)) dieusage() ; break ;
        case 'o' : ofile = l.arg ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc != 2) dieusage() ;
  if (type == DKIMKEY_RSA && (bits < DKIMKEY_RSA_MIN || bits > DKIMKEY_RSA_MAX))
    strerr_dief(KETCH_EX_PERM, "RSA keys have 1024 to 4096 bits (RFC 8301)") ;
  name_check(argv[0], "domain") ;
  name_check(argv[1], "selector") ;
  if (!conf_load_default(&c, conffile, &sa))
  {
    if (errno == EINVAL) strerr_dief(KETCH_EX_PERM, sa.s) ;
    strerr_diefu(KETCH_EX_TEMP, "load the configuration: ", sa.len ? sa.s : "") ;
  }
  /* enqueue signs as the queue-user: the key is its own, and only its own */
  if (c.queue_user)
  {
    errno = 0 ;
    pw = getpwnam(c.sa.s + c.queue_user) ;
    if (!pw) strerr_dief(KETCH_EX_PERM, "unknown queue-user ", c.sa.s + c.queue_user) ;
  }
  if (ofile) { if (!stralloc_cats(&file, ofile) || !stralloc_0(&file)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ; }
  else
  {
    /* the default: dkim/DOMAIN.SELECTOR.key beside the configuration */
    if (!stralloc_cats(&file, c.sa.s + c.dir) || !stralloc_cats(&file, "/dkim") || !stralloc_0(&file)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
    if (mkdir(file.s, 0700) < 0)
    {
      if (errno != EEXIST) strerr_diefusys(KETCH_EX_TEMP, "mkdir ", file.s) ;
    }
    else if (pw && chown(file.s, pw->pw_uid, pw->pw_gid) < 0) strerr_diefusys(KETCH_EX_TEMP, "chown ", file.s) ;
    file.len-- ;
    if (!stralloc_catb(&file, "/", 1) || !stralloc_cats(&file, argv[0]) || !stralloc_catb(&file, ".", 1)
     || !stralloc_cats(&file, argv[1]) || !stralloc_cats(&file, ".key") || !stralloc_0(&file)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  }
  if (access(file.s, F_OK) == 0) strerr_dief(KETCH_EX_PERM, file.s, " exists: a key is never overwritten (a new selector makes a new key)") ;
  if (!dkimkey_generate(&k, type, bits)) strerr_diefusys(KETCH_EX_TEMP, "generate a key") ;
  if (!dkimkey_pem(&k, &pem)) strerr_diefusys(KETCH_EX_TEMP, "encode the key") ;
  store(&pem, file.s, pw) ;
  byte_zzero(pem.s, pem.len) ;
  if (!stralloc_cats(&out, "; publish in the DNS zone of ") || !stralloc_cats(&out, argv[0]) || !stralloc_cats(&out, ":\n"))
    strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  zone(&k, argv[0], argv[1], &out) ;
  if (!stralloc_cats(&out, "# add to ") || !stralloc_cats(&out, c.sa.s + c.file) || !stralloc_cats(&out, ":\ndkim-sign ")
   || !stralloc_cats(&out, argv[0]) || !stralloc_cats(&out, " selector ") || !stralloc_cats(&out, argv[1])
   || !stralloc_cats(&out, " key ") || !stralloc_cats(&out, file.s)
   || (type == DKIMKEY_ED25519 && !stralloc_cats(&out, " algorithm ed25519-sha256"))
   || !stralloc_cats(&out, "\n")) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
  dkimkey_free(&k) ;
  put(&out) ;
  return 0 ;
}

int main (int argc, char **argv)
{
  PROG = "ketch-dkim" ;
  if (argc < 2) dieusage() ;
  if (!strcmp(argv[1], "keygen")) return keygen(argc - 1, argv + 1) ;
  if (!strcmp(argv[1], "txt")) return txt(argc - 2, argv + 2) ;
  dieusage() ;
}
