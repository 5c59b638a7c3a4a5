#!/bin/sh
# ~/.forward (issue 22, point 2), as root: the real scheduler, local-spawn
# and enqueue-listen, test users made here. A user's own .forward forwards
# (queued again with the envelope sender kept), appends to a file and runs
# a program, each as the user; \user keeps a copy; a hostile .forward
# (symbolic link, another owner, group- or world-writable, a writable
# home, too large) is not followed and the mail lands in the mailbox; a
# loop between two users ends in one bounce; dot-forward off ignores it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
plan 37

Q=$(unused_user fq)
useradd -M -d /nonexistent -s /bin/false "$Q" || bail "useradd failed"
at_exit "userdel $Q >/dev/null 2>&1"
chmod 755 "$T"
mkdir -p "$T/out" && chmod 1777 "$T/out"
# mkuser VAR PREFIX: a test user with its own home (mode 755)
mkuser () {
  _u=$(test_user "$2") || bail "useradd failed"
  mkdir -p "$T/home/$_u" && chown "$_u:" "$T/home/$_u" && chmod 755 "$T/home/$_u"
  eval "$1=\$_u"
}
# fwd USER TEXT [MODE]: USER's .forward, owned by USER
fwd () { printf '%s\n' "$2" > "$T/home/$1/.forward" && chown "$1:" "$T/home/$1/.forward" && chmod "${3:-644}" "$T/home/$1/.forward" ; }
mkuser B fb ; mkuser A fa ; mkuser F ff ; mkuser P fp ; mkuser K fk
mkuser SL fs ; mkuser OW fo ; mkuser GW fg ; mkuser WW fw ; mkuser WH fh ; mkuser BIG fx
mkuser L1 fl ; mkuser L2 fm

# a program that says who runs it and keeps the message
cat > "$T/whoami" <<'P'
#!/bin/sh
id -u > "$1.uid"
cat > "$1.msg"
P
chmod 755 "$T/whoami"

fwd "$A" "# to B, nothing kept here
$B@test.example"
fwd "$F" "$T/out/f.mbox"
fwd "$P" "|$T/whoami $T/out/p"
fwd "$K" "\\$K, $B@test.example"
# hostile: each would run a program if it were followed
printf '|%s/whoami %s/out/sl\n' "$T" "$T" > "$T/home/$SL/real" && chown "$SL:" "$T/home/$SL/real"
ln -s "$T/home/$SL/real" "$T/home/$SL/.forward"
fwd "$OW" "|$T/whoami $T/out/ow" && chown "$B" "$T/home/$OW/.forward"
fwd "$GW" "|$T/whoami $T/out/gw" 664
fwd "$WW" "|$T/whoami $T/out/ww" 666
fwd "$WH" "|$T/whoami $T/out/wh" && chmod 777 "$T/home/$WH"
{ printf '|%s/whoami %s/out/big\n' "$T" "$T" ; i=0 ; while [ $i -lt 700 ] ; do printf '# %0100d\n' $i ; i=$((i + 1)) ; done ; } > "$T/home/$BIG/.forward"
chown "$BIG:" "$T/home/$BIG/.forward"
fwd "$L1" "$L2@test.example"
fwd "$L2" "$L1@test.example"

# the socket's directory is the queue user's (enqueue-listen binds as it), open to the users who forward
mkdir "$T/sock" && chown "$Q" "$T/sock" && chmod 755 "$T/sock"
SOCK=$T/sock/enq
mkinstance "queue-user $Q" "deliver maildir ~/Maildir" "enqueue-socket $SOCK" "retry local 1s"
# a DKIM key for test.example: a local user's own mail is signed, a forward never (it vouches for nothing)
ketch-dkim keygen -C "$CONF" -t ed25519 test.example f1 > "$T/dkim.out" 2>&1 || bail "ketch-dkim keygen failed: $(cat "$T/dkim.out")"
grep '^dkim-sign ' "$T/dkim.out" >> "$CONF"
enqueue-listen -C "$CONF" -d 3 3>"$T/eready" 2>>"$T/enq.log" &
EPID=$!
at_exit "kill $EPID 2>/dev/null"
wait_for 10 test -s "$T/eready"
ok $? "enqueue-listen ready"
scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready"
ok $? "the scheduler ready"

