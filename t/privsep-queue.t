#!/bin/sh
# ISC license: see LICENSE.
# Privilege boundaries of the queue's side (issue 16, points 3, 5, 8, 10),
# each shown by the attack it stops (root only: other users are made
# here and removed at exit).
#   mbox      in a sticky, world-writable spool (/var/mail, mode 1777)
#             another user's mbox, a hard link and a FIFO are refused (111,
#             nothing written); a symlink planted at the dot-lock's old
#             temporary name FILE.lock.PID does not truncate its target
#   bounce    a sender that looks like an option (MAIL FROM:<-C/x@y>) is
#             bounced all the same; a bounce that cannot be injected gives
#             up once the message is past twice its lifetime, logged
#   listen    smtp-listen as root without smtp-user refuses to start
#   enqueue   enqueue-listen: a dripping client is cut off at the deadline
#             (its tmp/ file goes), a uid over its connection cap is
#             refused while another is served, and a symlink at the
#             socket's directory is not followed by the chown
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (other users)"
plan 35

as () { _u=$1 ; shift ; setpriv --reuid="$_u" --regid="$_u" --init-groups "$@" ; }
mkuser () {
  useradd -M -d "$T/home/$1" -s /bin/false "$1" || bail "useradd $1"
  echo "$1" >> "$T/.test-users"
  mkdir -p "$T/home/$1" && chown "$1:" "$T/home/$1"
}
A=$(unused_user kpa) V=$(unused_user kpv)
mkuser "$A" ; mkuser "$V"
chmod 755 "$T/home"

# ---- mbox (point 3) ----
mkdir "$T/mail" && chmod 1777 "$T/mail"
printf 'Subject: secret\n\nfor the victim only\n' > "$T/msg"
chmod 644 "$T/msg"
deliver () { as "$V" local-deliver -- s@x.example "$V@test.example" "$V" "$T/home/$V" mbox "$1" < "$T/msg" ; }

# another user creates the victim's mbox first, readable by that user
as "$A" sh -c "umask 0 ; : > '$T/mail/$V' ; chmod 666 '$T/mail/$V'"
deliver "$T/mail/$V" 2>"$T/err"
is "$?" 111 "mbox created by another user: delivery refused, temporary (111)"
is "$(stat -c %s "$T/mail/$V"):$(ls "$T/mail" | grep -c lock)" "0:0" "... nothing written into it, no lock file left"
check "... and the refusal says why" grep -q "refusing the mbox $T/mail/$V: owned by another user" "$T/err"
rm -f "$T/mail/$V"

# a hard link to one of the victim's files (root makes it, as protected_hardlinks=0 would let anyone)
printf 'ssh-ed25519 AAAA key\n' > "$T/home/$V/keys" && chown "$V" "$T/home/$V/keys"
ln "$T/home/$V/keys" "$T/mail/$V"
deliver "$T/mail/$V" 2>"$T/err"
is "$?:$(cat "$T/home/$V/keys")" "111:ssh-ed25519 AAAA key" "a hard-linked mbox: refused (111), the linked file unchanged"
rm -f "$T/mail/$V"

# a FIFO at the name: refused at once, not waited on in open()
as "$A" mkfifo -m 666 "$T/mail/$V"
timeout -s KILL 5 setpriv --reuid="$V" --regid="$V" --init-groups local-deliver -- s@x.example "$V@test.example" "$V" "$T/home/$V" mbox "$T/mail/$V" < "$T/msg" 2>"$T/err"
is "$?" 111 "a FIFO at the mbox's name: refused (111) without blocking"
rm -f "$T/mail/$V"

