#!/bin/sh
# ISC license: see LICENSE.
# remote-send's batch mode (-b): several queued messages for one domain
# over one connection, one transaction each, per-job report lines, a
# message over SIZE, a peer hanging up midway, RSET after an abandoned
# transaction, an entry that cannot be read. Then the scheduler: messages
# queued while it is stopped go out over fewer connections than messages,
# a peer that drops the connection loses nothing, a 550 in the middle of
# a batch bounces only its recipient.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 39
need python3 python3

P=$(free_port)
mkinstance "route peer.test via 127.0.0.1:$P" "timeout connect 2s" "timeout command 10s" "timeout data 10s"

# q RCPT...: queue $T/msg for these recipients (nobody delivers: no scheduler yet), print the id
q () { enqueue -C "$CONF" -f s@me.test "$@" < "$T/msg" ; }

# job ID RCPT...: one job of a batch (t/spool.py), the header length read from the entry
job () {
  python3 - "$top/t" "$SPOOL" "$@" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import spool
root, qid, rcpts = sys.argv[2], sys.argv[3], sys.argv[4:]
entry = open(spool.entry_path(root, qid), 'rb').read()
sys.stdout.buffer.write(spool.job(qid, spool.head_length(entry), '-', 's@me.test', rcpts))
PY
}

# wire ID: the message of an entry as it must arrive after DATA
wire () {
  python3 - "$top/t" "$SPOOL" "$1" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import spool
entry = open(spool.entry_path(sys.argv[2], sys.argv[3]), 'rb').read()
body = entry[spool.head_length(entry):]
out = b''.join((b'.' + l if l.startswith(b'.') else l) + b'\r\n' for l in body.split(b'\n')[:-1])
sys.stdout.buffer.write(out + b'.\r\n')
PY
}

# rsb: remote-send -b peer.test in the spool, the batch in $T/batch; report in $T/out, log in $T/err
rsb () {
  ( cd "$SPOOL" && exec remote-send -C "$CONF" -b peer.test ) < "$T/batch" > "$T/out" 2> "$T/err"
  rc=$?
  [ "$rc" = 0 ] || diag "remote-send -b exited $rc: $(cat "$T/err")"
}

printf 'From: a@me.test\nTo: b@peer.test\nSubject: one\n\n.dot first\nhello\n' > "$T/msg"
id1=$(q a@peer.test bad@peer.test)
printf 'From: a@me.test\nSubject: two\n\nsecond\n' > "$T/msg"
id2=$(q c@peer.test)
id3=$(q d@peer.test e@peer.test)

mkdir "$T/d1"
peer p1 127.0.0.1 "$P" --rcpt "bad@peer.test=550 5.1.1 no such user" --data-dir "$T/d1"
{ job "$id1" a@peer.test bad@peer.test ; job "$id2" c@peer.test ; job "$id3" d@peer.test e@peer.test ; } > "$T/batch"
rsb
is "$(cat "$T/out")" "0 ok 0 250 2.0.0 Ok: queued
0 perm 1 550 5.1.1 no such user
1 ok 0 250 2.0.0 Ok: queued
2 ok 0 250 2.0.0 Ok: queued
2 ok 1 250 2.0.0 Ok: queued" "three jobs: a line per recipient, the job's index first"
is "$(grep -c CONNECT "$T/p1.log")/$(grep -c 'MAIL FROM' "$T/p1.log")/$(grep -c DATA-BYTES "$T/p1.log")/$(grep -c QUIT "$T/p1.log")" "1/3/3/1" "one connection, three transactions, one QUIT"
wire "$id1" > "$T/w1" ; wire "$id2" > "$T/w2" ; wire "$id3" > "$T/w3"
check "each message arrives intact, in order" sh -c "cmp -s '$T/d1/1' '$T/w1' && cmp -s '$T/d1/2' '$T/w2' && cmp -s '$T/d1/3' '$T/w3'"
check "no RSET between complete transactions" sh -c "! grep -q RSET '$T/p1.log'"
check "log lines carry each job's queue id" sh -c "grep -q '^$id1 transaction host=.* rcpts=2$' '$T/err' && grep -q '^$id2 transaction host=.* rcpts=1$' '$T/err' && grep -q '^$id3 transaction host=.* rcpts=2$' '$T/err'"
stop_last

# SIZE: the big one in the middle fails permanently, unsent; the connection goes on
printf 'Subject: big\n\n%0500d\n' 0 > "$T/msg"
idb=$(q f@peer.test)
peer p2 127.0.0.1 "$P" --size 300
{ job "$id2" c@peer.test ; job "$idb" f@peer.test ; job "$id2" g@peer.test ; } > "$T/batch"
rsb
is "$(cut -d' ' -f1-4 "$T/out" | tr '\n' ,)" "0 ok 0 250,1 perm 0 552,2 ok 0 250," "over SIZE: perm for that job only"
is "$(grep -c CONNECT "$T/p2.log")/$(grep -c DATA-BYTES "$T/p2.log")" "1/2" "the big message is not sent; one connection"
stop_last

