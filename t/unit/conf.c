/* ISC license: see LICENSE. */

/*
 * Unit test of lib/conf. The numbers: every size, count and duration is
 * in range or refused, never wrapped (17179869185G was read as 1G), and
 * every address word is taken whole. Then each type of keyword parses,
 * the defaults, the bounds, the settings that can be set once, errors
 * with their file:line, conf_check's collect-all mode, conf_print's
 * printout parsed again printing the same, conf_keywords' listing,
 * conf_prog, and the queries (local domains, virtual domains, relay
 * networks, routes).
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>

#include <skalibs/stralloc.h>
#include <skalibs/djbunix.h>

#include "conf.h"
#include "netaddr.h"
#include "tap.h"

static char dir[] = "/tmp/ketch-conf.XXXXXX" ;
static stralloc err = STRALLOC_ZERO ;

/* the configuration text loaded into c; 1 if it loads */
static int load (conf *c, char const *text)
{
  stralloc fn = STRALLOC_ZERO ;
  int r ;
  stralloc_cats(&fn, dir) ; stralloc_cats(&fn, "/ketch.conf") ; stralloc_0(&fn) ;
  if (!openwritenclose_unsafe(fn.s, text, strlen(text))) _exit(111) ;
  err.len = 0 ;
  r = conf_load(c, fn.s, &err) ;
  unlink(fn.s) ;
  stralloc_free(&fn) ;
  return r ;
}

/* text loads, and c is freed again */
static int loads (char const *text)
{
  conf c ;
  if (!load(&c, text)) return 0 ;
  conf_free(&c) ;
  return 1 ;
}

static int size_is (char const *text, uint64_t want)
{
  conf c ;
  int r ;
  if (!load(&c, text)) return 0 ;
  r = c.message_size == want ;
  conf_free(&c) ;
  return r ;
}

/* text is refused, and the message holds what */
static int refused (char const *text, char const *what)
{
  conf c ;
  if (load(&c, text)) { conf_free(&c) ; return 0 ; }
  if (!err.len || !strstr(err.s, what)) { printf("# got: %.*s\n", (int)err.len, err.s) ; return 0 ; }
  return 1 ;
}

/* the string at offset off of c is s */
static int str_is (conf const *c, size_t off, char const *s)
{
  if (off && !strcmp(c->sa.s + off, s)) return 1 ;
  printf("# got: %s, expected: %s\n", off ? c->sa.s + off : "(unset)", s) ;
  return 0 ;
}

/* path, in dir */
static char const *indir (char const *path)
{
  static char buf[256] ;
  strcpy(buf, dir) ; strcat(buf, "/") ; strcat(buf, path) ;
  return buf ;
}

/* text is refused, and the message is exactly "DIR/ketch.conf:what" */
static int refused_at (char const *text, char const *what)
{
  conf c ;
  size_t n = strlen(dir) + strlen("/ketch.conf:") ;
  if (load(&c, text)) { conf_free(&c) ; return 0 ; }
  if (!err.len || errno != EINVAL || strncmp(err.s, dir, strlen(dir)) || strncmp(err.s + strlen(dir), "/ketch.conf:", 12) || strcmp(err.s + n, what))
  {
    printf("# got: %.*s\n", (int)err.len, err.s) ;
    return 0 ;
  }
  return 1 ;
}

