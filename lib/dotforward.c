/* ISC license: see LICENSE. */

/*
 * ~/.forward: read as its owner, judged, parsed into targets. See
 * dotforward.h for the rules; lib/deliver follows the targets.
 */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>

#include "address.h"
#include "lookup.h"
#include "dotforward.h"

unsigned int dotforward_read (char const *home, unsigned int uid, stralloc *sa, char const **why)
{
  size_t n = strlen(home) ;
  char fn[n + sizeof("/.forward")] ;
  struct stat st ;
  int fd ;
  if (home[0] != '/') return DOTFORWARD_R_NONE ;
  memcpy(fn, home, n) ;
  memcpy(fn + n, "/.forward", sizeof("/.forward")) ;
  /* O_NONBLOCK: a FIFO at the name must not hold the delivery in open() */
  fd = open(fn, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) ;
  if (fd < 0)
  {
    switch (errno)
    {
      case ENOENT : case ENOTDIR : return DOTFORWARD_R_NONE ;
      case ELOOP : *why = "a symbolic link" ; return DOTFORWARD_R_REFUSED ;
      case EACCES : *why = "unreadable by its user" ; return DOTFORWARD_R_REFUSED ;
      default : return DOTFORWARD_R_ERROR ;
    }
  }
  /* the file read, not whatever the name points at later */
  if (fstat(fd, &st) < 0) goto err ;
  if (!S_ISREG(st.st_mode)) { *why = "not a regular file" ; goto refused ; }
  /* whoever owns it chooses programs run as the user: the user, or root, who could anyway */
  if (st.st_uid != uid && st.st_uid) { *why = "owned by another user" ; goto refused ; }
  if (st.st_mode & 022) { *why = "group- or world-writable" ; goto refused ; }
  if (st.st_size > DOTFORWARD_MAX) { *why = "larger than 65536 octets" ; goto refused ; }
  /* whoever can write the directory can put another file at the name */
  if (stat(home, &st) < 0) goto err ;
  if (st.st_uid != uid && st.st_uid) { *why = "the home directory is owned by another user" ; goto refused ; }
  if (st.st_mode & 022) { *why = "the home directory is group- or world-writable" ; goto refused ; }
  {
    /* bounded whatever the size said: the file may grow while it is read */
    size_t start = sa->len ;
    if (ndelay_off(fd) < 0 || !stralloc_readyplus(sa, DOTFORWARD_MAX + 1)) goto err ;
    for (;;)
    {
      ssize_t r = fd_read(fd, sa->s + sa->len, DOTFORWARD_MAX + 1 - (sa->len - start)) ;
      if (r < 0) goto err ;
      if (!r) break ;
      sa->len += r ;
      if (sa->len - start > DOTFORWARD_MAX) { sa->len = start ; *why = "larger than 65536 octets" ; goto refused ; }
    }
  }
  fd_close(fd) ;
  return DOTFORWARD_R_READ ;
 refused:
  fd_close(fd) ;
  return DOTFORWARD_R_REFUSED ;
 err:
  {
    int e = errno ;
    fd_close(fd) ;
    errno = e ;
  }
  return DOTFORWARD_R_ERROR ;
}

static int target (dotforward *f, char kind, char const *s)
{
  if (f->n >= DOTFORWARD_ENTRIES_MAX) return 0 ;
  if (!stralloc_catb(&f->sa, &kind, 1) || !stralloc_cats(&f->sa, s) || !stralloc_0(&f->sa)) return -1 ;
  f->n++ ;
  if (kind == DOTFORWARD_ADDRESS) f->naddr++ ;
  return 1 ;
}

/* the mailbox: once, wherever the file names it first */
static int self (dotforward *f, int *seen)
{
  if (*seen) return 1 ;
  *seen = 1 ;
  return target(f, DOTFORWARD_SELF, "") ;
}

/* the user's own address: its name at the host name or at the recipient's domain, or the recipient itself */
static int is_self (address const *a, char const *user, char const *rcpt, char const *hostname)
{
  char const *rat = strrchr(rcpt, '@') ;
  char const *dom = a->s + a->at + 1 ;
  if (!strcasecmp(a->s, rcpt)) return 1 ;
  if (a->at >= a->len || a->at != strlen(user) || strncasecmp(a->s, user, a->at)) return 0 ;
  return !strcasecmp(dom, hostname) || (rat && !strcasecmp(dom, rat + 1)) ;
}

