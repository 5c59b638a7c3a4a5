/* ISC license: see LICENSE. */

/*
 * The recipient decision shared by smtp-session and dry-run tools.
 * Until the lookup module (aliases, virtual maps) exists, a local user
 * is a system user: the local part lower-cased, "+tag" removed, looked up
 * with getpwnam; postmaster always exists (RFC 5321 §4.5.1).
 */

#include <errno.h>
#include <string.h>
#include <pwd.h>

#include <skalibs/bytestr.h>

#include "address.h"
#include "conf.h"
#include "policy.h"

int policy_local_user (conf const *c, char const *local, size_t len)
{
  char user[ADDRESS_LOCAL_MAX + 1] ;
  size_t i = 0 ;
  struct passwd *pw ;
  (void)c ;
  if (!len || len > ADDRESS_LOCAL_MAX) return 0 ;
  for (; i < len ; i++)
  {
    char ch = local[i] ;
    /* a quoted local part, or one with '/', '%', '!', is never a login name */
    if (ch == '"' || ch == '/' || ch == '\\' || ch == '%' || ch == '!' || ch == '@') return 0 ;
    if (ch == '+') break ;
    user[i] = ch ;
  }
  if (!i) return 0 ;
  user[i] = 0 ;
  case_lowerb(user, i) ;
  if (!strcmp(user, "postmaster")) return 1 ;
  errno = 0 ;
  pw = getpwnam(user) ;
  if (pw) return 1 ;
  return errno && errno != ENOENT && errno != ESRCH && errno != EBADF && errno != EPERM ? -1 : 0 ;
}

int policy_rcpt (conf const *c, char const *ip, int is6, int authed, address const *a, char const **reply)
{
  char domain[ADDRESS_DOMAIN_MAX + 1] ;
  size_t dlen ;
  int local = 0 ;

  /* RCPT TO:<Postmaster> without a domain, RFC 5321 §4.5.1 */
  if (a->at >= a->len)
  {
    *reply = "250 2.1.5 Ok" ;
    return 1 ;
  }
  dlen = a->len - a->at - 1 ;
  if (dlen > ADDRESS_DOMAIN_MAX) { *reply = "501 5.1.3 Bad recipient address syntax" ; return 0 ; }
  memcpy(domain, a->s + a->at + 1, dlen) ;
  domain[dlen] = 0 ;

  if (!(a->flags & ADDRESS_F_LITERAL))
  {
    if (conf_is_local_domain(c, domain)) local = 1 ;
    else if (conf_vdomain_find(c, domain)) local = 2 ;
  }

  if (local == 1)
  {
    int r = policy_local_user(c, a->s, a->at) ;
    if (r < 0) { *reply = "451 4.3.0 Temporary failure looking up the user" ; return 0 ; }
    if (!r) { *reply = "550 5.1.1 No such user here" ; return 0 ; }
    *reply = "250 2.1.5 Ok" ;
    return 1 ;
  }
  if (local == 2)
  {
    /* the virtual map is checked at delivery time until lib/lookup lands */
    *reply = "250 2.1.5 Ok" ;
    return 1 ;
  }
  if (authed || (ip && conf_relay_allowed(c, ip, is6)))
  {
    *reply = "250 2.1.5 Ok" ;
    return 1 ;
  }
  *reply = "550 5.7.1 Relaying denied" ;
  return 0 ;
}
