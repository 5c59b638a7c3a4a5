/* ISC license: see LICENSE. */

#ifndef KETCH_DOVECOTAUTH_H
#define KETCH_DOVECOTAUTH_H

#include <stddef.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "exitcodes.h"

/*
 * Dovecot's authentication client protocol (version 1, Dovecot's
 * doc/developer auth_protocol), the way Postfix's smtpd_sasl_type =
 * dovecot speaks it: smtp-session, unprivileged, asks Dovecot's
 * auth-client socket whether a client's credentials are right, and
 * never sees a password database.
 *
 *   C: VERSION 1 2 / CPID pid
 *   S: VERSION 1 x / MECH name flags... / SPID / CUID / COOKIE / DONE
 *   C: AUTH id mech service=smtp nologin [secured] rip= lip= resp=base64
 *   S: CONT id base64 (C: CONT id base64) ... / OK id [user=] / FAIL id [temp]
 *
 * Lines end with LF and their fields are separated by TAB; a field's
 * TAB, CR, LF, NUL and \001 are escaped with \001 (dovecotauth_escape).
 * Only PLAIN and LOGIN are spoken (the SMTP session decodes them itself,
 * RFC 4616 and the LOGIN draft): a MECH line of another name, or one
 * flagged "private" (not to be offered), leaves its bit unset.
 *
 * The parser is total and bounded: any octets give a reply kind, and a
 * line longer than DOVECOTAUTH_LINE_MAX (Dovecot's own limit,
 * AUTH_CLIENT_MAX_LINE_LENGTH) is a protocol error, never a buffer
 * overrun. Everything that is not the protocol (a wrong id, an unknown
 * reply where an answer is due, a major version but 1, silence past the
 * deadline, a closed socket) is a temporary failure: the SMTP client
 * gets 454 4.7.0 and may retry; only FAIL without "temp" is a refusal.
 */

#define DOVECOTAUTH_LINE_MAX 16384
#define DOVECOTAUTH_USER_MAX 255

/* the mechanisms spoken here, as bits of a handshake's MECH lines */
#define DOVECOTAUTH_PLAIN 0x01
#define DOVECOTAUTH_LOGIN 0x02

enum dovecotauth_kind_e
{
  DOVECOTAUTH_BAD = 0,   /* not a line of the protocol (no name, a bad number, too few fields) */
  DOVECOTAUTH_UNKNOWN,   /* a well-formed line of a command we do not know: ignored in the handshake */
  DOVECOTAUTH_VERSION,
  DOVECOTAUTH_MECH,
  DOVECOTAUTH_SPID,
  DOVECOTAUTH_CUID,
  DOVECOTAUTH_COOKIE,
  DOVECOTAUTH_DONE,
  DOVECOTAUTH_OK,
  DOVECOTAUTH_FAIL,
  DOVECOTAUTH_CONT
} ;

/* one server line, parsed; pointers into the line */
typedef struct dovecotauth_reply_s dovecotauth_reply ;
struct dovecotauth_reply_s
{
  enum dovecotauth_kind_e kind ;
  unsigned int major ;      /* VERSION */
  unsigned int mech ;       /* MECH: DOVECOTAUTH_PLAIN or _LOGIN when offered, else 0 */
  unsigned int id ;         /* OK, FAIL, CONT */
  int temp ;                /* FAIL: "temp" or "code=temp_fail", a failure of Dovecot's, not the client's */
  char const *data ;        /* CONT: the challenge (base64); OK, FAIL: user=, still escaped; else 0 */
  size_t datalen ;
} ;
#define DOVECOTAUTH_REPLY_ZERO { .kind = DOVECOTAUTH_BAD, .major = 0, .mech = 0, .id = 0, .temp = 0, .data = 0, .datalen = 0 }

/* parses one line (without its LF) into r; returns r->kind */
extern enum dovecotauth_kind_e dovecotauth_parse (char const *, size_t, dovecotauth_reply *) ;

/* appends s escaped for a field; 1, or 0 (out of memory) */
extern int dovecotauth_escape (stralloc *, char const *, size_t) ;
/* unescapes s into out (at most max octets); its length, or -1 (too long) */
extern ssize_t dovecotauth_unescape (char const *, size_t, char *, size_t) ;

/* the requests, appended to sa; 1, or 0 (out of memory) */
extern int dovecotauth_hello_fmt (stralloc *, unsigned int) ;
/* AUTH id mech: mech is DOVECOTAUTH_PLAIN or _LOGIN; rip, lip may be 0 */
#define DOVECOTAUTH_SECURED 0x01
extern int dovecotauth_auth_fmt (stralloc *, unsigned int, unsigned int, unsigned int, char const *, char const *, char const *, size_t) ;
extern int dovecotauth_cont_fmt (stralloc *, unsigned int, char const *, size_t) ;

/*
 * The client: a connection to the auth-client socket, its handshake
 * done. The buffer is the struct's: allocate it only where Dovecot is
 * configured (smtpd keeps a pointer).
 */
typedef struct dovecotauth_s dovecotauth ;
struct dovecotauth_s
{
  int fd ;                  /* -1: not connected */
  unsigned int mechs ;      /* DOVECOTAUTH_PLAIN | _LOGIN, what the handshake's MECH lines offer */
  unsigned int id ;         /* the last request's */
  size_t len ;              /* octets in buf */
  size_t skip ;             /* the line last read and its LF, dropped at the next read */
  char buf[DOVECOTAUTH_LINE_MAX + 1] ;
} ;

/* connects to the socket at path and does the handshake by deadline;
   1, or 0 and errno (EPROTO: the server does not speak the protocol) */
extern int dovecotauth_open (dovecotauth *, char const *, tain const *) ;
extern void dovecotauth_close (dovecotauth *) ;

/*
 * One authentication: mech (DOVECOTAUTH_PLAIN or _LOGIN), the client's
 * responses (PLAIN: its one message; LOGIN: user, then password): the
 * first goes as AUTH's resp=, each further one answers a CONT. flags:
 * DOVECOTAUTH_SECURED when the SMTP session is under TLS. rip and lip:
 * the client's and our address (text), or 0.
 * KETCH_RESULT_OK: right, user holds the name Dovecot gave (user=,
 * unescaped, NUL-ended) or is empty when it gave none; KETCH_RESULT_PERM:
 * wrong; KETCH_RESULT_TEMP: anything else (errno; EPROTO for a protocol
 * error), and the connection is closed.
 */
extern enum ketch_result dovecotauth_check (dovecotauth *, unsigned int, char const *const *, size_t const *, unsigned int, unsigned int, char const *, char const *, stralloc *, tain const *) ;

#endif