static void types (void)
{
  conf c ;
  ok(load(&c, "queue-user q\nsmtp-user s\nalias-user a\nhostname MX.Example.ORG\n")
     && str_is(&c, c.queue_user, "q") && str_is(&c, c.smtp_user, "s") && str_is(&c, c.alias_user, "a")
     && str_is(&c, c.hostname, "mx.example.org"), "string: users, and the host name in lower case") ;
  conf_free(&c) ;
  ok(load(&c, "spool sp\nprograms /opt/ketch\nca-file ~/ca.pem\naliases \"my aliases\"\nenqueue-socket run/sock\n")
     && str_is(&c, c.spool, indir("sp")) && str_is(&c, c.bindir, "/opt/ketch") && str_is(&c, c.ca_file, "~/ca.pem")
     && str_is(&c, c.aliases, indir("my aliases")) && str_is(&c, c.enqueue_socket, indir("run/sock")) && c.aliases_line == 4,
     "path: relative to the file's directory, absolute and ~/ kept, quoted, and the aliases' line kept") ;
  conf_free(&c) ;
  ok(load(&c, "local-uid-min 0\nlimit recipients 7\nlimit hops 3\n") && c.local_uid_min == 0 && c.max_recipients == 7 && c.max_hops == 3,
     "number: local-uid-min 0, limit recipients, limit hops") ;
  conf_free(&c) ;
  ok(load(&c, "limit message-size 10M\n") && c.message_size == 10u << 20, "size: 10M") ;
  conf_free(&c) ;
  ok(load(&c, "timeout data 2m\nretry max 1w\nexpire 3d\nrescan 90\nwarn 2h\n") && c.timeout_data == 120 && c.retry_max == 604800
     && c.expire == 3 * 86400 && c.rescan == 90 && c.warn == 7200, "duration: with and without a unit, into 32- and 64-bit fields") ;
  conf_free(&c) ;
  ok(load(&c, "remote-port 2525\n") && c.remote_port == 2525, "port: remote-port") ;
  conf_free(&c) ;
  ok(load(&c, "outbound-tls verify\n") && c.tls_outbound == CONF_TLS_VERIFY, "word: outbound-tls verify") ;
  conf_free(&c) ;
  ok(refused("outbound-tls none\n", "outbound-tls takes opportunistic, required or verify"), "word: outbound-tls none refused, the words listed") ;
  ok(load(&c, "outbound-tls verify\n") && c.log_dest == CONF_LOG_S6 && c.log_format == CONF_LOGFMT_TEXT && (conf_free(&c), 1)
     && load(&c, "log syslog\nlog-format json\n") && c.log_dest == CONF_LOG_SYSLOG && c.log_format == CONF_LOGFMT_JSON
     && (conf_free(&c), refused("log journal\n", "log takes s6 or syslog")), "words: log and log-format, their defaults, log journal refused") ;
  ok(load(&c, "certificate c.pem key /k.pem\nauth-table at\nlisten 127.0.0.1 port 587 starttls auth-required\nlisten ::1 smtps plain-auth\n")
     && str_is(&c, c.cert, indir("c.pem")) && str_is(&c, c.key, "/k.pem") && c.cert_line == 1 && c.auth_table_line == 2
     && genalloc_len(conf_listen, &c.listen) == 2
     && genalloc_s(conf_listen, &c.listen)[0].port == 587 && !genalloc_s(conf_listen, &c.listen)[0].is6
     && genalloc_s(conf_listen, &c.listen)[0].flags == (CONF_LISTEN_STARTTLS | CONF_LISTEN_AUTH | CONF_LISTEN_AUTHREQUIRED)
     && genalloc_s(conf_listen, &c.listen)[0].line == 3
     && genalloc_s(conf_listen, &c.listen)[1].port == 25 && genalloc_s(conf_listen, &c.listen)[1].is6
     && genalloc_s(conf_listen, &c.listen)[1].flags == (CONF_LISTEN_SMTPS | CONF_LISTEN_AUTH | CONF_LISTEN_PLAINAUTH),
     "rules: certificate and key, listen with its port and flags") ;
  conf_free(&c) ;
  ok(load(&c, "local-domain A.example b.example\nlocal-domain c.example\nvirtual-domain V.example map vmap\n")
     && genalloc_len(size_t, &c.local_domains) == 3 && str_is(&c, genalloc_s(size_t, &c.local_domains)[0], "a.example")
     && genalloc_len(conf_vdomain, &c.vdomains) == 1 && str_is(&c, genalloc_s(conf_vdomain, &c.vdomains)[0].domain, "v.example")
     && str_is(&c, genalloc_s(conf_vdomain, &c.vdomains)[0].map, indir("vmap")), "rules: local-domain (several lines add up), virtual-domain") ;
  conf_free(&c) ;
  ok(load(&c, "virtual-domain a.example passwd-file /etc/dovecot/users deliver lmtp unix:/run/dovecot/lmtp\n"
     "virtual-domain b.example map vmap deliver maildir /var/vmail/%d/%u\nvirtual-domain c.example map vmap\n")
     && genalloc_s(conf_vdomain, &c.vdomains)[0].users == CONF_VUSERS_PASSWD && genalloc_s(conf_vdomain, &c.vdomains)[0].deliver.type == CONF_DELIVER_LMTP
     && str_is(&c, genalloc_s(conf_vdomain, &c.vdomains)[0].deliver.arg, "unix:/run/dovecot/lmtp")
     && genalloc_s(conf_vdomain, &c.vdomains)[1].users == CONF_VUSERS_MAP && genalloc_s(conf_vdomain, &c.vdomains)[1].deliver.type == CONF_DELIVER_MAILDIR
     && str_is(&c, genalloc_s(conf_vdomain, &c.vdomains)[1].deliver.arg, "/var/vmail/%d/%u")
     && !genalloc_s(conf_vdomain, &c.vdomains)[2].deliver.arg && c.deliver.type == CONF_DELIVER_MAILDIR,
     "rules: virtual-domain with a passwd-file and a deliver of its own; the global deliver untouched") ;
  conf_free(&c) ;
  ok(!load(&c, "virtual-domain a.example passwd-file users\n") && !load(&c, "virtual-domain a.example passwd-file users deliver maildir /m/%u\n")
     && !load(&c, "virtual-domain a.example map m deliver maildir ~/M\n") && !load(&c, "virtual-domain a.example map m deliver mbox /m\n")
     && !load(&c, "virtual-domain a.example map m deliver lmtp nowhere\n") && !load(&c, "virtual-domain a.example map m deliver\n"),
     "rules: a passwd-file without deliver lmtp, a relative template, mbox, a bad LMTP target, a word missing: refused") ;
  ok(load(&c, "route R.example via [::1]:26 tls verify auth creds\nsmarthost relay.example tls none\n")
     && genalloc_len(conf_route, &c.routes) == 2
     && str_is(&c, genalloc_s(conf_route, &c.routes)[0].domain, "r.example") && str_is(&c, genalloc_s(conf_route, &c.routes)[0].host, "::1")
     && genalloc_s(conf_route, &c.routes)[0].port == 26 && genalloc_s(conf_route, &c.routes)[0].tls == CONF_TLS_VERIFY
     && str_is(&c, genalloc_s(conf_route, &c.routes)[0].auth, indir("creds"))
     && !genalloc_s(conf_route, &c.routes)[1].domain && str_is(&c, genalloc_s(conf_route, &c.routes)[1].host, "relay.example")
     && genalloc_s(conf_route, &c.routes)[1].port == 25 && genalloc_s(conf_route, &c.routes)[1].tls == CONF_TLS_NONE,
     "rules: route and smarthost") ;
  conf_free(&c) ;
  ok(load(&c, "deliver mda /usr/bin/procmail -d \"%u x\"\n") && c.deliver.type == CONF_DELIVER_MDA && c.deliver.argc == 3
     && !strcmp(c.sa.s + c.deliver.arg, "/usr/bin/procmail") && !strcmp(c.sa.s + c.deliver.arg + 18, "-d") && !strcmp(c.sa.s + c.deliver.arg + 21, "%u x"),
     "rules: deliver mda, its argv") ;
  conf_free(&c) ;
  ok(load(&c, "deliver lmtp 127.0.0.1:24\nresolver 127.0.0.53 port 5353\n") && c.deliver.type == CONF_DELIVER_LMTP
     && str_is(&c, c.deliver.arg, "127.0.0.1:24") && c.resolver_port == 5353 && !c.resolver_is6 && !memcmp(c.resolver_ip, "\177\0\0\065", 4),
     "rules: deliver lmtp, resolver") ;
  conf_free(&c) ;
}

