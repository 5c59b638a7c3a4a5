#!/bin/sh
# The embedded instance under s6: ketch-instance builds it (configuration
# that passes conf-check, spool, service directories), it is idempotent,
# s6-svscan runs it, the daemons (enqueue-listen too) become ready, a message sent with swaks
# lands in the Maildir, a killed daemon is restarted, the logs are
# written, and SIGINT stops everything.
. "$(dirname "$0")/lib.sh"
. "$top/t/instance-lib.sh"
command -v s6-svscan >/dev/null || skip_all "s6 is not installed"

plan 21
mk_instance
is "$?" 0 "ketch-instance setup: exit 0"
check "the configuration passes conf-check" conf-check -q -C "$INST/ketch.conf"
check "it listens on the chosen port" grep -qx "listen 127.0.0.1 port $PORT" "$INST/ketch.conf"
check "the spool exists" test -p "$INST/spool/trigger" -a -d "$INST/spool/ctl"
check "smtp-listen service: run, notification-fd, log/run" test -x "$SVC/smtp-listen/run" -a -x "$SVC/smtp-listen/log/run" -a -f "$SVC/smtp-listen/notification-fd"
check "scheduler service: run, notification-fd, log/run" test -x "$SVC/scheduler/run" -a -x "$SVC/scheduler/log/run" -a -f "$SVC/scheduler/notification-fd"
check "enqueue-listen service (the configuration names a socket)" sh -c "test -x '$SVC/enqueue-listen/run' && grep -qx 'enqueue-socket $INST/run/enqueue' '$INST/ketch.conf'"
check "run scripts pass -C and -d 3" grep -q -- '-C "$conf" -d 3' "$SVC/scheduler/run"
check "log/run runs s6-log -b n20 s1000000 T" grep -q "s6-log -b n20 s1000000 T '$INST/log/scheduler'" "$SVC/scheduler/log/run"
cp "$INST/ketch.conf" "$T/conf.before"
echo "# an edit the operator made" >> "$INST/ketch.conf"
mk_instance
is "$?:$(tail -n 1 "$INST/ketch.conf")" "0:# an edit the operator made" "a second run reuses the instance and keeps its configuration"

s6-svscan "$SVC" >"$T/svscan.log" 2>&1 &
svpid=$!
at_exit "killpid TERM $svpid ; sleep 0.5"
wait_for 10 s6-svok "$SVC/scheduler"
wait_for 10 s6-svok "$SVC/smtp-listen"
check "the daemons become ready (s6-svwait -U)" s6-svwait -U -t 15000 "$SVC/smtp-listen" "$SVC/scheduler" "$SVC/enqueue-listen"
check "enqueue-listen's socket is bound" test -S "$INST/run/enqueue"

if [ $REAL = 1 ] ; then
  wait_for 10 port_open
  send_mail 1
  ok $? "swaks: the message is accepted on 127.0.0.1:$PORT" "$(cat "$T/swaks.1")"
  wait_for 20 in_maildir 1
  ok $? "the message lands in $me's Maildir in the instance"
else
  skip "no smtp-listen/scheduler yet: swaks"
  skip "no smtp-listen/scheduler yet: Maildir delivery"
fi

# restarted NAME OLDPID: supervised again, ready, under a new pid
restarted () { st=$(s6-svstat -o up,ready,pid "$SVC/$1") && [ "${st##* }" != "$2" ] && [ "$st" != "${st#true true }" ] ; }
pid1=$(s6-svstat -o pid "$SVC/scheduler")
killpid KILL "$pid1"
wait_for 10 restarted scheduler "$pid1"
ok $? "a killed scheduler is restarted by s6 and ready again"
pid2=$(s6-svstat -o pid "$SVC/smtp-listen")
killpid KILL "$pid2"
wait_for 10 restarted smtp-listen "$pid2"
ok $? "a killed smtp-listen is restarted by s6 and ready again"
if [ $REAL = 1 ] ; then
  wait_for 10 port_open
  send_mail 3
  wait_for 20 in_maildir 3
  ok $? "after the restarts, mail still flows"
else
  skip "no smtp-listen/scheduler yet: mail after the restarts"
fi
wait_for 5 test -s "$INST/log/scheduler/current"
ok $? "the scheduler's log is written by s6-log"
if [ $REAL = 1 ] ; then skip "real daemons: their arguments are not logged"
else check "under s6 the daemons get -d 3" grep -Eq "stand-in args=-C [^ ]+ketch.conf -d 3\$" "$INST/log/scheduler/current" ; fi
check "log lines carry an ISO 8601 time" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+  ' "$INST/log/scheduler/current"

spid=$(s6-svstat -o pid "$SVC/scheduler")
killpid INT "$svpid"
gone () { ! kill -0 "$svpid" 2>/dev/null && ! kill -0 "$spid" 2>/dev/null ; }
wait_for 15 gone
ok $? "SIGINT stops s6-svscan and the daemons"
done_testing
