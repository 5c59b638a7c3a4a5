#!/bin/sh
# The scheduler over time: retries, the delay warning and expiry on a
# schedule shortened by configuration; hold, release and SIGALRM; a
# SIGKILL under load followed by a restart loses nothing.
. "$(dirname "$0")/lib.sh"
plan 19

U=$(test_user kr) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
cat > "$T/tempfail" <<'S'
#!/bin/sh
cat >/dev/null
echo x >> "$(dirname "$0")/mail/count.$LOCAL"
exit 111
S
chmod 755 "$T/tempfail"
printf 'later: |%s\nlater2: |%s\n' "$T/tempfail" "$T/tempfail" > "$T/aliases"
mkinstance "deliver maildir $T/mail/%u" "aliases $T/aliases" "retry local 1s" "retry max 2s" "warn 2s" "expire 5s" "rescan 1s"
newaliases -C "$CONF"
# start: and wait for readiness, so that start-up recovery never races an enqueue
start () {
  rm -f "$T/ready"
  scheduler -C "$CONF" -d 3 3>"$T/ready" 2>>"$T/sched.log" &
  SPID=$!
  at_exit "kill -9 $SPID 2>/dev/null"
  wait_for 10 test -s "$T/ready"
}
start
count () { { wc -l < "$T/mail/count.$1" ; } 2>/dev/null || echo 0 ; }
count_ge () { [ "$(count "$1")" -ge "$2" ] ; }

# retries, then the delay warning, then expiry and its bounce
printf 'Subject: slow\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" "later@test.example" >/dev/null
check "temporary failures are retried" wait_for 10 count_ge later 2
check "delay warning reaches the sender" wait_for 10 grep -qs 'Action: delayed' -r "$T/mail/$U/new"
check "expiry bounces the message" wait_for 15 grep -qs 'Action: failed' -r "$T/mail/$U/new"
f=$(grep -ls 'Action: failed' -r "$T/mail/$U/new" | head -1)
check "the expiry bounce is a multipart/report with status 5.4.7" python3 - "$f" <<'P'
import sys, email
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
assert m.get_content_type() == 'multipart/report'
blocks = [dict(b.items()) for b in m.get_payload()[1].get_payload()]
assert blocks[1]['Status'] == '5.4.7', blocks[1]
assert 'expired' in blocks[1]['Diagnostic-Code'], blocks[1]
P
check "exactly one delay warning" test "$(grep -l 'Action: delayed' -r "$T/mail/$U/new" | wc -l)" = 1
check "expiry logged" grep -q ' expire rcpt="|' "$T/sched.log"
n=$(count later)
sleep 2
is "$(count later)" "$n" "no attempt after expiry"

# hold and release through queue-ctl requests
ctl () { echo "$1" > "$SPOOL/ctl/$2.tmp" && mv "$SPOOL/ctl/$2.tmp" "$SPOOL/ctl/$2" && echo ctl > "$SPOOL/trigger" ; }
id=$(printf 'Subject: held\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" "later2+h@test.example")
check "attempted once" wait_for 10 count_ge later2+h 1
ctl "hold $id" c1
check "hold is recorded in the state file" wait_for 5 grep -q '^ketch-state 1	hold' "$(state_path "$id")"
# counted once no attempt is in flight (each attempt line has its result):
# under load the hold may land while the next retry already runs
settled () { [ "$(grep -c "^$id attempt " "$T/sched.log")" = "$(grep -c "^$id delivery " "$T/sched.log")" ] ; }
wait_for 10 settled
n=$(count later2+h) ; sleep 2.5
is "$(count later2+h)" "$n" "a held message is not attempted"
ctl "release $id" c2
check "released: attempted again" wait_for 10 count_ge later2+h $((n + 1))
ctl "remove $id" c3
check "removed without a bounce" wait_for 10 sh -c "! test -e '$(entry_path "$id")'"

# SIGKILL under load, restart: nothing lost
N=60
base=$(maildir_count "$T/mail/$U/new")
i=0 ; while [ $i -lt $N ] ; do
  printf 'Subject: load %s\n\nx\n' $i | enqueue -C "$CONF" -f "s@remote.example" "$U@test.example" >/dev/null
  [ $i = 20 ] && kill -9 $SPID
  i=$((i + 1))
done
check "the killed scheduler is gone" sh -c "! kill -0 $SPID 2>/dev/null"
start
# duplicates are possible (killed between a delivery and its state write), losses are not
uniq () { grep -h '^Subject: load' -r "$T/mail/$U/new" | sort -u | wc -l ; }
all_arrived () { [ "$(uniq)" -ge "$N" ] ; }
check "all $N messages delivered after the restart" wait_for 30 all_arrived
is "$(uniq)" "$N" "every message arrived (counted by subject)"
empty () { [ "$(count_entries)" = 0 ] ; }
check "the queue is empty" wait_for 10 empty

# a ctl request left while the scheduler is down is applied at start-up; a hold survives restarts
id2=$(printf 'Subject: held2\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" "later2+k@test.example")
wait_for 10 count_ge later2+k 1
stop () { kill -TERM $SPID ; wait_for 10 sh -c "! kill -0 $SPID 2>/dev/null" ; }
stop
echo "hold $id2" > "$SPOOL/ctl/c9"
start
check "a ctl request found at start-up is applied" wait_for 5 grep -q '^ketch-state 1	hold' "$(state_path "$id2")"
n=$(count later2+k)
stop ; start ; sleep 2
is "$(count later2+k)" "$n" "still held after a restart"
ctl "release $id2" c10
check "released after the restart: attempted again" wait_for 10 count_ge later2+k $((n + 1))
kill -TERM $SPID
done_testing
