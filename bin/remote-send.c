/* ISC license: see LICENSE. */

/*
 * remote-send -b domain: deliver the queued messages the scheduler
 * writes on fd 0 (jobs, lib/report), all for one destination domain,
 * over SMTP (RFC 5321), one transaction each on as few connections as
 * it takes, and report per job and recipient on fd 1:
 *   <job> ok|temp|perm <index> <text>\n
 * then exit 0 once fd 0 is closed. Spawned by the scheduler; see
 * remote-send(8).
 *
 * The route: a configured route or smarthost, else the domain's MX records
 * (RFC 5321 §5.1; null MX per RFC 7505), else its own addresses. Hosts are
 * tried in order until one takes the transaction; a connection failure or
 * a 4xx/5xx before MAIL moves on to the next address.
 */

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <skalibs/types.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/buffer.h>
#include <skalibs/alloc.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/ip46.h>
#include <skalibs/sig.h>
#include <skalibs/skamisc.h>
#include <skalibs/socket.h>
#include <skalibs/tai.h>

#include "exitcodes.h"
#include "conf.h"
#include "queue.h"
#include "dns.h"
#include "log.h"
#include "report.h"
#include "route.h"
#include "smtpauth.h"
#include "smtpdata.h"
#include "smtpreply.h"
#include "tlsclient.h"
#include "tlsname.h"

#define USAGE "remote-send [ -C conf ] -b domain"
#define dieusage() strerr_dieusage(KETCH_EX_PERM, USAGE)

#define LINE_MAX_REPLY 4096     /* RFC 5321 §4.5.3.1.5 says 512; be lenient, but bounded */
#define ADDR_TRIES_MAX 20       /* addresses tried per run, all MX hosts together */
#define TIMEOUT_DATA_END 600    /* §4.5.3.2.6: 10 minutes for the reply to the final dot */
#define CHUNK (64 * 1024)
#define STREAM_IDLE_MAX 300     /* -b: idle between jobs at most this long (§4.5.3.2.7: servers wait 5 minutes); the scheduler ends it sooner */
#define INPUT_MAX (1024 * 1024) /* -b: unparsed job octets held at most */

enum { RS_PENDING = 0, RS_ACCEPTED, RS_OK, RS_TEMP, RS_PERM } ;

typedef struct result_s result ;
struct result_s
{
  int status ;
  size_t text ;   /* offset in texts, NUL-terminated */
} ;

static conf cf ;
static char const *logid = "-" ;
static char const *domain ;
static char const *sender ;
static char const *const *rcpts ;
static unsigned int nrcpt ;
static unsigned int *todo ;                /* indices of the recipients of the current transaction */
static unsigned int ntodo ;
static genalloc results = GENALLOC_ZERO ;  /* result */
static stralloc texts = STRALLOC_ZERO ;
static stralloc wire = STRALLOC_ZERO ;     /* the body as sent: CRLF, dot-stuffed, with the final dot */
static uint64_t msgsize = 0 ;              /* RFC 1870 §3: CRLF counted, the final dot and stuffed dots not */
static int body8bit = 0 ;                 /* the body has octets above 127 */
static int smtputf8 = 0 ;
static tain overall ;                      /* the current job ends by then (timeout delivery) */

/* the jobs of this run, read on fd 0 */
typedef struct rjob_s rjob ;
struct rjob_s
{
  char const *id ;
  size_t hdrlen ;
  int eightbit ;
  int utf8 ;
  char const *sender ;
  size_t rcpt0 ;          /* its recipients: fields from this one */
  unsigned int nrcpt ;
} ;
static stralloc input = STRALLOC_ZERO ;    /* the batch as read: the fields point into it */
static size_t parsed = 0 ;                 /* input: whole jobs up to here */
static int input_eof = 0 ;
static unsigned int jobbase = 0 ;          /* -b: jobs of the stream before the current ones (reports count from the first) */
static genalloc jobs = GENALLOC_ZERO ;     /* rjob */
static genalloc fields = GENALLOC_ZERO ;   /* char const *: every job's recipients */
static unsigned int njobs = 0, curjob = 0 ;
static int txopen = 0 ;                    /* a transaction was left midway on this connection: RSET first */
static unsigned int ntx = 0 ;              /* transactions begun on this connection */

static void job_next (void) ;
static void job_advance (void) ;
static int jobs_wait (int) ;

/* the connection */
static int cfd = -1 ;
static tlsclient tls ;
static int tlson = 0 ;
static tain deadline ;
static char inbuf[4096] ;
static size_t inpos = 0, inlen = 0 ;
static stralloc out = STRALLOC_ZERO ;
static stralloc line = STRALLOC_ZERO ;
static smtpreply reply = SMTPREPLY_ZERO ;
static char const *curhost = "" ;
static char curip[IP46_FMT] = "" ;

/* the last reason a host failed, for the recipients if no host takes the mail */
static stralloc lasterr = STRALLOC_ZERO ;
static int allperm = 1 ;

#define nomem() strerr_diefu(KETCH_EX_TEMP, "allocate memory")

/*
 * Logging through lib/log, as the scheduler does: one line per event, the
 * queue id first, untrusted values quoted, one write per line (so that a
 * line is never mixed with the scheduler's on their common pipe). The
 * result of each recipient is the scheduler's line, from our report: we
 * log what it cannot see, the hosts and sessions.
 */
static void logv (char const *const *v)
{
  static stralloc sa = STRALLOC_ZERO ;
  sa.len = 0 ;
  if (log_line(&sa, logid, v)) allwrite(2, sa.s, sa.len) ;
}
#define LOG(...) logv((char const *const []){ __VA_ARGS__, 0 })
/* the fields naming the current host, for LOG's arguments */
#define HOST *curhost ? "host=" : "", *curhost ? log_quote(curhost) : "", *curip ? "ip=" : "", curip

/* results */

static result *res (unsigned int i)
{
  return genalloc_s(result, &results) + i ;
}

