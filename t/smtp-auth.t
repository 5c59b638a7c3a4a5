#!/bin/sh
# ISC license: see LICENSE.
# AUTH PLAIN and LOGIN (RFC 4954, 4616) against the auth-table, offered
# only under TLS (or plain-auth), delayed and counted failures,
# auth-required, authenticated relaying, ESMTPA/ESMTPSA.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 14
need openssl openssl

cd "$T" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/k.pem" -out "$T/c.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1
h1=$(echo 'correct horse' | ketch-passwd)
h2=$(echo 's3cret' | ketch-passwd -s)
case $h1 in '$y$'*) r=0 ;; *) r=1 ;; esac
case $h2 in '$6$'*) ;; *) r=1 ;; esac
ok $r "ketch-passwd prints yescrypt and SHA-512 hashes"
printf '# users\nalice:%s\nbob:%s\nlocked:*\n' "$h1" "$h2" > "$T/auth"

PORTP=$(free_port) ; PORTT=$(free_port) ; PORTS=$(free_port)
mkinstance "listen 127.0.0.1 port $PORTP plain-auth" "listen 127.0.0.1 port $PORTT starttls auth" \
  "listen 127.0.0.1 port $PORTS auth-required plain-auth" \
  "certificate $T/c.pem key $T/k.pem" "auth-table $T/auth"
start_listen
ok $? "smtp-listen ready"

got=$(py "
c = Conn($PORTT); c.reply()
code, text = c.cmd(b'EHLO x.example'); print('AUTH' in text, c.code(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U='))
c.cmd(b'STARTTLS'); c.wrap()
code, text = c.cmd(b'EHLO x.example'); print('AUTH PLAIN LOGIN' in text)
print(c.cmd(b'AUTH PLAIN AGFsaWNlAGNvcnJlY3QgaG9yc2U=')[1][:9])
print(codes(c, [b'MAIL FROM:<alice@client.example>', b'RCPT TO:<a@remote.example>', b'DATA']))
c.send(b'Subject: authed relay\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "False 503
True
235 2.7.0
250 250 354
250" "AUTH only under TLS; PLAIN succeeds; an authenticated client may relay"
f=$(grep -l 'Subject: authed relay' $(queued_files) 2>/dev/null | head -1)
check "envelope records the auth user" grep -qx 'auth alice' "$f"
check "Received header: ESMTPSA (RFC 3848)" grep -q 'with ESMTPSA (TLSv1.2 cipher=' "$f"

got=$("$PY" -c "
import smtplib
s = smtplib.SMTP('127.0.0.1', $PORTP, timeout=10); s.ehlo('x')
s.login('bob', 's3cret')
print(len(s.sendmail('bob@client.example', ['b@remote.example'], b'Subject: login\r\n\r\nx\r\n'))); s.quit()
")
is "$got" "0" "python smtplib login (plain-auth listener, SHA-512 hash) and relay"

got=$(py "
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
print(c.code(b'AUTH LOGIN'), c.code(b'Ym9i'), c.cmd(b'czNjcmV0')[1][:9])
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
print(c.code(b'AUTH LOGIN Ym9i'), c.code(b'czNjcmV0'))
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
print(c.code(b'AUTH PLAIN'), c.code(b'AGJvYgBzM2NyZXQ='), c.code(b'AUTH PLAIN AGJvYgBzM2NyZXQ='))
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
print(c.code(b'AUTH LOGIN'), c.code(b'*'), c.code(b'AUTH CRAM-MD5'), c.code(b'AUTH PLAIN !!!!'))
")
is "$got" "334 334 235 2.7.0
334 235
334 235 503
334 501 504 501" "AUTH LOGIN, initial responses, continuation, cancel, unknown mechanism"

got=$(py "
import time
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
t = time.time(); r = c.cmd(b'AUTH PLAIN AGFsaWNlAHdyb25n'); d = time.time() - t
print(r[1][:9], 0.9 < d < 3)
print(c.code(b'AUTH PLAIN AGxvY2tlZAAq'), c.code(b'AUTH PLAIN AG5vYm9keQB4'), c.reply()[0])
")
is "$got" "535 5.7.8 True
535 535 421" "failures answered 535 after a delay; a locked or unknown user fails; the third failure ends the session"
check "log: failed auth logged with the user quoted" grep -q 'auth user="alice" result=failed' "$T/smtp.log"

got=$(py "
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
print(c.code(b'MAIL FROM:<a@b.example>'), c.code(b'RCPT TO:<a@remote.example>'), c.code(b'AUTH PLAIN AGJvYgBzM2NyZXQ='))
")
is "$got" "250 550 503" "unauthenticated client may not relay; no AUTH inside a transaction"

got=$(py "
c = Conn($PORTS); c.reply(); c.cmd(b'EHLO x')
print(c.cmd(b'MAIL FROM:<a@b.example>')[1][:9])
print(c.code(b'AUTH PLAIN AGJvYgBzM2NyZXQ='), c.code(b'MAIL FROM:<a@b.example>'), c.code(b'AUTH PLAIN AGJvYgBzM2NyZXQ='))
")
is "$got" "530 5.7.0
235 250 503" "auth-required: MAIL before AUTH gets 530 5.7.0; no second AUTH"

got=$(py "
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x')
c.cmd(b'AUTH PLAIN AGJvYgBzM2NyZXQ=')
print(codes(c, [b'MAIL FROM:<bob@client.example>', b'RCPT TO:<root@test.example>', b'DATA']))
c.send(b'Subject: esmtpa\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "250 250 354
250" "authenticated plain-auth session delivers"
f=$(grep -l 'Subject: esmtpa' $(queued_files) 2>/dev/null | head -1)
check "Received header: ESMTPA without TLS" grep -q 'with ESMTPA id' "$f"
check "authzid different from authcid refused" sh -c "test \"\$($PY -c \"$PYLIB
c = Conn($PORTP); c.reply(); c.cmd(b'EHLO x'); print(c.code(b'AUTH PLAIN YWxpY2UAYm9iAHMzY3JldA=='))
\")\" = 535"
stop_listen
done_testing
