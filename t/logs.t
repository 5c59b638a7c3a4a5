#!/bin/sh
# ISC license: see LICENSE.
# The logs of a real instance and the recipes of conf/LOGS.md (issue 15,
# point 13): ketch-instance under s6, one message over SMTP to a local
# user and to three remote recipients (accepted, refused with 550,
# deferred with 451) through a scripted peer, so a bounce too. Every
# recipe of LOGS.md is run on those logs and its output checked; each
# remote result is one line, in the scheduler's format; LOGS.md names
# exactly the fields the programs write.
. "$(dirname "$0")/lib.sh"
. "$top/t/instance-lib.sh"
. "$top/t/remote-lib.sh"

plan 19
need s6-svscan s6
need python3 python3

mk_instance || bail "ketch-instance setup failed: $(cat "$T/setup.err")"
PP=$(free_port)
printf 'route peer.test via 127.0.0.1:%s\nrelay-from 127.0.0.0/8\nretry remote 1h\n' "$PP" >> "$INST/ketch.conf"
peer p 127.0.0.1 "$PP" --rcpt "bad@peer.test=550 5.1.1 no such user" --rcpt "later@peer.test=451 4.2.0 try later"
[ -e "$T/p.ready" ] || bail "the peer did not start: $(cat "$T/p.err")"
s6-svscan "$SVC" >"$T/svscan.log" 2>&1 &
svpid=$!
at_exit "s6-svscanctl -t '$SVC' 2>/dev/null ; sleep 1 ; killpid TERM $svpid"
wait_for 10 s6-svok "$SVC/scheduler"
# s6-svwait fails at once on a service s6-svscan has not picked up yet
wait_for 10 s6-svok "$SVC/smtp-listen"
s6-svwait -U -t 15000 "$SVC/smtp-listen" "$SVC/scheduler" || bail "the instance did not start: $(cat "$T/svscan.log")"
wait_for 10 port_open 127.0.0.1 "$PORT" || bail "nothing listens on $PORT"

# the message, over SMTP; its queue id from the reply to DATA
id=$(python3 - "$PORT" "$me" <<'PY'
import smtplib, sys, re
port, me = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP('127.0.0.1', port, timeout=10)
s.ehlo('client.test')
s.mail('%s@localhost' % me)
for r in ('%s@localhost' % me, 'good@peer.test', 'bad@peer.test', 'later@peer.test'):
    s.rcpt(r)
code, text = s.data(b'From: %s@localhost\r\nSubject: logs-test\r\n\r\nhello\r\n' % me.encode())
s.quit()
m = re.search(rb'[0-9a-f]{24}', text)
print(m.group(0).decode() if m else 'none')
PY
)
case $id in [0-9a-f]*) ;; *) bail "no queue id in the reply to DATA: $id" ;; esac
SL=$INST/log/scheduler/current
LL=$INST/log/smtp-listen/current
bounced () { grep -q " bounce to=" "$SL" && [ "$(grep -c ' delivery rcpt="'"$me"'@localhost" result=ok' "$SL")" = 2 ] ; }
wait_for 30 bounced || bail "no bounce delivered: $(cat "$SL")"
wait_for 10 grep -q "result=temp" "$SL"

# an operator request (hold: no more attempts), and a warning: smtp-listen refuses a broken configuration on SIGHUP
queue-ctl -C "$INST/ketch.conf" hold "$id" >/dev/null 2>&1
wait_for 10 grep -q ' ctl ' "$SL"
cp "$INST/ketch.conf" "$T/conf.good"
echo "no-such-keyword" >> "$INST/ketch.conf"
s6-svc -h "$SVC/smtp-listen"
wait_for 10 grep -q ': warning: ' "$LL"
cp "$T/conf.good" "$INST/ketch.conf"
sleep 0.5   # s6-log writes what it reads at once; this is only for lines still in a pipe

# the recipes of LOGS.md, one file each, in their order
n=$(python3 - "$top/conf/LOGS.md" "$T/recipe" <<'PY'
import sys
text = open(sys.argv[1]).read().split('\n## Recipes\n', 1)[1]
blocks, cur = [], []
for l in text.split('\n'):
    if l.startswith('    '):
        cur.append(l[4:])
    elif cur:
        blocks.append(cur); cur = []
if cur: blocks.append(cur)
for i, b in enumerate(blocks, 1):
    open('%s.%d' % (sys.argv[2], i), 'w').write('\n'.join(b) + '\n')
print(len(blocks))
PY
)
is "$n" 9 "LOGS.md has the 9 recipes this test runs (a new one needs its check here)"
# recipe N [DOMAIN] [HOUR]: run the Nth recipe on this instance's logs (output in $T/r.N)
recipe () {
  sed -e "s|/var/log/ketch|$INST/log|g" -e "s|006b0133f96614f000d0af13|$id|g" \
      -e "s|example\\\\.org|${2:-peer\\\\.test}|g" -e "s|2026-11-21 14|${3:-none}|g" "$T/recipe.$1" > "$T/recipe.$1.sh"
  timeout 5 sh "$T/recipe.$1.sh" > "$T/r.$1" 2>"$T/r.$1.err"
}
sid=$(grep " accepted id=$id " "$LL" | awk '{ print $3 }')

