/* ISC license: see LICENSE. */

#ifndef KETCH_MILTER_H
#define KETCH_MILTER_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>
#include <skalibs/tai.h>

/*
 * The Sendmail milter protocol, version 6, client side (the MTA's), as
 * libmilter (mfdef.h, mfapi.h, engine.c) and Postfix's milter8.c speak
 * it; Postfix's MILTER_README describes what a filter may do at each
 * stage. There is no RFC: the names below (SMFIC_ commands, SMFIR_
 * replies, SMFIF_ actions, SMFIP_ protocol flags, SMFIM_ macro stages)
 * are libmilter's, so that a reader can hold this file beside mfdef.h.
 *
 * One connection per filter per SMTP session, never shared between
 * sessions (and so never between users). I/O is blocking in effect but
 * bounded: every write and read runs under an absolute deadline
 * (iopause), t.connect for the connect and SMFIC_OPTNEG, t.command for
 * each SMTP-stage command, t.data for each header, body and EOM
 * packet's reply. A filter that does not answer in time is down:
 * MILTER_FAIL with err "timeout", within the timeout.
 *
 * Packets, both ways: a 4-octet big-endian length (the command byte
 * included), the command byte, the data. Strings in data are
 * NUL-terminated. What we send per stage (SMFIC_):
 *   'O' OPTNEG   version, actions, protocol flags (3 x uint32)
 *   'D' MACRO    the stage's command byte, then name NUL value NUL pairs
 *   'C' CONNECT  hostname NUL, family ('4' '6' 'L' 'U'), then unless
 *                'U' the port (uint16) and the address NUL
 *   'H' HELO     the HELO/EHLO argument NUL
 *   'M' MAIL     "<sender>" NUL, then each ESMTP parameter NUL
 *   'R' RCPT     "<recipient>" NUL, then each parameter NUL
 *   'T' DATA     (empty)
 *   'L' HEADER   name NUL value NUL
 *   'N' EOH      (empty)
 *   'B' BODY     a chunk of the body, CRLF line ends, <= MILTER_CHUNK
 *   'E' BODYEOB  (empty): end of message, the filter's modifications
 *                and then its verdict follow
 *   'A' ABORT    (empty, no reply): the message is over
 *   'Q' QUIT     (empty, no reply): the connection is over
 *
 * Negotiation (SMFIC_OPTNEG): we offer version 6, every SMFIF_ action
 * we implement (MILTER_ACTIONS) and every SMFIP_ flag we can honour
 * (MILTER_PFLAGS); the filter answers with the subset it wants. A
 * filter that asks for an action we did not offer, or a version outside
 * 2..6, is refused (protocol error), as Postfix's milter8.c refuses it;
 * protocol flags we do not know (libmilter's SMFIP_MDS_* data sizes)
 * are ignored, as Postfix ignores them. A filter of version 2 or 3 is
 * not sent DATA (SMFIC_DATA came with version 4). The
 * filter's reply may carry, after the three words, lists of macros per
 * stage (uint32 SMFIM_ stage, then the space-separated names NUL; the
 * data of smfi_setsymlist): we then send only those macros at that
 * stage, otherwise all the session gives us.
 *
 * Protocol flags honoured: SMFIP_NO* (the command is not sent and the
 * call returns MILTER_CONTINUE without I/O; the stage's macros are kept
 * and go out with the next command, as Postfix sends them even for a
 * skipped event, so that libmilter has them at EOM), SMFIP_NR_* (the stage is sent
 * and nothing is read back), SMFIP_SKIP (the filter may answer a body
 * chunk with SMFIR_SKIP: no more body is sent for this message),
 * SMFIP_RCPT_REJ is not offered (the session gives a filter only the
 * recipients it accepted; a filter that asks for it anyway does not get
 * it), SMFIP_HDR_LEADSPC (the header value is sent as
 * stored, the leading space after ':' included; without it the single
 * leading space is removed, as Sendmail does, and a modified header's
 * value gets one back from msgedit).
 *
 * Replies (SMFIR_), per stage as Postfix allows them:
 *   'c' CONTINUE, 'a' ACCEPT, 'r' REJECT, 't' TEMPFAIL, 'd' DISCARD,
 *   'y' REPLYCODE ("ddd x.y.z text" NUL, multi-line as "ddd-..." lines
 *   joined by CRLF; the first digit 4 is TEMPFAIL, 5 REJECT, anything
 *   else a protocol error; the text printable, no bare CR or LF: it is
 *   stored CRLF-joined, each line "ddd-" or "ddd " and the code the
 *   same on every line, so the session writes it as is plus CRLF),
 *   '4' SHUTDOWN and 'f' CONN_FAIL: TEMPFAIL with the reply
 *   "421 4.7.0 Server closing connection" and done_conn set: the
 *   session says it and closes (Postfix's milter8.c answers SHUTDOWN
 *   with its "421 ... closing connection" and stops talking to the
 *   filter; it does not know CONN_FAIL, which Sendmail's mfdef.h
 *   defines as "cause a connection failure": the same, failing safe),
 *   'p' PROGRESS (at any stage, as Postfix allows it: wait again, the
 *   stage's deadline restarts, at most MILTER_PROGRESS_MAX times per
 *   command), 's' SKIP (only to a body chunk,
 *   only if SMFIP_SKIP was negotiated), and at EOM only the
 *   modifications, each only if its SMFIF_ action was negotiated:
 *   'h' ADDHEADER, 'i' INSHEADER, 'm' CHGHEADER (SMFIF_ADDHDRS or
 *   CHGHDRS), 'b' REPLBODY (CHGBODY), '+' ADDRCPT (ADDRCPT), '2'
 *   ADDRCPT_PAR (ADDRCPT_PAR), '-' DELRCPT (DELRCPT), 'e' CHGFROM
 *   (CHGFROM), 'q' QUARANTINE (QUARANTINE). The modifications of one
 *   EOM are bounded in total (m->modmax octets): more is "toolarge".
 * A REPLYCODE of 421 sets done_conn too: the session closes (RFC 5321
 * §3.8), as Postfix does. DISCARD at connect or HELO is ignored
 * (CONTINUE), as Postfix ignores it ("no action" at connection level,
 * libmilter's documentation).
 * REJECT or TEMPFAIL at connect or HELO reject the connection (the
 * session refuses what follows); they and ACCEPT/DISCARD there set
 * done_conn: the filter sees nothing more of this connection. At MAIL,
 * DATA, a header, EOH, a body chunk or EOM they end the message for
 * the filter (done_msg); at RCPT, REJECT and TEMPFAIL concern this
 * recipient only.
 *
 * Every reply packet is parsed by milter_reply_parse, bounded and total
 * (t/fuzz/milter.c): a packet over MILTER_PACKET_MAX, an unknown reply,
 * a reply not allowed at the stage, a modification the filter did not
 * negotiate, or malformed data is a protocol error: MILTER_FAIL, the
 * connection closed, m->err says why. The session then applies the
 * filter's on-failure action (tempfail by default, as Postfix's
 * milter_default_action recommends; accept if configured).
 *
 * This module never logs and never dies: the caller logs the action
 * with m->name and, after a failure, m->err.
 */

