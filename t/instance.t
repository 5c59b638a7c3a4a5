#!/bin/sh
# The embedded instance under s6: ketch-instance builds it (configuration
# that passes conf-check, spool, service directories), it is idempotent,
# s6-svscan runs it, the daemons (enqueue-listen too) become ready, a message sent with swaks
# lands in the Maildir, a killed daemon is restarted, the logs are
# written, and SIGINT stops everything. Each daemon stops on SIGINT as on
# SIGTERM and logs it. Then the runner as make run starts it: SIGINT to
# its process group (a terminal's Ctrl-C), SIGTERM to it, and SIGINT to
# the group of a runner started with SIGINT ignored (from a script) each
# end every process within a bound, every daemon logging its stop and
# every logger finishing its file (no @*.u at the next start).
. "$(dirname "$0")/lib.sh"
. "$top/t/instance-lib.sh"

plan 35
need s6-svscan s6
mk_instance
is "$?" 0 "ketch-instance setup: exit 0"
check "the configuration passes conf-check" conf-check -q -C "$INST/ketch.conf"
check "it listens on the chosen port" grep -qx "listen 127.0.0.1 port $PORT" "$INST/ketch.conf"
check "the spool exists" test -p "$INST/spool/trigger" -a -d "$INST/spool/ctl"
check "smtp-listen service: run, notification-fd, log/run" test -x "$SVC/smtp-listen/run" -a -x "$SVC/smtp-listen/log/run" -a -f "$SVC/smtp-listen/notification-fd"
check "scheduler service: run, notification-fd, log/run" test -x "$SVC/scheduler/run" -a -x "$SVC/scheduler/log/run" -a -f "$SVC/scheduler/notification-fd"
check "enqueue-listen service (the configuration names a socket)" sh -c "test -x '$SVC/enqueue-listen/run' && grep -qx 'enqueue-socket $INST/run/enqueue' '$INST/ketch.conf'"
check "run scripts pass -C and -d 3" grep -q -- '-C "$conf" -d 3' "$SVC/scheduler/run"
fonly () { grep -qF '"$prog" -f -C "$conf" -d 3' "$SVC/smtp-listen/run" && ! grep -qF '"$prog" -f' "$SVC/scheduler/run" ; }
check "smtp-listen runs with -f (README's figures are measured so), the scheduler without" fonly
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
wait_for 10 s6-svok "$SVC/enqueue-listen"
check "the daemons become ready (s6-svwait -U)" s6-svwait -U -t 15000 "$SVC/smtp-listen" "$SVC/scheduler" "$SVC/enqueue-listen"
check "enqueue-listen's socket is bound" test -S "$INST/run/enqueue"

wait_for 10 port_open 127.0.0.1 "$PORT"
send_mail 1
ok $? "swaks: the message is accepted on 127.0.0.1:$PORT" "$(cat "$T/swaks.1")"
wait_for 20 in_maildir 1
ok $? "the message lands in $me's Maildir in the instance"

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
wait_for 10 port_open 127.0.0.1 "$PORT"
send_mail 3
wait_for 20 in_maildir 3
ok $? "after the restarts, mail still flows"
wait_for 5 test -s "$INST/log/scheduler/current"
ok $? "the scheduler's log is written by s6-log"
check "log lines carry an ISO 8601 time" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+  ' "$INST/log/scheduler/current"

# nstop NAME: the stop lines in a daemon's logs
nstop () {
  case $1 in scheduler) _p=' scheduler stop$' ;; *) _p=" $1: info: stopped\$" ;; esac
  cat "$INST/log/$1"/@* "$INST/log/$1/current" 2>/dev/null | grep -c "$_p"
}
stops () { echo "$(nstop scheduler) $(nstop smtp-listen) $(nstop enqueue-listen)" ; }
# SIGINT, as s6-svc -i or a terminal sends it to a daemon's group
b=$(stops) ; set -- $b
spid=$(s6-svstat -o pid "$SVC/scheduler")
s6-svc -i "$SVC/scheduler"
wait_for 10 restarted scheduler "$spid"
ok $? "SIGINT: the scheduler stops and logs it (signal=INT, stop), s6 restarts it" \
  "$(grep -c 'signal=INT action=stop' "$INST/log/scheduler/current") signal=INT lines; stop lines before/after: $1 $(nstop scheduler)
