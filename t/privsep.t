#!/bin/sh
# Privilege separation, shown (root only). Users: a queue user, an SMTP
# user and a mail user, made here and removed at exit. enqueue is
# installed as INSTALL says (owned by the queue user, mode 4711), and a
# set-uid enqueue reads only the default configuration, so the test runs
# in a private mount namespace (unshare -m) with an overlay on /etc that
# holds /etc/ketch/ketch.conf; the host's /etc is not touched. Checked:
# the uid and gid of every process (/proc/PID/status), that the session
# user cannot write the spool except through enqueue, cannot read the
# spool or a user's Maildir, that a set-uid enqueue ignores -C and
# KETCH_CONF, and that only smtp-keyd (root) reads the TLS key and the auth
# table: a session, which has STARTTLS and AUTH work through it, cannot.
if [ -z "${KETCH_PRIVSEP_INNER:-}" ] ; then
  # the outer part: users in the host's /etc, then the test in a namespace
  [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root" ; exit 0 ; }
  # a set-uid ASan program is not dumpable, and LeakSanitizer then fails its exit
  [ -n "${KETCH_SANITIZED:-}" ] && { echo "1..0 # SKIP a set-uid enqueue does not run under ASan" ; exit 0 ; }
  command -v unshare >/dev/null || { echo "1..0 # SKIP no unshare" ; exit 0 ; }
  Q=kq$$ D=kd$$ M=km$$
  for u in $Q $D $M ; do
    useradd -M -d /nonexistent -s /bin/false "$u" || { for v in $Q $D $M ; do userdel "$v" 2>/dev/null ; done ; echo "Bail out! useradd" ; exit 1 ; }
  done
  KETCH_PRIVSEP_INNER=1 KETCH_Q=$Q KETCH_D=$D KETCH_M=$M unshare -m --propagation private sh "$0"
  rc=$?
  # the users are this test's own: whatever still runs as them goes first,
  # or userdel refuses and they outlive the test
  for u in $Q $D $M ; do pkill -KILL -u "$u" 2>/dev/null ; done
  sleep 0.2
  for u in $Q $D $M ; do userdel "$u" >/dev/null 2>&1 ; done
  exit $rc
fi

. "$(dirname "$0")/lib.sh"
. "$top/t/smtp-lib.sh"
Q=$KETCH_Q D=$KETCH_D M=$KETCH_M
mkdir -p "$T/up/ketch" "$T/work"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/up,workdir=$T/work" /etc 2>/dev/null \
  || skip_all "cannot mount an overlay on /etc in a private namespace"
at_exit "umount -l /etc"
plan 42
need openssl openssl

as () { u=$1 ; shift ; setpriv --reuid="$u" --regid="$u" --init-groups "$@" ; }
# ids PID: "uid-real uid-effective gid-real gid-effective", names
ids () {
  awk '/^Uid:/ { u = $2 " " $3 } /^Gid:/ { g = $2 " " $3 } END { print u, g }' "/proc/$1/status" 2>/dev/null |
    while read a b c d ; do echo "$(id -nu "$a" 2>/dev/null || echo "$a") $(id -nu "$b" 2>/dev/null || echo "$b") $(getent group "$c" | cut -d: -f1) $(getent group "$d" | cut -d: -f1)" ; done
}
# fails DESCRIPTION COMMAND...: pass when the command fails
fails () { d=$1 ; shift ; if "$@" >/dev/null 2>&1 ; then ok 1 "$d" ; else ok 0 "$d" ; fi ; }
kids () { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' ; }
kid_named () { for k in $(kids "$1") ; do [ "$(cat /proc/$k/comm 2>/dev/null)" = "$2" ] && { echo "$k" ; return 0 ; } ; done ; return 1 ; }

# the programs, installed as INSTALL says
cp -p "$BIN"/* "$T/bin/" 2>/dev/null || { mkdir -p "$T/bin" && cp -p "$BIN"/* "$T/bin/" ; }
chown "$Q:$Q" "$T/bin/enqueue" && chmod 4711 "$T/bin/enqueue"
mkdir -p "$T/home/$M" && chown "$M:$M" "$T/home/$M" && chmod 700 "$T/home/$M"
usermod -d "$T/home/$M" "$M" 2>/dev/null

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 -subj /CN=localhost >/dev/null 2>&1
printf 'alice:%s\n' "$(echo 'correct horse' | "$T/bin/ketch-passwd")" > "$T/auth"
# the key and the auth table: root's alone, as INSTALL says (smtp-keyd reads them)
chown root:root "$T/tls.key" "$T/auth" && chmod 600 "$T/tls.key" "$T/auth"

SINK=$(free_port)
PORT=$(free_port)
printf 'slow: |/bin/sleep 3\n' > "$T/aliases"
chown "$M" "$T/aliases"
CONF=/etc/ketch/ketch.conf
SPOOL=$T/spool
cat > "$CONF" <<C
hostname mx.test.example
spool $SPOOL
programs $T/bin
local-domain test.example
queue-user $Q
smtp-user $D
listen 127.0.0.1 port $PORT starttls auth
certificate $T/tls.crt key $T/tls.key
auth-table $T/auth
deliver maildir ~/Maildir
aliases $T/aliases
route slow.example via 127.0.0.1:$SINK tls none
C
"$T/bin/mkspool" >/dev/null
"$T/bin/newaliases" && chown "$M" "$T/aliases.cdb"
check "conf-check accepts /etc/ketch/ketch.conf (the default)" "$T/bin/conf-check" -q

# a peer that accepts and says nothing: remote-send stays alive a while
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
end = time.time() + 50
while time.time() < end:
    s.settimeout(max(0.1, end - time.time()))
    try: c, _ = s.accept()
    except OSError: break
    time.sleep(6); c.close()' "$SINK" &
SINKPID=$!
at_exit "kill $SINKPID 2>/dev/null"

"$T/bin/smtp-listen" -d 3 ${KETCH_LISTEN_FLAGS:-} 3>"$T/ready" 2>>"$T/smtp.log" &
LPID=$!
at_exit "kill $LPID 2>/dev/null"
"$T/bin/scheduler" -d 3 3>"$T/sready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready"
wait_for 10 test -s "$T/sready"

is "$(ids $LPID)" "$D $D $D $D" "smtp-listen, started as root, runs as the SMTP user"
is "$(ids $SPID)" "$Q $Q $Q $Q" "the scheduler, started as root, runs as the queue user"
LS=$(kid_named $SPID local-spawn)
is "$(ids "${LS:-0}")" "root root root root" "local-spawn keeps root (it only runs local-deliver as others)"

# a session holding half a message: the session and its enqueue; the rest
# goes when the checks below have seen them ($T/go), not after a fixed 3 s
# that a loaded ASan session may spend reaching DATA (20 s at most)
py "
import os, time
c = Conn($PORT)
c.reply()
c.code(b'EHLO t'); c.code(b'MAIL FROM:<s@remote.example>'); c.code(b'RCPT TO:<$M@test.example>'); c.code(b'DATA')
c.send(b'Subject: held\r\n\r\nhalf\r\n')
end = time.time() + 20
while not os.path.exists('$T/go') and time.time() < end: time.sleep(0.05)
c.send(b'the rest\r\n.\r\n')
print(c.reply()[0])
" > "$T/held.out" &
HPID=$!
wait_for 5 kid_named $LPID smtp-session
SESS=$(kid_named $LPID smtp-session)
is "$(ids "${SESS:-0}")" "$D $D $D $D" "the SMTP session runs as the SMTP user"
wait_for 20 kid_named "${SESS:-0}" enqueue
ENQ=$(kid_named "${SESS:-0}" enqueue)
is "$(ids "${ENQ:-0}")" "$D $Q $D $D" "enqueue run by the session: real uid SMTP user, effective uid the queue user (set-uid)"
: > "$T/go"
wait $HPID
is "$(cat "$T/held.out")" 250 "the message is accepted"
# looked at as the mail user: the Maildir is that user's (0700)
arrived_as_m () { as "$M" sh -c "ls '$T/home/$M/Maildir/new/'* >/dev/null 2>&1" ; }
wait_for 10 arrived_as_m
ok $? "delivered into the mail user's Maildir"
f=$(ls "$T/home/$M/Maildir/new/"* 2>/dev/null | head -1)
is "$(stat -c '%U %a' "$f" 2>/dev/null)" "$M 600" "the mail file belongs to the mail user, mode 600"

# local-deliver as the alias file's owner, remote-send as the queue user
printf 'Subject: slow\n\nx\n' | as "$D" "$T/bin/enqueue" -f s@remote.example slow@test.example rr@slow.example > /dev/null
ld () { l=$(kid_named $SPID local-spawn) && kid_named "$l" local-deliver ; }
wait_for 10 ld
is "$(ids "$(ld)")" "$M $M $M $M" "local-deliver runs as the recipient (here the alias file's owner)"
wait_for 10 kid_named $SPID remote-send
is "$(ids "$(kid_named $SPID remote-send)")" "$Q $Q $Q $Q" "remote-send runs as the queue user"

# what the SMTP user can and cannot do
fails "the SMTP user cannot create a file in spool/tmp" as $D touch "$SPOOL/tmp/x"
b=$(ls "$SPOOL/queue" | head -1)
fails "the SMTP user cannot create a file in spool/queue/$b" as $D touch "$SPOOL/queue/$b/x"
fails "the SMTP user cannot list the spool" as $D ls "$SPOOL/queue"
fails "the SMTP user cannot write the trigger FIFO" as $D sh -c "echo x > $SPOOL/trigger"
fails "the SMTP user cannot list the mail user's Maildir" as $D ls "$T/home/$M/Maildir/new"
fails "the SMTP user cannot read a delivered message" as $D cat "$f"
id=$(printf 'Subject: direct\n\nx\n' | as "$D" "$T/bin/enqueue" -f s@remote.example "$M@test.example")
ok $? "but through the set-uid enqueue, the SMTP user queues a message"

# who authenticated (-a) is said only by root, the queue owner and the SMTP user (whose sessions pass it)
printf 'Subject: a\n\nx\n' | as "$M" "$T/bin/enqueue" -a anyone -f s@remote.example "$M@test.example" >/dev/null 2>"$T/a.err"
is "$?" 100 "a local user running the set-uid enqueue with -a: refused, 100"
check "... enqueue: fatal: says who may" grep -q '^enqueue: fatal: only root, the queue owner and the smtp-user may set the authenticated user' "$T/a.err"
printf 'Subject: a\n\nx\n' | as "$D" "$T/bin/enqueue" -a bob -f s@remote.example "$M@test.example" >/dev/null
ok $? "the SMTP user may"
printf 'Subject: a\n\nx\n' | "$T/bin/enqueue" -a bob -f s@remote.example "$M@test.example" >/dev/null
ok $? "and root may"
# vouching for the sender (-D: it may be DKIM-signed) is the session's word too; a hold anyone may ask
printf 'Subject: d\n\nx\n' | as "$M" "$T/bin/enqueue" -D -f s@remote.example "$M@test.example" >/dev/null 2>"$T/d.err"
is "$?" 100 "a local user running the set-uid enqueue with -D: refused, 100"
check "... enqueue: fatal: says who may" grep -q '^enqueue: fatal: only root, the queue owner and the smtp-user may ask for signing' "$T/d.err"
printf 'Subject: d\n\nx\n' | as "$D" "$T/bin/enqueue" -D -f s@remote.example "$M@test.example" >/dev/null
ok $? "the SMTP user may"
printf 'Subject: h\n\nx\n' | as "$M" "$T/bin/enqueue" -H mine -f s@remote.example "$M@test.example" >/dev/null
ok $? "a local user may queue a message held (-H)"
qf=$(entry_path "$id")
wait_for 5 test -n "$id"
is "$(find "$SPOOL" ! -user "$Q" | head -3)" "" "every file in the spool, enqueue's included, belongs to the queue user"

"$T/bin/scheduler" 2>"$T/sched2.err" </dev/null & p2=$!
wait_for 5 sh -c "! kill -0 $p2 2>/dev/null"
grep -q 'another scheduler holds' "$T/sched2.err"
ok $? "a second scheduler as root: refused by the lock, not by its mode"
as "$Q" "$T/bin/scheduler" 2>"$T/sched2.err" </dev/null & p2=$!
wait_for 5 sh -c "! kill -0 $p2 2>/dev/null"
grep -q 'another scheduler holds' "$T/sched2.err"
ok $? "as the queue user too (a root scheduler left spool/lock usable by its owner)"

# a set-uid enqueue ignores -C and KETCH_CONF: the caller may not choose the spool
mkdir -p "$T/evil" && chown "$D" "$T/evil"
printf 'spool %s/evil/spool\nprograms %s/bin\nlocal-domain test.example\n' "$T" "$T" > "$T/evil.conf"
as "$D" "$T/bin/mkspool" -C "$T/evil.conf" >/dev/null 2>&1
n0=$(find "$T/evil/spool" -type f 2>/dev/null | wc -l)
printf 'Subject: evil\n\nx\n' | as "$D" "$T/bin/enqueue" -C "$T/evil.conf" -f s@remote.example "$M@test.example" >/dev/null 2>&1
printf 'Subject: evil2\n\nx\n' | as "$D" env KETCH_CONF="$T/evil.conf" "$T/bin/enqueue" -f s@remote.example "$M@test.example" >/dev/null 2>&1
is "$(find "$T/evil/spool" -type f 2>/dev/null | wc -l)" "$n0" "set-uid enqueue ignores -C and KETCH_CONF (nothing in the caller's spool)"
evils () { [ "$(as "$M" sh -c "cat '$T/home/$M/Maildir/new/'*" | grep -c '^Subject: evil')" = 2 ] ; }
wait_for 10 evils
ok $? "both messages went to the default configuration's spool and were delivered"

# the TLS key and the auth table: root's, mode 600, read by smtp-keyd alone
KD=$(kid_named $LPID smtp-keyd)
is "$(ids "${KD:-0}")" "root root root root" "smtp-keyd, the listener's child, keeps root: it alone reads the key and the table"
# a session in TLS and authenticated, held open while we look at it (until
# $T/go2, 20 s at most: a fixed 3 s could end before a loaded run looked)
py "
import os, time
c = Conn($PORT)
c.reply(); c.code(b'EHLO t')
r = c.code(b'STARTTLS')
if r == 220:
    c.wrap(); r = c.code(b'EHLO t')
print(r, c.code(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U='))
sys.stdout.flush()
end = time.time() + 20
while not os.path.exists('$T/go2') and time.time() < end: time.sleep(0.05)
c.code(b'QUIT')" > "$T/tls.out" &
HPID=$!
wait_for 5 test -s "$T/tls.out"
is "$(cat "$T/tls.out")" "250 235" "STARTTLS and AUTH work for a session that cannot read the key or the table (smtp-keyd signs and checks)"
TS=""
for k in $(kids $LPID) ; do [ "$(cat /proc/$k/comm 2>/dev/null)" = smtp-session ] && TS=$k ; done
is "$(ids "${TS:-0}")" "$D $D $D $D" "that session runs as the SMTP user"
nfd=$(ls "/proc/${TS:-0}/fd" 2>/dev/null | wc -l)
n=$(ls -l "/proc/${TS:-0}/fd" 2>/dev/null | grep -c -e "$T/tls.key" -e "$T/auth")
r=1 ; [ "$nfd" -gt 2 ] && [ "$n" = 0 ] && r=0
ok $r "it holds no descriptor of the key or the table (of $nfd descriptors)"
: > "$T/go2"
wait $HPID
fails "the SMTP user cannot read the key" as $D cat "$T/tls.key"
fails "the SMTP user cannot read the auth table" as $D cat "$T/auth"
fails "the queue user cannot read the key" as $Q cat "$T/tls.key"
fails "the mail user cannot read the key" as $M cat "$T/tls.key"
r=$(py "
c = Conn($PORT)
c.reply(); c.code(b'EHLO t')
c.code(b'STARTTLS'); c.wrap(); c.code(b'EHLO t')
print(c.code(b'AUTH PLAIN AGFsaWNlAHdyb25n'))")
is "$r" 535 "a wrong password through smtp-keyd: 535"
cp "$T/tls.key" "$T/tls.key.good"
: > "$T/tls.key"
r=$(py "
c = Conn($PORT)
c.reply(); c.code(b'EHLO t')
print(c.code(b'STARTTLS'))")
is "$r" 454 "a key smtp-keyd cannot use: STARTTLS gets 454, not a broken handshake"
cat "$T/tls.key.good" > "$T/tls.key"
roots=$(for p in $LPID $SPID $(kids $LPID) $(kids $SPID) ; do [ "$p" = "$LS" ] || [ "$p" = "$KD" ] || ps -o user= -p "$p" ; done | grep -c '^root')
is "$roots" 0 "no process of the instance runs as root but local-spawn and smtp-keyd"
done_testing