# the old temporary lock name, FILE.lock.PID: a symlink planted there
# truncated its target (followed: fs.protected_symlinks is set to 0 here)
ps0=$(sysctl -n fs.protected_symlinks 2>/dev/null)
[ "$ps0" = 0 ] || sysctl -q -w fs.protected_symlinks=0 2>/dev/null
[ -n "$ps0" ] && [ "$ps0" != 0 ] && at_exit "sysctl -q -w fs.protected_symlinks=$ps0"
[ "$(sysctl -n fs.protected_symlinks 2>/dev/null)" = 0 ] || diag "fs.protected_symlinks is not 0: the symlink check proves less"
printf 'precious\n' > "$T/home/$V/precious" && chown "$V" "$T/home/$V/precious"
as "$V" sh -c "ln -s '$T/home/$V/precious' '$T/mail/$V.lock.'\$\$ ; exec local-deliver -- s@x.example '$V@test.example' '$V' '$T/home/$V' mbox '$T/mail/$V'" < "$T/msg" 2>"$T/err"
r=$?
is "$(cat "$T/home/$V/precious")" "precious" "a symlink at FILE.lock.PID: its target is not truncated"
is "$r" 0 "... and the delivery goes ahead under an unpredictable lock name"
rm -f "$T/mail/$V".lock.*

# and the ordinary case
deliver "$T/mail/$V" 2>/dev/null
r=$?
is "$r:$(stat -c '%U %a' "$T/mail/$V")" "0:$V 600" "a normal mbox delivery: 0, the mbox the user's own, mode 600"
check "... the message is in it" grep -q '^for the victim only$' "$T/mail/$V"
is "$(ls -A "$T/mail" | grep -v "^$V\$" | wc -l)" 0 "... and no lock or temporary file is left in the spool"

# ---- bounces (point 5) ----
# a sender that looks like an option: its bounce is injected (then waits
# for remote.example, routed to a port where nothing listens)
PORT=$(free_port) DEAD=$(free_port)
printf 'lost: nosuch%s\n' $$ > "$T/aliases"
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.0/8" "aliases $T/aliases" "route remote.example via 127.0.0.1:$DEAD tls none" \
  "retry local 1s" "retry remote 1h" "rescan 1s"
