#!/bin/sh
# sendmail: -t (To/Cc/Bcc, groups, display names, folding, Resent-*),
# -i/-oi and the lone dot, -f/-F, added Date/Message-ID/From,
# unqualified recipients, -bp/mailq, -q, -bs, ignored flags, refusals,
# the Received field, lines over 998 octets,
# and a sendmail killed halfway leaves nothing. No daemon runs here:
# mail waits in the spool.
. "$(dirname "$0")/lib.sh"

plan 67
mkinstance
me=$(id -un)
clear () { rm -f "$SPOOL"/queue/*/* ; }
entry () { find "$SPOOL/queue" -type f | head -n 1 ; }
# the envelope recipients, space-separated
rcpts () { sed -n '/^$/q;s/^to //p' "$(entry)" | tr '\n' ' ' | sed 's/ $//' ; }
sender () { sed -n 's/^from //p' "$(entry)" | head -n 1 ; }
# the stored message (after the envelope)
body () { sed '1,/^$/d' "$(entry)" ; }
sm () { sendmail -C "$CONF" "$@" ; }

# -t with every form of address list
clear
printf '%s\n' 'To: Bob Smith <bob@x.example>, "Doe, Jane" <jane@y.example>' \
  'Cc: team: a@z.example, (comment) b@z.example;,' '  carol@w.example (Carol' '  Folded)' \
  'Bcc: secret@s.example' 'Subject: t' '' 'hello' | sm -t
is "$?" 0 "-t: exit 0"
is "$(rcpts)" "bob@x.example jane@y.example a@z.example b@z.example carol@w.example secret@s.example" "-t: recipients from To, Cc (group, comments, folding) and Bcc"
check "-t: Bcc removed" sh -c "! grep -qi '^bcc:' '$(entry)'"
check "-t: To kept" grep -q '^To: Bob Smith <bob@x.example>' "$(entry)"
check "-t: folded Cc kept whole" grep -q '^  Folded)$' "$(entry)"

clear
printf 'To: a@x.example\nResent-To: r@x.example\nResent-Bcc: rb@x.example\n\nbody\n' | sm -t
is "$(rcpts)" "r@x.example rb@x.example" "-t: Resent-To/Resent-Bcc win over To"
check "-t: Resent-Bcc removed" sh -c "! grep -qi '^resent-bcc:' '$(entry)'"

clear
printf 'To: a@x.example\n\nbody\n' | sm -t extra@y.example
is "$(rcpts)" "extra@y.example a@x.example" "-t: command-line recipients are added"

clear
printf 'To: undisclosed-recipients:;\n\nbody\n' | sm -t 2>/dev/null
is "$?:$(count_entries)" "100:0" "-t: no recipient at all: 100, nothing queued"

clear
printf 'To: <broken@\n\nbody\n' | sm -t 2>"$T/err"
is "$?" 100 "-t: a broken address: 100"
check "-t: the diagnostic names the field" grep -q "invalid address in the To field" "$T/err"

# words side by side are no address (RFC 5322 §3.4): refused, never joined into another mailbox or domain
for h in 'To: bob smith@example.com' 'To: info@example.com x' 'Cc: a@x.example, Bob <info@example.com x>' ; do
  clear
  printf '%s\nSubject: s\n\nbody\n' "$h" | sm -t 2>"$T/err"
  is "$?:$(count_entries)" "100:0" "-t: '$h': 100, nothing queued"
  check "-t: '$h': sendmail: fatal: invalid address" grep -q "^sendmail: fatal: invalid address in the ${h%%:*} field" "$T/err"
done

clear
printf 'To: a@x.example, b@x.example\nCc: a@X.EXAMPLE\n\nbody\n' | sm -t a@x.example
is "$(rcpts)" "a@x.example b@x.example" "-t: each recipient once"

# unqualified recipients
clear
printf 'To: localuser\n\nbody\n' | sm -t other
is "$(rcpts)" "other@mx.test.example localuser@mx.test.example" "bare local recipients get @hostname"

# the lone dot
clear
printf 'Subject: d\n\nline1\n.\nline2\n' | sm r@x.example
is "$(body | tail -n 1)" "line1" "without -i a lone dot ends the message"
clear
printf 'Subject: d\n\nline1\n.\n..two\n.x\nline2\n' | sm -i r@x.example
is "$(body | tail -n 4 | tr '\n' '|')" ".|..two|.x|line2|" "-i: dots are data, kept exactly"
clear
printf 'Subject: d\n\nline1\n.\nline2\n' | sm -oi r@x.example
is "$(body | tail -n 1)" "line2" "-oi is -i"
clear
printf 'Subject: d\r\n\r\nline1\r\nline2\r\n' | sm r@x.example
check "CRLF input is stored with LF" sh -c "! grep -q \"\$(printf '\r')\" '$(entry)'"

# added header fields
clear
printf 'Subject: bare\n\nbody\n' | sm r@x.example
check "Date added" grep -Eq '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$' "$(entry)"
check "Message-ID added" grep -Eq '^Message-ID: <[0-9a-f]{24}\.[0-9a-f]{8}@mx\.test\.example>$' "$(entry)"
check "From added: the invoking user" grep -Eq "^From: (\".*\" <$me@mx.test.example>|$me@mx.test.example)\$" "$(entry)"
is "$(sender)" "$me@mx.test.example" "envelope sender: the invoking user"
is "$(body | sed -n '/^$/,$p' | sed -n 2p)" "body" "header, then an empty line, then the body"
# RFC 5322 3.6.7, RFC 5321 4.4: a trace field first, naming the queue id
qid=$(basename "$(entry)")
is "$(body | head -n 2 | tr '\t' ' ' | tr '\n' '|' | sed 's/; .*//')" "Received: by mx.test.example (ketch, from userid $(id -u))| id $qid" "Received added first: host, uid, queue id"
body | sed -n 2p > "$T/rcvd"
check "... and a date" grep -Eq '; [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [-+][0-9]{4}$' "$T/rcvd"

clear
printf 'Subject: f\n\nbody\n' | sm -f bounce@lists.example -F 'Mailing "List"' r@x.example
is "$(sender)" "bounce@lists.example" "-f sets the envelope sender"
is "$(grep '^From:' "$(entry)")" 'From: "Mailing \"List\"" <bounce@lists.example>' "-f and -F make the From field"
clear
printf 'Subject: f\n\nbody\n' | sm -fjoe r@x.example
is "$(sender)" "joe@mx.test.example" "-f attached, unqualified: qualified"
clear
printf 'Subject: f\n\nbody\n' | sm -f '<>' r@x.example
is "$(sender)" "" "-f <>: the null sender"

clear
printf 'From: me@x.example\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nbody\n' | sm -F Ignored r@x.example
is "$(grep -c -e '^From:' -e '^Date:' -e '^Message-ID:' "$(entry)")" 3 "present From, Date, Message-ID are kept, not added again"

clear
printf 'no header here\nsecond line\n' | sm r@x.example
is "$(body | sed -n '/^$/,$p' | sed -n 2p)" "no header here" "a message without header: the added fields, then an empty line"

clear
printf 'From mbox@sep Mon Jan  1 00:00:00 2024\nSubject: m\n\nbody\n' | sm r@x.example
check "an mbox From_ line is dropped" sh -c "! grep -q '^From mbox' '$(entry)'"

# flags that mean nothing here are accepted
clear
printf 'Subject: f\n\nbody\n' | sm -oem -oee -odi -odb -om -v -U -Ox=y -O x=y -N never -R hdrs -V envid -B 8BITMIME -Am -ti r@x.example 2>"$T/v"
is "$?" 0 "the usual ignored flags are accepted"
check "-v says the queue id" grep -Eq '^sendmail: info: [0-9a-f]{24} queued' "$T/v"
sm -X 2>/dev/null </dev/null
is "$?" 100 "-X without a value: usage, 100"
sm -bd </dev/null 2>/dev/null
is "$?" 100 "-bd: refused, 100"

# invalid input
clear
printf 'Subject: x\n\nbody\n' | sm 'bad address@' 2>/dev/null
is "$?:$(count_entries)" "100:0" "an invalid recipient: 100, nothing queued"
clear
printf 'Subject: x\n\nbody\n' | sm 2>/dev/null
is "$?" 100 "no recipient: 100"

# lines over 998 octets (RFC 5322 2.1.1): accepted and broken so that the
# message stays valid on the wire, as Postfix does; the whole input is read
long=$(head -c 2500 /dev/zero | tr '\0' a)
clear
python3 -c '
import sys
sys.stdout.write("Subject: long\n\n" + "b" * 300000 + "\nafter\n")' 2>"$T/werr" | sm r@x.example 2>"$T/err"
is "$?:$(count_entries)" "0:1" "a body line of 300000 octets: accepted, queued"
is "$(cat "$T/err" "$T/werr")" "" "... nothing on stderr (no Broken pipe from the writer or enqueue)"
is "$(body | awk 'length > 998' | wc -l | tr -d ' ')" 0 "... every stored line at most 998 octets"
is "$(body | sed '1,/^$/d' | sed -n '/^b/,/^after$/p' | sed '$d' | sed 's/^ //' | tr -d '\n' | wc -c | tr -d ' ')" 300000 "... the continuations, their leading space removed, give the line back"
is "$(body | sed '1,/^$/d' | grep -c '^ b')" 300 "... each of the 300 continuations starts with a space"
clear
{ printf 'Subject: one two\n\n' ; printf '%s\r\n' "$long" ; printf 'end\n' ; } | sm r@x.example
is "$(body | sed '1,/^$/d' | tr '\n' '|' | tr -s a)" "a| a| a|end|" "a CRLF line of 2500 octets: three lines, CRs gone"
clear
words=$(python3 -c 'print(" ".join("w%d" % i for i in range(600)))')
printf 'Subject: %s\nX-Blob: %s\n\nbody\n' "$words" "$long" | sm r@x.example
is "$?" 0 "header lines of 3000 and 2500 octets: accepted"
is "$(body | awk 'length > 998' | wc -l | tr -d ' ')" 0 "... every stored line at most 998 octets"
is "$(body | sed -n '/^Subject:/,/^[^ \t]/p' | sed '$d' | tr -d '\n')" "Subject: $words" "... the Subject folded at its blanks: unfolded, it is the same"
is "$(body | sed -n '/^X-Blob:/,/^[^ \t]/p' | sed '$d' | tr -d '\n' | tr -d ' ')" "X-Blob:$long" "... a field without blanks is broken with a space inserted"
clear
sed '$a limit message-size 10K' "$CONF" > "$T/small.conf"
{ head -c 6000000 /dev/zero | tr '\0' x | fold -w 70 ; echo "$?" > "$T/wst" ; } | sendmail -C "$T/small.conf" r@x.example 2>"$T/err"
is "$?:$(count_entries)" "100:0" "a message over the size limit: 100, nothing queued"
is "$(cat "$T/wst"):$(cat "$T/err")" "0:enqueue: fatal: message too big" "... only enqueue's words, and the input read to its end: the writer is not killed by SIGPIPE"

# -bp, mailq, -q
clear
printf 'Subject: q\n\nbody\n' | sm r@x.example
sm -bp > "$T/bp"
check "-bp lists the queue (queue-ls)" grep -q '<r@x.example>' "$T/bp"
"$BIN/mailq" -C "$CONF" > "$T/mq"
check "build/bin/mailq (make all) shows the queue" grep -q '1 message, 1 recipient' "$T/mq"
is "$(readlink "$BIN/mailq")" sendmail "build/bin/mailq is a link to sendmail"
sm -q 2>/dev/null
is "$(cat "$SPOOL"/ctl/* 2>/dev/null)" "retry all" "-q: queue-ctl retry all"
# installed without an alias compiler, PROGRAMS/newaliases is a link to
# sendmail (make install): invoked as newaliases it must not exec itself
mkdir "$T/na-bin" && ln -s "$BIN/sendmail" "$T/na-bin/newaliases"
sed "s#^programs .*#programs $T/na-bin#" "$CONF" > "$T/na.conf"
timeout 10 "$T/na-bin/newaliases" -C "$T/na.conf" 2>"$T/na"
is "$?:$(grep -c 'no alias compiler' "$T/na")" "111:1" "newaliases without an alias compiler: 111, no loop"

# -bs: SMTP on stdin/stdout through smtp-session
if [ -x "$BIN/smtp-session" ] ; then
  clear
  swaks --pipe "$BIN/sendmail -C $CONF -bs" --from a@x.example --to bs@y.example >"$T/swaks" 2>&1
  ok $? "-bs: an SMTP session with swaks" "$(cat "$T/swaks")"
  is "$(rcpts)" "bs@y.example" "-bs: the message is queued"
  swaks --pipe "sh -c 'exec $BIN/sendmail -C $CONF -bs 2>$T/bserr'" --from a@x.example --to bs@y.example >/dev/null 2>&1
  is "$(cat "$T/bserr")" "" "-bs: the session's log lines stay off the caller's stderr"
else
  sm -bs </dev/null 2>"$T/bs"
  is "$?" 111 "-bs without smtp-session: 111"
  check "-bs: the diagnostic names the program" grep -q "exec .*smtp-session" "$T/bs"
fi

# -bs: the UCSPI environment, checked with a stand-in smtp-session
mkdir "$T/fake"
for f in "$BIN"/* ; do ln -s "$f" "$T/fake/" ; done
rm -f "$T/fake/smtp-session"
printf '#!/bin/sh\necho "args=$*"\nenv | grep -E "^(PROTO|TCP|RELAYCLIENT)" | sort\n' > "$T/fake/smtp-session"
chmod 755 "$T/fake/smtp-session"
sed "s#^programs .*#programs $T/fake#" "$CONF" > "$T/fake.conf"
TCPREMOTEINFO=spoofed RELAYCLIENT= TCPREMOTEHOST=spoofed sendmail -C "$T/fake.conf" -bs </dev/null > "$T/bsenv"
is "$(tr '\n' ' ' < "$T/bsenv")" "args=-C $T/fake.conf -L $me PROTO=TCP TCPLOCALHOST=mx.test.example TCPLOCALIP=127.0.0.1 TCPLOCALPORT=0 TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=0 " "-bs: smtp-session -C conf -L user, a loopback UCSPI environment without the caller's TCPREMOTEINFO or RELAYCLIENT"

# killed halfway: enqueue sees no final dot and keeps nothing
clear
mkfifo "$T/in"
sendmail -C "$CONF" r@x.example < "$T/in" &
smpid=$!
exec 7>"$T/in"
printf 'Subject: half\n\npartial line\n' >&7
sleep 0.3
kill -9 $smpid 2>/dev/null
wait $smpid 2>/dev/null
exec 7>&-
wait_for 5 sh -c "[ -z \"\$(ls '$SPOOL/tmp')\" ]"
is "$(find "$SPOOL/queue" "$SPOOL/tmp" -type f | wc -l | tr -d ' ')" 0 "sendmail killed halfway: nothing queued, nothing left in tmp"

# with no daemon at all, the mail waits in the spool and sendmail does not block
clear
printf 'Subject: w\n\nbody\n' | timeout 10 sendmail -C "$CONF" r@x.example
is "$?:$(count_entries)" "0:1" "daemons down: accepted, waiting in the spool"

# KETCH_CONF is honoured
clear
printf 'Subject: e\n\nbody\n' | KETCH_CONF=$CONF sendmail envtest@x.example
is "$(rcpts)" "envtest@x.example" "\$KETCH_CONF names the configuration"
done_testing
