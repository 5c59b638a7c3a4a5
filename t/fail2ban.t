#!/bin/sh
# ISC license: see LICENSE.
# conf/fail2ban (issue 23, point 3): the filter, run by fail2ban-regex on
# the mail.log a private rsyslogd writes from a real instance (log
# syslog, t/syslog-lib.sh). Clients from four loopback addresses: three
# sessions with a failed AUTH each from 127.0.0.2, a session closed for too many errors from
# 127.0.0.3, a successful AUTH from 127.0.0.4, an early talker (EHLO and
# MAIL in one write) from 127.0.0.5, a delivered message from 127.0.0.1.
# fail2ban-regex finds exactly five failures, each with the address of
# its session's connect line.
. "$(dirname "$0")/lib.sh"
. "$top/t/instance-lib.sh"
. "$top/t/syslog-lib.sh"

plan 7
need s6-svscan s6
need rsyslogd rsyslog
need fail2ban-regex fail2ban
need swaks swaks
need python3 python3

h=$(echo 's3cret' | "$BIN/ketch-passwd")
printf 'alice:%s\n' "$h" > "$T/auth"
start_rsyslog || bail "rsyslogd did not start: $(cat "$T/rsyslog.err")"
# AUTH without TLS (plain-auth) on the instance's listener; few errors before a session is closed
start_syslog_instance "auth-table $T/auth" "limit errors 3" || true
sed -i 's/^listen 127\.0\.0\.1 port \([0-9]*\)$/listen 127.0.0.1 port \1 plain-auth/' "$INST/ketch.conf"
# -wR waits for the restarted process's readiness: svwait -U after a fixed
# 0.5 s could see the old process, not yet stopped under load, still up
s6-svc -wR -T 15000 -r "$SVC/smtp-listen" && wait_for 10 port_open 127.0.0.1 "$PORT" \
  || bail "the instance did not start: $(cat "$T/setup.err" "$T/services.err" "$T/svscan.log" 2>/dev/null)"

python3 - "$PORT" > "$T/clients.out" 2>&1 <<'PY'
import base64, smtplib, socket, sys
port = int(sys.argv[1])
def conn(src):
    s = smtplib.SMTP(timeout=10, source_address=(src, 0))
    s.connect('127.0.0.1', port)
    s.ehlo('client.test')
    return s
# one AUTH PLAIN per session, as a password guesser that reconnects
for i in range(3):
    s = conn('127.0.0.2')
    print('auth', s.docmd('AUTH', 'PLAIN ' + base64.b64encode(b'\0alice\0wrong%d' % i).decode())[0])
    s.quit()
s = conn('127.0.0.3')
for i in range(5):
    code, text = s.docmd('BOGUS')
    print('bogus', code)
    if code == 421: break
s.close()
s = conn('127.0.0.4')
print('login', s.login('alice', 's3cret')[0])
s.quit()
# an early talker: EHLO and MAIL in one write, before the reply to EHLO
c = socket.create_connection(('127.0.0.1', port), timeout=10, source_address=('127.0.0.5', 0))
f = c.makefile('rb')
f.readline()
c.sendall(b'EHLO talker.test\r\nMAIL FROM:<a@talker.test>\r\n')
while True:
    l = f.readline()
    if not l or l[3:4] == b' ': break
print('early', l[:3].decode(), f.readline()[:3].decode())
c.sendall(b'QUIT\r\n'); f.readline(); c.close()
PY
is "$(cat "$T/clients.out")" "auth 535
auth 535
auth 535
bogus 500
bogus 500
bogus 500
bogus 421
login 235
early 250 250" "the clients: three failed AUTHs, errors until the session is closed, a good AUTH, an early talker"
send_mail 1
wait_for 30 in_maildir 1
ok $? "a message from 127.0.0.1 is delivered" "$(cat "$T/swaks.1")"
# the sessions' last lines reach mail.log
closed () { [ "$(grep -c ' smtp-listen: [0-9a-f]* disconnect ' "$T/mail.log")" -ge 5 ] ; }
wait_for 10 closed
ok $? "mail.log has the five sessions' disconnect lines" "$(cat "$T/mail.log")"

# fail2ban reads its filters beside common.conf: the shipped filter next to Debian's
mkdir -p "$T/f2b/filter.d"
cp /etc/fail2ban/filter.d/common.conf "$top/conf/fail2ban/filter.d/ketch.conf" "$T/f2b/filter.d/"
fail2ban-regex -o ip "$T/mail.log" "$T/f2b/filter.d/ketch.conf" > "$T/f2b.ip" 2>"$T/f2b.err"
ok $? "fail2ban-regex runs the filter" "$(cat "$T/f2b.err")"
is "$(sort "$T/f2b.ip" | uniq -c | sed 's/^ *//')" "3 127.0.0.2
1 127.0.0.3
1 127.0.0.5" "five failures: three failed AUTHs from 127.0.0.2, too many errors from 127.0.0.3, the early talker 127.0.0.5; none from the good clients"
fail2ban-regex "$T/mail.log" "$T/f2b/filter.d/ketch.conf" > "$T/f2b.out" 2>&1
check "fail2ban-regex's count: 5 matched" grep -qE '^Lines: [0-9]+ lines, [0-9]+ ignored, 5 matched' "$T/f2b.out"
check "the jail example names the filter and mail.log" grep -qx 'filter   = ketch' "$top/conf/fail2ban/jail.d/ketch.conf"
done_testing
