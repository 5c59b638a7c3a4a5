/* ISC license: see LICENSE. */

/*
 * Virtual users: the passwd-file scan and the delivery target of a
 * virtual user. See vuser.h.
 */

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <skalibs/bytestr.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include "conf.h"
#include "expand.h"
#include "vuser.h"

/* where in a line the scan is */
enum { VUSER_S_BOL, VUSER_S_FIELD, VUSER_S_SKIP } ;

void vuser_scan_init (vuser_scan *s, char const *addr, size_t alen, size_t llen)
{
  s->addr = addr ; s->alen = alen ; s->llen = llen ;
  s->pos = 0 ; s->state = VUSER_S_BOL ; s->full = s->local = 0 ;
}

static char lower (char c)
{
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c ;
}

int vuser_scan_feed (vuser_scan *s, char const *buf, size_t n)
{
  size_t i = 0 ;
  for (; i < n ; i++)
  {
    char c = buf[i] ;
    switch (s->state)
    {
      case VUSER_S_BOL :
        if (c == '\n') break ;
        if (c == '#') { s->state = VUSER_S_SKIP ; break ; }
        /* c is the field's first octet */
        s->state = VUSER_S_FIELD ; s->pos = 0 ; s->full = s->local = 1 ;
        /* fall through */
      case VUSER_S_FIELD :
        if (c == ':')
        {
          if ((s->full && s->pos == s->alen) || (s->local && s->pos == s->llen)) return 1 ;
          s->state = VUSER_S_SKIP ;
        }
        else if (c == '\n') s->state = VUSER_S_BOL ;
        else
        {
          /* pos grows only while one may still match: it never passes alen */
          if (s->full || s->local)
          {
            int same = s->pos < s->alen && s->addr[s->pos] == lower(c) ;
            s->full = s->full && same ;
            s->local = s->local && same && c != '@' && s->pos < s->llen ;
            s->pos++ ;
          }
        }
        break ;
      default :
        if (c == '\n') s->state = VUSER_S_BOL ;
        break ;
    }
  }
  return 0 ;
}

int vuser_passwd_find (char const *file, char const *addr, size_t alen, size_t llen)
{
  char buf[8192] ;
  vuser_scan s ;
  size_t total = 0 ;
  int r = 0, e = 0 ;
  int fd = open_read(file) ;
  if (fd < 0) return -1 ;
  vuser_scan_init(&s, addr, alen, llen) ;
  for (;;)
  {
    ssize_t n = fd_read(fd, buf, sizeof(buf)) ;
    if (n < 0) { r = -1 ; e = errno ; break ; }
    if (!n) break ;
    total += n ;
    if (total > VUSER_FILE_MAX) { r = -1 ; e = EFBIG ; break ; }
    if (vuser_scan_feed(&s, buf, n)) { r = 1 ; break ; }
  }
  /* the buffer held password hashes: nothing of them outlives the scan */
  byte_zzero(buf, sizeof(buf)) ;
  fd_close(fd) ;
  if (r < 0) errno = e ;
  return r ;
}

static char const *const method_names[] = { [CONF_DELIVER_MAILDIR] = "maildir", [CONF_DELIVER_MBOX] = "mbox", [CONF_DELIVER_MDA] = "mda", [CONF_DELIVER_LMTP] = "lmtp" } ;

char const *vuser_method_name (unsigned int m)
{
  return m <= CONF_DELIVER_LMTP ? method_names[m] : "?" ;
}

int vuser_lmtp (conf_vdomain const *v, char const *target)
{
  if (target[0]) return !strncmp(target, VUSER_LMTP, sizeof(VUSER_LMTP) - 1) && target[sizeof(VUSER_LMTP) - 1] ;
  return v && v->deliver.arg && v->deliver.type == CONF_DELIVER_LMTP ;
}

int vuser_target (conf const *c, conf_vdomain const *v, char const *target, char const *local, char const *domain, unsigned int *method, stralloc *out)
{
  size_t pre = sizeof(VUSER_LMTP) - 1 ;
  if (target[0] == '/')
  {
    *method = CONF_DELIVER_MAILDIR ;
    return stralloc_cats(out, target) && stralloc_0(out) ;
  }
  if (!strncmp(target, VUSER_LMTP, pre) && target[pre])
  {
    *method = CONF_DELIVER_LMTP ;
    return stralloc_cats(out, target + pre) && stralloc_0(out) ;
  }
  /* "~/..." (a virtual user has no home) or no target where the domain names no method */
  if (target[0] || !v || !v->deliver.arg) return (errno = EINVAL, 0) ;
  *method = v->deliver.type ;
  if (v->deliver.type == CONF_DELIVER_LMTP) return stralloc_cats(out, c->sa.s + v->deliver.arg) && stralloc_0(out) ;
  /* conf_load allows only maildir and lmtp for a domain, and an absolute template */
  return conf_expand_path(c->sa.s + v->deliver.arg, local, domain, 0, out) ;
}
