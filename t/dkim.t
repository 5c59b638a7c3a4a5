#!/bin/sh
# ISC license: see LICENSE.
# DKIM signing (issue 20): keys made by ketch-dkim, their records served
# by dnsmasq; mail signed on its way into the queue when it comes from a
# local user (sendmail), an authenticated client or a relay-from client,
# and verified by two independent verifiers, python3-dkim (dkimverify's
# library, keys from dnsmasq) and OpenDKIM (opendkim -t, keys from a test
# data set), RSA and Ed25519 side by side; a hard message (200 header
# fields, 998-octet lines, dot lines, 8-bit text, blanks at line ends,
# empty lines at the end, 10 MiB); the same bytes after remote-send (to a
# server without 8BITMIME) and after local delivery; a change after
# signing fails; mail from the Internet, or from an unsigned domain, is not
# signed; a key that cannot be read refuses the message (451, 111).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
. "$(dirname "$0")/remote-lib.sh"
# the local user and the smtp-user must be two users
[ "$(id -u)" = 0 ] || skip_all "needs root (a local user other than the smtp-user)"
plan 48
need dnsmasq dnsmasq-base
need opendkim opendkim
need dkimverify python3-dkim

cd "$T" || exit 1
PORT=$(free_port)
DPORT=$(free_port)
SOCK=$T/enq.sock
U=$(test_user dk)
printf 'alice:%s\n' "$(echo 'horse' | ketch-passwd)" > "$T/auth"
mkinstance "listen 127.0.0.1 port $PORT plain-auth" "auth-table $T/auth" "relay-from 127.0.0.2/32" "enqueue-socket $SOCK"

# the keys: the records to publish and the lines to add, as ketch-dkim prints them
ketch-dkim keygen -C "$CONF" sign.test r1 > "$T/r1.out" 2>&1
ok $? "ketch-dkim keygen: an RSA key" "$(cat "$T/r1.out")"
ketch-dkim keygen -C "$CONF" -t ed25519 sign.test e1 > "$T/e1.out" 2>&1
ok $? "ketch-dkim keygen -t ed25519: an Ed25519 key" "$(cat "$T/e1.out")"
is "$(stat -c '%a %U' "$T/dkim/sign.test.r1.key")" "600 root" "the key is the queue-user's, mode 0600"
ketch-dkim keygen -C "$CONF" sign.test r1 > "$T/again.out" 2>&1
is "$?" 100 "a key is never overwritten (exit 100)"
grep '^dkim-sign ' "$T/r1.out" "$T/e1.out" | sed 's/^[^:]*://' >> "$CONF"
is "$(grep -c '^dkim-sign sign.test selector [re]1 key ' "$CONF")" 2 "... and each prints its configuration line"
# a third key, made by OpenSSL (its primes need not be 3 mod 4, as BearSSL's are): three signatures
openssl genrsa -out "$T/o1.key" 2048 2>/dev/null
echo "dkim-sign sign.test selector o1 key $T/o1.key" >> "$CONF"
ketch-dkim txt "$T/o1.key" sign.test o1 > "$T/o1.out" 2>&1
ok $? "ketch-dkim txt: the record of an OpenSSL key" "$(cat "$T/o1.out")"
conf-check -C "$CONF" -q > "$T/cc.out" 2>&1
ok $? "conf-check takes both keys" "$(cat "$T/cc.out")"

# the records: dnsmasq serves them (strings of at most 255 octets); OpenDKIM reads them from a data set
/usr/bin/python3 - "$T/r1.out" "$T/e1.out" "$T/o1.out" > "$T/dns.args" 3> "$T/keys.data" <<'EOF'
import os, re, sys
data = os.fdopen(3, 'w')
for f in sys.argv[1:]:
    line = open(f).read().split('IN TXT', 1)
    name = line[0].split('\n')[-1].strip().rstrip('.')
    strings = re.findall(r'"([^"]*)"', line[1].split(')')[0])
    assert strings and all(len(s) <= 255 for s in strings)
    # dnsmasq takes a comma between strings, and quotes on its command line literally
    assert not any(',' in s for s in strings)
    print('--txt-record=%s,%s' % (name, ','.join(strings)))
    data.write('%s %s\n' % (name, ''.join(strings)))
