/* ISC license: see LICENSE. */

#ifndef KETCH_SMTPD_H
#define KETCH_SMTPD_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/ip46.h>

#include "conf.h"
#include "enqclient.h"
#include "message.h"
#include "queue.h"
#include "tls.h"
#include "stats.h"

/*
 * The SMTP server's session engine (RFC 5321): one client's session, from
 * the greeting to its end, on a connection the caller gives. smtp-session
 * (one process per connection, exec'd by smtp-listen or tcpserver) and
 * smtp-listen -f (a forked process serving client after client) are thin
 * programs around smtpd_run. Parsing lives in lib/smtp.c, the relay
 * decision in lib/policy.c, TLS in lib/tls.c, the trace field in
 * lib/received.c; this module is the state machine and the I/O.
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
 * - smtpd_run returns; it never exits. Its only output besides the
 *   connection is its log lines (lib/log), on io->logfd.
 */

/*
 * The session's buffers are in the struct, which the programs keep in
 * .bss, and every page of it an idle forked session writes is its own
 * (W3, t/bench/README.md): 2 KiB in (four command lines of RFC 5321's 512
 * octets; DATA streams through it) and 1 KiB out (a full EHLO reply is
 * about 200 octets; pipelined replies are flushed when it fills) keep
 * smtp-listen's .data and .bss, with the session's, within two pages.
 */
#define SMTPD_INBUF 2048
#define SMTPD_OUTBUF 1024

/*
 * The depth of stack smtpd_wipe zeroes after a session that used TLS or
 * AUTH: deeper than any frame such a session reaches below smtpd_run.
 * Measured on an idle -f process (a build that wipes only 64 octets, its
 * [stack] read through /proc/PID/mem): a STARTTLS handshake with an
 * ECDSA key signed by smtp-keyd, AUTH through smtp-keyd and a message
 * leave data 5.2 KiB deep below the session loop's caller, nothing
 * deeper; the deepest frames are BearSSL's engine (the P-256 and X25519
 * multiplications, the PRF and key schedules) and smtpd's own AUTH and
 * keyd buffers (do_auth 1 KiB, auth_ask and the signing request 1.8 KiB
 * each). Without smtp-keyd (a certificate added by SIGHUP) the signature
 * is made here too: BearSSL's RSA i62/i31 and ECDSA i31 code keep under
 * 2 KiB of temporaries. 16 KiB is twice the deepest with room; what it
 * costs is the pages it touches beyond the session's own (two or three
 * per idle process that served TLS) and 16 KiB of memset per reuse.
 */
#define SMTPD_STACK_WIPE (16 << 10)

/* Where the session stands (RFC 5321 §4.1.4): a HELO or EHLO, then MAIL,
   then at least one accepted RCPT; RSET, HELO and EHLO go back to HELO. */
enum smtpd_state_e
{
  SMTPD_S_GREETED = 0,  /* 220 sent, no HELO or EHLO yet */
  SMTPD_S_HELO,         /* HELO or EHLO given: no transaction */
  SMTPD_S_MAIL,         /* MAIL accepted */
  SMTPD_S_RCPT          /* and at least one recipient */
} ;

/* Who may relay without AUTH, besides the relay-from networks */
enum smtpd_local_e
{
  SMTPD_LOCAL_NONE = 0,
  SMTPD_LOCAL_RELAYCLIENT,  /* RELAYCLIENT set (tcpserver -x rules, qmail's convention) */
  SMTPD_LOCAL_USER          /* a local submission, sendmail -bs (smtp-session -L) */
} ;

/* How a session ended (smtpd_session.over) */
enum smtpd_over_e
{
  SMTPD_RUNNING = 0,
  SMTPD_OVER_BYE,   /* cleanly (QUIT, EOF, too many errors): queued replies still go */
  SMTPD_OVER_NET    /* on an I/O or system error, or a timeout (421 sent): nothing more goes */
} ;

