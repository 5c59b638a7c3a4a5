#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen + smtp-session: the protocol, the hand-off to enqueue, the
# spool file on disk, logs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 26

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "limit recipients 3" "limit message-size 100k"
start_listen
ok $? "smtp-listen signals readiness"

out=$(swaks -s 127.0.0.1:$PORT -h client.example -f sender@client.example -t root@test.example --body 'hello world' 2>&1)
echo "$out" | grep -q '^<-  250 2.0.0 Ok: queued as [0-9a-f]\{24\}$' ; ok $? "swaks: message accepted with its queue id" "$out"
id=$(echo "$out" | sed -n 's/^<-  250 2.0.0 Ok: queued as \([0-9a-f]*\)$/\1/p')
f=$(entry_path "$id")
check "the queue file exists: queue/XX/ID" test -f "$f"
check "envelope sender and recipient" sh -c "grep -qx 'from sender@client.example' '$f' && grep -qx 'to root@test.example' '$f'"
check "Received header names HELO, IP, protocol and id" grep -q "^Received: from client.example (\[127.0.0.1\])" "$f"
check "Received header: with ESMTP id" grep -q "by mx.test.example (ketch) with ESMTP id $id" "$f"
check "Received header: for <rcpt> with one recipient" grep -q "for <root@test.example>;" "$f"
check "body stored with LF line ends" sh -c "grep -qx 'hello world' '$f' && ! grep -q \"\$(printf '\\r')\" '$f'"
check "log: connect line with session id first" grep -q '^[0-9a-f]\{24\} connect ip=127.0.0.1 port=' "$T/smtp.log"
check "log: accepted line with the queue id" grep -q "accepted id=$id size=" "$T/smtp.log"

got=$(py "
c = Conn($PORT); c.reply()
code, text = c.cmd(b'EHLO client.example')
print(code, ' '.join(sorted(l[4:].split(' ')[0] for l in text.split('\n')[1:])))
")
is "$got" "250 8BITMIME ENHANCEDSTATUSCODES PIPELINING SIZE SMTPUTF8" "EHLO keywords (no STARTTLS, no AUTH without configuration)"

got=$(py "
c = Conn($PORT); c.reply()
print(codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA', b'HELO', b'HELO x.example',
  b'RCPT TO:<root@test.example>', b'DATA', b'FOO bar', b'VRFY root', b'HELP', b'NOOP', b'RSET', b'EXPN root', b'RSET x']))
")
is "$got" "503 503 503 501 250 503 503 500 252 214 250 250 502 501" "state errors 503, syntax errors 500/501, VRFY 252, HELP 214"