/* report text: every octet < 32 or 127 becomes a space (remote-send(8), REPORT) */
static size_t text_add (char const *s, size_t len)
{
  size_t off = texts.len, i = 0 ;
  if (len > 1000) len = 1000 ;
  if (!stralloc_catb(&texts, s, len) || !stralloc_0(&texts)) nomem() ;
  for (; i < len ; i++)
  {
    unsigned char c = texts.s[off + i] ;
    if (c < 32 || c == 127) texts.s[off + i] = ' ' ;
  }
  return off ;
}

static void set_result (unsigned int i, int status, char const *s, size_t len)
{
  result *r = res(i) ;
  r->status = status ;
  r->text = text_add(s, len) ;
}

/* every recipient still without a final result gets this one */
static void set_all (int status, char const *s, size_t len, int which)
{
  unsigned int i = 0 ;
  for (; i < nrcpt ; i++) if (res(i)->status == which) set_result(i, status, s, len) ;
}

static void set_all_reply (int which)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!smtpreply_oneline(&reply, &sa)) nomem() ;
  set_all(smtpreply_class(&reply) == 2 ? RS_OK : smtpreply_class(&reply) == 5 ? RS_PERM : RS_TEMP, sa.s, sa.len, which) ;
  stralloc_free(&sa) ;
}

static void fail_host (int perm, char const *what, char const *why)
{
  lasterr.len = 0 ;
  if (*curhost)
  {
    if (!stralloc_cats(&lasterr, curhost)) nomem() ;
    if (*curip && (!stralloc_catb(&lasterr, "[", 1) || !stralloc_cats(&lasterr, curip) || !stralloc_catb(&lasterr, "]", 1))) nomem() ;
    if (!stralloc_catb(&lasterr, ": ", 2)) nomem() ;
  }
  if (!stralloc_cats(&lasterr, what) || (why && (!stralloc_cats(&lasterr, ": ") || !stralloc_cats(&lasterr, why)))) nomem() ;
  if (!perm) allperm = 0 ;
  if (!stralloc_0(&lasterr)) nomem() ;
  lasterr.len-- ;
  LOG("host-failed", HOST, "reason=", log_quote(lasterr.s)) ;
}

/* CONF_TLS_* */
static char const *const tls_policy_names[] = { "opportunistic", "required", "verify", "none" } ;

/*
 * Under "tls required" and "verify" no TLS means no mail to this host:
 * a temporary failure of the host, never a retry in plaintext (RFC 3207
 * §4.1 leaves the choice to the client; the policy made it).
 */
static void tls_refused (char const *what, char const *why, unsigned int tlspolicy)
{
  stralloc sa = STRALLOC_ZERO ;
  if ((why && (!stralloc_cats(&sa, why) || !stralloc_catb(&sa, "; ", 2)))
   || !stralloc_cats(&sa, "tls ") || !stralloc_cats(&sa, tls_policy_names[tlspolicy])
   || !stralloc_cats(&sa, ": never in plaintext") || !stralloc_0(&sa)) nomem() ;
  fail_host(0, what, sa.s) ;
  stralloc_free(&sa) ;
}

/* a host failed with an SMTP reply; its text is the reason */
static void fail_host_reply (char const *stage)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!stralloc_cats(&sa, stage) || !stralloc_cats(&sa, ": ") || !smtpreply_oneline(&reply, &sa) || !stralloc_0(&sa)) nomem() ;
  fail_host(smtpreply_class(&reply) == 5, sa.s, 0) ;
  stralloc_free(&sa) ;
}

/* the report protocol (lib/report): one line per recipient of the current job, in order; flushed, so the scheduler sees each job's */
static void report (void)
{
  stralloc sa = STRALLOC_ZERO ;
  unsigned int i = 0 ;
  for (; i < nrcpt ; i++)
  {
    result const *r = res(i) ;
    char const *t = texts.s + r->text ;
    unsigned int kind = r->status == RS_OK ? KETCH_RESULT_OK : r->status == RS_PERM ? KETCH_RESULT_PERM : KETCH_RESULT_TEMP ;
    sa.len = 0 ;
    if (!report_put_job(&sa, jobbase + curjob, kind, i, t, strlen(t))) nomem() ;
    if (buffer_put(buffer_1, sa.s, sa.len) < 0) strerr_diefusys(KETCH_EX_TEMP, "write report") ;
  }
  if (!buffer_flush(buffer_1)) strerr_diefusys(KETCH_EX_TEMP, "write report") ;
  stralloc_free(&sa) ;
}

/* the message: LF lines from fd to the SMTP wire form (RFC 5321 §4.5.2) */