/* What the caller tells a session: the connection and the facts about it */
typedef struct smtpd_io_s smtpd_io ;
struct smtpd_io_s
{
  int fdr ;                 /* the connection; made nonblocking */
  int fdw ;
  int nonblock ;            /* 1: fdr and fdw are nonblocking already (smtp-listen -f accepts them so): no fcntl per client */
  int logfd ;               /* where the log lines go (stderr: s6-log) */
  uint32_t pid ;            /* this process's pid, for the session id; 0: asked of the system (smtp-listen -f knows it: no getpid per client) */
  char const *remoteip ;    /* the UCSPI facts, text, or 0 when unknown */
  char const *remoteport ;
  char const *localip ;
  char const *localport ;
  char const *localuser ;   /* a local submission by this user (sendmail -bs), or 0 */
  int relayclient ;
  int door ;                /* smtp-keyd's door (close-on-exec), or -1: the key and auth table are read here */
  stats_rec *stats ;        /* the counters of SPOOL/stats/smtp (lib/stats), or 0: none kept */
  char const *confpath ;    /* the configuration, for enqueue -C */
  tls_chain const *chain ;  /* smtp-listen -f: the certificate chain it decoded (lib/tls.h), or 0: read per STARTTLS */
  /* smtp-listen -f: asked at a clean end, before the last replies go,
     whether this process serves another client (1: it will, after
     smtpd_wipe). After TLS or AUTH only when smtpd_wipe can wipe all
     the session held (smtpd_wipe below). 0: always end. */
  int (*next) (void *) ;
  void *next_ctx ;
} ;
#define SMTPD_IO_ZERO { .fdr = 0, .fdw = 1, .nonblock = 0, .logfd = 2, .pid = 0, .remoteip = 0, .remoteport = 0, .localip = 0, .localport = 0, .localuser = 0, .relayclient = 0, .door = -1, .stats = 0, .confpath = 0, .chain = 0, .next = 0, .next_ctx = 0 }

/* One session. All zero is the state before the first smtpd_run, so a
   static one is in .bss; smtpd_wipe brings a used one back to it. cf and
   io are the caller's, valid while smtpd_run runs. */
typedef struct smtpd_session_s smtpd_session ;
struct smtpd_session_s
{
  conf const *cf ;
  smtpd_io const *io ;
  char sid[QUEUE_ID_LEN + 1] ;
  char ipstr[IP46_FMT] ;
  ip46 ip ;
  int haveip ;
  unsigned int lflags ;     /* the listener's CONF_LISTEN_* */
  enum smtpd_local_e local ;
  enum smtpd_over_e over ;
  tain session_deadline ;
  tain deadline ;           /* the current wait's */

  size_t inpos, inlen ;
  int rfull ;               /* the last read filled its buffer: the next one reads before it waits */
  size_t outlen ;
  tls_server *tls ;
  int keych ;               /* our channel to smtp-keyd, opened at the first need, kept by smtpd_wipe; -1 none (from smtpd_run on) */
  int wiped ;               /* smtpd_wipe ran: keych is set */

  enum smtpd_state_e state ;
  int ehlo ;                /* the greeting was EHLO: the extensions are on */
  int utf8 ;                /* this transaction's MAIL had SMTPUTF8 */
  stralloc heloname ;
  stralloc sender ;
  stralloc rcpts ;          /* NUL-separated */
  unsigned int nrcpt ;
  unsigned int nrcpt_tried ;
  unsigned int errors ;
  unsigned int authfailures ;
  int authtried ;           /* AUTH was attempted: a password may have been in memory */
  stralloc authuser ;
  struct dovecotauth_s *dovecot ;
  struct senderlogin_from_s *from ;  /* sender-login: the From fields of the message in DATA (lib/senderlogin), allocated at the first checked DATA */
  int fromcheck ;           /* this transaction's From fields are checked */  /* auth dovecot: the connection to Dovecot (lib/dovecotauth), from the first EHLO that offers AUTH; else 0 */
  stralloc logsa ;          /* the log line being written */
  stralloc qsa ;            /* quoted values for it, and the Received field */
  stralloc qsa2 ;

  /* DATA: the message goes to enqueue-listen or to enqueue -S; the buffer
     is allocated at the first DATA: an idle session never touches it (W3) */
  char *ebuf ;
  size_t elen ;
  int efd ;                 /* where the message goes until an abort; -1 none (from smtpd_run on) */
  enqclient eh ;            /* the hand-off (lib/enqclient), from smtpd_run on; its kept connection, kept by smtpd_wipe */
  int efailed ;
  uint64_t esize ;
  message_hops ehops ;      /* the Received fields enqueue is given, ours included */
  /* the listener's filters (lib/filter), allocated at connect when it has
     some, else 0: the DATA path streams to enqueue as it did without them */
  struct filterset_s *fs ;
  int refused ;             /* a filter refused the connection (at connect or HELO): 503 to all but QUIT (RFC 5321 §3.1) */

