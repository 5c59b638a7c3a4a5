/* ISC license: see LICENSE. */

/*
 * queue-ls: show the queue, one line per message and one per recipient,
 * or JSON lines (-j). Streams: it holds one message at a time, so its
 * memory does not grow with the queue. A few threads read ahead of the
 * walk (lib/qprefetch.h); they change how soon the files are in memory,
 * never what is printed or in which order.
 */

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>

#include "exitcodes.h"
#include "conf.h"
#include "envelope.h"
#include "qstate.h"
#include "queue.h"
#include "qprefetch.h"

#define USAGE "queue-ls [ -C conf ] [ -j ] [ id... ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

/*
 * Read-ahead over the whole queue (lib/qprefetch.h): with a cold cache,
 * 100,000 messages took 5.7 s one synchronous read at a time and about
 * 2 s with these; the threads mostly wait on the disk, so more than the
 * 2 cores of the machine measured still helps, and more in front of the
 * walk than a few buckets does not.
 */
#define QLS_THREADS 3
#define QLS_AHEAD 4

static int json = 0 ;
static uint64_t now ;
static envelope e = ENVELOPE_ZERO ;
static qstate q = QSTATE_ZERO ;
static stralloc buf = STRALLOC_ZERO ;
static stralloc out = STRALLOC_ZERO ;
static unsigned long nmsg = 0, nrcpt = 0 ;
static int bad = 0 ;

static void put (char const *s) { if (!stralloc_cats(&out, s)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ; }
static void putb (char const *s, size_t n) { if (!stralloc_catb(&out, s, n)) strerr_diefusys(KETCH_EX_TEMP, "allocate") ; }
static void putu (uint64_t u) { char fmt[UINT64_FMT] ; putb(fmt, uint64_fmt(fmt, u)) ; }

/* RFC 8259 §7 string escaping */
static void putjson (char const *s)
{
  static char const hex[] = "0123456789abcdef" ;
  putb("\"", 1) ;
  for (; *s ; s++)
  {
    unsigned char c = *s ;
    if (c == '"' || c == '\\') { char x[2] = { '\\', c } ; putb(x, 2) ; }
    else if (c < 32 || c == 127) { char x[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] } ; putb(x, 6) ; }
    else putb((char const *)&c, 1) ;
  }
  putb("\"", 1) ;
}

/* a compact age or delay: 45s, 12m, 3h, 2d */
static void putdelay (uint64_t d)
{
  if (d < 120) { putu(d) ; put("s") ; }
  else if (d < 7200) { putu(d / 60) ; put("m") ; }
  else if (d < 172800) { putu(d / 3600) ; put("h") ; }
  else { putu(d / 86400) ; put("d") ; }
}

static void show_human (char const *id, uint64_t arrival, uint64_t size)
{
  size_t n = qstate_n(&q), i = 0 ;
  put(id) ; put("  ") ;
  putdelay(now > arrival ? now - arrival : 0) ;
  put("  ") ; putu(size) ;
  put("  <") ; put(envelope_sender(&e)) ; put(">") ;
  if (q.flags & QSTATE_F_HOLD)
  {
    put("  held") ;
    /* queued held (a quarantine); the reason is printable ASCII (envelope_decode checks it): no terminal escape can come through */
    if (e.flags & ENVELOPE_F_HOLD)
    {
      put(" (quarantine") ;
      if (e.reason) { put(": ") ; put(envelope_reason(&e)) ; }
      put(")") ;
    }
  }
  put("\n") ;
  for (; i < n ; i++)
  {
    qstate_rcpt const *r = qstate_get(&q, i) ;
    put("    ") ; put(qstate_status_name(r->status)) ;
    put("  attempts=") ; putu(r->attempts) ;
    if (r->status == QSTATE_PENDING || r->status == QSTATE_DEFERRED)
    {
      put("  next=") ;
      if (r->next <= now) put("now") ; else putdelay(r->next - now) ;
    }
    put("  <") ; put(qstate_str(&q, r->addr)) ; put(">") ;
    if (r->orig) { put("  via <") ; put(qstate_str(&q, r->orig)) ; put(">") ; }
    if (r->result) { put("  ") ; put(qstate_str(&q, r->result)) ; }
    put("\n") ;
  }
}

