/* ISC license: see LICENSE. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <skalibs/uint16.h>
#include <skalibs/uint32.h>
#include <skalibs/bytestr.h>
#include <skalibs/fmtscan.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/error.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/socket.h>
#include <skalibs/ip46.h>
#include <skalibs/tai.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

#include "milter.h"

/*
 * The protocol as libmilter (mfdef.h, engine.c) and Postfix's milter8.c
 * speak it: see the essay in milter.h. Invariant between calls: m->buf
 * holds only output not yet sent (the macros of a stage the filter
 * skipped, SMFIP_NO*), which the next command's write carries along.
 */

/* the stages we send, with what the filter may have negotiated about them */
struct stage_s
{
  char cmd ;          /* SMFIC_ */
  signed char ms ;    /* SMFIM_ of its macros; -1: none */
  uint32_t no ;       /* SMFIP_NO*: not sent */
  uint32_t nr ;       /* SMFIP_NR_*: no reply */
  unsigned char msg ; /* part of a message: done_msg ends it */
  unsigned char data ;/* timed by t.data, else t.command */
} ;

enum { ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_HEADER, ST_EOH, ST_BODY, ST_EOM } ;

static struct stage_s const stages[] =
{
  [ST_CONNECT] = { SMFIC_CONNECT, SMFIM_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN, 0, 0 },
  [ST_HELO] = { SMFIC_HELO, SMFIM_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, 0, 0 },
  [ST_MAIL] = { SMFIC_MAIL, SMFIM_ENVFROM, SMFIP_NOMAIL, SMFIP_NR_MAIL, 1, 0 },
  [ST_RCPT] = { SMFIC_RCPT, SMFIM_ENVRCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, 1, 0 },
  [ST_DATA] = { SMFIC_DATA, SMFIM_DATA, SMFIP_NODATA, SMFIP_NR_DATA, 1, 0 },
  [ST_HEADER] = { SMFIC_HEADER, -1, SMFIP_NOHDRS, SMFIP_NR_HDR, 1, 1 },
  [ST_EOH] = { SMFIC_EOH, SMFIM_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, 1, 1 },
  [ST_BODY] = { SMFIC_BODY, -1, SMFIP_NOBODY, SMFIP_NR_BODY, 1, 1 },
  [ST_EOM] = { SMFIC_BODYEOB, SMFIM_EOM, 0, 0, 1, 1 },
} ;

/* the replies: what each means, which SMFIF_ action a modification
   needs, and the layout of its data (see mod_parse) */
enum kind_e { K_CONTINUE, K_ACCEPT, K_REJECT, K_TEMPFAIL, K_DISCARD, K_REPLYCODE, K_SHUTDOWN, K_PROGRESS, K_SKIP, K_MOD } ;

struct reply_s
{
  char cmd ;           /* SMFIR_ */
  unsigned char kind ;
  char mod ;           /* enum milter_mod_e */
  uint32_t action ;    /* SMFIF_ it needs */
  char const *fmt ;    /* the data: i index, n header name, v header value, a address or text, o optional text, r raw */
} ;

static struct reply_s const replies[] =
{
  { SMFIR_CONTINUE, K_CONTINUE, 0, 0, 0 },
  { SMFIR_ACCEPT, K_ACCEPT, 0, 0, 0 },
  { SMFIR_REJECT, K_REJECT, 0, 0, 0 },
  { SMFIR_TEMPFAIL, K_TEMPFAIL, 0, 0, 0 },
  { SMFIR_DISCARD, K_DISCARD, 0, 0, 0 },
  { SMFIR_REPLYCODE, K_REPLYCODE, 0, 0, 0 },
  { SMFIR_SHUTDOWN, K_SHUTDOWN, 0, 0, 0 },
  { SMFIR_CONN_FAIL, K_SHUTDOWN, 0, 0, 0 },
  { SMFIR_PROGRESS, K_PROGRESS, 0, 0, 0 },
  { SMFIR_SKIP, K_SKIP, 0, 0, 0 },
  /* libmilter's smfi_addheader and smfi_insheader both need SMFIF_ADDHDRS */
  { SMFIR_ADDHEADER, K_MOD, MILTER_MOD_ADDHDR, SMFIF_ADDHDRS, "nv" },
  { SMFIR_INSHEADER, K_MOD, MILTER_MOD_INSHDR, SMFIF_ADDHDRS, "inv" },
  { SMFIR_CHGHEADER, K_MOD, MILTER_MOD_CHGHDR, SMFIF_CHGHDRS, "inv" },
  /* a body chunk is raw octets, not a string (smfi_replacebody) */
  { SMFIR_REPLBODY, K_MOD, MILTER_MOD_REPLBODY, SMFIF_CHGBODY, "r" },
  { SMFIR_ADDRCPT, K_MOD, MILTER_MOD_ADDRCPT, SMFIF_ADDRCPT, "a" },
  /* the ESMTP arguments may be left out (Postfix reads them only when data remains) */
  { SMFIR_ADDRCPT_PAR, K_MOD, MILTER_MOD_ADDRCPT, SMFIF_ADDRCPT_PAR, "ao" },
  { SMFIR_DELRCPT, K_MOD, MILTER_MOD_DELRCPT, SMFIF_DELRCPT, "a" },
  { SMFIR_CHGFROM, K_MOD, MILTER_MOD_CHGFROM, SMFIF_CHGFROM, "ao" },
  /* smfi_quarantine refuses an empty reason */
  { SMFIR_QUARANTINE, K_MOD, MILTER_MOD_QUARANTINE, SMFIF_QUARANTINE, "a" },
} ;

