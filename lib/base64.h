/* ISC license: see LICENSE. */

#ifndef KETCH_BASE64_H
#define KETCH_BASE64_H

#include <stddef.h>

#include <skalibs/stralloc.h>

/*
 * base64 (RFC 4648 §4: the standard alphabet, "=" padding), as SMTP
 * AUTH carries it (RFC 4954 §4): one unbroken string, no blanks, no line
 * ends. Encoding: the SMTP client's AUTH PLAIN and LOGIN answers.
 * Decoding: what a client sends the server for AUTH; it is untrusted and
 * bounded by the caller's buffer.
 *
 * The decoder takes exactly the encoder's output language: a length
 * that is a multiple of 4, padding only at the end of the last quantum
 * (1 or 2 "="), no other octet outside the alphabet. The unused bits of
 * a padded last quantum are not checked (RFC 4648 §3.5 allows either).
 */

/* the encoded length of n octets */
#define BASE64_LEN(n) ((((n) + 2) / 3) * 4)

/* appends the encoding of s[0..len). 1, or 0 (ENOMEM) */
extern int base64_cat (stralloc *, char const *, size_t) ;

/*
 * Decodes s[0..len) into out, at most max octets: 1 with *outlen set;
 * 0 if s is not base64 or decodes to more than max octets (out may then
 * hold a part of it).
 */
extern int base64_decode (char const *, size_t, char *, size_t, size_t *) ;

#endif
