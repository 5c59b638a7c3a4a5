#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen: 200 concurrent sessions, connection limits answered with
# 421, IPv6, shutdown within a bound; smtp-session under tcpserver.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 16

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "limit connections 250" "limit connections-per-client 250"
start_listen -g 2
ok $? "smtp-listen ready"

got=$(py "
import threading, time
N = 200
conns = [None] * N
res = [0] * N
def one(i):
  try:
    c = Conn($PORT, timeout=20)
    if c.reply()[0] == 220 and c.code(b'EHLO x%d.example' % i) == 250: res[i] = 1
    conns[i] = c
  except Exception: pass
ts = []
for i in range(N):
  t = threading.Thread(target=one, args=(i,)); t.start(); ts.append(t)
for t in ts: t.join(30)
print(sum(res))
for c in conns:
  if c: c.close()
")
is "$got" "200" "200 concurrent sessions all served (greeting and EHLO)"
stop_listen

# limits: answered with 421, never left hanging in the backlog.
# third_connection: two sessions open, the third's first reply
third_connection () {
  py "
a = Conn($PORT); b = Conn($PORT); print(a.reply()[0], b.reply()[0])
c = Conn($PORT); r = c.reply(); print(r[0], r[1][4:9])
a.close(); b.close(); c.close()
"
}
mkinstance "listen 127.0.0.1 port $PORT" "limit connections 3" "limit connections-per-client 2"
start_listen -g 2
got=$(third_connection)
is "$got" "220 220
421 4.7.0" "limit connections-per-client: the third connection from one address gets 421"
# waited for: smtp-listen writes the 421 and closes before it logs the refusal
check "log: refusal logged by smtp-listen" wait_for 5 grep -qE '^smtp-listen connect ip=127\.0\.0\.1 port=[0-9]+ result=refused reason=connections-per-client$' "$T/smtp.log"
# tried again for 10 s at most, not once after 0.3 s: under load the ended
# sessions (these and the three above) are reaped later; a slot never freed
# is still refused at every try
got=$(py "
import time
a = Conn($PORT); a.reply(); a.cmd(b'QUIT'); a.close()
end = time.time() + 10
while True:
  b = Conn($PORT); r = b.reply()[0]; b.close()
  if r == 220 or time.time() > end: break
  time.sleep(0.1)
print(r)
")
is "$got" "220" "a finished session frees its slot"

stop_listen
mkinstance "listen 127.0.0.1 port $PORT" "limit connections 2" "limit connections-per-client 10"
start_listen -g 2
got=$(third_connection)
is "$got" "220 220
421 4.7.0" "limit connections: the connection over the global limit gets 421"
check "log: global refusal logged" wait_for 5 grep -qE '^smtp-listen connect ip=127\.0\.0\.1 port=[0-9]+ result=refused reason=connections$' "$T/smtp.log"

# shutdown: no new connections; a session still open is ended within the bound
got=$(py "
import time, os, signal
a = Conn($PORT); a.reply()
# timed from the signal: the grace (-g 2) starts when smtp-listen gets it,
# never before, whereas the pause, the refused connection and the NOOP
# before the old start of the clock took more than 0.8 s under load
t = time.time()
os.kill($LPID, signal.SIGTERM); time.sleep(0.3)
try:
  Conn($PORT, timeout=2); print('accepted')
except OSError: print('refused')
print(a.code(b'NOOP'))
a.s.settimeout(6)
try: d = a.s.recv(100)
except OSError: d = b''
print(d == b'', 1.8 < time.time() - t < 5)
")
is "$got" "refused
250
True True" "SIGTERM: stops accepting, lets sessions run, ends them after the grace period"
wait_for 5 sh -c "! kill -0 $LPID"
ok $? "smtp-listen exited after the grace period"

# privileges: bound as root, then running as smtp-user
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 ; then
  mkinstance "listen 127.0.0.1 port $PORT" "smtp-user nobody"
  start_listen
  uid=$(awk '/^Uid:/ { print $2 }' /proc/$LPID/status)
  is "$uid" "$(id -u nobody)" "started as root: runs as smtp-user after binding"
  got=$(py "
import subprocess, time
c = Conn($PORT); print(c.reply()[0]); time.sleep(0.2)
kids = subprocess.run(['pgrep', '-P', '$LPID'], capture_output=True, text=True).stdout.split()
# with -f, the waiting session processes too: every one's uid, once
print(' '.join(sorted(set(open('/proc/%s/status' % k).read().split('Uid:')[1].split()[0] for k in kids))))
")
  is "$got" "220
$(id -u nobody)" "sessions run as smtp-user"
  stop_listen
else
  skip 2 "not root"
fi

# IPv6 and IPv4 listeners on one port
if "$PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ; then
  PORT6=$(free_port)
  mkinstance "listen 127.0.0.1 port $PORT6" "listen ::1 port $PORT6"
  start_listen
  got=$(py "
c = Conn($PORT6, host='::1'); print(c.reply()[0], c.code(b'EHLO x'))
c = Conn($PORT6); print(c.reply()[0])
")
  is "$got" "220 250
220" "IPv6 (::1) and IPv4 listeners on the same port"
  check "log: IPv6 client address" grep -q 'connect ip=::1 ' "$T/smtp.log"
  stop_listen
else
  skip 2 "no IPv6 on loopback"
fi

# under ucspi-tcp's tcpserver: the UCSPI variables give the client address
if command -v tcpserver >/dev/null 2>&1 ; then
  PORTU=$(free_port)
  mkinstance "relay-from 127.0.0.1"
  tcpserver -H -R 127.0.0.1 "$PORTU" smtp-session -C "$CONF" 2>>"$T/tcp.log" &
  TPID=$!
  at_exit "kill $TPID 2>/dev/null"
  wait_for 5 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORTU)).close()"
  got=$(py "
c = Conn($PORTU); c.reply(); c.cmd(b'EHLO x')
print(codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<x@remote.example>', b'DATA']))
c.send(b'Subject: tcpserver\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
  is "$got" "250 250 354
250" "smtp-session under tcpserver: relay-from applies to TCPREMOTEIP"
  check "tcpserver session log carries the client address" grep -q 'connect ip=127.0.0.1 port=' "$T/tcp.log"
  kill $TPID 2>/dev/null
  # tcprules: RELAYCLIENT marks a relay client (qmail's convention)
  mkinstance
  printf '127.0.0.1:allow,RELAYCLIENT=""\n:allow\n' | tcprules "$T/rules.cdb" "$T/rules.tmp"
  PORTU=$(free_port)
  tcpserver -H -R -x "$T/rules.cdb" 127.0.0.1 "$PORTU" smtp-session -C "$CONF" 2>>"$T/tcp.log" &
  TPID=$!
  at_exit "kill $TPID 2>/dev/null"
  wait_for 5 "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORTU)).close()"
  got=$(py "
c = Conn($PORTU); c.reply(); c.cmd(b'EHLO x')
print(codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<x@remote.example>']))
")
  is "$got" "250 250" "tcpserver -x rules: RELAYCLIENT allows relaying"
  kill $TPID 2>/dev/null
else
  missing 3 "tcpserver is missing (Debian package ucspi-tcp)"
fi
done_testing