/* what SHUTDOWN and CONN_FAIL make the session say before it closes (Postfix's words) */
static char const shutdown_reply[] = "421 4.7.0 Server closing connection" ;

void milter_mods_reset (milter_mods *mods)
{
  mods->list.len = 0 ;
  mods->data.len = 0 ;
}

void milter_mods_free (milter_mods *mods)
{
  genalloc_free(milter_mod, &mods->list) ;
  stralloc_free(&mods->data) ;
}

/* the connection is unusable: closed, and shut down first so that no
   reply in flight is ever read as the answer to a later command (the
   poisoning of Postfix's milter8_comm_error) */
static int fail (milter *m, char const *why)
{
  if (why) m->err = why ;
  if (m->fd >= 0)
  {
    shutdown(m->fd, SHUT_RDWR) ;
    fd_close(m->fd) ;
    m->fd = -1 ;
  }
  m->buf.len = 0 ;
  return MILTER_FAIL ;
}

static int perr (milter *m, char const *why)
{
  m->err = why ;
  return -1 ;
}

static void deadline (milter *m, unsigned int secs)
{
  tain_now_g() ;
  tain_addsec_g(&m->deadline, secs) ;
}

static int wait_fd (milter *m, int events)
{
  iopause_fd x = { .fd = m->fd, .events = events, .revents = 0 } ;
  int r = iopause_g(&x, 1, &m->deadline) ;
  if (r < 0) return (fail(m, "poll"), 0) ;
  if (!r) return (fail(m, "timeout"), 0) ;
  return 1 ;
}

/* writes m->buf whole; MSG_NOSIGNAL: a filter that went away is an
   error here, never a SIGPIPE for a caller that did not ignore it */
static int flush (milter *m)
{
  size_t i = 0 ;
  while (i < m->buf.len)
  {
    ssize_t w = send(m->fd, m->buf.s + i, m->buf.len - i, MSG_NOSIGNAL) ;
    if (w > 0) { i += w ; continue ; }
    if (w < 0 && errno == EINTR) continue ;
    if (w < 0 && !error_isagain(errno)) return (fail(m, errno == EPIPE || errno == ECONNRESET ? "eof" : "write"), 0) ;
    if (!wait_fd(m, IOPAUSE_WRITE)) return 0 ;
  }
  m->buf.len = 0 ;
  return 1 ;
}

/* exactly n octets: never more, so that nothing of a later packet is taken */
static int readn (milter *m, char *s, size_t n)
{
  while (n)
  {
    ssize_t r = fd_read(m->fd, s, n) ;
    if (r > 0) { s += r ; n -= r ; continue ; }
    if (!r) return (fail(m, "eof"), 0) ;
    if (!error_isagain(errno)) return (fail(m, errno == ECONNRESET ? "eof" : "read"), 0) ;
    if (!wait_fd(m, IOPAUSE_READ)) return 0 ;
  }
  return 1 ;
}

/* one reply packet into m->buf: the command byte at s[0], the data after it */
static int get_packet (milter *m, char *cmd, size_t *len)
{
  char h[4] ;
  uint32_t n ;
  if (!readn(m, h, 4)) return 0 ;
  uint32_unpack_big(h, &n) ;
  if (!n) return (fail(m, "protocol"), 0) ;
  if (n > MILTER_PACKET_MAX) return (fail(m, "toolarge"), 0) ;
  m->buf.len = 0 ;
  if (!stralloc_ready(&m->buf, n)) return (fail(m, "nomem"), 0) ;
  if (!readn(m, m->buf.s, n)) return 0 ;
  m->buf.len = n ;
  *cmd = m->buf.s[0] ;
  *len = n - 1 ;
  return 1 ;
}

