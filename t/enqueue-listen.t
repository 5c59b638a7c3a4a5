#!/bin/sh
# ISC license: see LICENSE.
# enqueue-listen: enqueue as a server on the "enqueue-socket" socket.
# The programs directory here has no enqueue: whatever is queued came
# through the socket. The protocol (lib/enqclient.h) is driven directly
# from Python too: the id first, the exit code and the diagnostic at the
# end, an abort that leaves nothing, a refused envelope. Then smtp-session,
# sendmail and the scheduler's bounces through it, a server that closes
# unanswered (the client spawns enqueue instead), and a stop that removes
# the socket.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 38

cd "$T" || exit 1
PORT=$(free_port)
SOCK=$T/enqueue.sock
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.0/8" "enqueue-socket $SOCK"
mkdir "$T/prog"
sed "s|^programs .*|programs $T/prog|" "$CONF" > "$T/k.conf"
CONF=$T/k.conf

grep -v '^enqueue-socket' "$CONF" > "$T/nosock.conf"
enqueue-listen -C "$T/nosock.conf" 2>"$T/err"
is "$?" 100 "no enqueue-socket line: exit 100"
check "... and it says so" grep -q "fatal: no enqueue-socket line" "$T/err"

start_enqlisten
ok $? "enqueue-listen ready"

# cap_of CONF [ARGS]: the per-uid cap an enqueue-listen on its own socket announces
cap_of () {
  _c=$1 ; shift
  rm -f "$T/cready" "$T/cap.log"
  enqueue-listen -C "$_c" -d 3 "$@" 3>"$T/cready" 2>"$T/cap.log" &
  _p=$!
  wait_for 5 test -s "$T/cready"
  kill "$_p" ; wait "$_p" 2>/dev/null
  sed -n 's/.*info: listening on .*, at most 256 workers, \([0-9]*\) for one uid$/\1/p' "$T/cap.log"
}
sed "s|^enqueue-socket .*|enqueue-socket $T/cap.sock|" "$CONF" > "$T/cap.conf"
is "$(cap_of "$T/cap.conf")" 128 "the per-uid cap: 128 for one listener of 100 sessions (the default limit)"
echo "limit connections 200" >> "$T/cap.conf"
is "$(cap_of "$T/cap.conf")" 216 "... the listeners' sessions and 16 more when that is more: the smtp-user's kept connections never meet it"
printf 'listen 127.0.0.1 port %s\nlisten 127.0.0.1 port %s\n' "$(free_port)" "$(free_port)" >> "$T/cap.conf"
is "$(cap_of "$T/cap.conf")" 256 "... at most the pool (3 listeners of 200)"
is "$(cap_of "$T/cap.conf" -u 7)" 7 "... and -u's when given"
check "the socket is there, a socket" test -S "$SOCK"

# conv REQUEST-PAYLOAD DATA MODE: prints first-answer|rest; MODE: data, abort, none
conv () {
  ${CONV_AS:-} python3 - "$SOCK" "$1" "$2" "$3" <<'EOF'
import socket, sys
path, payload, data, mode = sys.argv[1], sys.argv[2].encode().replace(b'|', b'\0'), sys.argv[3].encode(), sys.argv[4]
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
s.sendall(b'%d:%s,' % (len(payload), payload))
first = b''
while len(first) < 25 and not first.endswith(b'\n'):
    b = s.recv(25 - len(first))
    if not b: break
    first += b
# the server keeps the connection after a 0 for a next request: this client has none, and says so
if mode == 'data': s.sendall(data.replace(b'\\n', b'\r\n')); s.shutdown(socket.SHUT_WR)
if mode == 'abort': s.sendall(b'Subject: half\r\n\r\nnot the end'); s.shutdown(socket.SHUT_WR)
rest = b''
while True:
    b = s.recv(4096)
    if not b: break
    rest += b
print((first.decode() + '|' + rest.decode()).replace('\n', '~'))
EOF
}

out=$(conv 'a@client.example||b@remote.example|c@remote.example|' 'Subject: one\n\nbody\n.\n' data)
id=${out%%~*}
is "$(printf '%s' "$out" | sed 's/^[0-9a-f]\{24\}~|/ID~|/')" "ID~|0~" "a message: the id, then exit code 0"
f=$(entry_path "$id")
check "... committed under that id" test -f "$f"
is "$(sed -n 's/^to //p' "$f" | tr '\n' ' ')" "b@remote.example c@remote.example " "... with both recipients"
check "... and the body" grep -q '^Subject: one$' "$f"

