/* ISC license: see LICENSE. */

/*
 * smtp-session: one inbound SMTP session (RFC 5321) on fds 0 and 1,
 * spawned by smtp-listen or by ucspi-tcp's tcpserver (UCSPI environment).
 * Parsing lives in lib/smtp.c, the relay decision in lib/policy.c, TLS in
 * lib/tls.c; this file is the state machine and the I/O.
 *
 * Invariants:
 * - CRLF is the only line end (RFC 5321 §2.3.8). In DATA only CRLF.CRLF
 *   ends the message; a message holding a bare CR or LF is refused after
 *   its end, and nothing of it reaches the queue.
 * - Every wait has an absolute deadline: per command, per DATA phase and
 *   per session. Bytes trickling in do not extend a command's deadline.
 * - Replies are buffered and flushed only before we wait for input, so
 *   pipelined commands (RFC 2920) get their replies in one write.
 * - 250 after DATA is sent only once enqueue has exited 0 (the commit).
 */

#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
#include <signal.h>
#include <setjmp.h>
#include <sys/socket.h>

#include <skalibs/gccattributes.h>
#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/buffer.h>
#include <skalibs/alloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/env.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/sig.h>
#include <skalibs/skamisc.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "address.h"
#include "conf.h"
#include "message.h"
#include "policy.h"
#include "queue.h"
#include "enqclient.h"
#include "smtp.h"
#include "tls.h"
#include "authtable.h"
#include "keyd.h"

#define USAGE "smtp-session [ -C conf ] [ -L user ] [ -K door ]"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

/*
 * The session's buffers are in .bss, and every page of it an idle forked
 * session writes is its own (W3, t/bench/README.md): 2 KiB in (four
 * command lines of RFC 5321's 512 octets; DATA streams through it) and
 * 1 KiB out (a full EHLO reply is about 200 octets; pipelined replies
 * are flushed when it fills) keep smtp-listen's .data and .bss, with the
 * session's, within two pages.
 */
#define INBUF 2048
#define OUTBUF 1024
#define AUTH_FAILURES_MAX 3
#define DATA_PROGRESS (64 << 10)  /* DATA's deadline moves on only after this much input */

extern char **environ ;

static conf cf ;
static char const *confpath ;
static char sid[QUEUE_ID_LEN + 1] ;
static char ipstr[IP46_FMT] ;   /* zero-initialised: .bss, not .data (W3) */
static ip46 ip ;
static int haveip = 0 ;
static unsigned int lflags = 0 ;
static int localsub = 0 ;        /* sendmail -bs (-L), or RELAYCLIENT set: may relay */

static char inbuf[INBUF] ;
static size_t inpos = 0, inlen = 0 ;
static char outbuf[OUTBUF] ;
static size_t outlen = 0 ;
static tls_server *tls = 0 ;
static int door = -1 ;           /* -K: smtp-keyd's door; -1: we read the key and the table */
static int keych = -1 ;          /* our channel to smtp-keyd, opened at the first need */

static tain session_deadline ;
static tain deadline ;           /* the current wait's deadline */

/* SMTP state */
static int helo = 0 ;            /* 0 none, 1 HELO, 2 EHLO */
static stralloc heloname = STRALLOC_ZERO ;
static int intrans = 0 ;
static int utf8 = 0 ;
static stralloc sender = STRALLOC_ZERO ;
static stralloc rcpts = STRALLOC_ZERO ;   /* NUL-separated */
static unsigned int nrcpt = 0 ;
static unsigned int nrcpt_tried = 0 ;
static unsigned int errors = 0 ;
static unsigned int authfailures = 0 ;
static stralloc authuser = STRALLOC_ZERO ;
static stralloc logsa = STRALLOC_ZERO ;
static stralloc qsa = STRALLOC_ZERO ;    /* quoted strings for logs */
static stralloc qsa2 = STRALLOC_ZERO ;
static int authtried = 0 ;       /* AUTH was attempted: a password may be in memory */

/* DATA: the message goes to enqueue-listen or to enqueue -S (enqueue_start);
   the buffer is allocated at the first DATA: an idle session never touches it (W3) */
#define EBUF 4096
static char *ebuf = 0 ;
static size_t elen = 0 ;
static int efd = -1 ;
static int esock = -1 ;   /* enqueue-listen's connection (efd too), or -1: enqueue was spawned */
static int efailed = 0 ;
static uint64_t esize = 0 ;
static message_hops ehops = MESSAGE_HOPS_ZERO ;  /* the Received fields enqueue is given, ours included */

#ifdef KETCH_SESSION_MAIN
/*
 * Set by smtp-listen -f for a session process that may serve another
 * client after this one: a clean end (bye) jumps there instead of exiting,
 * once every per-client variable is back to its initial value. Only a
 * session that never held a secret ends that way: one that started TLS or
 * tried AUTH exits, as does any end on an error (die_net, strerr_die).
 */
sigjmp_buf *smtp_session_reuse = 0 ;
/* ...and, asked at such an end before the last reply is sent, whether
   this process serves another client: 1 once the listener was told it is
   idle. Telling it first means a client that reconnects on reading our
   221 finds this process idle, not a fork still to make. */
int (*smtp_session_next) (void) = 0 ;
#else
static sigjmp_buf *const smtp_session_reuse = 0 ;
static int (*const smtp_session_next) (void) = 0 ;
#endif

#ifdef KETCH_SESSION_MAIN
/* set by smtp-listen -f: the remote address and port, the local address
   and port, as the UCSPI environment would give them (no setenv per session) */
char const *smtp_session_ucspi[4] = { 0, 0, 0, 0 } ;
static char const *ucspi (unsigned int i, char const *name)
{
  return smtp_session_ucspi[0] ? smtp_session_ucspi[i] : ucspi_get(name) ;
}
#else
#define ucspi(i, name) ucspi_get(name)
#endif

/* Logs: one line per event, the session id first, untrusted bytes quoted. */
static void logv (char const *const *v, unsigned int n)
{
  unsigned int i = 0 ;
  logsa.len = 0 ;
  if (!stralloc_cats(&logsa, sid)) return ;
  for (; i < n ; i++)
    if (!stralloc_cats(&logsa, v[i])) return ;
  if (!stralloc_catb(&logsa, "\n", 1)) return ;
  /* one write, not through buffer_2: an idle forked session then never
     writes skalibs' initialised data, a page shared with smtp-listen */
  allwrite(2, logsa.s, logsa.len) ;
}
/* LOG(" event key=", value, ...): the pieces are concatenated after the session id */
#define LOG(...) logv((char const *const[]){ __VA_ARGS__ }, sizeof((char const *const[]){ __VA_ARGS__ }) / sizeof(char const *))