static void defaults (void)
{
  conf c ;
  char host[256] ;
  if (gethostname(host, sizeof(host) - 1) < 0) host[0] = 0 ;
  host[sizeof(host) - 1] = 0 ;
  for (char *h = host ; *h ; h++) if (*h >= 'A' && *h <= 'Z') *h += 'a' - 'A' ;
  ok(load(&c, "# nothing but a comment\n\n"), "an empty configuration loads") ;
  ok(c.message_size == 35u << 20 && c.max_recipients == 100 && c.max_connections == 100 && c.max_per_client == 10
     && c.max_errors == 10 && c.max_hops == 50 && c.concurrency_local == 10 && c.concurrency_remote == 20
     && c.concurrency_destination == 5 && c.messages_per_connection == 100, "defaults: the limits") ;
  ok(c.timeout_command == 300 && c.timeout_data == 180 && c.timeout_session == 3600 && c.timeout_connect == 60
     && c.timeout_delivery == 600 && c.retry_local == 60 && c.retry_remote == 400 && c.retry_max == 4 * 3600
     && c.rescan == 120 && c.expire == 5 * 86400 && c.warn == 4 * 3600, "defaults: the timeouts, retries, rescan, expire, warn") ;
  ok(c.local_uid_min == 1000 && c.tls_outbound == CONF_TLS_OPPORTUNISTIC && c.remote_port == 25 && !c.resolver_port,
     "defaults: local-uid-min, outbound-tls, remote-port, no resolver") ;
  ok(str_is(&c, c.spool, "/var/spool/ketch") && str_is(&c, c.bindir, KETCH_LIBEXECDIR) && str_is(&c, c.hostname, host)
     && c.deliver.type == CONF_DELIVER_MAILDIR && str_is(&c, c.deliver.arg, "~/Maildir"),
     "defaults: spool, programs, the host name (gethostname, lower case), deliver maildir ~/Maildir") ;
  ok(!c.enqueue_socket && !c.queue_user && !c.smtp_user && !c.alias_user && !c.cert && !c.key && !c.aliases
     && !c.auth_table && !c.ca_file && !genalloc_len(conf_listen, &c.listen) && !genalloc_len(size_t, &c.local_domains)
     && !genalloc_len(conf_vdomain, &c.vdomains) && !genalloc_len(conf_net, &c.relay_nets) && !genalloc_len(conf_route, &c.routes),
     "defaults: no socket, users, files, listeners, domains, relay networks or routes") ;
  conf_free(&c) ;
}

static void bounds (void)
{
  conf c ;
  char text[200] ;
  ok(refused_at("limit recipients 0\n", "1: limit: not a positive number: 0") && refused_at("limit messages-per-connection 0\n", "1: limit: not a positive number: 0"),
     "count: 0 refused") ;
  ok(load(&c, "local-uid-min 1000000\n") && c.local_uid_min == 1000000 && (conf_free(&c), 1)
     && refused_at("local-uid-min 1000001\n", "1: local-uid-min: not a number: 1000001"), "local-uid-min: at most 1000000") ;
  ok(load(&c, "remote-port 65535\n") && c.remote_port == 65535 && (conf_free(&c), 1)
     && refused_at("remote-port 65536\n", "1: remote-port needs a number from 1 to 65535")
     && refused_at("remote-port 0\n", "1: remote-port needs a number from 1 to 65535"), "port: 1 to 65535") ;
  ok(refused_at("timeout data 0s\n", "1: not a duration (like 30s, 5m, 4h, 5d): 0s") && refused_at("limit message-size 0K\n", "1: limit message-size: bad size: 0K"),
     "duration and size: 0 with a unit refused") ;
  /* sun_path: 108 octets with the NUL */
  strcpy(text, "enqueue-socket /") ;
  memset(text + 16, 'a', 106) ; strcpy(text + 122, "\n") ;
  ok(load(&c, text) && strlen(c.sa.s + c.enqueue_socket) == 107 && (conf_free(&c), 1), "enqueue-socket: a path of 107 octets") ;
  memset(text + 16, 'a', 107) ; strcpy(text + 123, "\n") ;
  ok(refused(text, "enqueue-socket: path longer than 107 octets: /aaa"), "enqueue-socket: 108 octets refused") ;
  ok(load(&c, "relay-from 10.0.0.0/32 ::/0\n") && (conf_free(&c), 1) && refused_at("relay-from 10.0.0.0/33\n", "1: relay-from: bad prefix length: 33")
     && refused_at("relay-from ::/129\n", "1: relay-from: bad prefix length: 129"), "relay-from: prefixes up to 32 and 128") ;
}

