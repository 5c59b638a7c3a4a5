/* ISC license: see LICENSE. */

/*
 * smtp-keyd: the one process that reads the TLS private key and the auth
 * table (OpenSMTPD keeps its keys in a separate process the same way).
 * smtp-listen starts it before it drops its privileges; an SMTP session
 * asks it, over a channel it passes through the door (lib/keyd.h), for
 * the key's type, for the signature of a handshake hash, or whether a
 * password is right. A session can obtain signatures while it runs, never
 * the key, and never a line of the table. The signatures are libcrypto's
 * (lib/keysign: several times faster than BearSSL 0.6's), the key read
 * and checked by BearSSL's decoder as everywhere else.
 *
 * The door is descriptor 0. One iopause loop, signals through the
 * selfpipe; requests are one message each, of bounded length, parsed by
 * lib/keyd.c (t/fuzz/keyd.c). The table is read per request; the key
 * and the configuration are read again when their file has changed
 * (fileid below), looked at per request and per channel: a renewed key or
 * an edited table needs no restart, and a handshake does not pay for
 * decoding the key twice (a type request, then a signature: 0.4 ms each
 * for RSA-2048).
 *
 * It also keeps the listener's TLS session cache (lib/tlscache), so that
 * a client can resume a session (RFC 5246 §7.3) in any later session
 * process: a session saves its parameters after a full handshake ('P')
 * and loads those of the ID its client presents ('L'). The cache is
 * dropped, every entry wiped, when the configuration, the key or the
 * certificate file changes (its sessions were made under the old ones),
 * and is lost with the process; an entry is wiped when it expires, at
 * the deadline of the loop below, not only when next looked at.
 */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <bearssl.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sig.h>

#include "exitcodes.h"
#include "conf.h"
#include "authtable.h"
#include "keyd.h"
#include "keysign.h"
#include "tls.h"
#include "tlscache.h"

#define USAGE "smtp-keyd [ -C conf ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)
/* at most this many channels at once: one per session that uses TLS or AUTH */
#define CHANNELS_MAX 4096

static conf cf ;
static char const *conffile = 0 ;

/*
 * What stat says of a file we keep decoded. A key renewed by a rename
 * changes the inode, one rewritten in place its size or its times (in
 * nanoseconds), so a file whose fileid is unchanged is the one we read.
 * The stat comes before the read: a file replaced in between is kept
 * under the older fileid, which only makes the next request read it again.
 */
typedef struct fileid_s fileid ;
struct fileid_s
{
  dev_t dev ;
  ino_t ino ;
  off_t size ;
  struct timespec mtime ;
  struct timespec ctime ;
} ;

static void fileid_of (fileid *id, struct stat const *st)
{
  id->dev = st->st_dev ;
  id->ino = st->st_ino ;
  id->size = st->st_size ;
  id->mtime = st->st_mtim ;
  id->ctime = st->st_ctim ;
}

static int fileid_same (fileid const *a, fileid const *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size
    && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec
    && a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec ;
}

static fileid confid ;

/* the decoded key (its type, or 0: none kept), from the file named keypath */
static keysign key = KEYSIGN_ZERO ;
static int keytype = 0 ;
static stralloc keypath = STRALLOC_ZERO ;
static fileid keyid ;

/* the TLS sessions, and the certificate file they were made with */
static tlscache cache ;
static fileid certid ;

/* a channel passed through the door, or -1 (none left, or end of file) */
static int door_recv (void)
{
  char c ;
  struct iovec v = { .iov_base = &c, .iov_len = 1 } ;
  union { struct cmsghdr h ; char buf[CMSG_SPACE(sizeof(int))] ; } u ;
  struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) } ;
  struct cmsghdr *h ;
  int fd = -1 ;
  ssize_t r = recvmsg(0, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) ;
  if (r < 0) return -1 ;
  if (!r) return (errno = EPIPE, -1) ;
  h = CMSG_FIRSTHDR(&m) ;
  if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
    memcpy(&fd, CMSG_DATA(h), sizeof(int)) ;
  /* a message without exactly one descriptor is not ours to keep */
  if (fd < 0 || m.msg_flags & MSG_CTRUNC)
  {
    if (fd >= 0) fd_close(fd) ;
    return (errno = EPROTO, -1) ;
  }
  return fd ;
}

