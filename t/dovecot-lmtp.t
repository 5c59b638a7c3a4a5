#!/bin/sh
# ISC license: see LICENSE.
# Virtual users whose user list and mailboxes are a real Dovecot's
# (dovecot-lmtpd), run by the test with its own configuration, a
# passwd-file userdb the test writes and numeric uids no system account
# has: recipients checked at RCPT against that same passwd-file, mail
# delivered over LMTP and read back with doveadm fetch, a user over
# quota bounced (552 5.2.2, the DSN carrying Dovecot's text) and, with
# quota_full_tempfail, kept and retried (452 4.2.2); a map user's own
# LMTP target preferred to its domain's; ketch-route saying all that.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "dovecot needs root here"
plan 20
need dovecot dovecot-core
need doveadm dovecot-core

cd "$T" || exit 1
# a uid and gid that no account has: Dovecot's users are Dovecot's only
VU=$(( 60000 + $$ % 5000 ))
while getent passwd "$VU" >/dev/null 2>&1 || getent group "$VU" >/dev/null 2>&1 ; do VU=$((VU + 1)) ; done
HASH='{PLAIN}s3cret-never-logged'
mkdir -p "$T/dv" "$T/vmail" && chmod 1777 "$T/vmail" && chmod 755 "$T"
cat > "$T/dv/users" <<EOF2
# Dovecot's passwd-file: user:password:uid:gid:gecos:home:shell:extra
alice@virt.example:$HASH:$VU:$VU::$T/vmail/alice::
full@virt.example:$HASH:$VU:$VU::$T/vmail/full::userdb_quota_rule=*:storage=1K
carol@map.example:$HASH:$VU:$VU::$T/vmail/carol::
EOF2
chgrp dovecot "$T/dv/users" && chmod 640 "$T/dv/users"
dvconf () {
  cat > "$T/dv/dovecot.conf" <<EOF2
base_dir = $T/dv/run
state_dir = $T/dv/state
log_path = $T/dv/log
instance_name = ketch-vtest-$$
protocols = lmtp
listen = 127.0.0.1
ssl = no
first_valid_uid = 1000
mail_location = maildir:~/Maildir
mail_plugins = quota
quota_full_tempfail = $1
userdb {
  driver = passwd-file
  args = $T/dv/users
}
passdb {
  driver = passwd-file
  args = $T/dv/users
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=100M
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service anvil {
  chroot =
}
EOF2
}
dvconf no
timeout 10 dovecot -c "$T/dv/dovecot.conf" || bail "dovecot did not start"
at_exit "timeout 10 dovecot -c '$T/dv/dovecot.conf' stop >/dev/null 2>&1"
check "dovecot listens on its LMTP socket" wait_for 10 test -S "$T/dv/run/lmtp"

# the shipped example as it is, then the test's: the example's lines, paths moved here
check "conf/dovecot-site.conf passes conf-check -s as shipped" conf-check -q -s -C "$top/conf/dovecot-site.conf"
printf 'carol@map.example lmtp:unix:%s\ndave@map.example\n' "$T/dv/run/lmtp" > "$T/map"
mkinstance "$(sed -n "s|^virtual-domain example.com passwd-file /etc/dovecot/users deliver lmtp unix:/run/dovecot/lmtp|virtual-domain virt.example passwd-file $T/dv/users deliver lmtp unix:$T/dv/run/lmtp|p" "$top/conf/dovecot-site.conf")" \
  "virtual-domain map.example map $T/map deliver lmtp unix:$T/nowhere" "retry local 1s" "retry max 1s" "rescan 1s"
grep -q "^virtual-domain virt.example passwd-file" "$CONF" || bail "the example's virtual-domain line was not found"
newaliases -C "$CONF" >/dev/null 2>&1
check "conf-check accepts it; newaliases compiled the map, left the passwd-file alone" sh -c "conf-check -q -C '$CONF' && test -f '$T/map.cdb' && ! test -e '$T/dv/users.cdb'"

# rcpt ADDR: smtp-session's reply to RCPT TO:<ADDR>
rcpt () {
  PROTO=TCP TCPREMOTEIP=192.0.2.1 TCPREMOTEPORT=4000 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=25 python3 -c "
import subprocess, sys
p = subprocess.Popen(['$BIN/smtp-session', '-C', '$CONF'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out, _ = p.communicate(b'EHLO x\r\nMAIL FROM:<a@client.example>\r\nRCPT TO:<' + sys.argv[1].encode() + b'>\r\nQUIT\r\n', timeout=20)
lines = [l.decode() for l in out.split(b'\r\n') if l[:3].isdigit() and l[3:4] == b' ']
print(lines[-2])
" "$1"
}
is "$(rcpt alice@virt.example | cut -c1-3)" 250 "RCPT of a user the passwd-file lists: 250"
is "$(rcpt ALICE+tag@Virt.Example | cut -c1-3)" 250 "... in any case, with an extension"
is "$(rcpt nosuch@virt.example | cut -c1-9)" "550 5.1.1" "RCPT of a user it does not list: 550 5.1.1"
is "$(rcpt carol@map.example | cut -c1-3)$(rcpt eve@map.example | cut -c1-9)" "250550 5.1.1" "a map domain: its user 250, another 550 5.1.1"

route=$(ketch-route -C "$CONF" -n -f a@client.example alice@virt.example nosuch@virt.example carol@map.example 2>&1)
printf '%s\n' "$route" > "$T/route.out"
check "ketch-route: checked at RCPT in the passwd-file" grep -q "<alice@virt.example>: checked at RCPT: listed in the virtual-domain passwd-file \"$T/dv/users\"" "$T/route.out"
check "ketch-route: delivered over LMTP to the domain's target, as alias-user under root" sh -c "grep -q '<alice@virt.example>: virtual user of \"virt.example\": local-deliver lmtp \"unix:$T/dv/run/lmtp\", RCPT TO the recipient as received' '$T/route.out' && grep -q 'runs it as \"nobody\"' '$T/route.out'"
check "ketch-route: an unknown user, 550 5.1.1, not in the passwd-file" grep -q "not listed in the virtual-domain passwd-file" "$T/route.out"
check "ketch-route: a map user's own LMTP target" grep -q "<carol@map.example>: virtual user of \"map.example\": local-deliver lmtp \"unix:$T/dv/run/lmtp\"" "$T/route.out"
grep -q "checked at RCPT" "$T/route.out" || diag_out "$route"

scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready" || bail "the scheduler did not start"

# fetch USER: the subjects in USER's Dovecot INBOX
fetch () { doveadm -c "$T/dv/dovecot.conf" fetch -u "$1" hdr.subject mailbox INBOX all 2>/dev/null ; }
has_subject () { fetch "$1" | grep -q "$2" ; }
printf 'Subject: to alice\n\nhello\n' | enqueue -C "$CONF" -f "s@remote.example" "alice@virt.example" >/dev/null
check "a virtual user's mail lands in Dovecot's mailbox (doveadm fetch)" wait_for 20 has_subject alice@virt.example "to alice"
check "with the envelope Dovecot expects: Delivered-To user@domain" sh -c "doveadm -c '$T/dv/dovecot.conf' fetch -u alice@virt.example hdr mailbox INBOX all | grep -q '^Delivered-To: alice@virt.example'"

# per-user target: carol's own (Dovecot's socket) rather than map.example's (nothing there)
printf 'Subject: to carol\n\nhello\n' | enqueue -C "$CONF" -f "s@remote.example" "carol@map.example" >/dev/null
printf 'Subject: to dave\n\nhello\n' | enqueue -C "$CONF" -f "s@remote.example" "dave@map.example" >/dev/null
check "a map user's own LMTP target is used" wait_for 20 has_subject carol@map.example "to carol"
check "a map user without one gets the domain's (no server there: deferred)" wait_for 20 grep -q "rcpt=\"dave@map.example\".*result=temp.*unable to connect to unix:$T/nowhere" "$T/sched.log"

# over quota, quota_full_tempfail = no: 552 5.2.2, a bounce to the sender (alice) with Dovecot's text
big=$(python3 -c 'print("x" * 70 + "\n", end="") ; [print("y" * 70) for _ in range(100)]')
printf 'Subject: too big\n\n%s\n' "$big" | enqueue -C "$CONF" -f "alice@virt.example" "full@virt.example" >/dev/null
check "over quota: a permanent failure, Dovecot's 552 5.2.2" wait_for 20 grep -q 'rcpt="full@virt.example".*result=perm.*552 5.2.2' "$T/sched.log"
bounce_ok () {
  doveadm -c "$T/dv/dovecot.conf" fetch -u alice@virt.example text mailbox INBOX all 2>/dev/null > "$T/alice.txt"
  grep -q '^Status: 5.2.2' "$T/alice.txt" && grep -q '^Diagnostic-Code: smtp; 552 5.2.2 .*[Qq]uota' "$T/alice.txt" && grep -q '^Final-Recipient: rfc822; full@virt.example' "$T/alice.txt"
}
check "the bounce reaches the sender: RFC 3464, Status 5.2.2, Dovecot's text" wait_for 20 bounce_ok

# quota_full_tempfail = yes: 452 4.2.2, the mail stays queued and is tried again
dvconf yes
timeout 10 dovecot -c "$T/dv/dovecot.conf" reload || bail "dovecot did not reload"
# "dovecot reload" only sends SIGHUP: under load the master may still run
# the old configuration after a fixed pause, and the message gets 552 and
# bounces. Wait until Dovecot itself answers 452 to the too-big message.
printf 'Subject: probe\n\n%s\n' "$big" > "$T/big.msg"
probe_452 () {
  python3 - "$T/dv/run/lmtp" "$T/big.msg" <<'PY'
import smtplib, sys
s = smtplib.LMTP(sys.argv[1], timeout=10)
s.ehlo_or_helo_if_needed()
s.mail('probe@remote.example'); s.rcpt('full@virt.example')
code = s.data(open(sys.argv[2], 'rb').read())[0]
s.quit()
sys.exit(code != 452)
PY
}
wait_for 15 probe_452 || diag "Dovecot does not answer 452 after its reload"
printf 'Subject: too big again\n\n%s\n' "$big" | enqueue -C "$CONF" -f "alice@virt.example" "full@virt.example" >/dev/null
two_temps () { [ "$(grep -c 'rcpt="full@virt.example".*result=temp.*452 4.2.2' "$T/sched.log")" -ge 2 ] ; }
check "quota_full_tempfail: 452 4.2.2 is temporary, retried" wait_for 30 two_temps
check "... and the message stays queued" sh -c "queue-ls -C '$CONF' | grep -q full@virt.example"

check "the password hash is in no log" sh -c "! grep -q 's3cret' '$T/sched.log' '$T/route.out'"
[ "$tap_failed" = 0 ] || { tail -n 30 "$T/sched.log" | sed 's/^/# /' ; tail -n 20 "$T/dv/log" | sed 's/^/# /' ; }
kill -TERM $SPID
done_testing
