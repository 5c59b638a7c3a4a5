#!/bin/sh
# ISC license: see LICENSE.
# log-format json (issue 23, point 4): an instance whose loggers are
# ketch-log -j in front of s6-log. A message delivered, a client whose
# EHLO name holds quotes, backslashes, control octets and UTF-8, a
# configuration refused on SIGHUP (a strerr warning): every line of every
# log file is one JSON object (jq and Python's json both read them), with
# time, program, level, id, event and fields; the EHLO name comes back
# octet for octet; the message's lines carry its ids.
. "$(dirname "$0")/lib.sh"
. "$top/t/instance-lib.sh"

plan 9
need s6-svscan s6
need jq jq
need swaks swaks
need python3 python3

mk_instance || bail "ketch-instance setup failed: $(cat "$T/setup.err")"
printf 'log-format json\n' >> "$INST/ketch.conf"
_o=$(sed -n 's/^queue-user //p' "$INST/ketch.conf")
"$BIN/ketch-services" -C "$INST/ketch.conf" -l "$INST/log" ${_o:+-u "$_o" -U "$_o"} "$SVC" 2>"$T/services.err" || bail "ketch-services: $(cat "$T/services.err")"
check "the logger is ketch-log -j in front of s6-log, without its time stamp" \
  grep -q "ketch-log' -j -t scheduler s6-log -b n20 s1000000 '$INST/log/scheduler'\$" "$SVC/scheduler/log/run"
s6-svscan "$SVC" >"$T/svscan.log" 2>&1 &
svpid=$!
at_exit "s6-svscanctl -t '$SVC' 2>/dev/null ; sleep 1 ; killpid TERM $svpid"
wait_for 10 s6-svok "$SVC/scheduler"
# s6-svwait fails at once on a service s6-svscan has not picked up yet
wait_for 10 s6-svok "$SVC/smtp-listen"
s6-svwait -U -t 15000 "$SVC/smtp-listen" "$SVC/scheduler" || bail "the instance did not start: $(cat "$T/svscan.log")"
wait_for 10 port_open 127.0.0.1 "$PORT" || bail "nothing listens on $PORT"

send_mail 1
wait_for 30 in_maildir 1
ok $? "the message is delivered" "$(cat "$T/swaks.1")"
id=$(sed -n 's/.*queued as \([0-9a-f]\{24\}\).*/\1/p' "$T/swaks.1" | head -1)

# the hostile name, raw on the socket: no client library would send it
python3 - "$PORT" > "$T/hostile.out" 2>&1 <<'PY'
import socket, sys
name = b'q"b\\s\x01\x1f\x7f\t\xc3\xa9'
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10)
f = s.makefile('rb')
f.readline()
s.sendall(b'EHLO ' + name + b'\r\n')
while True:
    l = f.readline()
    if not l or l[3:4] == b' ': break
s.sendall(b'QUIT\r\n'); f.readline()
print(l.decode('latin-1').strip())
PY
cp "$INST/ketch.conf" "$T/conf.good"
echo "no-such-keyword" >> "$INST/ketch.conf"
s6-svc -h "$SVC/smtp-listen"
LL=$INST/log/smtp-listen/current
SL=$INST/log/scheduler/current
wait_for 10 grep -q '"event":"warning"' "$LL"
cp "$T/conf.good" "$INST/ketch.conf"
delivered () { grep -q "\"id\":\"$id\",\"event\":\"delivery\"" "$SL" ; }
wait_for 10 delivered
hostile_logged () { grep -q '"event":"helo".*\\u0001' "$LL" ; }
wait_for 10 hostile_logged

r=0 ; for f in "$INST"/log/*/current ; do jq -e . "$f" >/dev/null 2>"$T/jq.err" || { r=1 ; cat "$T/jq.err" ; } ; done
ok $r "jq reads every line of every log file" "$(cat "$T/jq.err")"

out=$(python3 - "$INST/log" "$id" <<'PY'
import json, os, sys, re
logdir, qid = sys.argv[1], sys.argv[2]
bad, n, names, progs = [], 0, [], set()
for svc in sorted(os.listdir(logdir)):
    p = os.path.join(logdir, svc, 'current')
    if not os.path.exists(p): continue
    for raw in open(p, 'rb'):
        n += 1
        try:
            o = json.loads(raw.decode('utf-8'))
        except Exception as e:
            bad.append('%s: %r: %s' % (svc, raw, e)); continue
        if sorted(o) != ['event', 'fields', 'id', 'level', 'program', 'time'] or not isinstance(o['fields'], dict):
            bad.append('%s: fields %s' % (svc, sorted(o)))
        elif o['program'] != svc or not re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$', o['time']):
            bad.append('%s: program or time %r %r' % (svc, o['program'], o['time']))
        elif o['level'] not in ('info', 'warning', 'error', 'fatal'):
            bad.append('%s: level %r' % (svc, o['level']))
        progs.add(o['program'])
        if o.get('event') == 'helo': names.append(o['fields'].get('name'))
print('lines', 'many' if n >= 10 else n)
print('bad', len(bad)); [print('#', b) for b in bad[:5]]
print('programs', ' '.join(sorted(progs)))
print('hostile', 'q"b\\s\x01\x1f\x7f\t\u00e9' in names)
PY
)
is "$(printf '%s\n' "$out" | grep -v '^#')" "lines many
bad 0
programs enqueue-listen scheduler smtp-listen
hostile True" "Python's json reads every line: the six fields, program the service, RFC 3339 time, a known level; the hostile EHLO name round-trips" "$out"

check "the queue id is the id of the scheduler's lines about the message" grep -q "\"id\":\"$id\",\"event\":\"pickup\"" "$SL"
check "smtp-listen's accepted line: the session id as id, the queue id among the fields" grep -qE "\"id\":\"[0-9a-f]{24}\",\"event\":\"accepted\",\"fields\":\\{\"id\":\"$id\"" "$LL"
check "a strerr warning: id null, source and text" grep -q '"level":"warning","id":null,"event":"warning","fields":{"source":"smtp-listen","text":"' "$LL"
got=$(jq -r 'select(.event == "delivery") | .fields.result' "$SL" | head -1)
is "$got" "ok" "jq: .fields.result of the delivery"
case $(cat "$T/hostile.out") in 250*) r=0 ;; *) r=1 ;; esac
ok $r "the session answered the hostile EHLO" "$(cat "$T/hostile.out")"
done_testing
