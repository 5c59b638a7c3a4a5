/* ISC license: see LICENSE. */

/*
 * Unit test of lib/vuser: the passwd-file scan (whole addresses, bare
 * names, comments, lines without a colon, any split of the input), the
 * lookup of a passwd-file domain's users through lib/lookup, and the
 * target of a virtual user.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "lookup.h"
#include "vuser.h"
#include "tap.h"

static char const file[] =
  "# Dovecot's passwd-file\n"
  "\n"
  "Alice@Virt.Example:{SHA512-CRYPT}$6$hash:5000:5000::/home/alice::userdb_quota_rule=*:storage=1G\n"
  "bob:{PLAIN}pw:5000:5000::/home/bob::\n"
  "#carol@virt.example:{PLAIN}x:::\n"
  "nocolon@virt.example\n"
  "dave@virt.example.evil:{PLAIN}x:::\n"
  "{PLAIN}eve@virt.example:x\n" ;

/* the scan of file, fed in pieces of step octets: 1 found, 0 not */
static int scan (char const *addr, size_t step)
{
  vuser_scan s ;
  size_t i = 0, n = sizeof(file) - 1, al = strlen(addr), ll = strchr(addr, '@') - addr ;
  vuser_scan_init(&s, addr, al, ll) ;
  for (; i < n ; i += step)
    if (vuser_scan_feed(&s, file + i, i + step <= n ? step : n - i)) return 1 ;
  return 0 ;
}

/* the same answer whatever the pieces */
static int scans (char const *addr)
{
  int r = scan(addr, sizeof(file)) ;
  size_t step = 1 ;
  for (; step < 20 ; step++) if (scan(addr, step) != r) return -1 ;
  return r ;
}

int main (void)
{
  conf c ;
  stralloc err = STRALLOC_ZERO, out = STRALLOC_ZERO ;
  lookup l = LOOKUP_ZERO ;
  unsigned int m = 99 ;
  tap_plan(14) ;
  if (!tap_tmpdir()) return 111 ;

  ok(scans("alice@virt.example") == 1, "a whole address, matched in any case, whatever the pieces") ;
  ok(scans("bob@virt.example") == 1 && scans("bob@other.example") == 1, "a bare name: a user of the domain, whatever the domain") ;
  ok(!scans("carol@virt.example") && !scans("nocolon@virt.example"), "a comment, a line without a colon: nobody") ;
  ok(!scans("dave@virt.example") && !scans("alic@virt.example") && !scans("alice@virt.exampl") && !scans("eve@virt.example") && !scans("bo@virt.example"),
     "only the whole first field: no prefix, no longer field, nothing after a colon") ;

  tap_put("users", file) ;
  ok(vuser_passwd_find(tap_path("users"), "alice@virt.example", 18, 5) == 1 && !vuser_passwd_find(tap_path("users"), "zed@virt.example", 16, 3),
     "vuser_passwd_find: found, not found") ;
  ok(vuser_passwd_find(tap_path("nonexistent"), "a@b", 3, 1) < 0 && errno == ENOENT, "an unreadable file: an error (temporary at RCPT)") ;

  tap_put("vmap", "carol@map.example lmtp:unix:/run/own\ndan@map.example\nfred@map.example /srv/fred/\n") ;
  tap_put("ketch.conf",
    "hostname mx.test.example\n"
    "virtual-domain virt.example passwd-file users deliver lmtp unix:/run/dovecot/lmtp\n"
    "virtual-domain map.example map vmap deliver maildir /var/vmail/%d/%u\n"
    "virtual-domain bare.example map vmap\n") ;
  ok(conf_load(&c, tap_path("ketch.conf"), &err), "conf loads") ;
  ok(lookup_address(&l, &c, "Alice+Tag@Virt.Example") && l.kind == LOOKUP_VIRTUAL && !strcmp(l.sa.s + l.path, "") && !strcmp(l.sa.s + l.ext, "Tag"),
     "lookup: a passwd-file user, any case, its extension kept: virtual, no target of its own") ;
  ok(lookup_address(&l, &c, "zed@virt.example") && l.kind == LOOKUP_UNKNOWN, "lookup: a user it does not list: unknown (550 5.1.1 at RCPT)") ;
  ok(lookup_address(&l, &c, "postmaster@virt.example") && l.kind == LOOKUP_ALIAS && l.flags & LOOKUP_F_POSTMASTER, "lookup: postmaster always exists") ;

  out.len = 0 ;
  ok(vuser_target(&c, conf_vdomain_find(&c, "virt.example"), "", "alice", "virt.example", &m, &out) && m == CONF_DELIVER_LMTP
     && !strcmp(out.s, "unix:/run/dovecot/lmtp") && vuser_lmtp(conf_vdomain_find(&c, "virt.example"), ""),
     "target: none of its own, the domain's LMTP") ;
  out.len = 0 ;
  ok(vuser_target(&c, conf_vdomain_find(&c, "map.example"), "lmtp:unix:/run/own", "carol", "map.example", &m, &out) && m == CONF_DELIVER_LMTP
     && !strcmp(out.s, "unix:/run/own") && vuser_lmtp(conf_vdomain_find(&c, "map.example"), "lmtp:unix:/run/own"),
     "target: its own LMTP target, before the domain's") ;
  out.len = 0 ;
  ok(vuser_target(&c, conf_vdomain_find(&c, "map.example"), "", "dan", "map.example", &m, &out) && m == CONF_DELIVER_MAILDIR
     && !strcmp(out.s, "/var/vmail/map.example/dan") && !vuser_lmtp(conf_vdomain_find(&c, "map.example"), "")
     && vuser_target(&c, conf_vdomain_find(&c, "map.example"), "/srv/fred/", "fred", "map.example", &m, (out.len = 0, &out)) && m == CONF_DELIVER_MAILDIR && !strcmp(out.s, "/srv/fred/"),
     "target: the domain's maildir template, or the entry's own Maildir") ;
  out.len = 0 ;
  ok(!vuser_target(&c, conf_vdomain_find(&c, "bare.example"), "", "dan", "bare.example", &m, &out) && errno == EINVAL
     && !vuser_target(&c, conf_vdomain_find(&c, "map.example"), "~/Maildir", "dan", "map.example", &m, &out) && errno == EINVAL
     && !vuser_target(&c, conf_vdomain_find(&c, "map.example"), "", "..", "map.example", &m, &out) && errno == EINVAL
     && !vuser_target(&c, conf_vdomain_find(&c, "map.example"), "lmtp:", "dan", "map.example", &m, &out) && errno == EINVAL,
     "no target: no domain deliver, a relative path, a local part unfit for a path, an empty lmtp:") ;

  lookup_free(&l) ;
  conf_free(&c) ;
  stralloc_free(&err) ;
  stralloc_free(&out) ;
  tap_rmtmp() ;
  return tap_done() ;
}