rm -f "$SPOOL"/queue/*/*
out=$(conv 'a@client.example||b@remote.example|' '' abort)
is "$(printf '%s' "$out" | sed 's/^[0-9a-f]\{24\}~|/ID~|/')" "ID~|111~" "an abort (end of file before the final dot): 111"
is "$(count_entries):$(count_tmp)" "0:0" "... nothing queued, nothing left in tmp"

out=$(conv 'a@client.example|someone|b@remote.example|' 'Subject: auth\n\nbody\n.\n' data)
id=${out%%~*}
check "an auth user is recorded as enqueue -a records it" grep -q '^auth someone$' "$(entry_path "$id")"

# but only from a trusted peer (SO_PEERCRED): root, the queue owner, the smtp-user
rm -f "$SPOOL"/queue/*/*
if [ "$(id -u)" = 0 ] ; then
  out=$(CONV_AS="setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/env PATH=/usr/bin:/bin" conv 'a@client.example|someone|b@remote.example|' '' none)
  is "$(printf '%s' "$out" | tr -d '|')" "100~enqueue: fatal: only root, the queue owner and the smtp-user may set the authenticated user~" "another local user's auth field: refused, 100, with the reason"
  is "$(count_entries)" 0 "... nothing queued"
else
  skip 2 "needs root to connect as another user"
fi

rm -f "$SPOOL"/queue/*/*
out=$(conv 'bad<||b@remote.example|' '' none)
is "${out%%~*}" "100" "an invalid sender: 100 before any id"
case "$(printf "%s" "$out" | tr -d "|")" in *"enqueue: fatal: invalid sender"*) r=0 ;; *) r=1 ;; esac
is "$r" 0 "... with enqueue's diagnostic"
check "... which the log has too" grep -q 'enqueue-listen: warning: refused (100): invalid sender' "$T/enq.log"
is "$(conv 'a@client.example||' '' none | cut -d'~' -f1)" "100" "no recipient: 100"
is "$(count_entries):$(count_tmp)" "0:0" "refused envelopes leave nothing"

# the pool: one worker takes message after message (the pid field of the
# ids, digits 16 to 21, stays the same), 20 clients at once each get a worker,
# a worker killed in the middle of a message costs that message only
i1=$(conv 'a@client.example||b@remote.example|' 'Subject: p1\n\nbody\n.\n' data | cut -c16-21)
i2=$(conv 'a@client.example||b@remote.example|' 'Subject: p2\n\nbody\n.\n' data | cut -c16-21)
is "$i1" "$i2" "two messages in a row are written by the same worker process (no fork per message)"
out=$(python3 - "$SOCK" <<'EOF2'
import socket, sys
conns = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
    p = b'a@client.example\0\0b@remote.example\0'
    s.sendall(b'%d:%s,' % (len(p), p))
    conns.append(s)
ids = set()
for s in conns:
    ids.add(s.recv(25))
codes = []
for s in conns:
    s.sendall(b'Subject: many\r\n\r\nbody\r\n.\r\n')
for s in conns:
    codes.append(s.recv(16))
print(len(ids), sorted(set(codes)))
EOF2
)
is "$out" "20 [b'0\\n']" "20 clients at once: 20 ids, all committed"
pids () { for p in $(pgrep -P "$EPID") ; do echo "$p" ; done ; }
python3 - "$SOCK" "$T/half.pid" <<'EOF2' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(15); s.connect(sys.argv[1])
p = b'a@client.example\0\0b@remote.example\0'
s.sendall(b'%d:%s,' % (len(p), p))
s.recv(25)
s.sendall(b'Subject: half\r\n\r\nstill writing')
open(sys.argv[2] + '.tmp', 'w').write('x'); import os; os.rename(sys.argv[2] + '.tmp', sys.argv[2])
rest = b''
while True:
    b = s.recv(100)
    if not b: break
    rest += b
open(sys.argv[2] + '.out', 'w').write(repr(rest))
EOF2
HPID=$!
wait_for 10 test -s "$T/half.pid"
# the busy worker: the one holding a tmp/ file's lock is ours; kill every worker, the idle ones are replaced
for p in $(pids) ; do kill -9 "$p" ; done
wait_for 10 test -s "$T/half.pid.out"
is "$(cat "$T/half.pid.out" 2>/dev/null)" "b''" "a worker killed in the middle of a message: its client gets no code (it answers 451)"
wait "$HPID"
is "$(conv 'a@client.example||b@remote.example|' 'Subject: after\n\nbody\n.\n' data | sed 's/^[0-9a-f]\{24\}~|/ID~|/')" "ID~|0~" "the next message gets a new worker"

# smtp-session through the socket (smtp-listen -f: no smtp-session in prog/)
rm -f "$SPOOL"/queue/*/*
start_listen -g 2 -f
session () { relay_session 'via session' ; }
is "$(session)" "220 250 250 250 354 250 221" "an SMTP transaction is queued through enqueue-listen (no enqueue program)"
is "$(count_entries)" 1 "... one message"
check "... with the session's Received header" grep -q '^Received: from client.example' "$(find "$SPOOL/queue" -type f)"

