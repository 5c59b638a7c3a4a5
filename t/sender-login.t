#!/bin/sh
# ISC license: see LICENSE.
# Senders bound to logins (sender-login-map, lib/senderlogin), the users
# checked by a real Dovecot (t/dovecot-lib.sh): an allowed address and an
# allowed @domain pass; someone else's address is refused with 553 5.7.1
# at MAIL, and in From: at the end of DATA with nothing queued. On by
# default on auth-required listeners, off on the others (port 25), and
# switched explicitly by listen's sender-login and any-sender.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
[ "$(id -u)" = 0 ] || skip_all "dovecot needs root here"
plan 18
need dovecot dovecot-core

cd "$T" || exit 1
. "$top/t/dovecot-lib.sh"
printf 'alice:{PLAIN}apple\nbob:{PLAIN}banana\n' > "$T/dv/passwd"
dvconf "plain login"
dvstart
ok $? "dovecot listens on its auth-client socket"

printf '# who may send as whom\nalice alice@example.org, @alice.example\nbob bob@example.org\n' > "$T/senders"
PSUB=$(free_port) ; P25=$(free_port) ; PON=$(free_port) ; POFF=$(free_port)
mkinstance "listen 127.0.0.1 port $PSUB auth-required plain-auth" "listen 127.0.0.1 port $P25 plain-auth" \
  "listen 127.0.0.1 port $PON plain-auth sender-login" "listen 127.0.0.1 port $POFF auth-required plain-auth any-sender" \
  "auth dovecot $DVSOCK" "sender-login-map $T/senders" "timeout command 25s"
start_listen
ok $? "smtp-listen ready"

# send PORT USER MAILFROM FROMFIELD: one transaction (USER empty: no AUTH);
# prints the codes of AUTH (or -), MAIL, RCPT, DATA and the end of data (- when not reached)
send () {
  py "
import base64
c = Conn($1); c.reply(); c.cmd(b'EHLO x.example')
r = []
if '$2':
  r.append(c.code(b'AUTH PLAIN ' + base64.b64encode(b'\0$2\0' + {'alice': b'apple', 'bob': b'banana'}['$2'])))
else:
  r.append('-')
m = c.code(b'MAIL FROM:<$3>'); r.append(m)
if m == 250:
  r.append(c.code(b'RCPT TO:<postmaster@test.example>'))
  d = c.code(b'DATA'); r.append(d)
  if d == 354:
    c.send(b'From: $4\r\nSubject: sender-login\r\n\r\nbody\r\n.\r\n'); r.append(c.reply()[0])
print(' '.join(str(x) for x in r))
"
}
nq () { queued_files | wc -l | tr -d ' ' ; }

is "$(send $PSUB alice alice@example.org 'Alice <alice@example.org>')" "235 250 250 354 250" "submission: alice as her own address, in MAIL and From:"
is "$(send $PSUB alice news@alice.example 'news@alice.example (Alice)')" "235 250 250 354 250" "submission: an address of alice's @domain"
is "$(send $PSUB bob bob@example.org '\"Bob\" <bob@example.org>')" "235 250 250 354 250" "submission: bob as his own address"
n0=$(nq)
is "$(send $PSUB alice bob@example.org 'bob@example.org')" "235 553" "submission: alice as bob in MAIL FROM: 553"
is "$(send $PSUB alice alice@example.org 'Bob <bob@example.org>')" "235 250 250 354 553" "submission: alice as bob in From: 553 at the end of DATA"
is "$(send $PSUB alice alice@example.org 'alice@example.org, x@sub.alice.example')" "235 250 250 354 553" "submission: a second From: address not hers (a subdomain)"
is "$(nq)" "$n0" "nothing of the refused messages was queued"
got=$(py "
c = Conn($PSUB); c.reply(); c.cmd(b'EHLO x.example')
print(c.cmd(b'AUTH PLAIN AGFsaWNlAGFwcGxl')[0], c.cmd(b'MAIL FROM:<bob@example.org>')[1])
")
is "$got" "235 553 5.7.1 Sender address not owned by the authenticated user" "the reply is 553 5.7.1"
is "$(send $PSUB '' bob@example.org 'bob@example.org')" "- 530" "submission, not authenticated: 530 as before"
is "$(send $PSUB alice '' 'alice@example.org')" "235 250 250 354 250" "the null sender: nothing to own at MAIL, From: still hers"
is "$(send $P25 alice bob@example.org 'bob@example.org')" "235 250 250 354 250" "port 25 (auth offered, not required): no check by default"
is "$(send $P25 '' bob@example.org 'bob@example.org')" "- 250 250 354 250" "port 25, not authenticated: unaffected"
is "$(send $PON alice bob@example.org 'bob@example.org') $(send $PON alice alice@example.org 'bob@example.org')" "235 553 235 250 250 354 553" "listen sender-login: checked on a listener that does not require AUTH"
is "$(send $POFF alice bob@example.org 'bob@example.org')" "235 250 250 354 250" "listen any-sender: not checked on an auth-required listener"
check "refusals logged with the session id and the user" sh -c "grep -q '^[0-9a-f]* mail from=\"bob@example.org\" result=refused reason=sender-login user=\"alice\"' '$T/smtp.log' && grep -q '^[0-9a-f]* refused id=[0-9a-f]* reason=sender-login-from user=\"alice\"' '$T/smtp.log'"
got=$(ketch-route -C "$CONF" -n -a -l $PSUB -f news@alice.example b@remote.example | sed -n '3,5p')
is "$got" "  AUTH checked by Dovecot at $DVSOCK (the mechanisms it announces, of PLAIN and LOGIN)
MAIL FROM:<news@alice.example>: 250 2.1.0 Ok
  sender-login: alice may send as <news@alice.example>; this listener checks (553 5.7.1 to any other login, at MAIL and for From:)" "ketch-route shows who checks AUTH, who may send as the sender, and that the listener checks"
done_testing