static char const *quote (stralloc *sa, char const *s, size_t len)
{
  sa->len = 0 ;
  if (!string_quote(sa, s, len) || !stralloc_0(sa)) return "\"?\"" ;
  return sa->s ;
}

static void set_deadline (unsigned int secs)
{
  tain_now_g() ;
  tain_addsec_g(&deadline, secs) ;
  if (tain_less(&session_deadline, &deadline)) deadline = session_deadline ;
}

static void forget (void) ;
static int net_write (char const *, size_t) ;
static void flush (void) ;

static void bye (int) gccattr_noreturn ;
/* Ends the session: sends the replies still queued, then exits, or,
   for a session process that serves another client, forgets this one. */
static void bye (int e)
{
  if (smtp_session_reuse && !e && !tls && !authtried && efd < 0 && esock < 0 && (*smtp_session_next)())
  {
    /* the listener counts us idle already: a client that does not read
       its last reply must not end the process the next client was given */
    if (outlen) net_write(outbuf, outlen) ;
    forget() ;
    siglongjmp(*smtp_session_reuse, 1) ;
  }
  flush() ;
  if (tls)
  {
    tain d ;
    tain_now_g() ;
    tain_addsec_g(&d, 2) ;
    tls_close(tls, &d) ;
  }
  _exit(e) ;
}

/* raw network I/O: TLS when started, else the nonblocking fds 0 and 1 */
static ssize_t net_read (char *buf, size_t len)
{
  if (tls) return tls_read(tls, buf, len, &deadline) ;
  for (;;)
  {
    iopause_fd x = { .fd = 0, .events = IOPAUSE_READ, .revents = 0 } ;
    ssize_t r = fd_read(0, buf, len) ;
    int e ;
    if (r >= 0) return r ;
    if (!error_isagain(errno)) return -1 ;
    e = iopause_g(&x, 1, &deadline) ;
    if (e < 0) return -1 ;
    if (!e) return (errno = ETIMEDOUT, -1) ;
  }
}

static int net_write (char const *s, size_t len)
{
  if (tls) return tls_write(tls, s, len, &deadline) ;
  while (len)
  {
    ssize_t r = fd_write(1, s, len) ;
    if (r < 0)
    {
      iopause_fd x = { .fd = 1, .events = IOPAUSE_WRITE, .revents = 0 } ;
      int e ;
      if (!error_isagain(errno)) return 0 ;
      e = iopause_g(&x, 1, &deadline) ;
      if (e < 0) return 0 ;
      if (!e) return (errno = ETIMEDOUT, 0) ;
      continue ;
    }
    s += r ; len -= r ;
  }
  return 1 ;
}

static void die_net (char const *what)
{
  int e = errno ;
  if (e == ETIMEDOUT)
  {
    static char const msg[] = "421 4.4.2 Timeout, closing connection\r\n" ;
    LOG(" disconnect reason=timeout") ;
    set_deadline(2) ;
    if (!tls) fd_write(1, msg, sizeof(msg) - 1) ;
    else tls_write(tls, msg, sizeof(msg) - 1, &deadline) ;
    _exit(0) ;
  }
  LOG(" disconnect reason=", what) ;
  _exit(0) ;
}

static void flush (void)
{
  if (!outlen) return ;
  if (!net_write(outbuf, outlen)) die_net("write-error") ;
  outlen = 0 ;
}

/* Queue one reply line (without CRLF); flushed before the next read. */
static void reply (char const *s)
{
  size_t n = strlen(s) ;
  if (n + 2 > OUTBUF) n = OUTBUF - 2 ;
  if (outlen + n + 2 > OUTBUF) flush() ;
  memcpy(outbuf + outlen, s, n) ; outlen += n ;
  outbuf[outlen++] = '\r' ; outbuf[outlen++] = '\n' ;
  if (s[0] == '5' || s[0] == '4') LOG(" reply text=", quote(&qsa, s, n)) ;
}

static void count_error (void)
{
  if (++errors >= cf.max_errors)
  {
    reply("421 4.7.0 Too many errors, closing connection") ;
    LOG(" disconnect reason=too-many-errors") ;
    bye(0) ;
  }
}

/* an error reply that counts towards max_errors */
static void reply_err (char const *s)
{
  reply(s) ;
  count_error() ;
}

/* Fills the input buffer: flushes pending replies first (RFC 2920 §3.1:
   the server may batch replies, but must send them before it blocks). */
static void fill (void)
{
  ssize_t r ;
  if (inpos)
  {
    memmove(inbuf, inbuf + inpos, inlen - inpos) ;
    inlen -= inpos ; inpos = 0 ;
  }
  flush() ;
  r = net_read(inbuf + inlen, INBUF - inlen) ;
  if (r < 0) die_net("read-error") ;
  if (!r) { LOG(" disconnect reason=eof") ; bye(0) ; }
  inlen += r ;
}

/* Reads one command line, CRLF removed, into *line (valid until the next
   read). Over-long lines are discarded whole and refused, never split
   (RFC 5321 §4.5.3.1.4). Returns 1 for a line, 0 for a refused line. */
static int getcmd (char **line, size_t *len)
{
  int toolong = 0 ;
  for (;;)
  {
    char *s = inbuf + inpos ;
    size_t n = inlen - inpos, i = 0 ;
    for (; i + 1 < n ; i++)
      if (s[i] == '\r' && s[i+1] == '\n') break ;
    if (i + 1 < n)
    {
      inpos += i + 2 ;
      if (toolong || i + 2 > SMTP_CMDLINE_MAX)
      {
        reply_err("500 5.5.2 Line too long") ;
        return 0 ;
      }
      *line = s ; *len = i ;
      return 1 ;
    }
    if (n >= SMTP_CMDLINE_MAX)
    {
      /* keep a final CR: it may start the CRLF that ends this line */
      toolong = 1 ;
      inpos += s[n-1] == '\r' ? n - 1 : n ;
    }
    fill() ;
  }
}

