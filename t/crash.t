#!/bin/sh
# Crash consistency: a supervised instance (s6-svscan, ketch-services)
# takes mail over SMTP from parallel clients while t/crash.py SIGKILLs, at
# random moments, SMTP sessions, smtp-listen, enqueue-listen and its
# enqueue children, the scheduler,
# local-spawn and local-deliver. Nothing acknowledged is lost, nothing is
# corrupted, duplicates stay within spool-layout/SPOOL section 6, and the
# spool is empty after recovery.
# Bounded by default (300 messages, about a minute); `make crashtest` runs
# a longer one: CRASH_N, CRASH_PARALLEL, CRASH_SEND_TIME, CRASH_DRAIN,
# CRASH_SEED.
. "$(dirname "$0")/lib.sh"
plan 10
need s6-svscan s6

N=${CRASH_N:-300}
U=$(test_user kc) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "deliver maildir $T/mail/%u" \
  "retry local 1s" "retry max 2s" "rescan 2s" \
  "limit connections 200" "limit connections-per-client 200" "enqueue-socket $T/enqueue.sock"
ketch-services -C "$CONF" -l "$T/log" "$T/service" 2>/dev/null
# The services run smtp-listen -f; the run script gets KETCH_LISTEN_FLAGS
# instead, so that make check's first run (none) tests a session exec'd
# per connection and its second (-f) the forked sessions
sed -i "s|exec \"\\\$prog\" -f -C|exec \"\\\$prog\" ${KETCH_LISTEN_FLAGS:-} -C|" "$T/service/smtp-listen/run"
grep -q -- "\"\\\$prog\" ${KETCH_LISTEN_FLAGS:-} -C" "$T/service/smtp-listen/run" || bail "cannot set ${KETCH_LISTEN_FLAGS:-no flags} in smtp-listen's run script"

s6-svscan "$T/service" >"$T/svscan.log" 2>&1 &
svpid=$!
at_exit "killpid TERM $svpid ; wait_for 10 sh -c '! kill -0 $svpid 2>/dev/null'"
wait_for 10 s6-svok "$T/service/scheduler"
wait_for 10 s6-svok "$T/service/smtp-listen"
wait_for 10 s6-svok "$T/service/enqueue-listen"
check "the daemons are up and ready" s6-svwait -U -t 15000 "$T/service/smtp-listen" "$T/service/scheduler" "$T/service/enqueue-listen"

python3 "$top/t/crash.py" --port "$PORT" --svc "$T/service" --spool "$SPOOL" \
  --maildir "$T/mail/$U" --rcpt "$U@test.example" --n "$N" \
  --parallel "${CRASH_PARALLEL:-4}" --send-time "${CRASH_SEND_TIME:-25}" \
  --drain "${CRASH_DRAIN:-60}" ${CRASH_SEED:+--seed "$CRASH_SEED"} > "$T/crash.out" 2>"$T/crash.err"
rc=$?
# the whole verdict on stderr when it failed, so that CI's log shows why
if [ "$rc" = 0 ] ; then sed 's/^/# /' "$T/crash.out" ; else sed 's/^/# /' "$T/crash.out" >&2 ; fi
[ -s "$T/crash.err" ] && sed 's/^/# stderr: /' "$T/crash.err" | head -20
val () { sed -n "s/^$1=//p" "$T/crash.out" | head -1 ; }
is "$rc" 0 "the harness ran to its verdict"
acked=$(val acked)
check "most messages were acknowledged ($acked of $N)" test "${acked:-0}" -ge $((N / 2))
is "$(val lost)" 0 "no acknowledged message is lost"
is "$(val refused-5xx)" 0 "no client got a 5xx (only 4xx or a broken connection)"
is "$(val corrupted)" 0 "no delivered message is corrupted (body checksum)"
is "$(val leftovers)" 0 "the spool is empty after recovery"
# a duplicate needs a delivery that ended unrecorded: the scheduler,
# local-spawn or a local-deliver killed between the two copies
is "$(val duplicated-outside-window)" 0 "every duplicate ($(val duplicated)) lies in the window of SPOOL section 6"
zero=$(grep "^kills-[a-z-]*=0$" "$T/crash.out")
is "$zero" "" "every kind of process was killed at least once"
bad=$(grep -Eh "AddressSanitizer|runtime error|Assertion|: bug:|exitcode 101" "$T"/log/*/current 2>/dev/null | head -5)
is "$bad" "" "no program died of a bug (exit 101, assertion, sanitizer)"
done_testing