# the peer hangs up after the 2nd message: the rest is temporary, nothing sent twice
peer p3 127.0.0.1 "$P" --drop-after 2
{ job "$id2" h1@peer.test ; job "$id2" h2@peer.test ; job "$id2" h3@peer.test ; job "$id2" h4@peer.test ; } > "$T/batch"
rsb
is "$(cut -d' ' -f1-3 "$T/out" | tr '\n' ,)" "0 ok 0,1 ok 0,2 temp 0,3 temp 0," "hang-up after two: two ok, two temp"
is "$(grep -c DATA-BYTES "$T/p3.log")" 2 "two messages sent, none twice"
stop_last

# without PIPELINING, every RCPT refused: the transaction is reset before the next MAIL
peer p4 127.0.0.1 "$P" --no-pipelining --rcpt "bad@peer.test=550 5.1.1 no such user"
{ job "$id2" bad@peer.test ; job "$id2" c@peer.test ; } > "$T/batch"
rsb
is "$(cut -d' ' -f1-3 "$T/out" | tr '\n' ,)" "0 perm 0,1 ok 0," "a refused job, then an accepted one"
check "RSET before the next MAIL" sh -c "grep -A1 '^C: RSET' '$T/p4.log' | grep -q '^S: 250'"
stop_last

# an entry that cannot be read: temporary, and the others go
peer p5 127.0.0.1 "$P"
missing=$(echo "$id2" | sed 's/^..../ffff/')
{ job "$id2" c@peer.test ; } > "$T/batch"
sed "s/$id2/$missing/" "$T/batch" > "$T/b0"
{ cat "$T/b0" ; job "$id2" i@peer.test ; } > "$T/batch"
rsb
is "$(cut -d' ' -f1-5 "$T/out" | tr '\n' ,)" "0 temp 0 451 4.3.0,1 ok 0 250 2.0.0," "an unreadable entry is temporary, the next job goes"
stop_last
printf 'garbage' > "$T/batch"
( cd "$SPOOL" && exec remote-send -C "$CONF" -b peer.test ) < "$T/batch" > "$T/out" 2> "$T/err"
is "$?/$(wc -c < "$T/out")" "111/0" "a garbled batch: exit 111, nothing reported"

# a stream: a job written while the connection is open rides on it; the end of the input ends it
# rss FIRST SECOND: remote-send -b with one job; the second is written once the
# first is reported (at most 20 s later, not 5: a loaded ASan remote-send;
# $T/early says it was), then the end of input
rss () {
  rm -f "$T/out" "$T/early"
  { job "$id2" "$1"
    _w=0 ; while [ $_w -lt 200 ] ; do [ -s "$T/out" ] && { : > "$T/early" ; break ; } ; sleep 0.1 ; _w=$((_w + 1)) ; done
    job "$id2" "$2" ; } | ( cd "$SPOOL" && exec remote-send -C "$CONF" -b peer.test ) > "$T/out" 2> "$T/err"
}
peer pa 127.0.0.1 "$P"
rss s1@peer.test s2@peer.test
check "the first job is delivered and reported before the second is written (read as they come, not to the end)" test -e "$T/early"
is "$(cut -d' ' -f1-4 "$T/out" | tr '\n' ,)" "0 ok 0 250,1 ok 0 250," "a job written after the first one's report: reported as the second of the run"
is "$(grep -c CONNECT "$T/pa.log")/$(grep -c 'C: QUIT' "$T/pa.log")/$(grep -c 'MAIL FROM' "$T/pa.log")" "1/1/2" "over the same connection, QUIT once the input ends"
stop_last
# the server hangs up on the idle connection: the next job gets a new one, and no failure
peer pb 127.0.0.1 "$P" --drop-after 1
rss s3@peer.test s4@peer.test
is "$(cut -d' ' -f1-4 "$T/out" | tr '\n' ,)" "0 ok 0 250,1 ok 0 250," "the server hung up while idle: the next job still goes"
is "$(grep -c CONNECT "$T/pb.log")" 2 "over a new connection"
stop_last

