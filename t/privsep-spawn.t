#!/bin/sh
# local-spawn (root) against a compromised queue user (issue 16, points
# 1, 2, 4, 6 and 7), as root: the real scheduler for the deliveries, and
# t/lspawn.py as the scheduler an attacker who owns the queue user would
# write, sending local-spawn requests of its own (as the queue user, as
# the real one runs after dropping root). Checked: root opens no path of
# the spool (a symbolic link to a root-only file, a FIFO), SIGTERM ends
# local-spawn; :include: entries run as the include file's owner and
# aliases-file entries as alias-user; a user's program gets descriptors
# 0, 1 and 2 only, its output on a pipe; local-spawn derives the
# delivery from the recipient and the alias itself; system accounts
# receive only what an alias sends them, accounts in group 0 nothing.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
plan 24

Q=$(unused_user kq) ; S=$(unused_user ks)
useradd -M -d /nonexistent -s /bin/false "$Q" || bail "useradd failed"
at_exit "userdel $Q >/dev/null 2>&1"
# a system account (uid below 1000)
useradd -r -M -d "$T/home/$S" -s /bin/false "$S" || bail "useradd failed"
at_exit "userdel $S >/dev/null 2>&1"
R=$(test_user kr) || bail "useradd failed"
I=$(test_user ki) || bail "useradd failed"
G=$(test_user kg) || bail "useradd failed"
usermod -g 0 "$G" || bail "usermod failed"
chmod 755 "$T"
mkdir -p "$T/home/$R" "$T/home/$G" "$T/home/$S" "$T/out" && chown "$R:" "$T/home/$R" && chown "$G" "$T/home/$G" && chown "$S:" "$T/home/$S" && chmod 1777 "$T/out"

# a program that lists its descriptors: number, then what each one is
cat > "$T/fds" <<'P'
#!/usr/bin/python3
import os, sys
out = []
for fd in sorted(os.listdir('/proc/self/fd'), key=int):
    try:
        out.append('%s %s' % (fd, os.readlink('/proc/self/fd/' + fd)))
    except OSError:
        pass   # listdir's own descriptor, closed by now
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
sys.stdin.read()
P
chmod 755 "$T/fds"
# a program that fails after writing a NUL (a worker's "delivered" mark)
printf '#!/bin/sh\ncat >/dev/null\nprintf "x\\000y\\n" >&2\nexit 100\n' > "$T/nul"
chmod 755 "$T/nul"
# the include file: its owner's, and one anyone may write
printf '|/bin/dd of=%s/out/inc.out status=none\n' "$T" > "$T/inc.list"
chown "$I" "$T/inc.list" && chmod 644 "$T/inc.list"
printf '|/bin/dd of=%s/out/ww.out status=none\n' "$T" > "$T/ww.list"
chown "$I" "$T/ww.list" && chmod 666 "$T/ww.list"
cat > "$T/aliases" <<A
list: :include:$T/inc.list
ww: :include:$T/ww.list
prog: |/bin/dd of=$T/out/prog.out status=none
fds: |$T/fds $T/out/fds.out
nul: |$T/nul
fwd: somebody@remote.example
sysalias: $S
A
mkinstance "queue-user $Q" "deliver maildir ~/Maildir" "aliases $T/aliases" "retry local 1s"
newaliases -C "$CONF" || bail "newaliases failed"

scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready" || bail "the scheduler did not start"
enq () { setpriv --reuid="$Q" --regid="$Q" --clear-groups enqueue -C "$CONF" -f s@remote.example "$@" ; }

# point 2: an include file's programs run as its owner, the aliases
# file's (root's) as alias-user (nobody); a world-writable list runs nothing
printf 'Subject: inc\n\nto the list\n' | enq list@test.example ww@test.example prog@test.example >/dev/null
check "an included program ran" wait_for 10 grep -q 'to the list' "$T/out/inc.out"
is "$(stat -c %U "$T/out/inc.out" 2>/dev/null)" "$I" "it ran as the include file's owner, not as the aliases file's user"
check "a program of the aliases file ran" wait_for 10 grep -q 'to the list' "$T/out/prog.out"
is "$(stat -c %U "$T/out/prog.out" 2>/dev/null)" nobody "as alias-user (nobody by default): root owns the aliases file"
check "a world-writable include file's program is refused" wait_for 10 grep -q 'rcpt="|/bin/dd of='"$T"'/out/ww.out status=none" result=temp.*group- or world-writable' "$T/sched.log"
check "and never runs" test ! -e "$T/out/ww.out"

# point 4: a user's program holds descriptors 0, 1 and 2 only, and its
# output goes to a pipe, not to the socket of root's local-spawn
printf 'Subject: fds\n\nx\n' | enq fds@test.example >/dev/null
check "the program listed its descriptors" wait_for 10 test -s "$T/out/fds.out"
is "$(cut -d' ' -f1 "$T/out/fds.out" | tr '\n' ' ')" "0 1 2 " "only 0, 1 and 2 (not the scheduler's readiness descriptor, nor local-spawn's)"
check "its stdout and stderr are a pipe, not a socket" sh -c "grep -q '^1 pipe:' '$T/out/fds.out' && grep -q '^2 pipe:' '$T/out/fds.out'"
printf 'Subject: nul\n\nx\n' | enq nul@test.example >/dev/null
check "a NUL in its output is not taken for a delivery: its exit 100 is a failure" wait_for 10 grep -q "rcpt=\"|$T/nul\" result=perm" "$T/sched.log"

