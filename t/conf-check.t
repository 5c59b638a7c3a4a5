#!/bin/sh
# conf-check: every broken configuration gives the right file:line and
# message (exit 100), several errors are all reported, and the printed
# configuration is a fixed point; the examples in conf/ pass.
. "$(dirname "$0")/lib.sh"

plan 94

# bad LINE MESSAGE TEXT: TEXT (printf format, \n between lines) must fail
# at LINE with MESSAGE
bad () {
  printf "$3\n" > "$T/bad.conf"
  out=$(cd "$T" && conf-check -C bad.conf 2>&1 >/dev/null)
  rc=$?
  first=$(printf '%s\n' "$out" | head -n 1)
  is "$rc $first" "100 bad.conf:$1: $2" "line $1: $2"
}

bad 2 "unknown keyword: frobnicate" 'hostname a.example\nfrobnicate yes'
bad 1 "hostname: missing argument" 'hostname'
bad 3 "hostname: too many arguments" '# comment\n\nhostname a b'
bad 2 "hostname: not a host name: -bad-" 'spool /s\nhostname -bad-'
bad 3 "spool is set twice" 'spool /a\nhostname h.example\nspool /b'
bad 1 "listen: not an IP address: 1.2.3" 'listen 1.2.3'
bad 2 "listen: port needs a number from 1 to 65535" 'spool /s\nlisten 127.0.0.1 port 0'
bad 1 "listen: unknown option: frob" 'listen 127.0.0.1 frob'
bad 2 "listen: smtps and starttls exclude each other" 'certificate c key k\nlisten 127.0.0.1 port 465 smtps starttls'
bad 3 "listen: TLS needs a certificate line" 'spool /s\nlisten 127.0.0.1\nlisten ::1 starttls'
bad 2 "listen: auth needs an auth-table or auth dovecot line" 'spool /s\nlisten 127.0.0.1 auth-required'
bad 2 "listen: sender-login needs a sender-login-map line" 'auth dovecot /run/dovecot/auth-client\nlisten 127.0.0.1 auth sender-login'
bad 1 "auth: expected dovecot, not: pam" 'auth pam /x'
bad 1 "local-domain: not a domain: bad..example" 'local-domain ok.example bad..example'
bad 1 "virtual-domain: expected: virtual-domain DOMAIN map|passwd-file FILE [deliver METHOD TARGET]" 'virtual-domain v.example file f'
bad 1 "virtual-domain: a passwd-file needs deliver lmtp TARGET" 'virtual-domain v.example passwd-file f'
bad 1 "virtual-domain: the maildir template must be an absolute path" 'virtual-domain v.example map f deliver maildir ~/M'
bad 1 "deliver: lmtp takes unix:PATH or HOST:PORT" 'virtual-domain v.example map f deliver lmtp nowhere'
bad 2 "relay-from: bad prefix length: 33" '\nrelay-from 127.0.0.0/8 10.0.0.0/33'
bad 1 "route: expected: route DOMAIN via HOST[:PORT]" 'route x.example to h.example'
bad 1 "smarthost: bad port: 99999" 'smarthost h.example:99999'
bad 2 "smarthost is set twice" 'smarthost a.example\nsmarthost b.example:587'
bad 1 "deliver: the path must start with / or ~/" 'deliver maildir Maildir'
bad 1 "deliver: the mda program must be an absolute path" 'deliver mda procmail -d %%u'
bad 1 "limit: unknown limit: frob" 'limit frob 3'
bad 1 "limit: not a positive number: 0" 'limit recipients 0'
bad 1 "not a duration (like 30s, 5m, 4h, 5d): 5x" 'timeout command 5x'
bad 1 "retry: expected local, remote or max" 'retry soon 5m'
bad 1 "unterminated quote" 'spool "/a b'
bad 1 "expected: certificate CERTFILE key KEYFILE" 'certificate c.pem'
bad 1 "outbound-tls takes opportunistic, required or verify" 'outbound-tls maybe'
bad 1 "duration too long: 10000w" 'timeout command 10000w'
# issue 15: the unit was applied after the range check, and 2^34+1 G wrapped to 1G
bad 1 "limit message-size: too large (at most 1024G): 17179869185G" 'limit message-size 17179869185G'
bad 1 "duration too long: 4294967295" 'timeout delivery 4294967295'
bad 3 "listen: the same address and port as line 1" 'listen 127.0.0.1 port 2525\nlisten ::1 port 2525\nlisten 127.0.0.1 port 2525'