newaliases -C "$CONF"
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
start_listen && wait_for 10 test -s "$T/sready"
ok $? "an instance running (smtp-listen and the scheduler)"
r=$(py "
c = Conn($PORT, timeout=5)
c.reply()
print(codes(c, [b'EHLO client.example', b'MAIL FROM:<-C/x@remote.example>', b'RCPT TO:<lost@test.example>', b'DATA']), end=' ')
c.send(b'Subject: dash\r\n\r\nbody\r\n.\r\n')
print(c.reply()[0], c.code(b'QUIT'))")
is "$r" "250 250 250 354 250 221" "MAIL FROM:<-C/x@remote.example> to an alias for an unknown user: accepted"
wait_for 10 grep -q 'bounce to="-C/x@remote.example" rcpts=1 id=' "$T/sched.log"
ok $? "... its bounce is injected, to the sender as given"
orig=$(sed -n 's/^\([0-9a-f]\{24\}\) bounce to="-C.*/\1/p' "$T/sched.log" | head -1)
wait_for 10 grep -q "^$orig removed reason=done" "$T/sched.log"
ok $? "... and the message is done: nothing retries"
is "$(grep -c 'inject result=error' "$T/sched.log")" 0 "... no failed injection on the way"
stop_listen
kill "$SPID" ; wait "$SPID" 2>/dev/null

# an enqueue that always fails (enqueue -S refusing before its id): the
# bounce is given up at twice the lifetime, logged
mkdir "$T/badprog"
for p in "$BIN"/* ; do ln -s "$p" "$T/badprog/" ; done
rm "$T/badprog/enqueue" && printf '#!/bin/sh\nexit 111\n' > "$T/badprog/enqueue" && chmod 755 "$T/badprog/enqueue"
mkinstance "retry local 1s" "rescan 1s" "expire 2s" "warn 1d"
sed -i "s|^programs .*|programs $T/badprog|" "$CONF"
: > "$T/sched.log"
scheduler -C "$CONF" -d 3 3>"$T/sready2" 2>>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/sready2"
id=$(printf 'Subject: nobounce\n\nx\n' | "$BIN/enqueue" -C "$CONF" -f s@remote.example "nosuch$$@test.example")
wait_for 15 grep -q "^$id bounce result=expired" "$T/sched.log"
ok $? "a bounce enqueue cannot take: given up once the message is twice its lifetime old, logged"
wait_for 5 grep -q "^$id removed reason=done" "$T/sched.log"
ok $? "... and the message leaves the queue"
n=$(grep -c "^$id inject result=error" "$T/sched.log")
[ "$n" -ge 2 ] ; ok $? "... after the injection was retried ($n failures logged)"
kill "$SPID" ; wait "$SPID" 2>/dev/null

# ---- smtp-listen as root (point 8) ----
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT"
grep -v '^smtp-user' "$CONF" > "$T/nosu.conf"
timeout 5 smtp-listen -C "$T/nosu.conf" 2>"$T/err"
is "$?" 100 "smtp-listen as root without smtp-user: refuses to start (100)"
check "... saying why" grep -q "^smtp-listen: fatal: started as root without smtp-user in $T/nosu.conf" "$T/err"
start_listen
ok $? "with smtp-user root written out it starts"
check "... and warns" grep -q 'smtp-listen: warning: smtp-user is root' "$T/smtp.log"
stop_listen

# ---- enqueue-listen (point 10) ----
# as root the listener stays root (the spool here is root's): the clients are other users
mkdir -m 755 "$T/enq"
SOCK=$T/enq/sock
rm -rf "$T/spool"
mkinstance "enqueue-socket $SOCK" "timeout data 1s" "limit message-size 1000"
# drip MODE: one client as user A; a byte every 0.4 s (within the 1 s DATA
# timeout) for 8 s at most; MODE msg: after the id, big: after 3000 octets
# of message (over the size limit, so the worker drains). Prints the whole
# seconds until the server closed, then the code it answered.
drip () {
  as "$A" "$PY" - "$SOCK" "$1" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
t0 = time.time()
p = b'a@client.example\0\0b@remote.example\0'
s.sendall(b'%d:%s,' % (len(p), p))
s.recv(25)
if sys.argv[2] == 'big': s.sendall(b'Subject: big\r\n\r\n' + (b'x' * 70 + b'\r\n') * 42)
s.setblocking(False)
got, closed = b'', False
while time.time() < t0 + 8 and not closed:
    try:
        while True:
            b = s.recv(100)
            if not b: closed = True; break
            got += b
    except BlockingIOError: pass
    except OSError: closed = True
    try: s.send(b'x')
    except OSError: closed = True
    time.sleep(0.4)
print(int(time.time() - t0), got.split(b'\n')[0].decode())
EOF
}
start_enqlisten -t 2
ok $? "enqueue-listen ready, with a deadline of 2 s a connection (-t 2)"
# cut off by 5 s, not 3: the 2 s deadline, the client's 0.4 s between looks,
# and a loaded ASan run's lateness; a server that keeps a dripping client
# still fails, since it holds the connection the 8 s the drip lasts
r=$(drip msg)
case $r in [0-5]" 111") r=0 ;; *) diag "got: $r" ; r=1 ;; esac
ok $r "a client dripping its message: cut off at the deadline (111), not kept while it drips"
check "... logged" grep -q 'enqueue-listen: warning: refused (111): connection timed out' "$T/enq.log"
is "$(count_tmp):$(count_entries)" "0:0" "... its tmp/ file gone, nothing queued"
r=$(drip big)
case $r in [0-5]" 100") r=0 ;; *) diag "got: $r" ; r=1 ;; esac
ok $r "a client dripping after its refusal (message too big): the drain ends at the same deadline"
kill "$EPID" ; wait "$EPID" 2>/dev/null

# the per-uid cap: A holds 2 connections, a third is refused; V is served
start_enqlisten -t 30 -u 2
as "$A" "$PY" - "$SOCK" "$T/home/$A/held" <<'EOF' &
import socket, sys, time, os
conns = []
for i in range(2):
    s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
    p = b'a@client.example\0\0b@remote.example\0'
    s.sendall(b'%d:%s,' % (len(p), p))
    conns.append(s)
ids = [len(s.recv(25)) for s in conns]
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
p = b'a@client.example\0\0b@remote.example\0'
# the refusal is said at the accept, and the server may have closed
# before the request goes: EPIPE then, and the reply is still there to read
try: s.sendall(b'%d:%s,' % (len(p), p))
except OSError: pass
third = b''
try:
    while True:
        b = s.recv(200)
        if not b: break
        third += b
except OSError: pass
open(sys.argv[2] + '.tmp', 'w').write('%s %s' % (ids, third.decode().replace('\n', '~')))
os.rename(sys.argv[2] + '.tmp', sys.argv[2])
time.sleep(20)
EOF
HPID=$!
wait_for 10 test -s "$T/home/$A/held"
is "$(cat "$T/home/$A/held")" "[25, 25] 111~enqueue: fatal: too many connections at once from uid $(id -u "$A")~" "a uid at its cap (-u 2): its third connection is refused (111) with the reason"
r=$(as "$V" "$PY" - "$SOCK" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
p = b'v@client.example\0\0b@remote.example\0'
s.sendall(b'%d:%s,' % (len(p), p))
s.recv(25)
s.sendall(b'Subject: other uid\r\n\r\nbody\r\n.\r\n')
print(s.recv(16).decode().strip())
EOF
)
is "$r" 0 "... while another uid is served"
check "... and the refusal is logged with the uid" grep -q "enqueue-listen: warning: refused uid=$(id -u "$A"): over its 2 connections at once" "$T/enq.log"
kill "$HPID" 2>/dev/null ; wait "$HPID" 2>/dev/null
kill "$EPID" ; wait "$EPID" 2>/dev/null

# the socket's directory, made for the spool's owner: never a chown through a symlink
mkinstance "queue-user $A" "enqueue-socket $T/run/sock"
start_enqlisten
ok $? "enqueue-listen as root, spool owned by $A, socket directory missing: ready"
is "$(stat -c '%U %a' "$T/run"):$(stat -c '%U %a' "$T/run/sock")" "$A 755:$A 666" "... the directory made for the spool's owner (0755), the socket 0666"
kill "$EPID" ; wait "$EPID" 2>/dev/null
# the race lost: a shim turns the directory into a symlink to a file of root's right after mkdir
cat > "$T/swap.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
int mkdir (char const *p, mode_t m)
{
  int (*real) (char const *, mode_t) = (int (*) (char const *, mode_t))dlsym(RTLD_NEXT, "mkdir") ;
  char const *d = getenv("SWAP_DIR"), *t = getenv("SWAP_TARGET") ;
  int r = real(p, m) ;
  if (!r && d && t && !strcmp(p, d) && !rmdir(p)) symlink(t, p) ;
  return r ;
}
EOF
cc -shared -fPIC -o "$T/swap.so" "$T/swap.c" -ldl || bail "cannot build the test's mkdir shim"
echo 'root:secret' > "$T/target" && chmod 600 "$T/target"
mkinstance "queue-user $A" "enqueue-socket $T/run2/sock"
# (under ASan the shim comes before the sanitizer's runtime: allowed by verify_asan_link_order=0)
SWAP_DIR=$T/run2 SWAP_TARGET=$T/target LD_PRELOAD=$T/swap.so ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 timeout 10 "$BUILD/t/enqueue-listen-dyn" -C "$CONF" 2>"$T/err"
r=$?
check "(the shim did replace the directory)" test -L "$T/run2"
is "$(stat -c %U "$T/target")" root "a symlink put where the socket's directory was just made: its target stays root's"
is "$r" 111 "... and enqueue-listen stops (111)"

done_testing