EOF
ok $? "the TXT records parse, in strings of at most 255 octets" "$(cat "$T/dns.args")"
# one argument per line: the records hold blanks
IFS='
'
# shellcheck disable=SC2046
set -- $(cat "$T/dns.args")
IFS=' 	
'
dns "$DPORT" "$@"
printf 'Mode v\nSyslog no\nAlwaysAddARHeader yes\nTestDNSData file:%s\n' "$T/keys.data" > "$T/od.conf"

# verify FILE: "pass pass pass" when both signatures pass python3-dkim; od FILE: OpenDKIM's passes
verify () { /usr/bin/python3 "$top/t/dkim-verify.py" "$DPORT" "$1" 2>&1 ; }
od () { opendkim -x "$T/od.conf" -t "$1" -vvv 2>&1 | grep -c 'dkim=pass' ; }
# msg: the message of the one queued entry, in the stored form; sigs: its DKIM-Signature fields
msg () { _e=$(queued_files) ; [ -n "$_e" ] && sed '1,/^$/d' "$_e" > "$T/got-$1" ; }
sigs () { grep -ci '^dkim-signature:' "$T/got-$1" ; }

rm -f "$T/ready"
enqueue-listen -C "$CONF" -d 3 3>"$T/eready" 2>>"$T/enq.log" &
EPID=$!
at_exit "kill $EPID 2>/dev/null"
wait_for 5 test -s "$T/eready"
ok $? "enqueue-listen ready"
start_listen
ok $? "smtp-listen ready"

# send MODE FILE FROM RCPT: one message over SMTP, as an authenticated client (auth),
# from relay-from (relay, 127.0.0.2) or from anywhere (none); prints the reply code
send () {
  /usr/bin/python3 - "$PORT" "$@" <<'EOF'
import smtplib, sys
port, mode, path, frm, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
s = smtplib.SMTP('127.0.0.1', port, source_address=('127.0.0.2', 0) if mode == 'relay' else None, timeout=60)
s.ehlo('client.test')
if mode == 'auth': s.login('alice', 'horse')
try:
    s.sendmail(frm, [rcpt], open(path, 'rb').read().replace(b'\n', b'\r\n'))
    print(250)
except smtplib.SMTPDataError as e: print(e.smtp_code)
except smtplib.SMTPRecipientsRefused as e: print(list(e.recipients.values())[0][0])
s.quit()
EOF
}

