#!/bin/sh
# ISC license: see LICENSE.
# remote-send routing: MX order and fallback, implicit MX, null MX,
# NXDOMAIN, IPv6, mail that loops back, temporary DNS failure. DNS is
# dnsmasq on a loopback port (conf "resolver"), peers are Postfix's
# smtp-sink and the scripted Python server on 127.0.0.x and ::1.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 24
need dnsmasq dnsmasq-base
# t/smtp-sink.sh unpacks Postfix's package, whose libraries .ci/deps installs
find_sink || fail_rest "no smtp-sink: $(cat "$T/sink.err")"

DP=$(free_port)
P=$(free_port)
dns "$DP" \
  --mx-host=mx.test,mx1.mx.test,10 --mx-host=mx.test,mx2.mx.test,20 \
  --host-record=mx1.mx.test,127.0.0.2 --host-record=mx2.mx.test,127.0.0.3 \
  --dns-rr=nullmx.test,15,000000 \
  --host-record=amx.test,127.0.0.4 \
  --mx-host=v6.test,v6host.test,10 --host-record=v6host.test,::1 \
  --mx-host=loop.test,mx.test.example,10 --mx-host=loop.test,mx2.mx.test,20 \
  --mx-host=loop2.test,mx1.mx.test,10 --mx-host=loop2.test,mx.test.example,20 \
  --mx-host=loop3.test,self.test,10 --host-record=self.test,127.0.0.5
mkinstance "resolver 127.0.0.1 port $DP" "remote-port $P" "timeout connect 2s" "timeout command 10s"

# both exchangers up: the better one gets the mail
sink mx1 127.0.0.2 "$P"
sink mx2 127.0.0.3 "$P"
rs mx.test s@me.test a@mx.test b@mx.test < "$T/msg"
is "$(cat "$T/out")" "ok 0 250 2.0.0 Ok
ok 1 250 2.0.0 Ok" "MX: both recipients accepted"
is "$(ls "$T/mx1.dump" | wc -l | tr -d ' ')/$(ls "$T/mx2.dump" | wc -l | tr -d ' ')" "1/0" "MX: the preference 10 exchanger took it, in one transaction"
check "MX: smtp-sink saw both recipients" grep -q 'X-Rcpt-Args: <b@mx.test>' "$T"/mx1.dump/*

# the best exchanger is down: the next one is used
kill "$pid_mx1" 2>/dev/null ; wait "$pid_mx1" 2>/dev/null
rs mx.test s@me.test a@mx.test < "$T/msg"
is "$(cat "$T/out")" "ok 0 250 2.0.0 Ok" "MX fallback: accepted"
is "$(ls "$T/mx2.dump" | wc -l | tr -d ' ')" "1" "MX fallback: the preference 20 exchanger took it"
check "MX fallback: the refused connection to mx1 is logged" grep -q 'host-failed host="mx1.mx.test" ip=127.0.0.2' "$T/err"

# the best exchanger answers 421: the next one is used
peer busy 127.0.0.2 "$P" --greeting "421 4.3.2 busy"
rs mx.test s@me.test a@mx.test < "$T/msg"
is "$(cat "$T/out")" "ok 0 250 2.0.0 Ok" "MX greeting 421: accepted by the next exchanger"
is "$(ls "$T/mx2.dump" | wc -l | tr -d ' ')" "2" "MX greeting 421: the preference 20 exchanger took it"
check "MX greeting 421: logged" grep -q 'host-failed host="mx1.mx.test" ip=127.0.0.2 reason=".*greeting: 421 4.3.2 busy"' "$T/err"
stop_last

# no MX: the domain's own address
sink amx 127.0.0.4 "$P"
rs amx.test s@me.test a@amx.test < "$T/msg"
is "$(cat "$T/out")" "ok 0 250 2.0.0 Ok" "no MX: delivered to the domain's A record"

# a 4 MB message with dot lines arrives whole, and quickly (no Nagle or delayed-ACK stalls)
python3 -c "
import sys
w = sys.stdout.write
w('Subject: big\n\n')
for i in range(60000): w('.%05d line of the big message ....................................\n' % i)
w('THE END\n')" > "$T/bigmsg"
start=$(date +%s)
rs amx.test s@me.test a@amx.test < "$T/bigmsg"
is "$(cut -d' ' -f1-2 "$T/out")" "ok 0" "4 MB message: accepted"
check "4 MB message: delivered in under 10 seconds" test $(( $(date +%s) - start )) -lt 10
big=$(grep -l '^Subject: big' "$T"/amx.dump/* | head -n 1)
check "4 MB message: smtp-sink got all 60000 dot lines, unstuffed" test "$(grep -c '^\.[0-9]\{5\} line of the big message' "$big")" = 60000
check "4 MB message: no line kept a stuffing dot, the last line arrived" sh -c "! grep -q '^\.\.' '$big' && grep -qx 'THE END' '$big'"

# null MX (RFC 7505)
rs nullmx.test s@me.test a@nullmx.test < "$T/msg"
is "$(cut -d' ' -f1-4 "$T/out")" "perm 0 556 5.1.10" "null MX: permanent failure"

# the domain does not exist
rs nx.test s@me.test a@nx.test < "$T/msg"
is "$(cut -d' ' -f1-4 "$T/out")" "perm 0 550 5.1.2" "NXDOMAIN: permanent failure"

# IPv6: the exchanger has only an AAAA record
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ; then
  peer v6 ::1 "$P"
  rs v6.test s@me.test a@v6.test < "$T/msg"
  is "$(cat "$T/out")" "ok 0 250 2.0.0 Ok: queued" "IPv6: delivered over ::1"
  check "IPv6: the peer on ::1 saw the transaction" grep -q 'RCPT TO:<a@v6.test>' "$T/v6.log"
else
  skip 2 "no IPv6 loopback"
fi

# we are the best exchanger: loop
rs loop.test s@me.test a@loop.test < "$T/msg"
is "$(cut -d' ' -f1-4 "$T/out")" "perm 0 554 5.4.6" "best MX is this host: mail loops back"
# we are a backup exchanger: only the better one is tried
rs loop2.test s@me.test a@loop2.test < "$T/msg"
is "$(cut -d' ' -f1 "$T/out")" "temp" "backup MX is this host: the better one (down) is tried, temp"
check "backup MX is this host: our own host is never contacted" sh -c "! grep -q 'mx.test.example' '$T/err'"

# the best exchanger's address is one of our listen addresses: loop
mkinstance "resolver 127.0.0.1 port $DP" "remote-port $P" "timeout connect 2s" "listen 127.0.0.5 port $P"
rs loop3.test s@me.test a@loop3.test < "$T/msg"
is "$(cut -d' ' -f1-4 "$T/out")" "perm 0 554 5.4.6" "best MX address is our listen address: mail loops back"

# the DNS server does not answer: temporary
mkinstance "resolver 127.0.0.1 port $(free_port)" "remote-port $P" "timeout command 1s"
start=$(date +%s)
rs mx.test s@me.test a@mx.test < "$T/msg"
is "$(cut -d' ' -f1-3 "$T/out")" "temp 0 451" "DNS down: temporary failure"
check "DNS down: bounded in time" test $(( $(date +%s) - start )) -lt 20

done_testing
