#!/bin/sh
# ISC license: see LICENSE.
# Random sessions (seeded, reproducible): smtp-session never crashes, and
# exactly the messages it answered "250 2.0.0 Ok: queued as ID" for are in
# the spool, under those ids.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 3

cd "$T" || exit 1
mkinstance "relay-from 127.0.0.1" "limit message-size 2k" "limit errors 50" "timeout command 5s"
got=$(PROTO=TCP TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=1 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 "$PY" -c "
import random, subprocess, re
random.seed(${SEED:-5321})
pieces = [b'EHLO x.example\r\n', b'HELO y\r\n', b'MAIL FROM:<a@b.example>\r\n', b'MAIL FROM:<>\r\n',
  b'RCPT TO:<root@test.example>\r\n', b'RCPT TO:<x@remote.example>\r\n', b'RCPT TO:<nobody-at-all@test.example>\r\n',
  b'DATA\r\n', b'RSET\r\n', b'NOOP\r\n', b'.\r\n', b'\r\n.\r\n', b'\n.\n', b'\r.\r', b'.', b'\r', b'\n', b'\x00',
  b'Subject: r\r\n\r\n', b'body line\r\n', b'..dot\r\n', b'x' * 600, b'STARTTLS\r\n', b'AUTH PLAIN AGEAYg==\r\n',
  b'VRFY root\r\n', b'MAIL FROM:<a@b.example>\r\nRCPT TO:<root@test.example>\r\nDATA\r\nSubject: ok\r\n\r\nhi\r\n.\r\n', b'MAIL FROM:<a@b.example> SIZE=999999\r\n', bytes(random.randrange(256) for _ in range(20))]
crashes = 0; promised = []
for n in range(300):
  data = b''.join(random.choice(pieces) for _ in range(random.randint(1, 40)))
  p = subprocess.Popen(['$BIN/smtp-session', '-C', '$CONF'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
  out, _ = p.communicate(data, timeout=30)
  if p.returncode != 0: crashes += 1
  promised += re.findall(rb'250 2\.0\.0 Ok: queued as ([0-9a-f]{24})', out)
print(crashes, len(promised))
open('$T/promised', 'w').write(''.join(i.decode() + '\n' for i in sorted(promised)))
")
crashes=${got%% *}
is "$crashes" "0" "300 random sessions: every one exits 0"
find "$SPOOL/queue" -type f | sed 's,.*/,,' | sort > "$T/queued"
check "the spool holds exactly the promised messages (${got#* } of them)" cmp -s "$T/promised" "$T/queued"
check "no temporary file left behind" test "$(count_tmp)" = 0
done_testing