/* the key, checked by BearSSL's decoder and decoded into ks: its type, or 0 (logged) */
static int key_load (keysign *ks, stralloc *sa)
{
  genalloc objs = GENALLOC_ZERO ;
  br_skey_decoder_context dc ;
  char const *keyfile = cf.sa.s + cf.key ;
  size_t n, i = 0 ;
  int type = 0 ;
  if (!tls_pem_read(keyfile, sa, &objs)) { strerr_warnwusys("read the key ", keyfile) ; goto end ; }
  n = genalloc_len(tls_pemobj, &objs) ;
  br_skey_decoder_init(&dc) ;
  for (; i < n ; i++)
  {
    tls_pemobj const *o = genalloc_s(tls_pemobj, &objs) + i ;
    char const *name = sa->s + o->name ;
    if (!strcmp(name, "PRIVATE KEY") || !strcmp(name, "RSA PRIVATE KEY") || !strcmp(name, "EC PRIVATE KEY"))
    {
      br_skey_decoder_push(&dc, sa->s + o->data, o->len) ;
      if (!br_skey_decoder_last_error(&dc) && keysign_load(ks, sa->s + o->data, o->len, br_skey_decoder_key_type(&dc)))
        type = ks->type ;
      break ;
    }
  }
  /* the decoder holds the key's numbers too */
  byte_zzero((char *)&dc, sizeof(dc)) ;
  if (!type) strerr_warnw("no usable private key in ", keyfile) ;
 end:
  genalloc_free(tls_pemobj, &objs) ;
  return type ;
}

static void key_forget (void)
{
  keysign_free(&key) ;
  keytype = 0 ;
}

/* the configured key, decoded into key: its type, or 0 (logged) */
static int key_get (void)
{
  char const *keyfile = cf.sa.s + cf.key ;
  struct stat st ;
  fileid id ;
  if (!cf.cert) { strerr_warnw("no certificate line in ", conffile) ; key_forget() ; return 0 ; }
  if (stat(keyfile, &st) < 0)
  {
    strerr_warnwusys("read the key ", keyfile) ;
    key_forget() ;
    return 0 ;
  }
  fileid_of(&id, &st) ;
  if (keytype && fileid_same(&id, &keyid) && !strcmp(keypath.s, keyfile)) return keytype ;
  key_forget() ;
  /* a session made with another key is not resumed with this one */
  tlscache_flush(&cache) ;
  {
    stralloc sa = STRALLOC_ZERO ;
    int type = key_load(&key, &sa) ;
    if (sa.s) byte_zzero(sa.s, sa.a) ;
    stralloc_free(&sa) ;
    if (!type) { key_forget() ; return 0 ; }
    /* without the name kept, the key is used this once and read again next time */
    if (stralloc_copyb(&keypath, keyfile, strlen(keyfile) + 1)) { keyid = id ; keytype = type ; }
    return type ;
  }
}

/* per TLS session, with the cache on: a renewed certificate (with the
   same key, or a key not yet renewed) drops the cache as a new key does */
static void cert_check (void)
{
  struct stat st ;
  fileid id ;
  if (stat(cf.sa.s + cf.cert, &st) < 0) { tlscache_flush(&cache) ; return ; }
  fileid_of(&id, &st) ;
  if (fileid_same(&id, &certid)) return ;
  tlscache_flush(&cache) ;
  certid = id ;
}

/* a signature fits in a reply */
typedef char keyd_sig_fits[KEYSIGN_SIG_MAX <= KEYD_SIG_MAX ? 1 : -1] ;

/* the signature of a hash into sig (KEYD_SIG_MAX octets): its length, or 0 */
static size_t sign (unsigned int id, unsigned char const *hash, unsigned char *sig)
{
  size_t len = key_get() ? keysign_sign(&key, id, hash, keyd_hash_len(id), sig) : 0 ;
  if (!keytype) key_forget() ;
  return len ;
}

/*
 * A password check is crypt(3), tens of milliseconds with yescrypt: it
 * runs in a child of ours, which answers on the channel itself, so that
 * the handshakes of other sessions never wait behind it. A channel with
 * a check under way is not read until its child is reaped (a session
 * waits for its answer anyway). At most AUTH_CHILDREN run at once (a
 * yescrypt check takes 16 MiB): a channel whose next request is a check
 * beyond that waits, unread, for a child to end, and its session's own
 * deadline bounds the wait.
 */
#define AUTH_CHILDREN 4

typedef struct chan_s chan ;
struct chan_s
{
  int fd ;
  pid_t pid ;   /* the child checking a password for it, -1 waiting for one, or 0 */
} ;

static unsigned int nauth = 0 ;