/* a packet is opened with room for its length, closed when its data is in */
static int pkt_open (milter *m, char cmd, size_t *at)
{
  *at = m->buf.len ;
  return stralloc_catb(&m->buf, "\0\0\0\0", 4) && stralloc_catb(&m->buf, &cmd, 1) ;
}

static int pkt_close (milter *m, size_t at)
{
  size_t n = m->buf.len - at - 4 ;
  if (n > UINT32_MAX) return 0 ;
  uint32_pack_big(m->buf.s + at, (uint32_t)n) ;
  return 1 ;
}

/* a string with its NUL; a NUL inside (the protocol cannot carry it) ends it */
static int put0 (milter *m, char const *s, size_t n)
{
  return stralloc_catb(&m->buf, s, byte_chr(s, n, 0)) && stralloc_0(&m->buf) ;
}

/* a header value: the lines of a folded header are joined by LF alone
   on the wire, as Sendmail sends them (Postfix's milter8.c does the
   same: "Sendmail 8 sends multi-line headers as text separated by
   newline"); what DKIM signers hash depends on it */
static int put_value (milter *m, char const *s, size_t n)
{
  size_t i ;
  n = byte_chr(s, n, 0) ;
  for (i = 0 ; i < n ; i++)
    if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') && !stralloc_catb(&m->buf, s + i, 1)) return 0 ;
  return stralloc_0(&m->buf) ;
}

static int puts0 (milter *m, char const *s)
{
  return put0(m, s ? s : "", s ? strlen(s) : 0) ;
}

/* "{auth_type}" and "auth_type" name one macro in a filter's list */
static void unbrace (char const **s, size_t *n)
{
  if (*n >= 2 && (*s)[0] == '{' && (*s)[*n - 1] == '}') { (*s)++ ; *n -= 2 ; }
}

/* whether the filter wants the macro at that stage: all when it gave no list */
static int wanted (milter const *m, unsigned int ms, char const *name)
{
  char const *l ;
  size_t nlen = strlen(name) ;
  if (m->symoff[ms] == (size_t)-1) return 1 ;
  unbrace(&name, &nlen) ;
  l = m->syms.s + m->symoff[ms] ;
  while (*l)
  {
    char const *w ;
    size_t n ;
    while (*l == ' ' || *l == ',' || *l == '\t') l++ ;
    w = l ;
    while (*l && *l != ' ' && *l != ',' && *l != '\t') l++ ;
    n = l - w ;
    unbrace(&w, &n) ;
    if (n && n == nlen && !memcmp(w, name, n)) return 1 ;
  }
  return 0 ;
}

/* one SMFIC_MACRO packet: the stage's command, then name NUL value NUL
   for each macro the session has and the filter wants; none if empty */
static int put_macros (milter *m, struct stage_s const *st, milter_macro const *mac)
{
  size_t at = 0 ;
  int any = 0 ;
  if (!mac) return 1 ;
  for (; mac->name ; mac++)
  {
    if (!mac->value || !wanted(m, st->ms, mac->name)) continue ;
    if (!any && !(pkt_open(m, SMFIC_MACRO, &at) && stralloc_catb(&m->buf, &st->cmd, 1))) return 0 ;
    any = 1 ;
    if (!puts0(m, mac->name) || !puts0(m, mac->value)) return 0 ;
  }
  return !any || pkt_close(m, at) ;
}

/*
 * The start of a stage: 1 with the command's packet opened in m->buf
 * (the caller appends its data and calls stage_end), or 0 with *r the
 * result: a filter done with the connection or the message, or one
 * that skips the stage (its macros are queued all the same), or down.
 */
static int stage_begin (milter *m, unsigned int sti, milter_macro const *mac, size_t *at, int *r)
{
  struct stage_s const *st = stages + sti ;
  if (m->done_conn) return (*r = MILTER_CONTINUE, 0) ;
  if (m->fd < 0)
  {
    if (!m->err) m->err = "closed" ;
    return (*r = MILTER_FAIL, 0) ;
  }
  if (st->msg && (m->done_msg || (sti == ST_BODY && m->skip_body))) return (*r = MILTER_CONTINUE, 0) ;
  if (st->ms >= 0 && !put_macros(m, st, mac)) return (*r = fail(m, "nomem"), 0) ;
  if (m->pflags & st->no) return (*r = MILTER_CONTINUE, 0) ;
  if (!pkt_open(m, st->cmd, at)) return (*r = fail(m, "nomem"), 0) ;
  return 1 ;
}

