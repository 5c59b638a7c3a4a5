/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <dirent.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "envelope.h"
#include "queue.h"

#include "ctl.h"

/* in the order ctl_parse tries them: the longer prefixes first */
static char const *const prefix[CTL_NOP] =
{
  [CTL_RETRY_ALL] = "retry all",
  [CTL_RETRY_DOMAIN] = "retry domain ",
  [CTL_REMOVE_SENDER] = "remove sender ",
  [CTL_RETRY] = "retry ",
  [CTL_HOLD] = "hold ",
  [CTL_RELEASE] = "release ",
  [CTL_REMOVE] = "remove "
} ;

unsigned int ctl_op (char const *verb, char const *first)
{
  if (!strcmp(verb, "retry"))
  {
    if (!strcmp(first, "all")) return CTL_RETRY_ALL ;
    if (!strcmp(first, "domain")) return CTL_RETRY_DOMAIN ;
    return CTL_RETRY ;
  }
  if (!strcmp(verb, "remove")) return strcmp(first, "sender") ? CTL_REMOVE : CTL_REMOVE_SENDER ;
  if (!strcmp(verb, "hold")) return CTL_HOLD ;
  if (!strcmp(verb, "release")) return CTL_RELEASE ;
  return CTL_NOP ;
}

int ctl_format (stralloc *sa, unsigned int op, char const *arg)
{
  if (op >= CTL_NOP || !stralloc_cats(sa, prefix[op])) return 0 ;
  if (op != CTL_RETRY_ALL && !stralloc_cats(sa, arg)) return 0 ;
  return stralloc_catb(sa, "\n", 1) ;
}

unsigned int ctl_parse (char *line, char const **arg)
{
  size_t n = strlen(line) ;
  unsigned int op = 0 ;
  while (n && (line[n-1] == '\n' || line[n-1] == '\r' || line[n-1] == ' ')) line[--n] = 0 ;
  if (!strcmp(line, prefix[CTL_RETRY_ALL])) { *arg = line + n ; return CTL_RETRY_ALL ; }
  for (op = CTL_RETRY_DOMAIN ; op < CTL_NOP ; op++)
  {
    size_t len = strlen(prefix[op]) ;
    if (!strncmp(line, prefix[op], len)) { *arg = line + len ; return op ; }
  }
  return CTL_NOP ;
}

void ctl_read (ctl_func *f, void *data)
{
  DIR *dir = opendir("ctl") ;
  if (!dir) return ;
  for (;;)
  {
    struct dirent *de = readdir(dir) ;
    stralloc sa = STRALLOC_ZERO, fn = STRALLOC_ZERO ;
    size_t len ;
    if (!de) break ;
    len = strlen(de->d_name) ;
    if (de->d_name[0] == '.' || (len > 4 && !strcmp(de->d_name + len - 4, ".tmp"))) continue ;
    if (!stralloc_cats(&fn, "ctl/") || !stralloc_cats(&fn, de->d_name) || !stralloc_0(&fn)) continue ;
    if (openslurpclose(&sa, fn.s) && sa.len < CTL_LINE_MAX && stralloc_0(&sa)) f(sa.s, fn.s, 0, data) ;
    else f(0, fn.s, sa.len >= CTL_LINE_MAX ? "too long" : strerror(errno), data) ;
    unlink(fn.s) ;
    stralloc_free(&sa) ; stralloc_free(&fn) ;
  }
  closedir(dir) ;
}

int ctl_sender_is (char const *id, char const *who, stralloc *buf)
{
  envelope e = ENVELOPE_ZERO ;
  int fd = queue_open(id, 0), r ;
  if (fd < 0) return 0 ;
  if (!strcmp(who, "<>")) who = "" ;
  r = envelope_read(&e, fd, buf) && !strcasecmp(envelope_sender(&e), who) ;
  fd_close(fd) ;
  envelope_free(&e) ;
  return r ;
}
