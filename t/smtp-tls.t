#!/bin/sh
# ISC license: see LICENSE.
# STARTTLS and implicit TLS with BearSSL: RSA and EC chains, TLS 1.2 and
# forward-secret AEAD suites only, pipelined input after STARTTLS
# discarded, certificates read per session, RFC 3848 protocol names.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 21
need openssl openssl

cd "$T" || exit 1
mkcert () {
  # mkcert NAME rsa|ec: a self-signed certificate for localhost
  case $2 in
    rsa) openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.crt" -days 2 -subj /CN=localhost >>"$T/openssl.out" 2>&1 ;;
    ec) openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -out "$T/$1.crt" -days 2 -subj /CN=localhost >>"$T/openssl.out" 2>&1 ;;
  esac
}
mkcert rsa rsa && mkcert ec ec && mkcert rsa2 rsa
ok $? "test certificates made with openssl (RSA and EC)" "$(cat "$T/openssl.out")"

# the server prefers AES-GCM where the CPU has AES-NI and PCLMULQDQ, ChaCha20 elsewhere (lib/tls.c)
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo ; then AEAD=AES128-GCM-SHA256 ; else AEAD=CHACHA20-POLY1305 ; fi

PORT=$(free_port) ; PORTS=$(free_port) ; PORTR=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT starttls" "listen 127.0.0.1 port $PORTR tls-required" \
  "certificate $T/cur.crt key $T/cur.key"
cp "$T/rsa.crt" "$T/cur.crt" ; cp "$T/rsa.key" "$T/cur.key"
start_listen
ok $? "smtp-listen ready" "$(tail -n 20 "$T/smtp.log")"