  char inbuf[SMTPD_INBUF] ;
  char outbuf[SMTPD_OUTBUF] ;
} ;
#define SMTPD_SESSION_ZERO { .cf = 0 }

/*
 * Runs one session on io's connection, with the configuration cf, both
 * kept by the caller until it returns. 1: the session ended cleanly and
 * io->next said this process serves another client (smtpd_wipe, then run
 * again); 0: the session is over and the process should end.
 */
extern int smtpd_run (smtpd_session *, conf const *, smtpd_io const *) ;

/*
 * Before the next client: everything the last one sent or was sent, and
 * every secret of its session, zeroed; the state back to all zero. What
 * a session holds, and where each is wiped:
 * - the struct (.bss in the programs): the command and DATA input, the
 *   replies, the envelope's lengths, the TLS and AUTH state: zeroed whole;
 * - its buffers on the heap (the HELO name, the envelope, the AUTH user,
 *   the log line and quoting buffers, DATA's buffer): zeroed over their
 *   allocated size and kept for reuse. The ones that grow by realloc
 *   (the envelope, the log buffers) may leave older copies in freed heap;
 *   those hold what the log says (names, addresses), never a password,
 *   the message or a key;
 * - the TLS engine (lib/tls.h, tls_server_free): zeroed whole, its
 *   record buffers too, and freed;
 * - AUTH: the decoded response and smtp-keyd's request are zeroed on the
 *   stack where they are made (do_auth, auth_ask); the base64 line is in
 *   the input buffer or the TLS record buffer;
 * - the stack below smtpd_run, where BearSSL's handshake (the ECDHE
 *   computation, the PRF, the key schedules) and the AUTH and keyd frames
 *   ran: after a session that used TLS or AUTH, SMTPD_STACK_WIPE octets
 *   below smtpd_wipe's frame (called at smtpd_run's depth) are zeroed.
 * t/tls-reuse.t reads an idle process's whole writable memory and finds
 * none of a client's master secret, write keys and IVs, message or
 * password. Buffers of other modules that grow by realloc (lib/filter's
 * held message, lib/senderlogin's From fields, lib/dovecotauth's
 * exchange) keep copies in freed heap: a session that used them and TLS
 * or AUTH is not reused (smtpd_run). The channel to smtp-keyd is kept:
 * it carries no secret (requests in, signatures and yes or no out, one
 * answer per request; a channel whose request went unanswered is closed
 * at once), and a process lives within one configuration (smtp-listen
 * ends its idle processes on SIGHUP), so the next client's STARTTLS
 * saves a socket pair, a descriptor passed and smtp-keyd's channel set-up.
 * So is the connection to enqueue-listen (eh.kept, lib/enqclient.h),
 * which carries nothing from one message to the next: it is kept only
 * after a message sent whole, up to its final dot, and answered exactly
 * "0\n" (a hand-off still open at the wipe is aborted, and an aborted
 * one is closed), so both directions are empty when the next client's
 * first request goes; the worker behind it checks as much on its side,
 * resets its submission, and asks the peer's uid (ours: the smtp-user)
 * again per message. The next client's message is its own envelope and
 * octets on an empty stream, as on a new connection.
 * The heap buffers, the channel and the connection are freed by smtpd_free.
 */
extern void smtpd_wipe (smtpd_session *) ;

/* frees what the session holds (the process goes on without it) */
extern void smtpd_free (smtpd_session *) ;

/*
 * AUTH PLAIN's message (RFC 4616 §2): authzid NUL authcid NUL passwd.
 * 1 with the authcid at *user and the password at *pass (offsets into
 * s, lengths in *ulen and *plen); 0 when it does not parse; -1 when the
 * authzid is neither empty nor the authcid (we authorize no one else).
 */
extern int smtpd_plain_split (char const *, size_t, size_t *, size_t *, size_t *, size_t *) ;

#endif
