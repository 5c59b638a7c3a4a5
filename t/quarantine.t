#!/bin/sh
# ISC license: see LICENSE.
# A message queued held (a filter's quarantine; enqueue -H, the options
# field on enqueue-listen's socket, enqueue -S -H as a session spawns
# it): held in its committed entry, shown by queue-ls with its reason,
# never delivered by the scheduler, held still after a SIGKILL and a
# restart, delivered after queue-ctl release, and not held again by a
# restart after its release; queue-ctl remove takes it; once past its
# lifetime it expires and bounces as a held message does. The sign flag
# is recorded only, and refused to a peer that is not trusted with it.
. "$(dirname "$0")/lib.sh"
plan 50

cd "$T" || exit 1
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
# good: delivered, one file per delivery; later: a temporary failure, counted
cat > "$T/deliver" <<'S'
#!/bin/sh
cat > "$(dirname "$0")/mail/$LOCAL.$$"
S
cat > "$T/tempfail" <<'S'
#!/bin/sh
cat >/dev/null
echo x >> "$(dirname "$0")/mail/count.$LOCAL"
exit 111
S
chmod 755 "$T/deliver" "$T/tempfail"
cat > "$T/slow" <<'S'
#!/bin/sh
cat >/dev/null
echo x >> "$(dirname "$0")/mail/count.$LOCAL"
sleep 3
exit 111
S
chmod 755 "$T/slow"
printf 'good: |%s\nbounce: |%s\nlater: |%s\nslow: |%s\n' "$T/deliver" "$T/deliver" "$T/tempfail" "$T/slow" > "$T/aliases"
SOCK=$T/enqueue.sock
mkinstance "aliases $T/aliases" "retry local 1s" "retry max 2s" "rescan 1s" "enqueue-socket $SOCK"
newaliases -C "$CONF"

got () { ls "$T/mail" | grep -c "^$1\." ; }
got_ge () { [ "$(got "$1")" -ge "$2" ] ; }
count () { { wc -l < "$T/mail/count.$1" ; } 2>/dev/null || echo 0 ; }
count_ge () { [ "$(count "$1")" -ge "$2" ] ; }
qls () { queue-ls -C "$CONF" "$@" 2>>"$T/qls.err" ; }
held_line () { qls "$1" | head -n 1 | sed 's/^[0-9a-f]\{24\}  [^ ]*  [0-9]*  //' ; }
gone () { ! test -e "$(entry_path "$1")" ; }

# ---- enqueue -H, before any scheduler runs ----
id1=$(printf 'Subject: q1\n\nbody\n' | enqueue -C "$CONF" -H 'spam: score 15 "x"' -f s@test.example good+q1@test.example)
ok $? "enqueue -H: queued"
check "... the entry holds the hold line with its reason, before the body line" grep -qx 'hold spam: score 15 "x"' "$(entry_path "$id1")"
is "$(held_line "$id1")" '<s@test.example>  held (quarantine: spam: score 15 "x")' "queue-ls: held, with the reason"
is "$(qls -j "$id1" | python3 -c 'import json,sys; m=json.loads(sys.stdin.read()); print(m["held"], m["quarantine"])')" 'True spam: score 15 "x"' "queue-ls -j: held, the reason as a JSON string"
id2=$(printf 'Subject: q2\n\nbody\n' | enqueue -C "$CONF" -H '' -f s@test.example good+q2@test.example)
is "$(held_line "$id2")" '<s@test.example>  held (quarantine)' "enqueue -H '': held, no reason"
n0=$(count_entries)
printf 'Subject: bad\n\nbody\n' | enqueue -C "$CONF" -H "$(printf 'two\nlines')" -f s@test.example good+bad@test.example >/dev/null 2>"$T/err"
is "$?:$(count_entries)" "100:$n0" "a reason with a newline: 100, nothing queued"
check "... and enqueue says why" grep -q '^enqueue: fatal: invalid hold reason' "$T/err"
r300=$(python3 -c 'print("r" * 300)')
printf 'Subject: bad\n\nbody\n' | enqueue -C "$CONF" -H "$r300" -f s@test.example good+bad@test.example >/dev/null 2>/dev/null
is "$?:$(count_entries)" "100:$n0" "a reason over 256 octets: 100, nothing queued"

# the spawned conversation: enqueue -S -H, the id first, the message dot-stuffed
out=$(printf 'Subject: pipe\n\n..dot\n.\n' | enqueue -C "$CONF" -S -H 'via pipe' -D -f s@test.example good+pipe@test.example)
ok $? "enqueue -S -H -D (as a session spawns it): queued"
idp=$out
is "$(held_line "$idp")" '<s@test.example>  held (quarantine: via pipe)' "... held, with the reason"
check "... sign recorded in the envelope" grep -qx sign "$(entry_path "$idp")"