got=$(py "
c = Conn($PORT); c.reply()
code, text = c.cmd(b'EHLO x.example'); print('STARTTLS' in text)
print(c.code(b'STARTTLS')); s = c.wrap(); print(s.version(), s.cipher()[0])
code, text = c.cmd(b'EHLO x.example'); print(code, 'STARTTLS' in text)
print(codes(c, [b'MAIL FROM:<tls@client.example>', b'RCPT TO:<root@test.example>', b'DATA']))
c.send(b'Subject: over tls\r\n\r\nsecret\r\n.\r\n'); print(c.reply()[0], c.code(b'QUIT'))
")
is "$got" "True
220
TLSv1.2 ECDHE-RSA-$AEAD
250 False
250 250 354
250 221" "STARTTLS with RSA: TLS 1.2, ECDHE AEAD suite, STARTTLS no longer offered"
f=$(grep -l 'Subject: over tls' $(queued_files) 2>/dev/null | head -1)
check "Received header records ESMTPS and the cipher" grep -q "with ESMTPS (TLSv1.2 cipher=ECDHE-RSA-$AEAD) id" "$f"

# the 2011 STARTTLS injection: commands pipelined after STARTTLS are discarded
got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x.example')
c.send(b'STARTTLS\r\nMAIL FROM:<inject@evil.example>\r\nRSET\r\n'); print(c.reply()[0])
c.wrap(); print(c.silent(0.5))
print(codes(c, [b'MAIL FROM:<a@b.example>', b'EHLO x.example', b'MAIL FROM:<a@b.example>']))
")
is "$got" "220
True
503 250 250" "pipelined commands after STARTTLS produce nothing inside TLS, and EHLO is needed again"
check "log: the discarded bytes are counted" grep -q 'starttls discarded=39$' "$T/smtp.log"

got=$(py "
import ssl
res = []
for v in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_3):
  ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
  try:
    ctx.minimum_version = v; ctx.maximum_version = v
  except ValueError: pass
  c = Conn($PORT); c.reply(); c.cmd(b'EHLO x'); c.cmd(b'STARTTLS')
  try: c.wrap(ctx); res.append('accepted')
  except (ssl.SSLError, OSError): res.append('refused')
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ctx.maximum_version = ssl.TLSVersion.TLSv1_2; ctx.set_ciphers('AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256')
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x'); c.cmd(b'STARTTLS')
try: c.wrap(ctx); res.append('accepted')
except (ssl.SSLError, OSError): res.append('refused')
print(' '.join(res))
" 2>/dev/null)
is "$got" "refused refused refused" "TLS 1.1, TLS 1.3 and non-forward-secret or CBC suites are refused"

got=$(py "
c = Conn($PORTR); c.reply(); c.cmd(b'EHLO x.example')
print(c.cmd(b'MAIL FROM:<a@b.example>')[1][:9])
c.cmd(b'STARTTLS'); c.wrap(); c.cmd(b'EHLO x.example'); print(c.code(b'MAIL FROM:<a@b.example>'))
")
is "$got" "530 5.7.0
250" "tls-required: MAIL before STARTTLS gets 530 5.7.0"

# over TLS too, a message written record by record with Nagle on is
# ACKed while incomplete (lib/tcpack; t/smtp-data.t has the plain case):
# the quickest of five took 40 ms or more before
got=$(py "print(in_pieces($PORT, starttls=True))")
is "$got" "250 prompt" "over TLS, a message written in many small records is not held by Nagle's algorithm waiting for a delayed ACK"

# a renewed certificate is used by the next session, without a restart
fp () { py "
import hashlib
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x'); c.cmd(b'STARTTLS'); s = c.wrap()
print(hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest())
" ; }
fp1=$(fp)
cp "$T/rsa2.crt" "$T/cur.crt.new" && cp "$T/rsa2.key" "$T/cur.key" && mv "$T/cur.crt.new" "$T/cur.crt"
fp2=$(fp)
want=$(openssl x509 -in "$T/rsa2.crt" -outform DER | sha256sum | cut -d' ' -f1)
check "renewed certificate served by the next session (no restart)" sh -c "[ -n '$fp1' ] && [ '$fp1' != '$fp2' ] && [ '$fp2' = '$want' ]"

out=$(swaks -s 127.0.0.1:$PORT --tls -f swaks@client.example -t root@test.example 2>&1)
echo "$out" | grep -q '^<~  250 2.0.0 Ok: queued as' ; ok $? "swaks --tls delivers" "$out"

# implicit TLS (smtps, RFC 8314) with an EC certificate
stop_listen
cp "$T/ec.crt" "$T/cur.crt" ; cp "$T/ec.key" "$T/cur.key"
echo "listen 127.0.0.1 port $PORTS smtps" >> "$CONF"
start_listen
ok $? "smtp-listen restarted with an smtps listener and an EC certificate" "$(tail -n 20 "$T/smtp.log")"
got=$(py "
c = Conn($PORTS, tls=True); print(c.reply()[0], c.s.version(), c.s.cipher()[0])
code, text = c.cmd(b'EHLO x.example'); print(code, 'STARTTLS' in text)
print(codes(c, [b'MAIL FROM:<ec@client.example>', b'RCPT TO:<root@test.example>', b'DATA']))
c.send(b'Subject: smtps\r\n\r\nx\r\n.\r\n'); print(c.reply()[0])
")
is "$got" "220 TLSv1.2 ECDHE-ECDSA-$AEAD
250 False
250 250 354
250" "smtps: TLS before the greeting, EC key, ECDHE-ECDSA suite"
f=$(grep -l 'Subject: smtps' $(queued_files) 2>/dev/null | head -1)
check "Received header: ESMTPS with the ECDSA cipher" grep -q "with ESMTPS (TLSv1.2 cipher=ECDHE-ECDSA-$AEAD)" "$f"

# an EC chain: root CA -> intermediate -> leaf; the client trusts only the root,
# so the handshake verifies only if the intermediate is sent
stop_listen
(
  cd "$T" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.crt -days 2 -subj /CN=ketch-test-root &&
  printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' > int.ext &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout int.key -out int.csr -subj /CN=ketch-test-int &&
  openssl x509 -req -in int.csr -CA root.crt -CAkey root.key -CAcreateserial -out int.crt -days 2 -extfile int.ext &&
  printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' > leaf.ext &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost &&
  openssl x509 -req -in leaf.csr -CA int.crt -CAkey int.key -CAcreateserial -out leaf.crt -days 2 -extfile leaf.ext &&
  cat leaf.crt int.crt > cur.crt && cp leaf.key cur.key
) >/dev/null 2>&1
start_listen
got=$(py "
import ssl
ctx = ssl.create_default_context(cafile='$T/root.crt')
ctx.maximum_version = ssl.TLSVersion.TLSv1_2
c = Conn($PORTS, tls=True, ctx=ctx); print(c.reply()[0], c.s.cipher()[0])
" 2>&1)
is "$got" "220 ECDHE-ECDSA-$AEAD" "an EC certificate chain (leaf and intermediate) verifies against the root"

got=$(py "
import ssl
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x'); c.cmd(b'STARTTLS')
try:
  c.wrap(); print('tls', c.s.cipher()[0])
except Exception as e: print('failed', e)
")
is "$got" "tls ECDHE-ECDSA-$AEAD" "STARTTLS with the EC certificate"

# QUIT: the 221 and the close_notify (RFC 5246 §7.2.1) go in one write,
# so one TCP segment (lib/tls.c, tls_close). The segments are taken off
# lo with a packet socket: on lo each one is seen going out and coming in.
got=$(py "
import socket, struct
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x'); c.cmd(b'STARTTLS'); c.wrap(); c.cmd(b'EHLO x')
cport = c.s.getsockname()[1]
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
cap.bind(('lo', 0))
print(c.code(b'QUIT'), c.s.recv(100))
cap.setblocking(False)
segs = []
for _ in range(10000):
  try: pkt, addr = cap.recvfrom(65536)
  except BlockingIOError: break
  if addr[2] != socket.PACKET_HOST: continue
  ip = pkt[14:]
  if ip[0] >> 4 != 4 or ip[9] != 6: continue
  ihl = (ip[0] & 15) * 4
  tcp = ip[ihl:struct.unpack('!H', ip[2:4])[0]]
  sport, dport = struct.unpack('!HH', tcp[:4])
  data = tcp[(tcp[12] >> 4) * 4:]
  if sport != $PORT or dport != cport or not data: continue
  types, i = [], 0
  while i + 5 <= len(data): types.append(data[i]); i += 5 + struct.unpack('!H', data[i+3:i+5])[0]
  segs.append(types)
print(segs)
")
is "$got" "221 b''
[[23, 21]]" "QUIT over TLS: the 221 and the close_notify alert in one segment, then the end"

# the ServerKeyExchange's hash (lib/tls.c, engine_setup): SHA-256 first,
# SHA-384, and SHA-1 for a client that takes nothing else (the default of
# RFC 5246 §7.4.1.4.1); SHA-512 alone is not enough
sigdigest () {
  timeout 20 openssl s_client -connect 127.0.0.1:$PORTS -tls1_2 -sigalgs "$1" \
    -cipher "ECDHE-ECDSA-$AEAD:@SECLEVEL=0" </dev/null 2>&1 |
    sed -n 's/^Peer signing digest: *//p;s/.*\(handshake failure\).*/\1/p' | head -n 1
}
got="$(sigdigest ECDSA+SHA256:ECDSA+SHA512) $(sigdigest ECDSA+SHA512:ECDSA+SHA384) $(sigdigest ECDSA+SHA1) $(sigdigest ECDSA+SHA512)"
is "$got" "SHA256 SHA384 SHA1 handshake failure" "the ServerKeyExchange is signed with SHA-256, else SHA-384, else SHA-1; SHA-512 alone fails"

got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x'); c.send(b'STARTTLS\r\n'); print(c.reply()[0])
c.send(b'garbage that is not a TLS record\r\n' * 4)
try: print(c.reply()[0])
except OSError: print(0)
")
is "$got" "220
0" "a broken handshake ends the session"
check "log: handshake failure logged" grep -q 'disconnect reason=tls-handshake' "$T/smtp.log"
# a certificate that cannot be loaded: 454, and the session goes on in plain text
mv "$T/cur.key" "$T/cur.key.away"
got=$(py "
c = Conn($PORT); c.reply(); c.cmd(b'EHLO x')
print(c.cmd(b'STARTTLS')[1][:9], c.code(b'NOOP'))
")
mv "$T/cur.key.away" "$T/cur.key"
is "$got" "454 4.7.0 250" "an unreadable key: STARTTLS gets 454 4.7.0, the session continues"
stop_listen
done_testing
