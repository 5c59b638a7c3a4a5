#!/bin/sh
# ISC license: see LICENSE.
# enqueue-listen's kept connections (enqueue-listen(8), lib/enqclient.h):
# a session's messages, over one SMTP connection and over several served
# by one reused smtp-listen -f process, go over ONE connection to the
# socket (its identity, the inode of the worker's end, is read from ss
# after every message); a worker killed between messages, enqueue-listen
# restarted between them, and a connection ended by the idle limit (-k)
# cost the next message only a new connection: it goes in, once. The
# programs directory has no enqueue: whatever is queued came through the
# socket, and a client that gave up on it would get 451.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 22
need ss iproute2

cd "$T" || exit 1
PORT=$(free_port)
SOCK=$T/enqueue.sock
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.0/8" "enqueue-socket $SOCK"
mkdir "$T/prog"
ln -s "$BIN/smtp-session" "$T/prog/smtp-session"
sed "s|^programs .*|programs $T/prog|" "$CONF" > "$T/k.conf"
CONF=$T/k.conf

# msgs N [N...]: one SMTP connection per argument, with that many
# messages each; after each message's reply, the connections to the
# socket now (their workers' ends' inodes, from ss), or "none". Prints
# one line per message: CODE:INODES. With STEP set, before each message
# but the first of the first connection it waits for $T/go.N (N: the
# message's number from 1), after writing $T/at.N.
msgs () {
  py "
import os, subprocess, time
def conns():
    out = subprocess.run(['ss', '-xHn'], capture_output=True, text=True).stdout
    c = sorted(l.split()[5] for l in out.splitlines() if len(l.split()) > 5 and l.split()[4] == '$SOCK')
    return ','.join(c) or 'none'
n = 0
for k in [int(x) for x in '$*'.split()]:
    c = Conn($PORT, timeout=10)
    c.reply()
    c.code(b'EHLO client.example')
    for i in range(k):
        n += 1
        if '${STEP:-}' and n > 1:
            open('$T/at.%d' % n, 'w').close()
            end = time.time() + 20
            while not os.path.exists('$T/go.%d' % n) and time.time() < end: time.sleep(0.05)
        r = codes(c, [b'MAIL FROM:<a@client.example>', b'RCPT TO:<b@remote.example>', b'DATA'])
        c.send(b'Subject: keep %d\r\n\r\nbody\r\n.\r\n' % n)
        print('%s:%s' % (c.reply()[0], conns()), flush=True)
    c.code(b'QUIT')
    c.close()
"
}
# same LINES: every line's code 250, and one inode, the same throughout
same () { printf '%s\n' "$1" | awk -F: '$1 != 250 || $2 ~ /,|none/ { bad = 1 } { seen[$2] = 1 } END { n = 0 ; for (i in seen) n++ ; exit !(n == 1 && !bad) }' ; }
# subjects: the Subject numbers of the queued messages, sorted, one line
subjects () { cat "$SPOOL"/queue/*/* 2>/dev/null | sed -n 's/^Subject: keep //p' | sort -n | tr '\n' ' ' ; }

start_enqlisten
ok $? "enqueue-listen ready"

# ---- one SMTP connection, three messages (smtp-session exec'd, or -f with KETCH_LISTEN_FLAGS) ----
start_listen -g 2
out=$(msgs 3)
is "$(printf '%s\n' "$out" | cut -d: -f1 | tr '\n' ' ')" "250 250 250 " "three messages over one SMTP connection: each 250 (through the socket: no enqueue here)"
same "$out"
ok $? "... over one connection to enqueue-listen, kept from the first message to the last" || diag "$out"
is "$(subjects)" "1 2 3 " "... each queued once"
stop_listen
wait_for 5 sh -c "[ \"\$(ss -xHn | awk -v p='$SOCK' '\$5 == p' | wc -l)\" = 0 ]"
ok $? "the session gone, its connection is ended too (the worker saw its end of file)"

# ---- smtp-listen -f: three SMTP connections one after another, one session process ----
rm -f "$SPOOL"/queue/*/*
: > "$T/smtp.log"
start_listen -g 2 -f
out=$(msgs 1 1 2)
is "$(printf '%s\n' "$out" | cut -d: -f1 | tr '\n' ' ')" "250 250 250 250 " "-f: three SMTP connections in a row, four messages: each 250"
same "$out"
ok $? "... over one connection to enqueue-listen: the reused session process kept it from client to client" || diag "$out"
# the process of each session: the last 6 hex digits of its session id (lib/queue.c)
is "$(sed -n 's/^[0-9a-f]\{15\}\([0-9a-f]\{6\}\)[0-9a-f]\{3\} connect .*/\1/p' "$T/smtp.log" | sort -u | wc -l | tr -d ' ')" 1 "... served by one session process"
is "$(subjects)" "1 2 3 4 " "... each queued once"

# ---- a worker killed between two messages: the next one reconnects ----
rm -f "$SPOOL"/queue/*/* "$T"/at.* "$T"/go.*
STEP=1 msgs 3 > "$T/kill.out" &
MPID=$!
wait_for 10 test -e "$T/at.2"
first=$(sed -n 1p "$T/kill.out")
# every worker: the idle ones are replaced, the busy one is the kept connection's
killed=$(pgrep -P "$EPID")
for p in $killed ; do kill -9 "$p" ; done
# reaped by the listener (and so forgotten: no connection handed to a dead one)
for p in $killed ; do wait_for 5 sh -c "! kill -0 $p" ; done
wait_for 5 sh -c "[ \"\$(ss -xHn | awk -v p='$SOCK' '\$5 == p' | wc -l)\" = 0 ]"
ok "$([ $? = 0 ] && same "$first" && echo 0 || echo 1)" "a worker killed between two messages: its kept connection is gone"
touch "$T/go.2"
wait_for 10 test -e "$T/at.3"
touch "$T/go.3"
wait "$MPID"
out=$(cat "$T/kill.out")
is "$(printf '%s\n' "$out" | cut -d: -f1 | tr '\n' ' ')" "250 250 250 " "... the next message still goes in (250), and the one after"
second=$(sed -n 2p "$T/kill.out")
ok "$([ "${first#*:}" != "${second#*:}" ] && same "$(sed -n '2,3p' "$T/kill.out")" && echo 0 || echo 1)" "... over a new connection, kept again" || diag "$out"
is "$(subjects)" "1 2 3 " "... nothing lost, nothing queued twice"

# ---- enqueue-listen restarted between two messages ----
rm -f "$SPOOL"/queue/*/* "$T"/at.* "$T"/go.*
STEP=1 msgs 2 > "$T/restart.out" &
MPID=$!
wait_for 10 test -e "$T/at.2"
t0=$(date +%s)
kill "$EPID"
wait_for 10 sh -c "! kill -0 $EPID"
ok $? "enqueue-listen stopped with a kept connection idle: its worker, told to go, ends it"
is "$(( $(date +%s) - t0 < 5 )):$(grep -c 'ending the remaining workers' "$T/enq.log")" "1:0" "... at once, not at the end of the grace (no worker killed)"
start_enqlisten
ok $? "enqueue-listen started again"
touch "$T/go.2"
wait "$MPID"
out=$(cat "$T/restart.out")
is "$(printf '%s\n' "$out" | cut -d: -f1 | tr '\n' ' ')" "250 250 " "the session's next message goes to the new enqueue-listen (250)"
is "$(subjects)" "1 2 " "... each message queued once"

# ---- the idle limit (-k 1) ----
kill "$EPID" ; wait "$EPID" 2>/dev/null
start_enqlisten -k 1
rm -f "$SPOOL"/queue/*/* "$T"/at.* "$T"/go.*
STEP=1 msgs 2 > "$T/idle.out" &
MPID=$!
wait_for 10 test -e "$T/at.2"
first=$(sed -n 1p "$T/idle.out")
wait_for 10 sh -c "[ \"\$(ss -xHn | awk -v p='$SOCK' '\$5 == p' | wc -l)\" = 0 ]"
ok "$([ $? = 0 ] && same "$first" && echo 0 || echo 1)" "-k 1: a kept connection without a request for a second is ended by its worker"
touch "$T/go.2"
wait "$MPID"
out=$(cat "$T/idle.out")
is "$(printf '%s\n' "$out" | cut -d: -f1 | tr '\n' ' ')" "250 250 " "... the session's next message goes in over a new one (250)"
is "$(subjects)" "1 2 " "... each message queued once"
stop_listen
check "no worker died or was refused along the way but the killed ones" sh -c "! grep -q 'refused\\|exited' '$T/enq.log'"
