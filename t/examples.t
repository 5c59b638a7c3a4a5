#!/bin/sh
# ISC license: see LICENSE.
# Every example in conf/ passes conf-check as shipped, and serves mail end
# to end once its paths and ports are moved into the test directory (sed;
# nothing else changes but a spool and programs line, and smtp-user root as root):
#   local-only   SMTP on the loopback and sendmail, aliases, into an mbox
#   mx-maildir   an MX over STARTTLS (IPv4 and IPv6) into ~/Maildir
#   mx-rspamd    the same with rspamd as its filter (a milter): GTUBE refused,
#                the rest delivered with rspamd's headers (t/milter-lib.sh)
#   submission   AUTH over STARTTLS on 587 and over implicit TLS on 465
#   null-client  everything through its smarthost, which is the submission
#                example: STARTTLS required, AUTH with the credentials file
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"
. "$(dirname "$0")/run-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
plan 32
need openssl openssl
need rspamd rspamd

cd "$T" || exit 1
if [ "$(id -u)" = 0 ] ; then
  U=$(unused_user kx)
  mkdir -p "$T/home/$U"
  useradd -M -d "$T/home/$U" -s /bin/false "$U" || { echo "Bail out! useradd failed" ; exit 1 ; }
  at_exit "userdel $U >/dev/null 2>&1"
  chown "$U" "$T/home/$U"
  HOMEDIR=$T/home/$U
else
  U=$(id -un)
  HOMEDIR=""
fi
have6=0
python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null && have6=1

for ex in local-only mx-maildir mx-rspamd null-client submission ; do
  # -s: its files (/etc/ketch/cert.pem...) are not made here
  conf-check -q -s -C "$top/conf/$ex.conf" 2>"$T/$ex.check"
  ok $? "conf/$ex.conf passes conf-check -s as shipped"
done

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=localhost >/dev/null 2>&1
chmod 644 key.pem

# adapt NAME SED-SCRIPT: conf/NAME.conf with its files in $T/NAME, a spool
# and our programs; a user not root delivers into the test directory, never
# into the real home. Run by root, the sessions run as root, said with
# smtp-user root where INSTALL adds the two user lines: the spool here is
# root's, with no set-uid enqueue for another user.
adapt () {
  mkdir -p "$T/$1" && chmod 755 "$T/$1"
  sed -e "s#/etc/ketch/#$T/$1/#g" -e "$2" "$top/conf/$1.conf" > "$T/$1/ketch.conf"
  printf 'spool %s\nprograms %s\n' "$T/$1/spool" "$BIN" >> "$T/$1/ketch.conf"
  [ "$(id -u)" = 0 ] && echo "smtp-user root" >> "$T/$1/ketch.conf"
  [ -z "$HOMEDIR" ] && ! grep -q '^deliver' "$T/$1/ketch.conf" && echo "deliver maildir $T/$1/Maildir/%u/" >> "$T/$1/ketch.conf"
  cp cert.pem key.pem "$T/$1/"
  # conf-check wants every file a line names; the tests fill them later
  touch "$T/$1/aliases" "$T/$1/auth"
  conf-check -q -C "$T/$1/ketch.conf" 2>>"$T/$1/check.err" && mkspool -C "$T/$1/ketch.conf"
}
maildir () { if [ -n "$HOMEDIR" ] ; then echo "$HOMEDIR/Maildir/new" ; else echo "$T/$1/Maildir/$U/new" ; fi ; }
printf 'Subject: example\n\nhello from the examples test\n' > msg

# local-only: the loopback listener, aliases, mbox in /var/mail (moved)
P=$(free_port)
adapt local-only "s#^listen 127.0.0.1\$#listen 127.0.0.1 port $P#; s#/var/mail/#$T/local-only/mail/#"
ok $? "local-only: adapted, checked, spool made"
mkdir -p local-only/mail && chmod 1777 local-only/mail
printf 'info: %s\n' "$U" > local-only/aliases
newaliases -C local-only/ketch.conf
run_instance "$T/local-only/ketch.conf"
ok $? "local-only: running"
is "$(smtp_send "$P" someone@elsewhere.test "info@localhost" msg)" "250 250 354 250" "local-only: SMTP to an alias on localhost accepted"
is "$(smtp_send "$P" someone@elsewhere.test "x@far.test" msg)" "250 550 554 500" "local-only: no relaying for a loopback client"
printf 'Subject: via sendmail\n\nlocal\n' | sendmail -C local-only/ketch.conf "$U"
mbox () { [ "$(grep -c '^From ' "$T/local-only/mail/$U" 2>/dev/null)" = 2 ] ; }
check "local-only: both messages in the mbox (alias and sendmail)" wait_for 10 mbox
check "local-only: the mbox holds the SMTP message" grep -q 'hello from the examples test' "local-only/mail/$U"