/* sends what m->buf holds and reads the filter's answer to the stage:
   replies until a final one, each PROGRESS restarting the deadline */
static int stage_end (milter *m, unsigned int sti, size_t at, milter_mods *mods)
{
  struct stage_s const *st = stages + sti ;
  unsigned int secs = st->data ? m->t.data : m->t.command ;
  unsigned int progress = 0 ;
  if (!pkt_close(m, at)) return fail(m, "toolarge") ;
  deadline(m, secs) ;
  if (!flush(m)) return MILTER_FAIL ;
  if (m->pflags & st->nr) return MILTER_CONTINUE ;
  for (;;)
  {
    char cmd ;
    size_t len ;
    int r ;
    if (!get_packet(m, &cmd, &len)) return MILTER_FAIL ;
    r = milter_reply_parse(m, st->cmd, cmd, m->buf.s + 1, len, mods) ;
    m->buf.len = 0 ;
    if (r == -1) return fail(m, 0) ;
    if (r >= 0) return r ;
    if (cmd == SMFIR_SKIP) return MILTER_CONTINUE ;
    if (cmd == SMFIR_PROGRESS)
    {
      if (++progress > MILTER_PROGRESS_MAX) return fail(m, "progress") ;
      deadline(m, secs) ;
    }
  }
}

/* "inet:" addresses: [host]:port, port@host (Sendmail's form), host:port
   (the last ':' ends the host, so "::1:8891" is ::1 port 8891) */
static int hostport (char const *s, ip46 *ip, uint16_t *port)
{
  char host[IP6_FMT] ;
  char pbuf[UINT16_FMT] ;
  char const *h, *p ;
  size_t hl, pl ;
  char const *c ;
  if (*s == '[')
  {
    c = strchr(s, ']') ;
    if (!c || c[1] != ':') return 0 ;
    h = s + 1 ; hl = c - h ; p = c + 2 ; pl = strlen(p) ;
  }
  else if ((c = strchr(s, '@')))
  {
    p = s ; pl = c - s ; h = c + 1 ; hl = strlen(h) ;
  }
  else
  {
    c = strrchr(s, ':') ;
    if (!c) return 0 ;
    h = s ; hl = c - s ; p = c + 1 ; pl = strlen(p) ;
  }
  if (!hl || hl >= sizeof(host) || !pl || pl >= sizeof(pbuf)) return 0 ;
  memcpy(host, h, hl) ; host[hl] = 0 ;
  memcpy(pbuf, p, pl) ; pbuf[pl] = 0 ;
  return ip46_scan(host, ip) == hl && uint16_scan(pbuf, port) == pl && *port ;
}

/* connects within m->deadline: 1, or 0 with m->err */
static int dial (milter *m, char const *a)
{
  ip46 ip ;
  uint16_t port ;
  if (!strncmp(a, "unix:", 5) || !strncmp(a, "local:", 6))
  {
    char const *path = a + (a[0] == 'u' ? 5 : 6) ;
    if (!*path) return (fail(m, "address"), 0) ;
    m->fd = ipc_stream_nbcoe() ;
    if (m->fd < 0) return (fail(m, "socket"), 0) ;
    if (!ipc_timed_connect_g(m->fd, path, &m->deadline)) return (fail(m, errno == ETIMEDOUT ? "timeout" : "connect"), 0) ;
    return 1 ;
  }
  if (!strncmp(a, "inet:", 5)) a += 5 ;
  else if (!strncmp(a, "inet6:", 6)) a += 6 ;
  else return (fail(m, "address"), 0) ;
  if (!hostport(a, &ip, &port)) return (fail(m, "address"), 0) ;
  m->fd = socket_tcp46_nbcoe(ip46_is6(&ip)) ;
  if (m->fd < 0) return (fail(m, "socket"), 0) ;
  if (!socket_deadlineconnstamp46_g(m->fd, &ip, port, &m->deadline)) return (fail(m, errno == ETIMEDOUT ? "timeout" : "connect"), 0) ;
  /* with SMFIP_NR_* several small packets go out before any reply: Nagle would hold them */
  socket_tcpnodelay(m->fd) ;
  return 1 ;
}

