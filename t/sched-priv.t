#!/bin/sh
# Privileges, as root: the scheduler drops to queue-user, local-spawn
# stays root and runs local-deliver as the recipient, whose mailbox the
# message lands in, owned by the recipient. Skipped when not root.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
plan 21

Q=kq$$ ; R=kp$$
useradd -M -d "$T/nohome" -s /bin/false "$Q" || { echo "Bail out! useradd failed" ; exit 1 ; }
at_exit "userdel $Q >/dev/null 2>&1"
useradd -M -d "$T/home/$R" -s /bin/false "$R" || { echo "Bail out! useradd failed" ; exit 1 ; }
at_exit "userdel $R >/dev/null 2>&1"
mkdir -p "$T/home/$R" && chown "$R:" "$T/home/$R"
printf 'team: %s, %s/home/%s/team.mbox\n' "$R" "$T" "$R" > "$T/aliases"
printf 'v@virt.example %s/home/%s/vmail/\nrel@virt.example ~rel/vmail/\n' "$T" "$R" > "$T/vmap"
mkinstance "queue-user $Q" "deliver maildir ~/Maildir" "aliases $T/aliases" "virtual-domain virt.example map $T/vmap"
newaliases -C "$CONF" >/dev/null 2>&1
# the tables belong to the recipient: their files run as that user
chown "$R:" "$T/aliases" "$T/vmap"
check "mkspool gives the spool to queue-user" test "$(stat -c %U "$SPOOL/queue")" = "$Q"
chmod 755 "$T"
scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready"
running_as () { [ "$(ps -o user= -p "$1" 2>/dev/null | tr -d ' ')" = "$2" ] ; }
check "the scheduler runs as queue-user" wait_for 5 running_as $SPID "$Q"
helper=$(pgrep -P $SPID local-spawn | head -1)
check "local-spawn runs as root" running_as "${helper:-0}" root
# enqueue is installed set-uid to the queue owner; here, run it as that user
printf 'Subject: priv\n\nhello\n' | setpriv --reuid="$Q" --regid="$Q" --clear-groups enqueue -C "$CONF" -f "s@remote.example" "$R@test.example" >/dev/null
check "delivered into the recipient's Maildir" wait_for 10 arrived "$T/home/$R/Maildir/new"
f=$(ls "$T/home/$R/Maildir/new"/* | head -1)
is "$(stat -c %U "$f")" "$R" "the message file is owned by the recipient"
is "$(stat -c %U "$T/home/$R/Maildir/new")" "$R" "the Maildir created by the recipient"
printf 'Subject: root\n\nx\n' | setpriv --reuid="$Q" --regid="$Q" --clear-groups enqueue -C "$CONF" -f "s@remote.example" "root@test.example" >/dev/null
check "mail for an unaliased root is not delivered as root (deferred)" wait_for 10 grep -q 'rcpt="root@test.example" result=temp' "$T/sched.log"
check "no mailbox written as root" sh -c "! find '$T' -path '*Maildir*' -user root | grep -q ."
printf 'Subject: rel\n\nx\n' | setpriv --reuid="$Q" --regid="$Q" --clear-groups enqueue -C "$CONF" -f "s@remote.example" "rel@virt.example" >/dev/null
check "a virtual user's relative maildir fails permanently, decided by local-spawn" wait_for 10 grep -q 'rcpt="rel@virt.example" result=perm.*554 5.3.5' "$T/sched.log"
kill -TERM $SPID
wait_for 10 sh -c "! kill -0 $SPID 2>/dev/null"

# local-spawn decides the delivery itself, from the facts it is given (a
# recipient and the alias it came from): root gets nothing, a program
# that is no entry of the alias named is refused
id=$(printf 'Subject: forged\n\nx\n' | setpriv --reuid="$Q" --regid="$Q" --clear-groups enqueue -C "$CONF" -f "s@remote.example" "$R@test.example")
qf=$(entry_path "$id")
TAB=$(printf '\t')
# req TAG RECIPIENT ORIGINAL: a line of t/lspawn.py's script, with the entry's descriptor
req () { printf 'R\t%s\t%s\t5\ts@remote.example\t%s\t%s\t%s\n' "$1" "$id" "$2" "$3" "$qf" ; }
out=$( { req 1 "$R@test.example" "" ;
         req 3 root@test.example "" ;
         req 4 "|/bin/sh -c touch $T/pwned" postmaster@test.example ;
         req 5 "$T/home/$R/team.mbox" team@test.example ;
         req 6 v@virt.example "" ;
         req 2 rel@virt.example "" ; } | python3 "$top/t/lspawn.py" -u "$Q" "$BIN/local-spawn" "$CONF" 2>/dev/null)
check "a user's delivery: the configured Maildir" sh -c "echo '$out' | grep -q '^1 0 .*/Maildir/new/'"
check "a request to run as root is refused" sh -c "echo '$out' | grep -q '^3 t '"
check "a program that is not an alias entry is refused" sh -c "echo '$out' | grep -q '^4 t '"
check "an alias's own file is delivered to, as the aliases file's owner" sh -c "echo '$out' | grep -q '^5 0' && test \"\$(stat -c %U '$T/home/$R/team.mbox')\" = '$R'"
check "a virtual user: the map's maildir" sh -c "echo '$out' | grep -q '^6 0' && ls '$T/home/$R/vmail/new/'* >/dev/null 2>&1"
check "a delivery that can never be made is reported 100, with its reason" sh -c "echo '$out' | grep -q '^2 100 554 5.3.5 virtual maildir path is not absolute'"
check "the vmap delivery runs as the map's owner" sh -c "test \"\$(stat -c %U '$T/home/$R/vmail/new')\" = '$R'"
check "nothing run" sh -c "! test -e '$T/pwned'"

# local-spawn's workers: one forked per user and kept for that user's next
# delivery (the Maildir name holds the delivering pid); a delivery that
# fails is reported with its code, and the same worker takes the next one
dr () { req "$1" "$R@test.example" "" ; }
t0=$(date +%s)
out=$( { dr 7 ; echo "S${TAB}1" ; dr 8 ; echo "S${TAB}1" ; echo "X${TAB}chmod 0 $T/home/$R/Maildir/tmp" ; dr 9 ; echo "S${TAB}1" ; echo "X${TAB}chmod 700 $T/home/$R/Maildir/tmp" ; dr 10 ; } | python3 "$top/t/lspawn.py" "$BIN/local-spawn" "$CONF" 2>/dev/null)
rc=$? ; t1=$(date +%s)
pid_of () { echo "$out" | sed -n "s/^$1 0 .*P\([0-9]*\)Q.*/\1/p" ; }
p7=$(pid_of 7) ; p8=$(pid_of 8) ; p10=$(pid_of 10)
check "the user's next delivery goes to the same worker (pid ${p7:-none} twice)" test -n "$p7" -a "$p7" = "$p8"
check "a delivery that fails is temporary (111), with its reason" sh -c "echo '$out' | grep -q '^9 111 unable to deliver to maildir .*: Permission denied'"
check "the worker survives it: the next delivery goes to the same worker (pid ${p10:-none})" test -n "$p10" -a "$p10" = "$p7"
check "local-spawn ends with its input, its idle worker dismissed ($rc, $((t1 - t0)) s)" test "$rc" = 0 -a $((t1 - t0)) -lt 8
done_testing
