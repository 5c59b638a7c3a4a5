/* ISC license: see LICENSE. */

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/alloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/tai.h>

#include "address.h"
#include "authtable.h"
#include "base64.h"
#include "callout.h"
#include "conf.h"
#include "dovecotauth.h"
#include "enqclient.h"
#include "exitcodes.h"
#include "filter.h"
#include "keyd.h"
#include "log.h"
#include "message.h"
#include "msgedit.h"
#include "policy.h"
#include "queue.h"
#include "received.h"
#include "senderlogin.h"
#include "smtp.h"
#include "smtpd.h"
#include "tcpack.h"
#include "tls.h"
#include "tlsname.h"

#define AUTH_FAILURES_MAX 3
/* seconds: the longest a Dovecot answer is waited for (or timeout command,
   if shorter): above Dovecot's own delays of a refusal (auth_failure_delay,
   2 s, and the penalty of a client address that keeps failing, at most 15 s) */
#define DOVECOT_WAIT 30
#define DATA_PROGRESS (64 << 10)  /* DATA's deadline moves on only after this much input */
/* DATA's buffer towards enqueue, allocated at a session's first DATA (an
   idle session never has it, W3): a message of up to 8 KiB with its
   Received field goes to enqueue-listen in one write (W1's 4 KiB in two
   at 4 KiB, t/bench/README.md) */
#define EBUF 8192


/* Logs: one line per event, the session id first, key=value fields,
   untrusted bytes quoted (lib/log, conf/LOGS.md) */
static void logv (smtpd_session *s, char const *const *v)
{
  log_put(s->io->logfd, &s->logsa, s->sid, v) ;
}
#define LOG(s, ...) logv(s, (char const *const []){ __VA_ARGS__, 0 })
#define Q(s, p, len) log_quoteb(&(s)->qsa, (p), (len))
#define Q2(s, p, len) log_quoteb(&(s)->qsa2, (p), (len))

static void set_deadline (smtpd_session *s, unsigned int secs)
{
  tain_now_g() ;
  tain_addsec_g(&s->deadline, secs) ;
  if (tain_less(&s->session_deadline, &s->deadline)) s->deadline = s->session_deadline ;
}

/* a clean end: the replies still queued are sent */
static void bye (smtpd_session *s)
{
  if (!s->over) s->over = SMTPD_OVER_BYE ;
}

/*
 * Raw network I/O: TLS when started, else the nonblocking connection.
 * A read waits first unless the last one filled its buffer: after a
 * short read the socket was empty, and the client has either been given
 * our reply and waits for it (every turn of a client that does not
 * pipeline: a read now would be an EAGAIN, one system call of a few µs
 * per turn, t/bench/README.md) or sends more slowly than we read. After
 * a full read more is probably queued (DATA), and the read comes first.
 * A wait that finds data ready returns at once: a pipelining client
 * costs nothing more.
 */
static ssize_t net_read (smtpd_session *s, char *buf, size_t len)
{
  if (s->tls) return tls_read(s->tls, buf, len, &s->deadline) ;
  for (;;)
  {
    ssize_t r ;
    if (!s->rfull)
    {
      iopause_fd x = { .fd = s->io->fdr, .events = IOPAUSE_READ, .revents = 0 } ;
      int e = iopause_g(&x, 1, &s->deadline) ;
      if (e < 0) return -1 ;
      if (!e) return (errno = ETIMEDOUT, -1) ;
    }
    r = fd_read(s->io->fdr, buf, len) ;
    if (r >= 0) { s->rfull = (size_t)r == len ; return r ; }
    if (!error_isagain(errno)) return -1 ;
    s->rfull = 0 ;
  }
}

static int net_write (smtpd_session *s, char const *p, size_t len)
{
  if (s->tls) return tls_write(s->tls, p, len, &s->deadline) ;
  while (len)
  {
    ssize_t r = fd_write(s->io->fdw, p, len) ;
    if (r < 0)
    {
      iopause_fd x = { .fd = s->io->fdw, .events = IOPAUSE_WRITE, .revents = 0 } ;
      int e ;
      if (!error_isagain(errno)) return 0 ;
      e = iopause_g(&x, 1, &s->deadline) ;
      if (e < 0) return 0 ;
      if (!e) return (errno = ETIMEDOUT, 0) ;
      continue ;
    }
    p += r ; len -= r ;
  }
  return 1 ;
}

/* the end on an I/O or system error (errno): after a timeout the client
   is told so (RFC 5321 §4.5.3.2), else it gets nothing more */
static void die_net (smtpd_session *s, char const *what)
{
  if (s->over == SMTPD_OVER_NET) return ;
  s->over = SMTPD_OVER_NET ;
  if (errno == ETIMEDOUT)
  {
    static char const msg[] = "421 4.4.2 Timeout, closing connection\r\n" ;
    LOG(s, "disconnect reason=timeout") ;
    set_deadline(s, 2) ;
    if (!s->tls) fd_write(s->io->fdw, msg, sizeof(msg) - 1) ;
    else tls_write(s->tls, msg, sizeof(msg) - 1, &s->deadline) ;
    return ;
  }
  LOG(s, "disconnect reason=", what) ;
}

/* 1, or 0: the session is over */
static int flush (smtpd_session *s)
{
  if (s->over == SMTPD_OVER_NET) return 0 ;
  if (!s->outlen) return 1 ;
  if (!net_write(s, s->outbuf, s->outlen)) { die_net(s, "write-error") ; return 0 ; }
  s->outlen = 0 ;
  return 1 ;
}

/* Queue one reply line (without CRLF); flushed before the next read.
   Nothing is queued once the session is over. */
static void reply (smtpd_session *s, char const *p)
{
  size_t n = strlen(p) ;
  if (s->over) return ;
  if (n + 2 > SMTPD_OUTBUF) n = SMTPD_OUTBUF - 2 ;
  if (s->outlen + n + 2 > SMTPD_OUTBUF && !flush(s)) return ;
  memcpy(s->outbuf + s->outlen, p, n) ; s->outlen += n ;
  s->outbuf[s->outlen++] = '\r' ; s->outbuf[s->outlen++] = '\n' ;
  if (p[0] == '5' || p[0] == '4') LOG(s, "reply text=", Q(s, p, n)) ;
}

/* a reply made of pieces, e.g. a code and the host name, put together in
   outbuf itself: no line buffer on the stack (every stack page a session
   touches is a private page, W3 in t/bench/README.md) */
static void replyv (smtpd_session *s, char const *a, char const *b, char const *c)
{
  char const *v[3] = { a, b, c } ;
  size_t n[3], total = 0, start, i = 0 ;
  if (s->over) return ;
  for (; i < 3 ; i++) { n[i] = strlen(v[i]) ; total += n[i] ; }
  if (total + 2 > SMTPD_OUTBUF) { reply(s, a) ; return ; }
  if (s->outlen + total + 2 > SMTPD_OUTBUF && !flush(s)) return ;
  start = s->outlen ;
  for (i = 0 ; i < 3 ; i++) { memcpy(s->outbuf + s->outlen, v[i], n[i]) ; s->outlen += n[i] ; }
  if (a[0] == '5' || a[0] == '4') LOG(s, "reply text=", Q(s, s->outbuf + start, total)) ;
  s->outbuf[s->outlen++] = '\r' ; s->outbuf[s->outlen++] = '\n' ;
}
#define reply2(s, a, b) replyv(s, a, b, "")

static void count_error (smtpd_session *s)
{
  if (s->over) return ;
  if (++s->errors >= s->cf->max_errors)
  {
    reply(s, "421 4.7.0 Too many errors, closing connection") ;
    LOG(s, "disconnect reason=too-many-errors") ;
    bye(s) ;
  }
}

/* an error reply that counts towards max_errors */
static void reply_err (smtpd_session *s, char const *p)
{
  reply(s, p) ;
  count_error(s) ;
}

static void replyv_err (smtpd_session *s, char const *a, char const *b)
{
  reply2(s, a, b) ;
  count_error(s) ;
}

/* Fills the input buffer: flushes pending replies first (RFC 2920 §3.1:
   the server may batch replies, but must send them before it blocks).
   1, or 0: the session is over. */
static int fill (smtpd_session *s)
{
  ssize_t r ;
  if (s->inpos)
  {
    memmove(s->inbuf, s->inbuf + s->inpos, s->inlen - s->inpos) ;
    s->inlen -= s->inpos ; s->inpos = 0 ;
  }
  if (!flush(s)) return 0 ;
  r = net_read(s, s->inbuf + s->inlen, SMTPD_INBUF - s->inlen) ;
  if (r < 0) { die_net(s, "read-error") ; return 0 ; }
  if (!r) { LOG(s, "disconnect reason=eof") ; bye(s) ; return 0 ; }
  s->inlen += r ;
  return 1 ;
}