int milter_open (milter *m, char const *name, char const *address, milter_timeouts const *t)
{
  char w[12] ;
  size_t at, len ;
  char cmd ;
  unsigned int i ;
  int r ;
  if (m->fd >= 0) fail(m, 0) ;
  for (i = 0 ; i < SMFIM_N ; i++) m->symoff[i] = (size_t)-1 ;
  m->name = name ;
  m->t = *t ;
  m->actions = m->pflags = 0 ;
  m->done_conn = m->done_msg = m->skip_body = m->in_msg = 0 ;
  m->reply.len = m->buf.len = m->syms.len = 0 ;
  m->err = 0 ;
  deadline(m, t->connect) ;
  if (!dial(m, address)) return MILTER_FAIL ;
  /* RCPT_REJ is not offered: the session gives us only the recipients it accepts */
  uint32_pack_big(w, MILTER_VERSION) ;
  uint32_pack_big(w + 4, MILTER_ACTIONS) ;
  uint32_pack_big(w + 8, MILTER_PFLAGS) ;
  if (!pkt_open(m, SMFIC_OPTNEG, &at) || !stralloc_catb(&m->buf, w, 12) || !pkt_close(m, at)) return fail(m, "nomem") ;
  if (!flush(m) || !get_packet(m, &cmd, &len)) return MILTER_FAIL ;
  r = milter_reply_parse(m, SMFIC_OPTNEG, cmd, m->buf.s + 1, len, 0) ;
  m->buf.len = 0 ;
  return r < 0 ? fail(m, 0) : MILTER_CONTINUE ;
}

int milter_connect (milter *m, milter_macro const *mac, char const *hostname, char family, uint16_t port, char const *addr)
{
  size_t at ;
  int r ;
  if (family != '4' && family != '6' && family != 'L') family = 'U' ;
  if (!stage_begin(m, ST_CONNECT, mac, &at, &r)) return r ;
  if (!puts0(m, hostname) || !stralloc_catb(&m->buf, &family, 1)) return fail(m, "nomem") ;
  /* SMFIA_UNKNOWN has neither port nor address (milter8.c's conn event) */
  if (family != 'U')
  {
    char p[2] ;
    uint16_pack_big(p, port) ;
    if (!stralloc_catb(&m->buf, p, 2) || !puts0(m, addr)) return fail(m, "nomem") ;
  }
  return stage_end(m, ST_CONNECT, at, 0) ;
}

int milter_helo (milter *m, milter_macro const *mac, char const *helo)
{
  size_t at ;
  int r ;
  if (!stage_begin(m, ST_HELO, mac, &at, &r)) return r ;
  if (!puts0(m, helo)) return fail(m, "nomem") ;
  return stage_end(m, ST_HELO, at, 0) ;
}

static int envelope (milter *m, unsigned int sti, milter_macro const *mac, char const *const *argv)
{
  size_t at ;
  int r ;
  if (!stage_begin(m, sti, mac, &at, &r)) return r ;
  for (; argv && *argv ; argv++)
    if (!puts0(m, *argv)) return fail(m, "nomem") ;
  return stage_end(m, sti, at, 0) ;
}

int milter_mail (milter *m, milter_macro const *mac, char const *const *argv)
{
  /* a message the caller did not end: the filter must not mix the two */
  if (m->in_msg) milter_abort(m) ;
  if (!m->done_conn && m->fd >= 0) m->in_msg = 1 ;
  return envelope(m, ST_MAIL, mac, argv) ;
}

int milter_rcpt (milter *m, milter_macro const *mac, char const *const *argv)
{
  return envelope(m, ST_RCPT, mac, argv) ;
}

int milter_data (milter *m, milter_macro const *mac)
{
  size_t at ;
  int r ;
  if (!stage_begin(m, ST_DATA, mac, &at, &r)) return r ;
  return stage_end(m, ST_DATA, at, 0) ;
}

int milter_header (milter *m, char const *name, size_t nlen, char const *value, size_t vlen)
{
  size_t at ;
  int r ;
  if (!stage_begin(m, ST_HEADER, 0, &at, &r)) return r ;
  /* the one space after the ':' is not sent (SMFIP_HDR_LEADSPC is never
     negotiated: lib/milter.h), as Sendmail and Postfix's milter8.c send it */
  if (vlen && value[0] == ' ') { value++ ; vlen-- ; }
  if (!put0(m, name, nlen) || !put_value(m, value, vlen)) return fail(m, "nomem") ;
  return stage_end(m, ST_HEADER, at, 0) ;
}

int milter_eoh (milter *m, milter_macro const *mac)
{
  size_t at ;
  int r ;
  if (!stage_begin(m, ST_EOH, mac, &at, &r)) return r ;
  return stage_end(m, ST_EOH, at, 0) ;
}

