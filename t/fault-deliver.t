#!/bin/sh
# Injected faults under a supervised instance (s6): fsync and rename
# failures in local-deliver and in the scheduler (LD_PRELOAD shim, turned
# on and off while the daemons run), an unreadable Maildir, spool bucket
# directories removed under a running scheduler. Each time: a temporary
# failure, nothing lost, no duplicate, and delivery resumes by itself once
# the fault is gone.
. "$(dirname "$0")/lib.sh"
SHIM=$BUILD/t/failsys.so
[ -f "$SHIM" ] || skip_all "no fault shim built"
[ -n "${KETCH_SANITIZED:-}" ] && skip_all "LD_PRELOAD does not mix with the ASan runtime"
plan 27
need s6-svscan s6

U=$(test_user kf) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
mkinstance "deliver maildir $T/mail/%u" "retry local 1s" "retry max 1s" "rescan 1s"
ketch-services -C "$CONF" -l "$T/log" "$T/service" 2>/dev/null
FAULT=$T/fault
env LD_PRELOAD="$SHIM" KETCH_FAIL_FILE="$FAULT" s6-svscan "$T/service" >"$T/svscan.log" 2>&1 &
svpid=$!
at_exit "killpid TERM $svpid ; wait_for 10 sh -c '! kill -0 $svpid 2>/dev/null'"
wait_for 10 s6-svok "$T/service/scheduler"
check "the scheduler is up under the shim" s6-svwait -U -t 15000 "$T/service/scheduler"

LOG=$T/log/scheduler/current
n=0
# send TAG: one message with that subject, through enqueue (not a target)
send () { printf 'Subject: %s\n\nbody %s\n' "$1" "$1" | enqueue -C "$CONF" -f s@test.example "$U@test.example" ; }
copies () { grep -l "^Subject: $1\$" "$T"/mail/$U/new/* 2>/dev/null | wc -l | tr -d ' ' ; }
has_copy () { [ "$(copies "$1")" -ge 1 ] ; }
temp_logged () { grep -q "^.*$1 delivery .*result=temp" "$LOG" ; }
spool_empty () { [ "$(count_entries)" = 0 ] && [ -z "$(find "$SPOOL/state" -type f)" ] ; }

# fault PROG CALL: deliveries fail while it is on, succeed after
fault () {
  echo "$1 $2" > "$FAULT"
  id=$(send "fault-$1-$2")
  wait_for 15 temp_logged "$id"
  ok $? "$1: $2 fails: the delivery is deferred (result=temp)"
  sleep 1.5
  is "$(copies "fault-$1-$2")" 0 "$1: $2 fails: nothing delivered yet"
  rm -f "$FAULT"
  wait_for 15 has_copy "fault-$1-$2"
  ok $? "$1: $2 works again: delivered by the next retry"
  wait_for 10 spool_empty
  is "$(copies "fault-$1-$2")" 1 "$1: $2: exactly one copy, the spool is empty"
}
fault local-deliver fsync
fault local-deliver rename
fault local-deliver write

# the scheduler's own writes: the state file (a deferred delivery needs
# one) and the directory fsync after "done"
mkdir -p "$T/mail/$U"
chmod 000 "$T/mail/$U"
id=$(send unreadable)
wait_for 15 temp_logged "$id"
ok $? "an unreadable Maildir (mode 000): deferred"
echo "scheduler fsync" > "$FAULT"
sleep 3
chmod 700 "$T/mail/$U"
sleep 2
rm -f "$FAULT"
wait_for 20 has_copy unreadable
ok $? "Maildir readable again, scheduler fsync works again: delivered"
wait_for 10 spool_empty
is "$(copies unreadable)" 1 "exactly one copy, the spool is empty"

echo "scheduler rename" > "$FAULT"
chmod 000 "$T/mail/$U"
id=$(send sched-rename)
wait_for 15 temp_logged "$id"
ok $? "the scheduler cannot rename its state file: the delivery still counts as deferred"
chmod 700 "$T/mail/$U"
sleep 2
rm -f "$FAULT"
wait_for 20 has_copy sched-rename
ok $? "rename works again: delivered"
wait_for 10 spool_empty
is "$(copies sched-rename)" 1 "exactly one copy, the spool is empty"

# bucket directories removed under the running scheduler (the spool is
# empty now): the next state write and the next commit make them again
rm -rf "$SPOOL"/state/*
chmod 000 "$T/mail/$U"
id=$(send bucket-state)
st=$(state_path "$id") ; b=$(basename "$(dirname "$st")")
wait_for 15 temp_logged "$id"
ok $? "every state/XX removed: the delivery is deferred"
wait_for 5 test -f "$st"
ok $? "the scheduler made state/$b again and recorded the deferral"
chmod 700 "$T/mail/$U"
wait_for 20 has_copy bucket-state
ok $? "and delivered once the Maildir is back"
wait_for 10 spool_empty
is "$(copies bucket-state)" 1 "exactly one copy, the spool is empty"
rm -rf "$SPOOL"/queue/*
id=$(send bucket-queue 2>"$T/enq.err")
ok $? "every queue/XX removed: enqueue makes the bucket again and commits"
wait_for 20 has_copy bucket-queue
ok $? "and the message is delivered"
check "the scheduler is still the same up instance" s6-svwait -U -t 5000 "$T/service/scheduler"
bad=$(grep -Eh "AddressSanitizer|runtime error|Assertion|: bug:" "$T"/log/*/current 2>/dev/null | head -5)
is "$bad" "" "no program died of a bug"
done_testing