/* each setting that can be set once, twice: an error at the second line; numbers: the last wins */
static void once (void)
{
  static char const *const twice[] =
  {
    "hostname a.example\nhostname b.example\n", "hostname is set twice",
    "spool /a\nspool /b\n", "spool is set twice",
    "programs /a\nprograms /b\n", "programs is set twice",
    "enqueue-socket /a\nenqueue-socket /b\n", "enqueue-socket is set twice",
    "queue-user a\nqueue-user b\n", "queue-user is set twice",
    "smtp-user a\nsmtp-user b\n", "smtp-user is set twice",
    "alias-user a\nalias-user b\n", "alias-user is set twice",
    "aliases a\naliases b\n", "aliases is set twice",
    "auth-table a\nauth-table b\n", "auth-table is set twice",
    "ca-file a\nca-file b\n", "ca-file is set twice",
    "certificate c key k\ncertificate d key l\n", "certificate is set twice",
    "smarthost a.example\nsmarthost b.example\n", "smarthost is set twice",
    "route a.example via h.example\nroute A.example via i.example\n", "route: this domain already has a route",
    "listen 127.0.0.1\nlisten 127.0.0.1 port 25\n", "listen: the same address and port as line 1",
    0
  } ;
  char const *const *t = twice ;
  unsigned int bad = 0, n = 0 ;
  conf c ;
  char want[100] ;
  for (; *t ; t += 2, n++)
  {
    strcpy(want, "2: ") ; strcat(want, t[1]) ;
    if (!refused_at(t[0], want)) { printf("# %s", t[0]) ; bad++ ; }
  }
  ok(!bad && n == 14, "set once: %u settings, each refused at its second line", n) ;
  ok(load(&c, "limit recipients 3\nlimit recipients 4\ntimeout data 1m\ntimeout data 2m\noutbound-tls verify\noutbound-tls required\nlocal-uid-min 5\nlocal-uid-min 6\n")
     && c.max_recipients == 4 && c.timeout_data == 120 && c.tls_outbound == CONF_TLS_REQUIRED && c.local_uid_min == 6,
     "numbers and words set twice: the last wins") ;
  conf_free(&c) ;
  {
    conf d ;
    int def = load(&d, "") && d.tls_session_cache == 300 ;
    if (def) conf_free(&d) ;
    ok(def && load(&c, "tls-session-cache 0\n") && !c.tls_session_cache && (conf_free(&c), load(&c, "tls-session-cache 24h\n")) && c.tls_session_cache == 86400
       && !loads("tls-session-cache 86401\n") && strstr(err.s, "too long"),
       "tls-session-cache: 300 s by default, 0 turns it off, 24 hours at most (RFC 5246 F.1.4)") ;
    conf_free(&c) ;
  }
  ok(load(&c, "route a.example via h.example\nroute b.example via h.example\nlisten 127.0.0.1\nlisten 127.0.0.1 port 26\nlisten ::1\n")
     && genalloc_len(conf_route, &c.routes) == 2 && genalloc_len(conf_listen, &c.listen) == 3, "routes to other domains, listeners on other ports or addresses add up") ;
  conf_free(&c) ;
}

static void errors (void)
{
  conf c ;
  ok(refused_at("# one\n\nfrob 1\n", "3: unknown keyword: frob"), "unknown keyword, at its line, comments and blank lines counted") ;
  ok(refused_at("limit frob 1\n", "1: limit: unknown limit: frob") && refused_at("timeout x 1\n", "1: timeout: unknown timeout: x")
     && refused_at("retry soon 1\n", "1: retry: expected local, remote or max"), "unknown second words: limit, timeout, retry") ;
  ok(refused_at("limit recipients\n", "1: limit: missing argument") && refused_at("retry max 1 2\n", "1: retry: too many arguments")
     && refused_at("spool a b\n", "1: spool: too many arguments") && refused_at("warn\n", "1: warn: missing argument")
     && refused_at("limit frob\n", "1: limit: missing argument"), "missing and extra words, before the second word is looked at") ;
  ok(refused_at("spool \"a b\n", "1: unterminated quote") && refused_at("spool \"a\"b\n", "1: text after a closing quote"), "quotes") ;
  {
    static char const nul[] = "hostname h.example\nspool /a\0b\n" ;
    stralloc fn = STRALLOC_ZERO ;
    stralloc_cats(&fn, dir) ; stralloc_cats(&fn, "/nul.conf") ; stralloc_0(&fn) ;
    if (!openwritenclose_unsafe(fn.s, nul, sizeof(nul) - 1)) _exit(111) ;
    ok(!conf_load(&c, fn.s, &err) && strstr(err.s, "nul.conf:2: NUL in the configuration"), "a NUL, at its line") ;
    unlink(fn.s) ;
    stralloc_free(&fn) ;
  }
  ok(load(&c, "hostname h.example\r\nspool /s\r\n") && str_is(&c, c.spool, "/s"), "CRLF line ends") ;
  conf_free(&c) ;
  ok(!conf_load(&c, "/nonexistent/ketch.conf", &err) && errno == ENOENT && !strncmp(err.s, "/nonexistent/ketch.conf: unable to read: ", 41),
     "an unreadable file: its errno, and its name in the message") ;
}