# issue 15: addresses, prefixes, ports and host names are checked whole,
# never wrapped into another address (300 was read as 44, 999 as 231)
bad 1 "listen: not an IP address: 300.1.2.3" 'listen 300.1.2.3'
bad 2 "relay-from: not an address: 256.0.0.0/8" 'hostname h.example\nrelay-from 256.0.0.0/8'
bad 1 "relay-from: not an address: 10.0.0.999" 'relay-from 127.0.0.0/8 10.0.0.999'
bad 1 "relay-from: not an address: 010.0.0.1" 'relay-from 010.0.0.1'
bad 1 "relay-from: bad prefix length: 8x" 'relay-from 10.0.0.0/8x'
bad 1 "relay-from: bad prefix length: " 'relay-from 10.0.0.0/'
bad 1 "relay-from: not an address: 1::2::3" 'relay-from 1::2::3'
bad 1 "relay-from: not an address: 1:2:3:4:5:6:7:8:9" 'relay-from 1:2:3:4:5:6:7:8:9'
bad 1 "relay-from: not an address: 12345::1" 'relay-from 12345::1'
bad 1 "relay-from: bad prefix length: 129" 'relay-from ::1/129'
bad 1 "listen: port needs a number from 1 to 65535" 'listen 127.0.0.1 port 65536'
bad 1 "listen: port needs a number from 1 to 65535" 'listen 127.0.0.1 port 25x'
bad 1 "smarthost: not a host name or address: smtp..example.net" 'smarthost smtp..example.net'
bad 1 "route: not a host name or address: -bad-" 'route x via -bad-'
bad 1 "smarthost: not a host name or address: 300.1.2.3" 'smarthost 300.1.2.3:25'
bad 1 "smarthost: not a host name or address: [::1:25" 'smarthost [::1:25'
bad 1 "smarthost: not a host name or address: ::1" 'smarthost ::1'
bad 1 "smarthost: bad port: 0" 'smarthost h.example:0'
bad 1 "smarthost: bad port: " 'smarthost h.example:'
bad 1 "resolver: not an IP address: 127.0.0.256" 'resolver 127.0.0.256'
bad 1 "resolver: expected: resolver IP [port N]" 'resolver 127.0.0.1 port 70000'
bad 1 "remote-port needs a number from 1 to 65535" 'remote-port 65536'
bad 1 "hostname: not a host name: a_b.example" 'hostname a_b.example'
bad 1 "hostname: not a host name: 1.2.3.4" 'hostname 1.2.3.4'
bad 1 "deliver: lmtp takes unix:PATH or HOST:PORT" 'deliver lmtp 300.0.0.1:24'
bad 1 "deliver: lmtp takes unix:PATH or HOST:PORT" 'deliver lmtp lmtp.example'

# issue 15: the files a line names exist and can be read by the user that
# reads them (the smtp-user the certificate, the caller as smtp-keyd the
# key and auth table, the queue-user the aliases), else an error at that
# line, not a warning
printf 'x\n' > "$T/c.pem" ; printf 'x\n' > "$T/k.pem" ; printf 'x\n' > "$T/auth" ; printf 'x\n' > "$T/aliases"
chmod 644 "$T/c.pem" "$T/auth" "$T/aliases" ; chmod 600 "$T/k.pem"
mkdir -p "$T/dir"
bad 2 "certificate $T/none.pem: No such file or directory" 'hostname h.example\ncertificate none.pem key k.pem'
bad 1 "key $T/none.pem: No such file or directory" 'certificate c.pem key none.pem'
bad 1 "aliases $T/none: No such file or directory" 'aliases none'
bad 3 "auth-table $T/dir: not a regular file" 'certificate c.pem key k.pem\n\nauth-table dir'
chmod 600 "$T/c.pem"
bad 2 "certificate $T/c.pem: not readable by nobody" 'smtp-user nobody\ncertificate c.pem key k.pem'
chmod 644 "$T/c.pem"
printf 'smtp-user nobody\ncertificate c.pem key k.pem\nauth-table auth\n' > "$T/keyd.conf"
chmod 600 "$T/auth"
(cd "$T" && conf-check -q -C keyd.conf) 2> "$T/keyd.err"
is "$? $(cat "$T/keyd.err")" "0 " "a key and an auth table only the caller reads (smtp-keyd, not the smtp-user): no error"
chmod 644 "$T/auth"
chmod 600 "$T/aliases"
bad 1 "aliases $T/aliases: not readable by nobody" 'aliases aliases\nqueue-user nobody'
printf 'aliases none\nauth-table none2\n' > "$T/two.conf"
(cd "$T" && conf-check -q -C two.conf) 2> "$T/two.err"
is "$? $(tail -n 1 "$T/two.err")" "100 conf-check: fatal: 2 errors in two.conf" "missing files: each reported, and counted"
(cd "$T" && conf-check -q -s -C two.conf) 2> "$T/two.err"
is "$?" 0 "-s: the syntax only, the files not checked"
printf 'certificate c.pem key k.pem\nauth-table auth\naliases aliases\n' > "$T/files.conf"
(cd "$T" && conf-check -q -C files.conf) 2> "$T/files.err"
is "$?" 0 "files there and readable by the caller: no error"
chmod 644 "$T/aliases"
# and the programs that read them say so at start, exit 100
printf 'listen 127.0.0.1 port %s starttls\ncertificate c.pem key gone.pem\n' "$(free_port)" > "$T/gone.conf"
(cd "$T" && timeout 10 smtp-listen -C gone.conf) 2> "$T/gone.err"
is "$? $(head -n 1 "$T/gone.err")" "100 smtp-listen: fatal: gone.conf:2: key $T/gone.pem: No such file or directory" "smtp-listen: a missing key is an error at its line"
printf 'spool %s\naliases gone\n' "$T/nospool" > "$T/gone2.conf"
(cd "$T" && timeout 10 scheduler -C gone2.conf) 2> "$T/gone2.err"
is "$? $(head -n 1 "$T/gone2.err")" "100 scheduler: fatal: gone2.conf:2: aliases $T/gone: No such file or directory" "scheduler: missing aliases are an error at their line"