static void transaction_reset (void)
{
  intrans = 0 ; utf8 = 0 ;
  sender.len = 0 ; rcpts.len = 0 ;
  nrcpt = 0 ; nrcpt_tried = 0 ;
}

static int auth_offered (void)
{
  return (lflags & CONF_LISTEN_AUTH) && cf.auth_table && (tls || (lflags & CONF_LISTEN_PLAINAUTH)) ;
}

static int starttls_offered (void)
{
  return !tls && cf.cert && (lflags & CONF_LISTEN_STARTTLS) ;
}

/* a client-supplied name, sanitised for the Received header and logs */
static int helo_set (char const *s, size_t len)
{
  size_t i = 0 ;
  heloname.len = 0 ;
  if (!stralloc_catb(&heloname, s, len) || !stralloc_0(&heloname)) return 0 ;
  for (; i < len ; i++)
  {
    char c = heloname.s[i] ;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '[' || c == ']' || c == ':'))
      heloname.s[i] = '_' ;
  }
  return 1 ;
}

/* a reply made of pieces, e.g. a code and the host name, put together in
   outbuf itself: no line buffer on the stack (every stack page a session
   touches is a private page, W3 in t/bench/README.md) */
static void replyv (char const *a, char const *b, char const *c)
{
  char const *v[3] = { a, b, c } ;
  size_t n[3], total = 0, start, i = 0 ;
  for (; i < 3 ; i++) { n[i] = strlen(v[i]) ; total += n[i] ; }
  if (total + 2 > OUTBUF) { reply(a) ; return ; }
  if (outlen + total + 2 > OUTBUF) flush() ;
  start = outlen ;
  for (i = 0 ; i < 3 ; i++) { memcpy(outbuf + outlen, v[i], n[i]) ; outlen += n[i] ; }
  if (a[0] == '5' || a[0] == '4') LOG(" reply text=", quote(&qsa, outbuf + start, total)) ;
  outbuf[outlen++] = '\r' ; outbuf[outlen++] = '\n' ;
}
#define reply2(a, b) replyv(a, b, "")

