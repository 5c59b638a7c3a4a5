#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen execs PROGRAMS/smtp-session per connection by default; -f
# runs the linked-in session code in the forked child instead. A programs
# directory without smtp-session tells the two apart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 5

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.0/8"
mkdir "$T/prog"
ln -s "$BIN/enqueue" "$T/prog/enqueue"
sed "s|^programs .*|programs $T/prog|" "$CONF" > "$T/fork.conf"
CONF=$T/fork.conf

session () {
  py "
try:
  c = Conn($PORT, timeout=5)
  r = [c.reply()[0], codes(c, [b'EHLO client.example', b'MAIL FROM:<a@client.example>', b'RCPT TO:<b@remote.example>', b'DATA'])]
  c.send(b'Subject: fork\r\n\r\nbody\r\n.\r\n')
  r.append(c.reply()[0])
  r.append(c.code(b'QUIT'))
  print(' '.join(str(x) for x in r))
except Exception as e:
  print('error', type(e).__name__)
"
}

start_listen -g 2 -f
ok $? "smtp-listen -f ready"
is "$(session)" "220 250 250 250 354 250 221" "a forked session (-f) serves a transaction without PROGRAMS/smtp-session"
is "$(find "$SPOOL/queue" -type f | wc -l | tr -d ' ')" 1 "the message is in the queue"
stop_listen

start_listen -g 2
ok $? "smtp-listen ready"
got=$(session)
case "$got" in 220*) r=1 ;; *) r=0 ;; esac
is "$r" 0 "by default it execs PROGRAMS/smtp-session (missing here: no greeting)"
stop_listen