recipe 1
check "recipe 1 (one message): the SMTP session, from connect to accepted" sh -c "grep -q ' $sid connect ip=127.0.0.1 ' '$T/r.1' && grep -q ' $sid mail from=\"$me@localhost\"' '$T/r.1' && grep -q ' $sid accepted id=$id ' '$T/r.1'"
check "recipe 1: the scheduler's and remote-send's lines" sh -c "grep -q ' $id pickup ' '$T/r.1' && grep -q ' $id connected host=\"127.0.0.1\" ip=127.0.0.1' '$T/r.1' && grep -q ' $id transaction host=\"127.0.0.1\" ip=127.0.0.1 tls=no rcpts=3' '$T/r.1' && test \$(grep -c ' $id delivery ' '$T/r.1') = 4"
check "recipe 1: in time order, the session before the delivery" sh -c "test \$(grep -n ' $sid connect ' '$T/r.1' | cut -d: -f1) -lt \$(grep -n ' $id pickup ' '$T/r.1' | cut -d: -f1)"
recipe 3
is "$(sed 's/^[^ ]* [^ ]*  //' "$T/r.3" | cut -d' ' -f1-4 | sort | tr '\n' ,)" "$id delivery rcpt=\"bad@peer.test\" result=perm,$id delivery rcpt=\"later@peer.test\" result=temp," "recipe 3 (failed deliveries): each failure once"
recipe 4 'peer\\.test'
is "$(awk '{ print $5, $6 }' "$T/r.4" | sort | tr '\n' ,)" 'rcpt="bad@peer.test" result=perm,rcpt="good@peer.test" result=ok,rcpt="later@peer.test" result=temp,' "recipe 4 (one domain): the remote deliveries"
recipe 4 'localhost'
is "$(awk '{ print $5, $6 }' "$T/r.4" | sort | tr '\n' ,)" "rcpt=\"$me@localhost\" result=ok,rcpt=\"$me@localhost\" result=ok," "recipe 4 (one domain): the local deliveries (the message and the bounce)"
recipe 5
check "recipe 5 (problems): smtp-listen's warning" grep -q 'smtp-listen: warning: SIGHUP' "$T/r.5"
check "recipe 5: no delivery line" sh -c "! grep -q ' delivery ' '$T/r.5'"
hour=$(head -n 1 "$SL" | cut -c1-13)
recipe 6 '' "$hour"
is "$(wc -l < "$T/r.6" | tr -d ' ')" "$(cat "$INST"/log/*/current | grep -c "^$hour:")" "recipe 6 (one hour): every line of that hour"
recipe 7
check "recipe 7 (operator requests): the hold request" grep -q "ctl command=\"hold $id\"" "$T/r.7"
recipe 8
check "recipe 8 (follow live): both logs" sh -c "grep -q 'scheduler/current <==' '$T/r.8' && grep -q 'smtp-listen/current <==' '$T/r.8'"

# one event, one line, one format
all () { cat "$INST"/log/*/@*.s "$INST"/log/*/current 2>/dev/null ; }
is "$(all | grep -c ' delivery .*good@peer\.test')/$(all | grep -c ' delivery .*bad@peer\.test')" "1/1" "each remote result is logged once"
check "no address in <...> anywhere: one format" sh -c "! cat '$INST'/log/*/current | grep -q '=<'"
# every event and field written is documented: "event key= key=" in LOGS.md
python3 - "$top/conf/LOGS.md" "$INST"/log/*/current > "$T/undoc" <<'PY'
import re, sys
doc = set()
for item in re.findall(r'`([^`]*=[^`]*)`', open(sys.argv[1]).read()) + re.findall(r'`([a-z-]+)`', open(sys.argv[1]).read()):
    w = item.split()
    ev = '' if '=' in w[0] else w.pop(0)
    doc.add((ev, ''))
    for k in w:
        doc.add((ev, k.split('=', 1)[0]))
for f in sys.argv[2:]:
    for l in open(f):
        w = l.rstrip('\n').split('  ', 1)[1].split(' ')
        if len(w) < 2 or w[0].endswith(':'):
            continue   # a program's diagnostic
        w = w[1:]
        ev = '' if '=' in w[0] else w.pop(0)
        keys = [ ''] + [ x.split('=', 1)[0] for x in w if re.match(r'^[a-z-]+=', x) ]
        for k in keys:
            if (ev, k) not in doc:
                print('%s %s=' % (ev, k))
PY
is "$(sort -u "$T/undoc" | tr '\n' ' ')" "" "every event and field in the logs is documented in LOGS.md"
check "LOGS.md documents no dsn= field (nothing writes one)" sh -c "! grep -q 'dsn=' '$top/conf/LOGS.md'"

# rotation: recipes 2 and 9
grep " $id " "$SL" > "$T/sl.id"
s6-svc -a "$SVC/scheduler/log"
rotated () { ls "$INST/log/scheduler" | grep -q '^@.*\.s$' ; }
wait_for 10 rotated
recipe 2
is "$(wc -l < "$T/r.2" | tr -d ' ')" "$(wc -l < "$T/sl.id" | tr -d ' ')" "recipe 2 (with rotated files): every line of the message"
check "recipe 2: the lines in the rotated file" sh -c "grep -q ' $id pickup ' '$T/r.2' && ! grep -q ' $id ' '$INST/log/scheduler/current'"
recipe 9
check "recipe 9 (rotated files as dates): a date" grep -q '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:.]*\.s$' "$T/r.9"

done_testing
