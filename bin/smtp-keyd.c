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
 * The door is descriptor 0. One epoll loop, signals through the
 * selfpipe, so that a request costs the same whether ten channels are
 * open or four thousand (every session process that used TLS keeps its
 * channel: with poll, each wake-up looked at all of them, about 20 % of
 * smtp-keyd's CPU in W4, t/bench/README.md). Requests are one message
 * each, of bounded length, parsed by
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
#include <sys/epoll.h>

#include <bearssl.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
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
/* events taken from one epoll_wait */
#define EVENTS_MAX 64
/* epoll's data for the two descriptors that are not channels (a channel's is its slot) */
#define EV_DOOR ((uint64_t)-1)
#define EV_SELFPIPE ((uint64_t)-2)

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
  int fd ;      /* -1: a free slot */
  pid_t pid ;   /* the child checking a password for it, -1 waiting for one, or 0 */
  int armed ;   /* in the epoll set */
} ;

/*
 * The channels, in slots that keep their place (an epoll event names its
 * slot); below nchans, some may be free. Invariant: a channel is in the
 * epoll set exactly when its pid is 0, so that one whose check runs or
 * waits is not read; it is taken out of the set, not merely asked for no
 * event, because epoll reports a hang-up whatever is asked.
 */
static chan chans[CHANNELS_MAX] ;
static size_t nchans = 0 ;
static int epfd ;
static unsigned int nauth = 0 ;

/* puts channel i in the epoll set (on) or takes it out: 1, or 0 (errno) */
static int chan_arm (size_t i, int on)
{
  struct epoll_event ev = { .events = EPOLLIN, .data = { .u64 = i } } ;
  if (chans[i].armed == on) return 1 ;
  if (epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, chans[i].fd, &ev) < 0) return 0 ;
  chans[i].armed = on ;
  return 1 ;
}

/* out of the set first: a password check's child may still hold the
   descriptor, and epoll forgets a descriptor only when its last copy closes */
static void chan_close (size_t i)
{
  if (chans[i].armed) chan_arm(i, 0) ;
  fd_close(chans[i].fd) ;
  chans[i].fd = -1 ;
  chans[i].pid = 0 ;
  chans[i].armed = 0 ;
  while (nchans && chans[nchans-1].fd < 0) nchans-- ;
}

/* a channel from the door, in the first free slot: 1, or 0 when refused
   (closed): beyond CHANNELS_MAX, or epoll cannot take it */
static int chan_new (int fd)
{
  size_t i = 0 ;
  for (; i < nchans ; i++) if (chans[i].fd < 0) break ;
  if (i == CHANNELS_MAX)
  {
    strerr_warnw("too many channels: refusing one") ;
    fd_close(fd) ;
    return 0 ;
  }
  if (i == nchans) nchans++ ;
  chans[i].fd = fd ;
  chans[i].pid = 0 ;
  chans[i].armed = 0 ;
  if (!chan_arm(i, 1))
  {
    strerr_warnwusys("add a channel to the epoll set (refusing it)") ;
    chan_close(i) ;
    return 0 ;
  }
  return 1 ;
}

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
    /* not answered (lib/keyd.h); the cache off, or the ID taken (a session cannot replace another's): not saved */
    replen = 0 ;
    if (cf.tls_session_cache)
    {
      tain_now_g() ;
      if (!tlscache_put(&cache, (unsigned char const *)r.data, (unsigned char const *)r.pass, &STAMP, cf.tls_session_cache) && errno == ENOMEM)
        strerr_warnwu("allocate the TLS session cache") ;
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

/* pid 0 again for the channels of the children that ended and, with a
   place free, for those that waited: both are read again */
static void reap (void)
{
  size_t i ;
  for (;;)
  {
    int wstat ;
    pid_t pid = wait_nohang(&wstat) ;
    if (pid <= 0) break ;
    for (i = 0 ; i < nchans ; i++) if (chans[i].fd >= 0 && chans[i].pid == pid) { chans[i].pid = 0 ; nauth-- ; break ; }
  }
  /* the first waiting ones get the free places */
  if (nauth < AUTH_CHILDREN)
    for (i = 0 ; i < nchans ; i++) if (chans[i].fd >= 0 && chans[i].pid < 0) chans[i].pid = 0 ;
  for (i = 0 ; i < nchans ; i++)
    if (chans[i].fd >= 0 && !chans[i].pid && !chan_arm(i, 1))
    {
      strerr_warnwusys("put a channel back in the epoll set (closing it)") ;
      chan_close(i) ;
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
  epfd = epoll_create1(EPOLL_CLOEXEC) ;
  if (epfd < 0) strerr_diefusys(KETCH_EX_TEMP, "create an epoll instance") ;
  {
    struct epoll_event door = { .events = EPOLLIN, .data = { .u64 = EV_DOOR } } ;
    struct epoll_event sp = { .events = EPOLLIN, .data = { .u64 = EV_SELFPIPE } } ;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &door) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sp) < 0)
      strerr_diefusys(KETCH_EX_TEMP, "add the door and the selfpipe to the epoll set") ;
  }
  for (;;)
  {
    struct epoll_event ev[EVENTS_MAX] ;
    tain deadline ;
    int n, i, ms = -1, door = 0, sig = 0 ;
    /* woken when the oldest cached session expires, to wipe it (rounded up to the millisecond) */
    if (tlscache_deadline(&cache, &deadline))
    {
      tain_now_g() ;
      if (!tain_future(&deadline)) ms = 0 ;
      else
      {
        tain d ;
        tain_sub(&d, &deadline, &STAMP) ;
        ms = tain_to_millisecs(&d) ;
      }
    }
    n = epoll_wait(epfd, ev, EVENTS_MAX, ms) ;
    if (n < 0)
    {
      if (errno == EINTR) continue ;
      strerr_diefusys(KETCH_EX_TEMP, "epoll_wait") ;
    }
    tain_now_g() ;
    tlscache_expire(&cache, &STAMP) ;
    /* channels first; one closed, or whose check started, earlier in this batch is skipped */
    for (i = 0 ; i < n ; i++)
    {
      uint64_t k = ev[i].data.u64 ;
      if (k == EV_DOOR) { door = 1 ; continue ; }
      if (k == EV_SELFPIPE) { sig = 1 ; continue ; }
      if (chans[k].fd < 0 || !chans[k].armed) continue ;
      if (!answer(chans + k)) chan_close(k) ;
      else if (chans[k].pid) chan_arm(k, 0) ;
    }
    if (sig)
      for (;;)
      {
        int s = selfpipe_read() ;
        if (s < 0) strerr_diefusys(KETCH_EX_TEMP, "read the selfpipe") ;
        if (!s) break ;
        if (s == SIGCHLD) reap() ;
      }
    if (door)
      for (;;)
      {
        int fd = door_recv() ;
        if (fd < 0)
        {
          /* every holder of the door, the listener and its sessions, is gone */
          if (errno == EPIPE) return 0 ;
          if (errno == EPROTO) { strerr_warnw("refused a door message without a channel") ; continue ; }
          if (!error_isagain(errno)) strerr_diefusys(KETCH_EX_TEMP, "receive a channel") ;
          break ;
        }
        if (chan_new(fd)) reload() ;
      }
  }
}
