#!/bin/sh
# ISC license: see LICENSE.
# Filters (milter, issue 19) on an SMTP listener, against a scripted
# libmilter peer (t/milterpeer.py): the stages and macros a filter is
# told, its verdict at each stage with its own reply, the changes it makes
# to the message and the envelope, and nothing half written in the spool.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 99
"$PY" -c 'import Milter' 2>/dev/null || fail_rest "python3's Milter module is missing (Debian package python3-milter)"

cd "$T" || exit 1
at_exit 'if [ "$tap_failed" != 0 ] && [ -s "$T/peer.err" ] ; then tail -n 20 "$T/peer.err" | sed "s/^/# peer: /" ; fi'
PORT=$(free_port)
MPORT=$(free_port)
SCRIPT=$T/script
MLOG=$T/milter.log

# start_peer: the scripted filter on $MPORT, ready when it accepts connections
start_peer () {
  "$PY" "$top/t/milterpeer.py" "inet:$MPORT@127.0.0.1" "$SCRIPT" "$MLOG" 2>>"$T/peer.err" &
  PEER=$!
  at_exit "kill $PEER 2>/dev/null"
  wait_for 5 port_open 127.0.0.1 "$MPORT"
}

PORT2=$(free_port) ; PORT3=$(free_port) ; PORT4=$(free_port) ; PORT5=$(free_port)
MPORT2=$(free_port) ; DPORT=$(free_port) ; GPORT=$(free_port)
U=$(test_user kf) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
# PORT: one filter; PORT2: two in order; PORT3: one that is down; PORT4:
# the same with on-failure accept; PORT5: one that speaks garbage
mkinstance "listen 127.0.0.1 port $PORT filter one" "listen 127.0.0.1 port $PORT2 filter one filter two" \
  "listen 127.0.0.1 port $PORT3 filter down" "listen 127.0.0.1 port $PORT4 filter downok" "listen 127.0.0.1 port $PORT5 filter garbage" \
  "filter one inet:127.0.0.1:$MPORT" "filter two inet:127.0.0.1:$MPORT2" "filter down inet:127.0.0.1:$DPORT" \
  "filter downok inet:127.0.0.1:$DPORT on-failure accept" "filter garbage inet:127.0.0.1:$GPORT" "local-filter one" \
  "relay-from 127.0.0.1" "deliver maildir $T/mail/%u" \
  "timeout filter-connect 3s" "timeout filter-command 3s" "timeout filter-data 3s"
check "conf-check takes the filter lines" conf-check -q -C "$CONF"
start_peer
ok $? "the scripted filter is ready"
start_listen
ok $? "smtp-listen ready"

# sess [RCPT...]: one transaction from a@client.example (default recipient
# root@test.example) with the message in $T/msg; prints each reply, code
# and text, one per line; a closed connection is "0 eof"
printf 'Subject: hello\r\nX-Remove: me\r\n\r\nbody line\r\n..dot line\r\n' > "$T/msg"
sess () {
  "$PY" -c "$PYLIB
import sys
rcpts = sys.argv[1:] or ['root@test.example']
out = []
def r(x):
  out.append(x[1].replace('\n', '|') if x[0] else '000 eof')
  return x[0]
c = Conn(int('${SPORT:-$PORT}'), timeout=20)
cmd = c.cmd
def safe(b):
  try:
    return cmd(b)
  except OSError:
    return (0, '')
c.cmd = safe
try:
  if r(c.reply()) == 220:
    r(c.cmd(b'EHLO client.example'))
    if r(c.cmd(b'MAIL FROM:<a@client.example> BODY=8BITMIME')) == 250:
      n = sum(r(c.cmd(b'RCPT TO:<%s>' % x.encode())) == 250 for x in rcpts)
      if n and r(c.cmd(b'DATA')) == 354:
        c.send(open('$T/msg', 'rb').read() + b'.\r\n')
        r(c.reply())
  elif r(c.cmd(b'EHLO client.example')) == 0:
    raise EOFError
  r(c.cmd(b'QUIT'))
except (OSError, EOFError):
  pass
print('\n'.join(out))
" "$@"
}
codes () { cut -c1-3 | tr '\n' ' ' | sed 's/ $//' ; }
# the newest queue entry
newest () { ls -t $(queued_files) 2>/dev/null | head -n 1 ; }
clean_spool () { find "$SPOOL/queue" -type f -delete ; }