printf 'From: Local User <u@sign.test>\nTo: b@remote.example\nSubject: from sendmail\nDate: Sun, 6 Dec 2026 19:00:00 +0000\nMessage-ID: <1@sign.test>\n\nHello.\n' > "$T/m1"
chmod 644 "$T/m1"
rm -f "$SPOOL"/queue/*/*
KETCH_CONF=$CONF s6-setuidgid "$U" sendmail -f u@sign.test b@remote.example < "$T/m1" > "$T/sm.out" 2>&1
ok $? "a local user's sendmail" "$(cat "$T/sm.out") $(tail -3 "$T/enq.log")"
msg local
is "$(sigs local)" 3 "... is signed three times (two RSA keys, one Ed25519)"
is "$(verify "$T/got-local")" "pass pass pass" "... python3-dkim: all pass"
is "$(od "$T/got-local")" 3 "... OpenDKIM: all pass"
check "... From over-signed, t= set, no l=" sh -c "grep -A3 '^DKIM-Signature: v=1; a=rsa-sha256' '$T/got-local' | tr -d '\n ' | grep 'h=from:from:to:subject:date:message-id;' | grep -q 't=[0-9]*;' && ! grep -q ' l=' '$T/got-local'"

sed 's/^Subject: .*/Subject: from an authenticated client/' "$T/m1" > "$T/m2"
rm -f "$SPOOL"/queue/*/*
is "$(send auth "$T/m2" u@sign.test b@remote.example)" 250 "an authenticated client's message"
msg auth
is "$(verify "$T/got-auth")" "pass pass pass" "... python3-dkim: all pass"
is "$(od "$T/got-auth")" 3 "... OpenDKIM: all pass"

sed 's/^Subject: .*/Subject: from relay-from/' "$T/m1" > "$T/m3"
rm -f "$SPOOL"/queue/*/*
is "$(send relay "$T/m3" u@sign.test b@remote.example)" 250 "a relay-from client's message"
msg relay
is "$(verify "$T/got-relay")" "pass pass pass" "... python3-dkim: all pass"
is "$(od "$T/got-relay")" 3 "... OpenDKIM: all pass"

# the hard one: 200 header fields (several To and Cc among them), folded
# fields, a 998-octet line, dot lines, blanks at line ends and inside,
# 8-bit text, empty lines at the end, and 10 MiB (100 KiB for the one
# that goes to the test's SMTP server, which reads line by line)
gen () {
/usr/bin/python3 - "$@" <<'EOF'
import sys
h = ['From: "Dot. Ted" <ted@sign.test>', 'Subject:   spaced \t subject  ', '\tfolded on',
     'Date: Sun, 6 Dec 2026 19:00:00 +0000', 'Message-ID: <hard@sign.test>', 'MIME-Version: 1.0',
     'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', 'List-Id: <list.sign.test>']
for i in range(95): h.append('To: r%d@remote.example' % i)
for i in range(96): h.append('X-Filler-%d: value %d' % (i, i))
assert len(h) == 200
body = ['.', '..', '.leading dot', 'x' * 998, 'trailing blanks   ', 'inner \t\t blanks', '\t', 'caf\u00e9 \u00fcber'.encode().decode('latin-1'), '']
line = 'the quick brown fox jumps over the lazy dog, line filler of the ten mebibyte body %08d'
n = 0
size, total = int(sys.argv[2]), 0
while total < size:
    body.append(line % n); total += len(body[-1]) + 1; n += 1
body += ['', '', '']
open(sys.argv[1], 'wb').write(('\n'.join(h) + '\n\n' + '\n'.join(body) + '\n').encode('latin-1'))
EOF
}
gen "$T/hard" 10485760
gen "$T/mid" 102400
rm -f "$SPOOL"/queue/*/*
is "$(send auth "$T/hard" ted@sign.test b@remote.example)" 250 "a hard message, 10 MiB, 200 header lines"
msg hard
is "$(verify "$T/got-hard")" "pass pass pass" "... python3-dkim: all pass"
is "$(od "$T/got-hard")" 3 "... OpenDKIM: all pass"
check "... eight To fields signed, from the bottom, and the List-Id" sh -c "sed -n '/^DKIM-Signature: v=1; a=rsa/,/bh=/p' '$T/got-hard' | tr -d '\n ' | grep -q 'h=from:from:to:to:to:to:to:to:to:to:subject:date:message-id:mime-version:content-type:content-transfer-encoding:list-id;'"
rm -f "$SPOOL"/queue/*/*
is "$(send auth "$T/mid" ted@sign.test b@remote.example)" 250 "the same, 100 KiB"
msg mid
MID=$T/mid.entry
cp "$(queued_files)" "$MID"

# a change after signing fails, with both verifiers
sed 's/^Hello\.$/Hello!/' "$T/got-auth" > "$T/alt-body"
is "$(verify "$T/alt-body")" "fail fail fail" "a changed body fails python3-dkim"
is "$(od "$T/alt-body")" 0 "... and OpenDKIM"
sed 's/^Subject: .*/Subject: changed/' "$T/got-auth" > "$T/alt-subj"
is "$(verify "$T/alt-subj")" "fail fail fail" "a changed Subject fails python3-dkim"
is "$(od "$T/alt-subj")" 0 "... and OpenDKIM"
sed 's/^To: /From: evil@sign.test\nTo: /' "$T/got-auth" > "$T/alt-from"
is "$(verify "$T/alt-from")" "fail fail fail" "an added From fails (over-signed)"

