#!/bin/sh
# The same service directories under runit: runsvdir starts them (no
# notification-fd there: the run scripts leave -d out), a message lands
# in the Maildir, a killed daemon is restarted, SIGHUP stops everything.
. "$(dirname "$0")/lib.sh"
. "$top/t/instance-lib.sh"

plan 7
need runsvdir runit
mk_instance
is "$?" 0 "ketch-instance setup: exit 0"

runsvdir -P "$SVC" >"$T/runsvdir.log" 2>&1 &
rpid=$!
at_exit "killpid HUP $rpid ; sleep 0.5"
up () { sv status "$SVC/scheduler" "$SVC/smtp-listen" 2>/dev/null | grep -c '^run:' | grep -qx 2 ; }
wait_for 15 up
ok $? "runsv runs both services"
wait_for 10 port_open 127.0.0.1 "$PORT"
send_mail 2
ok $? "swaks: the message is accepted" "$(cat "$T/swaks.2")"
wait_for 20 in_maildir 2
ok $? "the message lands in the Maildir"
pidof_sv () { sv status "$1" | sed -n 's/^run: [^(]*(pid \([0-9]*\)).*/\1/p' ; }
pid1=$(pidof_sv "$SVC/scheduler")
killpid KILL "$pid1"
restarted () { p=$(pidof_sv "$SVC/scheduler") && [ -n "$p" ] && [ "$p" != "$pid1" ] ; }
wait_for 10 restarted
ok $? "a killed scheduler is restarted by runsv"
wait_for 5 test -s "$INST/log/scheduler/current"
ok $? "s6-log writes the log under runit too"
spid=$(pidof_sv "$SVC/scheduler")
killpid HUP "$rpid"
gone () { ! kill -0 "$rpid" 2>/dev/null && ! kill -0 "$spid" 2>/dev/null ; }
wait_for 15 gone
ok $? "SIGHUP to runsvdir stops the services"
done_testing
