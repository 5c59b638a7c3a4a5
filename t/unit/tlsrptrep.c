/* ISC license: see LICENSE. */

/*
 * Unit test of lib/tlsrptrep: aggregation (policies by type and
 * strings, failures grouped, the bounds), JSON escaping and the report's
 * exact text, the stored gzip member (CRC-32 check value, block layout),
 * and the §5.3 message's header.
 */

#include <stdio.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include "tlsrpt.h"
#include "tlsrptrep.h"
#include "tap.h"

static tlsrpt_rec rec (unsigned int policy, unsigned int result, char const *ip, char const *s0)
{
  tlsrpt_rec r = { .policy = policy, .result = result, .sendip = "192.0.2.1", .recvip = ip, .mx = "mx1.example.net", .nstrings = s0 ? 1 : 0, .strings = { s0 } } ;
  return r ;
}

static char const want[] =
  "{\n \"organization-name\": \"mail.example.org\",\n"
  " \"date-range\": {\n  \"start-datetime\": \"2016-04-01T00:00:00Z\",\n  \"end-datetime\": \"2016-04-01T23:59:59Z\"\n },\n"
  " \"contact-info\": \"postmaster@mail.example.org\",\n \"report-id\": \"r1\",\n \"policies\": [{\n"
  "   \"policy\": {\n    \"policy-type\": \"tlsa\",\n    \"policy-string\": [\"3 1 1 ab\"],\n    \"policy-domain\": \"example.net\"\n   },\n"
  "   \"summary\": {\n    \"total-successful-session-count\": 2,\n    \"total-failure-session-count\": 3\n   },\n"
  "   \"failure-details\": [\n"
  "    {\"result-type\": \"certificate-not-trusted\", \"sending-mta-ip\": \"192.0.2.1\", \"receiving-ip\": \"198.51.100.1\", \"receiving-mx-hostname\": \"mx1.example.net\", \"failed-session-count\": 2},\n"
  "    {\"result-type\": \"certificate-not-trusted\", \"sending-mta-ip\": \"192.0.2.1\", \"receiving-ip\": \"198.51.100.2\", \"receiving-mx-hostname\": \"mx1.example.net\", \"failed-session-count\": 1}\n"
  "   ]\n  }, {\n"
  "   \"policy\": {\n    \"policy-type\": \"no-policy-found\",\n    \"policy-domain\": \"example.net\"\n   },\n"
  "   \"summary\": {\n    \"total-successful-session-count\": 1,\n    \"total-failure-session-count\": 0\n   }\n  }]\n}\n" ;