# not signed: mail from the Internet, mail from a domain without a key
sed 's/^Subject: .*/Subject: from the Internet/' "$T/m1" > "$T/m4"
rm -f "$SPOOL"/queue/*/*
is "$(send none "$T/m4" u@sign.test root@test.example)" 250 "a client from elsewhere, to a local user, From the signed domain"
msg inet
is "$(sigs inet)" 0 "... is not signed"
sed 's/^From: .*/From: Other <o@other.test>/' "$T/m1" > "$T/m5"
rm -f "$SPOOL"/queue/*/*
is "$(send auth "$T/m5" o@other.test b@remote.example)" 250 "an authenticated client, From a domain without a key"
msg other
is "$(sigs other)" 0 "... is not signed"
# a domain under sign.test: not without subdomains
sed 's/^From: .*/From: Sub <s@sub.sign.test>/' "$T/m1" > "$T/m6"
rm -f "$SPOOL"/queue/*/*
is "$(send auth "$T/m6" s@sub.sign.test b@remote.example)" 250 "From a subdomain, without subdomains"
msg sub
is "$(sigs sub)" 0 "... is not signed"

# the signed bytes leave unchanged: remote-send to a server without 8BITMIME, and a local delivery
RPORT=$(free_port)
peer p8 127.0.0.1 "$RPORT" --ehlo-reply "250 peer.test"
cat > "$T/rs.conf" <<EOF
spool $T/rs
programs $BIN
route remote.example via 127.0.0.1:$RPORT tls none
EOF
CONF_SAVE=$CONF ; CONF=$T/rs.conf
rs -8 -H "$(($(wc -c < "$MID") - $(wc -c < "$T/got-mid")))" remote.example ted@sign.test b@remote.example < "$MID"
CONF=$CONF_SAVE
check "remote-send delivers the 8-bit message to a server without 8BITMIME" grep -q '^ok' "$T/out"
check "... sent as is (RFC 6152: no conversion that would break the signature)" sh -c "grep -q 'MAIL FROM' '$T/p8.log' && ! grep -q BODY=8BITMIME '$T/p8.log'"
# the wire form, dot-stuffing undone, as a receiver stores it
/usr/bin/python3 -c 'import sys ; d = open(sys.argv[1], "rb").read() ; assert d.endswith(b"\r\n.\r\n") ; open(sys.argv[2], "wb").write(b"\r\n".join(l[1:] if l.startswith(b".") else l for l in d[:-3].split(b"\r\n")))' "$T/p8.data" "$T/p8.msg"
is "$(verify "$T/p8.msg")" "pass pass pass" "... what the server got passes python3-dkim"
is "$(od "$T/p8.msg")" 3 "... and OpenDKIM"
mkdir -p "$T/md"
local-deliver ted@sign.test root@test.example root "$T" maildir "$T/md/" < "$T/got-hard" > "$T/ld.out" 2>&1
ok $? "local delivery of the hard message" "$(cat "$T/ld.out")"
is "$(verify "$(find "$T/md/new" -type f | head -1)")" "pass pass pass" "... the mailbox copy passes python3-dkim"

# a key that cannot be read: the message is refused, never sent unsigned
mv "$T/dkim/sign.test.e1.key" "$T/dkim/moved"
rm -f "$SPOOL"/queue/*/*
is "$(send auth "$T/m2" u@sign.test b@remote.example)" 451 "an unreadable key: 451 to the client"
is "$(count_entries):$(count_tmp)" "0:0" "... nothing queued"
check "... and the log says which key and why" grep -q "unable to sign with DKIM key $T/dkim/sign.test.e1.key for d=sign.test s=e1: No such file or directory" "$T/enq.log"
enqueue -C "$CONF" -a alice -f u@sign.test b@remote.example < "$T/m1" > "$T/enq.out" 2>&1
is "$?" 111 "enqueue: exit 111"
is "$(count_entries):$(count_tmp)" "0:0" "... nothing queued"
mv "$T/dkim/moved" "$T/dkim/sign.test.e1.key"
done_testing
