#!/bin/sh
# ISC license: see LICENSE.
# ketch-stats (lib/stats, lib/statsfmt, lib/httpreq) on a real instance:
# smtp-listen, scheduler, local and remote delivery, sendmail. Messages
# sent over SMTP (some with STARTTLS), with sendmail, to a next hop that
# is down (deferred) and to one that refuses (bounced); the figures are
# scraped with curl over HTTP, parsed with prometheus_client's parser,
# and compared with what was sent. A session held open shows; a counter
# survives a restart of the daemon that keeps it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
. "$(dirname "$0")/remote-lib.sh"
plan 26
need openssl openssl
need curl curl
python3 -c 'import prometheus_client.parser' 2>/dev/null || fail_rest "prometheus_client is missing (Debian package python3-prometheus-client)"

U=$(test_user kst) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/c.key" -out "$T/c.crt" -days 2 -subj /CN=localhost >"$T/openssl.out" 2>&1
ok $? "a test certificate" "$(cat "$T/openssl.out")"

PORT=$(free_port) ; PEERP=$(free_port) ; DEAD=$(free_port) ; HTTP=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT starttls" "certificate $T/c.crt key $T/c.key" \
  "deliver maildir $T/mail/%u" "route refuse.test via 127.0.0.1:$PEERP" "route down.test via 127.0.0.1:$DEAD" \
  "timeout connect 2s" "retry remote 1h" "relay-from 127.0.0.1"
check "mkspool made SPOOL/stats, 0750, and its record files, 0640" sh -c "[ \"\$(stat -c %a '$SPOOL/stats')\" = 750 ] && [ \"\$(stat -c %a '$SPOOL/stats/smtp')\" = 640 ] && [ -f '$SPOOL/stats/scheduler' ]"

peer refuser 127.0.0.1 "$PEERP" --rcpt "nobody@refuse.test=550 5.1.1 no such user"
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>"$T/sched.log" &
SPID=$!
at_exit 'kill $SPID 2>/dev/null'
wait_for 10 test -s "$T/sready"
start_listen
ok $? "smtp-listen and the scheduler ready" "$(tail -n 5 "$T/smtp.log" "$T/sched.log")"
ketch-stats -C "$CONF" -l "127.0.0.1:$HTTP" -u nobody 2>"$T/stats.err" &
HPID=$!
at_exit 'kill $HPID 2>/dev/null'
wait_port 127.0.0.1 "$HTTP" && kill -0 "$HPID"
ok $? "ketch-stats -l listening (as nobody, which can read the record files only through its group)" "$(cat "$T/stats.err")"

# nobody needs the queue owner's group to read SPOOL/stats: as an installation would make it
chgrp -R nogroup "$SPOOL/stats" && chgrp nogroup "$SPOOL"

# send TLS RCPT [SENDER]: one message over SMTP, with STARTTLS or not; the null sender by default
send () {
  py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
if $1:
  c.code(b'STARTTLS'); c.wrap(); c.cmd(b'EHLO x.example')
print(codes(c, [b'MAIL FROM:<${3:-}>', b'RCPT TO:<$2>', b'DATA']))
c.send(b'Subject: stats\r\n\r\nhello\r\n.\r\n'); print(c.reply()[0], c.code(b'QUIT'))
"
}
for tls in True True False False False ; do send $tls "$U@test.example" ; done > "$T/sent"
is "$(grep -c '^250 221$' "$T/sent")" 5 "5 messages over SMTP (2 with STARTTLS) to a local user"
send False d1@down.test >/dev/null ; send False d2@down.test >/dev/null
# its bounce goes to a local user (a bounce of the null sender would go to postmaster, root here, and stay)
send False nobody@refuse.test "$U@test.example" >/dev/null
printf 'Subject: sm\n\nbody\n' | sendmail -C "$CONF" -f '' "$U@test.example" && printf 'Subject: sm\n\nbody\n' | sendmail -C "$CONF" -f '' "$U@test.example"
ok $? "2 messages with sendmail"