# mails USER: the files in USER's Maildir/new; has USER PATTERN: one of them matches
mails () { find "$T/home/$1/Maildir/new" -type f 2>/dev/null ; }
has () { _f=$(mails "$1") ; [ -n "$_f" ] && grep -qs -e "$2" $_f ; }
enq () { enqueue -C "$CONF" -f "$1" -- "$2" >/dev/null ; }

printf 'From: someone@test.example\nSubject: to-a\n\nforward me\n' | enq s@remote.example "$A@test.example"
check "forward: delivered to the address in A's .forward" wait_for 15 has "$B" '^Subject: to-a'
f=$(grep -ls '^Subject: to-a' $(mails "$B") 2>/dev/null | head -n 1)
check "forward: the envelope sender is kept (Return-Path)" grep -q '^Return-Path: <s@remote.example>$' "$f"
check "forward: the forwarded copy holds Delivered-To for A" grep -qi "^Delivered-To: $A@test.example$" "$f"
check "forward: and a Received field (the hop count)" grep -q "^Received: by mx.test.example (ketch, ~/.forward of $A)" "$f"
check "forward: not DKIM-signed (From: is test.example's, but the forward vouches for nothing)" sh -c "! grep -qi '^DKIM-Signature:' '$f'"
printf 'From: %s@test.example\nSubject: own\n\nmine\n' "$A" | setpriv --reuid="$A" --regid="$A" --clear-groups sendmail -C "$CONF" -f "$A@test.example" "$B@test.example"
check "while the user's own mail is signed" wait_for 15 sh -c "grep -ls '^Subject: own' $T/home/$B/Maildir/new/* | xargs grep -qi '^DKIM-Signature:.*d=test.example'"
check "forward: nothing kept in A's mailbox" test -z "$(mails "$A")"
check "forward: the log says so" grep -q "rcpt=\"$A@test.example\" result=ok attempt=[0-9]* text=\"followed ~/.forward: forwarded as" "$T/sched.log"

printf 'Subject: to-f\n\nto a file\n' | enq s@remote.example "$F@test.example"
check "file: appended as an mbox" wait_for 15 grep -qs '^Subject: to-f' "$T/out/f.mbox"
is "$(stat -c %U "$T/out/f.mbox" 2>/dev/null)" "$F" "file: written as the user"
check "file: From_ line with the envelope sender" grep -q '^From s@remote.example ' "$T/out/f.mbox"

printf 'Subject: to-p\n\nto a program\n' | enq s@remote.example "$P@test.example"
check "program: it ran and read the message" wait_for 15 grep -qs '^Subject: to-p' "$T/out/p.msg"
is "$(cat "$T/out/p.uid" 2>/dev/null)" "$(id -u "$P")" "program: it ran as the user (its id)"

printf 'Subject: to-k\n\nkeep a copy\n' | enq s@remote.example "$K@test.example"
check "\\user: a copy in the user's own mailbox" wait_for 15 has "$K" '^Subject: to-k'
check "\\user: and the other address got it" wait_for 15 has "$B" '^Subject: to-k'

# hostile files: not followed, the mail in the mailbox, the log saying why
for u in "$SL" "$OW" "$GW" "$WW" "$WH" "$BIG" ; do
  printf 'Subject: hostile-%s\n\nx\n' "$u" | enq s@remote.example "$u@test.example"
done
# refused WHO WHY: WHO's mail is in its mailbox, the log says WHY, its program never ran
refused () {
  wait_for 15 has "$1" "^Subject: hostile-$1" && grep -q "rcpt=\"$1@test.example\" result=ok attempt=[0-9]* text=\"delivered to maildir .*; ignored $T/home/$1/.forward: $2\"" "$T/sched.log"
}
check "a symbolic link: refused, delivered to the mailbox" refused "$SL" "a symbolic link"
check "a file owned by another user: refused" refused "$OW" "owned by another user"
check "a group-writable file: refused" refused "$GW" "group- or world-writable"
check "a world-writable file: refused" refused "$WW" "group- or world-writable"
check "a home directory writable by others: refused" refused "$WH" "the home directory is group- or world-writable"
check "a .forward of 70 KB: refused" refused "$BIG" "larger than 65536 octets"
check "none of their programs ran" sh -c "! ls '$T/out/sl.uid' '$T/out/ow.uid' '$T/out/gw.uid' '$T/out/ww.uid' '$T/out/wh.uid' '$T/out/big.uid' 2>/dev/null"