$(tail -n 5 "$INST/log/scheduler/current")"
s6-svc -i "$SVC/smtp-listen" ; s6-svc -i "$SVC/enqueue-listen"
sl () { [ "$(nstop smtp-listen)" -gt "$2" ] && [ "$(nstop enqueue-listen)" -gt "$3" ] ; }
wait_for 10 sl $b
ok $? "SIGINT: smtp-listen and enqueue-listen stop and log it" "$(tail -n 3 "$INST/log/smtp-listen/current" "$INST/log/enqueue-listen/current")"

spid=$(s6-svstat -o pid "$SVC/scheduler")
killpid INT "$svpid"
gone () { ! kill -0 "$svpid" 2>/dev/null && ! kill -0 "$spid" 2>/dev/null ; }
wait_for 15 gone
ok $? "SIGINT stops s6-svscan and the daemons"
gone && wait "$svpid" 2>/dev/null

# perl -e "$PGRUN" INT|IGN COMMAND...: the command in a process group of
# its own, as a shell runs a job, with SIGINT at its default (a terminal's
# job) or ignored (a script's background job). Run directly, not from a
# function: the job's pid is then the command's.
PGRUN='my $m = shift ; $SIG{INT} = $SIG{QUIT} = ($m eq "IGN" ? "IGNORE" : "DEFAULT") ;
  setpgrp(0, 0) or die "setpgrp: $!" ; exec @ARGV or die "exec: $!"'
# tree PID: PID and every process below it
tree () {
  ps -eo pid=,ppid= | awk -v r="$1" '{ p[$1] = $2 }
    END { for (k in p) { x = k ; while (x != r && (x in p)) x = p[x] ; if (x == r) print k } }'
}
# alive PIDS: one of them still runs (a zombie does not)
alive () {
  for _p in $1 ; do
    _s=$(ps -o stat= -p "$_p" 2>/dev/null) || continue
    case $_s in Z*) ;; *) return 0 ;; esac
  done
  return 1
}
ucount () { ls "$INST"/log/*/@*.u 2>/dev/null | wc -l | tr -d ' ' ; }
# runner MODE SIGNAL WHAT: start ketch-instance run, then stop it (4 checks)
runner () {
  _u=$(ucount) ; set -- "$1" "$2" "$3" $(stops)
  KETCH_PORT=$PORT perl -e "$PGRUN" "$1" "$BIN/ketch-instance" run "$INST" >>"$T/runner.log" 2>&1 &
  rpid=$!
  at_exit "killpid TERM $rpid"
  wait_for 10 s6-svok "$SVC/scheduler" && wait_for 10 s6-svok "$SVC/smtp-listen" && wait_for 10 s6-svok "$SVC/enqueue-listen"
  check "$3: the instance is up" s6-svwait -U -t 15000 "$SVC/smtp-listen" "$SVC/scheduler" "$SVC/enqueue-listen"
  is "$(ucount)" "$_u" "$3: the loggers found finished files (no new @*.u)"
  pids=$(tree "$rpid") ; sleep 0.2
  case $2 in
    INT) kill -INT "-$rpid" ;;
    TERM) kill -TERM "$rpid" ;;
  esac
  wait_for 40 eval '! alive "$pids"'
  ok $? "$3: all $(echo $pids | wc -w) processes end within 40 s" "$(ps -o pid,stat,args -p "$(echo $pids | tr ' ' ,)")"
  alive "$pids" && kill -KILL $pids 2>/dev/null
  wait "$rpid" 2>/dev/null
  is "$(printf '%s x' "$(($4 + 1)) $(($5 + 1)) $(($6 + 1))" ; for s in scheduler smtp-listen enqueue-listen ; do test -x "$INST/log/$s/current" && echo y ; done | tr -d '\n')" \
    "$(stops) xyyy" "$3: each daemon logs its stop, each logger finishes its file"
}
runner INT INT "ketch-instance run, SIGINT to its process group (Ctrl-C)"
runner INT TERM "ketch-instance run, SIGTERM"
runner IGN INT "ketch-instance run from a script (SIGINT ignored), SIGINT to its group"
done_testing
