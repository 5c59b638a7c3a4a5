/* ISC license: see LICENSE. */

/*
 * Unit test of lib/milter. Most of it over a socketpair (tap_pair): the
 * test is the filter, writing its reply packets before the client reads
 * them, then reading the octets the client sent. milter_open over real
 * sockets, with a forked peer that checks the negotiation's octets.
 * Timeouts are 1 second; every wait is bounded by them. The interop
 * with the real libmilter is t/milter-proto.t's.
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <skalibs/uint32.h>
#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/socket.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include "milter.h"
#include "tap.h"

/* expected packets: data that ends with its NUL, data as is */
#define PKT(c, lit) pkt(&want, (c), (lit), sizeof(lit))
#define RAW(c, lit) pkt(&want, (c), (lit), sizeof(lit) - 1)

static void pause500 (void)
{
  struct timespec ts = { .tv_sec = 0, .tv_nsec = 500000000 } ;
  nanosleep(&ts, 0) ;
}

static milter_timeouts const t1 = { .connect = 1, .command = 1, .data = 1 } ;

/* a packet: length, command, data */
static void pkt (stralloc *sa, char cmd, char const *data, size_t n)
{
  char h[4] ;
  uint32_pack_big(h, (uint32_t)n + 1) ;
  if (!stralloc_catb(sa, h, 4) || !stralloc_catb(sa, &cmd, 1) || !stralloc_catb(sa, data, n)) _exit(2) ;
}

/* the filter says one packet */
static void say (char cmd, char const *data, size_t n)
{
  stralloc sa = STRALLOC_ZERO ;
  pkt(&sa, cmd, data, n) ;
  if (write(tap_peer, sa.s, sa.len) != (ssize_t)sa.len) printf("# peer write failed\n") ;
  stralloc_free(&sa) ;
}

static void sayraw (char const *s, size_t n)
{
  if (write(tap_peer, s, n) != (ssize_t)n) printf("# peer write failed\n") ;
}

/* what the client sent since the last call, compared with the packets in want */
static int heard (stralloc *want)
{
  static char buf[200000] ;
  size_t len = 0 ;
  int r ;
  for (;;)
  {
    ssize_t n = read(tap_peer, buf + len, sizeof(buf) - len) ;
    if (n <= 0) break ;
    len += n ;
  }
  r = len == want->len && !memcmp(buf, want->s, len) ;
  if (!r)
  {
    size_t i ;
    printf("# heard %zu octets:", len) ;
    for (i = 0 ; i < len && i < 80 ; i++) printf(" %02x", (unsigned char)buf[i]) ;
    printf("\n") ;
  }
  want->len = 0 ;
  return r ;
}

/* a milter on a new socketpair, as if negotiated with actions and pflags */
static void fresh (milter *m, uint32_t actions, uint32_t pflags)
{
  unsigned int i ;
  if (m->fd >= 0) fd_close(m->fd) ;
  stralloc_free(&m->buf) ;
  stralloc_free(&m->reply) ;
  stralloc_free(&m->syms) ;
  *m = (milter)MILTER_ZERO ;
  m->name = "test" ;
  m->fd = tap_pair() ;
  m->t = t1 ;
  m->actions = actions ;
  m->pflags = pflags ;
  for (i = 0 ; i < SMFIM_N ; i++) m->symoff[i] = (size_t)-1 ;
}

static double since (tain const *start)
{
  tain d ;
  tain_now_g() ;
  tain_sub(&d, &STAMP, start) ;
  return tain_to_millisecs(&d) / 1000.0 ;
}

static int mod_is (milter_mods const *mods, size_t i, char type, uint32_t index, char const *a, size_t alen, char const *b)
{
  milter_mod const *x ;
  if (i >= genalloc_len(milter_mod, &mods->list)) return 0 ;
  x = genalloc_s(milter_mod, &mods->list) + i ;
  return x->type == type && x->index == index && x->alen == alen && !memcmp(mods->data.s + x->a, a, alen) && !mods->data.s[x->a + alen]
    && x->blen == strlen(b) && !strcmp(mods->data.s + x->b, b) ;
}

/*
 * A peer for milter_open in a child: accepts on l, checks the OPTNEG
 * octets, answers with reply (n octets; 0: none, it just waits), then
 * expects QUIT. Exit 0 when all was as expected.
 */
static pid_t peer_open (int l, char const *reply, size_t n)
{
  pid_t pid = fork() ;
  if (pid < 0) { printf("Bail out! fork\n") ; _exit(1) ; }
  if (!pid)
  {
    static char const optneg[17] = "\0\0\0\x0dO\0\0\0\x06\0\0\x01\xff\0\x0f\xf7\xff" ;
    char buf[64] ;
    int fd = accept(l, 0, 0) ;
    if (fd < 0) _exit(10) ;
    if (ndelay_off(fd) < 0 || allread(fd, buf, 17) != 17) _exit(11) ;
    if (memcmp(buf, optneg, 17)) _exit(12) ;
    if (!n) { sleep(3) ; _exit(0) ; }
    if (allwrite(fd, reply, n) != n) _exit(13) ;
    if (allread(fd, buf, 5) != 5 || memcmp(buf, "\0\0\0\1Q", 5)) _exit(14) ;
    _exit(0) ;
  }
  return pid ;
}