static void do_helo (int verb, char const *arg, size_t len)
{
  char fmt[UINT64_FMT] ;
  while (len && arg[len-1] == ' ') len-- ;
  if (!len || memchr(arg, ' ', len))
  {
    reply_err(verb == SMTP_EHLO ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname") ;
    return ;
  }
  if (!helo_set(arg, len)) die_net("out-of-memory") ;
  transaction_reset() ;
  helo = verb == SMTP_EHLO ? 2 : 1 ;
  LOG(" helo name=", quote(&qsa, arg, len), verb == SMTP_EHLO ? " verb=EHLO" : " verb=HELO") ;
  if (verb == SMTP_HELO) { reply2("250 ", cf.sa.s + cf.hostname) ; return ; }
  reply2("250-", cf.sa.s + cf.hostname) ;
  reply("250-PIPELINING") ;
  fmt[uint64_fmt(fmt, cf.message_size)] = 0 ;
  reply2("250-SIZE ", fmt) ;
  reply("250-8BITMIME") ;
  reply("250-ENHANCEDSTATUSCODES") ;
  if (starttls_offered()) reply("250-STARTTLS") ;
  if (auth_offered() && !authuser.len) reply("250-AUTH PLAIN LOGIN") ;
  reply("250 SMTPUTF8") ;
}

static void do_mail (char const *arg, size_t len)
{
  size_t plen, pstart ;
  smtp_mailparams mp = SMTP_MAILPARAMS_ZERO ;
  address a = ADDRESS_ZERO ;
  int r ;
  if (!helo) { reply_err("503 5.5.1 Send HELO or EHLO first") ; return ; }
  if (intrans) { reply_err("503 5.5.1 Nested MAIL command") ; return ; }
  if ((lflags & CONF_LISTEN_TLSREQUIRED) && !tls) { reply_err("530 5.7.0 Must issue a STARTTLS command first") ; return ; }
  if ((lflags & CONF_LISTEN_AUTHREQUIRED) && !authuser.len) { reply_err("530 5.7.0 Authentication required") ; return ; }
  /* tolerate "MAIL FROM: <x>": common, and unambiguous */
  while (len && *arg == ' ') { arg++ ; len-- ; }
  if (!smtp_path_split(arg, len, &plen, &pstart)) { reply_err("501 5.5.4 Syntax: MAIL FROM:<address>") ; return ; }
  if (helo == 1 && pstart < len) { reply_err("555 5.5.4 Parameters need EHLO") ; return ; }
  r = smtp_mail_params(arg + pstart, len - pstart, &mp) ;
  if (r == SMTP_PARAM_UNKNOWN) { reply_err("555 5.5.4 Unsupported MAIL parameter") ; return ; }
  if (r) { reply_err("501 5.5.4 Bad MAIL parameter") ; return ; }
  r = address_parse(&a, arg, plen, ADDRESS_BRACKETS | ADDRESS_NULL_OK | (mp.smtputf8 ? ADDRESS_UTF8 : 0)) ;
  if (r)
  {
    LOG(" mail from=", quote(&qsa, arg, plen), " result=refused error=", quote(&qsa2, address_strerror(r), strlen(address_strerror(r)))) ;
    reply_err(r == ADDRESS_E8BIT ? "553 5.6.7 Non-ASCII address needs SMTPUTF8" : "553 5.1.7 Bad sender address syntax") ;
    return ;
  }
  /* RFC 1870 §6.2 */
  if (mp.size > cf.message_size) { reply_err("552 5.3.4 Message size exceeds fixed maximum message size") ; return ; }
  /* RFC 1870 §6.1: no room now for the declared size (or, without SIZE,
     for a small message): 452, and the client tries again later. Not an
     error of the client's: it does not count towards limit errors. */
  if (!queue_has_room(cf.sa.s + cf.spool, mp.size))
  {
    LOG(" mail result=deferred reason=spool-full") ;
    reply("452 4.3.1 Insufficient system storage") ;
    return ;
  }
  if (!stralloc_copyb(&sender, a.s, a.len) || !stralloc_0(&sender)) die_net("out-of-memory") ;
  intrans = 1 ;
  utf8 = mp.smtputf8 ;
  LOG(" mail from=", quote(&qsa, a.s, a.len)) ;
  reply("250 2.1.0 Ok") ;
}

static void do_rcpt (char const *arg, size_t len)
{
  size_t plen, pstart ;
  address a = ADDRESS_ZERO ;
  char const *rep ;
  int r ;
  if (!intrans) { reply_err("503 5.5.1 Need MAIL before RCPT") ; return ; }
  while (len && *arg == ' ') { arg++ ; len-- ; }
  if (!smtp_path_split(arg, len, &plen, &pstart)) { reply_err("501 5.5.4 Syntax: RCPT TO:<address>") ; return ; }
  r = smtp_rcpt_params(arg + pstart, len - pstart) ;
  if (r == SMTP_PARAM_UNKNOWN) { reply_err("555 5.5.4 Unsupported RCPT parameter") ; return ; }
  if (r) { reply_err("501 5.5.4 Bad RCPT parameter") ; return ; }
  nrcpt_tried++ ;
  /* RFC 5321 §4.5.3.1.8: 452 beyond our limit; the client retries the rest later */
  if (nrcpt >= cf.max_recipients) { reply("452 4.5.3 Too many recipients") ; return ; }
  r = address_parse(&a, arg, plen, ADDRESS_BRACKETS | ADDRESS_NODOMAIN_OK | (utf8 ? ADDRESS_UTF8 : 0)) ;
  if (r)
  {
    LOG(" rcpt to=", quote(&qsa, arg, plen), " result=refused error=", quote(&qsa2, address_strerror(r), strlen(address_strerror(r)))) ;
    reply_err(r == ADDRESS_E8BIT ? "553 5.6.7 Non-ASCII address needs SMTPUTF8" : "501 5.1.3 Bad recipient address syntax") ;
    return ;
  }
  if (a.at >= a.len)
  {
    /* bare "Postmaster" (RFC 5321 §4.5.1): ours */
    {
      char const *h = cf.sa.s + cf.hostname ;
      size_t hl = strlen(h) ;
      if (a.len + 1 + hl > ADDRESS_MAX) { reply_err("501 5.1.3 Bad recipient address syntax") ; return ; }
      a.at = a.len ;
      a.s[a.len++] = '@' ;
      memcpy(a.s + a.len, h, hl) ; a.len += hl ; a.s[a.len] = 0 ;
    }
  }
  r = policy_rcpt(&cf, haveip ? ip.ip : 0, haveip && ip46_is6(&ip), authuser.len || localsub, &a, &rep) ;
  LOG(" rcpt to=", quote(&qsa, a.s, a.len), " result=", r ? "ok" : "refused", " reply=", quote(&qsa2, rep, strlen(rep))) ;
  if (!r)
  {
    if (rep[0] == '4') reply(rep) ;
    else reply_err(rep) ;
    return ;
  }
  if (!stralloc_catb(&rcpts, a.s, a.len + 1)) die_net("out-of-memory") ;
  nrcpt++ ;
  reply(rep) ;
}

static void eflush (void)
{
  if (efd >= 0 && !efailed && elen && allwrite(efd, ebuf, elen) < elen) efailed = 1 ;
  elen = 0 ;
}

static void eput (char const *s, size_t n)
{
  esize += n ;
  if (ehops.state != MESSAGE_HOPS_BODY) message_hops_feed(&ehops, s, n) ;
  while (n)
  {
    size_t k = EBUF - elen ;
    if (k > n) k = n ;
    memcpy(ebuf + elen, s, k) ;
    elen += k ; s += k ; n -= k ;
    if (elen == EBUF) eflush() ;
  }
}

static void eput_cb (void *ctx, char const *s, size_t n)
{
  (void)ctx ;
  eput(s, n) ;
}

/* abort: enqueue sees EOF before the final dot and leaves nothing behind */
static void eabort (void)
{
  elen = 0 ;
  if (efd < 0) return ;
  /* a socket stays open for the status: only its writing side ends */
  if (esock >= 0) shutdown(efd, SHUT_WR) ;
  else fd_close(efd) ;
  efd = -1 ;
}

static int received_date (char *buf, size_t max)
{
  time_t t = time(0) ;
  struct tm tm ;
  if (!gmtime_r(&t, &tm)) return 0 ;
  /* RFC 5322 §3.3 date-time; the C locale gives English names */
  return strftime(buf, max, "%a, %d %b %Y %H:%M:%S +0000", &tm) > 0 ;
}

/* RFC 5321 §4.4 trace header, RFC 3848 protocol names */
static void received (char const *id)
{
  char date[64] ;
  char const *proto = helo == 1 ? "SMTP" : tls ? (authuser.len ? "ESMTPSA" : "ESMTPS") : (authuser.len ? "ESMTPA" : "ESMTP") ;
  stralloc *r = &qsa ;
  r->len = 0 ;
  if (!received_date(date, sizeof(date))) memcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", 32) ;
  if (!stralloc_cats(r, "Received: from ") || !stralloc_cats(r, heloname.s)
   || !stralloc_cats(r, haveip && ip46_is6(&ip) ? " ([IPv6:" : " ([") || !stralloc_cats(r, ipstr)
   || !stralloc_cats(r, "])\n\tby ") || !stralloc_cats(r, cf.sa.s + cf.hostname)
   || !stralloc_cats(r, " (ketch) with ") || !stralloc_cats(r, proto)) die_net("out-of-memory") ;
  if (tls && (!stralloc_cats(r, " (TLSv1.2 cipher=") || !stralloc_cats(r, tls_suite_name(tls_suite(tls))) || !stralloc_cats(r, ")"))) die_net("out-of-memory") ;
  if (!stralloc_cats(r, " id ") || !stralloc_cats(r, id)) die_net("out-of-memory") ;
  /* naming the recipient of a multi-recipient message would disclose the others */
  if (nrcpt == 1 && (!stralloc_cats(r, "\n\tfor <") || !stralloc_cats(r, rcpts.s) || !stralloc_cats(r, ">"))) die_net("out-of-memory") ;
  if (!stralloc_cats(r, ";\n\t") || !stralloc_cats(r, date) || !stralloc_cats(r, "\n")) die_net("out-of-memory") ;
  eput(r->s, r->len) ;
}

static int wait_enqueue (pid_t pid)
{
  int wstat ;
  if (esock >= 0)
  {
    int e = enqclient_status(esock, 0) ;
    esock = -1 ;
    return e ;
  }
  if (wait_pid(pid, &wstat) < 0) return 111 ;
  return WIFEXITED(wstat) ? WEXITSTATUS(wstat) : 111 ;
}

static void enqueue_status_reply (int e, char const *id)
{
  if (!e)
  {
    char fmt[UINT64_FMT], n[UINT_FMT] ;
    fmt[uint64_fmt(fmt, esize)] = 0 ;
    n[uint_fmt(n, nrcpt)] = 0 ;
    LOG(" accepted id=", id, " size=", fmt, " rcpts=", n) ;
    reply2("250 2.0.0 Ok: queued as ", id) ;
  }
  else if (e == 100)
  {
    LOG(" refused id=", id, " reason=enqueue-permanent") ;
    reply("554 5.6.0 Message refused") ;
  }
  else
  {
    /* 111, a crash, a full disk: always temporary, never 5xx */
    LOG(" refused id=", id, " reason=enqueue-temporary") ;
    reply("451 4.3.0 Temporary failure, please try again later") ;
  }
}

/*
 * The message's way into the queue, with the id enqueue gives first (for
 * the Received header): enqueue-listen's socket when the configuration
 * names one and a worker answers (no process is started, enqueue-listen(8)),
 * else enqueue -S spawned with pipes. efd is then where the message goes.
 * The pid of the spawned enqueue, 0 for the socket (esock), or -1: the
 * client has its reply, the transaction is over.
 */
static pid_t enqueue_start (char *id)
{
  stralloc prog = STRALLOC_ZERO ;
  char const **argv ;
  unsigned int i, n = 0 ;
  int fds[2] = { 0, 1 } ;   /* the child's stdin and stdout */
  int st = -1 ;
  pid_t pid ;
  tain d ;
  tain_now_g() ;
  tain_addsec_g(&d, cf.timeout_command) ;
  if (cf.enqueue_socket)
  {
    int fd = enqclient_connect(cf.sa.s + cf.enqueue_socket) ;
    if (fd >= 0 && enqclient_request(fd, sender.s, authuser.len ? authuser.s : 0, rcpts.s, rcpts.len)
     && enqclient_id(fd, id, &d, &st, 0))
    {
      efd = esock = fd ;
      return 0 ;
    }
    if (fd >= 0) fd_close(fd) ;
    if (st >= 0)
    {
      enqueue_status_reply(st == 100 ? 100 : 111, "none") ;
      transaction_reset() ;
      return -1 ;
    }
    /* none running, or its pool full: spawn enqueue, as without the socket */
  }
  argv = alloc((10 + nrcpt) * sizeof(char const *)) ;
  if (!argv || !conf_prog(&cf, "enqueue", &prog)) die_net("out-of-memory") ;
  argv[n++] = prog.s ;
  argv[n++] = "-C" ; argv[n++] = confpath ;
  argv[n++] = "-S" ;
  if (authuser.len) { argv[n++] = "-a" ; argv[n++] = authuser.s ; }
  argv[n++] = "-f" ; argv[n++] = sender.s ;
  /* "--": a recipient may start with '-' and must stay data */
  argv[n++] = "--" ;
  {
    size_t off = 0 ;
    for (i = 0 ; i < nrcpt ; i++) { argv[n++] = rcpts.s + off ; off += strlen(rcpts.s + off) + 1 ; }
  }
  argv[n] = 0 ;
  pid = child_spawn2(prog.s, argv, (char const *const *)environ, fds) ;
  if (!pid) strerr_warnwusys("spawn ", prog.s) ;
  alloc_free(argv) ;
  stralloc_free(&prog) ;
  if (!pid)
  {
    reply("451 4.3.0 Temporary failure, please try again later") ;
    transaction_reset() ;
    return -1 ;
  }
  if (!enqclient_id(fds[0], id, &d, &st, 0))
  {
    fd_close(fds[1]) ;
    fd_close(fds[0]) ;
    enqueue_status_reply(wait_enqueue(pid) == 100 ? 100 : 111, "none") ;
    transaction_reset() ;
    return -1 ;
  }
  fd_close(fds[0]) ;
  /* child_spawn2 gives nonblocking pipes; enqueue is a local, bounded writer */
  if (ndelay_off(fds[1]) < 0) { fd_close(fds[1]) ; wait_enqueue(pid) ; die_net("pipe-error") ; }
  efd = fds[1] ;
  return pid ;
}

static void do_data (char const *arg, size_t len)
{
  char id[QUEUE_ID_LEN + 1] = "none" ;
  smtp_data dm = SMTP_DATA_ZERO ;
  size_t progress = 0 ;
  pid_t pid ;
  if (len) { reply_err("501 5.5.4 Syntax: DATA") ; return ; }
  if (!intrans) { reply_err("503 5.5.1 Need MAIL before DATA") ; return ; }
  /* RFC 2920 §3.1: with every RCPT refused, DATA gets 554, not 354 */
  if (!nrcpt) { reply_err(nrcpt_tried ? "554 5.5.1 No valid recipients" : "503 5.5.1 Need RCPT before DATA") ; return ; }

  if (!ebuf && !(ebuf = alloc(EBUF))) die_net("out-of-memory") ;
  pid = enqueue_start(id) ;
  if (pid < 0) return ;
  efailed = 0 ; elen = 0 ; esize = 0 ;
  reply("354 End data with <CR><LF>.<CR><LF>") ;
  flush() ;
  ehops = (message_hops)MESSAGE_HOPS_ZERO ;
  received(id) ;
  /* the Received header counts towards the size, as enqueue counts it */
  dm.size = esize ;
  dm.max = cf.message_size ;

  set_deadline(cf.timeout_data) ;
  for (;;)
  {
    inpos += smtp_data_feed(&dm, inbuf + inpos, inlen - inpos, &eput_cb, 0) ;
    if (dm.done) break ;
    /* once refused, nothing more goes to enqueue: it aborts on EOF */
    if (dm.bad && efd >= 0) eabort() ;
    {
      ssize_t r ;
      inpos = inlen = 0 ;
      r = net_read(inbuf, INBUF) ;
      if (r < 0) { eabort() ; wait_enqueue(pid) ; die_net("read-error") ; }
      if (!r) { eabort() ; wait_enqueue(pid) ; LOG(" disconnect reason=eof-in-data") ; bye(0) ; }
      inlen = r ;
      progress += r ;
      /* real transfers move the deadline on; a slow drip does not */
      if (progress >= DATA_PROGRESS) { progress = 0 ; set_deadline(cf.timeout_data) ; }
    }
  }
  if (dm.bad)
  {
    unsigned int bad = dm.bad ;
    eabort() ;
    wait_enqueue(pid) ;
    LOG(" refused id=", id, " reason=", bad & SMTP_DATA_BARE ? "bare-cr-lf" : bad & SMTP_DATA_NUL ? "nul" : bad & SMTP_DATA_LONG ? "line-too-long" : "size") ;
    if (bad & SMTP_DATA_BARE) reply_err("550 5.6.11 bare CR or LF in message (RFC 5321 §2.3.8)") ;
    else if (bad & SMTP_DATA_NUL) reply_err("554 5.6.0 NUL octet in message") ;
    else if (bad & SMTP_DATA_LONG) reply_err("554 5.6.0 Message line longer than 998 octets (RFC 5322 §2.1.1)") ;
    else reply_err("552 5.3.4 Message size exceeds fixed maximum message size") ;
  }
  else if (ehops.count > cf.max_hops)
  {
    /* RFC 5321 §6.3: a loop, refused with RFC 3463's 5.4.6 (routing loop detected) */
    eabort() ;
    wait_enqueue(pid) ;
    LOG(" refused id=", id, " reason=too-many-hops") ;
    reply_err("554 5.4.6 too many hops: a mail loop") ;
  }
  else
  {
    int e ;
    eflush() ;
    if (esock < 0) fd_close(efd) ;
    efd = -1 ;
    e = wait_enqueue(pid) ;
    if (efailed && !e) e = 111 ;
    esize = dm.size ;
    enqueue_status_reply(e, id) ;
  }
  transaction_reset() ;
}

/* AUTH PLAIN (RFC 4616) and LOGIN, RFC 4954 */

/* reads one base64 response line; 1 ok, 0 cancelled or bad (reply sent) */
static int auth_response (char *out, size_t max, size_t *olen)
{
  char *line ;
  size_t len ;
  set_deadline(cf.timeout_command) ;
  if (!getcmd(&line, &len)) return 0 ;
  if (len == 1 && line[0] == '*') { reply_err("501 5.0.0 Authentication cancelled") ; return 0 ; }
  if (len == 1 && line[0] == '=') { *olen = 0 ; return 1 ; }
  if (!smtp_b64_decode(line, len, out, max, olen)) { reply_err("501 5.5.2 Cannot decode response") ; return 0 ; }
  return 1 ;
}

static int auth_name_ok (char const *s, size_t len)
{
  size_t i = 0 ;
  if (!len || len > 255) return 0 ;
  for (; i < len ; i++) if ((unsigned char)s[i] < 32 || s[i] == 127 || s[i] == ':') return 0 ;
  return 1 ;
}

/* a channel to smtp-keyd: 1, or 0 (errno) */
static int keyd_channel (void)
{
  if (keych < 0) keych = keyd_open(door, &deadline) ;
  return keych >= 0 ;
}

/* 1 right, 0 wrong, -1 error (warned); the table is smtp-keyd's, or ours without -K */
static int auth_ask (char const *user, size_t ulen, char const *pass, size_t plen)
{
  char req[KEYD_REQ_MAX], rep[KEYD_REP_MAX] ;
  size_t n ;
  ssize_t r ;
  if (door < 0)
  {
    r = authtable_check(cf.sa.s + cf.auth_table, user, ulen, pass, plen) ;
    if (r < 0) strerr_warnwu("read ", cf.sa.s + cf.auth_table) ;
    return r ;
  }
  n = keyd_auth_fmt(req, user, ulen, pass, plen) ;
  if (!n) return 0 ;
  set_deadline(cf.timeout_command) ;
  r = keyd_channel() ? keyd_call(keych, req, n, rep, &deadline) : -1 ;
  byte_zzero(req, n) ;
  if (r == 1 && (rep[0] == KEYD_OK || rep[0] == KEYD_NO)) return rep[0] == KEYD_OK ;
  if (r < 0) strerr_warnwusys("ask smtp-keyd") ;
  else strerr_warnw("smtp-keyd could not check a password") ;
  return -1 ;
}

static void auth_check (char const *user, size_t ulen, char const *pass, size_t plen)
{
  int r = auth_name_ok(user, ulen) ? auth_ask(user, ulen, pass, plen) : 0 ;
  if (r > 0)
  {
    if (!stralloc_copyb(&authuser, user, ulen) || !stralloc_0(&authuser)) die_net("out-of-memory") ;
    authuser.len-- ;
    LOG(" auth user=", quote(&qsa, user, ulen), " result=ok") ;
    reply("235 2.7.0 Authentication successful") ;
    return ;
  }
  if (r < 0)
  {
    reply("454 4.7.0 Temporary authentication failure") ;
    return ;
  }
  LOG(" auth user=", quote(&qsa, user, ulen), " result=failed") ;
  /* a bounded delay slows guessing without tying up the session for long */
  flush() ;
  {
    tain d ;
    tain_now_g() ;
    tain_addsec_g(&d, 1) ;
    iopause_g(0, 0, &d) ;
  }
  if (++authfailures >= AUTH_FAILURES_MAX)
  {
    reply("535 5.7.8 Authentication credentials invalid") ;
    reply("421 4.7.0 Too many authentication failures, closing connection") ;
    LOG(" disconnect reason=auth-failures") ;
    bye(0) ;
  }
  reply_err("535 5.7.8 Authentication credentials invalid") ;
}

/* AUTH's buffers stay out of main's frame, which every idle session touches */
#ifdef __GNUC__
__attribute__((noinline))
#endif
static void do_auth (char const *arg, size_t len)
{
  char buf[SMTP_CMDLINE_MAX] ;
  size_t mlen = 0, blen ;
  if (!auth_offered()) { reply_err("503 5.5.1 AUTH not available") ; return ; }
  authtried = 1 ;
  if (authuser.len) { reply_err("503 5.5.1 Already authenticated") ; return ; }
  if (intrans) { reply_err("503 5.5.1 AUTH not permitted during a mail transaction") ; return ; }
  while (mlen < len && arg[mlen] != ' ') mlen++ ;
  if (mlen == 5 && case_startb(arg, 5, "PLAIN"))
  {
    size_t i, u ;
    if (mlen < len)
    {
      char const *ir = arg + mlen + 1 ;
      size_t irlen = len - mlen - 1 ;
      if (irlen == 1 && ir[0] == '=') blen = 0 ;
      else if (!smtp_b64_decode(ir, irlen, buf, sizeof(buf), &blen)) { reply_err("501 5.5.2 Cannot decode response") ; return ; }
    }
    else
    {
      reply("334 ") ;
      if (!auth_response(buf, sizeof(buf), &blen)) return ;
    }
    /* authzid NUL authcid NUL passwd; an authzid must be empty or the authcid */
    for (i = 0 ; i < blen && buf[i] ; i++) ;
    if (i >= blen) { reply_err("501 5.5.2 Bad PLAIN response") ; return ; }
    u = i + 1 ;
    for (i = u ; i < blen && buf[i] ; i++) ;
    if (i >= blen) { reply_err("501 5.5.2 Bad PLAIN response") ; return ; }
    if (u > 1 && (u - 1 != i - u || memcmp(buf, buf + u, i - u))) { reply_err("535 5.7.8 Authorization identity not permitted") ; return ; }
    auth_check(buf + u, i - u, buf + i + 1, blen - i - 1) ;
    byte_zzero(buf, sizeof(buf)) ;
    return ;
  }
  if (mlen == 5 && case_startb(arg, 5, "LOGIN"))
  {
    char pass[SMTP_CMDLINE_MAX] ;
    size_t plen ;
    if (mlen < len)
    {
      if (!smtp_b64_decode(arg + mlen + 1, len - mlen - 1, buf, sizeof(buf), &blen)) { reply_err("501 5.5.2 Cannot decode response") ; return ; }
    }
    else
    {
      reply("334 VXNlcm5hbWU6") ;
      if (!auth_response(buf, sizeof(buf), &blen)) return ;
    }
    reply("334 UGFzc3dvcmQ6") ;
    if (!auth_response(pass, sizeof(pass), &plen)) return ;
    auth_check(buf, blen, pass, plen) ;
    byte_zzero(pass, sizeof(pass)) ;
    return ;
  }
  reply_err("504 5.5.4 Unrecognized authentication type") ;
}

static int tls_start (void)
{
  tls_server *t ;
  set_deadline(cf.timeout_command) ;
  if (door >= 0 && !keyd_channel())
  {
    strerr_warnwusys("reach smtp-keyd") ;
    return 0 ;
  }
  t = tls_server_new(cf.sa.s + cf.cert, cf.sa.s + cf.key, keych, 0, 1, &deadline) ;
  if (!t)
  {
    if (door >= 0) strerr_warnwusys("load certificate ", cf.sa.s + cf.cert, " with smtp-keyd's key") ;
    else strerr_warnwusys("load certificate ", cf.sa.s + cf.cert, " and key ", cf.sa.s + cf.key) ;
    return 0 ;
  }
  tls = t ;
  return 1 ;
}

static void tls_go (void)
{
  set_deadline(cf.timeout_command) ;
  if (!tls_handshake(tls, &deadline))
  {
    int e = tls_last_error(tls) ;
    char fmt[INT_FMT] ;
    fmt[int_fmt(fmt, e)] = 0 ;
    LOG(" disconnect reason=tls-handshake error=", fmt, " text=\"", e ? tls_error_str(e) : strerror(errno), "\"") ;
    _exit(0) ;
  }
  LOG(" tls version=TLSv1.2 cipher=", tls_suite_name(tls_suite(tls))) ;
}

static void do_starttls (size_t len)
{
  if (!starttls_offered()) { reply_err(tls ? "503 5.5.1 TLS already active" : "502 5.5.1 STARTTLS not available") ; return ; }
  if (len) { reply_err("501 5.5.4 Syntax: STARTTLS") ; return ; }
  if (!tls_start()) { reply("454 4.7.0 TLS not available due to temporary reason") ; return ; }
  reply("220 2.0.0 Ready to start TLS") ;
  {
    tls_server *t = tls ;
    tls = 0 ;
    flush() ;
    tls = t ;
  }
  /* RFC 3207 §4.2 and the 2011 injection class: whatever the client
     pipelined after STARTTLS is discarded, never read inside TLS */
  if (inlen > inpos)
  {
    char fmt[SIZE_FMT] ;
    fmt[size_fmt(fmt, inlen - inpos)] = 0 ;
    LOG(" starttls discarded=", fmt) ;
  }
  inpos = inlen = 0 ;
  tls_go() ;
  /* RFC 3207 §4.2: forget everything learned before TLS */
  helo = 0 ;
  transaction_reset() ;
  authuser.len = 0 ;
}

static unsigned int listener_flags (void)
{
  char const *lip = ucspi(2, "LOCALIP") ;
  char const *lport = ucspi(3, "LOCALPORT") ;
  ip46 a ;
  uint16_t port = 0 ;
  size_t n = genalloc_len(conf_listen, &cf.listen), i = 0 ;
  conf_listen const *l = genalloc_s(conf_listen, &cf.listen) ;
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
    return l[i].flags ;
  }
  /* not one of our listeners (tcpserver): offer STARTTLS when we can */
  return cf.cert ? CONF_LISTEN_STARTTLS : 0 ;
}

