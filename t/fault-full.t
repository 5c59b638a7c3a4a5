#!/bin/sh
# Full filesystems, as root (tmpfs mounts in $T): a full spool makes the
# SMTP client get a 4xx (452 at MAIL, or 451 after the data when the disk
# fills during the message; never 5xx) and leaves nothing behind, and service
# resumes by itself once there is room; a full Maildir defers the
# delivery, and after room is made and queue-ctl retry, it is delivered
# exactly once.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (tmpfs mounts)"
. "$top/t/smtp-lib.sh"
plan 14

U=$(unused_user kx)
useradd -M -d "$T/home/$U" -s /bin/false "$U" || { echo "Bail out! useradd failed" ; exit 1 ; }
at_exit "userdel $U >/dev/null 2>&1"
mkdir -p "$T/spool" "$T/mail"
mount -t tmpfs -o size=2m,mode=755 ketch-test-spool "$T/spool" || skip_all "cannot mount a tmpfs"
at_exit "umount -l '$T/spool'"
mount -t tmpfs -o size=1m,mode=1777 ketch-test-mail "$T/mail" || { echo "Bail out! tmpfs" ; exit 1 ; }
at_exit "umount -l '$T/mail'"
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "deliver maildir $T/mail/%u" "retry local 1m" "rescan 1s"
start_listen
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/sready"

# fill DIR: write zeros until the filesystem is full
fill () { dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null ; sync ; }
smtp_send () {
  py "
c = Conn($PORT)
c.reply()
r = [c.code(b'EHLO t'), c.code(b'${3:-MAIL FROM:<s@test.example>}'), c.code(b'RCPT TO:<$U@test.example>'), c.code(b'DATA')]
if r[-1] == 354:
    c.send(b'Subject: $1\r\n\r\n' + (b'x' * 70 + b'\r\n') * ${2:-20} + b'.\r\n')
    r.append(c.reply()[0])
r.append(c.code(b'RSET'))
print(*r)"
}
copies () { grep -l "^Subject: $1\$" "$T"/mail/$U/new/* 2>/dev/null | wc -l | tr -d ' ' ; }

fill "$T/spool"
r=$(smtp_send full1)
is "$r" "250 452 503 503 250" "spool full: MAIL gets 452 4.3.1 (RFC 1870), the session goes on (RSET 250)"
grep -q 'mail result=deferred reason=spool-full' "$T/smtp.log"
ok $? "and the session logs why"
# room for MAIL's reserve (64 kB) but not for the whole message
rm -f "$T/spool/filler"
dd if=/dev/zero of="$T/spool/filler" bs=4k count=$(( $(stat -f -c %a "$T/spool") - 24 )) 2>/dev/null
r=$(smtp_send full2 2000)
is "$r" "250 250 250 354 451 250" "the spool fills in the middle of a 140 kB message: 451 after the dot"
is "$(count_entries):$(count_tmp)" "0:0" "nothing queued, nothing left in tmp/"
r=$(smtp_send full2b 2000 'MAIL FROM:<s@test.example> SIZE=144000')
is "$r" "250 452 503 503 250" "declared with SIZE: 452 at MAIL, before any byte is sent"
rm -f "$T/spool/filler"
r=$(smtp_send full3)
is "$r" "250 250 250 354 250 250" "room again: the same listener accepts the message"
wait_for 10 sh -c "[ \"\$(grep -l '^Subject: full3' '$T'/mail/$U/new/* 2>/dev/null)\" ]"
ok $? "and it is delivered"

mkdir -p "$T/mail/$U"
fill "$T/mail"
r=$(smtp_send mfull)
is "$r" "250 250 250 354 250 250" "the Maildir's filesystem is full: the message is still accepted"
wait_for 10 grep -q 'result=temp' "$T/sched.log"
ok $? "its delivery is deferred (result=temp)"
is "$(copies mfull)" 0 "nothing delivered"
is "$(find "$T/mail/$U/tmp" -type f | wc -l | tr -d ' ')" 0 "no half-written file left in Maildir/tmp"
rm -f "$T/mail/filler"
queue-ctl -C "$CONF" retry all >/dev/null 2>&1
wait_for 10 sh -c "[ \"\$(grep -l '^Subject: mfull' '$T'/mail/$U/new/* 2>/dev/null)\" ]"
ok $? "room again and queue-ctl retry: delivered"
wait_for 5 sh -c "[ \"\$(find '$SPOOL/queue' '$SPOOL/state' -type f)\" = '' ]"
ok $? "the spool is empty"
is "$(copies mfull)" 1 "exactly one copy"
done_testing