# ---- the socket's conversation ----
rm -f "$T/eready"
enqueue-listen -C "$CONF" -d 3 3>"$T/eready" 2>>"$T/enq.log" &
EPID=$!
at_exit "kill $EPID 2>/dev/null"
wait_for 5 test -s "$T/eready"
ok $? "enqueue-listen ready"
# conv PAYLOAD: the request ('|' for NUL) and a message; prints the id line and the code, '~' for LF
conv () {
  ${CONV_AS:-} python3 - "$SOCK" "$1" <<'EOF'
import socket, sys
path, payload = sys.argv[1], sys.argv[2].encode().replace(b'|', b'\0')
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
s.sendall(b'%d:%s,' % (len(payload), payload))
got = b''
while b'\n' not in got:
    b = s.recv(4096)
    if not b: break
    got += b
# an id line: the message; anything else was the answer
# (then no more: the server keeps the connection after a 0 until our end of file)
if len(got) == 25 and got.endswith(b'\n'): s.sendall(b'Subject: sock\r\n\r\nbody\r\n.\r\n'); s.shutdown(socket.SHUT_WR)
while True:
    b = s.recv(4096)
    if not b: break
    got += b
print(got.decode().replace('\n', '~'))
EOF
}
out=$(conv ':1:via socket|s@test.example||good+sock@test.example|')
ids=${out%%~*}
is "$(printf '%s' "$out" | sed 's/^[0-9a-f]\{24\}~/ID~/')" "ID~0~" "the socket, options field ':1:REASON': the id, then 0"
is "$(held_line "$ids")" '<s@test.example>  held (quarantine: via socket)' "... held, with the reason"
out=$(conv ':2:|s@test.example||good+signed@test.example|')
idsg=${out%%~*}
check "the socket, sign (root may say it): recorded" grep -qx sign "$(entry_path "$idsg")"
check "... and not held" sh -c "! grep -q '^hold' '$(entry_path "$idsg")'"
out=$(conv 's@test.example||good+old@test.example|')
idold=${out%%~*}
is "$(printf '%s' "$out" | sed 's/^[0-9a-f]\{24\}~/ID~/')" "ID~0~" "the old request form, no options field: still taken"
check "... its entry in the old format, no hold and no sign line" sh -c "! grep -qE '^(hold|sign)' '$(entry_path "$idold")'"
n0=$(count_entries)
is "$(conv ':17:|s@test.example||good+x@test.example|' | cut -d~ -f1-2)" "100~enqueue: fatal: unknown submission flags" "an unknown flag: 100"
is "$(conv ':1x:|s@test.example||good+x@test.example|' | cut -d~ -f1-2)" "100~enqueue: fatal: malformed request" "a garbled options field: malformed, 100"
is "$(count_entries)" "$n0" "... nothing queued"
if [ "$(id -u)" = 0 ] ; then
  NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/env PATH=/usr/bin:/bin"
  out=$(CONV_AS=$NOBODY conv ':2:|s@test.example||good+x@test.example|')
  is "$out" "100~enqueue: fatal: only root, the queue owner and the smtp-user may ask for signing~" "another local user asking for signing: refused, 100, with the reason"
  is "$(count_entries)" "$n0" "... nothing queued"
  out=$(CONV_AS=$NOBODY conv ':1:mine|s@test.example||good+nobody@test.example|')
  idn=${out%%~*}
  is "$(held_line "$idn")" '<s@test.example>  held (quarantine: mine)' "another local user may hold their own message"
else
  skip 3 "needs root to connect as another user"
  idn=
fi
kill $EPID

# ---- the scheduler ----
start () {
  rm -f "$T/ready"
  scheduler -C "$CONF" -d 3 3>"$T/ready" 2>>"$T/sched.log" &
  SPID=$!
  at_exit "kill -9 $SPID 2>/dev/null"
  wait_for 10 test -s "$T/ready"
}
start
ok $? "scheduler ready"
# the unheld messages go: the scheduler has looked at the queue
check "the old-form and the signed messages are delivered" wait_for 10 sh -c "[ \$(ls '$T/mail' | grep -c '^good+\\(old\\|signed\\)\\.') = 2 ]"
printf 'Subject: plain\n\nbody\n' | enqueue -C "$CONF" -f s@test.example good+plain1@test.example >/dev/null
check "a plain message queued after the held ones is delivered" wait_for 10 got_ge good+plain1 1
sleep 1.5   # past a rescan: a held message would have had its chance
is "$(got good+q1):$(got good+q2):$(got good+pipe):$(got good+sock):$(got good+nobody)" "0:0:0:0:0" "no held message is delivered"
check "the scheduler logs the hold and the reason, quoted" grep -q "$id1 held quarantine=\"spam: score 15 \\\\\"x\\\\\"\"" "$T/sched.log"
check "... a state file written for it (its alias expanded) keeps the hold" sh -c "! test -e '$(state_path "$id1")' || grep -q '^ketch-state 1	hold' '$(state_path "$id1")'"