got=$(py "
c = Conn($PORT); c.reply()
print(codes(c, [b'EHLO x.example', b'MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME SMTPUTF8 AUTH=<>', b'RSET',
  b'MAIL FROM:<a@b.example> FOO=bar', b'MAIL FROM:<a@b.example> BODY=9BIT', b'MAIL FROM:<a@b.example> SIZE=999999999',
  b'MAIL FROM:<>', b'MAIL FROM:<x@y.example>', b'RSET', b'MAIL FROM:a@b.example', b'MAIL FROM:<a@b@c>']))
")
is "$got" "250 250 250 555 501 552 250 503 250 501 553" "MAIL parameters: SIZE BODY SMTPUTF8 AUTH accepted; unknown 555; SIZE over limit 552"

got=$(py "
c = Conn($PORT); c.reply()
print(codes(c, [b'EHLO x.example', b'MAIL FROM:<a@b.example>'] + [b'RCPT TO:<root@test.example>'] * 4 + [b'RCPT TO:<root@test.example> NOTIFY=NEVER']))
")
is "$got" "250 250 250 250 250 452 555" "recipients beyond limit recipients get 452; RCPT parameters 555"

# PIPELINING (RFC 2920): one write, replies in order
got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
c.send(b'MAIL FROM:<p@client.example>\r\nRCPT TO:<root@test.example>\r\nRCPT TO:<nosuch@test.example>\r\nRCPT TO:<postmaster@test.example>\r\nDATA\r\n')
print(' '.join(str(c.reply()[0]) for i in range(5)))
c.send(b'Subject: pipelined\r\n\r\n..dot line\r\n.\r\nQUIT\r\n')
print(c.reply()[0], c.reply()[0])
")
is "$got" "250 250 550 250 354
250 221" "pipelined transaction: replies in order, DATA then QUIT in one write"
f=$(grep -l 'Subject: pipelined' $(queued_files) 2>/dev/null | head -1)
check "pipelined message queued for two recipients, Received without 'for'" sh -c "[ \$(grep -c '^to ' '$f') = 2 ] && ! grep -q 'for <' '$f'"
check "dot-stuffing removed in the spool" grep -qx '.dot line' "$f"

# shell metacharacters are data (relay allowed from a second instance is not needed: local users only)
got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
print(codes(c, [b'MAIL FROM:<\"\$(touch pwned);\`touch pwned2\`\"@client.example>', b'RCPT TO:<root+\$HOME|id&x{y}\`id\`@test.example>', b'DATA']))
c.send(b'Subject: meta\r\n\r\n\$(touch pwned3)\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "250 250 354
250" "addresses with shell metacharacters accepted as data"
f=$(grep -l 'Subject: meta' $(queued_files) 2>/dev/null | head -1)
check "metacharacter addresses stored verbatim, nothing executed" sh -c "grep -qF 'from \"\$(touch pwned);\`touch pwned2\`\"@client.example' '$f' && grep -qF 'to root+\$HOME|id&x{y}\`id\`@test.example' '$f' && ! [ -e $T/pwned ] && ! [ -e $T/pwned2 ] && ! [ -e $T/pwned3 ]"

# python smtplib as a second real client
got=$("$PY" -c "
import smtplib
s = smtplib.SMTP('127.0.0.1', $PORT, timeout=10)
r = s.sendmail('py@client.example', ['postmaster@test.example'], b'Subject: smtplib\r\n\r\nbody\r\n')
print(len(r)); s.quit()
")
is "$got" "0" "python smtplib sends a message"

# enqueue's exit code decides the reply: a fake enqueue in its own programs directory
mkdir -p "$T/fake"
ln -s "$BIN/smtp-session" "$T/fake/smtp-session"
cat > "$T/fake/enqueue" <<'EOS'
#!/bin/sh
echo 0123456789abcdef01234567
cat >/dev/null
exit $(cat "$(dirname "$0")/code")
EOS
chmod 755 "$T/fake/enqueue"
sed "s|^programs .*|programs $T/fake|" "$CONF" > "$T/fake.conf"
echo 111 > "$T/fake/code"
try_fake () {
  KETCH_CONF=$T/fake.conf py "
import subprocess
c = Conn($PORT); c.reply()
" >/dev/null
  "$PY" -c "
import subprocess, sys
sys.path.insert(0, '$top/t')
p = subprocess.Popen(['$BIN/smtp-session', '-C', '$T/fake.conf'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out, _ = p.communicate(b'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<root@test.example>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n', timeout=20)
print(' '.join(l[:3].decode() for l in out.split(b'\r\n') if l[:3].isdigit() and l[3:4] == b' '))
"
}
is "$(try_fake)" "220 250 250 250 354 451 221" "enqueue exit 111 gives 451 4.3.0 (never 5xx)"
echo 100 > "$T/fake/code"
is "$(try_fake)" "220 250 250 250 354 554 221" "enqueue exit 100 gives 554 5.6.0"
echo 0 > "$T/fake/code"
is "$(try_fake)" "220 250 250 250 354 250 221" "enqueue exit 0 gives 250 (also without UCSPI variables)"

# a parent that ignores SIGCHLD (swaks --pipe, sendmail -bs) must not hide enqueue's status
got=$("$PY" -c "
import subprocess, signal
p = subprocess.Popen(['$BIN/smtp-session', '-C', '$CONF'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
  preexec_fn=lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN))
out, _ = p.communicate(b'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<root@test.example>\r\nDATA\r\nSubject: sigchld\r\n\r\nhi\r\n.\r\nQUIT\r\n', timeout=20)
print(' '.join(l[:3].decode() for l in out.split(b'\r\n') if l[:3].isdigit() and l[3:4] == b' '))
")
is "$got" "220 250 250 250 354 250 221" "SIGCHLD ignored by the parent: enqueue's exit status is still seen (250, not 451)"

echo "this is not a directive" > "$T/bad.conf"
got=$(printf 'EHLO x\r\n' | smtp-session -C "$T/bad.conf" 2>/dev/null ; echo " rc=$?")
is "$(echo "$got" | tr -d '\r')" "421 4.3.0 Service temporarily unavailable
 rc=111" "an unusable configuration: 421 to the client, exit 111"

stop_listen
check "smtp-listen exits on SIGTERM" sh -c "! kill -0 $LPID 2>/dev/null"
done_testing
