#!/bin/sh
# valgrind (memcheck): smtp-listen with its smtp-session children and the
# scheduler (with local-spawn when root) run a short load clean: no
# invalid read or write, no use of uninitialised memory (--error-exitcode),
# and no leak that grows with the load: the memory main() still holds
# when it returns shows as "definitely lost" once its frame is gone, so
# the test compares runs instead: the scheduler after 7 deliveries and
# after 47, a short session and one of 300 commands.
# enqueue and local-deliver are not traced (each run costs valgrind's
# start-up; a delivery is a child local-spawn forks without an exec, which
# --child-silent-after-fork keeps quiet, or its leak report would be
# local-spawn's memory); they are short-lived and covered by check-asan.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp-lib.sh"
[ -n "${KETCH_SANITIZED:-}" ] && skip_all "valgrind does not run ASan builds"
plan 12
need valgrind valgrind

U=$(test_user kv) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
h=$(echo 'correct horse' | ketch-passwd)
printf 'alice:%s\n' "$h" > "$T/auth"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/k.pem" -out "$T/c.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1
printf 'team: %s, %s/mail/team.mbox\n' "$U" "$T" > "$T/aliases"
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT starttls plain-auth" "auth-table $T/auth" \
  "certificate $T/c.pem key $T/k.pem" "deliver maildir $T/mail/%u" "aliases $T/aliases" \
  "retry local 1s" "rescan 2s"
newaliases -C "$CONF"
VG="valgrind -q --vgdb=no --num-callers=30 --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=none --trace-children=yes --child-silent-after-fork=yes --trace-children-skip=*/enqueue,*/local-deliver"
$VG --log-file="$T/vg.listen.%p" smtp-listen -C "$CONF" -d 3 3>"$T/ready" 2>>"$T/smtp.log" &
LPID=$!
at_exit "kill $LPID 2>/dev/null"
$VG --log-file="$T/vg.sched.%p" scheduler -C "$CONF" -d 3 3>"$T/sready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 30 test -s "$T/ready"
ok $? "smtp-listen under valgrind is ready"
wait_for 30 test -s "$T/sready"
ok $? "the scheduler under valgrind is ready"