#define MILTER_PACKET_MAX (1 << 20)   /* the largest reply we read (Postfix's milter8.c: 1 MiB class) */
#define MILTER_CHUNK 65535            /* the largest SMFIC_BODY chunk we send (libmilter MILTER_CHUNK_SIZE) */
#define MILTER_PROGRESS_MAX 1000      /* SMFIR_PROGRESS answers to one EOM: each restarts t.data */
#define MILTER_VERSION 6
#define MILTER_MODS_MAX (64 << 20)     /* default m->modmax: modification data of one EOM */

/* SMFIF_: the actions a filter may take at EOM (mfapi.h) */
#define SMFIF_ADDHDRS 0x01U
#define SMFIF_CHGBODY 0x02U
#define SMFIF_ADDRCPT 0x04U
#define SMFIF_DELRCPT 0x08U
#define SMFIF_CHGHDRS 0x10U
#define SMFIF_QUARANTINE 0x20U
#define SMFIF_CHGFROM 0x40U
#define SMFIF_ADDRCPT_PAR 0x80U
#define SMFIF_SETSYMLIST 0x100U
#define MILTER_ACTIONS 0x1ffU         /* all of them: we implement every one */

/* SMFIP_: the protocol flags (mfdef.h) */
#define SMFIP_NOCONNECT 0x01U
#define SMFIP_NOHELO 0x02U
#define SMFIP_NOMAIL 0x04U
#define SMFIP_NORCPT 0x08U
#define SMFIP_NOBODY 0x10U
#define SMFIP_NOHDRS 0x20U
#define SMFIP_NOEOH 0x40U
#define SMFIP_NR_HDR 0x80U
#define SMFIP_NOUNKNOWN 0x100U
#define SMFIP_NODATA 0x200U
#define SMFIP_SKIP 0x400U
#define SMFIP_RCPT_REJ 0x800U
#define SMFIP_NR_CONN 0x1000U
#define SMFIP_NR_HELO 0x2000U
#define SMFIP_NR_MAIL 0x4000U
#define SMFIP_NR_RCPT 0x8000U
#define SMFIP_NR_DATA 0x10000U
#define SMFIP_NR_UNKN 0x20000U
#define SMFIP_NR_EOH 0x40000U
#define SMFIP_NR_BODY 0x80000U
#define SMFIP_HDR_LEADSPC 0x100000U
#define MILTER_PFLAGS (0x1fffffU & ~SMFIP_RCPT_REJ)   /* all but RCPT_REJ (we never send UNKNOWN: NOUNKNOWN/NR_UNKN are free) */

