#!/bin/sh
# ISC license: see LICENSE.
# Mail loops by hop count (RFC 5321 §6.3, issue 15): a message holding
# more Received fields than "limit hops" (default 50, the one the SMTP
# session adds included) is refused at the end of DATA with 554 5.4.6 and
# by enqueue (so sendmail) with exit 100; nothing is queued.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 24

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.1"
start_listen -g 2
ok $? "smtp-listen ready"

# session N: one transaction whose header holds N Received fields (and a
# folded line and a body line that look like one but are not); prints the
# reply to the end of data, then the reply to a NOOP after it
session () {
  py "
c = Conn($PORT, timeout=10)
c.reply()
codes(c, [b'EHLO client.example', b'MAIL FROM:<a@client.example>', b'RCPT TO:<b@remote.example>', b'DATA'])
h = b''.join(b'Received: from h%d.example by h%d.example; Thu, 1 Jan 2026 00:00:00 +0000\r\n' % (i, i + 1) for i in range($1))
c.send(h + b'Subject: hops\r\n Received: folded, not a field\r\n\r\nReceived: in the body\r\n.\r\n')
r = c.reply()
print(r[0], r[1][4:9], c.code(b'NOOP'))
c.cmd(b'QUIT')
"
}

got=$(session 49)
is "$got" "250 2.0.0 250" "SMTP: 49 Received fields and ours, 50 in all: accepted"
is "$(count_entries)" 1 "... and queued"
got=$(session 50)
is "$got" "554 5.4.6 250" "SMTP: 50 Received fields and ours, 51: refused with 554 5.4.6, the session goes on"
got=$(session 51)
is "$got" "554 5.4.6 250" "SMTP: 51 Received fields: refused"
is "$(count_entries) $(count_tmp)" "1 0" "nothing more queued, nothing left in tmp"
check "log: the refusal and its reason" grep -q 'refused id=[0-9a-f]* reason=too-many-hops' "$T/smtp.log"
stop_listen

# msg N: a message with N Received fields
msg () {
  i=0
  while [ $i -lt "$1" ] ; do printf 'Received: from h%d.example by h%d.example; Thu, 1 Jan 2026 00:00:00 +0000\n' $i $((i + 1)) ; i=$((i + 1)) ; done
  printf 'Subject: hops\n\nReceived: in the body\n'
}

msg 51 > "$T/m51"
sendmail -C "$CONF" b@remote.example < "$T/m51" 2> "$T/sm.err"
is "$?" 100 "sendmail: 51 Received fields: exit 100"
check "sendmail: enqueue says why" grep -q '^enqueue: fatal: too many hops' "$T/sm.err"
msg 49 | sendmail -C "$CONF" b@remote.example
is "$?" 0 "sendmail: 49 Received fields: accepted"
is "$(count_entries) $(count_tmp)" "2 0" "only the accepted one queued, nothing left in tmp"
enqueue -C "$CONF" -f a@test.example b@remote.example < "$T/m51" 2> "$T/enq.err"
is "$?" 100 "enqueue: 51 Received fields: exit 100"
msg 50 | enqueue -C "$CONF" -f a@test.example b@remote.example >/dev/null
is "$?" 0 "enqueue: 50 Received fields: accepted (nobody added one)"

# the limit is configurable, and conf-check shows it
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.1" "limit hops 5"
check "conf-check: limit hops 5" sh -c "conf-check -C '$CONF' | grep -qx 'limit hops 5'"
start_listen -g 2
got=$(session 4)
is "$got" "250 2.0.0 250" "limit hops 5: SMTP with 4 and ours accepted"
got=$(session 5)
is "$got" "554 5.4.6 250" "limit hops 5: SMTP with 5 and ours refused"
stop_listen
msg 6 | sendmail -C "$CONF" b@remote.example 2>/dev/null
is "$?" 100 "limit hops 5: sendmail with 6 refused"

# through enqueue-listen's socket: the same refusals, and nothing spawned
SOCK=$T/enqueue.sock
mkdir "$T/prog" && cp "$BIN/smtp-session" "$T/prog/"
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.1" "limit hops 5" "enqueue-socket $SOCK"
sed "s|^programs .*|programs $T/prog|" "$CONF" > "$T/k.conf"
CONF=$T/k.conf
enqueue-listen -C "$CONF" -d 3 3>"$T/eready" 2>>"$T/enq.log" &
EPID=$!
at_exit "kill $EPID 2>/dev/null"
wait_for 5 test -s "$T/eready"
ok $? "enqueue-listen ready (no enqueue in the programs directory)"
before=$(count_entries)
start_listen -g 2
got=$(session 4)
is "$got" "250 2.0.0 250" "enqueue-socket: SMTP with 4 and ours accepted"
got=$(session 5)
is "$got" "554 5.4.6 250" "enqueue-socket: SMTP with 5 and ours refused"
stop_listen
msg 6 | sendmail -C "$CONF" b@remote.example 2> "$T/sm2.err"
is "$?" 100 "enqueue-socket: sendmail with 6 refused by enqueue-listen"
check "... which says why" grep -q 'too many hops' "$T/sm2.err"
is "$(($(count_entries) - before)) $(count_tmp)" "1 0" "enqueue-socket: only the accepted one queued"
kill "$EPID"

printf 'hostname h.example\n' > "$T/min.conf"
check "conf-check: the default is 50" sh -c "conf-check -C '$T/min.conf' | grep -qx 'limit hops 50'"
done_testing
