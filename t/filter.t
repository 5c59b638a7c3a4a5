#!/bin/sh
# ISC license: see LICENSE.
# Filters (milter, issue 19) on an SMTP listener, against a scripted
# libmilter peer (t/milterpeer.py, set up by t/filter-lib.sh): the stages
# and macros a filter is told, its verdict at each stage with its own
# reply, the changes it makes to the message and the envelope, and
# nothing half written in the spool. Failures: t/filter-fail.t.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 73
. "$(dirname "$0")/filter-lib.sh"

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
# under TLS the filter gets the version and the cipher at HELO and MAIL (rspamd reads {tls_version})
"$PY" -c "$PYLIB
c = Conn($PORT); c.reply(); c.cmd(b'EHLO client.example'); c.cmd(b'STARTTLS'); c.wrap()
c.cmd(b'EHLO client.example'); c.cmd(b'MAIL FROM:<a@client.example>'); c.cmd(b'QUIT')
" >/dev/null 2>&1
check "macro {tls_version} and {cipher} under TLS" sh -c "grep -q '^macro mail {tls_version}=TLSv1\.[0-9]\$' '$MLOG' && grep -q '^macro helo {cipher}=.' '$MLOG'"
# after AUTH the filter gets the user (OpenDKIM signs for {auth_authen})
"$PY" -c "$PYLIB
import base64
c = Conn($PORT); c.reply(); c.cmd(b'EHLO client.example')
c.cmd(b'AUTH PLAIN ' + base64.b64encode(b'\\0alice\\0correct horse'))
c.cmd(b'MAIL FROM:<a@client.example>'); c.cmd(b'QUIT')
" >/dev/null 2>&1
check "macro {auth_authen} after AUTH" grep -qxF "macro mail {auth_authen}=alice" "$MLOG"
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
stage "mail tempfail 421 4.7.0 shutting down" "220 250 421 000" "a 421 at MAIL closes the connection" "421 4.7.0 shutting down"
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

check "every macro a filter got was one we sent whole (no stale pointer)" sh -c "! cat '$MLOG' '$T/milter.all' '$T/milter2.log' 2>/dev/null | grep -q 'not UTF-8'"
done_testing