/* Reads one command line, CRLF removed, into *line (valid until the next
   read). Over-long lines are discarded whole and refused, never split
   (RFC 5321 §4.5.3.1.4). 1 for a line, 0 for a refused line, -1 when
   the session is over. */
static int getcmd (smtpd_session *s, char **line, size_t *len)
{
  int toolong = 0 ;
  for (;;)
  {
    char *p = s->inbuf + s->inpos ;
    size_t n = s->inlen - s->inpos, i = 0 ;
    for (; i + 1 < n ; i++)
      if (p[i] == '\r' && p[i+1] == '\n') break ;
    if (i + 1 < n)
    {
      s->inpos += i + 2 ;
      if (toolong || i + 2 > SMTP_CMDLINE_MAX)
      {
        reply_err(s, "500 5.5.2 Line too long") ;
        return s->over ? -1 : 0 ;
      }
      *line = p ; *len = i ;
      return 1 ;
    }
    if (n >= SMTP_CMDLINE_MAX)
    {
      /* keep a final CR: it may start the CRLF that ends this line */
      toolong = 1 ;
      s->inpos += p[n-1] == '\r' ? n - 1 : n ;
    }
    if (!fill(s)) return -1 ;
  }
}

static void transaction_reset (smtpd_session *s)
{
  if (s->fs && s->state > SMTPD_S_HELO) filter_abort(s->fs) ;
  if (s->state > SMTPD_S_HELO) s->state = SMTPD_S_HELO ;
  s->utf8 = 0 ;
  s->sender.len = 0 ; s->rcpts.len = 0 ;
  s->nrcpt = 0 ; s->nrcpt_tried = 0 ;
  s->fromcheck = 0 ;
}

static int auth_offered (smtpd_session const *s)
{
  return (s->lflags & CONF_LISTEN_AUTH) && (s->cf->auth_table || s->cf->auth_dovecot) && (s->tls || (s->lflags & CONF_LISTEN_PLAINAUTH)) ;
}

static void warn_sys (smtpd_session *s, char const *event, char const *file)
{
  char const *e = strerror(errno) ;
  LOG(s, "warning event=", event, file ? "file=" : "", file ? Q(s, file, strlen(file)) : "", "error=", Q2(s, e, strlen(e))) ;
}

/* a Dovecot wait's deadline: timeout command, at most DOVECOT_WAIT */
static void dovecot_deadline (smtpd_session const *s, tain *d)
{
  tain_now_g() ;
  tain_addsec_g(d, s->cf->timeout_command < DOVECOT_WAIT ? s->cf->timeout_command : DOVECOT_WAIT) ;
}

/* our connection to Dovecot's auth-client socket, handshake done: 1, or 0 (logged) */
static int dovecot_open (smtpd_session *s)
{
  tain d ;
  if (!s->dovecot)
  {
    s->dovecot = alloc(sizeof(dovecotauth)) ;
    if (!s->dovecot) { warn_sys(s, "dovecot-auth", 0) ; return 0 ; }
    s->dovecot->fd = -1 ;
  }
  if (s->dovecot->fd >= 0) return 1 ;
  dovecot_deadline(s, &d) ;
  if (dovecotauth_open(s->dovecot, s->cf->sa.s + s->cf->auth_dovecot, &d)) return 1 ;
  warn_sys(s, "dovecot-auth", s->cf->sa.s + s->cf->auth_dovecot) ;
  return 0 ;
}

/* the mechanisms offered: Dovecot's PLAIN and LOGIN as its handshake
   said; both while Dovecot cannot be asked, so that AUTH gets its 454
   (temporary), not a 504. open: connect first if not connected (EHLO) */
static unsigned int auth_mechs (smtpd_session *s, int open)
{
  if (!s->cf->auth_dovecot) return DOVECOTAUTH_PLAIN | DOVECOTAUTH_LOGIN ;
  if (open) dovecot_open(s) ;
  return s->dovecot && s->dovecot->fd >= 0 ? s->dovecot->mechs : DOVECOTAUTH_PLAIN | DOVECOTAUTH_LOGIN ;
}

static int starttls_offered (smtpd_session const *s)
{
  return !s->tls && s->cf->cert && (s->lflags & CONF_LISTEN_STARTTLS) ;
}

static char const *hostname (smtpd_session const *s)
{
  return s->cf->sa.s + s->cf->hostname ;
}

/* a filter stage's verdict (lib/filter): 1 go on (a discard goes on too:
   the message is dropped at its end), 0 refused with the filter's reply */
static int filtered (smtpd_session *s, int v)
{
  if (v == MILTER_REJECT) reply_err(s, s->fs->reply.s) ;
  else if (v == MILTER_TEMPFAIL)
  {
    reply(s, s->fs->reply.s) ;
    /* a 421 (the filter's SMFIR_SHUTDOWN, or its own reply code) closes
       the connection, as it says (RFC 5321 §3.8) */
    if (!strncmp(s->fs->reply.s, "421", 3)) { LOG(s, "disconnect reason=filter") ; bye(s) ; }
  }
  return v != MILTER_REJECT && v != MILTER_TEMPFAIL ;
}

/* The commands. Each handler runs once the guard (below) let its
   command through; arg is what follows the verb and its space. */

