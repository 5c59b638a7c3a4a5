#!/bin/sh
# ISC license: see LICENSE.
# smtp-keyd, the process that alone reads the TLS key and the auth table
# (smtp-keyd(8)): its request parser against malformed requests, its end
# when the door closes, what the sessions answer when it is gone (454)
# and the listener's exit for its supervisor; smtp-session without -K
# (tcpserver) reading the key itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 18
need openssl openssl

cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ec.key" -out "$T/ec.crt" -days 2 -subj /CN=localhost >/dev/null 2>&1
printf 'alice:%s\n' "$(echo 'correct horse' | ketch-passwd)" > "$T/auth"
PORT=$(free_port) ; PORTP=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT starttls" "listen 127.0.0.1 port $PORTP plain-auth" \
  "certificate $T/ec.crt key $T/ec.key" "auth-table $T/auth"

# smtp-keyd alone, its door a socket pair of ours: requests straight to it
got=$(py "
import select, socket, subprocess, time
door, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
p = subprocess.Popen(['$BIN/smtp-keyd', '-C', '$CONF'], stdin=theirs, stderr=open('$T/keyd.err', 'w'))
theirs.close()
def channel():
  a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
  socket.send_fds(door, [b'k'], [b.fileno()]); b.close(); a.settimeout(5)
  return a
def ask(req):
  c = channel(); c.send(req); r = c.recv(600)
  try: end = c.recv(600) == b''
  except socket.timeout: end = False
  return r, end
bad = [b'X', b'KK', b'S\x04' + b'h' * 31, b'S\x00' + b'h' * 36, b'S\x07' + b'h' * 32,
       b'A\x00pw', b'A\x09bob', b'A\x03bob' + b'p' * 1025, b'A\x03boba\x00b', b'S' * 5000]
print(' '.join('%s/%d' % (r.decode(), e) for r, e in (ask(q) for q in bad)))
door.send(b'no descriptor')
c = channel()
c.send(b'K'); r = c.recv(600); print(r[:1].decode(), r[1])
c.send(b'S\x04' + b'h' * 32); r = c.recv(600); print(r[:1].decode(), r[1] == 0x30, 8 <= len(r) - 1 <= 72)
c.send(b'A\x05alicecorrect horse'); a = c.recv(600)
c.send(b'A\x05alicewrong'); b = c.recv(600)
c.send(b'A\x03bobx'); d = c.recv(600)
print(a.decode(), b.decode(), d.decode())
# a save is not answered: the next reply on the channel is the load's;
# a second save under the same ID does not replace the first
sid = bytes(range(32)); p1 = b'\x03\x03\xc0\x2b' + b's' * 48; p2 = b'\x03\x03\xc0\x2b' + b't' * 48
c.send(b'P' + sid + p1); c.send(b'L' + sid); r1 = c.recv(600)
c.send(b'P' + sid + p2); c.send(b'L' + sid); r2 = c.recv(600)
c.send(b'L' + bytes(32)); r3 = c.recv(600)
print(r1 == b'+' + p1, r2 == b'+' + p1, r3.decode(), not select.select([c], [], [], 0.2)[0])
# a password check (yescrypt: tens of ms) runs beside the key: a request
# sent after it is answered while it still runs
pa = channel(); pb = channel()
pa.send(b'A\x05alicecorrect horse'); time.sleep(0.01); pb.send(b'K')
rb = pb.recv(600)
busy = not select.select([pa], [], [], 0)[0]
print(rb[:1].decode(), busy, pa.recv(600).decode())
pa.close(); pb.close()
# eight checks at once: four run (AUTH_CHILDREN), four wait, out of the
# epoll set, for a place; each then answered, and its channel read again
cs = [channel() for i in range(8)]
for x in cs: x.send(b'A\x05alicecorrect horse')
rs = []
for x in cs:
  try: rs.append(x.recv(600).decode())
  except socket.timeout: rs.append('timeout')
for x in cs: x.send(b'K')
ks = []
for x in cs:
  try: ks.append(x.recv(600)[:1].decode())
  except socket.timeout: ks.append('timeout')
print(''.join(rs), ''.join(ks))
for x in cs: x.close()
# 300 channels held open, as 300 session processes that used TLS keep
# theirs; the last answered, and after 299 close a new one takes a free slot
held = [channel() for i in range(300)]
held[-1].send(b'K'); a = held[-1].recv(600)[:1].decode()
for x in held[:-1]: x.close()
n = channel(); n.send(b'K'); b = n.recv(600)[:1].decode()
held[-1].send(b'K'); d = held[-1].recv(600)[:1].decode()
print(a, b, d)
n.close(); held[-1].close()
c.close(); door.close()
try: print(p.wait(5))
except subprocess.TimeoutExpired: p.kill(); print('alive')
")
is "$(echo "$got" | sed -n 1p)" "$(echo '!/1 !/1 !/1 !/1 !/1 !/1 !/1 !/1 !/1 !/1')" "ten malformed requests (an unknown type, a hash of the wrong length, MD5+SHA-1, an unknown hash, a bad user length, a long password, a NUL, an oversized message): refused, each channel closed"
is "$(grep -c 'refused a malformed request' "$T/keyd.err")" 10 "each refusal logged"
check "a door message without a descriptor: refused and logged" grep -q 'refused a door message without a channel' "$T/keyd.err"
is "$(echo "$got" | sed -n 2p)" "+ 2" "smtp-keyd still answers: the key's type (EC)"
is "$(echo "$got" | sed -n 3p)" "+ True True" "a SHA-256 hash signed (an ECDSA signature in DER)"
is "$(echo "$got" | sed -n 4p)" "+ - -" "AUTH: the right password, a wrong one, an unknown user"
is "$(echo "$got" | sed -n 5p)" "True True - True" "a session saved is not answered, and loaded by its ID; a second save of the ID does not replace it; an unknown ID: none"
is "$(echo "$got" | sed -n 6p)" "+ True +" "a key request sent during a password check is answered before it ends"
is "$(echo "$got" | sed -n 7p)" "++++++++ ++++++++" "eight password checks at once (four run, four wait for a place): all answered, and each channel read again after"
is "$(echo "$got" | sed -n 8p)" "+ + +" "300 channels open: the last is answered; after 299 closed, a new one and the old one are"
is "$(echo "$got" | sed -n 9p)" 0 "the door closed by all its holders: smtp-keyd exits 0"

# through the listener; then smtp-keyd dies
start_listen
ok $? "smtp-listen ready"
KD=$(pgrep -P "$LPID" -x smtp-keyd)
py "
import time
c = Conn($PORT); c.reply(); c.code(b'EHLO t')
a = Conn($PORTP); a.reply(); a.code(b'EHLO t')
open('$T/held', 'w').write('1')
end = time.time() + 5
import os
while os.path.exists('/proc/$KD') and time.time() < end: time.sleep(0.05)
print(c.code(b'STARTTLS'), a.code(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U='), a.code(b'QUIT'))
" > "$T/gone.out" &
HP=$!
wait_for 5 test -s "$T/held"
kill -KILL "$KD" 2>/dev/null
wait $HP
is "$(cat "$T/gone.out")" "454 454 221" "smtp-keyd gone: STARTTLS and AUTH get 454 (sessions already running go on)"
# bounded: an old listener that outlives smtp-keyd must fail this, not hang it
wait_for 5 sh -c "! kill -0 $LPID 2>/dev/null"
if kill -0 "$LPID" 2>/dev/null ; then r=alive ; else wait "$LPID" ; r=$? ; fi
is "$r" 111 "smtp-listen exits 111 for its supervisor to restart both"
check "and says why" grep -q 'smtp-keyd exited' "$T/smtp.log"
# with -f its session processes end with it (the busy ones after their
# client, smtp-listen(8)): the ports are free again when they are gone
port_free () { py "
import socket
s = socket.socket() ; s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1) ; s.bind(('127.0.0.1', $PORT)) ; s.listen()" 2>/dev/null ; }
wait_for 10 port_free
ok $? "the port is free again"
start_listen
got=$(py "
c = Conn($PORT); c.reply(); c.code(b'EHLO t'); print(c.code(b'STARTTLS')); c.wrap(); print(c.code(b'EHLO t'))")
is "$got" "220
250" "started again, as its supervisor does: a new smtp-keyd, and STARTTLS works"
stop_listen

# smtp-session without -K (tcpserver): it reads the key itself
got=$(py "
import socket, ssl, subprocess
a, b = socket.socketpair()
p = subprocess.Popen(['$BIN/smtp-session', '-C', '$CONF'], stdin=b, stdout=b, stderr=subprocess.DEVNULL)
b.close()
c = Conn.__new__(Conn); c.s = a; c.buf = b''
c.s.settimeout(10)
c.reply(); c.code(b'EHLO t'); print(c.code(b'STARTTLS'))
c.wrap(); print(c.code(b'EHLO t'), c.code(b'QUIT'))
p.wait(5)")
is "$got" "220
250 221" "smtp-session without -K (tcpserver) reads the key itself: STARTTLS works"
done_testing
