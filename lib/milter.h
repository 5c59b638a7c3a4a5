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
 * it; Postfix's MILTER_README says what a filter may do at each stage.
 * There is no RFC: the names below (SMFIC_ commands, SMFIR_ replies,
 * SMFIF_ actions, SMFIP_ protocol flags, SMFIM_ macro stages) are
 * libmilter's, so that a reader can hold this file beside mfdef.h.
 *
 * One connection per filter per SMTP session, never shared between
 * sessions (and so never between users): SMFIC_QUIT_NC, which hands a
 * connection on to the next session, is never sent. I/O is blocking in
 * effect but bounded: every write and read runs under an absolute
 * deadline (iopause), t.connect for the connect and SMFIC_OPTNEG,
 * t.command for each SMTP-stage command, t.data for each header, body
 * chunk and EOM. A filter that does not answer in time is down:
 * MILTER_FAIL with err "timeout", within the timeout.
 *
 * Packets, both ways: a 4-octet big-endian length (the command byte
 * included), the command byte, the data. Strings are NUL-terminated
 * (a NUL inside a string we send ends it: the protocol cannot carry
 * it). What we send (SMFIC_):
 *   'O' OPTNEG   version, actions, protocol flags (3 x uint32)
 *   'D' MACRO    the stage's command byte, then name NUL value NUL pairs
 *   'C' CONNECT  hostname NUL, family ('4' '6' 'L' 'U'), then unless
 *                'U' the port (uint16) and the address (a path for 'L') NUL
 *   'H' HELO     the HELO/EHLO argument NUL
 *   'M' MAIL     "<sender>" NUL, then each ESMTP parameter NUL
 *   'R' RCPT     "<recipient>" NUL, then each parameter NUL
 *   'T' DATA     (empty)
 *   'L' HEADER   name NUL value NUL (a folded value's lines joined by LF,
 *                as Sendmail sends them; the caller gives CRLF)
 *   'N' EOH      (empty)
 *   'B' BODY     a chunk of the body, CRLF line ends, <= MILTER_CHUNK
 *   'E' BODYEOB  (empty): the end of the message; the filter's
 *                modifications, then its verdict, follow
 *   'A' ABORT    (empty, no reply): the message is over
 *   'Q' QUIT     (empty, no reply): the connection is over
 *
 * Negotiation (SMFIC_OPTNEG): we offer version 6, every SMFIF_ action
 * (MILTER_ACTIONS: we implement them all) and the SMFIP_ flags we can
 * honour (MILTER_PFLAGS); the filter answers with those it wants. An
 * action we did not offer, or a version outside 2..6, is refused (a
 * protocol error), as Postfix's milter8_connect refuses it; flags we do
 * not know (libmilter's SMFIP_MDS_* data sizes) are ignored, as Postfix
 * ignores them. A filter of version 2 or 3 is not sent DATA (SMFIC_DATA
 * came with version 4). After the three words the reply may carry
 * macro lists (uint32 SMFIM_ stage, then names separated by spaces,
 * NUL: smfi_setsymlist's data): a stage with a list gets only the
 * macros named in it ("{auth_type}" and "auth_type" name the same),
 * the others all the session gives; an unknown stage's list is ignored.
 *
 * The protocol flags:
 *  - SMFIP_NO*: the command is not sent, and the call returns
 *    MILTER_CONTINUE without I/O; the stage's macros are kept and go
 *    out with the next command, as Postfix sends macros even for a
 *    skipped event (libmilter keeps them for the later callbacks);
 *  - SMFIP_NR_*: the command is sent and no reply is read;
 *  - SMFIP_SKIP: the filter may answer a body chunk with SMFIR_SKIP:
 *    no more body is sent for this message (skip_body);
 *  - SMFIP_HDR_LEADSPC is not offered: a header's value goes without
 *    the one space after the ':', as Sendmail and Postfix send it, and a
 *    value the filter gives back gets that space from msgedit, as
 *    Postfix adds one. Offered, a filter that takes it (OpenDKIM does)
 *    sends its own fields with their space, msgedit adds a second, and
 *    a signature made over "From:Alice" with simple canonicalization no
 *    longer verifies (t/filter-opendkim.t). A filter that sets it
 *    unasked has it dropped, as every flag we did not offer;
 *  - SMFIP_RCPT_REJ is not offered: the session gives a filter only the
 *    recipients it accepted.
 *
 * The replies (SMFIR_), and where each is allowed (Postfix's
 * milter8_event; anything else is a protocol error):
 *  - 'c' CONTINUE, 'a' ACCEPT, 'r' REJECT, 't' TEMPFAIL, 'd' DISCARD,
 *    with no data, at every stage;
 *  - 'y' REPLYCODE, at every stage: "ddd text" NUL, or lines joined by
 *    CRLF (libmilter's smfi_setmlreply; a bare LF is taken as a line
 *    end too). The code is 4xx (TEMPFAIL) or 5xx (REJECT) and the same
 *    on every line, an enhanced code of the same class, the text
 *    printable ASCII or HT; "%%" is '%' (Sendmail's format strings, as
 *    Postfix undoes them). m->reply gets it CRLF-joined, '-' after the
 *    code on every line but the last, NUL-terminated: the session
 *    writes it as is, plus CRLF;
 *  - '4' SHUTDOWN, 'f' CONN_FAIL: TEMPFAIL with the reply
 *    "421 4.7.0 Server closing connection" and done_conn: the session
 *    says it and closes. Postfix answers SHUTDOWN so and stops talking
 *    to the filter; it does not know CONN_FAIL ("cause a connection
 *    failure", mfdef.h): the same here, which fails safe;
 *  - 'p' PROGRESS, at every stage (Postfix allows it so): wait again,
 *    the stage's deadline restarted, at most MILTER_PROGRESS_MAX times
 *    per command;
 *  - 's' SKIP: only to a body chunk, only with SMFIP_SKIP;
 *  - the modifications, only at EOM, each only if its SMFIF_ action was
 *    negotiated: 'h' ADDHEADER and 'i' INSHEADER (ADDHDRS, as libmilter
 *    checks them), 'm' CHGHEADER (CHGHDRS; index 0 taken as 1, as
 *    Postfix does), 'b' REPLBODY (CHGBODY; raw octets), '+' ADDRCPT
 *    (ADDRCPT), '2' ADDRCPT_PAR (ADDRCPT_PAR; the arguments may be
 *    left out), '-' DELRCPT (DELRCPT), 'e' CHGFROM (CHGFROM; the same),
 *    'q' QUARANTINE (QUARANTINE; a reason). One EOM's modifications are
 *    bounded in total (m->modmax): more is "toolarge".
 *
 * What a verdict does to the filter's state:
 *  - at connect or HELO, ACCEPT, REJECT and TEMPFAIL set done_conn: the
 *    filter sees nothing more of this connection (the session refuses
 *    what follows after a REJECT or TEMPFAIL there, as Postfix does);
 *    DISCARD there is ignored (CONTINUE), as Postfix ignores it;
 *  - at MAIL, DATA, a header, EOH, a body chunk or EOM, ACCEPT, REJECT,
 *    TEMPFAIL and DISCARD end the message for the filter (done_msg);
 *    at RCPT, REJECT and TEMPFAIL concern that recipient only, ACCEPT
 *    and DISCARD (which drops the whole message) end the message;
 *  - a 421 REPLYCODE, like SHUTDOWN, sets done_conn: the session
 *    closes after saying it (RFC 5321 §3.8), as Postfix does.
 * A message ends for the filter at EOM, or with milter_abort (ABORT),
 * which a new MAIL sends itself if the caller did not.
 *
 * Every reply packet is parsed by milter_reply_parse, bounded and total
 * (t/fuzz/milter.c): a packet over MILTER_PACKET_MAX, an unknown reply,
 * a reply not allowed at the stage, a modification the filter did not
 * negotiate, or malformed data is a protocol error: MILTER_FAIL, the
 * connection closed (shut down first: no late reply is ever read as an
 * answer), m->err says why. The session then applies the filter's
 * on-failure action (tempfail by default, as Postfix's
 * milter_default_action recommends; accept if configured).
 *
 * This module never logs and never dies: the caller logs the action
 * with m->name and, after a failure, m->err.
 */

#define MILTER_PACKET_MAX (1 << 20)   /* the largest reply we read: far above libmilter's (a REPLBODY chunk of 64 kB) */
#define MILTER_CHUNK 65535            /* the largest SMFIC_BODY chunk we send (libmilter MILTER_CHUNK_SIZE) */
#define MILTER_PROGRESS_MAX 1000      /* SMFIR_PROGRESS answers to one command: each restarts its deadline */
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
#define MILTER_PFLAGS (0x1fffffU & ~(SMFIP_RCPT_REJ | SMFIP_HDR_LEADSPC))   /* all but RCPT_REJ and HDR_LEADSPC (we never send UNKNOWN: NOUNKNOWN/NR_UNKN are free) */

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
   action negotiated in SMFIC_OPTNEG, a header name non-empty, printable,
   without ':' or space; an address, arguments or a reason without
   control characters (an address non-empty). Strings live in mods->data at the given offsets,
   NUL-terminated; content checks (no bare CR/LF in a header value) are
   msgedit's. */
enum milter_mod_e
{
  MILTER_MOD_ADDHDR = 'h',   /* name, value: append a header */
  MILTER_MOD_INSHDR = 'i',   /* index, name, value: insert at index (0 = first; our Received stays above) */
  MILTER_MOD_CHGHDR = 'm',   /* index, name, value: change the index-th (1-based; the filter's 0 given as 1) header of that name; empty value deletes */
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
  int done_conn ;           /* nothing more this connection: a verdict at connect or HELO, SHUTDOWN, a 421 */
  int done_msg ;            /* nothing more of this message: a verdict (see the essay); cleared by EOM, milter_abort, MAIL */
  int skip_body ;           /* SMFIR_SKIP: no more body chunks for this message (cleared with done_msg) */
  int in_msg ;              /* MAIL was given for this message and neither EOM nor abort ended it */
  size_t modmax ;           /* the caller's: the most octets of modifications one EOM may bring; 0: MILTER_MODS_MAX */
  milter_timeouts t ;
  stralloc reply ;          /* the last REJECT/TEMPFAIL's SMTP reply ("550 5.7.1 text"), lines CRLF-joined, or empty; NUL-terminated when not empty */
  stralloc buf ;            /* packet buffer */
  stralloc syms ;           /* the filter's macro lists (smfi_setsymlist's), each NUL-terminated as it sent them */
  size_t symoff[SMFIM_N] ;  /* offset of each stage's list in syms; (size_t)-1: none asked, send all */
  tain deadline ;           /* the current step's */
  char const *err ;         /* after MILTER_FAIL: why, one word for the log ("connect", "timeout", "eof", "protocol", "toolarge", ...) */
} ;
#define MILTER_ZERO { .name = 0, .fd = -1, .actions = 0, .pflags = 0, .done_conn = 0, .done_msg = 0, .skip_body = 0, .in_msg = 0, .modmax = 0, .t = { 0, 0, 0 }, .reply = STRALLOC_ZERO, .buf = STRALLOC_ZERO, .syms = STRALLOC_ZERO, .symoff = { (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1, (size_t)-1 }, .deadline = TAIN_ZERO, .err = 0 }

/* address: "unix:/path" ("local:/path" too, as Postfix) or "inet:host:port"
   (host an IPv4/IPv6 literal; "inet:[::1]:port", "inet6:" for "inet:", and
   Sendmail's "inet:port@host" too; "inet:::1:port" is ::1 port port).
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
   "\r\n"... see msgedit_headers; on the wire they are joined by "\n" as
   Sendmail does), then EOH, body chunks (CRLF line ends; a chunk over
   MILTER_CHUNK is cut in packets of that size), then EOM. EOM ends the
   message for the filter (no milter_abort needed after it, harmless) */
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
