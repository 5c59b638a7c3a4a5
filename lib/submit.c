/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/skamisc.h>

#include "exitcodes.h"
#include "address.h"
#include "submit.h"

/* err = a, b, c (b and c may be null); returns code */
static int fail (stralloc *err, int code, char const *a, char const *b, char const *c)
{
  err->len = 0 ;
  if (!stralloc_cats(err, a) || (b && !stralloc_cats(err, b)) || (c && !stralloc_cats(err, c))
   || !stralloc_0(err)) err->len = 0 ;
  return code ;
}

/* a system call failed: "unable to WHAT OBJ: reason", tmp/ID removed */
static int failsys (submit *s, stralloc *err, char const *what, char const *obj)
{
  int e = errno ;
  submit_abort(s) ;
  fail(err, KETCH_EX_TEMP, "unable to ", what, obj) ;
  if (err->len)
  {
    err->len-- ;
    if (!stralloc_cats(err, ": ") || !stralloc_cats(err, strerror(e)) || !stralloc_0(err)) err->len = 0 ;
  }
  errno = e ;
  return KETCH_EX_TEMP ;
}

static int add (submit *s, char const *str, size_t len, int sender, stralloc *err)
{
  unsigned int options = sender ? ADDRESS_NULL_OK | ADDRESS_UTF8 : ADDRESS_UTF8 ;
  address a = ADDRESS_ZERO ;
  int r = address_parse(&a, str, len, options) ;
  if (r)
  {
    stralloc q = STRALLOC_ZERO ;
    int code ;
    if (!string_quote(&q, str, len) || !stralloc_0(&q)) return fail(err, KETCH_EX_TEMP, "unable to allocate", 0, 0) ;
    code = fail(err, KETCH_EX_PERM, sender ? "invalid sender " : "invalid recipient ", q.s, ": ") ;
    stralloc_free(&q) ;
    if (err->len)
    {
      err->len-- ;
      if (!stralloc_cats(err, address_strerror(r)) || !stralloc_0(err)) err->len = 0 ;
    }
    return code ;
  }
  if (sender ? !envelope_init(&s->e, a.s) : !envelope_add_rcpt(&s->e, a.s))
    return fail(err, KETCH_EX_TEMP, "unable to allocate", 0, 0) ;
  /* after envelope_init, which clears the flags: a UTF-8 sender alone needs SMTPUTF8 too */
  if (a.flags & ADDRESS_F_8BIT) s->e.flags |= ENVELOPE_F_SMTPUTF8 ;
  return 0 ;
}

int submit_sender (submit *s, char const *str, size_t len, stralloc *err)
{
  return add(s, str, len, 1, err) ;
}

int submit_rcpt (submit *s, char const *str, size_t len, stralloc *err)
{
  if (envelope_nrcpt(&s->e) >= SUBMIT_RCPT_MAX) return fail(err, KETCH_EX_PERM, "too many recipients", 0, 0) ;
  return add(s, str, len, 0, err) ;
}

int submit_auth (submit *s, char const *user, stralloc *err)
{
  size_t i = 0 ;
  for (; user[i] ; i++) if ((unsigned char)user[i] <= 32 || user[i] == 127) return fail(err, KETCH_EX_PERM, "invalid auth user", 0, 0) ;
  if (!envelope_set_auth(&s->e, user)) return fail(err, KETCH_EX_TEMP, "unable to allocate", 0, 0) ;
  return 0 ;
}

#define PASSWD_FILE "/etc/passwd"
#define PASSWD_MAX (16 << 20)

/* the uid of name in PASSWD_FILE ("name:pw:uid:..."): 1 found, 0 absent, -1 error */
static int passwd_uid (char const *name, uid_t *uid)
{
  stralloc sa = STRALLOC_ZERO ;
  struct stat st ;
  size_t n = strlen(name), pos = 0 ;
  int r = 0 ;
  int fd = open_read(PASSWD_FILE) ;
  if (fd < 0) return -1 ;
  if (fstat(fd, &st) < 0) r = -1 ;
  else if (st.st_size > PASSWD_MAX) { errno = EFBIG ; r = -1 ; }
  /* NUL-terminated: a number at the very end is not scanned past it */
  else if (!slurp(&sa, fd) || !stralloc_0(&sa)) r = -1 ;
  if (r < 0)
  {
    int e = errno ;
    fd_close(fd) ;
    stralloc_free(&sa) ;
    errno = e ;
    return -1 ;
  }
  fd_close(fd) ;
  while (!r && pos < sa.len)
  {
    char const *s = sa.s + pos ;
    char const *nl = memchr(s, '\n', sa.len - pos) ;
    size_t len = nl ? (size_t)(nl - s) : sa.len - pos ;
    pos += len + 1 ;
    if (len > n + 1 && !memcmp(s, name, n) && s[n] == ':')
    {
      char const *pw = memchr(s + n + 1, ':', len - n - 1) ;
      uint64_t u ;
      size_t k ;
      if (!pw) continue ;
      k = uint64_scan(pw + 1, &u) ;
      if (k && pw[1 + k] == ':' && u == (uid_t)u) { *uid = (uid_t)u ; r = 1 ; }
    }
  }
  stralloc_free(&sa) ;
  return r ;
}