scrape () { curl -s -m 5 "http://127.0.0.1:$HTTP/metrics" > "$T/scrape" ; }
# value NAME LABELS: the sample's value as prometheus_client's parser reads the scrape ("none" when absent)
value () {
  python3 - "$T/scrape" "$1" "$2" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
text, name, labels = open(sys.argv[1]).read(), sys.argv[2], sys.argv[3]
want = dict(kv.split('=', 1) for kv in labels.split(',') if kv)
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        if s.name == name and s.labels == want:
            print(int(s.value)); sys.exit(0)
print('none')
EOF
}
delivered () { scrape && [ "$(value ketch_delivered_total kind=local)" = 8 ] && [ "$(value ketch_bounced_total kind=remote)" = 1 ] && [ "$(value ketch_deferred_total kind=remote)" = 2 ] ; }
check "every result counted (polled, 20 s at most)" wait_for 20 delivered
check "the scrape parses whole with prometheus_client, TYPE lines for every family" python3 -c "
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f.type for f in text_string_to_metric_families(open('$T/scrape').read())}
sys.exit(not (fams.get('ketch_messages_received') == 'counter' and fams.get('ketch_queue_messages') == 'gauge' and len(fams) >= 11))"
is "$(value ketch_messages_received_total way=smtp)/$(value ketch_messages_received_total way=local)/$(value ketch_messages_received_total way=submission)" "8/2/0" "received: 8 over SMTP, 2 local (sendmail), none by submission"
is "$(value ketch_delivered_total kind=local)/$(value ketch_delivered_total kind=remote)" "8/0" "delivered: 8 local (7 messages and a bounce), none remote"
is "$(value ketch_deferred_total kind=remote)/$(value ketch_bounced_total kind=remote)/$(value ketch_bounced_total kind=local)" "2/1/0" "deferred 2 (the next hop is down), bounced 1 (550)"
is "$(value ketch_destination_failures_total domain=down.test)/$(value ketch_destination_failures_total domain=refuse.test)/$(value ketch_destination_failures_total domain=other)" "2/1/0" "failures by destination, and the other bucket"
insess () { scrape && [ "$(value ketch_smtp_sessions_total direction=in,tls=yes)/$(value ketch_smtp_sessions_total direction=in,tls=no)" = "2/6" ] ; }
check "inbound sessions: 2 with TLS, 6 without" wait_for 5 insess
is "$(value ketch_smtp_sessions_total direction=out,tls=no)/$(value ketch_smtp_sessions_total direction=out,tls=yes)" "1/0" "outbound: one session (to the refusing peer), without TLS; the one down never opened"
qsize () { scrape && [ "$(value ketch_queue_messages '')" = 2 ] ; }
check "queue size: the 2 deferred messages" wait_for 5 qsize
age=$(value ketch_queue_oldest_age_seconds '')
check "the oldest message's age is sensible (1 to 120 s: $age)" test "$age" -ge 1 -a "$age" -le 120
is "$(value ketch_deliveries_in_flight kind=local)/$(value ketch_deliveries_in_flight kind=remote)/$(value ketch_smtp_sessions_open '')" "0/0/0" "nothing in flight, no session open"

# a session held open shows while it lasts
py "
import time, subprocess
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
ok = False
for i in range(50):
  r = subprocess.run(['curl', '-s', '-m', '5', 'http://127.0.0.1:$HTTP/metrics'], capture_output=True, text=True).stdout
  if '\nketch_smtp_sessions_open 1\n' in r: ok = True ; break
  time.sleep(0.1)
print(ok); c.code(b'QUIT')
" > "$T/held"
is "$(cat "$T/held")" "True" "a session held open: ketch_smtp_sessions_open 1"
closed () { scrape && [ "$(value ketch_smtp_sessions_open '')" = 0 ] ; }
check "and 0 once it ended" wait_for 5 closed

# the scheduler's counters survive its restart; smtp-listen's survive its own
kill "$SPID" ; wait "$SPID" 2>/dev/null
rm -f "$T/sready"
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>>"$T/sched.log" &
SPID=$!
wait_for 10 test -s "$T/sready"
scrape
is "$(value ketch_delivered_total kind=local)/$(value ketch_deferred_total kind=remote)/$(value ketch_destination_failures_total domain=down.test)" "8/2/2" "the scheduler restarted: its counters are still there"
stop_listen
start_listen
send True "$U@test.example" >/dev/null
again () { scrape && [ "$(value ketch_delivered_total kind=local)" = 9 ] ; }
check "smtp-listen restarted: one more message delivered (9)" wait_for 20 again
is "$(value ketch_messages_received_total way=smtp)/$(value ketch_smtp_sessions_total direction=in,tls=yes)" "9/3" "and its counters went on from where they were (9 received, 3 with TLS)"

# the HTTP side: other paths, methods, garbage, and the stdout form
is "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$HTTP/")/$(curl -s -o /dev/null -w '%{http_code}' -m 5 -X POST "http://127.0.0.1:$HTTP/metrics")" "404/405" "another path: 404; another method: 405"
is "$(printf 'GARBAGE\r\n\r\n' | python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $HTTP), timeout=5); s.sendall(sys.stdin.buffer.read())
print(s.recv(100).split(b'\r\n')[0].decode())")" "HTTP/1.1 400 Bad Request" "a request that is not HTTP: 400"
is "$(curl -s -D - -o /dev/null -m 5 "http://127.0.0.1:$HTTP/metrics" | tr -d '\r' | grep -i '^content-type')" "Content-Type: text/plain; version=0.0.4; charset=utf-8" "the exposition format's content type"
ketch-stats -C "$CONF" > "$T/stdout.txt"
check "ketch-stats without -l prints the same families" sh -c "grep -q '^ketch_delivered_total{kind=\"local\"} 9\$' '$T/stdout.txt' && grep -q '^# TYPE ketch_queue_messages gauge\$' '$T/stdout.txt'"
done_testing