int main (void)
{
  tlsrptrep t = TLSRPTREP_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  tlsrptrep_meta m = { .submitter = "mail.example.org", .domain = "example.net", .start = 1459468800, .end = 1459468800 + 86400, .id = "r1" } ;
  tlsrpt_rec r ;
  unsigned int i ;
  int okall = 1 ;
  tap_plan(14) ;

  r = rec(TLSRPT_P_TLSA, TLSRPT_SUCCESS, "198.51.100.1", "3 1 1 ab") ; okall &= tlsrptrep_add(&t, &r) && tlsrptrep_add(&t, &r) ;
  r = rec(TLSRPT_P_TLSA, TLSRPT_CERT_NOT_TRUSTED, "198.51.100.1", "3 1 1 ab") ; okall &= tlsrptrep_add(&t, &r) && tlsrptrep_add(&t, &r) ;
  r = rec(TLSRPT_P_TLSA, TLSRPT_CERT_NOT_TRUSTED, "198.51.100.2", "3 1 1 ab") ; okall &= tlsrptrep_add(&t, &r) ;
  r = rec(TLSRPT_P_NONE, TLSRPT_SUCCESS, "198.51.100.1", 0) ; okall &= tlsrptrep_add(&t, &r) ;
  ok(okall, "add: seven records") ;
  ok(genalloc_len(tlsrptrep_policy, &t.policies) == 2, "add: two policies (type and strings)") ;
  ok(tlsrptrep_json(&sa, &t, &m), "json: made") ;
  ok(sa.len == sizeof want - 1 && !memcmp(sa.s, want, sa.len), "json: the report, exactly") ;
  if (sa.len != sizeof want - 1 || memcmp(sa.s, want, sa.len)) printf("# %.*s\n", (int)sa.len, sa.s) ;

  /* escaping */
  sa.len = 0 ;
  ok(tlsrptrep_jstring(&sa, "a\"b\\c\n\x01\xc3\xa9") && sa.len == 33 && !memcmp(sa.s, "\"a\\\"b\\\\c\\u000a\\u0001\\u00c3\\u00a9\"", sa.len),
     "jstring: quote, backslash, controls and 8-bit bytes escaped") ;

  /* bounds: more policies than kept are dropped, counted */
  for (i = 0 ; i < TLSRPTREP_POLICIES_MAX + 3 ; i++)
  {
    char s[16] ;
    snprintf(s, sizeof s, "p%u", i) ;
    r = rec(TLSRPT_P_STS, TLSRPT_SUCCESS, "", s) ;
    if (!tlsrptrep_add(&t, &r)) okall = 0 ;
  }
  ok(okall && genalloc_len(tlsrptrep_policy, &t.policies) == TLSRPTREP_POLICIES_MAX && t.dropped == 5, "add: policies bounded, the rest counted as dropped") ;
  {
    tlsrptrep u = TLSRPTREP_ZERO ;
    char ip[32] ;
    for (i = 0 ; i < TLSRPTREP_DETAILS_MAX + 10 ; i++)
    {
      snprintf(ip, sizeof ip, "10.0.%u.%u", i / 256, i % 256) ;
      r = rec(TLSRPT_P_NONE, TLSRPT_VALIDATION_FAILURE, ip, 0) ;
      if (!tlsrptrep_add(&u, &r)) okall = 0 ;
    }
    ok(okall && genalloc_len(tlsrptrep_detail, &genalloc_s(tlsrptrep_policy, &u.policies)[0].details) == TLSRPTREP_DETAILS_MAX
       && genalloc_s(tlsrptrep_policy, &u.policies)[0].failed == TLSRPTREP_DETAILS_MAX + 10, "add: details bounded, the summary counts them all") ;
    tlsrptrep_free(&u) ;
  }

  /* gzip */
  ok(tlsrptrep_crc32(0, "123456789", 9) == 0xcbf43926u, "crc32: the check value") ;
  sa.len = 0 ;
  ok(tlsrptrep_gzip(&sa, "hello", 5) && sa.len == 10 + 5 + 5 + 8, "gzip: header, one stored block, trailer") ;
  ok(sa.s[0] == 0x1f && (unsigned char)sa.s[1] == 0x8b && sa.s[2] == 8 && sa.s[10] == 1 && sa.s[11] == 5 && sa.s[12] == 0
     && (unsigned char)sa.s[13] == 0xfa && (unsigned char)sa.s[14] == 0xff && !memcmp(sa.s + 15, "hello", 5), "gzip: the stored block, final, LEN and NLEN") ;
  ok(sa.s[24] == 5 && !sa.s[25] && !sa.s[26] && !sa.s[27], "gzip: ISIZE") ;
  {
    static char big[70000] ;
    sa.len = 0 ;
    ok(tlsrptrep_gzip(&sa, big, sizeof big) && sa.len == 10 + 5 + 65535 + 5 + (sizeof big - 65535) + 8 && !sa.s[10] && sa.s[10 + 5 + 65535] == 1,
       "gzip: two blocks past 65535 octets, the last final") ;
  }

  /* the message */
  sa.len = 0 ;
  ok(tlsrptrep_mail(&sa, &m, "tlsrpt@example.net", "{}", 2, 1459555200), "mail: made") ;
  ok(sa.len && strstr(sa.s, "\nSubject: Report Domain: example.net Submitter: mail.example.org Report-ID: <r1>\n")
     && strstr(sa.s, "\nTLS-Report-Domain: example.net\nTLS-Report-Submitter: mail.example.org\n")
     && strstr(sa.s, "Content-Type: multipart/report; report-type=\"tlsrpt\"")
     && strstr(sa.s, "Content-Type: application/tlsrpt+gzip\nContent-Transfer-Encoding: base64\n")
     && strstr(sa.s, "filename=\"mail.example.org!example.net!1459468800!1459555199.json.gz\""), "mail: RFC 8460 §5.3's header fields") ;

  tlsrptrep_free(&t) ;
  stralloc_free(&sa) ;
  return tap_done() ;
}