# the scheduler: batches of what is due, over one connection each
U=$(test_user kb) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
cat >> "$CONF" <<CONF
deliver maildir $T/mail/%u
retry remote 1s
retry max 2s
CONF
SPID=""
at_exit 'kill $SPID 2>/dev/null'
start_sched () {
  : > "$T/sready"
  scheduler -C "$CONF" -d 3 3>"$T/sready" 2>>"$T/sched.log" &
  SPID=$!
  wait_for 10 test -s "$T/sready"
}
stop_sched () { kill -TERM $SPID ; wait_for 20 sh -c "! kill -0 $SPID 2>/dev/null" ; wait $SPID 2>/dev/null ; SPID="" ; }
# qn N TAG RCPT...: N distinct messages queued for these recipients
qn () {
  _k=0 ; _n=$1 ; _t=$2 ; shift 2
  while [ $_k -lt $_n ] ; do
    printf 'From: %s@test.example\nSubject: %s %s\n\nmessage %s %s\n' "$U" "$_t" $_k "$_t" $_k | enqueue -C "$CONF" -f "$U@test.example" "$@" >/dev/null
    _k=$((_k + 1))
  done
}
empty () { [ "$(count_entries)" = 0 ] ; }
# bodies DIR: the Subject lines received, sorted, on one line
bodies () { cat "$1"/* | tr -d '\r' | grep '^Subject:' | sort | tr '\n' ' ' ; }

find "$SPOOL/queue" -type f -delete
mkdir "$T/d6"
peer p6 127.0.0.1 "$P" --rcpt "bad@peer.test=550 5.1.1 no such user" --data-dir "$T/d6"
qn 5 six a@peer.test
qn 1 six6 b@peer.test bad@peer.test
start_sched
check "six messages queued while stopped are all delivered" wait_for 30 empty
n=$(grep -c CONNECT "$T/p6.log")
check "over fewer connections than messages ($n)" test "$n" -lt 6
is "$(grep -c DATA-BYTES "$T/p6.log")/$(ls "$T/d6" | wc -l | tr -d ' ')" "6/6" "six transactions, six messages"
is "$(bodies "$T/d6")" "Subject: six 0 Subject: six 1 Subject: six 2 Subject: six 3 Subject: six 4 Subject: six6 0 " "each message intact, once"
check "the scheduler started a batch" grep -q 'attempt domain="peer.test" rcpts=[12] via=remote pid=[0-9]* job=2$' "$T/sched.log"
is "$(grep -c 'rcpt="[ab]@peer.test" result=ok attempt=1' "$T/sched.log")" 6 "each recipient's result recorded"
check "the 550 in the batch: that recipient fails" grep -q 'rcpt="bad@peer.test" result=perm attempt=1 text="550 5.1.1 no such user"' "$T/sched.log"
bounced () { grep -qs 'bad@peer.test' -r "$T/mail/$U/new" ; }
check "a bounce for it alone" wait_for 10 bounced
is "$(grep -c ' bounce to=' "$T/sched.log")/$(grep -o ' bounce to=.* rcpts=[0-9]*' "$T/sched.log" | sed 's/.*rcpts=//')" "1/1" "one bounce, one recipient"
stop_sched
stop_last

# a peer that hangs up after two messages per connection: the rest is retried, none lost or doubled
mkdir "$T/d7"
peer p7 127.0.0.1 "$P" --drop-after 2 --data-dir "$T/d7"
qn 5 seven c@peer.test
start_sched
check "five messages delivered through a peer hanging up every two" wait_for 40 empty
is "$(bodies "$T/d7")" "Subject: seven 0 Subject: seven 1 Subject: seven 2 Subject: seven 3 Subject: seven 4 " "each message once"
check "some were deferred, then retried" grep -q 'rcpt="c@peer.test" result=ok attempt=2' "$T/sched.log"

# a message alone for its domain goes at once, by itself
id8=$(printf 'Subject: alone\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" alone@peer.test)
check "a lone message is delivered at once" wait_for 10 grep -q "^$id8 delivery rcpt=\"alone@peer.test\" result=ok" "$T/sched.log"
check "at its first attempt" grep -q "^$id8 delivery rcpt=\"alone@peer.test\" result=ok attempt=1 " "$T/sched.log"
stop_sched
stop_last

# a message that falls due while a remote-send of its domain is idle joins it; idle 2 s, it ends
mkdir "$T/d10"
peer p10 127.0.0.1 "$P" --data-dir "$T/d10"
: > "$T/sched.log"
start_sched
qn 1 ten f@peer.test
check "a first message delivered" wait_for 10 grep -q 'rcpt="f@peer.test" result=ok' "$T/sched.log"
qn 1 eleven g@peer.test
check "a second one, queued right after" wait_for 10 grep -q 'rcpt="g@peer.test" result=ok' "$T/sched.log"
is "$(grep -c CONNECT "$T/p10.log")/$(grep -c 'MAIL FROM' "$T/p10.log")" "1/2" "over the first one's connection"
check "as the second job of the same remote-send" grep -q 'attempt domain="peer.test" rcpts=1 via=remote pid=[0-9]* job=2$' "$T/sched.log"
check "idle for STREAM_IDLE (2 s), it says QUIT" wait_for 10 grep -q 'C: QUIT' "$T/p10.log"
stop_sched
stop_last

# limit messages-per-connection 2: six due messages, batches of two at most
echo "limit messages-per-connection 2" >> "$CONF"
mkdir "$T/d9"
peer p9 127.0.0.1 "$P" --data-dir "$T/d9"
qn 6 nine d@peer.test
: > "$T/sched.log"
start_sched
check "six messages delivered with batches of two at most" wait_for 30 empty
nc=$(grep -c CONNECT "$T/p9.log") ; big=$(grep -c 'job=[3-9]' "$T/sched.log")
check "at least three connections for six messages ($nc), no batch over two ($big)" test "$nc" -ge 3 -a "$big" = 0 -a "$(ls "$T/d9" | wc -l | tr -d ' ')" = 6
stop_sched