static void collect (void)
{
  conf c ;
  unsigned int nerr = 99 ;
  stralloc fn = STRALLOC_ZERO ;
  stralloc want = STRALLOC_ZERO ;
  static char const text[] = "frob 1\nhostname h.example\nlimit errors x\nlisten 127.0.0.1 auth\nspool /a\nspool /b\n" ;
  stralloc_cats(&fn, dir) ; stralloc_cats(&fn, "/multi.conf") ; stralloc_0(&fn) ;
  if (!openwritenclose_unsafe(fn.s, text, sizeof(text) - 1)) _exit(111) ;
  stralloc_cats(&want, fn.s) ; stralloc_cats(&want, ":1: unknown keyword: frob\n") ;
  stralloc_cats(&want, fn.s) ; stralloc_cats(&want, ":3: limit: not a positive number: x\n") ;
  stralloc_cats(&want, fn.s) ; stralloc_cats(&want, ":6: spool is set twice\n") ;
  stralloc_cats(&want, fn.s) ; stralloc_cats(&want, ":4: listen: auth needs an auth-table or auth dovecot line") ; stralloc_0(&want) ;
  ok(!conf_check(&c, fn.s, &err, &nerr) && errno == EINVAL && nerr == 4, "conf_check: four errors counted (%u)", nerr) ;
  ok(!strcmp(err.s, want.s), "conf_check: each at its line, in order, the end's checks last") ;
  if (strcmp(err.s, want.s)) printf("# got: %s\n", err.s) ;
  ok(!conf_load(&c, fn.s, &err) && !strchr(err.s, '\n') && strstr(err.s, "multi.conf:1: unknown keyword: frob"), "conf_load: the first error only") ;
  ok(conf_check(&c, indir("../nonexistent-dir/x.conf"), &err, &nerr) == 0 && nerr == 0 && errno == ENOENT, "conf_check: an unreadable file is no count of errors") ;
  unlink(fn.s) ;
  if (!openwritenclose_unsafe(fn.s, "hostname h.example\n", 19)) _exit(111) ;
  ok(conf_check(&c, fn.s, &err, &nerr) == 1 && !nerr && (conf_free(&c), 1), "conf_check: a good file, 1 and no error") ;
  unlink(fn.s) ;
  stralloc_free(&fn) ; stralloc_free(&want) ;
}

/* c printed, the printout loaded from another directory and printed: the same */
static int fixed_point (conf const *c, stralloc *p1)
{
  stralloc p2 = STRALLOC_ZERO, fn = STRALLOC_ZERO ;
  conf c2 ;
  int r = 0 ;
  p1->len = 0 ;
  if (!conf_print(c, p1)) return 0 ;
  if (mkdir(indir("elsewhere"), 0700) < 0) return 0 ;
  stralloc_cats(&fn, indir("elsewhere/p.conf")) ; stralloc_0(&fn) ;
  if (openwritenclose_unsafe(fn.s, p1->s, p1->len) && conf_load(&c2, fn.s, &err))
  {
    r = conf_print(&c2, &p2) && p2.len == p1->len && !memcmp(p1->s, p2.s, p1->len) ;
    if (!r) printf("# first:\n%.*s# then:\n%.*s", (int)p1->len, p1->s, (int)p2.len, p2.s) ;
    conf_free(&c2) ;
  }
  else printf("# %s\n", err.s) ;
  unlink(fn.s) ; rmdir(indir("elsewhere")) ;
  stralloc_free(&fn) ; stralloc_free(&p2) ;
  return r ;
}

/* line is a whole line of the printout */
static int printed (stralloc const *p, char const *line)
{
  size_t n = strlen(line) ;
  char const *s = p->s, *end = p->s + p->len ;
  while (s < end)
  {
    char const *nl = memchr(s, '\n', end - s) ;
    if (!nl) return 0 ;
    if ((size_t)(nl - s) == n && !memcmp(s, line, n)) return 1 ;
    s = nl + 1 ;
  }
  return 0 ;
}

static void roundtrip (void)
{
  conf c ;
  stralloc p = STRALLOC_ZERO ;
  ok(load(&c, "hostname mx.example.org\nspool spool\nenqueue-socket /run/e\nqueue-user q\nlocal-uid-min 500\n"
    "listen 127.0.0.1 port 2525 starttls auth-required\nlisten ::1 smtps plain-auth\ncertificate cert.pem key key.pem\n"
    "auth-table \"my auth\"\naliases aliases\nlocal-domain example.org example.net\nvirtual-domain v.example map vmap\n"
    "virtual-domain w.example passwd-file /etc/dovecot/users deliver lmtp unix:/run/dovecot/lmtp\n"
    "relay-from 10.0.0.0/8 ::1\ndeliver mda /usr/bin/procmail -d \"%u x\"\nroute example.com via [::1]:26 tls verify auth creds\n"
    "smarthost relay.example.net:587 tls required\noutbound-tls verify\nresolver 127.0.0.1\nremote-port 2526\nca-file ca\n"
    "limit message-size 10M\nlimit hops 7\ntimeout command 90s\nretry remote 2h\nexpire 3d\nwarn 86400\n"),
    "a configuration with every keyword loads") ;
  ok(fixed_point(&c, &p), "its printout parsed again prints the same") ;
  ok(printed(&p, "limit message-size 10M") && printed(&p, "limit recipients 100") && printed(&p, "timeout command 90s")
     && printed(&p, "timeout data 3m") && printed(&p, "retry remote 2h") && printed(&p, "expire 3d") && printed(&p, "warn 1d")
     && printed(&p, "outbound-tls verify") && printed(&p, "remote-port 2526") && printed(&p, "local-uid-min 500")
     && printed(&p, "resolver 127.0.0.1 port 53") && printed(&p, "listen ::1 port 25 smtps plain-auth")
     && printed(&p, "virtual-domain w.example passwd-file /etc/dovecot/users deliver lmtp unix:/run/dovecot/lmtp"),
     "numbers with the largest exact unit, defaults filled in") ;
  {
    char spool[300], route[300] ;
    strcpy(spool, "spool ") ; strcat(spool, indir("spool")) ;
    strcpy(route, "route example.com via [::1]:26 tls verify auth ") ; strcat(route, indir("creds")) ;
    ok(printed(&p, spool) && printed(&p, route) && printed(&p, "deliver mda /usr/bin/procmail -d \"%u x\""),
       "paths absolute, quotes kept where needed") ;
  }
  conf_free(&c) ;
  ok(load(&c, "hostname h.example\n") && fixed_point(&c, &p) && !printed(&p, "local-uid-min 1000") && printed(&p, "deliver maildir ~/Maildir")
     && printed(&p, "outbound-tls opportunistic") && printed(&p, "programs " KETCH_LIBEXECDIR), "a minimal configuration: a fixed point too, local-uid-min only when set") ;
  conf_free(&c) ;
  stralloc_free(&p) ;
}

