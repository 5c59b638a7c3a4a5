#!/bin/sh
# ISC license: see LICENSE.
# Two ketch instances exchange mail over STARTTLS: A accepts a message
# over SMTP and relays it through a "route ... tls verify" (a CA made here)
# to B's listener; B delivers into a Maildir. The message arrives byte
# for byte, B's Received header says ESMTPS, and A's remote-send log lines
# carry the queue id. An SMTPUTF8 message goes the same way (remote-send -u).
# Then A delivers to a real Postfix over STARTTLS (root only: Postfix's
# master needs it; the package is unpacked, never installed). As root, a
# Postfix that does not start fails the test.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"
. "$(dirname "$0")/run-lib.sh"
. "$(dirname "$0")/postfix-lib.sh"
plan 21
need openssl openssl

cd "$T" || exit 1
U=$(test_user k2i) || bail "useradd failed"

# a CA, and B's certificate for "localhost" signed by it
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ketch-test-ca >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout b.key -out b.csr -subj /CN=localhost >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\n' > b.ext
openssl x509 -req -in b.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile b.ext -out b.pem >/dev/null 2>&1
check "a CA and a certificate for B made with openssl" test -s b.pem
chmod 644 b.key

PA=$(free_port) ; PB=$(free_port) ; PF=$(free_port)
# as root, the sessions run as root only when told so (smtp-listen(8), PRIVILEGES)
su=
[ "$(id -u)" = 0 ] && su="smtp-user root"
mkdir -p a b b/mail && chmod 1777 b/mail
cat > a/ketch.conf <<EOF
hostname a.test
spool $T/a/spool
programs $BIN
listen 127.0.0.1 port $PA
$su
relay-from 127.0.0.1/32
route b.test via localhost:$PB tls verify
route peer.test via 127.0.0.1:$PF tls required
ca-file $T/ca.pem
timeout connect 2s
retry remote 2s
EOF
cat > b/ketch.conf <<EOF
hostname mx.b.test
spool $T/b/spool
programs $BIN
listen 127.0.0.1 port $PB starttls
$su
certificate $T/b.pem key $T/b.key
local-domain b.test
deliver maildir $T/b/mail/%u/
EOF
conf-check -q -C a/ketch.conf && conf-check -q -C b/ketch.conf
ok $? "both configurations pass conf-check"
mkspool -C a/ketch.conf && mkspool -C b/ketch.conf
run_instance "$T/a/ketch.conf" && run_instance "$T/b/ketch.conf"
ok $? "A and B running (smtp-listen and scheduler each)"

# a message that exercises the transport: leading dots, 8-bit text, a long
# line, blank lines, trailing blanks
{
  printf 'From: sender@a.test\nTo: %s@b.test\nSubject: two instances\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n' "$U"
  printf '.a line that starts with a dot\n..two dots\n.\n\n'
  printf 'gr\303\274\303\237e aus K\303\266ln \nend with blanks   \n'
  python3 -c "print('x' * 900)"
  printf '\n\nlast line\n'
} > msg
is "$(smtp_send "$PA" sender@a.test "$U@b.test" msg)" "250 250 354 250" "A accepts the message over SMTP (relay-from)"
f=$(new_in "$T/b/mail/$U/new")
ok $? "B delivered it into the Maildir"
check "the message is byte-exact after the headers added in front" ends_with "$f" msg
recv=$(awk '/^Received:/{p=1} p&&/^[^ \t]/&&!/^Received:/{exit} p' "$f" | head -n 3 | tr -s '\n\t' '  ')
diag "B's Received: $recv"
case $recv in "Received: from a.test ([127.0.0.1]) by mx.b.test (ketch) with ESMTPS (TLSv1.2 cipher="*) r=0 ;; *) r=1 ;; esac
ok $r "B's Received header says ESMTPS with A's EHLO name and the cipher"
check "A's own Received header is there too (with ESMTP)" grep -q 'by a.test (ketch) with ESMTP ' "$f"
check "Return-Path and Delivered-To" sh -c "head -n 1 '$f' | grep -qx 'Return-Path: <sender@a.test>' && grep -q '^Delivered-To: $U@b.test' '$f'"

id=$(sed -n 's/^\([0-9a-f]\{24\}\) pickup .*/\1/p' a/sched.log | head -n 1)
check "A's scheduler picked it up" test -n "$id"
check "A's remote-send logs carry the queue id and a verified TLS session" grep -q "^$id tls .*mode=verify verified=yes" a/sched.log
check "A recorded the delivery with B's reply" wait_for 5 grep -q "^$id delivery rcpt=\"$U@b.test\" result=ok" a/sched.log
bid=$(sed -n 's/.*result=ok .*queued as \([0-9a-f]\{24\}\).*/\1/p' a/sched.log | head -n 1)
check "B's queue id in A's log is the id in B's Received header" grep -q "id $bid" "$f"

# SMTPUTF8: A gives remote-send -u, which declares it to B
rm -f "$T/b/mail/$U/new/"*
printf 'Subject: utf8\n\nbody\n' > msg2
got=$(python3 -c "
import sys; sys.path.insert(0, '$top/t')
from smtptest import Conn
c = Conn($PA); c.reply(); c.cmd(b'EHLO client.test')
r = [c.code('MAIL FROM:<j\u00fcrgen@a.test> SMTPUTF8'.encode()), c.code(b'RCPT TO:<$U@b.test>'), c.code(b'DATA')]
c.send(b'Subject: utf8\r\n\r\nbody\r\n.\r\n'); r.append(c.reply()[0]); c.cmd(b'QUIT')
print(' '.join(str(x) for x in r))
")
is "$got" "250 250 354 250" "A accepts an SMTPUTF8 sender"
f2=$(new_in "$T/b/mail/$U/new")
ok $? "B delivered the SMTPUTF8 message"
check "B's Return-Path keeps the UTF-8 sender" grep -q "^Return-Path: <j$(printf '\303\274')rgen@a.test>" "$f2"

# a real Postfix over STARTTLS
postfix_peer "$T/pf" "$PF" peer.test "$U"
pf=$?
if [ $pf = 2 ] ; then
  skip 5 "$postfix_why"
else
  ok $pf "Postfix running on 127.0.0.1:$PF with STARTTLS" "$postfix_why"
fi
if [ $pf = 1 ] ; then
  skip 4 "Postfix did not start (failed above)"
elif [ $pf = 0 ] ; then
  is "$(smtp_send "$PA" sender@a.test "$U@peer.test" msg)" "250 250 354 250" "A accepts a message for Postfix"
  f3=$(new_in "$T/pf/mail/$U/new")
  ok $? "Postfix delivered it into its Maildir"
  check "byte-exact through Postfix" ends_with "$f3" msg
  check "Postfix logged the TLS session from ketch" grep -q 'TLS connection established from localhost\[127.0.0.1\]: TLSv1.2' "$T/pf/maillog"
  diag "$(grep -E 'TLS connection|status=sent' "$T/pf/maillog" | head -n 2)"
fi
done_testing
