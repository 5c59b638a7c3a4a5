/* ISC license: see LICENSE. */

#ifndef KETCH_MESSAGE_H
#define KETCH_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

/*
 * The message check and normaliser that every way into the queue uses.
 * The stored form has LF line ends (spool-layout/SPOOL, "stored form").
 * Input lines end with CRLF or LF; a CR not followed by LF ("bare CR") is
 * refused, and so is NUL. RFC 5322 §2.1.1: a line holds at most 998
 * octets before its line end. A final line without an end gets one.
 *
 * With MESSAGE_DOTS the input is a dot-terminated stream (the SMTP DATA
 * encoding of RFC 5321 §4.5.2, with LF line ends): a line holding only a
 * dot ends the message, and a leading dot is removed from every other line.
 */
#define MESSAGE_LINE_MAX 998
#define MESSAGE_DOTS 0x01

/*
 * The hop count of RFC 5321 §6.3: the Received fields of the header
 * section, counted as the octets stream by (no second pass). A field
 * name matches case-insensitively, with optional blanks before its colon
 * (RFC 5322 §4.5.3's obsolete form); a folded continuation line is not a
 * new field; the first empty line ends the header section. CRs are
 * ignored, so the stored form and the wire form count alike.
 */
typedef struct message_hops_s message_hops, *message_hops_ref ;
struct message_hops_s
{
  unsigned int count ;
  unsigned char state ;
  unsigned char match ;  /* octets of "received" matched so far */
} ;
#define MESSAGE_HOPS_ZERO { .count = 0, .state = 0, .match = 0 }
#define MESSAGE_HOPS_BODY 4   /* the header section is over: nothing more to count */

extern void message_hops_feed (message_hops *, char const *, size_t) ;

enum message_error_e
{
  MESSAGE_OK = 0,
  MESSAGE_ENUL,
  MESSAGE_EBARECR,
  MESSAGE_ELINE,
  MESSAGE_ESIZE,
  MESSAGE_ETRUNC,
  MESSAGE_EHOPS,
  MESSAGE_NERRORS
} ;

typedef struct message_s message, *message_ref ;
struct message_s
{
  uint64_t size ;       /* octets stored so far */
  uint64_t max ;        /* 0: no limit */
  size_t linelen ;
  unsigned int options ;
  int bol ;             /* at the beginning of a line */
  int cr ;              /* the previous octet was a CR */
  int dot ;             /* DOTS: the line began with a dot */
  int done ;            /* DOTS: the terminating dot line was seen */
  int has8bit ;
  int err ;
  unsigned int maxhops ; /* more Received fields than this: MESSAGE_EHOPS; 0: no limit */
  message_hops hops ;
} ;
#define MESSAGE_ZERO { .size = 0, .max = 0, .linelen = 0, .options = 0, .bol = 1, .cr = 0, .dot = 0, .done = 0, .has8bit = 0, .err = 0, .maxhops = 0, .hops = MESSAGE_HOPS_ZERO }

extern size_t message_feed (message *, char const *, size_t, stralloc *) ;
extern int message_finish (message *, stralloc *) ;
extern char const *message_strerror (int) ;

#endif