/* one entry (NUL-terminated, blanks dropped). 1, 0 refused (why), -1 errno */
static int entry (dotforward *f, char const *e, char const *user, char const *rcpt, char const *hostname, int *seen, char const **why)
{
  address a = ADDRESS_ZERO ;
  size_t n ;
  int r ;
  switch (lookup_entry_kind(e))
  {
    case LOOKUP_E_FILE : r = target(f, DOTFORWARD_FILE, e) ; break ;
    case LOOKUP_E_PROGRAM :
      if (e[1 + strspn(e + 1, " ")] != '/') { *why = "a program that is not an absolute path" ; return 0 ; }
      r = target(f, DOTFORWARD_PROGRAM, e + 1) ;
      break ;
    case LOOKUP_E_INCLUDE : *why = "a :include: entry" ; return 0 ;
    case LOOKUP_E_ADDRESS :
      if (e[0] == '\\')
      {
        e++ ;
        if (!strcasecmp(e, user)) return self(f, seen) ;
      }
      n = strlen(e) ;
      if (!strchr(e, '@'))
      {
        /* a bare name: at the host name, as in an alias */
        size_t h = strlen(hostname) ;
        char full[n + h + 2] ;
        if (n + h + 1 > ADDRESS_MAX) { *why = "an entry that is not an address" ; return 0 ; }
        memcpy(full, e, n) ; full[n] = '@' ; memcpy(full + n + 1, hostname, h + 1) ;
        r = address_parse(&a, full, n + h + 1, ADDRESS_UTF8) ;
      }
      else r = address_parse(&a, e, n, ADDRESS_UTF8) ;
      if (r) { *why = "an entry that is not an address" ; return 0 ; }
      if (is_self(&a, user, rcpt, hostname)) return self(f, seen) ;
      r = target(f, DOTFORWARD_ADDRESS, a.s) ;
      break ;
    default : *why = "an empty program entry" ; return 0 ;
  }
  if (!r) *why = "more than 100 entries" ;
  return r ;
}

int dotforward_parse (dotforward *f, char const *s, size_t len, char const *user, char const *rcpt, char const *hostname, char const **why)
{
  stralloc ents = STRALLOC_ZERO ;
  size_t pos = 0 ;
  int seen = 0, r = 1 ;
  f->sa.len = 0 ; f->n = 0 ; f->naddr = 0 ;
  if (len > DOTFORWARD_MAX) { *why = "larger than 65536 octets" ; return 0 ; }
  while (r == 1 && pos < len)
  {
    char const *nl = memchr(s + pos, '\n', len - pos) ;
    size_t end = nl ? (size_t)(nl - s) : len, i = pos, k ;
    ssize_t m ;
    if (end - pos > DOTFORWARD_LINE_MAX) { *why = "a line longer than 1000 octets" ; r = 0 ; break ; }
    if (end > pos && s[end-1] == '\r') end-- ;
    for (k = pos ; k < end ; k++)
      if (((unsigned char)s[k] < 32 && s[k] != '\t') || s[k] == 127) { *why = "a control character" ; r = 0 ; break ; }
    if (!r) break ;
    while (i < end && (s[i] == ' ' || s[i] == '\t')) i++ ;
    pos = nl ? (size_t)(nl - s) + 1 : len ;
    if (i == end || s[i] == '#') continue ;
    ents.len = 0 ;
    m = lookup_split_entries(s + i, end - i, &ents) ;
    if (m < 0)
    {
      if (errno == EINVAL) { *why = "an unterminated quote" ; r = 0 ; }
      else r = -1 ;
      break ;
    }
    for (k = 0 ; r == 1 && k < ents.len ; k += strlen(ents.s + k) + 1)
      r = entry(f, ents.s + k, user, rcpt, hostname, &seen, why) ;
  }
  {
    int e = errno ;
    stralloc_free(&ents) ;
    errno = e ;
  }
  return r ;
}

void dotforward_free (dotforward *f)
{
  stralloc_free(&f->sa) ;
}
