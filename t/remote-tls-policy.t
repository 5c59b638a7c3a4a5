#!/bin/sh
# ISC license: see LICENSE.
# The outbound TLS policy through the scheduler (issue 15, point 1): under
# "tls required" and "tls verify" (a route's, or outbound-tls for the MX),
# a failed handshake (junk after the 220, a TLS-1.3-only peer), a server
# without STARTTLS and a 454 to STARTTLS are temporary failures of that
# host, logged with the reason: no MAIL in clear, the message stays
# queued, the next MX host may take it. Only "opportunistic" falls back
# to plaintext.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 39
need python3 python3
need openssl openssl
need dnsmasq dnsmasq-base

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1 \
  || bail "openssl cannot make a test certificate"
P=$(free_port)
DP=$(free_port)
dns "$DP" \
  --mx-host=mxreq.test,mx1.mxreq.test,10 --mx-host=mxreq.test,mx2.mxreq.test,20 \
  --host-record=mx1.mxreq.test,127.0.0.2 --host-record=mx2.mxreq.test,127.0.0.3 \
  --mx-host=mxbad.test,mx1.mxreq.test,10
port_open 127.0.0.1 "$DP" || bail "dnsmasq did not start: $(cat "$T/dns.err")"
mkinstance "route req.test via 127.0.0.1:$P tls required" "route ver.test via localhost:$P tls verify" \
  "route opp.test via 127.0.0.1:$P" "ca-file $T/cert.pem" \
  "resolver 127.0.0.1 port $DP" "remote-port $P" "outbound-tls required" \
  "retry remote 1h" "timeout connect 2s" "timeout command 10s"

SPID=""
at_exit 'kill $SPID 2>/dev/null'
: > "$T/sready"
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>>"$T/sched.log" &
SPID=$!
wait_for 10 test -s "$T/sready" || bail "the scheduler did not start: $(cat "$T/sched.log")"

# q RCPT: queue a message for RCPT, print its id
q () { enqueue -C "$CONF" -f s@me.test "$1" < "$T/msg" ; }
# result ID RCPT KIND: the scheduler recorded that result for it (waits 20 s at most)
result () { wait_for 20 grep -q "^$1 delivery rcpt=\"$2\" result=$3 " "$T/sched.log" ; }
# queued ID: queue-ls -j shows the message, its recipient deferred
queued () {
  queue-ls -C "$CONF" -j "$1" | python3 -c '
import json, sys
o = json.loads(sys.stdin.readline())
sys.exit(0 if o["id"] == sys.argv[1] and o["recipients"][0]["state"] == "deferred" else 1)' "$1"
}
# logged ID PATTERN: a host-failed line of this message says PATTERN
logged () { grep -q "^$1 host-failed .*reason=\".*$2" "$T/sched.log" ; }
no_mail () { ! grep -q 'MAIL FROM' "$T/$1.log" ; }
# started NAME: a peer that did not start fails the test (its checks would pass for nothing)
started () { [ -e "$T/$1.ready" ] || bail "peer $1 did not start: $(cat "$T/$1.err")" ; }
no_rcpt () { ! grep -q "RCPT TO:<$2>" "$T/$1.log" ; }

# policy NAME WHY PEER-OPTIONS...: one peer, a message under each of required and verify
policy () {
  _n=$1 ; _why=$2 ; shift 2
  peer "$_n" 127.0.0.1 "$P" "$@" ; started "$_n"
  _r=$(q a@req.test) ; _v=$(q a@ver.test)
  result "$_r" a@req.test temp ; result "$_v" a@ver.test temp
  check "$_n: no MAIL FROM reached the peer" no_mail "$_n"
  check "$_n, tls required: no transaction for it reached the peer" no_rcpt "$_n" a@req.test
  check "$_n, tls required: the message is still queued" queued "$_r"
  check "$_n, tls required: the log says why" logged "$_r" "$_why.*tls required"
  check "$_n, tls verify: no transaction for it reached the peer" no_rcpt "$_n" a@ver.test
  check "$_n, tls verify: the message is still queued" queued "$_v"
  check "$_n, tls verify: the log says why" logged "$_v" "$_why.*tls verify"
  stop_last
}

policy garbage "TLS handshake failed" --tls "$T/cert.pem" "$T/key.pem" --tls-garbage
policy tls13 "TLS handshake failed" --tls "$T/cert.pem" "$T/key.pem" --tls13-only
policy nostarttls "does not offer STARTTLS"
policy refused "STARTTLS refused: 454 4.7.0 TLS not available" --starttls-reply "454 4.7.0 TLS not available"

# opportunistic still falls back to plaintext on the same address
peer opp 127.0.0.1 "$P" --tls "$T/cert.pem" "$T/key.pem" --tls-garbage ; started opp
oid=$(q a@opp.test)
check "opportunistic, failed handshake: delivered" result "$oid" a@opp.test ok
check "opportunistic, failed handshake: in plaintext on a second connection" sh -c "sed -n '/TLS-GARBAGE/,\$p' '$T/opp.log' | grep -q 'MAIL FROM'"
check "opportunistic, failed handshake: the fallback is logged" grep -q "^$oid tls-fallback " "$T/sched.log"
stop_last

# outbound-tls required through the MX: the best exchanger fails the handshake, the next one takes the mail under TLS
peer mx1 127.0.0.2 "$P" --tls "$T/cert.pem" "$T/key.pem" --tls13-only ; started mx1
peer mx2 127.0.0.3 "$P" --tls "$T/cert.pem" "$T/key.pem" ; started mx2
id=$(q a@mxreq.test)
check "outbound-tls required, MX: delivered by the next exchanger" result "$id" a@mxreq.test ok
check "outbound-tls required, MX: nothing in clear to the first" no_mail mx1
check "outbound-tls required, MX: the second got the transaction under TLS" sh -c "sed -n '/TLS-ON/,\$p' '$T/mx2.log' | grep -q 'MAIL FROM'"
check "outbound-tls required, MX: the first exchanger's failure is logged" logged "$id" "mx1.mxreq.test.*TLS handshake failed.*tls required"
# the only exchanger fails the handshake: queued
id=$(q a@mxbad.test)
check "outbound-tls required, only MX fails the handshake: temporary" result "$id" a@mxbad.test temp
check "outbound-tls required, only MX fails the handshake: nothing in clear" no_mail mx1
check "outbound-tls required, only MX fails the handshake: still queued" queued "$id"
stop_last ; stop_last

kill -TERM $SPID ; wait_for 20 sh -c "! kill -0 $SPID 2>/dev/null" ; SPID=""
is "$(grep -c ' tls-fallback ' "$T/sched.log")" "$(grep -c "^$oid tls-fallback " "$T/sched.log")" "no tls-fallback but the opportunistic one"

done_testing
