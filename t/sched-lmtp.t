#!/bin/sh
# LMTP into a real Dovecot (dovecot-lmtpd), run with its own
# configuration in the test directory on a unix socket.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "dovecot needs root here"
plan 5
need dovecot dovecot-core

U=kl$$
useradd -M -d "$T/vmail/$U" -s /bin/false "$U" || { echo "Bail out! useradd failed" ; exit 1 ; }
at_exit "userdel $U >/dev/null 2>&1"
mkdir -p "$T/dv" "$T/vmail" && chmod 1777 "$T/vmail"
cat > "$T/dv/dovecot.conf" <<EOF
base_dir = $T/dv/run
state_dir = $T/dv/state
log_path = $T/dv/log
instance_name = ketch-test-$$
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:$T/vmail/%n/Maildir
auth_username_format = %Ln
userdb {
  driver = static
  args = uid=$U gid=$U home=$T/vmail/%n
}
passdb {
  driver = static
  args = nopassword=y
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service anvil {
  chroot =
}
EOF
timeout 10 dovecot -c "$T/dv/dovecot.conf" || { echo "Bail out! dovecot did not start" ; exit 1 ; }
at_exit "timeout 10 dovecot -c '$T/dv/dovecot.conf' stop >/dev/null 2>&1"
check "dovecot listens on its LMTP socket" wait_for 10 test -S "$T/dv/run/lmtp"

mkinstance "deliver lmtp unix:$T/dv/run/lmtp"
scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready"
printf 'Subject: lmtp\n\n.leading dot\nbody\n' | enqueue -C "$CONF" -f "s@remote.example" "$U@test.example" >/dev/null
check "delivered through LMTP into Dovecot's Maildir" wait_for 15 arrived "$T/vmail/$U/Maildir/new"
f=$(ls "$T/vmail/$U/Maildir/new"/* 2>/dev/null | head -1)
check "Delivered-To and Return-Path were sent" grep -q "^Delivered-To: $U@test.example" "$f"
check "dot-stuffing undone by the server: the line is intact" grep -q '^\.leading dot' "$f"
# waited for: Dovecot writes the file before its 250, the scheduler logs after it
check "the scheduler logged Dovecot's 250 reply" wait_for 10 grep -q 'result=ok .*250 2.0.0' "$T/sched.log"
kill -TERM $SPID
done_testing