/*
 * uid may speak for a session: root, the queue owner (our effective
 * uid), or the smtp-user. 0, or the code with err (what says so).
 */
static int trusted (conf const *c, uid_t uid, char const *what, stralloc *err)
{
  uid_t su ;
  int r ;
  if (!uid || uid == geteuid()) return 0 ;
  r = c->smtp_user ? passwd_uid(c->sa.s + c->smtp_user, &su) : 0 ;
  if (r < 0)
  {
    int e = errno ;
    fail(err, KETCH_EX_TEMP, "unable to read ", PASSWD_FILE, ": ") ;
    if (err->len) { err->len-- ; if (!stralloc_cats(err, strerror(e)) || !stralloc_0(err)) err->len = 0 ; }
    return KETCH_EX_TEMP ;
  }
  if (!r || su != uid) return fail(err, KETCH_EX_PERM, "only root, the queue owner and the smtp-user may ", what, 0) ;
  return 0 ;
}

int submit_auth_from (submit *s, char const *user, conf const *c, uid_t uid, stralloc *err)
{
  int r = trusted(c, uid, "set the authenticated user", err) ;
  return r ? r : submit_auth(s, user, err) ;
}

int submit_flags (submit *s, unsigned int flags, char const *reason, conf const *c, uid_t uid, stralloc *err)
{
  if (flags & ~SUBMIT_F_ALL) return fail(err, KETCH_EX_PERM, "unknown submission flags", 0, 0) ;
  if (flags & SUBMIT_F_SIGN)
  {
    int r = trusted(c, uid, "ask for signing", err) ;
    if (r) return r ;
    s->e.flags |= ENVELOPE_F_SIGN ;
  }
  /* a reason says why a message is held: without the hold it is dropped */
  if (flags & SUBMIT_F_HOLD)
  {
    size_t len = reason ? strlen(reason) : 0 ;
    if (len && !envelope_reason_valid(reason, len))
      return fail(err, KETCH_EX_PERM, "invalid hold reason: more than 256 octets, or not printable ASCII", 0, 0) ;
    if (!envelope_set_hold(&s->e, reason)) return fail(err, KETCH_EX_TEMP, "unable to allocate", 0, 0) ;
  }
  s->flags |= flags ;
  return 0 ;
}

int submit_dkim (submit *s, conf const *c, uid_t uid, stralloc *err)
{
  s->dkimconf = 0 ;
  if (!genalloc_len(conf_dkim, &c->dkim) || s->flags & SUBMIT_F_NOSIGN) return 0 ;
  if (!s->e.auth && !(s->flags & SUBMIT_F_SIGN))
  {
    uid_t su = geteuid() ;
    int r = c->smtp_user ? passwd_uid(c->sa.s + c->smtp_user, &su) : 1 ;
    if (r < 0)
    {
      int e = errno ;
      fail(err, KETCH_EX_TEMP, "unable to read ", PASSWD_FILE, ": ") ;
      if (err->len) { err->len-- ; if (!stralloc_cats(err, strerror(e)) || !stralloc_0(err)) err->len = 0 ; }
      return KETCH_EX_TEMP ;
    }
    if (r && uid == su) return 0 ;
  }
  s->dkimconf = c ;
  return 0 ;
}