/* filter, listen ... filter, local-filter, the filter timeouts (issue 19) */
static void filters (void)
{
  conf c ;
  stralloc p = STRALLOC_ZERO ;
  ok(load(&c, "hostname h.example\nlisten 127.0.0.1 port 25 filter b filter a\nlisten 127.0.0.1 port 26\n"
    "filter a unix:run/a.sock on-failure accept\nfilter b inet:127.0.0.1:8891\nfilter c inet6:[::1]:99\nlocal-filter c a\n"
    "timeout filter-data 1m\n"), "filters load, named before they are defined") ;
  {
    conf_listen const *l = genalloc_s(conf_listen, &c.listen) ;
    size_t const *u = genalloc_s(size_t, &c.filter_use) ;
    conf_filter const *a = conf_filter_find(&c, "a") ;
    ok(l[0].filter_count == 2 && !strcmp(c.sa.s + u[l[0].filter_first], "b") && !strcmp(c.sa.s + u[l[0].filter_first + 1], "a")
       && !l[1].filter_count, "a listener's filters, in order; none on the other") ;
    ok(a && a->onfail == CONF_FILTER_ACCEPT && !strncmp(c.sa.s + a->address, "unix:/", 6) && strstr(c.sa.s + a->address, "/run/a.sock")
       && conf_filter_find(&c, "b")->onfail == CONF_FILTER_TEMPFAIL && !conf_filter_find(&c, "z"),
       "conf_filter_find: the address (a relative socket made absolute), on-failure tempfail by default") ;
    ok(genalloc_len(size_t, &c.local_filters) == 2 && c.timeout_filter_data == 60 && c.timeout_filter_connect == 30
       && c.timeout_filter_command == 30, "local-filter, and the timeouts (defaults 30s, 30s, 5m)") ;
  }
  ok(fixed_point(&c, &p) && printed(&p, "listen 127.0.0.1 port 25 filter b filter a") && printed(&p, "filter b inet:127.0.0.1:8891 on-failure tempfail")
     && printed(&p, "local-filter c a") && printed(&p, "timeout filter-data 1m"), "printed and parsed again the same") ;
  conf_free(&c) ;
  stralloc_free(&p) ;
  ok(refused_at("listen 127.0.0.1 filter x\n", "1: listen: no filter line defines: x")
     && refused_at("local-filter y\n", "1: local-filter: no filter line defines: y"), "an unknown filter name is an error, at its line") ;
  ok(refused_at("filter a unix:/x\nfilter a unix:/y\n", "2: filter: defined twice: a")
     && refused_at("filter a/b unix:/x\n", "1: filter: a name is 1 to 64 letters, digits, '-', '_' or '.': a/b")
     && refused_at("filter a inet:localhost:1\n", "1: filter: expected unix:PATH, inet:IPV4:PORT or inet6:[IPV6]:PORT, not: inet:localhost:1")
     && refused_at("filter a inet:127.0.0.1\n", "1: filter: expected unix:PATH, inet:IPV4:PORT or inet6:[IPV6]:PORT, not: inet:127.0.0.1")
     && refused_at("filter a unix:/x on-failure maybe\n", "1: filter: on-failure takes tempfail or accept")
     && refused_at("listen 127.0.0.1 filter\n", "1: listen: filter needs a filter's name"),
     "bad filter lines: a name twice, a bad name, a host name, no port, a bad on-failure, filter without a name") ;
}

/* every listed keyword is one the parser knows, and the list has every one */
static void keywords (void)
{
  stralloc k = STRALLOC_ZERO ;
  size_t i = 0, n = 0 ;
  unsigned int unknown = 0 ;
  ok(conf_keywords(&k) && k.len && k.s[k.len - 1] == '\n', "conf_keywords: a list of lines") ;
  while (i < k.len)
  {
    char line[100] ;
    char *nl = memchr(k.s + i, '\n', k.len - i) ;
    size_t len = nl - (k.s + i) ;
    if (len > sizeof(line) - 2) break ;
    memcpy(line, k.s + i, len) ; line[len] = '\n' ; line[len + 1] = 0 ;
    i += len + 1 ; n++ ;
    /* alone (or with its second word), it lacks its value: the parser knows it */
    if (loads(line) || strstr(err.s, "unknown") || strstr(err.s, "expected local")) { printf("# %s", line) ; unknown++ ; }
  }
  ok(n == 65, "conf_keywords: 65 keywords (%zu)", n) ;
  ok(!unknown && i == k.len, "conf_keywords: the parser knows each, missing its value") ;
  stralloc_0(&k) ;
  ok(strstr(k.s, "\nlimit recipients\n") && strstr(k.s, "\nretry max\n") && strstr(k.s, "\nlisten\n") && !strstr(k.s, "\nlimit\n") && !strncmp(k.s, "hostname\n", 9),
     "conf_keywords: a second word where it names the setting, the groups themselves not listed") ;
  stralloc_free(&k) ;
}

