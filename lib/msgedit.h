/* ISC license: see LICENSE. */

#ifndef KETCH_MSGEDIT_H
#define KETCH_MSGEDIT_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include "milter.h"

/*
 * A message held in memory in the spool's stored form (LF line ends, no
 * dot-stuffing, ends with LF; spool-layout/SPOOL), read for the filters
 * (issue 19) and changed by what they ask for at end of message, before
 * enqueue writes it: the stored message is the filtered one.
 *
 * The header section (RFC 5322 §2.2). A field starts with a name (one
 * or more printable US-ASCII octets other than ':', 33..126) and ':' at
 * the start of a line; blanks between the name and the ':' (the obsolete
 * syntax of RFC 5322 §4.5) are read and are not part of the name. It
 * continues on the lines that start with SP or HT (§2.2.3 folding). The
 * section is the run of such lines at the start of the message, and ends
 * at the first line that is neither: an empty line (the separator, part
 * of neither header nor body), or any other line, which then starts the
 * body without a separator (a malformed message, or one with no header
 * section at all: what enqueue already accepts, read the way Postfix
 * reads it); or at the end of the message (no body).
 *
 * Our own Received field is not in the message these functions get: the
 * session prepends it after the filters ran, so the filters never see
 * it, their header indexes do not count it, and it stays the first
 * field whatever they insert (issue 19, point 2).
 *
 * The leading space. We negotiate without SMFIP_HDR_LEADSPC, as Postfix
 * does by default, so the single SP after the ':' is ours, not the
 * filter's, both ways: msgedit_headers gives a value without it (one SP,
 * if there is one; not a HT, not a second SP: Postfix's milter8.c eats
 * exactly that much, as Sendmail does), and msgedit_apply always writes
 * "name: value". A field read and written back unchanged is unchanged to
 * the octet when it had that one space, which is what a DKIM signer with
 * "simple" header canonicalization relies on. (The lead's draft said "a
 * leading space is added unless the value starts with one": that would
 * drop one space of a value that starts with SP, unlike Postfix and
 * Sendmail, and break that round trip.)
 *
 * The edits (milter_mods from lib/milter, the filter's SMFIR_* replies
 * at end of message). Only the header and body ones are msgedit's; the
 * envelope ones (ADDRCPT, DELRCPT, CHGFROM) and QUARANTINE are the
 * caller's and are passed over. They apply in the order the filter sent
 * them, each to the result of the ones before (as Postfix and libmilter
 * do: "later filters see the changes of earlier ones" holds within one
 * filter too). Header indexes are those of libmilter, counted on that
 * current list of fields:
 *
 *   ADDHDR name value     appends the field after the last field.
 *   INSHDR i name value   inserts it before the field at 0-based
 *                         position i among all fields (smfi_insheader):
 *                         0 puts it first; i at or past the number of
 *                         fields appends it.
 *   CHGHDR i name value   the i-th (1-based) field whose name equals
 *                         name, ASCII case-insensitively (smfi_chgheader;
 *                         i 0 is taken as 1, as Postfix does for Sendmail
 *                         compatibility): a non-empty value replaces the
 *                         field in place (written with the filter's
 *                         spelling of the name), an empty value deletes
 *                         it. With fewer than i such fields, a non-empty
 *                         value appends the field, as Postfix's
 *                         cleanup_upd_header and the libmilter manual say;
 *                         an empty value does nothing.
 *   REPLBODY chunk        the chunks of every REPLBODY concatenate, in
 *                         order, into the new body, whatever comes between
 *                         them. CRLF becomes LF; a final line without its
 *                         CRLF gets a LF; an empty concatenation is an
 *                         empty body.
 *
 * What a filter gives is checked here, and nothing it gives can change
 * the message's line structure (issue 19, point 4). In a header value,
 * "\r\n" or "\n" followed by SP or HT is folding, stored as LF and that
 * blank; any other CR or LF, a NUL, a continuation line of blanks only
 * (an obsolete form some readers take for the end of the header
 * section: a way to smuggle a body line into the header), a name that is
 * empty or holds ':' or an octet outside 33..126, or a line over 998
 * octets (RFC 5322 §2.1.1, MESSAGE_LINE_MAX) is refused with EPROTO: the
 * filter broke the protocol, and the caller treats it as down. In a new
 * body, a CR not followed by LF, a LF not preceded by CR, a NUL or a
 * line over 998 octets is EPROTO. A result over max octets is EFBIG.
 * Octets 128..255 pass, as enqueue lets them pass in a message.
 *
 * The separator is written when the message had one, or when the new
 * message has a body and either has fields or has a body whose first
 * line would otherwise read as a field or as the separator: a body line
 * never becomes a field or a continuation, and the new message reads
 * back as the fields and the body that were meant. A message without a
 * body, without a header section, or with an empty body keeps its
 * shape.
 *
 * Every function here is total and bounded: any octets and any mods (the
 * offsets of a mod are checked against mods->data) are read without
 * going out of bounds; time is at most (message size + mods size) times
 * the number of fields; memory, besides out, is about the size of the
 * mods again (the new fields and body are the filter's strings, with
 * our ": " added and CRs taken out) and one small record per field,
 * whatever max, which is checked once, on the result. The
 * functions rely on msg being in stored form only for the form of their
 * own output: given a message that is not (a CR, a NUL, a last line
 * without LF), they still return, and msgedit_apply passes the old lines
 * through as they are, giving the last one its LF.
 */