/* SMFIC_: the commands we send (mfdef.h) */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_MACRO 'D'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HELO 'H'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIC_RCPT 'R'
#define SMFIC_DATA 'T'

/* SMFIR_: the replies (mfdef.h) */
#define SMFIR_ADDRCPT '+'
#define SMFIR_DELRCPT '-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN '4'
#define SMFIR_ACCEPT 'a'
#define SMFIR_REPLBODY 'b'
#define SMFIR_CONTINUE 'c'
#define SMFIR_DISCARD 'd'
#define SMFIR_CHGFROM 'e'
#define SMFIR_CONN_FAIL 'f'
#define SMFIR_ADDHEADER 'h'
#define SMFIR_INSHEADER 'i'
#define SMFIR_CHGHEADER 'm'
#define SMFIR_PROGRESS 'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT 'r'
#define SMFIR_SKIP 's'
#define SMFIR_TEMPFAIL 't'
#define SMFIR_REPLYCODE 'y'

/* SMFIM_: the stages of a macro list in the OPTNEG reply (mfapi.h) */
enum milter_macstage_e
{
  SMFIM_CONNECT = 0,
  SMFIM_HELO,
  SMFIM_ENVFROM,
  SMFIM_ENVRCPT,
  SMFIM_DATA,
  SMFIM_EOM,
  SMFIM_EOH,
  SMFIM_N
} ;

/* What a stage's answer means to the session */
enum milter_act_e
{
  MILTER_CONTINUE = 0, /* go on (also: the filter skips this stage, or accepted earlier) */
  MILTER_ACCEPT,       /* accept; the filter sees nothing more of this message (or connection, at connect/HELO) */
  MILTER_REJECT,       /* 5xx: reply holds the filter's reply (SMFIR_REPLYCODE 5xx) or "" (use our default 550 5.7.1) */
  MILTER_TEMPFAIL,     /* 4xx: reply as for REJECT (SMFIR_REPLYCODE 4xx, SHUTDOWN's 421) or "" (our default 451 4.7.1) */
  MILTER_DISCARD,      /* accept the message and drop it (at MAIL/RCPT/DATA/EOM: the whole message) */
  MILTER_FAIL          /* the filter is down, timed out or broke the protocol: the caller applies on-failure */
} ;

/* timeouts in seconds (ketch.conf: timeout filter-connect|filter-command|filter-data) */
typedef struct milter_timeouts_s milter_timeouts ;
struct milter_timeouts_s
{
  unsigned int connect ;   /* connect + option negotiation; Postfix milter_connect_timeout 30s */
  unsigned int command ;   /* each SMTP-stage command; milter_command_timeout 30s */
  unsigned int data ;      /* each header/body/EOM packet's reply; milter_content_timeout 300s */
} ;

