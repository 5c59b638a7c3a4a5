/* ISC license: see LICENSE. */

#include <string.h>

#include <skalibs/stralloc.h>

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