/* calls f(ctx, name, nlen, value, vlen) for each header in order: name
   without the blanks before ':'; value is what follows the ':' without
   its first SP (SMFIP_HDR_LEADSPC not negotiated: see above), with each
   LF of the folding given as CRLF, the field's own line end left out, as
   the milter protocol carries it. f returns 1 to go on; any other value
   stops the walk, and is returned. Returns 1 when every header was given,
   or 0 with ENOMEM (a folded value is copied to give its CRLFs): an f
   that returns 0 should leave a mark of its own to tell the two apart */
typedef int msgedit_header_fn (void *, char const *, size_t, char const *, size_t) ;
extern int msgedit_headers (char const *msg, size_t len, msgedit_header_fn *, void *) ;

/* the body (after the separator, or from the line that ended the header
   section) with CRLF line ends, as chunks of at most max octets (0 is
   taken as 1; a chunk may end between a CR and its LF) to f, which
   returns 1 to go on; any other value stops and is returned. 1 when the
   whole body was given (no call for an empty body), or 0 (ENOMEM) */
typedef int msgedit_body_fn (void *, char const *, size_t) ;
extern int msgedit_body (char const *msg, size_t len, size_t max, msgedit_body_fn *, void *) ;

/*
 * Applies one filter's header and body modifications (ADDHDR, INSHDR,
 * CHGHDR, REPLBODY; the others are the caller's) to msg, in order,
 * writing the new message in stored form to out (replaced; on failure
 * its length is 0). 1 on success; or 0 with errno EPROTO (the filter
 * broke the protocol: treat it as down), EFBIG (the result would exceed
 * max octets; 0: no limit) or ENOMEM. msg itself is never changed, so a
 * failure leaves the message as it was; out must not hold msg (the next
 * filter's input is the last one's out: two strallocs, swapped).
 */
extern int msgedit_apply (char const *msg, size_t len, milter_mods const *, uint64_t max, stralloc *out) ;

/* writes msg (stored form) to fd as enqueue -S reads it: dot-stuffed,
   LF, then ".\n" (lib/enqclient's stuffing, enqclient_stuff_to); the
   caller may write whole lines before it (our Received field). The fd
   is blocking. 1, or 0 errno (EPIPE when the reader went away) */
extern int msgedit_write_stuffed (int fd, char const *msg, size_t len) ;

#endif
