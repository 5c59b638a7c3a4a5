/* ISC license: see LICENSE. */

#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <skalibs/tai.h>
#include <skalibs/djbunix.h>

#include "tap.h"
#include "keyd.h"

static int parses (char const *s, size_t len)
{
  keyd_req r ;
  return keyd_req_parse(s, len, &r) ;
}

int main (void)
{
  char buf[KEYD_REQ_MAX + 8], h[64], rep[KEYD_REP_MAX] ;
  keyd_req r ;
  size_t n ;
  unsigned int id ;
  tap_plan(25) ;
  memset(h, 0xab, sizeof(h)) ;

  ok(parses("K", 1), "K alone: the key's type") ;
  ok(!parses("KK", 2), "K with more: refused") ;
  ok(!parses("", 0) && !parses("S", 1) && !parses("X\0", 2), "empty, a bare S, an unknown type: refused") ;
  {
    int all = 1 ;
    for (id = 2 ; id <= 6 ; id++)
    {
      n = keyd_sign_fmt(buf, id, h, keyd_hash_len(id)) ;
      all &= n == 2 + keyd_hash_len(id) && keyd_req_parse(buf, n, &r) && r.type == KEYD_SIGN && r.hash_id == id && r.len == keyd_hash_len(id) && !memcmp(r.data, h, r.len) ;
    }
    ok(all, "sign: SHA-1 to SHA-512 (ids 2 to 6) round-trip") ;
  }
  ok(keyd_hash_len(4) == 32 && keyd_hash_len(6) == 64 && keyd_hash_len(2) == 20, "hash lengths: SHA-256 32, SHA-512 64, SHA-1 20") ;
  ok(!keyd_hash_len(0) && !keyd_hash_len(1) && !keyd_hash_len(7) && !keyd_hash_len(255), "ids 0 (MD5+SHA-1), 1 (MD5), 7 and 255: none") ;
  ok(!keyd_sign_fmt(buf, 0, h, 36) && !keyd_sign_fmt(buf, 4, h, 31), "sign_fmt refuses MD5+SHA-1 and a short hash") ;
  buf[0] = 'S' ; buf[1] = 4 ; memcpy(buf + 2, h, 32) ;
  ok(parses(buf, 34) && !parses(buf, 33) && !parses(buf, 35), "sign: a SHA-256 hash of 32 octets only, not 31 or 33") ;
  buf[1] = 0 ;
  ok(!parses(buf, 2 + 36), "sign: MD5+SHA-1 (TLS 1.0) refused") ;
  buf[1] = 7 ;
  ok(!parses(buf, 2 + 32), "sign: an unknown hash id refused") ;

  n = keyd_auth_fmt(buf, "alice", 5, "correct horse", 13) ;
  ok(n == 20 && keyd_req_parse(buf, n, &r) && r.type == KEYD_AUTH && r.len == 5 && !memcmp(r.data, "alice", 5) && r.passlen == 13 && !memcmp(r.pass, "correct horse", 13), "auth: user and password round-trip") ;
  n = keyd_auth_fmt(buf, "bob", 3, "", 0) ;
  ok(n == 5 && keyd_req_parse(buf, n, &r) && r.passlen == 0, "auth: an empty password parses (the table decides)") ;
  ok(!keyd_auth_fmt(buf, "", 0, "x", 1), "auth_fmt: an empty user refused") ;
  {
    static char big[KEYD_PASS_MAX] ;
    memset(big, 'u', sizeof(big)) ;
    ok(!keyd_auth_fmt(buf, big, 256, "x", 1) && keyd_auth_fmt(buf, big, 255, big, KEYD_PASS_MAX) == KEYD_REQ_MAX, "auth_fmt: a user of 256 octets refused; 255 and a password of 1024 fill KEYD_REQ_MAX") ;
  }
  buf[0] = 'A' ; buf[1] = 10 ;
  ok(!parses(buf, 2 + 9), "auth: a user longer than the message refused") ;
  buf[1] = 0 ;
  ok(!parses(buf, 5), "auth: a user of 0 octets refused") ;
  buf[1] = 3 ;
  ok(parses(buf, 2 + 3 + KEYD_PASS_MAX) && !parses(buf, 2 + 3 + KEYD_PASS_MAX + 1), "auth: a password of 1024 octets parses, 1025 does not") ;
  memcpy(buf + 2, "bob", 3) ; memcpy(buf + 5, "a\0b", 3) ;
  ok(!parses(buf, 8), "auth: a NUL in the password refused") ;

  /* TLS sessions: an ID of 32 octets, parameters of 52 */
  {
    char sid[KEYD_SESSION_ID], params[KEYD_SESSION_PARAMS] ;
    memset(sid, 0x11, sizeof(sid)) ; memset(params, 0x22, sizeof(params)) ;
    n = keyd_save_fmt(buf, sid, params) ;
    ok(n == 85 && buf[0] == 'P' && keyd_req_parse(buf, n, &r) && r.type == KEYD_SAVE && r.len == 32 && !memcmp(r.data, sid, 32) && r.passlen == 52 && !memcmp(r.pass, params, 52),
       "save: ID and parameters round-trip (85 octets)") ;
    ok(!parses(buf, 84) && !parses(buf, 86) && !parses(buf, 33), "save: one octet short or long, or the ID alone, refused") ;
    n = keyd_load_fmt(buf, sid) ;
    ok(n == 33 && buf[0] == 'L' && keyd_req_parse(buf, n, &r) && r.type == KEYD_LOAD && r.len == 32 && !memcmp(r.data, sid, 32), "load: the ID round-trips (33 octets)") ;
    ok(!parses(buf, 32) && !parses(buf, 34) && !parses(buf, 1), "load: an ID of 31 or 33 octets, or none, refused") ;
    buf[0] = 'P' ;
    ok(!parses(buf, 33 + 51), "save: parameters of 51 octets refused") ;
  }

  /* the client calls, against a socket pair standing for smtp-keyd */
  {
    int door[2], ch, got = -1 ;
    tain d ;
    ssize_t k ;
    tain_now_set_stopwatch_g() ;
    tain_addsec_g(&d, 2) ;
    ch = socketpair(AF_UNIX, SOCK_SEQPACKET, 0, door) < 0 ? -1 : keyd_open(door[0], &d) ;
    if (ch >= 0)
    {
      char c ;
      struct iovec v = { .iov_base = &c, .iov_len = 1 } ;
      union { struct cmsghdr hd ; char b[CMSG_SPACE(sizeof(int))] ; } u ;
      struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) } ;
      if (recvmsg(door[1], &m, 0) == 1 && CMSG_FIRSTHDR(&m)) memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int)) ;
    }
    ok(ch >= 0 && got >= 0, "keyd_open passes one end of a new channel through the door") ;
    /* the answer is queued before the request is sent: one read takes it */
    k = got >= 0 && write(got, "+\x02", 2) == 2 && ch >= 0 ? keyd_call(ch, "K", 1, rep, &d) : -1 ;
    ok(k == 2 && rep[0] == '+' && rep[1] == 2, "keyd_call: one request, one reply") ;
  }
  return tap_done() ;
}