/* chunks over MILTER_CHUNK are cut: libmilter refuses larger packets; an empty one is not sent */
int milter_body (milter *m, char const *s, size_t len)
{
  while (len)
  {
    size_t n = len < MILTER_CHUNK ? len : MILTER_CHUNK ;
    size_t at ;
    int r ;
    if (!stage_begin(m, ST_BODY, 0, &at, &r)) return r ;
    if (!stralloc_catb(&m->buf, s, n)) return fail(m, "nomem") ;
    r = stage_end(m, ST_BODY, at, 0) ;
    if (r != MILTER_CONTINUE) return r ;
    s += n ; len -= n ;
  }
  return MILTER_CONTINUE ;
}

int milter_eom (milter *m, milter_macro const *mac, milter_mods *mods)
{
  size_t at ;
  int r ;
  if (!stage_begin(m, ST_EOM, mac, &at, &r)) return r ;
  r = stage_end(m, ST_EOM, at, mods) ;
  /* libmilter ends the message at EOM: no ABORT is due for it. A filter
     done with the message before (done_msg) gets no EOM: it gets the
     ABORT, as Postfix's milter8_abort sends it in ACCEPT_MSG state */
  m->done_msg = m->skip_body = m->in_msg = 0 ;
  return r ;
}

void milter_abort (milter *m)
{
  size_t at ;
  int due = m->fd >= 0 && !m->done_conn && m->in_msg ;
  m->done_msg = m->skip_body = m->in_msg = 0 ;
  if (!due) return ;
  deadline(m, m->t.command) ;
  if (!pkt_open(m, SMFIC_ABORT, &at) || !pkt_close(m, at)) { fail(m, "nomem") ; return ; }
  flush(m) ;
}

void milter_close (milter *m)
{
  if (m->fd >= 0)
  {
    size_t at ;
    /* QUIT is a courtesy: a second at most */
    m->buf.len = 0 ;
    deadline(m, 1) ;
    if (pkt_open(m, SMFIC_QUIT, &at) && pkt_close(m, at)) flush(m) ;
    if (m->fd >= 0) fd_close(m->fd) ;
    m->fd = -1 ;
  }
  stralloc_free(&m->buf) ;
  stralloc_free(&m->reply) ;
  stralloc_free(&m->syms) ;
  m->done_conn = m->done_msg = m->skip_body = m->in_msg = 0 ;
}

/* the OPTNEG reply: version, actions, protocol flags, then per-stage
   macro lists (SMFIM_ stage, names NUL), as milter8_connect reads them */
static int optneg (milter *m, char const *p, size_t len)
{
  uint32_t v, a, f ;
  size_t pos = 12 ;
  unsigned int i ;
  if (len < 12) return perr(m, "protocol") ;
  uint32_unpack_big(p, &v) ;
  uint32_unpack_big(p + 4, &a) ;
  uint32_unpack_big(p + 8, &f) ;
  if (v < 2 || v > MILTER_VERSION || a & ~(uint32_t)MILTER_ACTIONS) return perr(m, "protocol") ;
  f &= MILTER_PFLAGS ;
  if (v < 4) f |= SMFIP_NODATA ;
  m->syms.len = 0 ;
  for (i = 0 ; i < SMFIM_N ; i++) m->symoff[i] = (size_t)-1 ;
  while (pos < len)
  {
    uint32_t ms ;
    size_t n, j ;
    if (len - pos < 5) return perr(m, "protocol") ;
    uint32_unpack_big(p + pos, &ms) ;
    pos += 4 ;
    n = byte_chr(p + pos, len - pos, 0) ;
    if (n == len - pos) return perr(m, "protocol") ;
    for (j = 0 ; j < n ; j++)
      if ((unsigned char)p[pos + j] < 0x20 || (unsigned char)p[pos + j] > 0x7e) return perr(m, "protocol") ;
    /* an unknown stage is ignored, as Postfix ignores it */
    if (ms < SMFIM_N)
    {
      m->symoff[ms] = m->syms.len ;
      if (!stralloc_catb(&m->syms, p + pos, n) || !stralloc_0(&m->syms)) return perr(m, "nomem") ;
    }
    pos += n + 1 ;
  }
  m->actions = a ;
  m->pflags = f ;
  return MILTER_CONTINUE ;
}

/* RFC 5321 §4.2's textstring: HT, and SP to '~' */
static int rtext (char c)
{
  return c == '\t' || (c >= 0x20 && c <= 0x7e) ;
}