static void helo_ehlo (smtpd_session *s, int ehlo, char const *arg, size_t len)
{
  char fmt[UINT64_FMT] ;
  while (len && arg[len-1] == ' ') len-- ;
  if (!len || memchr(arg, ' ', len))
  {
    reply_err(s, ehlo ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname") ;
    return ;
  }
  s->heloname.len = 0 ;
  if (!stralloc_catb(&s->heloname, arg, len) || !stralloc_0(&s->heloname)) { die_net(s, "out-of-memory") ; return ; }
  received_name(s->heloname.s, len) ;
  transaction_reset(s) ;
  /* libmilter: HELO is connection-oriented, a refusal there refuses the connection */
  if (s->fs && !filtered(s, filter_helo(s->fs, s->heloname.s, s->tls ? tls_version(s->tls) : 0, s->tls ? tlsname_suite(tls_suite(s->tls)) : 0))) { s->refused = 1 ; return ; }
  s->state = SMTPD_S_HELO ;
  s->ehlo = ehlo ;
  LOG(s, "helo name=", Q(s, arg, len), ehlo ? "verb=EHLO" : "verb=HELO") ;
  /* RFC 2920 §3.1: EHLO and HELO end a group, the client waits for
     their reply. Octets already read behind them were sent before it
     (the reply is still in our buffer): a client that does not listen,
     the early talker of spam engines. Logged, for fail2ban; no syscall */
  if (s->inpos < s->inlen) LOG(s, "early-talker verb=", ehlo ? "EHLO" : "HELO", "octets=", log_u64(s->inlen - s->inpos)) ;
  if (!ehlo) { reply2(s, "250 ", hostname(s)) ; return ; }
  reply2(s, "250-", hostname(s)) ;
  reply(s, "250-PIPELINING") ;
  fmt[uint64_fmt(fmt, s->cf->message_size)] = 0 ;
  reply2(s, "250-SIZE ", fmt) ;
  reply(s, "250-8BITMIME") ;
  reply(s, "250-ENHANCEDSTATUSCODES") ;
  if (starttls_offered(s)) reply(s, "250-STARTTLS") ;
  if (auth_offered(s) && !s->authuser.len)
  {
    static char const *const mechlines[4] = { 0, "250-AUTH PLAIN", "250-AUTH LOGIN", "250-AUTH PLAIN LOGIN" } ;
    unsigned int m = auth_mechs(s, 1) ;
    if (mechlines[m & 3]) reply(s, mechlines[m & 3]) ;
  }
  reply(s, "250 SMTPUTF8") ;
}

static void do_helo (smtpd_session *s, char const *arg, size_t len)
{
  helo_ehlo(s, 0, arg, len) ;
}

static void do_ehlo (smtpd_session *s, char const *arg, size_t len)
{
  helo_ehlo(s, 1, arg, len) ;
}

/*
 * Senders bound to logins (lib/senderlogin): an authenticated client on a
 * listener that checks may use only its own addresses, in MAIL FROM and
 * in From:. 1 owned; 0 refused with 553 5.7.1, or 451 when the map
 * cannot be read.
 */
static int sender_checked (smtpd_session const *s)
{
  return s->authuser.len && conf_sender_login(s->cf, s->lflags) ;
}

static int sender_owned (smtpd_session *s, char const *addr, size_t alen)
{
  int r = senderlogin_check(s->cf->sa.s + s->cf->sender_login_map, s->authuser.s, addr) ;
  if (r > 0) return 1 ;
  if (r < 0)
  {
    warn_sys(s, "sender-login-map", s->cf->sa.s + s->cf->sender_login_map) ;
    reply(s, "451 4.3.0 Temporary failure, please try again later") ;
    return 0 ;
  }
  LOG(s, "mail from=", Q(s, addr, alen), "result=refused reason=sender-login user=", Q2(s, s->authuser.s, s->authuser.len)) ;
  reply_err(s, "553 5.7.1 Sender address not owned by the authenticated user") ;
  return 0 ;
}

static int from_owned (smtpd_session *s, char const *id)
{
  stralloc map = STRALLOC_ZERO ;
  int r ;
  if (!openslurpclose(&map, s->cf->sa.s + s->cf->sender_login_map))
  {
    warn_sys(s, "sender-login-map", s->cf->sa.s + s->cf->sender_login_map) ;
    reply(s, "451 4.3.0 Temporary failure, please try again later") ;
    return 0 ;
  }
  r = senderlogin_from_allowed(s->from, map.s, map.len, s->authuser.s, s->authuser.len) ;
  stralloc_free(&map) ;
  if (r) return 1 ;
  LOG(s, "refused id=", id, "reason=sender-login-from user=", Q(s, s->authuser.s, s->authuser.len)) ;
  reply_err(s, "553 5.7.1 From: address not owned by the authenticated user") ;
  return 0 ;
}

static void do_mail (smtpd_session *s, char const *arg, size_t len)
{
  size_t plen, pstart ;
  smtp_mailparams mp = SMTP_MAILPARAMS_ZERO ;
  address a = ADDRESS_ZERO ;
  int r ;
  /* tolerate "MAIL FROM: <x>": common, and unambiguous */
  while (len && *arg == ' ') { arg++ ; len-- ; }
  if (!smtp_path_split(arg, len, &plen, &pstart)) { reply_err(s, "501 5.5.4 Syntax: MAIL FROM:<address>") ; return ; }
  if (!s->ehlo && pstart < len) { reply_err(s, "555 5.5.4 Parameters need EHLO") ; return ; }
  r = smtp_mail_params(arg + pstart, len - pstart, &mp) ;
  if (r == SMTP_PARAM_UNKNOWN) { reply_err(s, "555 5.5.4 Unsupported MAIL parameter") ; return ; }
  if (r) { reply_err(s, "501 5.5.4 Bad MAIL parameter") ; return ; }
  r = address_parse(&a, arg, plen, ADDRESS_BRACKETS | ADDRESS_NULL_OK | (mp.smtputf8 ? ADDRESS_UTF8 : 0)) ;
  if (r)
  {
    LOG(s, "mail from=", Q(s, arg, plen), "result=refused error=", Q2(s, address_strerror(r), strlen(address_strerror(r)))) ;
    reply_err(s, r == ADDRESS_E8BIT ? "553 5.6.7 Non-ASCII address needs SMTPUTF8" : "553 5.1.7 Bad sender address syntax") ;
    return ;
  }
  /* the null sender owns no address: nothing to check */
  if (a.len && sender_checked(s) && !sender_owned(s, a.s, a.len)) return ;
  /* RFC 1870 §6.2 */
  if (mp.size > s->cf->message_size) { reply_err(s, "552 5.3.4 Message size exceeds fixed maximum message size") ; return ; }
  /* RFC 1870 §6.1: no room now for the declared size (or, without SIZE,
     for a small message): 452, and the client tries again later. Not an
     error of the client's: it does not count towards limit errors. */
  if (!queue_has_room(s->cf->sa.s + s->cf->spool, mp.size))
  {
    LOG(s, "mail result=deferred reason=spool-full") ;
    reply(s, "452 4.3.1 Insufficient system storage") ;
    return ;
  }
  if (s->fs && !filtered(s, filter_mail(s->fs, a.s, arg + pstart, len - pstart, s->authuser.len ? s->authuser.s : 0))) { filter_abort(s->fs) ; return ; }
  if (!stralloc_copyb(&s->sender, a.s, a.len) || !stralloc_0(&s->sender)) { die_net(s, "out-of-memory") ; return ; }
  s->state = SMTPD_S_MAIL ;
  s->utf8 = mp.smtputf8 ;
  LOG(s, "mail from=", Q(s, a.s, a.len)) ;
  reply(s, "250 2.1.0 Ok") ;
}

/* a relay domain's recipient with verify: the next hop's answer (lib/callout), logged; 1 accept, 0 refuse */
static int verify_rcpt (smtpd_session *s, char const *rcpt, char const **rep)
{
  static char const *const names[] = { [KETCH_RESULT_OK] = "ok", [KETCH_RESULT_TEMP] = "temp", [KETCH_RESULT_PERM] = "perm" } ;
  callout co = CALLOUT_ZERO ;
  if (!callout_verify(s->cf, rcpt, (uint64_t)time(0), &co)) co.result = KETCH_RESULT_TEMP ;
  LOG(s, "callout result=", names[co.result], co.cached ? "host=cache" : "host=", co.cached ? "" : Q(s, co.host.len ? co.host.s : "", co.host.len ? co.host.len - 1 : 0),
    "answer=", Q2(s, co.answer.len ? co.answer.s : "", co.answer.len ? co.answer.len - 1 : 0)) ;
  *rep = co.result == KETCH_RESULT_OK ? "250 2.1.5 Ok" : co.result == KETCH_RESULT_PERM ? "550 5.1.1 Recipient address rejected: unknown at the next hop"
    : "450 4.1.1 Recipient address not verified: the next hop did not answer, try again later" ;
  callout_free(&co) ;
  return co.result == KETCH_RESULT_OK ;
}

static void do_rcpt (smtpd_session *s, char const *arg, size_t len)
{
  size_t plen, pstart ;
  address a = ADDRESS_ZERO ;
  char const *rep ;
  int r ;
  while (len && *arg == ' ') { arg++ ; len-- ; }
  if (!smtp_path_split(arg, len, &plen, &pstart)) { reply_err(s, "501 5.5.4 Syntax: RCPT TO:<address>") ; return ; }
  r = smtp_rcpt_params(arg + pstart, len - pstart) ;
  if (r == SMTP_PARAM_UNKNOWN) { reply_err(s, "555 5.5.4 Unsupported RCPT parameter") ; return ; }
  if (r) { reply_err(s, "501 5.5.4 Bad RCPT parameter") ; return ; }
  s->nrcpt_tried++ ;
  /* RFC 5321 §4.5.3.1.8: 452 beyond our limit; the client retries the rest later */
  if (s->nrcpt >= s->cf->max_recipients) { reply(s, "452 4.5.3 Too many recipients") ; return ; }
  r = address_parse(&a, arg, plen, ADDRESS_BRACKETS | ADDRESS_NODOMAIN_OK | (s->utf8 ? ADDRESS_UTF8 : 0)) ;
  if (r)
  {
    LOG(s, "rcpt to=", Q(s, arg, plen), "result=refused error=", Q2(s, address_strerror(r), strlen(address_strerror(r)))) ;
    reply_err(s, r == ADDRESS_E8BIT ? "553 5.6.7 Non-ASCII address needs SMTPUTF8" : "501 5.1.3 Bad recipient address syntax") ;
    return ;
  }
  if (a.at >= a.len)
  {
    /* bare "Postmaster" (RFC 5321 §4.5.1): ours */
    char const *h = hostname(s) ;
    size_t hl = strlen(h) ;
    if (a.len + 1 + hl > ADDRESS_MAX) { reply_err(s, "501 5.1.3 Bad recipient address syntax") ; return ; }
    a.at = a.len ;
    a.s[a.len++] = '@' ;
    memcpy(a.s + a.len, h, hl) ; a.len += hl ; a.s[a.len] = 0 ;
  }
  r = policy_rcpt(s->cf, s->haveip ? s->ip.ip : 0, s->haveip && ip46_is6(&s->ip), s->authuser.len || s->local != SMTPD_LOCAL_NONE, &a, &rep) ;
  if (r == POLICY_VERIFY) r = verify_rcpt(s, a.s, &rep) ;
  LOG(s, "rcpt to=", Q(s, a.s, a.len), "result=", r ? "ok" : "refused", "reply=", Q2(s, rep, strlen(rep))) ;
  if (!r)
  {
    if (rep[0] == '4') reply(s, rep) ;
    else reply_err(s, rep) ;
    return ;
  }
  if (s->fs && !filtered(s, filter_rcpt(s->fs, a.s, arg + pstart, len - pstart))) return ;
  if (!stralloc_catb(&s->rcpts, a.s, a.len + 1)) { die_net(s, "out-of-memory") ; return ; }
  s->nrcpt++ ;
  s->state = SMTPD_S_RCPT ;
  reply(s, rep) ;
}

static void eflush (smtpd_session *s)
{
  if (s->efd >= 0 && !s->efailed && s->elen && allwrite(s->efd, s->ebuf, s->elen) < s->elen) s->efailed = 1 ;
  s->elen = 0 ;
}

static void eput (smtpd_session *s, char const *p, size_t n)
{
  s->esize += n ;
  if (s->ehops.state != MESSAGE_HOPS_BODY) message_hops_feed(&s->ehops, p, n) ;
  while (n)
  {
    size_t k = EBUF - s->elen ;
    if (k > n) k = n ;
    memcpy(s->ebuf + s->elen, p, k) ;
    s->elen += k ; p += k ; n -= k ;
    if (s->elen == EBUF) eflush(s) ;
  }
}

static void eput_cb (void *ctx, char const *p, size_t n)
{
  smtpd_session *s = ctx ;
  if (s->fromcheck && !senderlogin_from_feed(s->from, p, n)) s->efailed = 1 ;
  eput(s, p, n) ;
}

/* with filters the message is held (lib/filter) until they have seen it */
static void hold_cb (void *ctx, char const *p, size_t n)
{
  smtpd_session *s = ctx ;
  s->esize += n ;
  if (s->ehops.state != MESSAGE_HOPS_BODY) message_hops_feed(&s->ehops, p, n) ;
  if (s->fromcheck && !senderlogin_from_feed(s->from, p, n)) s->efailed = 1 ;
  if (!s->efailed && !filter_hold(s->fs, p, n, s->cf->message_size)) s->efailed = 1 ;
}

/* abort: enqueue sees EOF before the final dot and leaves nothing behind */
static void eabort (smtpd_session *s)
{
  s->elen = 0 ;
  if (s->efd < 0) return ;
  enqclient_abort(&s->eh) ;
  s->efd = -1 ;
}

/* RFC 5321 §4.4 trace header; 1, or 0 (out of memory) */
static int received_put (smtpd_session *s, char const *id)
{
  received r = RECEIVED_ZERO ;
  r.helo = s->heloname.s ;
  r.ip = s->ipstr ;
  r.is6 = s->haveip && ip46_is6(&s->ip) ;
  r.host = hostname(s) ;
  r.proto = received_proto(s->ehlo, !!s->tls, !!s->authuser.len) ;
  if (s->tls)
  {
    r.tlsversion = tls_version(s->tls) ;
    r.cipher = tlsname_suite(tls_suite(s->tls)) ;
  }
  r.id = id ;
  r.rcpt = s->nrcpt == 1 ? s->rcpts.s : 0 ;
  r.when = time(0) ;
  s->qsa.len = 0 ;
  if (!received_fmt(&s->qsa, &r)) return 0 ;
  eput(s, s->qsa.s, s->qsa.len) ;
  return 1 ;
}

/* enqueue's exit code (or enqueue-listen's, for the socket); the handle is closed */
static int wait_enqueue (smtpd_session *s)
{
  s->efd = -1 ;
  return enqclient_finish(&s->eh, 0) ;
}

static void enqueue_status_reply (smtpd_session *s, int e, char const *id)
{
  if (!e)
  {
    LOG(s, "accepted id=", id, "size=", log_u64(s->esize), "rcpts=", log_u64(s->nrcpt)) ;
    /* a local user's session (sendmail -bs) is counted by the queue, as local (ENQCLIENT_F_LOCAL) */
    if (!s->io->localuser) stats_add(s->io->stats, s->authuser.len ? STATS_RECEIVED_SUBMISSION : STATS_RECEIVED_SMTP, 1) ;
    reply2(s, "250 2.0.0 Ok: queued as ", id) ;
  }
  else if (e == KETCH_EX_PERM)
  {
    LOG(s, "refused id=", id, "reason=enqueue-permanent") ;
    reply(s, "554 5.6.0 Message refused") ;
  }
  else
  {
    /* temporary, a crash, a full disk: always temporary, never 5xx */
    LOG(s, "refused id=", id, "reason=enqueue-temporary") ;
    reply(s, "451 4.3.0 Temporary failure, please try again later") ;
  }
}

/*
 * The message's way into the queue (lib/enqclient: enqueue-listen's
 * socket, else enqueue -S), with the id enqueue gives first (for the
 * Received header). 1: efd is where the message goes; 0: the client has
 * its reply, the transaction is over.
 */
static int enqueue_start (smtpd_session *s, char *id, unsigned int flags, char const *reason)
{
  tain d ;
  enqclient_req r = { .conffile = s->io->confpath, .sender = s->sender.s, .auth = s->authuser.len ? s->authuser.s : 0, .rcpts = s->rcpts.s, .rlen = s->rcpts.len, .flags = flags, .reason = reason, .deadline = &d } ;
  int e ;
  /* DKIM signs what we vouch for (lib/submit.h, submit_dkim): an authenticated client (said by auth), a local one or one in relay-from */
  if (s->io->localuser) r.flags |= ENQCLIENT_F_LOCAL ;
  if (genalloc_len(conf_dkim, &s->cf->dkim) && !r.auth && (s->local != SMTPD_LOCAL_NONE || (s->haveip && conf_relay_allowed(s->cf, s->ip.ip, ip46_is6(&s->ip))))) r.flags |= ENQCLIENT_F_SIGN ;
  tain_now_g() ;
  tain_addsec_g(&d, s->cf->timeout_command) ;
  e = enqclient_submit(&s->eh, s->cf, &r, 0) ;
  if (e < 0)
  {
    /* the warning names enqueue's path, looked up again on this rare path only */
    stralloc prog = STRALLOC_ZERO ;
    char const *err = strerror(errno) ;
    LOG(s, "warning event=spawn prog=", conf_prog(s->cf, "enqueue", &prog) ? Q(s, prog.s, strlen(prog.s)) : "enqueue", "error=", Q2(s, err, strlen(err))) ;
    stralloc_free(&prog) ;
    reply(s, "451 4.3.0 Temporary failure, please try again later") ;
  }
  else if (e) enqueue_status_reply(s, e == KETCH_EX_PERM ? KETCH_EX_PERM : KETCH_EX_TEMP, "none") ;
  if (e)
  {
    transaction_reset(s) ;
    return 0 ;
  }
  memcpy(id, s->eh.id, QUEUE_ID_LEN + 1) ;
  s->efd = s->eh.fd ;
  return 1 ;
}

/* with filters, the end of data: their end of message, then the queue
   with the envelope and message they left, our Received field first */
static void data_filtered (smtpd_session *s)
{
  char id[QUEUE_ID_LEN + 1] ;
  int e ;
  /* the message could not be held (no memory): the filters never see half of it */
  if (s->efailed) { reply(s, "451 4.3.0 Temporary failure, please try again later") ; return ; }
  e = filter_eom(s->fs, &s->sender, &s->rcpts, &s->nrcpt, s->utf8) ;
  if (e == MILTER_DISCARD) { LOG(s, "discarded reason=filter") ; reply(s, "250 2.0.0 Ok") ; return ; }
  if (!filtered(s, e) || !enqueue_start(s, id, s->fs->hold ? ENQCLIENT_F_HOLD : 0, s->fs->hold ? s->fs->reason.s : 0)) return ;
  s->esize = 0 ;
  if (!received_put(s, id)) s->efailed = 1 ;
  eflush(s) ;
  if (!s->efailed && !msgedit_write_stuffed(s->efd, s->fs->msg.s, s->fs->msg.len)) s->efailed = 1 ;
  s->esize += s->fs->msg.len ;
  e = wait_enqueue(s) ;
  if (s->efailed && !e) e = KETCH_EX_TEMP ;
  enqueue_status_reply(s, e, id) ;
}

/* the end of a transaction that will not commit: enqueue aborts and is waited for */
static void data_abort (smtpd_session *s)
{
  eabort(s) ;
  wait_enqueue(s) ;
}

static void do_data (smtpd_session *s, char const *arg, size_t len)
{
  char id[QUEUE_ID_LEN + 1] = "none" ;
  smtp_data dm = SMTP_DATA_ZERO ;
  size_t progress = 0 ;
  int got = 0 ;
  /* RFC 2920 §3.1: with every RCPT refused, DATA gets 554, not 354 */
  if (!s->nrcpt) { reply_err(s, s->nrcpt_tried ? "554 5.5.1 No valid recipients" : "503 5.5.1 Need RCPT before DATA") ; return ; }

  if (!s->ebuf && !(s->ebuf = alloc(EBUF))) { die_net(s, "out-of-memory") ; return ; }
  if (sender_checked(s))
  {
    if (!s->from && (s->from = alloc(sizeof(senderlogin_from)))) *s->from = (senderlogin_from)SENDERLOGIN_FROM_ZERO ;
    if (!s->from) { die_net(s, "out-of-memory") ; return ; }
    senderlogin_from_reset(s->from) ;
  }
  if (s->fs) { if (!filtered(s, filter_data(s->fs))) { transaction_reset(s) ; return ; } }
  else if (!enqueue_start(s, id, 0, 0)) return ;
  s->efailed = 0 ; s->elen = 0 ; s->esize = 0 ;
  s->fromcheck = sender_checked(s) ;
  reply(s, "354 End data with <CR><LF>.<CR><LF>") ;
  if (!flush(s)) { data_abort(s) ; return ; }
  s->ehops = (message_hops)MESSAGE_HOPS_ZERO ;
  if (!s->fs && !received_put(s, id)) { data_abort(s) ; die_net(s, "out-of-memory") ; return ; }
  /* the Received header counts towards the size, as enqueue counts it */
  dm.size = s->esize ;
  dm.max = s->cf->message_size ;

  set_deadline(s, s->cf->timeout_data) ;
  for (;;)
  {
    ssize_t r ;
    s->inpos += smtp_data_feed(&dm, s->inbuf + s->inpos, s->inlen - s->inpos, s->fs ? &hold_cb : &eput_cb, s) ;
    if (dm.done) break ;
    /* once refused, nothing more goes to enqueue: it aborts on EOF */
    if (dm.bad && s->efd >= 0) eabort(s) ;
    /* what was read is not the whole message, nothing more is waiting
       to be read, and nothing of ours will carry the ACK before the end:
       a client that writes the message in several writes with Nagle's
       algorithm on waits for that ACK (lib/tcpack). A message that is
       all there when we read gets its ACK with our reply, as before */
    if (got && !(s->tls ? tls_pending(s->tls) : s->rfull)) tcpack_now(s->io->fdr) ;
    s->inpos = s->inlen = 0 ;
    r = net_read(s, s->inbuf, SMTPD_INBUF) ;
    if (r < 0) { int e = errno ; data_abort(s) ; errno = e ; die_net(s, "read-error") ; return ; }
    if (!r) { data_abort(s) ; LOG(s, "disconnect reason=eof-in-data") ; bye(s) ; return ; }
    s->inlen = r ;
    got = 1 ;
    progress += r ;
    /* real transfers move the deadline on; a slow drip does not */
    if (progress >= DATA_PROGRESS) { progress = 0 ; set_deadline(s, s->cf->timeout_data) ; }
  }
  if (dm.bad)
  {
    unsigned int bad = dm.bad ;
    data_abort(s) ;
    LOG(s, "refused id=", id, "reason=", bad & SMTP_DATA_BARE ? "bare-cr-lf" : bad & SMTP_DATA_NUL ? "nul" : bad & SMTP_DATA_LONG ? "line-too-long" : "size") ;
    if (bad & SMTP_DATA_BARE) reply_err(s, "550 5.6.11 bare CR or LF in message (RFC 5321 §2.3.8)") ;
    else if (bad & SMTP_DATA_NUL) reply_err(s, "554 5.6.0 NUL octet in message") ;
    else if (bad & SMTP_DATA_LONG) reply_err(s, "554 5.6.0 Message line longer than 998 octets (RFC 5322 §2.1.1)") ;
    else reply_err(s, "552 5.3.4 Message size exceeds fixed maximum message size") ;
  }
  else if (s->ehops.count + !!s->fs > s->cf->max_hops)
  {
    /* RFC 5321 §6.3: a loop, refused with RFC 3463's 5.4.6 (routing loop detected) */
    data_abort(s) ;
    LOG(s, "refused id=", id, "reason=too-many-hops") ;
    reply_err(s, "554 5.4.6 too many hops: a mail loop") ;
  }
  /* before anything is acknowledged: enqueue aborts, nothing is queued */
  else if (s->fromcheck && !s->efailed && !from_owned(s, id)) data_abort(s) ;
  else if (s->fs)
  {
    filter_hold_end(s->fs) ;
    data_filtered(s) ;
  }
  else
  {
    int e ;
    eflush(s) ;
    e = wait_enqueue(s) ;
    if (s->efailed && !e) e = KETCH_EX_TEMP ;
    s->esize = dm.size ;
    enqueue_status_reply(s, e, id) ;
  }
  transaction_reset(s) ;
}

static void do_rset (smtpd_session *s, char const *arg, size_t len)
{
  transaction_reset(s) ;
  reply(s, "250 2.0.0 Ok") ;
}

static void do_noop (smtpd_session *s, char const *arg, size_t len)
{
  reply(s, "250 2.0.0 Ok") ;
}

static void do_quit (smtpd_session *s, char const *arg, size_t len)
{
  reply(s, "221 2.0.0 Bye") ;
  LOG(s, "disconnect reason=quit") ;
  bye(s) ;
}

static void do_vrfy (smtpd_session *s, char const *arg, size_t len)
{
  reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery") ;
}

static void do_expn (smtpd_session *s, char const *arg, size_t len)
{
  reply_err(s, "502 5.5.1 EXPN not available") ;
}

static void do_help (smtpd_session *s, char const *arg, size_t len)
{
  reply(s, "214 2.0.0 See RFC 5321; commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH") ;
}

static void do_unknown (smtpd_session *s, char const *arg, size_t len)
{
  reply_err(s, "500 5.5.1 Command unrecognized") ;
}

/* AUTH PLAIN (RFC 4616) and LOGIN, RFC 4954 */

int smtpd_plain_split (char const *p, size_t len, size_t *user, size_t *ulen, size_t *pass, size_t *plen)
{
  size_t i = 0, u ;
  for (; i < len && p[i] ; i++) ;
  if (i >= len) return 0 ;
  u = i + 1 ;
  for (i = u ; i < len && p[i] ; i++) ;
  if (i >= len) return 0 ;
  /* an authzid must be empty or the authcid */
  if (u > 1 && (u - 1 != i - u || memcmp(p, p + u, i - u))) return -1 ;
  *user = u ; *ulen = i - u ;
  *pass = i + 1 ; *plen = len - i - 1 ;
  return 1 ;
}

/* reads one base64 response line; 1 ok, 0 cancelled or bad (reply sent) or the session over */
static int auth_response (smtpd_session *s, char *out, size_t max, size_t *olen)
{
  char *line ;
  size_t len ;
  set_deadline(s, s->cf->timeout_command) ;
  if (getcmd(s, &line, &len) <= 0) return 0 ;
  if (len == 1 && line[0] == '*') { reply_err(s, "501 5.0.0 Authentication cancelled") ; return 0 ; }
  if (len == 1 && line[0] == '=') { *olen = 0 ; return 1 ; }
  if (!base64_decode(line, len, out, max, olen)) { reply_err(s, "501 5.5.2 Cannot decode response") ; return 0 ; }
  return 1 ;
}

static int auth_name_ok (char const *p, size_t len)
{
  size_t i = 0 ;
  if (!len || len > 255) return 0 ;
  for (; i < len ; i++) if ((unsigned char)p[i] < 32 || p[i] == 127 || p[i] == ':') return 0 ;
  return 1 ;
}

/* a channel to smtp-keyd: 1, or 0 (errno) */
static int keyd_channel (smtpd_session *s)
{
  if (s->keych < 0) s->keych = keyd_open(s->io->door, &s->deadline) ;
  return s->keych >= 0 ;
}

/* after a request that got no proper answer: its answer may still come,
   and would be taken for the next request's (the channel outlives the
   session, lib/smtpd.h), so the channel goes */
static void keyd_drop (smtpd_session *s)
{
  if (s->keych >= 0) fd_close(s->keych) ;
  s->keych = -1 ;
}

/*
 * Dovecot's answer (lib/dovecotauth): the client's mechanism with its
 * responses, PLAIN's message rebuilt without an authzid (smtpd_plain_split
 * let through only an empty one or the authcid's own). The name Dovecot
 * gives, when it is a name we take, becomes the session's (Dovecot's
 * auth_username_format may have changed its case or domain).
 */
static int dovecot_ask (smtpd_session *s, unsigned int mech, char const *user, size_t ulen, char const *pass, size_t plen, stralloc *name)
{
  stralloc m = STRALLOC_ZERO ;
  char const *resp[2] = { user, pass } ;
  size_t rlen[2] = { ulen, plen } ;
  tain d ;
  enum ketch_result r ;
  if (!dovecot_open(s)) return -1 ;
  if (mech == DOVECOTAUTH_PLAIN)
  {
    if (!stralloc_catb(&m, "", 1) || !stralloc_catb(&m, user, ulen) || !stralloc_catb(&m, "", 1) || !stralloc_catb(&m, pass, plen))
    {
      if (m.s) byte_zzero(m.s, m.a) ;
      stralloc_free(&m) ;
      warn_sys(s, "dovecot-auth", 0) ;
      return -1 ;
    }
    resp[0] = m.s ; rlen[0] = m.len ;
  }
  dovecot_deadline(s, &d) ;
  r = dovecotauth_check(s->dovecot, mech, resp, rlen, mech == DOVECOTAUTH_PLAIN ? 1 : 2, s->tls ? DOVECOTAUTH_SECURED : 0,
    s->haveip ? s->ipstr : 0, s->io->localip, name, &d) ;
  if (m.s) byte_zzero(m.s, m.a) ;
  stralloc_free(&m) ;
  if (r == KETCH_RESULT_TEMP) warn_sys(s, "dovecot-auth", s->cf->sa.s + s->cf->auth_dovecot) ;
  return r == KETCH_RESULT_OK ? 1 : r == KETCH_RESULT_PERM ? 0 : -1 ;
}

/* 1 right, 0 wrong, -1 error (logged); the table is smtp-keyd's, or ours without a door */
static int auth_ask (smtpd_session *s, unsigned int mech, char const *user, size_t ulen, char const *pass, size_t plen, stralloc *name)
{
  char req[KEYD_REQ_MAX], rep[KEYD_REP_MAX] ;
  size_t n ;
  ssize_t r ;
  if (s->cf->auth_dovecot) return dovecot_ask(s, mech, user, ulen, pass, plen, name) ;
  if (s->io->door < 0)
  {
    r = authtable_check(s->cf->sa.s + s->cf->auth_table, user, ulen, pass, plen) ;
    if (r < 0) warn_sys(s, "auth-table", s->cf->sa.s + s->cf->auth_table) ;
    return r ;
  }
  n = keyd_auth_fmt(req, user, ulen, pass, plen) ;
  if (!n) return 0 ;
  set_deadline(s, s->cf->timeout_command) ;
  r = keyd_channel(s) ? keyd_call(s->keych, req, n, rep, &s->deadline) : -1 ;
  byte_zzero(req, n) ;
  if (r == 1 && (rep[0] == KEYD_OK || rep[0] == KEYD_NO)) return rep[0] == KEYD_OK ;
  {
    int e = errno ;
    keyd_drop(s) ;
    errno = e ;
  }
  if (r < 0) warn_sys(s, "smtp-keyd", 0) ;
  else LOG(s, "warning event=smtp-keyd error=\"could not check a password\"") ;
  return -1 ;
}

static void auth_check (smtpd_session *s, unsigned int mech, char const *user, size_t ulen, char const *pass, size_t plen)
{
  stralloc name = STRALLOC_ZERO ;
  int r = auth_name_ok(user, ulen) ? auth_ask(s, mech, user, ulen, pass, plen, &name) : 0 ;
  if (r > 0 && name.len && auth_name_ok(name.s, name.len)) { user = name.s ; ulen = name.len ; }
  if (r > 0)
  {
    int e = !stralloc_copyb(&s->authuser, user, ulen) || !stralloc_0(&s->authuser) ;
    stralloc_free(&name) ;
    if (e) { die_net(s, "out-of-memory") ; return ; }
    s->authuser.len-- ;
    LOG(s, "auth user=", Q(s, s->authuser.s, s->authuser.len), "result=ok") ;
    reply(s, "235 2.7.0 Authentication successful") ;
    return ;
  }
  stralloc_free(&name) ;
  if (r < 0)
  {
    reply(s, "454 4.7.0 Temporary authentication failure") ;
    return ;
  }
  LOG(s, "auth user=", Q(s, user, ulen), "result=failed") ;
  /* a bounded delay slows guessing without tying up the session for long */
  if (!flush(s)) return ;
  {
    tain d ;
    tain_now_g() ;
    tain_addsec_g(&d, 1) ;
    iopause_g(0, 0, &d) ;
  }
  if (++s->authfailures >= AUTH_FAILURES_MAX)
  {
    reply(s, "535 5.7.8 Authentication credentials invalid") ;
    reply(s, "421 4.7.0 Too many authentication failures, closing connection") ;
    LOG(s, "disconnect reason=auth-failures") ;
    bye(s) ;
    return ;
  }
  reply_err(s, "535 5.7.8 Authentication credentials invalid") ;
}

/* AUTH's buffers stay out of the command loop's frame, which every idle session touches */
#ifdef __GNUC__
__attribute__((noinline))
#endif
static void do_auth (smtpd_session *s, char const *arg, size_t len)
{
  char buf[SMTP_CMDLINE_MAX] ;
  size_t mlen = 0, blen ;
  while (mlen < len && arg[mlen] != ' ') mlen++ ;
  /* RFC 4954 §4: a mechanism we did not offer is unrecognized */
  if (mlen == 5 && case_startb(arg, 5, "PLAIN") && (auth_mechs(s, 0) & DOVECOTAUTH_PLAIN))
  {
    size_t u, ul, p, pl ;
    int r ;
    if (mlen < len)
    {
      char const *ir = arg + mlen + 1 ;
      size_t irlen = len - mlen - 1 ;
      if (irlen == 1 && ir[0] == '=') blen = 0 ;
      else if (!base64_decode(ir, irlen, buf, sizeof(buf), &blen)) { reply_err(s, "501 5.5.2 Cannot decode response") ; return ; }
    }
    else
    {
      reply(s, "334 ") ;
      if (!auth_response(s, buf, sizeof(buf), &blen)) return ;
    }
    r = smtpd_plain_split(buf, blen, &u, &ul, &p, &pl) ;
    if (!r) reply_err(s, "501 5.5.2 Bad PLAIN response") ;
    else if (r < 0) reply_err(s, "535 5.7.8 Authorization identity not permitted") ;
    else auth_check(s, DOVECOTAUTH_PLAIN, buf + u, ul, buf + p, pl) ;
    byte_zzero(buf, sizeof(buf)) ;
    return ;
  }
  if (mlen == 5 && case_startb(arg, 5, "LOGIN") && (auth_mechs(s, 0) & DOVECOTAUTH_LOGIN))
  {
    char pass[SMTP_CMDLINE_MAX] ;
    size_t plen ;
    if (mlen < len)
    {
      if (!base64_decode(arg + mlen + 1, len - mlen - 1, buf, sizeof(buf), &blen)) { reply_err(s, "501 5.5.2 Cannot decode response") ; return ; }
    }
    else
    {
      reply(s, "334 VXNlcm5hbWU6") ;
      if (!auth_response(s, buf, sizeof(buf), &blen)) return ;
    }
    reply(s, "334 UGFzc3dvcmQ6") ;
    if (!auth_response(s, pass, sizeof(pass), &plen)) return ;
    auth_check(s, DOVECOTAUTH_LOGIN, buf, blen, pass, plen) ;
    byte_zzero(pass, sizeof(pass)) ;
    return ;
  }
  reply_err(s, "504 5.5.4 Unrecognized authentication type") ;
}

/* STARTTLS (RFC 3207) and implicit TLS (RFC 8314) */

static int tls_start (smtpd_session *s)
{
  tls_server *t ;
  set_deadline(s, s->cf->timeout_command) ;
  if (s->io->door >= 0 && !keyd_channel(s))
  {
    warn_sys(s, "smtp-keyd", 0) ;
    return 0 ;
  }
  t = tls_server_new(s->cf->sa.s + s->cf->cert, s->io->chain, s->cf->sa.s + s->cf->key, s->keych, !!s->cf->tls_session_cache, s->io->fdr, s->io->fdw, &s->deadline) ;
  if (!t)
  {
    warn_sys(s, "tls-certificate", s->cf->sa.s + s->cf->cert) ;
    keyd_drop(s) ;
    return 0 ;
  }
  s->tls = t ;
  return 1 ;
}

/* 1, or 0: the handshake failed, the session is over */
static int tls_go (smtpd_session *s)
{
  set_deadline(s, s->cf->timeout_command) ;
  if (!tls_handshake(s->tls, &s->deadline))
  {
    int e = tls_last_error(s->tls) ;
    char const *text = e ? tlsname_error(e) : strerror(errno) ;
    char fmt[INT_FMT] ;
    fmt[int_fmt(fmt, e)] = 0 ;
    LOG(s, "disconnect reason=tls-handshake error=", fmt, "text=", Q(s, text, strlen(text))) ;
    s->over = SMTPD_OVER_NET ;
    return 0 ;
  }
  LOG(s, "tls version=", tls_version(s->tls), "cipher=", tlsname_suite(tls_suite(s->tls)), tls_resumed(s->tls) ? "resumed=1" : "") ;
  return 1 ;
}

static void do_starttls (smtpd_session *s, char const *arg, size_t len)
{
  if (!tls_start(s)) { reply(s, "454 4.7.0 TLS not available due to temporary reason") ; return ; }
  reply(s, "220 2.0.0 Ready to start TLS") ;
  {
    /* the 220 goes in clear */
    tls_server *t = s->tls ;
    int r ;
    s->tls = 0 ;
    r = flush(s) ;
    s->tls = t ;
    if (!r) return ;
  }
  /* RFC 3207 §4.2 and the 2011 injection class: whatever the client
     pipelined after STARTTLS is discarded, never read inside TLS */
  if (s->inlen > s->inpos) LOG(s, "starttls discarded=", log_u64(s->inlen - s->inpos)) ;
  s->inpos = s->inlen = 0 ;
  if (!tls_go(s)) return ;
  /* RFC 3207 §4.2: forget everything learned before TLS */
  s->state = SMTPD_S_GREETED ;
  s->ehlo = 0 ;
  transaction_reset(s) ;
  s->authuser.len = 0 ;
}

/*
 * The command table (qmail-smtpd's smtpcommands, OpenSMTPD's check and
 * proceed): what each command needs before its handler runs. One guard
 * checks the needs in the order of this list and gives the reply of the
 * first one missing, which counts as an error:
 *
 *   N_NOTLS      503 5.5.1 TLS already active
 *   N_TLSOFFER   502 5.5.1 STARTTLS not available (no certificate, or not on this listener)
 *   N_AUTHOFFER  503 5.5.1 AUTH not available; past it, AUTH counts as tried
 *   N_NOPARAM    501 5.5.4 Syntax: VERB
 *   N_HELO       503 5.5.1 Send HELO or EHLO first
 *   N_UNAUTHED   503 5.5.1 Already authenticated
 *   N_NOTRANS    503 5.5.1 the command's own text (MAIL: nested; AUTH: not now)
 *   N_TRANS      503 5.5.1 Need MAIL before VERB
 *   N_TLSREQ     530 5.7.0 Must issue a STARTTLS command first (a listener's tls-required)
 *   N_AUTHREQ    530 5.7.0 Authentication required (a listener's auth-required)
 */
#define N_NOTLS     0x001
#define N_TLSOFFER  0x002
#define N_AUTHOFFER 0x004
#define N_NOPARAM   0x008
#define N_HELO      0x010
#define N_UNAUTHED  0x020
#define N_NOTRANS   0x040
#define N_TRANS     0x080
#define N_TLSREQ    0x100
#define N_AUTHREQ   0x200

typedef void smtpd_handler (smtpd_session *, char const *, size_t) ;
typedef struct smtpd_command_s smtpd_command ;
struct smtpd_command_s
{
  char const *verb ;
  unsigned int needs ;
  char const *busy ;      /* N_NOTRANS's reply */
  smtpd_handler *handler ;
} ;

static smtpd_command const commands[SMTP_NVERBS] =
{
  [SMTP_UNKNOWN] = { "", 0, 0, &do_unknown },
  [SMTP_HELO] = { "HELO", 0, 0, &do_helo },
  [SMTP_EHLO] = { "EHLO", 0, 0, &do_ehlo },
  [SMTP_MAIL] = { "MAIL", N_HELO | N_NOTRANS | N_TLSREQ | N_AUTHREQ, "503 5.5.1 Nested MAIL command", &do_mail },
  [SMTP_RCPT] = { "RCPT", N_TRANS, 0, &do_rcpt },
  [SMTP_DATA] = { "DATA", N_NOPARAM | N_TRANS, 0, &do_data },
  [SMTP_RSET] = { "RSET", N_NOPARAM, 0, &do_rset },
  [SMTP_NOOP] = { "NOOP", 0, 0, &do_noop },
  [SMTP_QUIT] = { "QUIT", 0, 0, &do_quit },
  [SMTP_VRFY] = { "VRFY", 0, 0, &do_vrfy },
  [SMTP_EXPN] = { "EXPN", 0, 0, &do_expn },
  [SMTP_HELP] = { "HELP", 0, 0, &do_help },
  [SMTP_STARTTLS] = { "STARTTLS", N_NOTLS | N_TLSOFFER | N_NOPARAM, 0, &do_starttls },
  [SMTP_AUTH] = { "AUTH", N_AUTHOFFER | N_UNAUTHED | N_NOTRANS, "503 5.5.1 AUTH not permitted during a mail transaction", &do_auth },
} ;

/* 1: the command may run; 0: refused, the reply given */
static int guard (smtpd_session *s, smtpd_command const *c, size_t len)
{
  unsigned int n = c->needs ;
  if (s->refused && c->handler != &do_quit) { reply_err(s, "503 5.5.1 Bad sequence of commands") ; return 0 ; }
  if ((n & N_NOTLS) && s->tls) { reply_err(s, "503 5.5.1 TLS already active") ; return 0 ; }
  if ((n & N_TLSOFFER) && !starttls_offered(s)) { reply_err(s, "502 5.5.1 STARTTLS not available") ; return 0 ; }
  if (n & N_AUTHOFFER)
  {
    if (!auth_offered(s)) { reply_err(s, "503 5.5.1 AUTH not available") ; return 0 ; }
    /* from here on a password may come: the stack is wiped, and the process reused only if the password went to smtp-keyd (reusable) */
    s->authtried = 1 ;
  }
  if ((n & N_NOPARAM) && len) { replyv_err(s, "501 5.5.4 Syntax: ", c->verb) ; return 0 ; }
  if ((n & N_HELO) && s->state == SMTPD_S_GREETED) { reply_err(s, "503 5.5.1 Send HELO or EHLO first") ; return 0 ; }
  if ((n & N_UNAUTHED) && s->authuser.len) { reply_err(s, "503 5.5.1 Already authenticated") ; return 0 ; }
  if ((n & N_NOTRANS) && s->state >= SMTPD_S_MAIL) { reply_err(s, c->busy) ; return 0 ; }
  if ((n & N_TRANS) && s->state < SMTPD_S_MAIL) { replyv_err(s, "503 5.5.1 Need MAIL before ", c->verb) ; return 0 ; }
  if ((n & N_TLSREQ) && (s->lflags & CONF_LISTEN_TLSREQUIRED) && !s->tls) { reply_err(s, "530 5.7.0 Must issue a STARTTLS command first") ; return 0 ; }
  if ((n & N_AUTHREQ) && (s->lflags & CONF_LISTEN_AUTHREQUIRED) && !s->authuser.len) { reply_err(s, "530 5.7.0 Authentication required") ; return 0 ; }
  return 1 ;
}

/* the listener the client came in on, or 0 (tcpserver) */
static conf_listen const *listener (smtpd_session const *s)
{
  char const *lip = s->io->localip ;
  char const *lport = s->io->localport ;
  ip46 a ;
  uint16_t port = 0 ;
  size_t n = genalloc_len(conf_listen, &s->cf->listen), i = 0 ;
  conf_listen const *l = genalloc_s(conf_listen, &s->cf->listen) ;
  int haveaddr = lip && ip46_scan(lip, &a) == strlen(lip) ;
  if (lport && uint160_scan(lport, &port) != strlen(lport)) port = 0 ;
  for (; i < n ; i++)
  {
    if (l[i].port != port) continue ;
    if (haveaddr && memcmp(l[i].ip, a.ip, l[i].is6 ? 16 : 4))
    {
      static char const zero[16] = { 0 } ;
      if (memcmp(l[i].ip, zero, l[i].is6 ? 16 : 4)) continue ;
    }
    return l + i ;
  }
  return 0 ;
}

/* the flags of the listener; not one of ours (tcpserver): offer STARTTLS when we can */
static unsigned int listener_flags (smtpd_session const *s, conf_listen const *l)
{
  return l ? l->flags : s->cf->cert ? CONF_LISTEN_STARTTLS : 0 ;
}

/*
 * The listener's filters (lib/filter), connected before the greeting.
 * A refusal there is the greeting: 554 and then 503 to every command but
 * QUIT (RFC 5321 §3.1: the server waits for QUIT), or 421 and the end.
 * 1, or 0 (421 sent).
 */
static int filters_start (smtpd_session *s, conf_listen const *l)
{
  int v ;
  if (!l || !l->filter_count) return 1 ;
  v = filterset_start(&s->fs, s->cf, genalloc_s(size_t, &s->cf->filter_use) + l->filter_first, l->filter_count, s->io->logfd, s->sid,
    &s->session_deadline, s->haveip ? s->ipstr : 0, s->io->remoteport, s->io->localip, s->local == SMTPD_LOCAL_USER ? 'L' : !s->haveip ? 'U' : ip46_is6(&s->ip) ? '6' : '4') ;
  if (v == MILTER_FAIL) { LOG(s, "disconnect reason=out-of-memory") ; reply(s, "421 4.3.0 Temporary failure, please try again later") ; return 0 ; }
  if (v == MILTER_TEMPFAIL) { reply(s, s->fs->reply.s) ; LOG(s, "disconnect reason=filter") ; return 0 ; }
  if (v == MILTER_REJECT) { reply(s, s->fs->reply.s) ; s->refused = 1 ; }
  return 1 ;
}

static void connected (smtpd_session *s)
{
  smtpd_io const *io = s->io ;
  char const *rip = io->remoteip ;
  uint16_t port = 0 ;
  /* an IPv4 client of an IPv6 socket (::ffff:a.b.c.d) is an IPv4 client for relay-from */
  if (rip && case_startb(rip, strlen(rip), "::ffff:") && strchr(rip + 7, '.')) rip += 7 ;
  if (rip && ip46_scan(rip, &s->ip) == strlen(rip))
  {
    s->haveip = 1 ;
    s->ipstr[ip46_fmt(s->ipstr, &s->ip)] = 0 ;
  }
  else memcpy(s->ipstr, "unknown", 8) ;
  if (io->remoteport && uint160_scan(io->remoteport, &port) != strlen(io->remoteport)) port = 0 ;
  /*
   * A local submission (sendmail -bs) is said on the command line, which
   * only the program that runs us writes: the UCSPI environment is partly
   * the client's (TCPREMOTEINFO comes from its ident server). The local
   * user can run enqueue directly anyway, so it may relay.
   */
  s->local = io->localuser ? SMTPD_LOCAL_USER : io->relayclient ? SMTPD_LOCAL_RELAYCLIENT : SMTPD_LOCAL_NONE ;
  if (s->local == SMTPD_LOCAL_USER) LOG(s, "connect local-user=", Q(s, io->localuser, strlen(io->localuser))) ;
  else LOG(s, "connect ip=", s->ipstr, "port=", log_u64(port), s->local ? "relayclient=1" : "") ;
}

/*
 * May this process serve another client, once smtpd_wipe has run? A
 * session that held no secret, yes. One that used TLS or AUTH only when
 * every copy of what it held is in what smtpd_wipe zeroes (lib/smtpd.h):
 * not with the buffers of other modules that grow by realloc and keep the
 * old copies in freed memory (a message held for filters, lib/filter; the
 * From fields of a sender-login check, lib/senderlogin; a Dovecot
 * exchange, lib/dovecotauth), nor after a password was checked here (the
 * auth table read without smtp-keyd: crypt's memory is libc's).
 */
static int reusable (smtpd_session const *s, int filtered)
{
  if (!s->tls && !s->authtried) return 1 ;
  if (filtered || s->from) return 0 ;
  return !s->authtried || (s->io->door >= 0 && !s->cf->auth_dovecot) ;
}

/* the last replies and the close_notify, in one write (lib/tls.h),
   given 2 s: a client that does not read them holds up no one */
static void tls_end (smtpd_session *s)
{
  tain d ;
  tain_now_g() ;
  tain_addsec_g(&d, 2) ;
  tls_close(s->tls, s->outbuf, s->outlen, &d) ;
  s->outlen = 0 ;
}

/* the end of a session: 1 when this process serves another client */
static int over (smtpd_session *s)
{
  smtpd_io const *io = s->io ;
  int filtered = !!s->fs ;
  /* the session's filters end with it: never carried to the next client */
  filterset_free(&s->fs) ;
  /* its end, whatever the end: the TLS share of inbound sessions (lib/stats) */
  stats_add(io->stats, s->tls ? STATS_SESSIONS_IN_TLS : STATS_SESSIONS_IN_PLAIN, 1) ;
  if (s->over != SMTPD_OVER_BYE) return 0 ;
  if (io->next && s->eh.fd < 0 && reusable(s, filtered) && (*io->next)(io->next_ctx))
  {
    /* the next clients wait for this process: one that does not read
       its last reply must not hold it up, nor end it */
    if (s->tls) tls_end(s) ;
    else if (s->outlen) net_write(s, s->outbuf, s->outlen) ;
    s->outlen = 0 ;
    return 1 ;
  }
  if (s->tls) tls_end(s) ;
  else flush(s) ;
  return 0 ;
}

int smtpd_run (smtpd_session *s, conf const *cf, smtpd_io const *io)
{
  s->cf = cf ;
  s->io = io ;
  /* a channel to smtp-keyd and a connection to enqueue-listen are kept from one client to the next (smtpd_wipe) */
  {
    int kept = s->wiped ? s->eh.kept : -1 ;
    if (!s->wiped) s->keych = -1 ;
    s->efd = -1 ;
    s->eh = (enqclient)ENQCLIENT_ZERO ;
    s->eh.keep = 1 ;
    s->eh.kept = kept ;
  }
  if (io->pid) queue_id_make_pid(s->sid, io->pid) ;
  else queue_id_make(s->sid) ;
  tain_now_g() ;
  tain_addsec_g(&s->session_deadline, cf->timeout_session) ;
  if (!io->nonblock)
  {
    ndelay_on(io->fdr) ;
    ndelay_on(io->fdw) ;
  }
  connected(s) ;
  {
    conf_listen const *l = listener(s) ;
    s->lflags = listener_flags(s, l) ;
    if (s->lflags & CONF_LISTEN_SMTPS)
    {
      if (!tls_start(s)) { LOG(s, "disconnect reason=tls-unavailable") ; return 0 ; }
      if (!tls_go(s)) return 0 ;
    }
    if (!filters_start(s, l)) { bye(s) ; return over(s) ; }
  }
  if (!s->refused) replyv(s, "220 ", hostname(s), " ESMTP ketch") ;

  while (!s->over)
  {
    char *line ;
    size_t len, a ;
    int r ;
    smtpd_command const *c ;
    set_deadline(s, cf->timeout_command) ;
    r = getcmd(s, &line, &len) ;
    if (r <= 0) continue ;
    switch (smtp_line_check(line, len))
    {
      case SMTP_LINE_OK : break ;
      case SMTP_LINE_NUL : reply_err(s, "500 5.5.2 NUL octet in command") ; continue ;
      default : reply_err(s, "500 5.5.2 Bare CR or LF in command (RFC 5321 §2.3.8)") ; continue ;
    }
    c = commands + smtp_verb(line, len, &a) ;
    if (guard(s, c, len - a)) (*c->handler)(s, line + a, len - a) ;
  }
  return over(s) ;
}

static void wipe (stralloc *sa)
{
  if (sa->s) byte_zzero(sa->s, sa->a) ;
  sa->len = 0 ;
}

/* the frames of the session below smtpd_run's, zeroed (lib/smtpd.h,
   SMTPD_STACK_WIPE): an array as deep, in a frame of its own */
#ifdef __GNUC__
__attribute__((noinline))
#endif
static void stack_wipe (void)
{
  char x[SMTPD_STACK_WIPE] ;
  byte_zzero(x, sizeof(x)) ;
}

void smtpd_wipe (smtpd_session *s)
{
  stralloc keep[7] = { s->heloname, s->sender, s->rcpts, s->authuser, s->logsa, s->qsa, s->qsa2 } ;
  char *ebuf = s->ebuf ;
  int keych = s->cf ? s->keych : -1 ;
  int secret = s->tls || s->authtried ;
  int ekept ;
  unsigned int i = 0 ;
  /* what a session may still hold (smtpd_run set keych and eh): a TLS
     engine (zeroed, lib/tls.h), an enqueue hand-off (aborted: nothing is
     queued, a spawned enqueue is reaped) */
  if (s->tls) tls_server_free(s->tls) ;
  if (s->cf && (s->eh.fd >= 0 || s->eh.pid)) { enqclient_abort(&s->eh) ; enqclient_finish(&s->eh, 0) ; }
  ekept = s->cf ? s->eh.kept : -1 ;
  filterset_free(&s->fs) ;
  /* a Dovecot connection is the session's: the next client opens its own */
  if (s->dovecot) { dovecotauth_close(s->dovecot) ; alloc_free(s->dovecot) ; }
  if (s->from)
  {
    wipe(&s->from->value) ;
    stralloc_free(&s->from->value) ;
    alloc_free(s->from) ;
  }
  for (; i < 7 ; i++) wipe(keep + i) ;
  if (ebuf) byte_zzero(ebuf, EBUF) ;
  byte_zzero((char *)s, sizeof(smtpd_session)) ;
  s->heloname = keep[0] ; s->sender = keep[1] ; s->rcpts = keep[2] ; s->authuser = keep[3] ;
  s->logsa = keep[4] ; s->qsa = keep[5] ; s->qsa2 = keep[6] ;
  s->ebuf = ebuf ;
  s->keych = keych ;
  s->eh.kept = ekept ;
  s->wiped = 1 ;
  if (secret) stack_wipe() ;
}

void smtpd_free (smtpd_session *s)
{
  smtpd_wipe(s) ;
  if (s->keych >= 0) fd_close(s->keych) ;
  s->keych = -1 ;
  enqclient_close(&s->eh) ;
  stralloc_free(&s->heloname) ; stralloc_free(&s->sender) ; stralloc_free(&s->rcpts) ;
  stralloc_free(&s->authuser) ; stralloc_free(&s->logsa) ; stralloc_free(&s->qsa) ; stralloc_free(&s->qsa2) ;
  if (s->ebuf) alloc_free(s->ebuf) ;
  s->ebuf = 0 ;
}
