#!/bin/sh
# ISC license: see LICENSE.
# Relay control, fail closed: every classic relay trick is refused from an
# untrusted client, while a local recipient from the same client works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 25

cd "$T" || exit 1
PORT=$(free_port)
PORT2=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "virtual-domain virt.example map $T/virt.map" "aliases $T/aliases"
printf 'vuser@virt.example /tmp/nowhere/Maildir/\n' > "$T/virt.map"
printf 'info: root\n' > "$T/aliases"
newaliases -C "$CONF" >/dev/null 2>&1
start_listen
ok $? "smtp-listen ready (no relay-from)"

# rcpt CODE ADDRESS DESCRIPTION: one RCPT in a fresh transaction
rcpt () {
  got=$(py "
c = Conn($1); c.reply(); c.cmd(b'EHLO client.example'); c.cmd(b'MAIL FROM:<a@client.example>')
print(c.cmd(b'RCPT TO:<' + b'''$3''' + b'>')[1][:9])
")
  is "$got" "$2" "$4"
}

rcpt $PORT "250 2.1.5" 'root@test.example' "local user accepted"
rcpt $PORT "250 2.1.5" 'ROOT+tag@Test.Example' "local user: case-insensitive, +tag stripped"
rcpt $PORT "250 2.1.5" 'postmaster@test.example' "postmaster always exists"
rcpt $PORT "250 2.1.5" 'Postmaster' "bare <Postmaster> (RFC 5321 4.5.1)"
rcpt $PORT "550 5.1.1" 'nosuchuser@test.example' "unknown local user refused at RCPT"
rcpt $PORT "250 2.1.5" 'vuser@virt.example' "virtual user accepted (lookup)"
rcpt $PORT "550 5.1.1" 'nobody-here@virt.example' "unknown virtual user refused"
rcpt $PORT "250 2.1.5" 'info@test.example' "alias accepted (lookup)"
rcpt $PORT "550 5.7.1" 'a@remote.example' "remote domain: relaying denied"
rcpt $PORT "550 5.1.1" 'a%remote.example@test.example' "percent hack a%b@local refused"
rcpt $PORT "550 5.1.1" 'remote.example!a@test.example' "bang path b!a@local refused"
rcpt $PORT "550 5.7.1" '@test.example:a@remote.example' "source route @local:a@remote refused"
rcpt $PORT "550 5.1.1" '"a@remote.example"@test.example' "quoted local part with @ refused"
rcpt $PORT "550 5.1.1" '"a%remote.example"@test.example' "quoted local part with % refused"
rcpt $PORT "550 5.7.1" 'root@[127.0.0.1]' "domain literal is never local"
rcpt $PORT "550 5.7.1" 'root@[IPv6:::1]' "IPv6 domain literal is never local"

# a local submission is said by an option (smtp-session -L user, as sendmail
# -bs runs it), never by the UCSPI environment: TCPREMOTEINFO is the
# client's ident answer, and used to be half of the old marker
direct () {
  "$PY" -c "
import subprocess, sys
p = subprocess.Popen(['$BIN/smtp-session', '-C', '$CONF'] + sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out, _ = p.communicate(b'EHLO x\\r\\nMAIL FROM:<a@b.example>\\r\\nRCPT TO:<x@remote.example>\\r\\nQUIT\\r\\n', timeout=20)
print(' '.join(l[:3].decode() for l in out.split(b'\\r\\n') if l[:3].isdigit() and l[3:4] == b' '))
" "$@"
}
got=$(PROTO=TCP TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=0 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=0 TCPREMOTEINFO=root direct)
is "$got" "220 250 250 550 221" "ports 0 and TCPREMOTEINFO (client-controlled) do not make a local submission"
got=$(PROTO=TCP TCPREMOTEIP=127.0.0.1 TCPREMOTEPORT=0 TCPLOCALIP=127.0.0.1 TCPLOCALPORT=0 direct -L root)
is "$got" "220 250 250 250 221" "smtp-session -L user: a local submission may relay"

# the same client, trusted by relay-from: relaying works, literals stay literal
stop_listen
cat >> "$CONF" <<EOF
listen 127.0.0.1 port $PORT2
relay-from 127.0.0.0/8 ::1
EOF
start_listen
ok $? "smtp-listen restarted with relay-from 127.0.0.0/8"
rcpt $PORT2 "250 2.1.5" 'a@remote.example' "relay-from client may relay"
rcpt $PORT2 "550 5.1.1" 'nosuchuser@test.example' "relay-from client: unknown local user still refused"
got=$(py "
c = Conn($PORT2); c.reply(); c.cmd(b'EHLO client.example')
print(codes(c, [b'MAIL FROM:<a@client.example>', b'RCPT TO:<a%b@[127.0.0.1]>', b'DATA']))
c.send(b'Subject: literal\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "250 250 354
250" "relayed message to an address literal accepted"
f=$(grep -l 'Subject: literal' $(queued_files) 2>/dev/null | head -1)
check "the address is stored literally (a%b@[127.0.0.1])" grep -qx 'to a%b@\[127.0.0.1\]' "$f"
got=$(PROTO=TCP6 TCP6REMOTEIP=::ffff:127.0.0.1 TCP6REMOTEPORT=1234 TCP6LOCALIP=::1 TCP6LOCALPORT=25 "$PY" -c "
import subprocess
p = subprocess.Popen(['$BIN/smtp-session', '-C', '$CONF'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
out, _ = p.communicate(b'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@remote.example>\r\nQUIT\r\n', timeout=20)
print(' '.join(l[:3].decode() for l in out.split(b'\r\n') if l[:3].isdigit() and l[3:4] == b' '))
")
is "$got" "220 250 250 250 221" "an IPv4-mapped client address (::ffff:127.0.0.1) matches relay-from 127.0.0.0/8"
stop_listen
done_testing
