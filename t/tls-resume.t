#!/bin/sh
# ISC license: see LICENSE.
# Inbound TLS 1.2 session resumption by session ID (RFC 5246 §7.3), from
# smtp-keyd's cache shared by every session process: a second connection
# resumes (in another session process, on the STARTTLS and the smtps
# listener alike), and none does after the lifetime, after the key or the
# certificate file was replaced, after a restart, with
# "tls-session-cache 0", or with a session ID smtp-keyd never made.
# The client is Python's ssl, pinned to TLS 1.2 (SSLSocket.session and
# session_reused), and for made-up IDs a raw ClientHello. A full cache
# (a store evicts the oldest) is t/unit/tlscache.c's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 21
need openssl openssl

cd "$T" || exit 1
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.crt -days 2 -subj /CN=localhost &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec2.key -out ec2.crt -days 2 -subj /CN=localhost &&
  # the same key, certified again (a renewal that keeps its key)
  openssl req -x509 -new -key ec.key -out ec-again.crt -days 3 -subj /CN=localhost
} >"$T/openssl.out" 2>&1
ok $? "test certificates made with openssl" "$(cat "$T/openssl.out")"
cp ec.crt cur.crt ; cp ec.key cur.key

# resume.py STEP...: one client context (TLS 1.2 only), one session carried
# from each connection to the next; prints per connection 1 (resumed) or 0.
#   s:PORT  STARTTLS          t:PORT  implicit TLS (smtps)
#   h:PORT  two at once: the first (full, kept open) and one resuming its
#           session while the first session process still runs
#   sleep:N   cp:SRC:DST (replaced by a rename)   pause (writes $T/paused,
#           waits for $T/go)
#   raw:PORT:real|fake  a raw ClientHello offering the current session's
#           ID, or 32 random octets: prints 1 if the ServerHello echoes it
#   ack:PORT:K  a full handshake, then K resumed: prints "prompt" if the
#           quickest EHLO after a resumption was answered within 20 ms
cat > "$T/resume.py" <<'EOF'
import os, socket, ssl, struct, sys, time
sys.path.insert(0, os.environ['TOP'] + '/t')
from smtptest import Conn

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
sess = None
out = []
ehlo_ms = []

def starttls(port):
    c = Conn(port, timeout=10)
    c.reply(); c.cmd(b'EHLO resume.example')
    if c.code(b'STARTTLS') != 220:
        raise RuntimeError('STARTTLS refused')
    return c

def tls(port, implicit):
    c = Conn(port, timeout=10) if implicit else starttls(port)
    c.s = ctx.wrap_socket(c.s, server_hostname='localhost', session=sess)
    c.buf = b''
    if implicit:
        c.reply()
    t0 = time.monotonic()
    if c.cmd(b'EHLO resume.example')[0] != 250:
        raise RuntimeError('no EHLO after TLS')
    ehlo_ms.append((time.monotonic() - t0) * 1000)
    return c

def done(c):
    global sess
    sess = c.s.session
    r = '1' if c.s.session_reused else '0'
    c.code(b'QUIT')
    return r

def exact(s, n):
    b = b''
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError('closed')
        b += d
    return b

def raw(port, sid):
    """a TLS 1.2 ClientHello with our suites and sid; does the ServerHello echo sid?"""
    c = starttls(port)
    suites = [0xc02b, 0xc02c, 0xcca9, 0xc02f, 0xc030, 0xcca8]
    sigalgs = [0x0403, 0x0503, 0x0603, 0x0401, 0x0501, 0x0601]
    ext = struct.pack('>HHHHH', 10, 6, 4, 29, 23)
    ext += struct.pack('>HHBB', 11, 2, 1, 0)
    sa = struct.pack('>H', 2 * len(sigalgs)) + b''.join(struct.pack('>H', x) for x in sigalgs)
    ext += struct.pack('>HH', 13, len(sa)) + sa
    ext += struct.pack('>HHB', 0xff01, 1, 0)
    body = b'\x03\x03' + os.urandom(32) + bytes([len(sid)]) + sid
    body += struct.pack('>H', 2 * len(suites)) + b''.join(struct.pack('>H', x) for x in suites)
    body += b'\x01\x00' + struct.pack('>H', len(ext)) + ext
    hs = b'\x01' + struct.pack('>I', len(body))[1:] + body
    c.s.sendall(b'\x16\x03\x01' + struct.pack('>H', len(hs)) + hs)
    head = exact(c.s, 5)
    if head[0] != 22:
        raise RuntimeError('no handshake record: %r' % head)
    rec = exact(c.s, struct.unpack('>H', head[3:5])[0])
    if rec[0] != 2:
        raise RuntimeError('no ServerHello')
    n = rec[4 + 2 + 32]
    got = rec[4 + 2 + 32 + 1:4 + 2 + 32 + 1 + n]
    c.s.close()
    return '1' if got == sid else '0'