# after a refusal or a failure: nothing committed since $1 entries, nothing half written
spool_clean () { [ "$(count_entries)" = "$1" ] && [ "$(count_tmp)" = 0 ] ; }

# 1. a clean pass, and a header added at the end of message
echo "eom addheader X-Filtered yes" > "$SCRIPT"
out=$(sess "$U@test.example")
is "$(echo "$out" | codes)" "220 250 250 250 354 250 221" "a clean pass: the message is queued"
f=$(newest)
check "the queued message starts with our Received field" sh -c "sed '1,/^\$/d' '$f' | head -n 1 | grep -q '^Received: from client.example'"
check "the filter's header is in the queued message, after the client's" sh -c "sed '1,/^\$/d' '$f' | sed -n '/^\$/q;p' | tail -n 1 | grep -qx 'X-Filtered: yes'"
printf 'body line\n.dot line\n' > "$T/want"
check "the body is the client's, unstuffed" sh -c "sed '1,/^\$/d' '$f' | sed '1,/^\$/d' | cmp -s - '$T/want'"
check "the filter saw the client's header fields, not our Received" sh -c "grep -qx 'header Subject: hello' '$MLOG' && ! grep -q '^header Received' '$MLOG'"
check "the filter saw MAIL with its ESMTP parameters and each RCPT" sh -c "grep -qx 'mail <a@client.example> BODY=8BITMIME' '$MLOG' && grep -qx 'rcpt <$U@test.example> ' '$MLOG'"
sid=$(sed -n 's/^\([0-9a-f]*\) accepted id=.*/\1/p' "$T/smtp.log" | tail -n 1)
for m in "connect j=mx.test.example" "connect {daemon_name}=ketch" "connect {client_addr}=127.0.0.1" "connect {daemon_addr}=127.0.0.1" \
         "mail i=$sid" "mail {mail_addr}=a@client.example" "rcpt {rcpt_addr}=$U@test.example" "rcpt {rcpt_mailer}=local" ; do
  check "macro $m" grep -qxF "macro $m" "$MLOG"
done
check "the accepted line ties the session id (the i macro) to the queue id" grep -q "^$sid accepted id=$(basename "$f") " "$T/smtp.log"
check "the log says which filter added which header" grep -q "^$sid filter name=one action=add-header header=\"X-Filtered\"" "$T/smtp.log"

# 2. a refusal at each stage, with the filter's own reply
clean_spool
stage () {
  echo "$1" > "$SCRIPT"
  out=$(sess "$U@test.example")
  is "$(echo "$out" | codes)" "$2" "$3: $2"
  check "$3: the filter's reply, code and enhanced code as given" sh -c "echo '$out' | grep -qx '$4'"
  check "$3: nothing queued, nothing half written" spool_clean 0
}
stage "connect reject 554 5.7.1 go away" "554 503 221" "reject at connect (554, then 503 until QUIT)" "554 5.7.1 go away"
stage "connect tempfail 421 4.7.0 come back later" "421 000" "tempfail at connect (421, the end)" "421 4.7.0 come back later"
stage "helo reject 550 5.7.1 bad helo" "220 550 503 221" "reject at HELO" "550 5.7.1 bad helo"
check "after a refusal at HELO, a second EHLO is refused too" sh -c "'$PY' -c \"$PYLIB
c = Conn($PORT); c.reply(); c.cmd(b'EHLO a.example'); print(c.code(b'EHLO b.example'))\" | grep -qx 503"
stage "mail reject 553 5.7.1 sender refused" "220 250 553 221" "reject at MAIL" "553 5.7.1 sender refused"
stage "data reject 554 5.7.1 no data today" "220 250 250 250 554 221" "reject at DATA" "554 5.7.1 no data today"
stage "header:X-Remove reject 550 5.7.1 bad header" "220 250 250 250 354 550 221" "reject at a header" "550 5.7.1 bad header"
stage "eoh tempfail 452 4.3.1 busy" "220 250 250 250 354 452 221" "tempfail at the end of the header" "452 4.3.1 busy"
stage "body reject 550 5.7.1 bad body" "220 250 250 250 354 550 221" "reject in the body" "550 5.7.1 bad body"
stage "eom reject 550 5.7.1 spam detected" "220 250 250 250 354 550 221" "reject at the end of message" "550 5.7.1 spam detected"
stage "eom reject" "220 250 250 250 354 550 221" "reject without a reply: ours" "550 5.7.1 Command rejected"
stage "eom tempfail" "220 250 250 250 354 451 221" "tempfail without a reply: ours" "451 4.7.1 Service unavailable - try again later"
stage "eom discard" "220 250 250 250 354 250 221" "discard: 250, and nothing is queued" "250 2.0.0 Ok"
check "the discard is logged" grep -q "filter name=one stage=eom action=discard" "$T/smtp.log"

