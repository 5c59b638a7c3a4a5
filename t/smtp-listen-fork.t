#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen execs PROGRAMS/smtp-session per connection by default; -f
# runs the linked-in session code in the forked child instead, with the
# listener's copy of the configuration, read again on SIGHUP, and with
# the passwd database and the time zone set up once, by the listener. A
# programs directory without smtp-session tells the two apart. A session
# process of -f serves its next client when the last one ended cleanly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 22
# this test chooses the mode of each listener itself
KETCH_LISTEN_FLAGS=

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.0/8"
mkdir "$T/prog"
ln -s "$BIN/enqueue" "$T/prog/enqueue"
sed "s|^programs .*|programs $T/prog|" "$CONF" > "$T/fork.conf"
CONF=$T/fork.conf

session () { relay_session 'fork' ; }

start_listen -g 2 -f
ok $? "smtp-listen -f ready"
is "$(session)" "220 250 250 250 354 250 221" "a forked session (-f) serves a transaction without PROGRAMS/smtp-session"
is "$(count_entries)" 1 "the message is in the queue"
greeting () { py "
c = Conn($PORT, timeout=5)
print(c.reply()[1])" ; }
sed "s|^hostname .*||" "$CONF" > "$T/new.conf" && printf 'hostname reloaded.example\n' >> "$T/new.conf"
cp "$CONF" "$T/old.conf" && cat "$T/new.conf" > "$CONF"
case "$(greeting)" in *mx.test.example*) r=0 ;; *) r=1 ;; esac
is "$r" 0 "-f: a changed ketch.conf does not reach new sessions before SIGHUP (the old hostname greets)"
kill -HUP "$LPID"
wait_for 5 sh -c "grep -q 'configuration reloaded' '$T/smtp.log'"
case "$(greeting)" in *reloaded.example*) r=0 ;; *) r=1 ;; esac
is "$r" 0 "-f: after SIGHUP new sessions use the new configuration"
printf 'bogus-directive x\n' >> "$CONF"
kill -HUP "$LPID"
wait_for 5 sh -c "grep -q 'keeping the old configuration' '$T/smtp.log'"
case "$(greeting)" in *reloaded.example*) r=0 ;; *) r=1 ;; esac
is "$r" 0 "-f: a configuration that does not load is refused on SIGHUP, the previous one stays"
cat "$T/old.conf" > "$CONF"
stop_listen

