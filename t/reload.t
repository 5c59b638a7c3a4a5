#!/bin/sh
# ISC license: see LICENSE.
# What takes effect when (ketch.conf(5), "When a change takes effect").
# Rebuilt tables take
# effect at once, with no signal: a virtual-domain map (the session's
# RCPT answer and the delivery), the auth table, the aliases. A change
# of ketch.conf waits for ketch-reload (s6-svc -h on every service,
# here a stand-in that sends SIGHUP to the daemons this test started):
# an aliases line added, with newaliases run, still bounces before it
# (the issue's report), and after it a file alias is delivered, which
# needs local-spawn's copy of the configuration to be reloaded too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
[ "$(id -u)" = 0 ] || skip_all "local-spawn runs only under a scheduler started as root"
plan 18

U=$(test_user kr) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
PORT=$(free_port)
printf 'alice:%s\n' "$(echo pw-a | ketch-passwd)" > "$T/auth"
printf 'a@virt.example %s/mail/va\n' "$T" > "$T/vmap"
# its Maildirs are written as the map's owner: never root, never alias-user
chown "$U" "$T/vmap"
printf 'fileal: %s/mail/fileal.mbox\n' "$T" > "$T/aliases"
mkinstance "listen 127.0.0.1 port $PORT plain-auth" "auth-table $T/auth" "deliver maildir $T/mail/%u" \
  "retry local 1s" "virtual-domain virt.example map $T/vmap"
newaliases -C "$CONF"
start_listen
ok $? "smtp-listen ready"
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/sready"
ok $? "scheduler ready"

rcpt () { py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x')
print(codes(c, [b'MAIL FROM:<s@client.example>', b'RCPT TO:<$1>']).split()[-1])" ; }
# AUTH PLAIN for USER PASSWORD: the reply code
auth () { py "
import base64
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x')
print(c.code(b'AUTH PLAIN ' + base64.b64encode(b'\\0$1\\0$2')))" ; }
is "$(rcpt b@virt.example) $(auth bob pw-b)" "550 535" "before the tables change: b@virt.example unknown, bob unknown"

# the tables rebuilt, no signal
printf 'b@virt.example %s/mail/vb\n' "$T" >> "$T/vmap"
newaliases -C "$CONF"
printf 'bob:%s\n' "$(echo pw-b | ketch-passwd)" >> "$T/auth"
is "$(rcpt b@virt.example)" 250 "a rebuilt virtual map: the session accepts the new address at once"
is "$(auth bob pw-b)" 235 "an edited auth table: the new user authenticates at once"
printf 'Subject: vb\n\nx\n' | enqueue -C "$CONF" -f s@remote.example b@virt.example >/dev/null
wait_for 10 sh -c "ls '$T/mail/vb/new/'* >/dev/null 2>&1"
ok $? "... and the scheduler delivers to it, no signal sent"

# a change of ketch.conf: the aliases line, newaliases run
printf 'aliases %s/aliases\n' "$T" >> "$CONF"
newaliases -C "$CONF"
printf 'Subject: early\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" fileal@test.example >/dev/null
wait_for 10 grep -q "fileal@test.example.*5\.1\.1" "$T/sched.log"
ok $? "an aliases line added, newaliases run: before SIGHUP the running scheduler still says 5.1.1"
# an exec'd session reads ketch.conf per connection; a forked one (-f) has the listener's copy
case "${KETCH_LISTEN_FLAGS:-}" in *-f*) want=550 ;; *) want=250 ;; esac
is "$(rcpt fileal@test.example)" $want "... a session knows the alias at once when exec'd, after SIGHUP when forked (-f)"
n0=$(grep -c 'reload result=ok' "$T/sched.log")
# the service directories of ketch-services, supervised: s6-svc and sv
# stand-ins record their arguments and send SIGHUP to the test's daemons
mkdir -p "$T/shim" "$T/svc/smtp-listen/supervise" "$T/svc/scheduler/supervise" "$T/svc/enqueue-listen/supervise"
touch "$T/svc/smtp-listen/supervise/status" "$T/svc/scheduler/supervise/status" "$T/svc/enqueue-listen/supervise/stat"
echo "$LPID" > "$T/svc/smtp-listen/pid" ; echo "$SPID" > "$T/svc/scheduler/pid"
for p in s6-svc sv ; do
  printf '#!/bin/sh
echo "%s $*" >> "%s/signalled"
for a ; do [ -f "$a/pid" ] && kill -HUP "$(cat "$a/pid")" ; done
exit 0
' "$p" "$T" > "$T/shim/$p"
  chmod 755 "$T/shim/$p"
done
cp "$CONF" "$T/bad.conf" && echo 'bogus-keyword x' >> "$T/bad.conf"
PATH=$T/shim:$PATH ketch-reload -C "$T/bad.conf" "$T/svc" 2>"$T/rl.err"
is "$?:$(cat "$T/signalled" 2>/dev/null)" "100:" "ketch-reload with a broken file: 100, no daemon signalled"
check "... and it says why" grep -q '^ketch-reload: fatal: .*has errors: nothing reloaded' "$T/rl.err"
PATH=$T/shim:$PATH ketch-reload -C "$CONF" "$T/svc"
ok $? "ketch-reload: exit 0"
is "$(tr '\n' '|' < "$T/signalled")" "s6-svc -h $T/svc/smtp-listen|s6-svc -h $T/svc/scheduler|sv hup $T/svc/enqueue-listen|" "... SIGHUP to every service (sv for one that runit supervises)"
k=0
while [ "$(rcpt fileal@test.example)" != 250 ] && [ $k -lt 50 ] ; do sleep 0.1 ; k=$((k + 1)) ; done
is "$(rcpt fileal@test.example)" 250 "after SIGHUP every session knows the alias"
wait_for 5 sh -c "[ \$(grep -c 'reload result=ok' '$T/sched.log') -gt $n0 ]"
ok $? "SIGHUP: the scheduler reloads"
printf 'Subject: late\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" fileal@test.example >/dev/null
wait_for 10 grep -q '^Subject: late' "$T/mail/fileal.mbox"
ok $? "after it, the alias to a file is delivered (local-spawn reloaded too)"
check "... with no refusal by local-spawn" sh -c "! grep -q 'refused a delivery request' '$T/sched.log'"

# the aliases rebuilt, no signal
printf 'second: %s/mail/second.mbox\n' "$T" >> "$T/aliases"
newaliases -C "$CONF"
printf 'Subject: second\n\nx\n' | enqueue -C "$CONF" -f s@remote.example second@test.example >/dev/null
wait_for 10 grep -q '^Subject: second' "$T/mail/second.mbox"
ok $? "a rebuilt aliases table: a new file alias delivered, no signal sent"
kill -0 "$SPID"
ok $? "the scheduler is still running"
done_testing