# SIGKILL and a restart: still held (the hold is in the entry)
kill -9 $SPID
wait_for 5 sh -c "! kill -0 $SPID 2>/dev/null"
start
ok $? "scheduler restarted after SIGKILL"
printf 'Subject: plain\n\nbody\n' | enqueue -C "$CONF" -f s@test.example good+plain2@test.example >/dev/null
check "a plain message is delivered after the restart" wait_for 10 got_ge good+plain2 1
sleep 1.5
is "$(got good+q1):$(got good+pipe):$(got good+sock)" "0:0:0" "after SIGKILL and a restart: still not delivered"
is "$(held_line "$id1")" '<s@test.example>  held (quarantine: spam: score 15 "x")' "... and queue-ls still shows it held"

# release: delivered
queue-ctl -C "$CONF" release "$id1" 2>>"$T/ctl.log"
check "queue-ctl release: the held message is delivered" wait_for 10 got_ge good+q1 1
check "... and leaves the queue" wait_for 10 gone "$id1"
check "... the release is logged" grep -q "$id1 ctl command=\"release $id1\"" "$T/sched.log"
queue-ctl -C "$CONF" release "$ids" "$idp" 2>>"$T/ctl.log"
check "the socket's and the pipe's held messages, released, are delivered" wait_for 10 sh -c "[ \$(ls '$T/mail' | grep -c '^good+\\(sock\\|pipe\\)\\.') = 2 ]"

# remove: a held message goes without a delivery
queue-ctl -C "$CONF" remove "$id2" 2>>"$T/ctl.log"
check "queue-ctl remove: a held message leaves the queue" wait_for 10 gone "$id2"
is "$(got good+q2)" 0 "... undelivered"

# released, not yet delivered (a temporary failure), then a restart: not held again
idl=$(printf 'Subject: later\n\nbody\n' | enqueue -C "$CONF" -H 'hold me' -f s@test.example later@test.example)
sleep 1
is "$(count later)" 0 "a held message to a failing recipient: not attempted"
queue-ctl -C "$CONF" release "$idl" 2>>"$T/ctl.log"
check "released: attempted" wait_for 10 count_ge later 1
check "... the state file says not held" wait_for 5 grep -q '^ketch-state 1	-' "$(state_path "$idl")"
kill -9 $SPID
wait_for 5 sh -c "! kill -0 $SPID 2>/dev/null"
n=$(count later)
start
check "after a restart the released message is attempted again, not held by its envelope" wait_for 10 count_ge later $((n + 1))
is "$(held_line "$idl")" '<s@test.example>' "... queue-ls does not show it held"
# released, the scheduler killed while the first delivery runs: not held again
ids2=$(printf 'Subject: slow\n\nbody\n' | enqueue -C "$CONF" -H 'hold me too' -f s@test.example slow@test.example)
queue-ctl -C "$CONF" release "$ids2" 2>>"$T/ctl.log"
check "released: a slow delivery starts" wait_for 10 count_ge slow 1
kill -9 $SPID
wait_for 5 sh -c "! kill -0 $SPID 2>/dev/null"
start
is "$(held_line "$ids2")" '<s@test.example>' "killed during the delivery that followed the release: not held after the restart"
queue-ctl -C "$CONF" remove "$idl" "$ids2" ${idn:+"$idn"} 2>>"$T/ctl.log"
wait_for 10 gone "$idl"
wait_for 10 gone "$ids2"
kill -TERM $SPID
wait_for 10 sh -c "! kill -0 $SPID 2>/dev/null"

# ---- expiry: a second spool whose messages live 2 s ----
sed -e "s|^spool .*|spool $T/spool2|" -e '/^enqueue-socket/d' "$CONF" > "$T/e.conf"
echo "expire 2s" >> "$T/e.conf"
mkspool -C "$T/e.conf"
ide=$(printf 'Subject: old\n\nbody\n' | enqueue -C "$T/e.conf" -H 'too old' -f bounce@test.example good+exp@test.example)
sleep 2.5
rm -f "$T/ready"
scheduler -C "$T/e.conf" -d 3 3>"$T/ready" 2>>"$T/sched2.log" &
SPID=$!
at_exit "kill -9 $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready"
check "a held message past its lifetime expires" wait_for 10 grep -q "^$ide expire rcpt=" "$T/sched2.log"
check "... and bounces to its sender, as a held message does" wait_for 10 got_ge bounce 1
is "$(got good+exp)" 0 "... undelivered"
kill -TERM $SPID
done_testing
