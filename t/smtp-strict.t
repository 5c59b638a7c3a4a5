#!/bin/sh
# ISC license: see LICENSE.
# Strict input: CRLF only, line lengths, NUL, SIZE during DATA, end-of-data
# smuggling, error limit, deadlines (RFC 5321 §2.3.8, §4.5.3.1, §4.5.3.2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 22

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "limit message-size 4k" "limit errors 5"
start_listen
ok $? "smtp-listen ready"

# an over-long command is refused whole: its tail is never run as a command
got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
c.send(b'NOOP ' + b'x' * 507 + b'QUIT\r\n'); print(c.reply()[0], c.code(b'NOOP'))
c.send(b'X' * 2000 + b'\r\n'); print(c.reply()[0], c.code(b'NOOP'), c.silent(0.3))
")
is "$got" "500 250
500 250 True" "command lines over 512 octets: one 500, never split"

got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
c.send(b'NOOP\nQUIT\r\n'); print(c.reply()[0], c.code(b'NOOP'))
c.send(b'NOOP\rQUIT\r\n'); print(c.reply()[0], c.code(b'NOOP'))
c.send(b'NO\x00OP\r\n'); print(c.reply()[0], c.code(b'NOOP'), c.silent(0.3))
")
is "$got" "500 250
500 250
500 250 True" "bare LF, bare CR and NUL in a command: refused, never a line end"

# End-of-data smuggling: sequences that are not CRLF.CRLF never end DATA.
# Each message carries a smuggled second transaction; the only reply after
# the real end must be the 550, and nothing may be queued.
n=0
for seq in '\n.\n' '\r.\r' '\n.\r\n' '\r\n.\n' '\r.\r\n' '\r\n.\r' '\n.\r' '\r\n.\r\r\n' '\r\n.\n\r\n' '.\n'; do
  n=$((n + 1))
  name=$(printf '%s' "$seq" | sed 's/\\r/CR/g; s/\\n/LF/g')
  got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
print(codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA']))
c.send(b'Subject: smuggle $n\r\n\r\nfirst' + b'$seq' + b'MAIL FROM:<evil@b.example>\r\nRCPT TO:<postmaster@test.example>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n')
r = c.reply(); print(r[0], r[1][4:10], c.silent(0.3), c.code(b'NOOP'))
")
  is "$got" "250 250 354
550 5.6.11 True 250" "end-of-data lookalike $name: no smuggled reply, refused with 550 5.6.11"
done
check "nothing queued by the smuggling attempts" test "$(count_entries)" = 0
check "no temporary file left behind" test "$(count_tmp)" = 0

got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA'])
c.send(b'Subject: long\r\n\r\n' + b'y' * 999 + b'\r\n.\r\n'); print(c.reply()[0], c.code(b'NOOP'))
codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA'])
c.send(b'Subject: nul\r\n\r\na\x00b\r\n.\r\n'); print(c.reply()[0], c.code(b'NOOP'))
codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA'])
c.send(b'Subject: big\r\n\r\n' + (b'z' * 70 + b'\r\n') * 200 + b'.\r\n'); print(c.reply()[0], c.code(b'NOOP'))
codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA'])
c.send(b'Subject: ok\r\n\r\n' + b'y' * 998 + b'\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "554 250
554 250
552 250
250" "text line over 1000 octets 554, NUL 554, SIZE during DATA 552 (read to the end, in sync); 998 octets ok"
check "only the good message was queued" test "$(count_entries)" = 1

got=$(py "
c = Conn($PORT); c.reply()
print(codes(c, [b'BAD1', b'BAD2', b'BAD3', b'BAD4', b'BAD5']), c.reply())
")
is "$got" "500 500 500 500 500 (421, '421 4.7.0 Too many errors, closing connection')" "limit errors: the fifth error ends the session with 421"

# deadlines: an idle client, a slow drip in a command, a slow drip in DATA
stop_listen
# the session's 8 s is far from the commands' 2 s, so that a 421 up to
# 3.5 s late (a loaded ASan run) still tells the command deadline from the
# session's: a deadline reset by each byte ends the 8 s drips at 8 s
printf 'timeout command 2s\ntimeout data 2s\ntimeout session 8s\n' >> "$CONF"
start_listen
got=$(py "
import time
c = Conn($PORT); c.reply(); t = time.time()
r = c.reply(); print(r[0], 1.5 < time.time() - t < 5.5)
c = Conn($PORT); c.reply(); t = time.time()
try:
  for i in range(40):
    c.send(b'N'); time.sleep(0.2)
except OSError: pass
print(c.reply()[0], time.time() - t < 5.5)
c = Conn($PORT); c.reply(); codes(c, [b'EHLO x', b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA']); t = time.time()
try:
  for i in range(40):
    c.send(b'abc\r\n'); time.sleep(0.2)
except OSError: pass
print(c.reply()[0], time.time() - t < 5.5)
")
is "$got" "421 True
421 True
421 True" "command and data deadlines are absolute: idle and slow-drip clients get 421"

got=$(py "
import time
c = Conn($PORT); c.reply(); t = time.time(); n = 0
try:
  for i in range(40):
    if c.code(b'NOOP') != 250: break
    n += 1; time.sleep(0.3)
except OSError: pass
print(6 < time.time() - t < 11, n < 40)
")
is "$got" "True True" "timeout session: a busy session still ends"
check "no message queued by the timed-out sessions" test "$(count_entries)" = 1
check "no temporary file left by a session cut in DATA" test "$(count_tmp)" = 0
stop_listen
done_testing