rm -f "$SPOOL"/queue/*/*
printf 'Subject: via sendmail\n\nbody\n' | sendmail -C "$CONF" -f a@client.example b@remote.example
is "$?:$(count_entries)" "0:1" "sendmail queues through enqueue-listen (no enqueue program)"

# the scheduler's bounces go through the socket too (prog/ has what it
# runs, but no enqueue); a sender whose bounce stays queued (its smarthost
# does not answer)
for p in local-spawn local-deliver remote-send ; do ln -s "$BIN/$p" "$T/prog/$p" ; done
rm -f "$SPOOL"/queue/*/*
sed "s|^hostname .*|&\nsmarthost 127.0.0.1:$(free_port)|" "$CONF" > "$T/b.conf"
scheduler -C "$T/b.conf" -d 3 3>"$T/sready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/sready" || bail "scheduler did not start"
printf 'Subject: to bounce\n\nbody\n' | sendmail -C "$CONF" -f a@client.example "nosuch$$@test.example"
wait_for 10 grep -q 'bounce to="a@client.example" rcpts=1 id=' "$T/sched.log"
ok $? "a bounce is queued through enqueue-listen (no enqueue program)"
bid=$(sed -n 's/.* bounce to="a@client.example" rcpts=1 id="\([0-9a-f]*\)".*/\1/p' "$T/sched.log")
is "$(grep -c 'inject result=error' "$T/sched.log"):$(grep -cx 'from ' "$SPOOL/queue/$(printf '%s' "$bid" | cut -c23-24)/$bid" 2>/dev/null)" "0:1" "... at the first try, with the null sender"
kill "$SPID" ; wait "$SPID" 2>/dev/null
rm -f "$T/prog/local-spawn" "$T/prog/local-deliver" "$T/prog/remote-send"

# a message over the size limit: enqueue's 100 reaches sendmail with its words
rm -f "$SPOOL"/queue/*/*
echo "limit message-size 1000" >> "$CONF"
kill -HUP "$EPID"
wait_for 5 grep -q 'configuration reloaded' "$T/enq.log"
head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70 | sendmail -C "$CONF" -f a@client.example b@remote.example 2>"$T/err"
is "$?:$(count_entries)" "100:0" "after SIGHUP the new size limit holds: 100, nothing queued"
check "... and sendmail prints enqueue's diagnostic" grep -q 'enqueue: fatal: message too big' "$T/err"

# stopping: the socket goes away; clients spawn PROGRAMS/enqueue (none here: 451)
kill "$EPID"
wait_for 5 sh -c "! kill -0 $EPID"
check "after SIGTERM the socket is removed" test ! -e "$SOCK"
is "$(py "
c = Conn($PORT, timeout=5)
print(c.reply()[0], codes(c, [b'EHLO client.example', b'MAIL FROM:<a@client.example>', b'RCPT TO:<b@remote.example>', b'DATA', b'QUIT']))
")" "220 250 250 250 451 221" "without a server and without enqueue: DATA gets 451, nothing is lost"

# a server that closes unanswered (at its limit): the session spawns enqueue
ln -s "$BIN/enqueue" "$T/prog/enqueue"
python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind('$SOCK'); s.listen(16)
end = time.time() + 20
s.settimeout(1)
while time.time() < end:
    try: c, _ = s.accept()
    except socket.timeout: continue
    c.close()
" &
FPID=$!
at_exit "kill $FPID 2>/dev/null"
wait_for 5 test -S "$SOCK"
rm -f "$SPOOL"/queue/*/*
is "$(session)" "220 250 250 250 354 250 221" "a socket that closes unanswered: the session spawns enqueue"
is "$(count_entries)" 1 "... and the message is queued once"
kill "$FPID"
stop_listen