int submit_open (submit *s, uint64_t max, unsigned int options, stralloc *err)
{
  if (!envelope_nrcpt(&s->e)) return fail(err, KETCH_EX_PERM, "no recipient", 0, 0) ;
  /* locked until the commit or the process's end: recovery deletes only unlocked temp files */
  if (!queue_tmp_create(s->id, s->tmpfn, &s->fd)) return failsys(s, err, "create a file in ", "tmp") ;
  s->out.len = 0 ;
  if (!envelope_encode(&s->e, &s->out)) return failsys(s, err, "encode the envelope", 0) ;
  s->envlen = s->out.len ;
  s->room = s->dkimconf ? dkimsign_reserve(s->dkimconf) : 0 ;
  if (s->room)
  {
    /* the room for the signatures replaces the empty line that ends the envelope */
    s->out.len-- ;
    if (!dkimsign_room(s->room, 0, 0, &s->out)) return failsys(s, err, "allocate", 0) ;
    dkim_init(&s->dkim) ;
  }
  if (allwrite(s->fd, s->out.s, s->out.len) < s->out.len) return failsys(s, err, "write ", s->tmpfn) ;
  s->m = (message)MESSAGE_ZERO ;
  s->m.max = max ;
  s->m.options = options ;
  return 0 ;
}

static int flushout (submit *s, stralloc *err)
{
  if (s->out.len && allwrite(s->fd, s->out.s, s->out.len) < s->out.len) return failsys(s, err, "write ", s->tmpfn) ;
  s->out.len = 0 ;
  return 0 ;
}

int submit_feed (submit *s, char const *buf, size_t len, stralloc *err)
{
  while (len && !s->m.done)
  {
    size_t used ;
    int r ;
    s->out.len = 0 ;
    used = message_feed(&s->m, buf, len, &s->out) ;
    if (used == (size_t)-1) return failsys(s, err, "allocate", 0) ;
    if (s->room) dkim_feed(&s->dkim, s->out.s, s->out.len) ;
    r = flushout(s, err) ;
    if (r) return r ;
    if (s->m.err)
    {
      submit_abort(s) ;
      return fail(err, KETCH_EX_PERM, message_strerror(s->m.err), 0, 0) ;
    }
    if (!used) break ;
    buf += used ; len -= used ;
  }
  s->left = len ;
  return 0 ;
}

/* the signatures into the room (lib/dkimsign.h): one pwrite, before the commit's fsync */
static int sign (submit *s, stralloc *err)
{
  uint64_t at = s->envlen - 1 ;
  int r ;
  s->out.len = 0 ;
  r = dkimsign_sign(&s->dkim, s->dkimconf, s->fd, at + s->room, &s->out, err) ;
  if (r) { submit_abort(s) ; return r ; }
  if (!s->out.len) return 0 ;
  {
    size_t siglen = s->out.len ;
    /* room made first: the signatures are copied from out into out, which must not move */
    if (!stralloc_readyplus(&s->out, s->room)) return failsys(s, err, "allocate", 0) ;
    if (!dkimsign_room(s->room, s->out.s, siglen, &s->out)) return failsys(s, err, "fit the DKIM signatures in their room", 0) ;
    if (pwrite(s->fd, s->out.s + siglen, s->out.len - siglen, at) != (ssize_t)(s->out.len - siglen)) return failsys(s, err, "write ", s->tmpfn) ;
  }
  return 0 ;
}

int submit_commit (submit *s, stralloc *err)
{
  int r ;
  s->out.len = 0 ;
  if (!message_finish(&s->m, &s->out))
  {
    submit_abort(s) ;
    /* a session's stream that stopped before its final dot: an abort, said by the caller's state */
    if (s->m.options & MESSAGE_DOTS && s->m.err == MESSAGE_ETRUNC) { err->len = 0 ; return KETCH_EX_TEMP ; }
    return fail(err, KETCH_EX_PERM, message_strerror(s->m.err), 0, 0) ;
  }
  if (s->room) dkim_feed(&s->dkim, s->out.s, s->out.len) ;
  r = flushout(s, err) ;
  if (r) return r ;
  if (s->room)
  {
    r = sign(s, err) ;
    if (r) return r ;
  }
  if (s->m.has8bit && pwrite(s->fd, "8", 1, s->envlen - ENVELOPE_BODYFLAG_OFF) != 1) return failsys(s, err, "write ", s->tmpfn) ;
  if (!queue_commit(s->fd, s->id)) return failsys(s, err, "commit ", s->tmpfn) ;
  /* committed: the lock and the descriptor go (a worker takes the next message) */
  close(s->fd) ;
  s->fd = -1 ;
  queue_trigger(s->id) ;
  return 0 ;
}

void submit_abort (submit *s)
{
  if (s->fd < 0) return ;
  unlink(s->tmpfn) ;
  close(s->fd) ;
  s->fd = -1 ;
}

void submit_free (submit *s)
{
  submit_abort(s) ;
  envelope_free(&s->e) ;
  stralloc_free(&s->out) ;
  s->m = (message)MESSAGE_ZERO ;
  s->flags = 0 ;
  s->dkimconf = 0 ;
  s->room = 0 ;
}