# the load: plain, pipelined, TLS, AUTH (good and bad), junk commands, an alias
r=$(py "
import base64
out = []
for i in range(3):
    c = Conn($PORT, timeout=30); c.reply()
    c.code(b'EHLO v.example')
    c.send(b'MAIL FROM:<s@remote.example>\r\nRCPT TO:<$U@test.example>\r\nRCPT TO:<team@test.example>\r\nRCPT TO:<nobody-here@test.example>\r\nDATA\r\n')
    for k in range(4): c.reply()
    out.append(c.reply()[0])
    c.send(b'Subject: vg %d\r\n\r\n.leading dot\r\n' % i + b'x' * 900 + b'\r\n.\r\n')
    out.append(c.reply()[0])
    c.code(b'BOGUS command'); c.code(b'RCPT TO:<x@y>'); c.code(b'MAIL FROM:<bad address')
    out.append(c.code(b'QUIT'))
c = Conn($PORT, timeout=30); c.reply(); c.code(b'EHLO v.example')
out.append(c.code(b'AUTH PLAIN ' + base64.b64encode(b'\0alice\0wrong')))
out.append(c.code(b'AUTH PLAIN ' + base64.b64encode(b'\0alice\0correct horse')))
out.append(c.code(b'STARTTLS'))
c.wrap(); c.code(b'EHLO v.example')
out.append(c.code(b'MAIL FROM:<s@remote.example>')); out.append(c.code(b'RCPT TO:<$U@test.example>'))
out.append(c.code(b'DATA'))
c.send(b'Subject: vg tls\r\n\r\nover tls\r\n.\r\n')
out.append(c.reply()[0]); out.append(c.code(b'QUIT'))
c = Conn($PORT, timeout=30); c.reply(); c.send(b'EHLO x\r\nMAIL FROM:<a@b.example>\r\n'); c.close()
print(' '.join(map(str, out)))")
is "$r" "354 250 221 354 250 221 354 250 221 535 235 220 250 250 354 250 221" "the load's replies"
enough () { [ "$(maildir_count "$T/mail/$U/new")" -ge 7 ] && [ "$(count_entries)" = 0 ] ; }
wait_for 40 enough
ok $? "every message delivered (7 copies), the queue empty"
# lost FILE...: blocks "definitely lost" in these valgrind logs. Blocks,
# not bytes: main's buffers grow to the largest burst (the trigger, the
# request stream) and stay bounded, while a leak per event adds blocks.
lost () { cat "$@" 2>/dev/null | awk '/are definitely lost/ { gsub(",", "", $5) ; n += $5 } END { print n + 0 }' ; }
kill -TERM $SPID
wait_for 30 sh -c "! kill -0 $SPID 2>/dev/null"
wait $SPID ; src1=$?
la=$(lost "$T"/vg.sched.*)

# the second scheduler run: 40 more messages; and a long SMTP session
$VG --log-file="$T/vg.sched2.%p" scheduler -C "$CONF" -d 3 3>"$T/sready2" 2>"$T/sched2.log" &
SPID=$!
wait_for 30 test -s "$T/sready2"
i=0
while [ $i -lt 40 ] ; do
  printf 'Subject: more %s\n\nx\n' $i | enqueue -C "$CONF" -f s@remote.example "$U@test.example" >/dev/null
  i=$((i + 1))
done
r=$(py "
c = Conn($PORT, timeout=60); c.reply(); c.code(b'EHLO long.example')
n = 0
for k in range(3):
    c.code(b'MAIL FROM:<s@remote.example>')
    for j in range(90):
        n += c.code(b'RCPT TO:<$U@test.example>') == 250
    c.code(b'NOOP'); c.code(b'RSET')
print(n, c.code(b'QUIT'))")
is "$r" "270 221" "a session of 300 commands"
enough2 () { [ "$(maildir_count "$T/mail/$U/new")" -ge 47 ] && [ "$(count_entries)" = 0 ] ; }
wait_for 60 enough2
ok $? "40 more messages delivered"
kill -TERM $LPID $SPID
wait_for 30 sh -c "! kill -0 $LPID 2>/dev/null && ! kill -0 $SPID 2>/dev/null"
ok $? "both stop on SIGTERM"
wait $LPID ; lrc=$?
wait $SPID ; src=$?
is "$lrc:$src1:$src" "0:0:0" "exit codes 0 (99 would be a memory error)"
lb=$(lost "$T"/vg.sched2.*)
# main's buffers still held at exit count as lost, and which ones were
# ever allocated depends on the paths a run took (a retry, a bounce): a
# block or two either way. A leak per message would be 40 blocks or more.
check "the scheduler and local-spawn lose no block per message ($la blocks at exit after 7 deliveries, $lb after 47)" test "$lb" -le $((la + 4))
sessions=$(ls "$T"/vg.listen.* | grep -v "vg.listen.$LPID\$")
min=$(for f in $sessions ; do lost "$f" ; done | sort -n | head -1)
max=$(for f in $sessions ; do lost "$f" ; done | sort -n | tail -1)
check "sessions: no block lost per command ($min to $max blocks, the session of 300 commands included)" test "$max" -le $((min + 4))
n=$(ls "$T"/vg.* 2>/dev/null | wc -l)
check "valgrind logs written for $n processes (listener, sessions, scheduler)" test "$n" -ge 8
errs=$(grep -h -v -e 'are definitely lost' -e '^==[0-9]*== *$' -e '^==[0-9]*==    \(at\|by\) ' "$T"/vg.* 2>/dev/null | head -40)
is "$errs" "" "no memory error reported in any process"
[ -n "$errs" ] && grep -h -A12 -e 'Invalid' -e 'uninitialised' -e 'Conditional' "$T"/vg.* | head -60 | sed 's/^/# /'
done_testing