# -f: the listener sets up the passwd database (nsswitch.conf, the nscd
# probe) and the time zone once; its sessions inherit them (strace -f:
# which processes read them, over two sessions with a local RCPT each)
local_session () { py "
c = Conn($PORT, timeout=5)
c.reply() ; codes(c, [b'EHLO client.example', b'MAIL FROM:<a@client.example>', b'RCPT TO:<root@test.example>', b'DATA'])
c.send(b'Subject: tz\\r\\n\\r\\nbody\\r\\n.\\r\\n') ; c.reply() ; c.code(b'QUIT')" ; }
if command -v strace >/dev/null 2>&1 && [ ! -e /var/run/nscd/socket ] && [ -z "${KETCH_SANITIZED:-}" ] ; then
  rm -f "$T/ready"
  strace -f -qq -e trace=openat,connect -o "$T/st" smtp-listen -C "$CONF" -d 3 -g 2 -f 3>"$T/ready" 2>>"$T/smtp.log" &
  LPID=$!
  wait_for 5 test -s "$T/ready"
  local_session ; local_session
  # the listener itself, not strace: strace exits with it
  SLPID=$(pgrep -P "$LPID" smtp-listen)
  kill "${SLPID:-$LPID}" ; wait "$LPID"
  procs () { grep "$1" "$T/st" | cut -d' ' -f1 | sort -u | wc -l | tr -d ' ' ; }
  np=$(cut -d' ' -f1 "$T/st" | sort -u | wc -l | tr -d ' ')
  is "$(procs /etc/localtime)/$([ "$np" -ge 2 ] && echo more)" "1/more" "-f: /etc/localtime is read by the listener alone, not by its sessions ($np processes traced)"
  is "$(procs nscd/socket)" 1 "-f: the nscd probe is made by the listener alone"
else
  skip 2 "strace missing, nscd running, or a sanitized build"
fi

# -f: a session process that ended its client's session cleanly serves
# the next client, with none of the last one's state (after TLS and AUTH
# too: their secrets wiped, t/tls-reuse.t), and not beyond 100 clients;
# 8 wait for clients, and those beyond 8 exit after 5 idle seconds.
# Which process served a session: the pid in its session id
# (lib/queue.c: 10 hex digits of seconds, 5 of microseconds, then 6 of
# the pid), in connection order. Each client waits until every session
# process waits again (settle, t/smtptest.py), so that the order is known.
PORTA=$(free_port)
printf 'u:%s\n' "$(echo pw | ketch-passwd)" > "$T/auth"
tlsconf=
if command -v openssl >/dev/null 2>&1 && openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/k.pem" -out "$T/c.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1 ; then
  tlsconf="certificate $T/c.pem key $T/k.pem"
fi
mkinstance "listen 127.0.0.1 port $PORT${tlsconf:+ starttls}" "listen 127.0.0.1 port $PORTA plain-auth" "relay-from 127.0.0.0/8" \
  "auth-table $T/auth" "limit errors 3" "limit connections-per-client 2" "${tlsconf:-# no certificate}"
: > "$T/smtp.log"
pids () { py "
import re
for l in open('$T/smtp.log'):
  m = re.match(r'([0-9a-f]{24}) connect ', l)
  if m: print(int(m.group(1)[15:21], 16))" ; }
# the Nth session's pid (1 is the first)
pid_of () { pids | sed -n "$1p" ; }
start_listen -g 30 -f
got=$(py "
for i in range(101):
  settle($LPID) ; c = Conn($PORT, timeout=5) ; c.reply() ; c.code(b'QUIT') ; c.close()")
is "$(pids | sort | uniq -c | sort -rn | awk '{print $1}' | tr '\n' ' ')" "100 1 " "-f: one session process serves 100 clients in turn, then retires; the 101st gets a new one"
: > "$T/smtp.log"
got=$(py "
settle($LPID) ; c = Conn($PORT, timeout=5) ; c.reply()
print(codes(c, [b'EHLO a.example', b'MAIL FROM:<a@client.example>', b'BOGUS', b'BOGUS', b'QUIT'])) ; c.close()
settle($LPID) ; c = Conn($PORT, timeout=5) ; c.reply()
print(codes(c, [b'RCPT TO:<b@remote.example>', b'MAIL FROM:<a@client.example>', b'EHLO b.example', b'NOOP', b'QUIT']))")
is "$got" "250 250 500 500 221
503 503 250 250 221" "-f: the next client of a session process starts afresh: no HELO, no transaction, no errors counted (limit errors 3)"
is "$(pids | sort -u | wc -l | tr -d ' ')" 1 "-f: ... and it was the same process"
got=$(py "
settle($LPID) ; c = Conn($PORTA, timeout=5) ; c.reply()
print(codes(c, [b'EHLO a.example', b'AUTH PLAIN AHUAd3Jvbmc=', b'QUIT'])) ; c.close()
for i in range(2):
  settle($LPID) ; c = Conn($PORT, timeout=5) ; c.reply() ; c.code(b'QUIT') ; c.close()")
r=1 ; [ "$(pid_of 3)" = "$(pid_of 2)" ] && [ "$(pid_of 4)" = "$(pid_of 3)" ] && [ "$(pid_of 5)" = "$(pid_of 4)" ] && r=0
is "$got/$r" "250 535 221/0" "-f: a session that tried AUTH (checked by smtp-keyd) is wiped and its process serves the next clients"
if [ -n "$tlsconf" ] ; then
  got=$(py "
settle($LPID) ; c = Conn($PORT, timeout=5) ; c.reply()
print(codes(c, [b'EHLO a.example', b'STARTTLS'])) ; c.wrap()
print(codes(c, [b'EHLO a.example', b'QUIT'])) ; c.close()
settle($LPID) ; c = Conn($PORT, timeout=5) ; c.reply() ; c.code(b'QUIT') ; c.close()")
  r=1 ; [ "$(pid_of 6)" = "$(pid_of 5)" ] && [ "$(pid_of 7)" = "$(pid_of 6)" ] && r=0
  is "$got/$r" "250 220
250 221/0" "-f: a session that started TLS is wiped and its process serves the next client"
else
  missing 1 "openssl is missing (Debian package openssl) or made no certificate: no STARTTLS"
fi
got=$(py "
import time
a = [Conn($PORT, timeout=5) for i in range(2)] ; print(' '.join(str(c.reply()[0]) for c in a))
for c in a: c.code(b'QUIT') ; c.close()
# the two become idle when the listener has read their notices: on a
# loaded machine that can take longer than a first pause, so a bounded
# retry (the same two made idle again each time); counting idle ones
# would give 421 to the first or second connection on every attempt
for i in range(20):
  time.sleep(0.3)
  a = [Conn($PORT, timeout=5) for i in range(3)] ; k = [c.reply()[0] for c in a] ; r = ' '.join(map(str, k))
  if r == '220 220 421': break
  for c, x in zip(a, k):
    if x == 220: c.code(b'QUIT')
    c.close()
print(r)")
is "$got" "220 220
220 220 421" "-f: idle session processes do not count towards limit connections-per-client (2); busy ones do"
# the pool: 8 session processes wait; a burst makes more, and those idle
# for 5 seconds beyond the 8 exit (smtp-keyd, the listener's other
# child, is not counted)
nsess () { pgrep -P "$LPID" -x smtp-session | wc -l | tr -d ' ' ; }
wait_for 15 sh -c "[ \$(pgrep -P $LPID -x smtp-session | wc -l) -eq 8 ]"
ok $? "-f: 8 session processes wait for clients"
# from 14 addresses (the limit per client is 2), on both listeners
got=$(py "
import socket, subprocess
a = []
for i in range(14):
  s = socket.create_connection(('127.0.0.1', $PORTA if i % 2 else $PORT), 5, ('127.0.0.%d' % (i + 2), 0))
  if s.recv(100).startswith(b'220'): a.append(s)
print(len(a))
# the pool refilled behind them: 8 waiting again besides the 14 (the
# hints and the recounts are asynchronous: a bounded wait)
import time
end = time.time() + 10
while True:
  n = len(subprocess.run(['pgrep', '-P', '$LPID', '-x', 'smtp-session'], capture_output=True, text=True).stdout.split())
  if n >= 22 or time.time() > end: break
  time.sleep(0.1)
print(n)
for s in a: s.sendall(b'QUIT\r\n') ; s.recv(100) ; s.close()")
set -- $got
r=1 ; [ "${1:-0}" = 14 ] && [ "${2:-0}" -ge 22 ] && r=0
is "$r" 0 "-f: 14 clients at once, on two listeners, are served, and 8 more processes wait for the next ($2 in all)"
wait_for 15 sh -c "[ \$(pgrep -P $LPID -x smtp-session | wc -l) -le 8 ]"
ok $? "-f: after the burst, the processes idle for 5 seconds beyond the 8 exit"
# SIGHUP: the waiting processes (the old configuration) end at once and
# fresh ones wait; a busy one serves its client to the end, then exits
got=$(py "
import os, signal, subprocess, time
def kids(): return set(subprocess.run(['pgrep', '-P', '$LPID', '-x', 'smtp-session'], capture_output=True, text=True).stdout.split())
a = Conn($PORT, timeout=5) ; a.reply() ; a.code(b'EHLO a.example')
before = kids()
os.kill($LPID, signal.SIGHUP)
end = time.time() + 10
while time.time() < end:
  now = kids()
  if len(before & now) == 1 and len(now - before) >= 8: break
  time.sleep(0.1)
print(len(before & now), len(now - before) >= 8)
print(a.code(b'NOOP'), a.code(b'QUIT'))
busy = (before & now).pop() if before & now else '0'
while time.time() < end and os.path.exists('/proc/' + busy): time.sleep(0.1)
print(os.path.exists('/proc/' + busy))")
is "$got" "1 True
250 221
False" "-f: SIGHUP ends the waiting session processes and forks fresh ones; the busy one finishes its client, then exits"

# a session process killed while it serves a client leaves no count
# behind: its slot is freed when the listener reaps it (limit
# connections-per-client 2)
got=$(py "
import os, re, signal, time
off = os.path.getsize('$T/smtp.log')
a = Conn($PORT, timeout=5) ; a.reply() ; b = Conn($PORT, timeout=5) ; b.reply()
c = Conn($PORT, timeout=5) ; print(c.reply()[0]) ; c.close()
ids, end = [], time.time() + 10
while len(ids) < 2 and time.time() < end:
  with open('$T/smtp.log', 'rb') as f: f.seek(off) ; new = f.read().decode()
  ids = re.findall(r'^([0-9a-f]{24}) connect ', new, re.M)
  time.sleep(0.05)
os.kill(int(ids[-1][15:21], 16), signal.SIGKILL)
while time.time() < end:
  c = Conn($PORT, timeout=5) ; r = c.reply()[0] ; c.close()
  if r == 220: break
  time.sleep(0.1)
# the killed one's connection is closed (code 0)
def noop(x):
  try: return str(x.code(b'NOOP'))
  except OSError: return '0'
print(r, ' '.join(sorted(noop(x) for x in (a, b))))")
is "$got" "421
220 0 250" "-f: a session process killed mid-session frees its place in the limits; the others go on"
c=$(py "
c = Conn($PORT, timeout=5) ; c.reply() ; print(c.code(b'QUIT'))")
wait_for 3 sh -c "pgrep -P $LPID -x smtp-session >/dev/null"
t0=$(date +%s)
stop_listen
kill -0 "$LPID" 2>/dev/null ; r=$?
is "$c/$r/$(( $(date +%s) - t0 < 4 ))" "221/1/1" "-f: SIGTERM dismisses idle session processes: smtp-listen exits at once, not after the grace time (30 s)"

CONF=$T/fork.conf
start_listen -g 2
ok $? "smtp-listen ready"
got=$(session)
case "$got" in 220*) r=1 ;; *) r=0 ;; esac
is "$r" 0 "by default it execs PROGRAMS/smtp-session (missing here: no greeting)"
stop_listen
