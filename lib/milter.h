/* ISC license: see LICENSE. */

#ifndef KETCH_MILTER_H
#define KETCH_MILTER_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>
#include <skalibs/genalloc.h>

/*
 * PLACEHOLDER: the `milter` branch owns the real lib/milter.h (the milter
 * client, issue 19). This copy holds only the modification types of the
 * agreed API, verbatim, so that lib/msgedit builds and is tested on its
 * own; at the merge the other branch's file, which has the same types,
 * replaces this one.
 */

/* A modification the filter asked for at end of message (SMFIR_*),
   validated for framing: NUL-terminated strings inside the packet, the
   action negotiated in SMFIC_OPTNEG. Strings live in mods->data at the
   given offsets, NUL-terminated; content checks (no bare CR/LF in a
   header value, a printable header name without ':') are msgedit's. */
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

#endif