static void wipe (stralloc *sa)
{
  if (sa->s) byte_zzero(sa->s, sa->a) ;
  sa->len = 0 ;
}

/*
 * Before a session process serves its next client (smtp_session_reuse):
 * every file-scope variable above back to its initial value, and what
 * this client sent or was sent wiped from the buffers. main() sets the
 * rest (sid, the address, the listener's flags, the deadlines) again.
 */
static void forget (void)
{
  haveip = 0 ; localsub = 0 ; lflags = 0 ;
  byte_zzero(ipstr, sizeof(ipstr)) ;
  byte_zzero((char *)&ip, sizeof(ip)) ;
  byte_zzero(inbuf, sizeof(inbuf)) ; inpos = inlen = 0 ;
  byte_zzero(outbuf, sizeof(outbuf)) ; outlen = 0 ;
  helo = 0 ; transaction_reset() ;
  errors = 0 ; authfailures = 0 ; authtried = 0 ;
  wipe(&heloname) ; wipe(&sender) ; wipe(&rcpts) ; wipe(&authuser) ;
  wipe(&logsa) ; wipe(&qsa) ; wipe(&qsa2) ;
  if (ebuf) byte_zzero(ebuf, EBUF) ;
  elen = 0 ; efailed = 0 ; esize = 0 ;
}

