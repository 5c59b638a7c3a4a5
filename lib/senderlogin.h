/* ISC license: see LICENSE. */

#ifndef KETCH_SENDERLOGIN_H
#define KETCH_SENDERLOGIN_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * Senders bound to logins (Postfix's smtpd_sender_login_maps with
 * reject_sender_login_mismatch, the map turned round): which addresses
 * an authenticated client may use as its MAIL FROM and in its From:
 * field.
 *
 * The map (sender-login-map FILE, ketch.conf(5)) is text, read at each
 * check as the auth-table is, so an edit needs no restart: lines
 * "login address-or-@domain ...", the words separated by blanks or
 * commas, '#' starting a comment line. A login may have several lines;
 * "@example.org" allows every address of that domain (not of its
 * subdomains). Logins, addresses and domains match without regard to
 * case (RFC 5321 §2.4 lets a local part be case-sensitive; no site
 * hands out addresses that differ only in case).
 *
 * The From: field is read as the message streams by (no second pass):
 * senderlogin_from_feed keeps the values of the header section's From
 * fields, unfolded, up to SENDERLOGIN_FROM_MAX octets in all; past that
 * the message cannot be checked and is refused (over). Each address of
 * each From field must be the login's (RFC 5322 §3.6.2 allows several
 * in one field); a message without a From field has none to check.
 */

#define SENDERLOGIN_FROM_MAX 4096
#define SENDERLOGIN_ADDR_MAX 320

/* 1: the map allows login to use addr; 0: not */
extern int senderlogin_allowed (char const *, size_t, char const *, size_t, char const *, size_t) ;

/* the same from the map file: 1 allowed, 0 not, -1 error (errno) */
extern int senderlogin_check (char const *, char const *, char const *) ;

/* the logins the map allows to use addr, each followed by a space, appended to sa; 1, or 0 (out of memory) */
extern int senderlogin_owners (char const *, size_t, char const *, size_t, stralloc *) ;

typedef struct senderlogin_from_s senderlogin_from ;
struct senderlogin_from_s
{
  unsigned char state ;
  unsigned char match ;   /* octets of "from" matched so far */
  unsigned char infrom ;  /* the current field is a From field (its continuation lines are too) */
  unsigned char over ;    /* the From fields outgrew SENDERLOGIN_FROM_MAX */
  unsigned int count ;    /* From fields seen */
  stralloc value ;        /* their values, unfolded, separated by ',' */
} ;
#define SENDERLOGIN_FROM_ZERO { .state = 0, .match = 0, .infrom = 0, .over = 0, .count = 0, .value = STRALLOC_ZERO }

/* starts a new message, keeping the memory */
extern void senderlogin_from_reset (senderlogin_from *) ;
/* the message's octets (wire form or stored form: CRs are ignored); 1, or 0 (out of memory) */
extern int senderlogin_from_feed (senderlogin_from *, char const *, size_t) ;

/*
 * The next address of a From value (a mailbox-list, RFC 5322 §3.4, or a
 * group): the angle-addr's content, else the addr-spec, without comments
 * and blanks, into addr (SENDERLOGIN_ADDR_MAX + 1 octets, NUL-ended).
 * *pos starts at 0. 1: an address; 0: no more; -1: one longer than
 * SENDERLOGIN_ADDR_MAX, or holding a NUL (refused: it cannot be the
 * login's).
 */
extern int senderlogin_from_next (char const *, size_t, size_t *, char *) ;

/*
 * The whole check of a message's From fields against the map text:
 * 1 every address is login's (or there is none), 0 one is not or the
 * fields outgrew the limit.
 */
extern int senderlogin_from_allowed (senderlogin_from const *, char const *, size_t, char const *, size_t) ;

#endif
