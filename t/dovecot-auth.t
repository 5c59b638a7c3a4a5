#!/bin/sh
# ISC license: see LICENSE.
# AUTH checked by a real Dovecot (auth dovecot SOCKET, lib/dovecotauth):
# its own instance with a passwd-file passdb the test writes (no system
# accounts) and its auth-client socket under $T. PLAIN and LOGIN under
# STARTTLS, the mechanisms EHLO offers following Dovecot's
# auth_mechanisms, Dovecot stopped (454), and a hostile auth server
# (t/dovecotpeer.py): overlong lines, another version, silence, unknown
# and misaddressed replies each a 454, the session going on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
[ "$(id -u)" = 0 ] || skip_all "dovecot needs root here"
plan 20
need dovecot dovecot-core
need openssl openssl

cd "$T" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/k.pem" -out "$T/c.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1
. "$top/t/dovecot-lib.sh"
printf 'alice:{PLAIN}correct horse\nbob:{PLAIN}s3cret\n' > "$T/dv/passwd"
dvconf "plain login"
dvstart
ok $? "dovecot listens on its auth-client socket"

PORT=$(free_port) ; PORTP=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT starttls auth" "certificate $T/c.pem key $T/k.pem" \
  "auth dovecot $DVSOCK" "timeout command 25s"
start_listen
ok $? "smtp-listen ready"

# session [MORE PYTHON]: c, connected, EHLO'd under STARTTLS; prints what the script prints
tls='c = Conn('$PORT'); c.reply(); c.cmd(b"EHLO x.example"); c.cmd(b"STARTTLS"); c.wrap()'
got=$(py "
c = Conn($PORT); c.reply()
print('AUTH' in c.cmd(b'EHLO x.example')[1])
c.cmd(b'STARTTLS'); c.wrap()
print([l[4:] for l in c.cmd(b'EHLO x.example')[1].split('\n') if l[4:8] == 'AUTH'])
print(c.cmd(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U=')[1][:9])
print(codes(c, [b'MAIL FROM:<alice@client.example>', b'RCPT TO:<a@remote.example>', b'DATA']))
c.send(b'Subject: dovecot relay\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "False
['AUTH PLAIN LOGIN']
235 2.7.0
250 250 354
250" "no AUTH before TLS; Dovecot's PLAIN and LOGIN offered under TLS; PLAIN accepted; the client relays"
f=$(grep -l 'Subject: dovecot relay' $(queued_files) 2>/dev/null | head -1)
check "the envelope records the user Dovecot checked" grep -qx 'auth alice' "$f"

got=$(py "
$tls
print(c.code(b'AUTH PLAIN AGFsaWNlAHdyb25n'))
print(c.code(b'AUTH LOGIN'), c.code(b'Ym9i'), c.cmd(b'czNjcmV0')[1][:9])
")
is "$got" "535
334 334 235 2.7.0" "a wrong password: 535; LOGIN's two answers go to Dovecot and succeed"

got=$(py "
$tls
print(c.code(b'AUTH LOGIN Ym9i'), c.cmd(b'd3Jvbmc=')[1][:9])
")
is "$got" "334 535 5.7.8" "LOGIN with the user in the command, wrong password: 535 5.7.8"

got=$("$PY" -c "
import smtplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', $PORT, timeout=10); s.starttls(context=ctx); s.ehlo('x')
s.login('bob', 's3cret')
print(len(s.sendmail('bob@client.example', ['b@remote.example'], b'Subject: smtplib\r\n\r\nx\r\n'))); s.quit()
")
is "$got" "0" "python smtplib STARTTLS and login through Dovecot"
check "logged: user and result with the session id, never the password" sh -c "grep -q '^[0-9a-f]* auth user=\"bob\" result=ok' '$T/smtp.log' && grep -q 'auth user=\"alice\" result=failed' '$T/smtp.log' && ! grep -q 's3cret\|wrong\|horse' '$T/smtp.log'"

# Dovecot offering LOGIN only: so does EHLO, and PLAIN is not recognized
dvstop ; dvconf "login" ; dvstart
got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example'); c.cmd(b'STARTTLS'); c.wrap()
print([l[4:] for l in c.cmd(b'EHLO x.example')[1].split('\n') if l[4:8] == 'AUTH'])
print(c.code(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U='), c.code(b'AUTH LOGIN YWxpY2U='), c.code(b'Y29ycmVjdCBob3JzZQ=='))
")
is "$got" "['AUTH LOGIN']
504 334 235" "the mechanisms offered are Dovecot's: LOGIN only, PLAIN refused with 504"

# Dovecot stopped: a temporary failure
dvstop
got=$(py "
$tls
print(c.cmd(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U=')[1][:9], c.code(b'NOOP'))
")
is "$got" "454 4.7.0 250" "Dovecot stopped: 454 4.7.0, the session goes on"
check "the failure is logged as a warning" grep -q 'warning event=dovecot-auth file=' "$T/smtp.log"

# a hostile auth server instead (plain-auth: no TLS needed to reach it)
stop_listen
mkinstance "listen 127.0.0.1 port $PORTP plain-auth" "auth dovecot $T/peer.sock" "timeout command 2s"
echo ok > "$T/mode"
"$PY" "$top/t/dovecotpeer.py" "$T/peer.sock" "$T/mode" &
PEER=$!
at_exit "kill $PEER 2>/dev/null"
wait_for 10 test -S "$T/peer.sock"
start_listen
ok $? "the hostile auth server and smtp-listen ready"
got=$(py "
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
print(c.cmd(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U=')[1][:9])
")
is "$got" "235 2.7.0" "the peer's OK is taken (the harness itself works)"
for mode in long version hush unknown otherid silent ; do
  echo $mode > "$T/mode"
  got=$(py "
import time
t = time.time()
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
print(c.cmd(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U=')[1][:9], c.code(b'NOOP'), time.time() - t < 9)
")
  is "$got" "454 4.7.0 250 True" "hostile server ($mode): 454 4.7.0 within the bounded wait, the session goes on"
done
check "smtp-listen survived them all" kill -0 "$LPID"
done_testing