# one recipient refused, the others kept
echo "rcpt:bad reject 550 5.1.1 no such user here" > "$SCRIPT"
out=$(sess "$U@test.example" bad@remote.example)
is "$(echo "$out" | codes)" "220 250 250 250 550 354 250 221" "reject at RCPT refuses that recipient only"
f=$(newest)
check "the message is queued for the other recipient only" sh -c "grep -qx 'to $U@test.example' '$f' && ! grep -q '^to bad' '$f'"

# 3. the changes a filter makes at the end of message
clean_spool
# hdrs FILE: the header section's field names and values, one field per line
hdrs () { sed '1,/^$/d' "$1" | sed -n '/^$/q;p' ; }
printf '%s\n' "eom insheader 0 X-First one" "eom chgheader Subject 1 changed" "eom chgheader X-Remove 1" > "$SCRIPT"
out=$(sess "$U@test.example")
f=$(newest)
is "$(hdrs "$f" | grep -v '^[[:space:]]' | cut -d: -f1 | tr '\n' ' ')" "Received X-First Subject " \
  "insert at 0 lands below our Received field; change and delete by index"
check "the changed field has the new value" grep -qx 'Subject: changed' "$f"
check "the log says which header was inserted, changed, deleted" sh -c "grep -q 'action=insert-header header=\"X-First\"' '$T/smtp.log' && grep -q 'action=change-header header=\"Subject\"' '$T/smtp.log' && grep -q 'action=delete-header header=\"X-Remove\"' '$T/smtp.log'"

printf '%s\n' 'eom replbody new body\nsecond line\n' > "$SCRIPT"
out=$(sess "$U@test.example")
f=$(newest)
printf 'new body\nsecond line\n' > "$T/want"
check "the body is replaced" sh -c "sed '1,/^\$/d' '$f' | sed '1,/^\$/d' | cmp -s - '$T/want'"

printf '%s\n' "eom addrcpt <extra@test.example>" "eom delrcpt <$U@test.example>" "eom chgfrom <new@client.example>" > "$SCRIPT"
out=$(sess "$U@test.example")
f=$(newest)
is "$(sed -n '/^$/q;/^\(from\|to\) /p' "$f" | tr '\n' ' ')" "from new@client.example to extra@test.example " \
  "a recipient added, one deleted, the sender changed"

# an address that does not parse: the filter broke the protocol, on-failure tempfail
n=$(count_entries)
echo "eom addrcpt <not an address>" > "$SCRIPT"
out=$(sess "$U@test.example")
is "$(echo "$out" | codes)" "220 250 250 250 354 451 221" "a bad address from a filter: 451"
check "the failure is logged, error=protocol" grep -q "event=filter-failure name=one stage=eom error=protocol" "$T/smtp.log"
check "nothing queued, nothing half written" spool_clean "$n"

# 4. filters that fail: each is logged and then on-failure decides
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

# 5. two filters in order: the second sees what the first changed
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

# 6. RSET and the session's end: the filter is told
cat "$MLOG" >> "$T/milter.all" ; : > "$MLOG"
py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO client.example')
c.cmd(b'MAIL FROM:<a@client.example>'); c.cmd(b'RSET'); c.cmd(b'QUIT')
" >/dev/null
check "RSET aborts the filter's message, QUIT closes its connection" wait_for 5 sh -c "grep -qx abort '$MLOG' && grep -qx close '$MLOG'"

# 7. local-filter: mail from sendmail(8) goes through the filters
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

# 8. quarantine: held in the queue until released, then delivered
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
check "every macro a filter got was one we sent whole (no stale pointer)" sh -c "! grep -h 'not UTF-8' '$MLOG' '$T/milter.all' '$T/milter2.log'"
done_testing