/* The macros we send (SMFIC_MACRO before each stage's command). One set
   per session, filled by the caller as it learns things; 0 = not sent.
   Names as Sendmail/Postfix: j, {daemon_name}, {daemon_addr}, {client_addr},
   {client_name}, {client_port}, {client_ptr}, {if_addr}, {if_name}, _,
   {tls_version}, {cipher}, {cipher_bits}, {cert_subject}, {cert_issuer},
   i, {auth_type}, {auth_authen}, {auth_author}, {mail_mailer}, {mail_host},
   {mail_addr}, {rcpt_mailer}, {rcpt_host}, {rcpt_addr}, v */
typedef struct milter_macro_s milter_macro ;
struct milter_macro_s
{
  char const *name ;
  char const *value ;   /* 0: not sent */
} ;

/* Which macros go with which stage: the session builds one array per
   stage (NULL-name terminated) and passes it to the stage's call; 0 is
   an empty array. If the filter asked for a list at that stage
   (SMFIM_), only the macros named in it are sent. */

/* A modification the filter asked for at end of message (SMFIR_*),
   validated for framing: NUL-terminated strings inside the packet, the
   action negotiated in SMFIC_OPTNEG, a header name non-empty, printable
   and without ':'. Strings live in mods->data at the given offsets,
   NUL-terminated; content checks (no bare CR/LF in a header value) are
   msgedit's. */
enum milter_mod_e
{
  MILTER_MOD_ADDHDR = 'h',   /* name, value: append a header */
  MILTER_MOD_INSHDR = 'i',   /* index, name, value: insert at index (0 = first; our Received stays above) */
  MILTER_MOD_CHGHDR = 'm',   /* index, name, value: change the index-th (1-based) header of that name; empty value deletes */
  MILTER_MOD_REPLBODY = 'b', /* a: one chunk of the new body (CRLF line ends); chunks concatenate in order */
  MILTER_MOD_ADDRCPT = '+',  /* a: address (maybe in <>); b: ESMTP args or empty ('2', SMFIR_ADDRCPT_PAR) */
  MILTER_MOD_DELRCPT = '-',  /* a: address */
  MILTER_MOD_CHGFROM = 'e',  /* a: address; b: ESMTP args or empty */
  MILTER_MOD_QUARANTINE = 'q' /* a: reason */
} ;

typedef struct milter_mod_s milter_mod ;
struct milter_mod_s
{
  char type ;            /* enum milter_mod_e */
  uint32_t index ;       /* INSHDR, CHGHDR */
  size_t a, alen ;       /* offsets into milter_mods.data: name, address, chunk or reason */
  size_t b, blen ;       /* value or args; blen 0 when none */
} ;

typedef struct milter_mods_s milter_mods ;
struct milter_mods_s
{
  genalloc list ;   /* milter_mod, in the order the filter sent them */
  stralloc data ;
} ;
#define MILTER_MODS_ZERO { .list = GENALLOC_ZERO, .data = STRALLOC_ZERO }

/* forgets the modifications, keeps the allocations (for the next message) */
extern void milter_mods_reset (milter_mods *) ;
extern void milter_mods_free (milter_mods *) ;

typedef struct milter_s milter ;
struct milter_s
{
  char const *name ;        /* the configuration's filter name: for logs */
  int fd ;                  /* -1: not connected (down, or closed) */
  uint32_t actions ;        /* SMFIF_* the filter may take (negotiated) */
  uint32_t pflags ;         /* SMFIP_* it negotiated (stages skipped, no-reply stages) */
  int done_conn ;           /* accepted/discarded at connect or HELO: nothing more this connection */
  int done_msg ;            /* accepted/skipped the rest of this message */
  int skip_body ;           /* SMFIR_SKIP: no more body chunks for this message (cleared with done_msg) */
  int in_msg ;              /* MAIL was given for this message and neither EOM nor abort ended it */
  size_t modmax ;           /* the caller's: the most octets of modifications one EOM may bring; 0: MILTER_MODS_MAX */
  milter_timeouts t ;
  stralloc reply ;          /* the last REJECT/TEMPFAIL's SMTP reply ("550 5.7.1 text"), lines CRLF-joined, or empty; NUL-terminated when not empty */
  stralloc buf ;            /* packet buffer */
  stralloc syms ;           /* the filter's macro lists (SMFIR_SETSYMLIST data), each " name name " */
  size_t symoff[SMFIM_N] ;  /* offset of each stage's list in syms; (size_t)-1: none asked, send all */
  tain deadline ;           /* the current step's */
  char const *err ;         /* after MILTER_FAIL: why, one word for the log ("connect", "timeout", "eof", "protocol", "toolarge", ...) */
} ;
#define MILTER_ZERO { .name = 0, .fd = -1, .actions = 0, .pflags = 0, .done_conn = 0, .done_msg = 0, .skip_body = 0, .in_msg = 0, .modmax = 0, .t = { 0, 0, 0 }, .reply = STRALLOC_ZERO, .buf = STRALLOC_ZERO, .syms = STRALLOC_ZERO, .symoff = { (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1 }, .deadline = TAIN_ZERO, .err = 0 }