# mx-maildir: STARTTLS on IPv4 and IPv6, into ~/Maildir
P=$(free_port)
if [ $have6 = 1 ] ; then six="s#^listen :: starttls\$#listen ::1 port $P starttls#" ; else six="/^listen :: /d" ; fi
adapt mx-maildir "s#^listen 0.0.0.0 starttls\$#listen 127.0.0.1 port $P starttls#; $six"
ok $? "mx-maildir: adapted, checked, spool made"
run_instance "$T/mx-maildir/ketch.conf"
ok $? "mx-maildir: running"
is "$(smtp_send "$P" someone@elsewhere.test "$U@example.org" msg starttls)" "250 250 354 250" "mx-maildir: a message over STARTTLS for example.org"
f=$(new_in "$(maildir mx-maildir)")
ok $? "mx-maildir: delivered into ~/Maildir"
check "mx-maildir: Received says ESMTPS" grep -q 'by mx.example.org (ketch) with ESMTPS' "$f"
check "mx-maildir: the body arrived" ends_with "$f" msg
if [ $have6 = 1 ] ; then
  got=$(python3 -c "
import sys; sys.path.insert(0, '$top/t')
from smtptest import Conn
c = Conn($P, host='::1'); c.reply(); c.cmd(b'EHLO v6.test')
print(c.code(b'STARTTLS')); c.wrap(); c.cmd(b'EHLO v6.test'); print(c.code(b'MAIL FROM:<a@b.test>'), c.code(b'RCPT TO:<x@far.test>'))
")
  is "$(echo $got)" "220 250 550" "mx-maildir: the IPv6 listener does STARTTLS and refuses to relay"
else
  skip 1 "no IPv6 loopback"
fi
rm -f "$(maildir mx-maildir)"/*

# mx-rspamd: mx-maildir with rspamd in front, on IPv4 only here
P=$(free_port) ; PR=$(free_port)
adapt mx-rspamd "s#^listen 0.0.0.0 starttls filter rspamd\$#listen 127.0.0.1 port $P starttls filter rspamd#; /^listen :: /d; s#inet:127.0.0.1:11332\$#inet:127.0.0.1:$PR#"
ok $? "mx-rspamd: adapted, checked, spool made"
rspamd_start "$PR"
ok $? "mx-rspamd: rspamd ready in milter mode" "$milter_why"
run_instance "$T/mx-rspamd/ketch.conf"
ok $? "mx-rspamd: running"
printf 'Subject: gtube\n\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n' > gtube
is "$(smtp_send "$P" someone@elsewhere.test "$U@example.org" gtube starttls)" "250 250 354 554" "mx-rspamd: GTUBE refused at the end of data"
is "$(smtp_send "$P" someone@elsewhere.test "$U@example.org" msg starttls)" "250 250 354 250" "mx-rspamd: a message for example.org accepted"
f=$(new_in "$(maildir mx-rspamd)")
check "mx-rspamd: delivered with rspamd's X-Spamd-Result (and GTUBE was not)" \
  sh -c "grep -q '^X-Spamd-Result: ' '$f' && ! grep -qs GTUBE-STANDARD '$(maildir mx-rspamd)'/*"
rm -f "$(maildir mx-rspamd)"/*

# submission, then null-client through it as its smarthost
PS=$(free_port) ; PT=$(free_port)
adapt submission "s#^listen 0.0.0.0 port 587 #listen 127.0.0.1 port $PS #; s#^listen 0.0.0.0 port 465 #listen 127.0.0.1 port $PT #; 1i hostname sub.test"
ok $? "submission: adapted, checked, spool made"
printf 'alice:%s\n' "$(echo 'pw' | ketch-passwd)" > submission/auth
run_instance "$T/submission/ketch.conf"
ok $? "submission: running"
got=$(python3 -c "
import sys; sys.path.insert(0, '$top/t')
from smtptest import Conn
c = Conn($PS); c.reply(); c.cmd(b'EHLO c.test')
r = [c.code(b'MAIL FROM:<a@c.test>'), c.code(b'STARTTLS')]
c.wrap(); c.cmd(b'EHLO c.test')
r += [c.code(b'MAIL FROM:<a@c.test>'), c.code(b'AUTH PLAIN AGFsaWNlAHB3'), c.code(b'MAIL FROM:<a@c.test>')]
print(*r)
c = Conn($PT, tls=True); c.reply(); c.cmd(b'EHLO c.test')
print(c.code(b'MAIL FROM:<a@c.test>'), c.code(b'AUTH PLAIN AGFsaWNlAHB3'), c.code(b'MAIL FROM:<a@c.test>'))
")
is "$(echo $got)" "530 220 530 235 250 530 235 250" "submission: 587 needs STARTTLS then AUTH; 465 is TLS at once and needs AUTH"

P=$(free_port)
adapt null-client "s#^listen 127.0.0.1\$#listen 127.0.0.1 port $P#; s#smtp.example.net:587#127.0.0.1:$PS#"
ok $? "null-client: adapted, checked, spool made"
printf 'alice pw\n' > null-client/smarthost.auth && chmod 600 null-client/smarthost.auth
run_instance "$T/null-client/ketch.conf"
ok $? "null-client: running"
# complete headers, so that sendmail adds none and the message can be compared whole
printf 'From: <me@client.example.org>\nDate: Sat, 21 Nov 2026 06:53:16 +0000\nMessage-ID: <1@client.example.org>\nSubject: null client\n\nthrough the smarthost\n.\n..\n' > msg2
sendmail -i -C null-client/ketch.conf "$U@sub.test" < msg2
f=$(new_in "$(maildir submission)")
ok $? "null-client: sendmail's message went through the smarthost (STARTTLS, AUTH) into the Maildir there"
check "null-client: the smarthost's Received says ESMTPSA" grep -q 'by sub.test (ketch) with ESMTPSA' "$f"
check "null-client: byte-exact" ends_with "$f" msg2
done_testing
