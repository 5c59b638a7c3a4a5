#!/bin/sh
# ISC license: see LICENSE.
# Filters (milter, issue 19) that fail: one that hangs, closes
# mid-message, speaks garbage or is down, with on-failure tempfail and
# accept; two filters in order; RSET and QUIT; sendmail's local-filter;
# quarantine until queue-ctl release. Setup: t/filter-lib.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 35
. "$(dirname "$0")/filter-lib.sh"

# 1. filters that fail: each is logged and then on-failure decides
n=$(count_entries)
echo "eom hang" > "$SCRIPT"
t0=$(date +%s)
out=$(sess "$U@test.example")
t1=$(date +%s)
is "$(echo "$out" | codes)" "220 250 250 250 354 451 221" "a filter that hangs: 451"
check "the 451 came within the filter-data bound (3s; took $((t1 - t0))s)" test $((t1 - t0)) -lt 10
check "the timeout is logged" grep -q "event=filter-failure name=one stage=eom error=timeout on-failure=tempfail" "$T/smtp.log"
check "a filter that hangs: nothing queued, nothing half written" spool_clean "$n"

echo "body close" > "$SCRIPT"
out=$(sess "$U@test.example")
is "$(echo "$out" | codes)" "220 250 250 250 354 451 221" "a filter that closes mid-message: 451"
check "a filter that closes mid-message: nothing queued, nothing half written" spool_clean "$n"
: > "$SCRIPT"
start_peer
ok $? "the scripted filter is back"

# a peer that answers the negotiation with garbage
"$PY" -c "
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $GPORT)); s.listen(5); s.settimeout(60)
for i in range(10):
  c, a = s.accept(); c.settimeout(5)
  try:
    c.recv(4096); c.sendall(b'\x00\x00\x00\x05Zjunk')
  except OSError:
    pass
  c.close()
" 2>/dev/null &
GPID=$!
at_exit "kill $GPID 2>/dev/null"
wait_for 5 port_open 127.0.0.1 "$GPORT"
out=$(SPORT=$PORT5 sess "$U@test.example")
is "$(echo "$out" | codes)" "421 000" "a filter that speaks garbage: 421 at connect"
check "the garbage is a protocol error" grep -q "event=filter-failure name=garbage stage=connect error=protocol" "$T/smtp.log"
out=$(SPORT=$PORT3 sess "$U@test.example")
is "$(echo "$out" | head -n 1)" "421 4.7.1 Service unavailable - try again later" "a filter that is down at connect: 421 4.7.1"
check "down at connect: nothing queued" spool_clean "$n"
out=$(SPORT=$PORT4 sess "$U@test.example")
is "$(echo "$out" | codes)" "220 250 250 250 354 250 221" "down, with on-failure accept: the message goes on"
check "the failure is logged with on-failure=accept" grep -q "event=filter-failure name=downok stage=connect error=[a-z]* on-failure=accept" "$T/smtp.log"

# 2. two filters in order: the second sees what the first changed
MLOG2=$T/milter2.log
echo "eom addheader X-Second two" > "$T/script2"
"$PY" "$top/t/milterpeer.py" "inet:$MPORT2@127.0.0.1" "$T/script2" "$MLOG2" 2>>"$T/peer.err" &
P2=$!
at_exit "kill $P2 2>/dev/null"
wait_for 5 port_open 127.0.0.1 "$MPORT2"
echo "eom addheader X-Filtered yes" > "$SCRIPT"
out=$(SPORT=$PORT2 sess "$U@test.example")
is "$(echo "$out" | codes)" "220 250 250 250 354 250 221" "two filters: the message is queued"
check "the second filter saw the first one's header" grep -qx 'header X-Filtered: yes' "$MLOG2"
f=$(newest)
is "$(hdrs "$f" | grep -v '^[[:space:]]' | cut -d: -f1 | tail -n 2 | tr '\n' ' ')" "X-Filtered X-Second " "both filters' headers, in order"

# 3. RSET and the session's end: the filter is told
cat "$MLOG" >> "$T/milter.all" ; : > "$MLOG"
py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO client.example')
c.cmd(b'MAIL FROM:<a@client.example>'); c.cmd(b'RSET'); c.cmd(b'QUIT')
" >/dev/null
check "RSET aborts the filter's message, QUIT closes its connection" wait_for 5 sh -c "grep -qx abort '$MLOG' && grep -qx close '$MLOG'"

# 4. local-filter: mail from sendmail(8) goes through the filters
cat "$MLOG" >> "$T/milter.all" ; : > "$MLOG"
echo "eom addheader X-Local yes" > "$SCRIPT"
printf 'Subject: local\n\nfrom a script\n' | sendmail -C "$CONF" "$U@test.example"
is "$?" 0 "sendmail with a local-filter: exit 0"
f=$(newest)
check "the local filter's header is in the queued message" grep -qx 'X-Local: yes' "$f"
check "the filter saw a local connection and HELO localhost" sh -c "grep -q '^connect localhost ' '$MLOG' && grep -qx 'helo localhost' '$MLOG'"
echo "eom reject 550 5.7.1 no local spam" > "$SCRIPT"
n=$(count_entries)
err=$(printf 'Subject: local\n\nspam\n' | sendmail -C "$CONF" "$U@test.example" 2>&1)
is "$?" 100 "a local filter's reject: sendmail exits 100"
check "with the filter's text" sh -c "echo '$err' | grep -q '550 5.7.1 no local spam'"
check "and nothing is queued" spool_clean "$n"
# a local filter that is down: 111, or the message goes on unfiltered with on-failure accept
sed 's/^local-filter one$/local-filter down/' "$CONF" > "$T/down.conf"
printf 'Subject: local\n\nx\n' | sendmail -C "$T/down.conf" "$U@test.example" 2>/dev/null
is "$?:$(count_entries)" "111:$n" "a local filter that is down: sendmail exits 111, nothing queued"
sed 's/^local-filter one$/local-filter downok/' "$CONF" > "$T/downok.conf"
printf 'Subject: unfiltered\n\nx\n' | sendmail -C "$T/downok.conf" "$U@test.example" 2>/dev/null
is "$?:$(count_entries)" "0:$((n + 1))" "the same with on-failure accept: queued"

# 5. quarantine: held in the queue until released, then delivered
clean_spool
echo "eom quarantine looks bad" > "$SCRIPT"
out=$(sess "$U@test.example")
is "$(echo "$out" | codes)" "220 250 250 250 354 250 221" "quarantine: 250"
id=$(basename "$(newest)")
check "queue-ls shows it held" sh -c "queue-ls -C '$CONF' | grep '$id' | grep -q held"
check "the quarantine is logged with its reason" grep -q 'filter name=one action=quarantine reason="looks bad"' "$T/smtp.log"
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 5 test -s "$T/sready"
sleep 1
is "$(maildir_count "$T/mail/$U/new")" 0 "a held message is not delivered"
queue-ctl -C "$CONF" release "$id" 2>/dev/null
check "released, it is delivered" wait_for 10 arrived "$T/mail/$U/new"
check "the Maildir got the filtered message, once" sh -c "[ \$(find '$T/mail/$U/new' -type f | wc -l) = 1 ] && grep -q '^Subject: hello' '$T/mail/$U/new/'*"
check "every macro a filter got was one we sent whole (no stale pointer)" sh -c "! cat '$MLOG' '$T/milter.all' '$T/milter2.log' 2>/dev/null | grep -q 'not UTF-8'"
done_testing
