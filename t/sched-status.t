#!/bin/sh
# ISC license: see LICENSE.
# A remote server's enhanced status codes (RFC 3463) end up in the
# bounces and delay warnings the scheduler writes: the longest legal code
# (class.123.123) and illegal ones, answered to RCPT and at the end of
# DATA. Each report is written with the code, or the default one when
# the code is not legal; the scheduler lives on and a later message is
# delivered (a 5.123.123 once overflowed the report's status buffer and
# aborted the scheduler at every restart).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 10
need python3 python3

P=$(free_port)
U=$(test_user ks) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
mkinstance "route peer.test via 127.0.0.1:$P" "timeout connect 2s" "timeout command 10s" "timeout data 10s" \
  "deliver maildir $T/mail/%u" "retry remote 1s" "retry max 2s" "warn 1s"

long=$(printf '9%.0s' $(seq 1 300))
junk=$(printf 'x%.0s' $(seq 1 400))
peer p1 127.0.0.1 "$P" \
  --rcpt "r1@peer.test=550 5.123.123 longest legal" \
  --rcpt "r2@peer.test=550 5.1234.1 four digits" \
  --rcpt "r3@peer.test=550 5..1 empty subject" \
  --rcpt "r4@peer.test=550 5.1. empty detail" \
  --rcpt "r5@peer.test=550 5.$long.$long long" \
  --rcpt "r6@peer.test=550 $junk" \
  --rcpt "w1@peer.test=450 4.123.123 longest legal, later" \
  --data-rcpt "d1@peer.test=554 5.123.123 longest legal" \
  --data-rcpt "d2@peer.test=554 5.1234.1234 too long" \
  --data-rcpt "d3@peer.test=554 5.1.1$junk" \
  --data-rcpt "w2@peer.test=451 4.123.123 longest legal, later" \
  --data-rcpt "w3@peer.test=451 4.1.1234 too long, later"

q () { printf 'From: %s@test.example\nSubject: %s\n\nx\n' "$U" "$1" | enqueue -C "$CONF" -f "$U@test.example" "$@" >/dev/null ; }
q r1@peer.test r2@peer.test r3@peer.test r4@peer.test r5@peer.test r6@peer.test
q w1@peer.test
q d1@peer.test
q d2@peer.test
q d3@peer.test
q w2@peer.test
q w3@peer.test

# the scheduler starts once the peer listens: a refused connection would
# make the first delay warning (warn 1s) about that instead
wait_for 20 test -e "$T/p1.ready" || bail "the peer did not start: $(cat "$T/p1.err")"
SPID=""
at_exit 'kill $SPID 2>/dev/null'
scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
wait_for 10 test -s "$T/ready" || bail "the scheduler did not start: $(cat "$T/sched.log")"

# statuses: "ACTION RCPT STATUS" for every per-recipient block of every report received, sorted
statuses () {
  python3 - "$T/mail/$U/new" <<'PY'
import os, re, sys
d = sys.argv[1]
out = []
for f in os.listdir(d) if os.path.isdir(d) else []:
    t = open(os.path.join(d, f), 'rb').read().decode('ascii', 'replace')
    for m in re.finditer(r'\nFinal-Recipient: rfc822; (\S+)\n(?:Original-Recipient: .*\n)?Action: (\S+)\nStatus: (\S+)\n', t):
        out.append('%s %s %s' % (m.group(2), m.group(1), m.group(3)))
print(','.join(sorted(out)))
PY
}
want="delayed w1@peer.test 4.123.123,delayed w2@peer.test 4.123.123,delayed w3@peer.test 4.0.0,failed d1@peer.test 5.123.123,failed d2@peer.test 5.0.0,failed d3@peer.test 5.0.0,failed r1@peer.test 5.123.123,failed r2@peer.test 5.0.0,failed r3@peer.test 5.0.0,failed r4@peer.test 5.0.0,failed r5@peer.test 5.0.0,failed r6@peer.test 5.0.0"
all_reports () { [ "$(statuses)" = "$want" ] ; }
wait_for 30 all_reports
is "$(statuses)" "$want" "every report written, with the legal code or the default"
check "the scheduler is still running" kill -0 $SPID
check "no abort in its log" sh -c "! grep -qi 'smash\|overflow\|abort' '$T/sched.log'"
is "$(grep -c ' bounce to=' "$T/sched.log")" 4 "four bounces (one per failed message)"
is "$(grep -c ' delay-warning to=' "$T/sched.log")" 3 "three delay warnings"
check "the 5.123.123 reply is quoted whole" grep -rqs 'Diagnostic-Code: smtp; 550 5.123.123 longest legal' "$T/mail/$U/new"
check "the 5.1234.1 reply is quoted whole" grep -rqs 'Diagnostic-Code: smtp; 550 5.1234.1 four digits' "$T/mail/$U/new"

# the queue keeps moving: a later message goes out
printf 'Subject: later\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" ok@peer.test > "$T/id"
check "a later message is delivered" wait_for 15 grep -q "^$(cat "$T/id") delivery rcpt=\"ok@peer.test\" result=ok" "$T/sched.log"

# a restart with the deferred ones still queued: the scheduler stays up
kill -TERM $SPID ; wait_for 20 sh -c "! kill -0 $SPID 2>/dev/null" ; wait $SPID 2>/dev/null
scheduler -C "$CONF" -d 3 3>"$T/ready2" 2>>"$T/sched.log" &
SPID=$!
check "after a restart it starts" wait_for 10 test -s "$T/ready2"
sleep 2
check "and keeps running" kill -0 $SPID
done_testing