static int reply (int fd, unsigned char const *rep, size_t len)
{
  /* a session that does not read its answers loses its channel, never blocks us */
  return send(fd, rep, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len ;
}

/* 1 when a child answers, 0 when we answer (rep[0] set) */
static int auth (chan *c, keyd_req const *r, unsigned char *rep)
{
  pid_t pid ;
  if (!cf.auth_table) { strerr_warnw("no auth-table line in ", conffile) ; return 0 ; }
  pid = fork() ;
  if (pid < 0) { strerr_warnwusys("fork") ; return 0 ; }
  if (!pid)
  {
    int k ;
    selfpipe_finish() ;
    k = authtable_check(cf.sa.s + cf.auth_table, r->data, r->len, r->pass, r->passlen) ;
    if (k < 0) strerr_warnwusys("read ", cf.sa.s + cf.auth_table) ;
    rep[0] = k < 0 ? KEYD_FAIL : k ? KEYD_OK : KEYD_NO ;
    _exit(!reply(c->fd, rep, 1)) ;
  }
  c->pid = pid ;
  nauth++ ;
  return 1 ;
}

/* one request on a channel: 1, or 0 when the channel is to be closed */
static int answer (chan *c)
{
  char req[KEYD_REQ_MAX + 1] ;
  unsigned char rep[KEYD_REP_MAX] ;
  size_t replen = 1 ;
  keyd_req r ;
  int ok = 1 ;
  ssize_t n ;
  if (nauth >= AUTH_CHILDREN && recv(c->fd, req, 1, MSG_DONTWAIT | MSG_PEEK) == 1 && req[0] == KEYD_AUTH)
  {
    c->pid = -1 ;
    return 1 ;
  }
  n = recv(c->fd, req, sizeof(req), MSG_DONTWAIT) ;
  if (n < 0) return error_isagain(errno) ;
  if (!n) return 0 ;
  rep[0] = KEYD_FAIL ;
  /* a longer message was truncated to KEYD_REQ_MAX + 1 octets (SOCK_SEQPACKET) */
  if ((size_t)n > KEYD_REQ_MAX || !keyd_req_parse(req, n, &r))
  {
    strerr_warnw("refused a malformed request") ;
    ok = 0 ;
  }
  else if (r.type == KEYD_KEY)
  {
    int type = key_get() ;
    if (!keytype) key_forget() ;
    if (type) { rep[0] = KEYD_OK ; rep[1] = (unsigned char)type ; replen = 2 ; }
    if (cf.tls_session_cache && cf.cert) cert_check() ;
  }
  else if (r.type == KEYD_SAVE)
  {
    /* the cache off, or the ID taken (a session cannot replace another's): not saved */
    rep[0] = KEYD_NO ;
    if (cf.tls_session_cache)
    {
      tain_now_g() ;
      if (tlscache_put(&cache, (unsigned char const *)r.data, (unsigned char const *)r.pass, &STAMP, cf.tls_session_cache)) rep[0] = KEYD_OK ;
      else if (errno == ENOMEM) strerr_warnwu("allocate the TLS session cache") ;
    }
  }
  else if (r.type == KEYD_LOAD)
  {
    rep[0] = KEYD_NO ;
    tain_now_g() ;
    if (cf.tls_session_cache && tlscache_get(&cache, (unsigned char const *)r.data, rep + 1, &STAMP))
    {
      rep[0] = KEYD_OK ;
      replen = 1 + KEYD_SESSION_PARAMS ;
    }
  }
  else if (r.type == KEYD_SIGN)
  {
    size_t len = sign(r.hash_id, (unsigned char const *)r.data, rep + 1) ;
    if (len) { rep[0] = KEYD_OK ; replen = 1 + len ; }
  }
  else if (auth(c, &r, rep)) replen = 0 ;
  byte_zzero(req, sizeof(req)) ;
  if (replen && !reply(c->fd, rep, replen)) ok = 0 ;
  byte_zzero((char *)rep, sizeof(rep)) ;
  return ok ;
}

static void reap (genalloc *chans)
{
  for (;;)
  {
    int wstat ;
    pid_t pid = wait_nohang(&wstat) ;
    size_t n = genalloc_len(chan, chans), i = 0 ;
    chan *c = genalloc_s(chan, chans) ;
    if (pid <= 0) break ;
    for (; i < n ; i++) if (c[i].pid == pid) { c[i].pid = 0 ; nauth-- ; break ; }
  }
  /* the waiting channels are read again: the first ones get the free places */
  if (nauth < AUTH_CHILDREN)
  {
    size_t n = genalloc_len(chan, chans), i = 0 ;
    chan *c = genalloc_s(chan, chans) ;
    for (; i < n ; i++) if (c[i].pid < 0) c[i].pid = 0 ;
  }
}

/* per channel, the configuration as a session would read it, when its
   file has changed; a broken file keeps the old one (and is read again) */
static void reload (void)
{
  conf nc ;
  stralloc e = STRALLOC_ZERO ;
  struct stat st ;
  fileid id ;
  int known = stat(conffile, &st) == 0 ;
  if (known)
  {
    fileid_of(&id, &st) ;
    if (fileid_same(&id, &confid)) return ;
  }
  if (conf_load(&nc, conffile, &e))
  {
    conf_free(&cf) ;
    cf = nc ;
    /* another lifetime, certificate or key: the cached sessions were made under the old */
    tlscache_flush(&cache) ;
    /* an unreadable file is read again at the next channel */
    if (known) confid = id ;
  }
  else if (errno == EINVAL) strerr_warnw("keeping the old configuration: ", e.s) ;
  else strerr_warnwu("keeping the old configuration: unable to load ", conffile) ;
  stralloc_free(&e) ;
}

int main (int argc, char const *const *argv)
{
  stralloc e = STRALLOC_ZERO ;
  genalloc chans = GENALLOC_ZERO ;   /* chan */
  genalloc x = GENALLOC_ZERO ;       /* iopause_fd */
  int sfd ;
  PROG = "smtp-keyd" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        default : dieusage() ;
      }
    }
  }
  conffile = conf_path(conffile) ;
  {
    struct stat st ;
    int known = stat(conffile, &st) == 0 ;
    if (!conf_load(&cf, conffile, &e))
    {
      if (errno == EINVAL) strerr_dief(KETCH_EX_PERM, e.s) ;
      strerr_diefusys(KETCH_EX_TEMP, "load the configuration ", conffile) ;
    }
    if (known) fileid_of(&confid, &st) ;
  }
  stralloc_free(&e) ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  sfd = selfpipe_init() ;
  if (sfd < 0) strerr_diefusys(KETCH_EX_TEMP, "init the selfpipe") ;
  if (!selfpipe_trap(SIGCHLD)) strerr_diefusys(KETCH_EX_TEMP, "trap SIGCHLD") ;
  tain_now_set_stopwatch_g() ;
  tlscache_init(&cache, TLSCACHE_ENTRIES) ;
  for (;;)
  {
    tain deadline ;
    size_t n = genalloc_len(chan, &chans), i, np = 2 ;
    chan const *c = genalloc_s(chan, &chans) ;
    iopause_fd *p ;
    if (!genalloc_ready(iopause_fd, &x, n + 2)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
    p = genalloc_s(iopause_fd, &x) ;
    p[0].fd = 0 ; p[0].events = IOPAUSE_READ ; p[0].revents = 0 ;
    p[1].fd = sfd ; p[1].events = IOPAUSE_READ ; p[1].revents = 0 ;
    /* a channel whose password check runs, or waits, is left alone until a check ends */
    for (i = 0 ; i < n ; i++)
      if (!c[i].pid) { p[np].fd = c[i].fd ; p[np].events = IOPAUSE_READ ; p[np++].revents = 0 ; }
    /* woken when the oldest cached session expires, to wipe it */
    if (iopause_g(p, np, tlscache_deadline(&cache, &deadline) ? &deadline : 0) < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    tlscache_expire(&cache, &STAMP) ;
    /* channels first, from the end: a closed one is replaced by the last */
    for (i = np ; i-- > 2 ; )
      if (p[i].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT))
      {
        chan *cs = genalloc_s(chan, &chans) ;
        size_t len = genalloc_len(chan, &chans), k = 0 ;
        for (; k < len ; k++) if (cs[k].fd == p[i].fd) break ;
        if (answer(cs + k)) continue ;
        fd_close(cs[k].fd) ;
        cs[k] = cs[len-1] ;
        genalloc_setlen(chan, &chans, len - 1) ;
      }
    if (p[1].revents & IOPAUSE_READ)
      for (;;)
      {
        int sig = selfpipe_read() ;
        if (sig < 0) strerr_diefusys(KETCH_EX_TEMP, "read the selfpipe") ;
        if (!sig) break ;
        if (sig == SIGCHLD) reap(&chans) ;
      }
    if (p[0].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT))
      for (;;)
      {
        chan nc = { .fd = -1, .pid = 0 } ;
        nc.fd = door_recv() ;
        if (nc.fd < 0)
        {
          /* every holder of the door, the listener and its sessions, is gone */
          if (errno == EPIPE) return 0 ;
          if (errno == EPROTO) { strerr_warnw("refused a door message without a channel") ; continue ; }
          if (!error_isagain(errno)) strerr_diefusys(KETCH_EX_TEMP, "receive a channel") ;
          break ;
        }
        if (genalloc_len(chan, &chans) >= CHANNELS_MAX)
        {
          strerr_warnw("too many channels: refusing one") ;
          fd_close(nc.fd) ;
          continue ;
        }
        if (!genalloc_append(chan, &chans, &nc)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ;
        reload() ;
      }
  }
}
