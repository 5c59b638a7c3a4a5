#!/bin/sh
# ISC license: see LICENSE.
# The message path through smtp-session: 8BITMIME, SMTPUTF8, a large
# message byte for byte, many recipients, HELO vs EHLO in Received, IPv6,
# a message in many small writes ACKed at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 12

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "listen ::1 port $PORT" "relay-from 127.0.0.1 ::1" "limit message-size 4m" "limit recipients 150"
start_listen
ok $? "smtp-listen ready"

# msg SUBJECT: the queue file of the message with this subject
msg () { grep -l "^Subject: $1\$" $(queued_files) 2>/dev/null | head -n 1 ; }

got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
print(codes(c, [b'MAIL FROM:<a@b.example> BODY=8BITMIME', b'RCPT TO:<root@test.example>', b'DATA']))
c.send(b'Subject: eight\r\n\r\ncaf\xc3\xa9\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "250 250 354
250" "8BITMIME message accepted"
check "8-bit body recorded in the envelope and kept" sh -c "f=\$(grep -l '^Subject: eight' \$(find '$SPOOL/queue' -type f)); grep -qx 'body 8bit' \"\$f\" && grep -q 'caf' \"\$f\""

got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
print(c.code('MAIL FROM:<j\u00f6rg@b.example>'.encode()), c.code(b'RSET'))
print(codes(c, ['MAIL FROM:<j\u00f6rg@b.example> SMTPUTF8'.encode(), 'RCPT TO:<r\u00e9mi@d\u00e9j\u00e0.example>'.encode(), b'DATA']))
c.send(b'Subject: utf8\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "553 250
250 250 354
250" "UTF-8 addresses need SMTPUTF8 (553 5.6.7 without)"
f=$(msg utf8)
check "SMTPUTF8 recorded in the envelope" grep -qx 'smtputf8' "$f"

# a 3 MB message, byte for byte (CRLF stored as LF, dot-stuffing undone)
got=$(py "
import hashlib, random
random.seed(7)
lines = []
for i in range(40000):
  n = random.randint(0, 120)
  l = ''.join(random.choice('abcdefghij .') for _ in range(n)).encode()
  lines.append(l)
body = b'Subject: big\r\n\r\n' + b'\r\n'.join(b'.' + l if l.startswith(b'.') else l for l in lines) + b'\r\n'
want = b'Subject: big\n\n' + b'\n'.join(lines) + b'\n'
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
codes(c, [b'MAIL FROM:<a@b.example> SIZE=%d' % len(body), b'RCPT TO:<root@test.example>', b'DATA'])
c.send(body + b'.\r\n'); print(c.reply()[0])
open('$T/want', 'wb').write(want)
")
is "$got" "250" "a 3 MB message is accepted"
f=$(msg big)
check "the large message is stored byte for byte after the Received header" sh -c "sed '1,/^\$/d' '$f' | sed '1,/^\t[A-Z][a-z][a-z], [0-9]/d' | cmp -s - '$T/want'"

got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
c.cmd(b'MAIL FROM:<a@b.example>')
print(sum(1 for i in range(150) if c.code(b'RCPT TO:<user%d@remote.example>' % i) == 250), c.code(b'DATA'))
c.send(b'Subject: many\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "150 354
250" "150 recipients in one transaction"
f=$(msg many)
is "$(grep -c '^to ' "$f")" "150" "all 150 recipients in the envelope"

got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'HELO old.example')
print(codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA']))
c.send(b'Subject: helo\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
f=$(msg helo)
check "HELO: Received says with SMTP" sh -c "grep -q '^Received: from old.example (\[127.0.0.1\])\$' '$f' && grep -q 'by mx.test.example (ketch) with SMTP id' '$f'"

if "$PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ; then
  got=$(py "
c = Conn($PORT, host='::1'); c.reply(); c.cmd(b'EHLO v6.example')
print(codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<x@remote.example>', b'DATA']))
c.send(b'Subject: six\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
  f=$(msg six)
  check "IPv6 client: relay-from ::1 and Received from v6.example ([IPv6:::1])" grep -q '^Received: from v6.example (\[IPv6:::1\])$' "$f"
else
  skip 1 "no IPv6 on loopback"
fi
# A client with Nagle's algorithm on (Python's socket, as most) that
# writes the message in several writes holds each write until the one
# before is ACKed. The session ACKs what it read at once while the
# message is incomplete (lib/tcpack); without that, Linux's delayed ACK
# held every such message 40 ms or more. The quickest of five is far
# under 20 ms when the ACK is prompt, however loaded the machine.
got=$(py "print(in_pieces($PORT))")
is "$got" "250 prompt" "a message written in many small writes is not held by Nagle's algorithm waiting for a delayed ACK"

stop_listen
done_testing