# point 7: system accounts (below local-uid-min 1000) receive no mail but
# what an alias sends them; accounts in group 0 none: 550 5.1.1, as an
# unknown user
printf 'Subject: sys\n\nx\n' | enq "$S@test.example" "$G@test.example" >/dev/null
check "a system account is an unknown user" wait_for 10 grep -q "rcpt=\"$S@test.example\" result=perm text=\"550 5.1.1" "$T/sched.log"
check "an account in group 0 is an unknown user" wait_for 10 grep -q "rcpt=\"$G@test.example\" result=perm text=\"550 5.1.1" "$T/sched.log"
check "nothing written for them" sh -c "! test -e '$T/home/$S/Maildir' && ! test -e '$T/home/$G/Maildir'"
printf 'Subject: sysalias\n\nx\n' | enq sysalias@test.example >/dev/null
sysmail () { grep -qs '^Subject: sysalias' "$T/home/$S/Maildir/new/"* ; }
check "a system account an alias names gets that alias's mail" wait_for 10 sysmail
is "$(stat -c %U "$T/home/$S/Maildir/new" 2>/dev/null)" "$S" "as itself"
kill -TERM $SPID
wait_for 10 sh -c "! kill -0 $SPID 2>/dev/null"

# forged requests, from the queue user (t/lspawn.py)
id=$(printf 'Subject: forged\n\nx\n' | enq "$R@test.example")
qf=$(entry_path "$id")
TAB=$(printf '\t')
# req TAG RECIPIENT ORIGINAL FILE: a request line of t/lspawn.py's script
req () { printf 'R\t%s\t%s\t5\ts@remote.example\t%s\t%s\t%s\n' "$1" "$id" "$2" "$3" "$4" ; }
spawn () { python3 "$top/t/lspawn.py" -u "$Q" "$BIN/local-spawn" "$CONF" 2>"$T/spawn.err" ; }

# point 1: the entry a symbolic link to a file only root reads; the
# attacker cannot open it, and local-spawn opens no path itself
printf 'Subject: secret\n\nSECRET-%s\n' $$ > "$T/secret" && chmod 600 "$T/secret"
mv "$qf" "$T/saved" && ln -s "$T/secret" "$qf"
out=$(req 1 "$R@test.example" "" - | spawn)
check "a request without the message's descriptor is refused" sh -c "echo '$out' | grep -q '^1 t '"
check "the root-only file is delivered nowhere" sh -c "! grep -rqs 'SECRET-$$' '$T/home/$R' '$T/out'"
# a FIFO: refused at once, and SIGTERM ends local-spawn
rm -f "$qf" && mkfifo "$qf" && chown "$Q" "$qf"
out=$( { req 2 "$R@test.example" "" - ; req 3 "$R@test.example" "" "$qf" ; echo "S${TAB}0.5" ; echo T ; echo "W${TAB}5" ; } | spawn)
check "a FIFO, named or given, is refused" sh -c "echo '$out' | grep -q '^2 t ' && echo '$out' | grep -q '^3 t .*regular file'"
check "SIGTERM ends local-spawn" sh -c "echo '$out' | grep -q '^exited 0'"
rm -f "$qf" && mv "$T/saved" "$qf"

# point 6: local-spawn derives the delivery itself: an entry's text with
# its arguments regrouped, an address entry as a file, a program under an
# alias that does not list it: all refused; the real ones delivered
out=$( { req 4 "|/bin/dd  of=$T/out/prog.out status=none" prog@test.example "$qf" ;
         req 5 "|/bin/dd of=$T/out/prog.out  status=none" prog@test.example "$qf" ;
         req 6 "somebody@remote.example" fwd@test.example "$qf" ;
         req 7 "fwd.mbox" fwd@test.example "$qf" ;
         req 8 "/tmp/x$$" fwd@test.example "$qf" ;
         req 9 "|/bin/dd of=$T/out/inc.out status=none" prog@test.example "$qf" ;
         req 10 "$R@test.example" "" "$qf" ;
         req 11 "$S@test.example" "" "$qf" ;
         req 12 "$S@mx.test.example" prog@test.example "$qf" ; } | spawn)
check "regrouped arguments of a program entry are refused" sh -c "echo '$out' | grep -q '^4 t ' && echo '$out' | grep -q '^5 t '"
check "an address entry is no file (remote, relative or absolute)" sh -c "echo '$out' | grep -q '^6 t ' && echo '$out' | grep -q '^7 t ' && echo '$out' | grep -q '^8 t ' && ! test -e /tmp/x$$ && ! test -e '$SPOOL/fwd.mbox'"
check "a program under an alias that does not list it is refused" sh -c "echo '$out' | grep -q '^9 t '"
check "a system account no alias names is refused" sh -c "echo '$out' | grep -q '^11 t ' && echo '$out' | grep -q '^12 t '"
check "a real request is delivered, as the recipient" sh -c "echo '$out' | grep -q '^10 0 ' && cat '$T/home/$R/Maildir/new/'* | grep -q '^Subject: forged' && test \"\$(stat -c %U '$T/home/$R/Maildir/new')\" = '$R'"
done_testing