/* address: "unix:/path" or "inet:host:port" (host an IPv4/IPv6 literal;
   "inet:[::1]:port" and "inet6:[::1]:port" or "inet6:::1:port" too).
   Connects and negotiates (SMFIC_OPTNEG: version 6, every action we
   implement, every SMFIP_ flag we can honour), both within t->connect.
   MILTER_CONTINUE, or MILTER_FAIL with m->err ("address", "connect",
   "timeout", "eof", "protocol", ...) and fd -1. */
extern int milter_open (milter *, char const *name, char const *address, milter_timeouts const *) ;

/* the stages, in SMTP order; each returns enum milter_act_e; a stage the
   filter negotiated away (SMFIP_NO*) or a filter that is done returns
   MILTER_CONTINUE without I/O (a skipped stage's macros wait for the
   next command); with SMFIP_NR_* nothing is read back.
   On MILTER_FAIL the connection is closed (fd -1) and every later call
   returns MILTER_FAIL without I/O, m->err kept.
   family: '4', '6', 'L' (local: sendmail), 'U' (unknown: no port, no addr) */
extern int milter_connect (milter *, milter_macro const *, char const *hostname, char family, uint16_t port, char const *addr) ;
extern int milter_helo (milter *, milter_macro const *, char const *helo) ;
/* argv: "<sender>" then ESMTP parameters, NULL-terminated */
extern int milter_mail (milter *, milter_macro const *, char const *const *argv) ;
extern int milter_rcpt (milter *, milter_macro const *, char const *const *argv) ;  /* REJECT/TEMPFAIL: this recipient only */
extern int milter_data (milter *, milter_macro const *) ;
/* the message stage: the caller sends every header (name, value as stored,
   the ':' excluded, the leading space included, folded lines joined by
   "\r\n"... see msgedit_headers), then EOH, body chunks (CRLF line ends,
   <= MILTER_CHUNK each), then EOM */
extern int milter_header (milter *, char const *name, size_t nlen, char const *value, size_t vlen) ;
extern int milter_eoh (milter *, milter_macro const *) ;
extern int milter_body (milter *, char const *, size_t) ;   /* SMFIR_SKIP: skip_body set, CONTINUE, later chunks not sent */
/* appends the filter's modifications to mods (PROGRESS answered by
   waiting again, each one restarting the data deadline, at most
   MILTER_PROGRESS_MAX times); the final action is the return value.
   On MILTER_FAIL, the modifications appended so far are the caller's to
   ignore (it should: the filter broke mid-answer) */
extern int milter_eom (milter *, milter_macro const *, milter_mods *) ;
/* the end of one message (RSET, a refused DATA, a reply sent): SMFIC_ABORT, no reply; done_msg cleared */
extern void milter_abort (milter *) ;
/* SMFIC_QUIT and close; m->buf/reply/syms freed */
extern void milter_close (milter *) ;

/* The parser under every read (exported for the fuzzer and the unit test):
   one reply packet's command byte and data; stage is the SMFIC_ command
   it answers (SMFIC_OPTNEG included: then the negotiated actions, flags
   and macro lists are stored in m); mods 0 outside EOM. Returns an enum
   milter_act_e, or -1 (protocol error, m->err set), or -2 for a
   modification appended / PROGRESS / SKIP (read again; after SKIP the
   caller stops reading: SKIP is final for the chunk, see milter_body).
   Never reads outside [p, p+len). */
extern int milter_reply_parse (milter *, char stage, char cmd, char const *p, size_t len, milter_mods *) ;

#endif