/* the body of a queue entry, after its envelope head of hdrlen octets: mapped rather than copied (the entry is immutable). 1, or 0 and errno */
static int read_body (int fd, size_t hdrlen)
{
  struct stat st ;
  void *p ;
  if (fstat(fd, &st) < 0) return 0 ;
  if (hdrlen > (uint64_t)st.st_size) return (errno = EINVAL, 0) ;
  if (!st.st_size) p = 0 ;
  else if ((p = mmap(0, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) return 0 ;
  if (!smtpdata_encode(p ? (char const *)p + hdrlen : "", st.st_size - hdrlen, &wire, &msgsize, &body8bit)) nomem() ;
  if (p) munmap(p, st.st_size) ;
  return 1 ;
}

/* connection I/O, bounded by deadline */

static void set_deadline (unsigned int secs)
{
  tain_now_g() ;
  tain_addsec_g(&deadline, secs) ;
  if (tain_less(&overall, &deadline)) deadline = overall ;
}

static int wait_fd (int events)
{
  iopause_fd x = { .fd = cfd, .events = events, .revents = 0 } ;
  int r = iopause_g(&x, 1, &deadline) ;
  if (r < 0) return 0 ;
  if (!r) return (errno = ETIMEDOUT, 0) ;
  return 1 ;
}

static int net_write (char const *s, size_t len)
{
  if (tlson) return tlsclient_write(&tls, s, len) ;
  while (len)
  {
    ssize_t w = fd_write(cfd, s, len) ;
    if (w > 0) { s += w ; len -= w ; continue ; }
    if (w < 0 && !error_isagain(errno)) return 0 ;
    if (!wait_fd(IOPAUSE_WRITE)) return 0 ;
  }
  return 1 ;
}

/* sends what is in out: one write for a pipelined group (RFC 2920 §3.1) */
static int out_flush (void)
{
  if (!net_write(out.s, out.len)) return 0 ;
  if (tlson && !tlsclient_flush(&tls)) return 0 ;
  out.len = 0 ;
  return 1 ;
}

static int out_cmd (char const *a, char const *b, char const *c)
{
  if (!stralloc_cats(&out, a)) return 0 ;
  if (b && !stralloc_cats(&out, b)) return 0 ;
  if (c && !stralloc_cats(&out, c)) return 0 ;
  return stralloc_catb(&out, "\r\n", 2) ;
}

static ssize_t net_read (char *s, size_t len)
{
  if (tlson) return tlsclient_read(&tls, s, len) ;
  for (;;)
  {
    ssize_t r = fd_read(cfd, s, len) ;
    if (r >= 0) return r ;
    if (!error_isagain(errno)) return -1 ;
    if (!wait_fd(IOPAUSE_READ)) return -1 ;
  }
}

static int get_line (void)
{
  line.len = 0 ;
  for (;;)
  {
    if (inpos < inlen)
    {
      size_t n = byte_chr(inbuf + inpos, inlen - inpos, '\n') ;
      int eol = n < inlen - inpos ;
      if (line.len + n > LINE_MAX_REPLY) return (errno = EPROTO, 0) ;
      if (!stralloc_catb(&line, inbuf + inpos, n)) return 0 ;
      inpos += n + eol ;
      if (eol)
      {
        if (line.len && line.s[line.len-1] == '\r') line.len-- ;
        return 1 ;
      }
    }
    {
      ssize_t r = net_read(inbuf, sizeof(inbuf)) ;
      if (r <= 0) { if (!r) errno = EPIPE ; return 0 ; }
      inpos = 0 ; inlen = r ;
    }
  }
}

/* reads one whole reply; 1, or 0 (errno) when the connection is unusable */
static int get_reply (unsigned int secs)
{
  set_deadline(secs) ;
  smtpreply_reset(&reply) ;
  for (;;)
  {
    int r ;
    if (!get_line()) return 0 ;
    r = smtpreply_line(&reply, line.s, line.len) ;
    if (r < 0) return 0 ;
    if (r) return 1 ;
  }
}

static int command (char const *a, char const *b, unsigned int secs)
{
  set_deadline(secs) ;
  if (!out_cmd(a, b, 0) || !out_flush()) return 0 ;
  return get_reply(secs) ;
}

static void net_close (void)
{
  if (cfd >= 0) fd_close(cfd) ;
  cfd = -1 ;
  tlson = 0 ;
  inpos = inlen = 0 ;
  out.len = 0 ;
}

/* polite end: QUIT, a short wait for its reply, close */
static void quit (void)
{
  if (cfd < 0) return ;
  set_deadline(10) ;
  out.len = 0 ;
  if (out_cmd("QUIT", 0, 0) && out_flush()) get_reply(10) ;
  net_close() ;
}

static char const *io_error (void)
{
  if (tlson && tlsclient_error(&tls) && tlsclient_error(&tls) != BR_ERR_IO) return tlsname_error(tlsclient_error(&tls)) ;
  if (errno == EPIPE) return "connection closed by the server" ;
  if (errno == EPROTO) return "the server does not speak SMTP" ;
  return strerror(errno) ;
}

/* the credentials for host from a route's file; 1, or 0 with *why set */
static int creds_load (char const *file, char const *host, stralloc *user, stralloc *pass, char const **why)
{
  stralloc sa = STRALLOC_ZERO ;
  int r ;
  if (!smtpauth_creds_read(file, &sa))
  {
    *why = errno == EPERM ? "the credentials file is readable by others or not ours: refused"
         : errno == EINVAL ? "the credentials file is not a regular file"
         : "cannot read the credentials file" ;
    stralloc_free(&sa) ;
    return 0 ;
  }
  r = smtpauth_creds_find(sa.s, sa.len, host, user, pass) ;
  byte_zzero(sa.s, sa.a) ;
  stralloc_free(&sa) ;
  if (r < 0) nomem() ;
  if (!r) *why = "no credentials for this host in the credentials file" ;
  return r ;
}

/* RFC 4954: AUTH PLAIN with an initial response, else LOGIN. 1 ok, 0 failed (host failed) */
static int do_auth (char const *file, char const *host, int plain, int login)
{
  stralloc user = STRALLOC_ZERO, pass = STRALLOC_ZERO, tok = STRALLOC_ZERO ;
  char const *why = 0 ;
  int ok_ = 0 ;
  if (!tlson) { fail_host(0, "refusing to send AUTH credentials without TLS", 0) ; return 0 ; }
  if (!creds_load(file, host, &user, &pass, &why)) { fail_host(0, why, file) ; return 0 ; }
  if (plain)
  {
    stralloc raw = STRALLOC_ZERO ;
    if (!stralloc_catb(&raw, "", 1) || !stralloc_catb(&raw, user.s, user.len - 1) || !stralloc_catb(&raw, "", 1)
     || !stralloc_catb(&raw, pass.s, pass.len - 1) || !smtpauth_b64(&tok, raw.s, raw.len) || !stralloc_0(&tok)) nomem() ;
    byte_zzero(raw.s, raw.a) ;
    stralloc_free(&raw) ;
    if (!command("AUTH PLAIN ", tok.s, cf.timeout_command)) { fail_host(0, "AUTH", io_error()) ; goto end ; }
  }
  else if (login)
  {
    if (!command("AUTH LOGIN", 0, cf.timeout_command)) { fail_host(0, "AUTH", io_error()) ; goto end ; }
    if (reply.code != 334) goto refused ;
    if (!smtpauth_b64(&tok, user.s, user.len - 1) || !stralloc_0(&tok)) nomem() ;
    if (!command(tok.s, 0, cf.timeout_command)) { fail_host(0, "AUTH", io_error()) ; goto end ; }
    if (reply.code != 334) goto refused ;
    byte_zzero(tok.s, tok.a) ; tok.len = 0 ;
    if (!smtpauth_b64(&tok, pass.s, pass.len - 1) || !stralloc_0(&tok)) nomem() ;
    if (!command(tok.s, 0, cf.timeout_command)) { fail_host(0, "AUTH", io_error()) ; goto end ; }
  }
  else { fail_host(0, "the server offers neither AUTH PLAIN nor AUTH LOGIN", 0) ; goto end ; }
  if (reply.code == 235) { ok_ = 1 ; goto end ; }
 refused:
  /* a refused login is our configuration's fault: retry, never bounce */
  fail_host_reply("AUTH") ;
  allperm = 0 ;
 end:
  byte_zzero(out.s, out.a) ;
  if (tok.s) byte_zzero(tok.s, tok.a) ;
  if (pass.s) byte_zzero(pass.s, pass.a) ;
  stralloc_free(&tok) ; stralloc_free(&user) ; stralloc_free(&pass) ;
  return ok_ ;
}

/* EHLO, and HELO if EHLO is refused (RFC 5321 §3.2) */

static int ehlo (smtpreply_ext *e)
{
  static smtpreply_ext const zero = SMTPREPLY_EXT_ZERO ;
  char const *me = conf_str(&cf, cf.hostname) ;
  *e = zero ;
  if (!command("EHLO ", me, cf.timeout_command)) { fail_host(0, "EHLO", io_error()) ; return 0 ; }
  if (smtpreply_class(&reply) == 5)
  {
    if (!command("HELO ", me, cf.timeout_command)) { fail_host(0, "HELO", io_error()) ; return 0 ; }
    if (smtpreply_class(&reply) != 2) { fail_host_reply("HELO") ; return 0 ; }
    return 1 ;
  }
  if (smtpreply_class(&reply) != 2) { fail_host_reply("EHLO") ; return 0 ; }
  smtpreply_ehlo(&reply, e) ;
  return 1 ;
}

/* a reply that ends the transaction: 421 closes the connection (RFC 5321 §3.8), the rest goes elsewhere */
static int after_reply (char const *stage)
{
  if (reply.code != 421) return 1 ;
  fail_host_reply(stage) ;
  net_close() ;
  return 0 ;
}

/* the connection broke between replies: the rest of the batch goes elsewhere */
static int dropped (void)
{
  fail_host(0, "connection lost", io_error()) ;
  net_close() ;
  return 0 ;
}

/*
 * One transaction for the current job on an open session (RFC 5321
 * §3.3), pipelined when offered (RFC 2920). Returns 1 when every
 * recipient has its result and the connection can take the next job; 0
 * when every recipient has its result but the connection is closed (lost,
 * or 421); -1 when the connection is closed and nothing of this job was
 * accepted on a reused connection (the server hung up between
 * transactions, or answered MAIL with 421): the job goes on as new to
 * the next address.
 */
static int transaction (char const *host, smtpreply_ext const *e)
{
  unsigned int i, naccepted = 0 ;
  int pipelined = e->pipelining, reused ;
  if (smtputf8 && !e->smtputf8)
  {
    static char const t[] = "553 5.6.7 the destination does not support SMTPUTF8 (RFC 6531 3.2)" ;
    set_all(RS_PERM, t, sizeof(t) - 1, RS_PENDING) ;
    return 1 ;
  }
  if (e->hassize && e->size && msgsize > e->size)
  {
    stralloc t = STRALLOC_ZERO ;
    char a[UINT64_FMT], b[UINT64_FMT] ;
    a[uint64_fmt(a, msgsize)] = 0 ;
    b[uint64_fmt(b, e->size)] = 0 ;
    if (!stralloc_cats(&t, "552 5.3.4 message size ") || !stralloc_cats(&t, a) || !stralloc_cats(&t, " exceeds the limit ")
     || !stralloc_cats(&t, b) || !stralloc_cats(&t, " of ") || !stralloc_cats(&t, host)) nomem() ;
    set_all(RS_PERM, t.s, t.len, RS_PENDING) ;
    stralloc_free(&t) ;
    return 1 ;
  }
  if (txopen)
  {
    /* the last transaction was left midway (§4.1.1.5): clear it before the next MAIL */
    if (!command("RSET", 0, cf.timeout_command)) { fail_host(0, "RSET", io_error()) ; net_close() ; return -1 ; }
    if (smtpreply_class(&reply) != 2) { fail_host_reply("RSET") ; quit() ; return -1 ; }
    txopen = 0 ;
  }
  reused = ntx++ > 0 ;

  {
    char fmt[UINT64_FMT] ;
    if (!stralloc_cats(&out, "MAIL FROM:<") || !stralloc_cats(&out, sender) || !stralloc_cats(&out, ">")) nomem() ;
    if (e->hassize)
    {
      fmt[uint64_fmt(fmt, msgsize)] = 0 ;
      if (!stralloc_cats(&out, " SIZE=") || !stralloc_cats(&out, fmt)) nomem() ;
    }
    /* RFC 6152: an 8-bit body to a server without 8BITMIME is sent as is, as most MTAs do */
    if (body8bit && e->eightbit && !stralloc_cats(&out, " BODY=8BITMIME")) nomem() ;
    if (smtputf8 && !stralloc_cats(&out, " SMTPUTF8")) nomem() ;
    if (!stralloc_catb(&out, "\r\n", 2)) nomem() ;
  }
  /* the recipients of this transaction: those without a result yet */
  ntodo = 0 ;
  for (i = 0 ; i < nrcpt ; i++) if (res(i)->status == RS_PENDING) todo[ntodo++] = i ;
  /* where this message goes: the results are the scheduler's lines */
  LOG("transaction", HOST, "tls=", tlson ? "yes" : "no", "rcpts=", log_u64(ntodo)) ;
  set_deadline(cf.timeout_command) ;
  if (pipelined)
  {
    for (i = 0 ; i < ntodo ; i++) if (!out_cmd("RCPT TO:<", rcpts[todo[i]], ">")) nomem() ;
    if (!out_cmd("DATA", 0, 0)) nomem() ;
  }
  if (!out_flush() || !get_reply(cf.timeout_command))
  {
    /* no reply to MAIL on a reused connection: the server hung up after the last transaction */
    if (reused) { fail_host(0, "connection closed before MAIL", io_error()) ; net_close() ; return -1 ; }
    goto lost ;
  }
  if (reused && reply.code == 421) { fail_host_reply("MAIL") ; net_close() ; return -1 ; }
  if (smtpreply_class(&reply) != 2)
  {
    set_all_reply(RS_PENDING) ;
    if (pipelined)
    {
      /* the replies to the pipelined RCPTs and DATA still come; read them, send nothing */
      for (i = 0 ; i <= ntodo ; i++) if (!get_reply(cf.timeout_command)) return dropped() ;
      if (reply.code == 354)
      {
        set_deadline(cf.timeout_data) ;
        if (!out_cmd(".", 0, 0) || !out_flush() || !get_reply(TIMEOUT_DATA_END)) return dropped() ;
      }
    }
    return after_reply("MAIL") ;
  }
  for (i = 0 ; i < ntodo ; i++)
  {
    if (!pipelined)
    {
      set_deadline(cf.timeout_command) ;
      if (!out_cmd("RCPT TO:<", rcpts[todo[i]], ">") || !out_flush()) goto lost ;
    }
    if (!get_reply(cf.timeout_command)) goto lost ;
    if (smtpreply_class(&reply) == 2)
    {
      set_result(todo[i], RS_ACCEPTED, "", 0) ;
      naccepted++ ;
    }
    else
    {
      stralloc t = STRALLOC_ZERO ;
      if (!smtpreply_oneline(&reply, &t)) nomem() ;
      set_result(todo[i], smtpreply_class(&reply) == 5 ? RS_PERM : RS_TEMP, t.s, t.len) ;
      stralloc_free(&t) ;
    }
  }
  if (!pipelined && naccepted)
  {
    set_deadline(cf.timeout_command) ;
    if (!out_cmd("DATA", 0, 0) || !out_flush()) goto lost ;
  }
  if (pipelined || naccepted)
  {
    /* §4.5.3.2.3: 2 minutes for the reply to DATA */
    if (!get_reply(cf.timeout_command < 120 ? cf.timeout_command : 120)) goto lost ;
    if (reply.code != 354)
    {
      set_all_reply(RS_ACCEPTED) ;
      txopen = 1 ;
      return after_reply("DATA") ;
    }
    if (!naccepted)
    {
      /* a server that says 354 with no recipient gets an empty message, which it must refuse */
      set_deadline(cf.timeout_data) ;
      if (!out_cmd(".", 0, 0) || !out_flush() || !get_reply(TIMEOUT_DATA_END)) return dropped() ;
      return after_reply("end of data") ;
    }
  }
  else
  {
    /* every RCPT refused, no DATA sent: the server still holds our MAIL */
    txopen = 1 ;
    return after_reply("RCPT") ;
  }

  /* the body, in blocks; the final dot rides with the last one (§4.5.3.2.5: 3 minutes per block) */
  {
    size_t pos = 0 ;
    while (pos < wire.len)
    {
      size_t n = wire.len - pos > CHUNK ? CHUNK : wire.len - pos ;
      /* never leave the final dot alone in a write of its own */
      if (wire.len - pos - n < 1024) n = wire.len - pos ;
      set_deadline(cf.timeout_data) ;
      if (!net_write(wire.s + pos, n)) goto lost ;
      pos += n ;
    }
    set_deadline(cf.timeout_data) ;
    if (tlson && !tlsclient_flush(&tls)) goto lost ;
  }
  if (!get_reply(TIMEOUT_DATA_END)) goto lost ;
  set_all_reply(RS_ACCEPTED) ;
  return after_reply("end of data") ;

 lost:
  {
    /* the connection broke during the transaction: nothing is known to be delivered */
    stralloc t = STRALLOC_ZERO ;
    char const *why = io_error() ;
    if (!stralloc_cats(&t, "connection to ") || !stralloc_cats(&t, host) || !stralloc_cats(&t, "[")
     || !stralloc_cats(&t, curip) || !stralloc_cats(&t, "] lost during the transaction: ") || !stralloc_cats(&t, why)) nomem() ;
    set_all(RS_TEMP, t.s, t.len, RS_PENDING) ;
    set_all(RS_TEMP, t.s, t.len, RS_ACCEPTED) ;
    stralloc_free(&t) ;
    fail_host(0, "connection lost during a transaction", why) ;
    net_close() ;
    return 0 ;
  }
}

/*
 * One SMTP session with one address, for as many jobs as it takes.
 * Returns 1 when every job's recipients got their results (the run is
 * over), 0 when the next address should be tried for the jobs left
 * (lasterr says why this one failed), 2 when an opportunistic TLS
 * handshake failed and the same address is worth a plaintext try
 * (RFC 7435 §3: unauthenticated encryption is better than none, and none
 * is better than no delivery).
 */
static int session (char const *host, ip46 const *ip, uint16_t port, unsigned int tlspolicy, char const *authfile)
{
  smtpreply_ext e ;
  curhost = host ;
  curip[ip46_fmt(curip, ip)] = 0 ;

  cfd = socket_tcp46_nbcoe(ip46_is6(ip)) ;
  if (cfd < 0) { fail_host(0, "socket", strerror(errno)) ; return 0 ; }
  set_deadline(cf.timeout_connect) ;
  if (!socket_deadlineconnstamp46_g(cfd, ip, port, &deadline))
  {
    fail_host(0, "connection failed", strerror(errno)) ;
    net_close() ;
    return 0 ;
  }
  /* commands and the end of data go out in one segment each: no Nagle wait */
  socket_tcpnodelay(cfd) ;
  LOG("connected", HOST) ;

  /* §4.5.3.2.1: 5 minutes for the greeting */
  if (!get_reply(cf.timeout_command)) { fail_host(0, "greeting", io_error()) ; net_close() ; return 0 ; }
  if (smtpreply_class(&reply) != 2) { fail_host_reply("greeting") ; quit() ; return 0 ; }
  if (!ehlo(&e)) { quit() ; return 0 ; }

  if (tlspolicy != CONF_TLS_NONE && e.starttls)
  {
    if (!command("STARTTLS", 0, cf.timeout_command)) { fail_host(0, "STARTTLS", io_error()) ; net_close() ; return 0 ; }
    if (reply.code == 220)
    {
      int mode = tlspolicy == CONF_TLS_VERIFY ? TLSCLIENT_VERIFY : TLSCLIENT_OPPORTUNISTIC ;
      static tlsclient_anchors anchors = TLSCLIENT_ANCHORS_ZERO ;
      char const *servername = host ;
      static int anchors_loaded = 0 ;
      /* RFC 3207 §4.2 (and the 2011 injection class): nothing read before the handshake counts */
      if (inpos < inlen)
      {
        LOG("warning", HOST, "event=discarded-plaintext-after-STARTTLS") ;
      }
      inpos = inlen = 0 ;
      if (mode == TLSCLIENT_VERIFY && !anchors_loaded)
      {
        char const *ca = cf.ca_file ? conf_str(&cf, cf.ca_file) : "/etc/ssl/certs/ca-certificates.crt" ;
        if (!tlsclient_anchors_load(&anchors, ca)) { fail_host(0, "unable to load trust anchors", ca) ; net_close() ; return 0 ; }
        anchors_loaded = 1 ;
      }
      {
        /* RFC 6066 §3: no IP literal in SNI; and BearSSL matches names only, so "verify" needs a name */
        ip46 dummy ;
        size_t k = ip46_scan(host, &dummy) ;
        if (k && !host[k])
        {
          if (mode == TLSCLIENT_VERIFY) { fail_host(0, "cannot verify a certificate for an IP address: route to a host name", 0) ; quit() ; return 0 ; }
          servername = 0 ;
        }
      }
      set_deadline(cf.timeout_command) ;
      if (!tlsclient_start(&tls, cfd, servername, mode, mode == TLSCLIENT_VERIFY ? &anchors : 0, &deadline))
      {
        int be = tlsclient_error(&tls) ;
        char const *why = be && be != BR_ERR_IO ? tlsname_error(be) : strerror(errno) ;
        net_close() ;
        /* RFC 7435 §3: only opportunistic may fall back to plaintext */
        if (tlspolicy != CONF_TLS_OPPORTUNISTIC) { tls_refused("TLS handshake failed", why, tlspolicy) ; return 0 ; }
        fail_host(0, "TLS handshake failed", why) ;
        return authfile ? 0 : 2 ;
      }
      tlson = 1 ;
      LOG("tls", HOST, "version=", tlsclient_version(&tls), "cipher=", tlsname_suite(tlsclient_cipher(&tls)),
        "mode=", tls_policy_names[tlspolicy], "verified=", mode == TLSCLIENT_VERIFY ? "yes" : "no") ;
      /* RFC 3207 §4.2: forget what the server said before TLS */
      if (!ehlo(&e)) { quit() ; return 0 ; }
    }
    else if (tlspolicy != CONF_TLS_OPPORTUNISTIC)
    {
      stralloc sa = STRALLOC_ZERO ;
      if (!smtpreply_oneline(&reply, &sa) || !stralloc_0(&sa)) nomem() ;
      tls_refused("STARTTLS refused", sa.s, tlspolicy) ;
      stralloc_free(&sa) ;
      quit() ;
      return 0 ;
    }
  }
  if (!tlson && tlspolicy != CONF_TLS_OPPORTUNISTIC && tlspolicy != CONF_TLS_NONE)
  {
    tls_refused("the server does not offer STARTTLS", 0, tlspolicy) ;
    quit() ;
    return 0 ;
  }
  if (authfile && !do_auth(authfile, host, e.auth_plain, e.auth_login)) { quit() ; return 0 ; }

  /* from here on, the current job's recipients get their results from this session; the next jobs ride on it */
  txopen = 0 ;
  ntx = 0 ;
  for (;;)
  {
    int r = transaction(host, &e) ;
    if (r < 0) return 0 ;
    job_next() ;
    if (curjob >= njobs && r)
    {
      /* a stream: the connection waits, idle, for the scheduler's next jobs */
      int w = jobs_wait(cfd) ;
      if (w < 0) { net_close() ; return 1 ; }   /* the server spoke (421, or closed): the next jobs reconnect */
    }
    if (curjob >= njobs) { quit() ; return 1 ; }
    if (!r) return 0 ;
  }
}

static int tries = 0 ;

/* tries every address of one hop; 1 when the run is over, 0 to go on, -1 when the host is us */
static int try_host (route const *rt, route_hop const *h)
{
  genalloc ips = GENALLOC_ZERO ;
  char const *host = route_str(rt, h->host) ;
  size_t n, i ;
  int r ;
  curhost = host ; curip[0] = 0 ;
  r = route_addresses(host, h->gai, &ips) ;
  if (r != DNS_OK)
  {
    fail_host(r != DNS_TEMP, "address lookup failed", dns_strerror(r)) ;
    if (r == DNS_TEMP) allperm = 0 ;
    genalloc_free(dns_ip, &ips) ;
    return 0 ;
  }
  n = genalloc_len(dns_ip, &ips) ;
  for (i = 0 ; i < n ; i++)
  {
    dns_ip const *a = genalloc_s(dns_ip, &ips) + i ;
    ip46 ip ;
    if (a->is6) ip46_from_ip6(&ip, a->ip) ; else ip46_from_ip4(&ip, a->ip) ;
    if (route_is_myself(&cf, &ip, h->port)) { genalloc_free(dns_ip, &ips) ; return -1 ; }
    if (tries++ >= ADDR_TRIES_MAX) break ;
    r = session(host, &ip, h->port, h->tls, route_str(rt, h->auth)) ;
    if (r == 2)
    {
      LOG("tls-fallback", HOST, "action=retrying-without-tls") ;
      r = session(host, &ip, h->port, CONF_TLS_NONE, route_str(rt, h->auth)) ;
    }
    if (r == 1) { genalloc_free(dns_ip, &ips) ; return 1 ; }
    tain_now_g() ;
    if (!tain_future(&overall)) { fail_host(0, "delivery timeout", 0) ; break ; }
  }
  genalloc_free(dns_ip, &ips) ;
  return 0 ;
}

/* a failure of the route: every job left gets it */
static void fail_all (int status, char const *t)
{
  while (curjob < njobs)
  {
    set_all(status, t, strlen(t), RS_PENDING) ;
    job_advance() ;
  }
}

/* the hops in route order (lib/route); nobody tried because the first is us: a loop */
static void deliver (void)
{
  route rt = ROUTE_ZERO ;
  size_t n, i ;
  int tried = 0 ;
  if (!route_plan(&rt, &cf, domain)) nomem() ;
  switch (rt.result)
  {
    case ROUTE_TEMP : fail_all(RS_TEMP, "451 4.4.3 temporary DNS failure looking up MX records") ; goto end ;
    case ROUTE_NXDOMAIN : fail_all(RS_PERM, "550 5.1.2 the destination domain does not exist") ; goto end ;
    case ROUTE_NULLMX : fail_all(RS_PERM, "556 5.1.10 the destination domain does not accept mail (null MX, RFC 7505)") ; goto end ;
    case ROUTE_BADLITERAL : fail_all(RS_PERM, "553 5.1.2 bad address literal") ; goto end ;
    default : break ;
  }
  n = route_nhops(&rt) ;
  for (i = 0 ; i < n ; i++)
  {
    route_hop const *h = route_hops(&rt) + i ;
    int t ;
    if (h->self) break ;
    /* the tries are spent: no more address lookups either */
    if (tries >= ADDR_TRIES_MAX) break ;
    t = try_host(&rt, h) ;
    if (t > 0) goto end ;
    if (t < 0) break ;
    tried++ ;
    tain_now_g() ;
    if (!tain_future(&overall)) break ;
  }
  if (!tried) fail_all(RS_PERM, "554 5.4.6 mail for this domain loops back to myself") ;
 end:
  route_free(&rt) ;
}

/* jobs: the per-message state (results, texts, body) is the current job's */

/* the scheduler kills us at timeout delivery: finish (QUIT, report) a little before */
static void overall_set (void)
{
  unsigned int margin = cf.timeout_delivery / 20 ;
  if (!margin) margin = 1 ;
  tain_now_g() ;
  tain_addsec_g(&overall, cf.timeout_delivery > margin ? cf.timeout_delivery - margin : cf.timeout_delivery) ;
}

static void job_start (void)
{
  rjob const *jb = genalloc_s(rjob, &jobs) + curjob ;
  unsigned int i = 0 ;
  result r = { .status = RS_PENDING, .text = 0 } ;
  logid = jb->id ;
  sender = jb->sender ;
  rcpts = genalloc_s(char const *, &fields) + jb->rcpt0 ;
  nrcpt = jb->nrcpt ;
  smtputf8 = jb->utf8 ;
  /* in a batch, every job has its own timeout delivery (scheduler(8): the deadline moves with the reports) */
  overall_set() ;
  genalloc_setlen(result, &results, 0) ;
  texts.len = 0 ; wire.len = 0 ; msgsize = 0 ; body8bit = 0 ;
  if (!genalloc_ready(result, &results, nrcpt)) nomem() ;
  if (todo) alloc_free(todo) ;
  todo = alloc((nrcpt ? nrcpt : 1) * sizeof(unsigned int)) ;
  if (!todo) nomem() ;
  for (; i < nrcpt ; i++) genalloc_append(result, &results, &r) ;
  /* an address goes into a command line: a line end in it would be a command of its own
     (canonical addresses never hold one; this is the last line of defence) */
  if (strpbrk(sender, "\r\n"))
  {
    static char const t[] = "501 5.1.7 invalid sender address" ;
    set_all(RS_PERM, t, sizeof(t) - 1, RS_PENDING) ;
  }
  for (i = 0 ; i < nrcpt ; i++)
    if (res(i)->status == RS_PENDING && (!*rcpts[i] || strpbrk(rcpts[i], "\r\n")))
    {
      static char const t[] = "501 5.1.3 invalid recipient address" ;
      set_result(i, RS_PERM, t, sizeof(t) - 1) ;
    }
  {
    /* our cwd is the spool (the scheduler's); the entry is immutable once committed */
    char fn[QUEUE_PATH_MAX] ;
    int fd ;
    queue_path(fn, "queue", jb->id) ;
    fd = open(fn, O_RDONLY | O_CLOEXEC) ;
    if (fd < 0 || !read_body(fd, jb->hdrlen))
    {
      stralloc t = STRALLOC_ZERO ;
      if (!stralloc_cats(&t, "451 4.3.0 unable to read the queue entry: ") || !stralloc_cats(&t, strerror(errno))) nomem() ;
      set_all(RS_TEMP, t.s, t.len, RS_PENDING) ;
      stralloc_free(&t) ;
      if (fd >= 0) fd_close(fd) ;
      return ;
    }
    fd_close(fd) ;
  }
  if (jb->eightbit) body8bit = 1 ;
}

/* every recipient of the current job has its final result */
static int job_done (void)
{
  unsigned int i = 0 ;
  for (; i < nrcpt ; i++) if (res(i)->status == RS_PENDING || res(i)->status == RS_ACCEPTED) return 0 ;
  return 1 ;
}

static void job_advance (void)
{
  report() ;
  if (++curjob < njobs) job_start() ;
}

/* the current job is over: its report, then the next job with something to send */
static void job_next (void)
{
  job_advance() ;
  while (curjob < njobs && job_done()) job_advance() ;
}

/* the first job with something to send becomes the current one */
static void jobs_begin (void)
{
  if (curjob >= njobs) return ;
  job_start() ;
  while (curjob < njobs && job_done()) job_advance() ;
}

/* the whole jobs in input from parsed on (lib/report: netstrings of id, header length, flags, sender, recipients) */
static void jobs_parse (void)
{
  genalloc f = GENALLOC_ZERO ;
  for (;;)
  {
    size_t start, len, used, k ;
    unsigned int n ;
    char const *const *fs ;
    rjob jb ;
    int r = report_job_next(input.s + parsed, input.len - parsed, &start, &len, &used) ;
    if (!r) break ;
    if (r < 0) strerr_dief(KETCH_EX_TEMP, "garbled job in the batch") ;
    genalloc_setlen(char const *, &f, 0) ;
    n = report_job_fields(input.s + parsed + start, len, &f) ;
    fs = genalloc_s(char const *, &f) ;
    if (n < 5 || !queue_id_valid(fs[0], strlen(fs[0]))
     || !(k = size_scan(fs[1], &jb.hdrlen)) || fs[1][k]
     || (strcmp(fs[2], "-") && strcmp(fs[2], "8") && strcmp(fs[2], "u") && strcmp(fs[2], "8u")))
      strerr_dief(KETCH_EX_TEMP, "garbled job in the batch") ;
    jb.id = fs[0] ;
    jb.eightbit = !!strchr(fs[2], '8') ;
    jb.utf8 = !!strchr(fs[2], 'u') ;
    jb.sender = fs[3] ;
    jb.rcpt0 = genalloc_len(char const *, &fields) ;
    jb.nrcpt = n - 4 ;
    if (!genalloc_catb(char const *, &fields, fs + 4, n - 4) || !genalloc_append(rjob, &jobs, &jb)) nomem() ;
    parsed += used ;
  }
  genalloc_free(char const *, &f) ;
  njobs = genalloc_len(rjob, &jobs) ;
}

/* every job known is over and reported: forget them, counting them in jobbase */
static void jobs_forget (void)
{
  jobbase += njobs ;
  genalloc_setlen(rjob, &jobs, 0) ;
  genalloc_setlen(char const *, &fields, 0) ;
  njobs = curjob = 0 ;
}

/*
 * -b: the next jobs from fd 0, once every job known so far is over (so
 * the fields never move under a live job). The scheduler keeps the pipe
 * open while it may have more for this domain, and closes it to end the
 * run: one connection carries a stream of messages. Waits for at least
 * one whole job, at most STREAM_IDLE_MAX; when watch is an idle
 * connection, returns early if the server speaks (RFC 5321 §3.8: a 421,
 * or it closed). 1: a current job; 0: the end of the input, or the
 * timeout; -1: the server spoke.
 */
static int jobs_wait (int watch)
{
  tain until ;
  jobs_forget() ;
  if (parsed)
  {
    memmove(input.s, input.s + parsed, input.len - parsed) ;
    input.len -= parsed ;
    parsed = 0 ;
  }
  logid = "-" ;
  tain_now_g() ;
  tain_addsec_g(&until, STREAM_IDLE_MAX) ;
  for (;;)
  {
    iopause_fd x[2] = { { .fd = 0, .events = IOPAUSE_READ, .revents = 0 }, { .fd = watch, .events = IOPAUSE_READ, .revents = 0 } } ;
    int r ;
    jobs_parse() ;
    jobs_begin() ;
    if (curjob < njobs) return 1 ;
    if (input_eof)
    {
      if (parsed < input.len) strerr_dief(KETCH_EX_TEMP, "garbled job in the batch") ;
      return 0 ;
    }
    r = iopause_g(x, watch >= 0 ? 2 : 1, &until) ;
    if (r < 0) strerr_diefusys(KETCH_EX_TEMP, "iopause") ;
    if (!r) return 0 ;
    if (watch >= 0 && x[1].revents) return -1 ;
    if (x[0].revents)
    {
      ssize_t n ;
      if (input.len - parsed >= INPUT_MAX) strerr_dief(KETCH_EX_TEMP, "garbled job in the batch") ;
      if (!stralloc_readyplus(&input, 65536)) nomem() ;
      n = fd_read(0, input.s + input.len, 65536) ;
      if (n < 0 && !error_isagain(errno)) strerr_diefusys(KETCH_EX_TEMP, "read the jobs") ;
      if (!n) input_eof = 1 ;
      if (n > 0) input.len += n ;
      /* input may have moved under the fields of the jobs parsed so far, all over: parse from the first new one */
      jobs_forget() ;
    }
  }
}

int main (int argc, char const *const *argv)
{
  char const *conffile = 0 ;
  stralloc err = STRALLOC_ZERO ;
  int batch = 0 ;
  PROG = "remote-send" ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "C:b", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'C' : conffile = l.arg ; break ;
        case 'b' : batch = 1 ; break ;
        default : dieusage() ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  /* -b names the only form (a batch of jobs on fd 0), as the scheduler runs it */
  if (!batch || argc != 1) dieusage() ;
  domain = argv[0] ;
  if (!*domain || strpbrk(domain, "\r\n")) dieusage() ;
  if (!fd_sanitize()) strerr_diefusys(KETCH_EX_TEMP, "sanitize standard fds") ;
  if (!sig_altignore(SIGPIPE)) strerr_diefusys(KETCH_EX_TEMP, "ignore SIGPIPE") ;
  if (!conf_load_default(&cf, conffile, &err))
    strerr_dief(KETCH_EX_TEMP, err.len ? err.s : "unable to read the configuration") ;
  tain_now_set_stopwatch_g() ;

  if (jobs_wait(-1) <= 0) return 0 ;
  if (!dns_init(cf.resolver_ip, cf.resolver_is6, cf.resolver_port, cf.timeout_command < 5 ? cf.timeout_command : 5))
    strerr_diefusys(KETCH_EX_TEMP, "initialise the resolver") ;

  for (;;)
  {
    if (curjob < njobs) deliver() ;
    curhost = "" ;  /* it pointed into storage deliver() has freed */
    curip[0] = 0 ;
    /* nobody took the mail: the last failure speaks for every recipient left, in every job left */
    if (!lasterr.len && !stralloc_cats(&lasterr, "no usable mail exchanger")) nomem() ;
    while (curjob < njobs)
    {
      stralloc t = STRALLOC_ZERO ;
      if (!stralloc_cats(&t, allperm ? "550 5.4.4 " : "451 4.4.1 ") || !stralloc_catb(&t, lasterr.s, lasterr.len)) nomem() ;
      set_all(allperm ? RS_PERM : RS_TEMP, t.s, t.len, RS_PENDING) ;
      set_all(RS_TEMP, t.s, t.len, RS_ACCEPTED) ;
      stralloc_free(&t) ;
      job_advance() ;
    }
    /* a stream goes on with the scheduler's next jobs, on a new connection, from the first hop again */
    if (jobs_wait(-1) <= 0) return 0 ;
    tries = 0 ;
    allperm = 1 ;
    lasterr.len = 0 ;
  }
}