for step in sys.argv[1:]:
    w = step.split(':')
    if w[0] in ('s', 't'):
        out.append(done(tls(int(w[1]), w[0] == 't')))
    elif w[0] == 'h':
        sess = None
        first = tls(int(w[1]), False)
        sess = first.s.session
        second = tls(int(w[1]), False)
        out.append('1' if first.s.session_reused else '0')
        out.append(done(second))
        first.code(b'QUIT')
    elif w[0] == 'ack':
        # K resumptions after a full handshake, each EHLO timed from the
        # end of the handshake to its reply
        sess = None
        done(tls(int(w[1]), False))
        del ehlo_ms[:]
        for i in range(int(w[2])):
            if done(tls(int(w[1]), False)) != '1':
                raise RuntimeError('not resumed')
        least = min(ehlo_ms)
        out.append('prompt' if least < 20 else 'stalled:%.1fms' % least)
    elif w[0] == 'sleep':
        time.sleep(float(w[1]))
    elif w[0] == 'cp':
        with open(w[1], 'rb') as f:
            data = f.read()
        with open(w[2] + '.new', 'wb') as f:
            f.write(data)
        os.rename(w[2] + '.new', w[2])
    elif w[0] == 'pause':
        open(os.environ['T'] + '/paused', 'w').close()
        end = time.time() + 30
        while not os.path.exists(os.environ['T'] + '/go') and time.time() < end:
            time.sleep(0.05)
        os.unlink(os.environ['T'] + '/go')
    elif w[0] == 'raw':
        sid = sess.id if w[2] == 'real' else os.urandom(32)
        out.append(raw(int(w[1]), sid))
print(' '.join(out))
EOF
resume () { T="$T" TOP="$top" "$PY" "$T/resume.py" "$@" 2>&1 ; }

PORT=$(free_port) ; PORTS=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT starttls" "listen 127.0.0.1 port $PORTS smtps" \
  "certificate $T/cur.crt key $T/cur.key"
start_listen
ok $? "smtp-listen ready (the cache on by default)" "$(tail -n 20 "$T/smtp.log")"

got=$(resume s:$PORT s:$PORT s:$PORT t:$PORTS)
is "$got" "0 1 1 1" "a full handshake, then the next connections resume its session, on the STARTTLS and the smtps listener"
n=$(grep -c 'tls version=TLSv1.2 cipher=[A-Z0-9-]* resumed=1$' "$T/smtp.log")
is "$n" 3 "log: resumed=1 on the three resumed handshakes"
check "log: a full handshake's tls line has no resumed=" grep -q 'tls version=TLSv1.2 cipher=[A-Z0-9-]*$' "$T/smtp.log"

# Python's socket has Nagle on, and its EHLO follows the client's
# Finished in a second write: it leaves only once the server ACKs the
# Finished. Delayed, that ACK takes 40 ms or more on Linux (every one of
# the five before lib/tls's ACK at once); the quickest of five is far
# under 20 ms when it is immediate, however loaded the machine
got=$(resume ack:$PORT:5)
is "$got" "prompt" "a resumption's last flight is ACKed at once: the client's EHLO is not held by Nagle's algorithm"

got=$(resume h:$PORT)
is "$got" "0 1" "a session resumed while the session process that made it still runs (another process)"

got=$(resume s:$PORT raw:$PORT:real raw:$PORT:fake)
is "$got" "0 1 0" "a raw ClientHello with a cached ID resumes it; with a made-up ID it does not"

# the key and its certificate replaced by a rename: a new key, then the same key certified again
got=$(resume s:$PORT s:$PORT cp:ec2.key:cur.key cp:ec2.crt:cur.crt s:$PORT s:$PORT)
is "$got" "0 1 0 1" "after the key and certificate were replaced: not resumed; the new session resumes"
got=$(resume s:$PORT s:$PORT cp:ec.key:cur.key cp:ec.crt:cur.crt s:$PORT cp:ec-again.crt:cur.crt s:$PORT s:$PORT)
is "$got" "0 1 0 0 1" "after the certificate alone was replaced (the same key): not resumed"

# a restart of smtp-listen (smtp-keyd with it) loses the cache
rm -f "$T/paused" "$T/go"
resume s:$PORT s:$PORT pause s:$PORT > "$T/restart.out" &
RPID=$!
at_exit "kill $RPID 2>/dev/null"
wait_for 20 test -e "$T/paused"
ok $? "the client paused after two connections" "$(cat "$T/restart.out")"
stop_listen
start_listen
ok $? "smtp-listen restarted" "$(tail -n 20 "$T/smtp.log")"
touch "$T/go"
wait $RPID
is "$(cat "$T/restart.out")" "0 1 0" "after smtp-keyd's restart: not resumed"

# a short lifetime: resumed within it, not after
stop_listen
echo "tls-session-cache 3" >> "$CONF"
start_listen
ok $? "smtp-listen with tls-session-cache 3" "$(tail -n 20 "$T/smtp.log")"
got=$(resume s:$PORT s:$PORT sleep:4.2 s:$PORT)
is "$got" "0 1 0" "tls-session-cache 3: resumed at once, not after 4 seconds"
got=$(resume s:$PORT s:$PORT sleep:4.2 raw:$PORT:real)
is "$got" "0 1 0" "the expired ID itself (not only Python's view of it) is not resumed"

# the cache off: no session is resumed; and with -f as with exec'd sessions
stop_listen
sed -i "s/^tls-session-cache 3$/tls-session-cache 0/" "$CONF"
start_listen
ok $? "smtp-listen with tls-session-cache 0" "$(tail -n 20 "$T/smtp.log")"
got=$(resume s:$PORT s:$PORT t:$PORTS raw:$PORT:real)
is "$got" "0 0 0 0" "tls-session-cache 0: nothing resumed"
check "conf-check prints tls-session-cache 0" sh -c "conf-check -C '$CONF' -s 2>/dev/null | grep -qx 'tls-session-cache 0'"

stop_listen
sed -i '/^tls-session-cache /d' "$CONF"
KETCH_LISTEN_FLAGS=-f start_listen
ok $? "smtp-listen -f" "$(tail -n 20 "$T/smtp.log")"
got=$(resume s:$PORT s:$PORT h:$PORT t:$PORTS ack:$PORT:5)
is "$got" "0 1 0 1 1 prompt" "smtp-listen -f: resumed, in another session process too, and on the smtps listener; the last flight ACKed at once"
done_testing