static void prog (void)
{
  conf c ;
  stralloc sa = STRALLOC_ZERO ;
  ok(load(&c, "programs /opt/ketch/libexec\n") && conf_prog(&c, "local-spawn", &sa) && conf_prog(&c, "scheduler", &sa)
     && sa.len == sizeof("/opt/ketch/libexec/scheduler") && !strcmp(sa.s, "/opt/ketch/libexec/scheduler"), "conf_prog: programs / name, the stralloc reset") ;
  conf_free(&c) ;
  ok(load(&c, "\n") && conf_prog(&c, "enqueue", &sa) && !strcmp(sa.s, KETCH_LIBEXECDIR "/enqueue"), "conf_prog: the compiled-in directory by default") ;
  conf_free(&c) ;
  stralloc_free(&sa) ;
}

/* ip (a text address) is allowed to relay by c */
static int relay (conf const *c, char const *ip)
{
  char a[16] ;
  int is6 ;
  if (!netaddr_ip(ip, strlen(ip), a, &is6)) return -1 ;
  return conf_relay_allowed(c, a, is6) ;
}

static void queries (void)
{
  conf c ;
  conf_route const *r ;
  ok(load(&c, "hostname mx.example\nlocal-domain Other.example\nvirtual-domain v.example map vmap\n"), "queries: a configuration") ;
  ok(conf_is_local_domain(&c, "MX.Example") && conf_is_local_domain(&c, "localhost") && conf_is_local_domain(&c, "LocalHost")
     && conf_is_local_domain(&c, "other.EXAMPLE") && !conf_is_local_domain(&c, "v.example") && !conf_is_local_domain(&c, "example"),
     "conf_is_local_domain: the host name, localhost and the local domains, in any case") ;
  ok(conf_vdomain_find(&c, "V.Example") == genalloc_s(conf_vdomain, &c.vdomains) && !conf_vdomain_find(&c, "other.example")
     && !conf_vdomain_find(&c, "w.example"), "conf_vdomain_find: in any case, and only virtual domains") ;
  ok(!relay(&c, "127.0.0.1") && !relay(&c, "::1"), "conf_relay_allowed: no relay-from, no relaying, loopback included") ;
  conf_free(&c) ;
  ok(load(&c, "relay-from 10.0.0.0/8 172.16.0.0/12 192.0.2.7 2001:db8::/32 ::1\n"), "queries: relay networks") ;
  ok(relay(&c, "10.255.1.1") == 1 && relay(&c, "11.0.0.1") == 0 && relay(&c, "172.31.255.255") == 1 && relay(&c, "172.32.0.0") == 0
     && relay(&c, "192.0.2.7") == 1 && relay(&c, "192.0.2.8") == 0, "conf_relay_allowed: IPv4 prefixes, on and off a byte boundary, and a host") ;
  ok(relay(&c, "2001:db8:ffff::1") == 1 && relay(&c, "2001:db9::1") == 0 && relay(&c, "::1") == 1 && relay(&c, "::2") == 0
     && relay(&c, "::ffff:10.0.0.1") == 0, "conf_relay_allowed: IPv6, and an IPv4-mapped address is not IPv4") ;
  conf_free(&c) ;
  ok(load(&c, "relay-from 0.0.0.0/0\n") && relay(&c, "203.0.113.9") == 1 && relay(&c, "2001:db8::1") == 0, "conf_relay_allowed: /0, every IPv4 address and no IPv6 one") ;
  conf_free(&c) ;
  ok(load(&c, "route a.example via h1.example\nsmarthost s.example:587\nroute b.example via h2.example:2525\n"), "queries: routes") ;
  r = conf_route_find(&c, "A.EXAMPLE") ;
  ok(r && !strcmp(c.sa.s + r->host, "h1.example") && r->port == 25, "conf_route_find: a domain's route, in any case") ;
  r = conf_route_find(&c, "b.example") ;
  ok(r && !strcmp(c.sa.s + r->host, "h2.example") && r->port == 2525, "conf_route_find: a route after the smarthost") ;
  r = conf_route_find(&c, "sub.a.example") ;
  ok(r && !r->domain && !strcmp(c.sa.s + r->host, "s.example") && r->port == 587, "conf_route_find: any other domain, a subdomain too, the smarthost") ;
  conf_free(&c) ;
  ok(load(&c, "route a.example via h1.example\n") && !conf_route_find(&c, "b.example") && conf_route_find(&c, "a.example"), "conf_route_find: no smarthost, no route (MX)") ;
  conf_free(&c) ;
}

