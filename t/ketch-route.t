#!/bin/sh
# ISC license: see LICENSE.
# ketch-route, the dry run: for a table of (client, authenticated,
# recipient) its RCPT reply is the one a live smtp-session gives on the
# same configuration; then the routes it prints: alias expansion, virtual
# users, mailbox paths, a configured route with its TLS policy, a
# smarthost, and MX hosts in preference order with their addresses (from
# dnsmasq).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
. "$(dirname "$0")/remote-lib.sh"
plan 38

cd "$T" || exit 1
U=$(test_user kr) || bail "useradd failed"
PA=$(free_port) ; PR=$(free_port) ; DP=$(free_port)
h=$(echo 'pw' | ketch-passwd)
printf 'alice:%s\n' "$h" > "$T/auth"
printf 'info: %s, /var/mail/info-archive, "|/usr/bin/logger -t mail", help@far.example\nloop1: loop2\nloop2: loop1\n' "$U" > "$T/aliases"
printf 'v@virt.example %s/vmail/v/\nfw@virt.example elsewhere@far.example\n' "$T" > "$T/virt.map"
mkinstance "listen 127.0.0.1 port $PA plain-auth" "auth-table $T/auth" "aliases $T/aliases" \
  "virtual-domain virt.example map $T/virt.map" "relay-from 10.0.0.0/8 2001:db8::/32" \
  "deliver maildir $T/mail/%u/" "route routed.example via 127.0.0.1:$PR tls verify" \
  "resolver 127.0.0.1 port $DP" "listen 127.0.0.1 port $PR auth-required plain-auth"
newaliases -C "$CONF" >/dev/null 2>&1
ok $? "newaliases"