static void show_json (char const *id, uint64_t arrival, uint64_t size)
{
  size_t n = qstate_n(&q), i = 0 ;
  put("{\"id\":\"") ; put(id) ;
  put("\",\"arrival\":") ; putu(arrival) ;
  put(",\"size\":") ; putu(size) ;
  put(",\"sender\":") ; putjson(envelope_sender(&e)) ;
  put(",\"held\":") ; put(q.flags & QSTATE_F_HOLD ? "true" : "false") ;
  put(",\"quarantine\":") ;
  if (q.flags & QSTATE_F_HOLD && e.flags & ENVELOPE_F_HOLD) putjson(e.reason ? envelope_reason(&e) : "") ;
  else put("null") ;
  put(",\"warned\":") ; put(q.flags & QSTATE_F_WARNED ? "true" : "false") ;
  put(",\"recipients\":[") ;
  for (; i < n ; i++)
  {
    qstate_rcpt const *r = qstate_get(&q, i) ;
    if (i) put(",") ;
    put("{\"address\":") ; putjson(qstate_str(&q, r->addr)) ;
    put(",\"state\":\"") ; put(qstate_status_name(r->status)) ;
    put("\",\"attempts\":") ; putu(r->attempts) ;
    put(",\"next\":") ; putu(r->next) ;
    put(",\"original\":") ; if (r->orig) putjson(qstate_str(&q, r->orig)) ; else put("null") ;
    put(",\"result\":") ; if (r->result) putjson(qstate_str(&q, r->result)) ; else put("null") ;
    put("}") ;
  }
  put("]}\n") ;
}

/* one message; a message that vanished meanwhile (delivered) is skipped */
static void show (char const *id)
{
  char fn[QUEUE_PATH_MAX] ;
  struct stat st ;
  int fd ;
  queue_path(fn, "queue", id) ;
  fd = open(fn, O_RDONLY | O_CLOEXEC) ;
  if (fd < 0)
  {
    if (errno != ENOENT) { strerr_warnwusys("open ", fn) ; bad = 1 ; }
    return ;
  }
  if (fstat(fd, &st) < 0 || !envelope_read(&e, fd, &buf))
  {
    strerr_warnwusys("read the envelope of ", id) ;
    fd_close(fd) ; bad = 1 ;
    return ;
  }
  fd_close(fd) ;
  if (!qstate_read(&q, id, &e))
  {
    if (errno == ENOENT) return ;
    strerr_warnwusys("read the state of ", id) ;
    bad = 1 ;
    return ;
  }
  out.len = 0 ;
  if (json) show_json(id, queue_id_time(id), st.st_size - e.hdrlen) ;
  else show_human(id, queue_id_time(id), st.st_size - e.hdrlen) ;
  if (buffer_put(buffer_1, out.s, out.len) < 0) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  nmsg++ ;
  nrcpt += qstate_n(&q) ;
}

static int show_one (char const *id, void *data)
{
  if (data) qprefetch_seen(data, id) ;
  show(id) ;
  return 1 ;
}

int main (int argc, char const *const *argv)
{
  conf c ;
  stralloc err = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  PROG = "queue-ls" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:j", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'j' : json = 1 ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (!conf_load_default(&c, conffile, &err))
    strerr_dief(errno == EINVAL ? KETCH_EX_PERM : KETCH_EX_TEMP, err.len ? err.s : "unable to load the configuration") ;
  if (chdir(c.sa.s + c.spool) < 0) strerr_diefusys(KETCH_EX_TEMP, "chdir to ", c.sa.s + c.spool) ;
  now = (uint64_t)time(0) ;
  if (argc)
  {
    for (; *argv ; argv++)
    {
      if (!queue_id_valid(*argv, strlen(*argv))) strerr_dief(KETCH_EX_PERM, "not a queue id: ", *argv) ;
      show(*argv) ;
    }
  }
  else
  {
    qprefetch p ;
    int pf = qprefetch_start(&p, QLS_THREADS, QLS_AHEAD) ;
    if (!pf) strerr_warnwusys("start the read-ahead threads") ;
    if (!queue_foreach("queue", &show_one, pf ? &p : 0)) { strerr_warnwusys("read the queue") ; bad = 1 ; }
    if (pf) qprefetch_stop(&p) ;
  }
  if (!json)
  {
    out.len = 0 ;
    putu(nmsg) ; put(nmsg == 1 ? " message, " : " messages, ") ;
    putu(nrcpt) ; put(nrcpt == 1 ? " recipient\n" : " recipients\n") ;
    if (buffer_put(buffer_1, out.s, out.len) < 0) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  }
  if (!buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write to stdout") ;
  return bad ? KETCH_EX_TEMP : 0 ;
}