/* relay-domain (lib/relaydom, lib/callout): the line's words, its checks against others, the printout, the callout group */
static void relay_domains (void)
{
  conf c ;
  stralloc p = STRALLOC_ZERO ;
  conf_relaydomain const *d ;
  ok(load(&c, "relay-domain B.example via [192.0.2.1]:2525 verify\nrelay-domain l.example recipients l.list\nrelay-domain m.example\n"), "relay-domain: three lines") ;
  d = conf_relaydomain_find(&c, "b.EXAMPLE") ;
  ok(d && !strcmp(c.sa.s + d->domain, "b.example") && !strcmp(c.sa.s + d->host, "192.0.2.1") && d->port == 2525 && d->check == CONF_RELAY_CHECK_VERIFY,
     "relay-domain: via host and port, verify, found in any case") ;
  d = conf_relaydomain_find(&c, "l.example") ;
  ok(d && !d->host && d->check == CONF_RELAY_CHECK_LIST && d->list && c.sa.s[d->list] == '/' && !conf_relaydomain_find(&c, "x.example"),
     "relay-domain: a recipients list, its path made absolute; another domain is none") ;
  ok(c.callout_timeout == 10 && c.callout_positive == 7 * 86400 && c.callout_negative == 3 * 3600 && !c.callout_cache, "callout: the defaults, no cache") ;
  ok(fixed_point(&c, &p) && printed(&p, "relay-domain b.example via 192.0.2.1:2525 verify") && printed(&p, "relay-domain m.example"),
     "relay-domain: printed as it is read again") ;
  conf_free(&c) ;
  ok(load(&c, "callout timeout 3s\ncallout positive 2d\ncallout negative 5m\ncallout cache cache\n") && c.callout_timeout == 3
     && c.callout_positive == 2 * 86400 && c.callout_negative == 300 && c.callout_cache && c.sa.s[c.callout_cache] == '/' && (conf_free(&c), 1),
     "callout: timeout, positive, negative, cache") ;
  ok(refused("relay-domain a.example verify recipients x\n", "expected: relay-domain DOMAIN"), "relay-domain: a list and verify exclude each other") ;
  ok(refused("relay-domain a.example\nrelay-domain A.example\n", "given twice"), "relay-domain: a domain twice") ;
  ok(refused("local-domain a.example\nrelay-domain a.example\n", "a local or virtual domain cannot be relayed"), "relay-domain: not a local domain") ;
  ok(refused("relay-domain a.example via h\nroute a.example via g\n", "via and a route line"), "relay-domain: via and a route, refused") ;
  ok(load(&c, "relay-domain a.example\nroute a.example via g tls verify\n") && (conf_free(&c), 1), "relay-domain: a route line without via, accepted") ;
  stralloc_free(&p) ;
}

int main (void)
{
  conf c ;
  tap_plan(107) ;
  if (!mkdtemp(dir)) return 111 ;

  ok(refused("limit message-size 17179869185G\n", "too large"), "size: 17179869185G refused (2^64 + 1G wrapped to 1G)") ;
  ok(refused("limit message-size 1025G\n", "too large"), "size: 1025G refused") ;
  ok(refused("limit message-size 1099511627777\n", "too large"), "size: 2^40 + 1 octets refused") ;
  ok(refused("limit message-size 18446744073709551616\n", "bad size"), "size: 2^64 refused") ;
  ok(refused("limit message-size 99999999999999999999999K\n", "bad size"), "size: too many digits refused") ;
  ok(size_is("limit message-size 1024G\n", (uint64_t)1 << 40), "size: 1024G, the largest, is 2^40") ;
  ok(size_is("limit message-size 1099511627776\n", (uint64_t)1 << 40), "size: 2^40 octets") ;
  ok(size_is("limit message-size 1048576K\n", (uint64_t)1 << 30), "size: 1048576K is 1G") ;
  ok(refused("limit message-size 0\n", "bad size") && refused("limit message-size 0G\n", "bad size"), "size: 0 refused, with or without a unit") ;
  ok(refused("limit message-size 10MB\n", "bad size") && refused("limit message-size M\n", "bad size") && refused("limit message-size -1\n", "bad size"), "size: junk refused") ;

  ok(load(&c, "timeout command 2147483647\nexpire 2147483647\n") && c.timeout_command == 2147483647u && c.expire == 2147483647u, "duration: 2^31 - 1 seconds (tain_addsec takes an int)") ;
  conf_free(&c) ;
  ok(refused("timeout delivery 4294967295\n", "duration too long") && refused("timeout command 2147483648\n", "duration too long"), "duration: 2^32 - 1 and 2^31 seconds refused (a negative int to tain_addsec)") ;
  ok(refused("expire 3551w\n", "duration too long") && loads("expire 3550w\n"), "duration: 3551w refused, 3550w taken") ;
  ok(refused("retry max 18446744073709551615w\n", "duration too long"), "duration: 2^64 - 1 weeks refused") ;
  ok(refused("rescan 99999999999999999999\n", "not a duration"), "duration: beyond 2^64 refused") ;
  ok(refused("warn 5x\n", "not a duration") && refused("warn 5mm\n", "not a duration") && refused("warn 0\n", "not a duration"), "duration: junk and 0 refused") ;

  ok(load(&c, "limit recipients 1000000\n") && c.max_recipients == 1000000, "count: 1000000") ;
  conf_free(&c) ;
  ok(refused("limit recipients 1000001\n", "not a positive number") && refused("limit recipients 4294967297\n", "not a positive number"), "count: over 1000000 refused, 2^32 + 1 not wrapped to 1") ;
  ok(refused("limit errors 5x\n", "not a positive number") && refused("limit errors -5\n", "not a positive number"), "count: junk refused") ;

  ok(load(&c, "relay-from 10.0.0.0/8 ::1\n") && genalloc_len(conf_net, &c.relay_nets) == 2
     && genalloc_s(conf_net, &c.relay_nets)[0].bits == 8 && genalloc_s(conf_net, &c.relay_nets)[1].bits == 128, "relay-from: the prefix, and a full one by default") ;
  conf_free(&c) ;

  types() ;
  defaults() ;
  bounds() ;
  once() ;
  errors() ;
  collect() ;
  roundtrip() ;
  filters() ;
  keywords() ;
  prog() ;
  queries() ;
  relay_domains() ;

  rmdir(dir) ;
  stralloc_free(&err) ;
  return tap_done() ;
}