#ifdef KETCH_SESSION_MAIN
/*
 * Linked into smtp-listen, which calls it in a forked child (smtp-listen -f)
 * and hands over the configuration it loaded (and reloads on SIGHUP): the
 * child then parses nothing, and its pages stay shared with the listener's.
 */
#define main KETCH_SESSION_MAIN
int main (int, char const *const *) ;
conf const *smtp_session_conf = 0 ;
#else
static conf const *const smtp_session_conf = 0 ;
#endif

int main (int argc, char const *const *argv)
{
  stralloc err = STRALLOC_ZERO ;
  char const *conffile = 0 ;
  char const *localuser = 0 ;
  PROG = "smtp-session" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:L:K:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'L' : localuser = l.arg ; break ;
        case 'K' :
        {
          unsigned int u ;
          if (!uint0_scan(l.arg, &u) || u < 3 || u > 65535) dieusage() ;
          door = (int)u ;
          break ;
        }
        default : dieusage() ;
      }
    }
  }
  /* the door is for us, not for enqueue */
  if (door >= 0 && coe(door) < 0) strerr_diefusys(KETCH_EX_TEMP, "set close-on-exec on the door") ;
  tain_now_set_stopwatch_g() ;
  queue_id_make(sid) ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  /* a parent that ignores SIGCHLD (swaks --pipe does) would make enqueue
     auto-reaped: its exit status, which decides our reply, would be lost */
  if (!sig_restore(SIGCHLD)) strerr_diefusys(KETCH_EX_TEMP, "restore SIGCHLD") ;
  confpath = conf_path(conffile) ;
  if (smtp_session_conf) cf = *smtp_session_conf ;
  else if (!conf_load(&cf, confpath, &err))
  {
    static char const msg[] = "421 4.3.0 Service temporarily unavailable\r\n" ;
    fd_write(1, msg, sizeof(msg) - 1) ;
    if (errno == EINVAL) strerr_dief(KETCH_EX_TEMP, err.s) ;
    strerr_diefusys(KETCH_EX_TEMP, "load the configuration ", confpath) ;
  }
  stralloc_free(&err) ;
  tain_now_g() ;
  tain_addsec_g(&session_deadline, cf.timeout_session) ;
  ndelay_on(0) ;
  ndelay_on(1) ;
  {
    char const *rip = ucspi(0, "REMOTEIP") ;
    char const *rport = ucspi(1, "REMOTEPORT") ;
    uint16_t port = 0 ;
    char pfmt[UINT16_FMT] ;
    /* an IPv4 client of an IPv6 socket (::ffff:a.b.c.d) is an IPv4 client for relay-from */
    if (rip && case_startb(rip, strlen(rip), "::ffff:") && strchr(rip + 7, '.')) rip += 7 ;
    if (rip && ip46_scan(rip, &ip) == strlen(rip))
    {
      haveip = 1 ;
      ipstr[ip46_fmt(ipstr, &ip)] = 0 ;
    }
    else memcpy(ipstr, "unknown", 8) ;
    if (rport && uint160_scan(rport, &port) != strlen(rport)) port = 0 ;
    /*
     * A local submission (sendmail -bs) is said on the command line, which
     * only the program that runs us writes: the UCSPI environment is partly
     * the client's (TCPREMOTEINFO comes from its ident server). The local
     * user can run enqueue directly anyway, so it may relay.
     */
    if (localuser) localsub = 2 ;
    /* tcpserver -x rules (qmail's convention): the operator marks relay clients */
    else if (getenv("RELAYCLIENT")) localsub = 1 ;
    pfmt[uint16_fmt(pfmt, port)] = 0 ;
    if (localsub == 2) LOG(" connect local-user=", quote(&qsa, localuser, strlen(localuser))) ;
    else LOG(" connect ip=", ipstr, " port=", pfmt, localsub ? " relayclient=1" : "") ;
  }
  lflags = listener_flags() ;
  if (lflags & CONF_LISTEN_SMTPS)
  {
    if (!tls_start()) { LOG(" disconnect reason=tls-unavailable") ; return 0 ; }
    tls_go() ;
  }
  replyv("220 ", cf.sa.s + cf.hostname, " ESMTP ketch") ;

  for (;;)
  {
    char *line ;
    size_t len, a ;
    int verb ;
    set_deadline(cf.timeout_command) ;
    if (!getcmd(&line, &len)) continue ;
    switch (smtp_line_check(line, len))
    {
      case SMTP_LINE_OK : break ;
      case SMTP_LINE_NUL : reply_err("500 5.5.2 NUL octet in command") ; continue ;
      default : reply_err("500 5.5.2 Bare CR or LF in command (RFC 5321 §2.3.8)") ; continue ;
    }
    verb = smtp_verb(line, len, &a) ;
    switch (verb)
    {
      case SMTP_HELO :
      case SMTP_EHLO : do_helo(verb, line + a, len - a) ; break ;
      case SMTP_MAIL : do_mail(line + a, len - a) ; break ;
      case SMTP_RCPT : do_rcpt(line + a, len - a) ; break ;
      case SMTP_DATA : do_data(line + a, len - a) ; break ;
      case SMTP_RSET :
        if (len > a) { reply_err("501 5.5.4 Syntax: RSET") ; break ; }
        transaction_reset() ; reply("250 2.0.0 Ok") ; break ;
      case SMTP_NOOP : reply("250 2.0.0 Ok") ; break ;
      case SMTP_QUIT :
        reply("221 2.0.0 Bye") ;
        LOG(" disconnect reason=quit") ;
        bye(0) ;
      case SMTP_VRFY : reply("252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery") ; break ;
      case SMTP_EXPN : reply_err("502 5.5.1 EXPN not available") ; break ;
      case SMTP_HELP : reply("214 2.0.0 See RFC 5321; commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH") ; break ;
      case SMTP_STARTTLS : do_starttls(len - a) ; break ;
      case SMTP_AUTH : do_auth(line + a, len - a) ; break ;
      default : reply_err("500 5.5.1 Command unrecognized") ; break ;
    }
  }
}
