/* ISC license: see LICENSE. */

#ifndef KETCH_KEYD_H
#define KETCH_KEYD_H

#include <stddef.h>
#include <sys/types.h>

#include <skalibs/tai.h>

/*
 * The protocol between an SMTP session and smtp-keyd, the process that
 * alone reads the TLS private key and the auth table (smtp-keyd(8)).
 *
 * A session opens a channel: a SOCK_SEQPACKET socket pair whose one end
 * it passes to smtp-keyd through the door, a SOCK_SEQPACKET socket that
 * every session inherits from smtp-listen. On the channel each message is
 * one request, answered by one reply, but for 'P', which gets none:
 *
 *   'K'                  read the key: the reply is '+' and its BearSSL
 *                        key type (BR_KEYTYPE_RSA or BR_KEYTYPE_EC)
 *   'S' HASHID HASH      sign a TLS 1.2 ServerKeyExchange hash: HASHID is
 *                        TLS 1.2's hash id (RFC 5246 §7.4.1.4.1: 2 SHA-1
 *                        to 6 SHA-512), HASH exactly that hash's length
 *   'A' ULEN USER PASS   check USER (ULEN octets, 1 to 255) and PASS (the
 *                        rest, up to KEYD_PASS_MAX octets, no NUL)
 *   'P' ID PARAMS        save a TLS session for resumption (RFC 5246
 *                        §7.3): ID its session ID (KEYD_SESSION_ID
 *                        octets), PARAMS (KEYD_SESSION_PARAMS octets) its
 *                        protocol version and cipher suite (two octets
 *                        each, big-endian) and its master secret (48);
 *                        not answered, so that the session sends its
 *                        Finished without waiting for the cache (a save
 *                        that fails is a later miss: a full handshake)
 *   'L' ID               load the session of ID: the reply is '+' and
 *                        its PARAMS, or '-'
 *
 *   '+' [DATA]           key type, signature, session, or the password
 *                        is right
 *   '-'                  wrong user or password; no such session
 *   '!'                  refused or failed: a request that does not parse
 *                        also ends its channel
 *
 * Only hashes of a valid length are signed: a session can obtain
 * signatures while it runs, never the key. A session obtains the
 * parameters of a cached session only by its ID, which its own client
 * presents (smtp-keyd(8) says what this exposes, and for how long).
 */

#define KEYD_KEY 'K'
#define KEYD_SIGN 'S'
#define KEYD_AUTH 'A'
#define KEYD_SAVE 'P'
#define KEYD_LOAD 'L'
#define KEYD_OK '+'
#define KEYD_NO '-'
#define KEYD_FAIL '!'

#define KEYD_USER_MAX 255
#define KEYD_PASS_MAX 1024
#define KEYD_REQ_MAX (2 + KEYD_USER_MAX + KEYD_PASS_MAX)
/* RSA-4096 (BearSSL's largest) signs in 512 octets, ECDSA P-521 in 139 */
#define KEYD_SIG_MAX 512
#define KEYD_REP_MAX (1 + KEYD_SIG_MAX)
/* BearSSL's server makes session IDs of 32 octets, and resumes only those */
#define KEYD_SESSION_ID 32
#define KEYD_SESSION_PARAMS (2 + 2 + 48)

typedef struct keyd_req_s keyd_req ;
struct keyd_req_s
{
  char type ;            /* KEYD_KEY, KEYD_SIGN, KEYD_AUTH, KEYD_SAVE or KEYD_LOAD */
  unsigned int hash_id ; /* KEYD_SIGN */
  char const *data ;     /* the hash, the user name, or the session ID */
  size_t len ;
  char const *pass ;     /* KEYD_AUTH; KEYD_SAVE: the session's PARAMS */
  size_t passlen ;
} ;

/* the output length of TLS 1.2 hash id (2 to 6), 0 for any other */
extern size_t keyd_hash_len (unsigned int) ;
/* 1 and r filled (pointers into s), or 0: not a well-formed request */
extern int keyd_req_parse (char const *, size_t, keyd_req *) ;
/* a request into buf (KEYD_REQ_MAX octets): its length, 0 if the arguments cannot be sent */
extern size_t keyd_sign_fmt (char *, unsigned int, char const *, size_t) ;
extern size_t keyd_auth_fmt (char *, char const *, size_t, char const *, size_t) ;
/* ID (KEYD_SESSION_ID octets) and PARAMS (KEYD_SESSION_PARAMS), or ID alone: the request's length */
extern size_t keyd_save_fmt (char *, char const *, char const *) ;
extern size_t keyd_load_fmt (char *, char const *) ;

/* a new channel through the door: its descriptor (close-on-exec), or -1 (errno) */
extern int keyd_open (int, tain const *) ;
/* one request, one reply into rep (KEYD_REP_MAX octets): the reply's length, or -1 (errno; ETIMEDOUT) */
extern ssize_t keyd_call (int, char const *, size_t, char *, tain const *) ;
/* one request that gets no reply (KEYD_SAVE), sent only if the channel takes it at once: 1, or 0 (errno) */
extern int keyd_post (int, char const *, size_t) ;

#endif