static int peer_ok (pid_t pid)
{
  int st ;
  if (waitpid(pid, &st, 0) != pid) return 0 ;
  if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("# peer exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1) ;
  return WIFEXITED(st) && !WEXITSTATUS(st) ;
}

static stralloc optreply = STRALLOC_ZERO ;

/* an OPTNEG reply: version, actions, flags, then lists (stage, names) */
static void optneg_reply (uint32_t v, uint32_t a, uint32_t f, char const *lists, size_t ln)
{
  char d[12] ;
  stralloc data = STRALLOC_ZERO ;
  uint32_pack_big(d, v) ; uint32_pack_big(d + 4, a) ; uint32_pack_big(d + 8, f) ;
  if (!stralloc_catb(&data, d, 12) || !stralloc_catb(&data, lists, ln)) _exit(2) ;
  optreply.len = 0 ;
  pkt(&optreply, 'O', data.s, data.len) ;
  stralloc_free(&data) ;
}

int main (void)
{
  static milter m = MILTER_ZERO ;
  static milter_mods mods = MILTER_MODS_ZERO ;
  stralloc want = STRALLOC_ZERO ;
  char const *dir ;
  tain start ;
  int l, r ;
  tap_plan(143) ;
  tain_now_set_stopwatch_g() ;
  dir = tap_tmpdir() ;
  if (!dir) { printf("Bail out! tmpdir\n") ; return 1 ; }

  /* ---- milter_open: over a Unix socket, a forked peer ---- */
  l = ipc_stream_nbcoe() ;
  if (l < 0 || ipc_bind_reuse(l, tap_path("f.sock")) < 0 || ipc_listen(l, 8) < 0 || ndelay_off(l) < 0) { printf("Bail out! listen\n") ; return 1 ; }
  {
    /* macro lists for CONNECT ("j {client_addr}") and for an unknown stage (ignored); MDS flags ignored */
    static char const lists[] = "\0\0\0\0j {client_addr}\0\0\0\0\x63x\0" ;
    char addr[80] ;
    pid_t pid ;
    optneg_reply(6, SMFIF_ADDHDRS | SMFIF_CHGBODY, SMFIP_NR_HDR | SMFIP_SKIP | 0x10000000U, lists, sizeof(lists) - 1) ;
    pid = peer_open(l, optreply.s, optreply.len) ;
    snprintf(addr, sizeof(addr), "unix:%s", tap_path("f.sock")) ;
    r = milter_open(&m, "f", addr, &t1) ;
    ok(r == MILTER_CONTINUE && m.fd >= 0, "open unix: negotiated (%s)", m.err ? m.err : "ok") ;
    ok(m.actions == (SMFIF_ADDHDRS | SMFIF_CHGBODY) && m.pflags == (SMFIP_NR_HDR | SMFIP_SKIP), "actions and flags as the filter chose, unknown flags dropped (%x)", m.pflags) ;
    ok(m.symoff[SMFIM_CONNECT] != (size_t)-1 && !strcmp(m.syms.s + m.symoff[SMFIM_CONNECT], "j {client_addr}") && m.symoff[SMFIM_HELO] == (size_t)-1, "the CONNECT macro list kept, no other") ;
    milter_close(&m) ;
    ok(m.fd < 0 && peer_ok(pid), "the peer heard OPTNEG (version 6, all actions, all flags but RCPT_REJ and HDR_LEADSPC), then QUIT") ;
  }
  {
    /* the refusals of a negotiation */
    static struct { uint32_t v, a, f ; char const *what ; } const bad[] =
    {
      { 7, 0, 0, "version 7" },
      { 1, 0, 0, "version 1" },
      { 6, 0x200, 0, "an action not offered" },
    } ;
    char addr[80] ;
    unsigned int i ;
    snprintf(addr, sizeof(addr), "unix:%s", tap_path("f.sock")) ;
    for (i = 0 ; i < sizeof(bad) / sizeof(bad[0]) ; i++)
    {
      pid_t pid ;
      int st ;
      optneg_reply(bad[i].v, bad[i].a, bad[i].f, "", 0) ;
      pid = fork() ;
      if (!pid)
      {
        char buf[32] ;
        int fd = accept(l, 0, 0) ;
        if (fd < 0 || ndelay_off(fd) < 0 || allread(fd, buf, 17) != 17 || allwrite(fd, optreply.s, optreply.len) != optreply.len) _exit(1) ;
        /* the client closes: EOF */
        _exit(allread(fd, buf, 1) == 0 ? 0 : 2) ;
      }
      r = milter_open(&m, "f", addr, &t1) ;
      ok(r == MILTER_FAIL && m.fd < 0 && m.err && !strcmp(m.err, "protocol"), "open: %s refused (%s)", bad[i].what, m.err ? m.err : "ok") ;
      waitpid(pid, &st, 0) ;
    }
    /* version 2: no DATA (SMFIC_DATA came with version 4) */
    optneg_reply(2, 0, 0, "", 0) ;
    {
      pid_t pid = peer_open(l, optreply.s, optreply.len) ;
      r = milter_open(&m, "f", addr, &t1) ;
      ok(r == MILTER_CONTINUE && m.pflags == SMFIP_NODATA, "open: a version 2 filter gets no DATA") ;
      milter_close(&m) ;
      ok(peer_ok(pid), "and QUIT") ;
    }
    /* a reply that is not OPTNEG */
    {
      pid_t pid ;
      int st ;
      optreply.len = 0 ;
      pkt(&optreply, 'c', "", 0) ;
      pid = fork() ;
      if (!pid)
      {
        char buf[32] ;
        int fd = accept(l, 0, 0) ;
        if (fd < 0 || ndelay_off(fd) < 0 || allread(fd, buf, 17) != 17 || allwrite(fd, optreply.s, optreply.len) != optreply.len) _exit(1) ;
        _exit(0) ;
      }
      r = milter_open(&m, "f", addr, &t1) ;
      ok(r == MILTER_FAIL && m.err && !strcmp(m.err, "protocol"), "open: CONTINUE for OPTNEG is refused") ;
      waitpid(pid, &st, 0) ;
    }
    /* a filter that accepts and never answers: "timeout" within the connect timeout */
    {
      pid_t pid = peer_open(l, 0, 0) ;
      int st ;
      tain_now_g() ; start = STAMP ;
      r = milter_open(&m, "f", addr, &t1) ;
      ok(r == MILTER_FAIL && m.err && !strcmp(m.err, "timeout") && since(&start) < 2.5 && since(&start) > 0.8, "open: a silent filter times out after 1s (%s, %.2fs)", m.err ? m.err : "ok", since(&start)) ;
      kill(pid, SIGKILL) ;
      waitpid(pid, &st, 0) ;
    }
  }
  fd_close(l) ;

  /* over TCP on 127.0.0.1, in the three spellings */
  {
    static char const *const forms[] = { "inet:127.0.0.1:%u", "inet:[127.0.0.1]:%u", "inet:%u@127.0.0.1" } ;
    char ip[16] ;
    uint16_t port ;
    unsigned int i ;
    l = socket_tcp4_b() ;
    if (l < 0 || socket_bind4_reuse(l, "\177\0\0\1", 0) < 0 || socket_listen(l, 8) < 0 || socket_local4(l, ip, &port) < 0) { printf("Bail out! tcp listen\n") ; return 1 ; }
    optneg_reply(6, 0, 0, "", 0) ;
    for (i = 0 ; i < 3 ; i++)
    {
      char addr[80] ;
      pid_t pid = peer_open(l, optreply.s, optreply.len) ;
      snprintf(addr, sizeof(addr), forms[i], (unsigned int)port) ;
      r = milter_open(&m, "f", addr, &t1) ;
      ok(r == MILTER_CONTINUE, "open %s (%s)", addr, m.err ? m.err : "ok") ;
      milter_close(&m) ;
      ok(peer_ok(pid), "the peer negotiated and heard QUIT") ;
    }
    fd_close(l) ;
  }

  /* over TCP on ::1 */
  {
    static char const *const forms[] = { "inet:[::1]:%u", "inet6:::1:%u" } ;
    char ip[16] ;
    uint16_t port ;
    unsigned int i ;
    l = socket_tcp6_b() ;
    if (l < 0 || socket_bind6_reuse(l, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 0) < 0 || socket_listen(l, 8) < 0 || socket_local6(l, ip, &port) < 0) { printf("Bail out! tcp6 listen\n") ; return 1 ; }
    optneg_reply(6, 0, 0, "", 0) ;
    for (i = 0 ; i < 2 ; i++)
    {
      char addr[80] ;
      pid_t pid = peer_open(l, optreply.s, optreply.len) ;
      snprintf(addr, sizeof(addr), forms[i], (unsigned int)port) ;
      r = milter_open(&m, "f", addr, &t1) ;
      ok(r == MILTER_CONTINUE, "open %s (%s)", addr, m.err ? m.err : "ok") ;
      milter_close(&m) ;
      ok(peer_ok(pid), "the peer negotiated and heard QUIT") ;
    }
    fd_close(l) ;
  }

  /* addresses that are not, and a filter that is not there */
  {
    static struct { char const *a, *err ; } const bad[] =
    {
      { "tcp:127.0.0.1:25", "address" },
      { "inet:localhost:25", "address" },
      { "inet:127.0.0.1:0", "address" },
      { "inet:127.0.0.1:65536", "address" },
      { "inet:127.0.0.1", "address" },
      { "inet:[::1:25", "address" },
      { "unix:", "address" },
      { "unix:/nonexistent/ketch-milter.sock", "connect" },
    } ;
    unsigned int i ;
    for (i = 0 ; i < sizeof(bad) / sizeof(bad[0]) ; i++)
    {
      r = milter_open(&m, "f", bad[i].a, &t1) ;
      ok(r == MILTER_FAIL && m.fd < 0 && m.err && !strcmp(m.err, bad[i].err), "open %s: %s (%s)", bad[i].a, bad[i].err, m.err ? m.err : "ok") ;
    }
    milter_close(&m) ;
  }

  /* ---- each stage's packet, and the replies ---- */
  {
    milter_macro const cmac[] = { { "j", "mx.example" }, { "{client_addr}", "192.0.2.1" }, { "{client_name}", 0 }, { 0, 0 } } ;
    static char const conn4[] = "client.example\0" "4" "\x30\x39" "192.0.2.1" ;
    fresh(&m, 0, 0) ;
    say('c', "", 0) ;
    r = milter_connect(&m, cmac, "client.example", '4', 12345, "192.0.2.1") ;
    PKT('D', "Cj\0mx.example\0{client_addr}\0" "192.0.2.1") ;
    pkt(&want, 'C', conn4, sizeof(conn4)) ;
    ok(r == MILTER_CONTINUE && heard(&want), "connect: the macros (unset ones left out), then host, family, port, address") ;

    /* a macro list: only what the filter asked for */
    {
      static char const o[] = "\0\0\0\6\0\0\0\0\0\0\0\0" "\0\0\0\0" "{j}\0" ;
      ok(milter_reply_parse(&m, 'O', 'O', o, sizeof(o) - 1, 0) == MILTER_CONTINUE, "an OPTNEG reply with a CONNECT list parses") ;
      say('c', "", 0) ;
      r = milter_connect(&m, cmac, "client.example", 'U', 0, 0) ;
      PKT('D', "Cj\0mx.example") ;
      RAW('C', "client.example\0U") ;
      ok(r == MILTER_CONTINUE && heard(&want), "connect: only the listed macro ({j} names j); family U has no port, no address") ;
    }
  }
  {
    milter_macro const mmac[] = { { "{mail_addr}", "a@b.example" }, { 0, 0 } } ;
    char const *const margv[] = { "<a@b.example>", "SIZE=100", "BODY=8BITMIME", 0 } ;
    char const *const rargv[] = { "<c@d.example>", 0 } ;
    fresh(&m, 0, 0) ;
    say('c', "", 0) ;
    r = milter_helo(&m, 0, "client.example") ;
    PKT('H', "client.example") ;
    ok(r == MILTER_CONTINUE && heard(&want), "HELO") ;
    say('c', "", 0) ;
    r = milter_mail(&m, mmac, margv) ;
    PKT('D', "M{mail_addr}\0a@b.example") ;
    PKT('M', "<a@b.example>\0SIZE=100\0BODY=8BITMIME") ;
    ok(r == MILTER_CONTINUE && m.in_msg && heard(&want), "MAIL: macros, sender and ESMTP parameters") ;
    say('c', "", 0) ;
    r = milter_rcpt(&m, 0, rargv) ;
    PKT('R', "<c@d.example>") ;
    ok(r == MILTER_CONTINUE && heard(&want), "RCPT") ;
    say('c', "", 0) ;
    r = milter_data(&m, 0) ;
    RAW('T', "") ;
    ok(r == MILTER_CONTINUE && heard(&want), "DATA") ;
    say('c', "", 0) ;
    r = milter_header(&m, "Subject", 7, " hello\r\n world", 14) ;
    PKT('L', "Subject\0hello\n world") ;
    ok(r == MILTER_CONTINUE && heard(&want), "a header: the leading space eaten (no HDR_LEADSPC), folded lines joined by LF") ;
    say('c', "", 0) ;
    r = milter_header(&m, "X-A", 3, "  two\0three", 11) ;
    PKT('L', "X-A\0 two") ;
    ok(r == MILTER_CONTINUE && heard(&want), "a header: one space eaten; a NUL in the value ends it") ;
    say('c', "", 0) ;
    r = milter_eoh(&m, 0) ;
    RAW('N', "") ;
    ok(r == MILTER_CONTINUE && heard(&want), "EOH") ;
    say('c', "", 0) ;
    r = milter_body(&m, "line\r\n\0bin\r\n", 12) ;
    RAW('B', "line\r\n\0bin\r\n") ;
    ok(r == MILTER_CONTINUE && heard(&want), "a body chunk, as is") ;
    {
      static char big[MILTER_CHUNK + 10] ;
      memset(big, 'x', sizeof(big)) ;
      say('c', "", 0) ; say('c', "", 0) ;
      r = milter_body(&m, big, sizeof(big)) ;
      pkt(&want, 'B', big, MILTER_CHUNK) ;
      pkt(&want, 'B', big, 10) ;
      ok(r == MILTER_CONTINUE && heard(&want), "a chunk over MILTER_CHUNK goes as two packets") ;
    }
    say('c', "", 0) ;
    r = milter_eom(&m, 0, &mods) ;
    RAW('E', "") ;
    ok(r == MILTER_CONTINUE && !m.in_msg && heard(&want) && !genalloc_len(milter_mod, &mods.list), "EOM: CONTINUE, no modification, the message over") ;
    milter_abort(&m) ;
    ok(heard(&want), "no ABORT after EOM") ;
  }

  /* ---- the decisions ---- */
  {
    char const *const argv[] = { "<a@b>", 0 } ;
    fresh(&m, 0, 0) ;
    say('a', "", 0) ;
    r = milter_connect(&m, 0, "h", 'L', 0, "/x") ;
    PKT('C', "h\0L\0\0/x") ;
    ok(r == MILTER_ACCEPT && m.done_conn && heard(&want), "ACCEPT at connect: done with the connection (family L: port 0, a path)") ;
    r = milter_helo(&m, 0, "x") ;
    ok(r == MILTER_CONTINUE && heard(&want), "then HELO is not sent") ;
    r = milter_mail(&m, 0, argv) ;
    milter_abort(&m) ;
    ok(r == MILTER_CONTINUE && heard(&want), "nor MAIL, nor ABORT") ;
    milter_close(&m) ;
    RAW('Q', "") ;
    ok(m.fd < 0 && heard(&want), "close: QUIT") ;

    fresh(&m, 0, 0) ;
    say('d', "", 0) ;
    r = milter_helo(&m, 0, "x") ;
    PKT('H', "x") ;
    ok(r == MILTER_CONTINUE && !m.done_conn && heard(&want), "DISCARD at HELO is ignored, as Postfix ignores it") ;
    say('t', "", 0) ;
    r = milter_helo(&m, 0, "x") ;
    PKT('H', "x") ;
    ok(r == MILTER_TEMPFAIL && m.done_conn && !m.reply.len && heard(&want), "TEMPFAIL at HELO: the connection refused, our default text") ;

    fresh(&m, 0, 0) ;
    say('a', "", 0) ;
    r = milter_mail(&m, 0, argv) ;
    PKT('M', "<a@b>") ;
    ok(r == MILTER_ACCEPT && m.done_msg && !m.done_conn && heard(&want), "ACCEPT at MAIL: done with the message") ;
    r = milter_rcpt(&m, 0, argv) ;
    ok(r == MILTER_CONTINUE && heard(&want), "then RCPT is not sent") ;
    milter_abort(&m) ;
    RAW('A', "") ;
    ok(!m.done_msg && heard(&want), "abort: ABORT, done_msg cleared") ;
    say('a', "", 0) ;
    r = milter_mail(&m, 0, argv) ;
    PKT('M', "<a@b>") ;
    r += milter_eom(&m, 0, &mods) ;
    r += milter_body(&m, "", 0) ;
    ok(r == MILTER_ACCEPT && m.done_msg && m.in_msg && heard(&want), "ACCEPT at MAIL: no EOM is sent") ;
    milter_abort(&m) ;
    RAW('A', "") ;
    ok(!m.done_msg && !m.in_msg && heard(&want), "the message's end is the ABORT (Postfix's ACCEPT_MSG state)") ;
    say('r', "", 0) ;
    r = milter_mail(&m, 0, argv) ;
    PKT('M', "<a@b>") ;
    ok(r == MILTER_REJECT && m.done_msg && !m.reply.len && heard(&want), "REJECT at MAIL") ;
    say('c', "", 0) ;
    r = milter_mail(&m, 0, argv) ;
    RAW('A', "") ;
    PKT('M', "<a@b>") ;
    ok(r == MILTER_CONTINUE && heard(&want), "a new MAIL without abort: ABORT first") ;
    say('r', "", 0) ;
    r = milter_rcpt(&m, 0, argv) ;
    PKT('R', "<a@b>") ;
    ok(r == MILTER_REJECT && !m.done_msg && heard(&want), "REJECT at RCPT: this recipient only") ;
    say('t', "", 0) ;
    r = milter_rcpt(&m, 0, argv) ;
    PKT('R', "<a@b>") ;
    ok(r == MILTER_TEMPFAIL && !m.done_msg && heard(&want), "TEMPFAIL at RCPT: this recipient only") ;
    say('d', "", 0) ;
    r = milter_rcpt(&m, 0, argv) ;
    PKT('R', "<a@b>") ;
    ok(r == MILTER_DISCARD && m.done_msg && heard(&want), "DISCARD at RCPT: the whole message") ;
    milter_abort(&m) ;
    RAW('A', "") ;
    ok(heard(&want), "ABORT") ;
    say('y', "550 5.7.1 go away", 18) ;
    r = milter_mail(&m, 0, argv) ;
    PKT('M', "<a@b>") ;
    ok(r == MILTER_REJECT && m.reply.len == 17 && !strcmp(m.reply.s, "550 5.7.1 go away") && heard(&want), "REPLYCODE 5xx: REJECT with the filter's reply") ;
    milter_abort(&m) ;
    RAW('A', "") ;
    heard(&want) ;
    say('4', "", 0) ;
    r = milter_mail(&m, 0, argv) ;
    PKT('M', "<a@b>") ;
    ok(r == MILTER_TEMPFAIL && m.done_conn && !strcmp(m.reply.s, "421 4.7.0 Server closing connection") && heard(&want), "SHUTDOWN: TEMPFAIL, 421, done with the connection") ;
    milter_abort(&m) ;
    ok(heard(&want), "and no ABORT after it") ;
    fresh(&m, 0, 0) ;
    say('f', "", 0) ;
    r = milter_helo(&m, 0, "x") ;
    ok(r == MILTER_TEMPFAIL && m.done_conn && !strncmp(m.reply.s, "421 ", 4), "CONN_FAIL: as SHUTDOWN") ;
  }

  /* ---- REPLYCODE: the checks and the normal form ---- */
  {
    static struct { char const *in ; int act ; char const *out ; } const rc[] =
    {
      { "451 4.7.1 try later", MILTER_TEMPFAIL, "451 4.7.1 try later" },
      { "550 no enhanced code", MILTER_REJECT, "550 no enhanced code" },
      { "550", MILTER_REJECT, "550" },
      { "550-5.7.1 one\r\n550-5.7.1 two\r\n550 5.7.1 three", MILTER_REJECT, "550-5.7.1 one\r\n550-5.7.1 two\r\n550 5.7.1 three" },
      { "550 5.7.1 one\n550 5.7.1 two\r\n", MILTER_REJECT, "550-5.7.1 one\r\n550 5.7.1 two" },
      { "550-5.7.1 100%% spam, 5%s", MILTER_REJECT, "550 5.7.1 100% spam, 5s" },
      { "421 4.3.2 closing", MILTER_TEMPFAIL, "421 4.3.2 closing" },
      { "250 ok", -1, 0 },
      { "55", -1, 0 },
      { "550x", -1, 0 },
      { "5a0 x", -1, 0 },
      { "550 4.7.1 class mismatch", -1, 0 },
      { "450 5.7.1 class mismatch", -1, 0 },
      { "550 5.7.1 a\r\n451 4.7.1 b", -1, 0 },
      { "550 a\rb", -1, 0 },
      { "550 a\tb", MILTER_REJECT, "550 a\tb" },
      { "550 a\x7f", -1, 0 },
      { "550 \xc3\xa9t\xc3\xa9", -1, 0 },
      { "550 a\r\n\r\n550 b", -1, 0 },
      { "", -1, 0 },
    } ;
    unsigned int i ;
    fresh(&m, 0, 0) ;
    for (i = 0 ; i < sizeof(rc) / sizeof(rc[0]) ; i++)
    {
      m.done_conn = m.done_msg = 0 ;
      r = milter_reply_parse(&m, 'M', 'y', rc[i].in, strlen(rc[i].in) + 1, 0) ;
      if (rc[i].act < 0) ok(r == -1 && !strcmp(m.err, "protocol") && !m.reply.len, "REPLYCODE %u: a protocol error", i) ;
      else ok(r == rc[i].act && m.reply.len == strlen(rc[i].out) && !strcmp(m.reply.s, rc[i].out), "REPLYCODE %u: the action and the reply in normal form (%d)", i, r) ;
    }
    ok(milter_reply_parse(&m, 'M', 'y', "550 x", 5, 0) == -1, "REPLYCODE without its NUL: a protocol error") ;
    ok(milter_reply_parse(&m, 'M', 'y', "550 x\0y", 8, 0) == -1, "REPLYCODE with a NUL inside: a protocol error") ;
    m.done_conn = 0 ;
    ok(milter_reply_parse(&m, 'M', 'y', "421 4.7.0 bye", 14, 0) == MILTER_TEMPFAIL && m.done_conn, "REPLYCODE 421: done with the connection") ;
  }

  /* ---- the modifications at EOM ---- */
  {
    static char const ins[] = "\0\0\0\0X-First\0one" ;
    static char const chg0[] = "\0\0\0\0Subject\0new" ;
    static char const chg2[] = "\0\0\0\2X-Spam\0" ;
    fresh(&m, MILTER_ACTIONS, 0) ;
    milter_mods_reset(&mods) ;
    say('h', "X-Added\0 value\r\n\tfolded", 24) ;
    say('i', ins, sizeof(ins)) ;
    say('m', chg0, sizeof(chg0)) ;
    say('m', chg2, sizeof(chg2)) ;
    say('b', "new\r\nbo\0dy\r\n", 12) ;
    say('b', "more\r\n", 6) ;
    say('+', "<new@x>", 8) ;
    say('2', "<par@x>\0NOTIFY=NEVER", 21) ;
    say('2', "<nopar@x>", 10) ;
    say('-', "<old@x>", 8) ;
    say('e', "<from@x>\0SIZE=1", 16) ;
    say('q', "held for review", 16) ;
    say('p', "", 0) ;
    say('a', "", 0) ;
    r = milter_eom(&m, 0, &mods) ;
    RAW('E', "") ;
    ok(r == MILTER_ACCEPT && heard(&want) && genalloc_len(milter_mod, &mods.list) == 12, "EOM: twelve modifications, a PROGRESS, then ACCEPT (%d, %zu)", r, genalloc_len(milter_mod, &mods.list)) ;
    ok(mod_is(&mods, 0, MILTER_MOD_ADDHDR, 0, "X-Added", 7, " value\r\n\tfolded"), "ADDHEADER: name, value as sent") ;
    ok(mod_is(&mods, 1, MILTER_MOD_INSHDR, 0, "X-First", 7, "one"), "INSHEADER: index 0") ;
    ok(mod_is(&mods, 2, MILTER_MOD_CHGHDR, 1, "Subject", 7, "new"), "CHGHEADER: index 0 is the first instance (1)") ;
    ok(mod_is(&mods, 3, MILTER_MOD_CHGHDR, 2, "X-Spam", 6, ""), "CHGHEADER: empty value (delete), index 2") ;
    ok(mod_is(&mods, 4, MILTER_MOD_REPLBODY, 0, "new\r\nbo\0dy\r\n", 12, "") && mod_is(&mods, 5, MILTER_MOD_REPLBODY, 0, "more\r\n", 6, ""), "REPLBODY: raw chunks, in order") ;
    ok(mod_is(&mods, 6, MILTER_MOD_ADDRCPT, 0, "<new@x>", 7, ""), "ADDRCPT") ;
    ok(mod_is(&mods, 7, MILTER_MOD_ADDRCPT, 0, "<par@x>", 7, "NOTIFY=NEVER") && mod_is(&mods, 8, MILTER_MOD_ADDRCPT, 0, "<nopar@x>", 9, ""), "ADDRCPT_PAR: with and without arguments") ;
    ok(mod_is(&mods, 9, MILTER_MOD_DELRCPT, 0, "<old@x>", 7, ""), "DELRCPT") ;
    ok(mod_is(&mods, 10, MILTER_MOD_CHGFROM, 0, "<from@x>", 8, "SIZE=1"), "CHGFROM with arguments") ;
    ok(mod_is(&mods, 11, MILTER_MOD_QUARANTINE, 0, "held for review", 15, ""), "QUARANTINE with its reason") ;
    ok(!m.in_msg && !m.done_msg, "the message is over after EOM") ;

    /* the limit on one EOM's modifications */
    fresh(&m, MILTER_ACTIONS, 0) ;
    m.modmax = 200 ;
    milter_mods_reset(&mods) ;
    {
      static char chunk[150] ;
      memset(chunk, 'b', sizeof(chunk)) ;
      say('b', chunk, sizeof(chunk)) ;
      say('b', chunk, sizeof(chunk)) ;
      say('c', "", 0) ;
    }
    r = milter_eom(&m, 0, &mods) ;
    ok(r == MILTER_FAIL && !strcmp(m.err, "toolarge") && m.fd < 0 && genalloc_len(milter_mod, &mods.list) == 1, "modifications over modmax: toolarge, the filter down") ;
  }

  /* ---- protocol errors: each one takes the filter down ---- */
  {
    static struct { uint32_t actions ; char stage ; char cmd ; char const *data ; size_t n ; char const *err ; char const *what ; } const bad[] =
    {
      { MILTER_ACTIONS, 'M', 'Z', "", 0, "protocol", "an unknown reply" },
      { MILTER_ACTIONS, 'M', 'l', "", 0, "protocol", "SETSYMLIST as a reply" },
      { 0, 'E', 'h', "X\0v", 4, "protocol", "ADDHEADER not negotiated" },
      { SMFIF_ADDHDRS, 'E', 'm', "\0\0\0\1X\0v", 8, "protocol", "CHGHEADER with only ADDHDRS" },
      { MILTER_ACTIONS, 'R', 'h', "X\0v", 4, "protocol", "ADDHEADER at RCPT" },
      { MILTER_ACTIONS, 'E', 'h', "X\0v", 3, "protocol", "ADDHEADER without its last NUL" },
      { MILTER_ACTIONS, 'E', 'h', "X", 1, "protocol", "ADDHEADER without a value" },
      { MILTER_ACTIONS, 'E', 'h', "X:Y\0v", 6, "protocol", "a header name with ':'" },
      { MILTER_ACTIONS, 'E', 'h', "X Y\0v", 6, "protocol", "a header name with a space" },
      { MILTER_ACTIONS, 'E', 'h', "\0v", 3, "protocol", "an empty header name" },
      { MILTER_ACTIONS, 'E', 'i', "\0\0\0", 3, "protocol", "INSHEADER shorter than its index" },
      { MILTER_ACTIONS, 'E', '+', "<a@b>\0junk", 10, "protocol", "ADDRCPT with data left over" },
      { MILTER_ACTIONS, 'E', '+', "", 1, "protocol", "ADDRCPT of an empty address" },
      { MILTER_ACTIONS, 'E', '-', "<a\r\n@b>", 8, "protocol", "DELRCPT with CR LF" },
      { MILTER_ACTIONS, 'E', 'e', "<a@b>\0A\nB", 10, "protocol", "CHGFROM arguments with LF" },
      { MILTER_ACTIONS, 'E', 'q', "", 1, "protocol", "QUARANTINE without a reason" },
      { MILTER_ACTIONS, 'M', 'c', "x", 1, "protocol", "CONTINUE with data" },
      { MILTER_ACTIONS, 'M', 's', "", 0, "protocol", "SKIP at MAIL" },
      { MILTER_ACTIONS, 'B', 's', "", 0, "protocol", "SKIP not negotiated" },
      { MILTER_ACTIONS, 'Q', 'c', "", 0, "protocol", "a reply to QUIT" },
    } ;
    unsigned int i ;
    for (i = 0 ; i < sizeof(bad) / sizeof(bad[0]) ; i++)
    {
      fresh(&m, bad[i].actions, 0) ;
      milter_mods_reset(&mods) ;
      r = milter_reply_parse(&m, bad[i].stage, bad[i].cmd, bad[i].data, bad[i].n, &mods) ;
      ok(r == -1 && m.err && !strcmp(m.err, bad[i].err) && !genalloc_len(milter_mod, &mods.list), "%s: %s", bad[i].what, bad[i].err) ;
    }
    ok(milter_reply_parse(&m, 'E', 'h', "X\0v", 4, 0) == -1, "a modification without a mods to put it in") ;

    /* on the wire: an oversize packet, a zero length, and the filter is down after */
    {
      char const *const argv[] = { "<a@b>", 0 } ;
      fresh(&m, 0, 0) ;
      sayraw("\0\x10\0\1y", 5) ;
      r = milter_mail(&m, 0, argv) ;
      ok(r == MILTER_FAIL && !strcmp(m.err, "toolarge") && m.fd < 0, "a packet of MILTER_PACKET_MAX + 1: toolarge") ;
      r = milter_rcpt(&m, 0, argv) ;
      ok(r == MILTER_FAIL && !strcmp(m.err, "toolarge"), "later calls: FAIL, no I/O, the reason kept") ;
      fresh(&m, 0, 0) ;
      sayraw("\0\0\0\0", 4) ;
      r = milter_mail(&m, 0, argv) ;
      ok(r == MILTER_FAIL && !strcmp(m.err, "protocol"), "a packet of length 0: protocol") ;
      fresh(&m, 0, 0) ;
      say('y', "200 fine", 9) ;
      r = milter_mail(&m, 0, argv) ;
      ok(r == MILTER_FAIL && !strcmp(m.err, "protocol") && m.fd < 0, "a bad reply code on the wire: the filter down") ;
      fresh(&m, 0, 0) ;
      say('h', "X\0v", 4) ;
      r = milter_eom(&m, 0, &mods) ;
      ok(r == MILTER_FAIL && !strcmp(m.err, "protocol"), "a modification not negotiated, on the wire") ;
    }
  }

  /* ---- time: a silent filter, a closed one, PROGRESS ---- */
  {
    char const *const argv[] = { "<a@b>", 0 } ;
    fresh(&m, 0, 0) ;
    tain_now_g() ; start = STAMP ;
    r = milter_mail(&m, 0, argv) ;
    ok(r == MILTER_FAIL && !strcmp(m.err, "timeout") && m.fd < 0 && since(&start) > 0.8 && since(&start) < 2.5, "a silent filter: timeout after 1s (%.2fs)", since(&start)) ;
    fresh(&m, 0, 0) ;
    tain_now_g() ; start = STAMP ;
    r = milter_body(&m, "x", 1) ;
    ok(r == MILTER_FAIL && !strcmp(m.err, "timeout") && since(&start) < 2.5, "a silent filter at a body chunk: timeout (data timeout)") ;
    fresh(&m, 0, 0) ;
    sayraw("\0\0\0\x14y550", 8) ;
    shutdown(tap_peer, SHUT_WR) ;
    r = milter_mail(&m, 0, argv) ;
    ok(r == MILTER_FAIL && !strcmp(m.err, "eof"), "a filter that closes mid-reply: eof (%s)", m.err) ;
    fresh(&m, 0, 0) ;
    close(tap_peer) ; tap_peer = -1 ;
    r = milter_mail(&m, 0, argv) ;
    ok(r == MILTER_FAIL && (!strcmp(m.err, "eof") || !strcmp(m.err, "write")), "a filter gone before the command: no SIGPIPE, %s", m.err) ;
    {
      unsigned int i ;
      fresh(&m, 0, 0) ;
      /* in one write: a unix socket buffer counts each write's overhead */
      for (i = 0 ; i <= MILTER_PROGRESS_MAX ; i++) pkt(&want, 'p', "", 0) ;
      pkt(&want, 'c', "", 0) ;
      sayraw(want.s, want.len) ;
      want.len = 0 ;
      r = milter_eom(&m, 0, &mods) ;
      ok(r == MILTER_FAIL && !strcmp(m.err, "progress"), "PROGRESS more than MILTER_PROGRESS_MAX times: the filter down") ;
    }
    /* PROGRESS restarts the deadline: three of them 0.5s apart, then CONTINUE: 2s in all, with a 1s timeout */
    {
      pid_t pid ;
      int st ;
      fresh(&m, 0, 0) ;
      pid = fork() ;
      if (!pid)
      {
        unsigned int i ;
        for (i = 0 ; i < 3 ; i++) { pause500() ; say('p', "", 0) ; }
        pause500() ;
        say('c', "", 0) ;
        _exit(0) ;
      }
      tain_now_g() ; start = STAMP ;
      r = milter_eom(&m, 0, &mods) ;
      ok(r == MILTER_CONTINUE && since(&start) > 1.5, "PROGRESS restarts the data deadline (%.2fs, %s)", since(&start), m.err ? m.err : "ok") ;
      waitpid(pid, &st, 0) ;
    }
  }

  /* ---- negotiated away: NO*, NR_*, SKIP ---- */
  {
    char const *const argv[] = { "<a@b>", 0 } ;
    milter_macro const hmac[] = { { "{helo}", "x" }, { 0, 0 } } ;
    fresh(&m, 0, SMFIP_NOHELO | SMFIP_NR_MAIL | SMFIP_NORCPT | SMFIP_NOHDRS | SMFIP_NR_EOH | SMFIP_NOBODY) ;
    tain_now_g() ; start = STAMP ;
    r = milter_helo(&m, hmac, "x") ;
    ok(r == MILTER_CONTINUE && heard(&want), "NOHELO: nothing sent yet") ;
    r = milter_mail(&m, 0, argv) ;
    PKT('D', "H{helo}\0x") ;
    PKT('M', "<a@b>") ;
    ok(r == MILTER_CONTINUE && heard(&want), "NR_MAIL: the HELO macros go with MAIL, no reply read") ;
    r = milter_rcpt(&m, 0, argv) ;
    ok(r == MILTER_CONTINUE && heard(&want), "NORCPT: not sent") ;
    r = milter_header(&m, "A", 1, "b", 1) ;
    ok(r == MILTER_CONTINUE && heard(&want), "NOHDRS: not sent") ;
    r = milter_eoh(&m, 0) ;
    RAW('N', "") ;
    ok(r == MILTER_CONTINUE && heard(&want), "NR_EOH: sent, no reply read") ;
    r = milter_body(&m, "x", 1) ;
    ok(r == MILTER_CONTINUE && heard(&want) && since(&start) < 0.5, "NOBODY: not sent; nothing waited for") ;

    fresh(&m, 0, SMFIP_NR_HDR | SMFIP_SKIP) ;
    r = milter_header(&m, "A", 1, "b", 1) ;
    r += milter_header(&m, "C", 1, "d", 1) ;
    PKT('L', "A\0b") ;
    PKT('L', "C\0d") ;
    ok(r == MILTER_CONTINUE && heard(&want), "NR_HDR: headers sent back to back") ;
    m.in_msg = 1 ;
    say('s', "", 0) ;
    r = milter_body(&m, "one", 3) ;
    RAW('B', "one") ;
    ok(r == MILTER_CONTINUE && m.skip_body && heard(&want), "SKIP: CONTINUE, the rest of the body skipped") ;
    r = milter_body(&m, "two", 3) ;
    ok(r == MILTER_CONTINUE && heard(&want), "the next chunk is not sent") ;
    say('c', "", 0) ;
    r = milter_eom(&m, 0, &mods) ;
    RAW('E', "") ;
    ok(r == MILTER_CONTINUE && !m.skip_body && heard(&want), "EOM is sent, and ends the skip") ;
    say('s', "", 0) ;
    r = milter_body(&m, "x", 1) ;
    say('c', "", 0) ;
    milter_abort(&m) ;
    ok(!m.skip_body, "abort ends a skip too") ;
  }

  milter_close(&m) ;
  milter_mods_free(&mods) ;
  stralloc_free(&want) ;
  stralloc_free(&optreply) ;
  tap_rmtmp() ;
  return tap_done() ;
}