/*
 * SMFIR_REPLYCODE: "ddd text" NUL, or lines "ddd-text" ... "ddd text"
 * joined by CRLF (libmilter's smfi_setmlreply; a bare LF is taken as a
 * line end too). Each line: the same code, 4xx or 5xx; then ' ' or '-'
 * and text (printable ASCII and HT, RFC 5321 §4.2); an enhanced code, if the text starts with
 * a digit, of the code's class (RFC 3463 §2; Postfix checks the first
 * line so). Sendmail uses the text as a format string, so filters
 * double '%': "%%" is '%', a lone '%' is dropped, as Postfix does.
 * Stored CRLF-joined, continuation marks rewritten ('-' on every line
 * but the last, RFC 5321 §4.2.1), NUL-terminated.
 */
static int replycode (milter *m, char const *p, size_t len)
{
  size_t i = 0, sep = 0, lastlen = 0 ;
  if (!len || p[len - 1] || byte_chr(p, len - 1, 0) < len - 1) return perr(m, "protocol") ;
  len-- ;
  m->reply.len = 0 ;
  while (i < len)
  {
    size_t e = i + byte_chr(p + i, len - i, '\n') ;
    size_t l = e - i, j ;
    char const *s = p + i ;
    if (e < len && l && s[l - 1] == '\r') l-- ;
    if (l < 3 || (s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9') return perr(m, "protocol") ;
    if (m->reply.len && memcmp(s, m->reply.s, 3)) return perr(m, "protocol") ;
    if (l > 3 && s[3] != ' ' && s[3] != '-') return perr(m, "protocol") ;
    if (l > 4 && s[4] >= '0' && s[4] <= '9' && (s[4] != s[0] || l < 6 || s[5] != '.')) return perr(m, "protocol") ;
    if (m->reply.len && !stralloc_catb(&m->reply, "\r\n", 2)) return perr(m, "nomem") ;
    if (!stralloc_catb(&m->reply, s, 3) || !stralloc_catb(&m->reply, "-", 1)) return perr(m, "nomem") ;
    sep = m->reply.len - 1 ;
    lastlen = 0 ;
    for (j = 4 ; j < l ; j++)
    {
      char c = s[j] ;
      if (!rtext(c)) return perr(m, "protocol") ;
      if (c == '%' && ++j >= l) break ;
      if (c == '%') c = s[j] ;
      if (!rtext(c)) return perr(m, "protocol") ;
      if (!stralloc_catb(&m->reply, &c, 1)) return perr(m, "nomem") ;
      lastlen++ ;
    }
    i = e + 1 ;
  }
  if (!m->reply.len) return perr(m, "protocol") ;
  /* the last line: "ddd text", or "ddd" alone */
  if (lastlen) m->reply.s[sep] = ' ' ;
  else m->reply.len = sep ;
  if (!stralloc_0(&m->reply)) return perr(m, "nomem") ;
  m->reply.len-- ;
  return m->reply.s[0] == '4' ? MILTER_TEMPFAIL : MILTER_REJECT ;
}

/* a header name: printable, no ':', no space (RFC 5322 §3.6.8 ftext) */
static int hname (char const *s, size_t n)
{
  size_t i ;
  if (!n) return 0 ;
  for (i = 0 ; i < n ; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e || s[i] == ':') return 0 ;
  return 1 ;
}

/* an address, ESMTP arguments or a reason: no control character (8-bit allowed: SMTPUTF8) */
static int text (char const *s, size_t n)
{
  size_t i ;
  for (i = 0 ; i < n ; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0 ;
  return 1 ;
}

/* a modification, laid out as its table entry says, appended to mods whole or not at all */
static int mod_parse (milter *m, struct reply_s const *rp, char const *p, size_t len, milter_mods *mods)
{
  milter_mod x = { .type = rp->mod, .index = 0, .a = 0, .alen = 0, .b = 0, .blen = 0 } ;
  size_t off[2] = { 0, 0 }, n[2] = { 0, 0 } ;
  size_t pos = 0, max = m->modmax ? m->modmax : MILTER_MODS_MAX ;
  unsigned int ns = 0 ;
  char const *f ;
  for (f = rp->fmt ; *f ; f++)
  {
    size_t l ;
    if (*f == 'i')
    {
      if (len - pos < 4) return perr(m, "protocol") ;
      uint32_unpack_big(p + pos, &x.index) ;
      pos += 4 ;
      continue ;
    }
    if (*f == 'r')
    {
      off[ns] = pos ; n[ns++] = len - pos ; pos = len ;
      continue ;
    }
    if (*f == 'o' && pos == len) { off[ns] = pos ; n[ns++] = 0 ; continue ; }
    l = byte_chr(p + pos, len - pos, 0) ;
    if (l == len - pos) return perr(m, "protocol") ;
    if (*f == 'n' && !hname(p + pos, l)) return perr(m, "protocol") ;
    if (*f == 'a' && (!l || !text(p + pos, l))) return perr(m, "protocol") ;
    if (*f == 'o' && !text(p + pos, l)) return perr(m, "protocol") ;
    off[ns] = pos ; n[ns++] = l ; pos += l + 1 ;
  }
  if (pos != len) return perr(m, "protocol") ;
  if (mods->data.len + mods->list.len + n[0] + n[1] + 2 + sizeof(milter_mod) > max) return perr(m, "toolarge") ;
  /* smfi_chgheader's index 0 is the first instance: Postfix makes it 1, and so do we */
  if (x.type == MILTER_MOD_CHGHDR && !x.index) x.index = 1 ;
  x.a = mods->data.len ;
  x.alen = n[0] ;
  if (!stralloc_catb(&mods->data, p + off[0], n[0]) || !stralloc_0(&mods->data)) return perr(m, "nomem") ;
  x.b = mods->data.len ;
  x.blen = n[1] ;
  if (!stralloc_catb(&mods->data, p + off[1], n[1]) || !stralloc_0(&mods->data)) return perr(m, "nomem") ;
  if (!genalloc_append(milter_mod, &mods->list, &x)) return perr(m, "nomem") ;
  return -2 ;
}

/* what a final answer does to the filter's state at that stage (Postfix's
   milter8_event: connect and HELO are connection-level) */
static int decide (milter *m, char stage, int act)
{
  if (stage == SMFIC_CONNECT || stage == SMFIC_HELO)
  {
    if (act == MILTER_DISCARD) return MILTER_CONTINUE ;
    if (act != MILTER_CONTINUE) m->done_conn = 1 ;
  }
  else if (act == MILTER_ACCEPT || act == MILTER_DISCARD || (act != MILTER_CONTINUE && stage != SMFIC_RCPT)) m->done_msg = 1 ;
  return act ;
}

int milter_reply_parse (milter *m, char stage, char cmd, char const *p, size_t len, milter_mods *mods)
{
  struct reply_s const *rp = 0 ;
  unsigned int i ;
  int r ;
  if (stage == SMFIC_OPTNEG) return cmd == SMFIC_OPTNEG ? optneg(m, p, len) : perr(m, "protocol") ;
  for (i = 0 ; i < sizeof(stages) / sizeof(stages[0]) ; i++) if (stages[i].cmd == stage) break ;
  if (i == sizeof(stages) / sizeof(stages[0])) return perr(m, "protocol") ;
  for (i = 0 ; i < sizeof(replies) / sizeof(replies[0]) ; i++) if (replies[i].cmd == cmd) { rp = replies + i ; break ; }
  if (!rp) return perr(m, "protocol") ;
  if (rp->kind == K_MOD)
  {
    if (stage != SMFIC_BODYEOB || !mods || !(m->actions & rp->action)) return perr(m, "protocol") ;
    return mod_parse(m, rp, p, len, mods) ;
  }
  if (rp->kind == K_REPLYCODE)
  {
    r = replycode(m, p, len) ;
    if (r < 0) { m->reply.len = 0 ; return r ; }
    /* 421: the session closes the connection (RFC 5321 §3.8) */
    if (!memcmp(m->reply.s, "421", 3)) m->done_conn = 1 ;
    return decide(m, stage, r) ;
  }
  if (len) return perr(m, "protocol") ;
  switch (rp->kind)
  {
    case K_CONTINUE : return MILTER_CONTINUE ;
    case K_ACCEPT : return decide(m, stage, MILTER_ACCEPT) ;
    case K_REJECT : m->reply.len = 0 ; return decide(m, stage, MILTER_REJECT) ;
    case K_TEMPFAIL : m->reply.len = 0 ; return decide(m, stage, MILTER_TEMPFAIL) ;
    case K_DISCARD : return decide(m, stage, MILTER_DISCARD) ;
    case K_SHUTDOWN :
      m->reply.len = 0 ;
      if (!stralloc_catb(&m->reply, shutdown_reply, sizeof(shutdown_reply))) return perr(m, "nomem") ;
      m->reply.len-- ;
      m->done_conn = 1 ;
      return MILTER_TEMPFAIL ;
    case K_PROGRESS : return -2 ;
    case K_SKIP :
      if (stage != SMFIC_BODY || !(m->pflags & SMFIP_SKIP)) return perr(m, "protocol") ;
      m->skip_body = 1 ;
      return -2 ;
  }
  return perr(m, "protocol") ;
}