# every error is reported, in order, and counted
printf 'frob 1\nhostname h.example\nlimit errors x\nlisten 127.0.0.1 auth\n' > "$T/multi.conf"
(cd "$T" && conf-check -C multi.conf) > /dev/null 2> "$T/multi.err"
is "$?" 100 "several errors: exit 100"
is "$(grep -c '^multi.conf:[0-9]*: ' "$T/multi.err")" 3 "several errors: all three reported"
is "$(sed -n 3p "$T/multi.err")" "multi.conf:4: listen: auth needs an auth-table or auth dovecot line" "several errors: the check at the end keeps its line"
is "$(tail -n 1 "$T/multi.err")" "conf-check: fatal: 3 errors in multi.conf" "several errors: counted"

# an unreadable file is a temporary error that names the file
conf-check -C "$T/nonexistent.conf" >/dev/null 2>&1
is "$?" 111 "missing file: exit 111"

# $KETCH_CONF is used when there is no -C
printf 'limit frob 3\n' > "$T/env.conf"
KETCH_CONF=$T/env.conf conf-check >/dev/null 2>"$T/env.err"
check "\$KETCH_CONF is read" grep -q "^$T/env.conf:1: limit: unknown limit" "$T/env.err"

# the printout: every default filled in, and a fixed point
printf 'x\n' > "$T/cert.pem" ; printf 'x\n' > "$T/key.pem" ; printf 'x\n' > "$T/my auth"
cat > "$T/full.conf" <<CONF
hostname mx.example.org
spool spool
listen 127.0.0.1 port 2525 starttls auth-required
listen ::1 smtps plain-auth
certificate cert.pem key key.pem
auth-table "my auth"
aliases aliases
local-domain example.org example.net
virtual-domain v.example map vmap
relay-from 10.0.0.0/8 ::1
deliver mda /usr/bin/procmail -d "%u x"
route example.com via [::1]:26 tls verify auth creds
smarthost relay.example.net:587 tls required
limit message-size 10M
timeout command 90s
expire 3d
CONF
(cd "$T" && conf-check -C full.conf) > "$T/p1" 2>/dev/null
is "$?" 0 "a full configuration passes"
check "relative paths are printed absolute" grep -qx "spool $T/spool" "$T/p1"
check "defaults are printed" grep -qx "warn 4h" "$T/p1"
check "quoted words stay quoted" grep -qx "deliver mda /usr/bin/procmail -d \"%u x\"" "$T/p1"
mkdir "$T/elsewhere"
cp "$T/p1" "$T/elsewhere/p1.conf"
(cd "$T/elsewhere" && conf-check -C p1.conf) > "$T/p2" 2>/dev/null
is "$(cmp "$T/p1" "$T/p2" && echo same)" same "the printout re-parses to the same printout"
printf 'hostname h.example\n' > "$T/min.conf"
conf-check -C "$T/min.conf" > "$T/m1" && conf-check -C "$T/m1" > "$T/m2"
is "$(cmp "$T/m1" "$T/m2" && echo same)" same "a minimal configuration is a fixed point too"
check "the default delivery is printed" grep -qx "deliver maildir ~/Maildir" "$T/m1"

# the examples print as fixed points too
for ex in local-only mx-maildir null-client submission ; do
  conf-check -s -C "$top/conf/$ex.conf" > "$T/$ex.1" 2>/dev/null && conf-check -s -C "$T/$ex.1" > "$T/$ex.2" 2>/dev/null
  is "$(cmp "$T/$ex.1" "$T/$ex.2" 2>&1 && echo same)" same "conf/$ex.conf: the printout is a fixed point"
done

# the examples: each passes and is short (fewer lines than OpenSMTPD's 4, 7, 7, 6)
for ex in local-only:4 mx-maildir:7 null-client:7 submission:6 ; do
  f=$top/conf/${ex%%:*}.conf
  n=$(grep -cv '^[[:space:]]*\(#.*\)\{0,1\}$' "$f" 2>/dev/null || echo 99)
  conf-check -q -s -C "$f" >/dev/null 2>&1 && [ "$n" -lt "${ex##*:}" ]
  ok $? "conf/${ex%%:*}.conf passes and has $n < ${ex##*:} lines"
done
done_testing