# live CLIENT AUTHED RCPT: the reply of a live smtp-session to RCPT
live () {
  PROTO=TCP TCPREMOTEIP=$1 TCPREMOTEPORT=4000 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=$PA "$PY" -c "
import subprocess, sys
auth = b'AUTH PLAIN AGFsaWNlAHB3\r\n' if sys.argv[2] == '1' else b''
p = subprocess.Popen(['$BIN/smtp-session', '-C', '$CONF'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out, _ = p.communicate(b'EHLO x\r\n' + auth + b'MAIL FROM:<a@client.example>\r\nRCPT TO:<' + sys.argv[3].encode() + b'>\r\nQUIT\r\n', timeout=20)
lines = [l.decode() for l in out.split(b'\r\n') if l[:3].isdigit() and l[3:4] == b' ']
print(lines[-2])
" "$@"
}
# dry CLIENT AUTHED RCPT: ketch-route's reply
dry () {
  _a="" ; [ "$2" = 1 ] && _a=-a
  ketch-route -C "$CONF" -n -c "$1" $_a -f a@client.example "$3" | sed -En 's/^RCPT TO:.*: ([2-5][0-9][0-9] [2-5]\.[0-9]+\.[0-9]+ )/\1/p'
}
same () {
  l=$(live "$@") ; d=$(dry "$@")
  if [ -n "$l" ] && [ "$l" = "$d" ] ; then ok 0 "$1 auth=$2 <$3>: both say $l"
  else ok 1 "$1 auth=$2 <$3>" ; diag "live: $l" ; diag "dry:  $d" ; fi
}
same 192.0.2.1 0 "$U@test.example"
same 192.0.2.1 0 "nosuch-$U@test.example"
same 192.0.2.1 0 "info@test.example"
same 192.0.2.1 0 "INFO+tag@Test.Example"
same 192.0.2.1 0 "postmaster"
same 192.0.2.1 0 "v@virt.example"
same 192.0.2.1 0 "nobody-here@virt.example"
same 192.0.2.1 0 "x@far.example"
same 192.0.2.1 1 "x@far.example"
same 10.9.8.7 0 "x@far.example"
same ::ffff:10.9.8.7 0 "x@far.example"
same 2001:db8::5 0 "x@far.example"
same 2001:db9::5 0 "x@far.example"
same 192.0.2.1 0 "a%far.example@test.example"
same 192.0.2.1 0 "@test.example:x@far.example"
same 192.0.2.1 0 "root@[127.0.0.1]"
same 10.1.1.1 0 "root@[127.0.0.1]"
same 192.0.2.1 0 "bad address"
same 192.0.2.1 0 "a@b@c.example"

# what it says about routes
ketch-route -C "$CONF" -n -f a@client.example info@test.example v@virt.example fw@virt.example loop1@test.example > "$T/out1"
diag "$(cat "$T/out1")"
check "an alias expands to the user's Maildir from the deliver template" grep -qF "local-deliver maildir \"$T/mail/$U/\"" "$T/out1"
check "an alias's file and program" sh -c "grep -qF 'local-deliver mbox \"/var/mail/info-archive\"' '$T/out1' && grep -qF '\"|/usr/bin/logger -t mail\": local-deliver mda' '$T/out1'"
check "an alias's remote address" grep -qF "<help@far.example>: remote, remote-send" "$T/out1"
check "a virtual user's Maildir" grep -qF "<v@virt.example>: virtual user of \"virt.example\": local-deliver maildir \"$T/vmail/v/\"" "$T/out1"
check "a virtual forward" grep -qF "<elsewhere@far.example>: remote" "$T/out1"
check "an alias loop stops" grep -qF "<loop2@mx.test.example>: a recipient already, not added again" "$T/out1"
# the delivery as lib/decide decides it: a root scheduler's local-spawn
# checks whom it runs as (the map is root's here: refused), and runs an
# alias's program as alias-user when root owns the aliases file
check "a virtual domain whose map root owns: local-spawn refuses it, as a root scheduler would" \
  grep -q "a scheduler started as root (local-spawn) does not deliver it: the virtual-domain map is owned by root" "$T/out1"
check "an alias's program: local-spawn runs it as alias-user (nobody), argv as local-deliver reads it" \
  sh -c "grep -qF 'local-deliver mda \"/usr/bin/logger\" \"-t\" \"mail\"' '$T/out1' && grep -A1 logger '$T/out1' | grep -q 'runs it as \"nobody\"'"

ketch-route -C "$CONF" -n -a -f a@client.example x@routed.example > "$T/out2"
check "a route: its host, port and TLS policy" sh -c "grep -qF 'host 127.0.0.1 port $PR' '$T/out2' && grep -q 'tls verify' '$T/out2'"

# MX hosts in preference order with their addresses, from dnsmasq
dns "$DP" --mx-host=mx.test,mx2.mx.test,20 --mx-host=mx.test,mx1.mx.test,10 \
  --host-record=mx1.mx.test,127.0.0.2 --host-record=mx2.mx.test,127.0.0.3,::1 --mx-host=null.test,.,0 \
  --mx-host=self.test,mx.test.example,10
ketch-route -C "$CONF" -a -f a@client.example x@mx.test y@null.test z@nxdomain.test s@self.test > "$T/out3"
diag "$(cat "$T/out3")"
is "$(sed -n '/MX hosts of "mx.test"/,/MX answer is/p' "$T/out3" | grep -E '^ *(MX [0-9]|addresses)' | tr -s ' ' | tr '\n' '|')" " MX 10 mx1.mx.test| addresses: 127.0.0.2| MX 20 mx2.mx.test| addresses: ::1 127.0.0.3|" "MX hosts in order, AAAA then A"
check "null MX" grep -q 'null MX (RFC 7505): 556 5.1.10' "$T/out3"
check "NXDOMAIN" grep -q 'does not exist: 550 5.1.2' "$T/out3"
check "this host as the best MX: loops back" grep -q 'no better exchanger than this host: 554 5.4.6' "$T/out3"

# root: what the scheduler does depends on how it was started, and both
# are said (a single-user instance, as make run's, delivers it)
ketch-route -C "$CONF" -n -a -f a@client.example root@test.example > "$T/out5"
check "root: a root-started scheduler holds its mail, a single-user instance delivers it" \
  sh -c "grep -q 'uid 0: a scheduler started as root .*temporary failure until root is aliased' '$T/out5' && grep -q 'uid 0: a scheduler started as another user .*delivers it' '$T/out5'"
# a refused relay says how to see the other answer
ketch-route -C "$CONF" -n -c 192.0.2.1 -f a@client.example x@far.example y@far.example > "$T/out6"
is "$(grep -c '^relaying denied: .*-a shows the replies to an authenticated client' "$T/out6")" 1 "Relaying denied: one line names -a and relay-from"
ketch-route -C "$CONF" -n -a -f a@client.example x@far.example > "$T/out7"
check "no such line when the relay is allowed" sh -c "! grep -q '^relaying denied' '$T/out7' && grep -q '250 2.1.5' '$T/out7'"

# a smarthost, and auth-required on a listener port
printf 'smarthost relay.example:587 tls required\n' >> "$CONF"
ketch-route -C "$CONF" -n -a -f a@client.example x@far.example > "$T/out4"
check "the smarthost replaces the MX" sh -c "grep -q 'smarthost' '$T/out4' && grep -qF 'host relay.example port 587' '$T/out4' && grep -q 'tls required' '$T/out4'"
is "$(ketch-route -C "$CONF" -n -l "$PR" -f a@client.example x@far.example | sed -En 's/^MAIL FROM:.*: ([2-5][0-9][0-9] [2-5]\.[0-9]+\.[0-9]+ )/\1/p')" "530 5.7.0 Authentication required" "an auth-required listener, not authenticated: 530 at MAIL, as smtp-session"
done_testing