# a loop between two users: the Delivered-To check stops it, the sender gets one bounce
printf 'Subject: loop\n\nround and round\n' | enq "$B@test.example" "$L1@test.example"
check "a loop: ends in a bounce to the sender" wait_for 20 has "$B" 'mail loop'
sleep 2
n=$(grep -c "result=ok attempt=[0-9]* text=\"followed ~/.forward: forwarded as" "$T/sched.log")
# A's forward, K's, and the two turns of the loop before it was caught
is "$n" 4 "a loop: two forwards, not a storm"
check "a loop: the failure is the loop check, permanent" grep -q "rcpt=\"$L1@test.example\" result=perm attempt=[0-9]* text=\"mail loop: Delivered-To: $L1@test.example" "$T/sched.log"
is "$(grep -c '^Subject: loop' $(mails "$B") /dev/null | awk -F: '{s += $2} END {print s}')" 1 "a loop: one bounce (holding the message once)"
check "a loop: nothing left in the queue" wait_for 10 sh -c "[ \$(find '$SPOOL/queue' -type f | wc -l) = 0 ]"

# the hop count bounds a loop too: a message with limit hops Received fields is refused at its forward
{ i=0 ; while [ $i -lt 50 ] ; do printf 'Received: from h%d.example by h%d.example; Thu, 1 Jan 2026 00:00:00 +0000\n' $i $i ; i=$((i + 1)) ; done
  printf 'Subject: hops\n\nx\n' ; } | enq "$B@test.example" "$A@test.example"
check "hops: the forward refused by enqueue (too many hops), permanent" wait_for 15 grep -q "rcpt=\"$A@test.example\" result=perm attempt=[0-9]* text=\"unable to forward: enqueue exited 100: .*too many hops" "$T/sched.log"

# ketch-route: as root it opens nothing in the home; as the user it shows what the delivery would follow
route () { _u=$1 ; shift ; setpriv --reuid="$_u" --regid="$_u" --clear-groups ketch-route -C "$CONF" -n "$@" ; }
ketch-route -C "$CONF" -n "$A@test.example" > "$T/route.root" 2>&1
check "ketch-route as root: .forward decides, read as the user" grep -qF "/.forward, when there is one, decides; the delivery reads it as the user (ketch-route run as \"$A\" shows it)" "$T/route.root"
route "$A" "$A@test.example" > "$T/route.a" 2>&1
check "ketch-route as the user: the forward" grep -qF "~/.forward: forwarded to <$B@test.example>, queued again with the sender kept" "$T/route.a"
route "$K" "$K@test.example" > "$T/route.k" 2>&1
check "ketch-route as the user: \\user is the mailbox" grep -qF "~/.forward: the mailbox, as above" "$T/route.k"
route "$SL" "$SL@test.example" > "$T/route.sl" 2>&1
check "ketch-route as the user: a hostile .forward ignored, and why" grep -qF "/.forward ignored (a symbolic link): delivered as above" "$T/route.sl"

# dot-forward off: A's file is not read, the mail stays with A
kill "$SPID" ; wait_for 10 sh -c "! kill -0 $SPID 2>/dev/null"
echo "dot-forward off" >> "$CONF"
scheduler -C "$CONF" -d 3 3>"$T/ready2" 2>>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready2"
ok $? "the scheduler ready with dot-forward off"
printf 'Subject: off\n\nx\n' | enq s@remote.example "$A@test.example"
check "dot-forward off: delivered to the user's own mailbox" wait_for 15 has "$A" '^Subject: off'
check "dot-forward off: not forwarded" sh -c "! grep -qs '^Subject: off' $(mails "$B" | tr '\n' ' ') /dev/null"
done_testing
