# ISC license: see LICENSE.
"""t/tls-reuse.t's client and memory scanner.

client PORT OUT CIPHER [USER PASS [first]]: one session over STARTTLS
(TLS 1.2, the given OpenSSL cipher name), a message from
a@client.example to b@remote.example whose Subject and body hold a
random marker, and with USER, AUTH PLAIN with PASS after it (with
first, before it); QUIT. The TLS runs over memory BIOs so that the server's
random is read from its ServerHello; the client random and the master
secret come from the key log. Written to OUT (JSON): the reply codes,
the suite, and the needles, each a name and hex octets: the master
secret, the client and server write keys and IVs (RFC 5246 §6.3, the
PRF of §5), the marker, the password.

scan PID NEEDLES: reads every writable mapping of PID (/proc/PID/maps,
/proc/PID/mem: heap, stack, .data/.bss, anonymous mappings) and prints
one line per needle found: its name, the mapping and the offset.

idle PID: waits (at most 5 s) until PID is a session process waiting for
its next client (its connection, descriptor 0, closed; blocked in recvmsg or poll).
Every wait is bounded.
"""

import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import sys
import time


def prf(secret, label, seed, n, h):
    """TLS 1.2's PRF, P_hash with HMAC-h (RFC 5246 §5)"""
    out, a = b"", label + seed
    while len(out) < n:
        a = hmac.new(secret, a, h).digest()
        out += hmac.new(secret, a + label + seed, h).digest()
    return out[:n]


# the suites we enable (lib/tls.c): key length, fixed IV length, PRF hash
SUITES = {
    "AES128-GCM-SHA256": (16, 4, hashlib.sha256),
    "AES256-GCM-SHA384": (32, 4, hashlib.sha384),
    "CHACHA20-POLY1305": (32, 12, hashlib.sha256),
}


class Tls:
    def __init__(self, sock, ctx):
        self.sock, self.inc, self.out = sock, ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname="localhost")
        self.wire = b""
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.push()
                self.pull()
        self.push()

    def push(self):
        d = self.out.read()
        if d:
            self.sock.sendall(d)

    def pull(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed in TLS")
        self.wire += d
        self.inc.write(d)

    def sendall(self, b):
        self.obj.write(b)
        self.push()

    def recv(self, n):
        while True:
            try:
                return self.obj.read(n)
            except ssl.SSLWantReadError:
                self.push()
                self.pull()
            except ssl.SSLZeroReturnError:
                return b""

    def server_random(self):
        # the first record is the ServerHello: type 22, handshake type 2,
        # then its version (2 octets) and the random (32)
        w = self.wire
        if w[0] != 22 or w[5] != 2:
            raise ValueError("no ServerHello first")
        return w[11:43]


class Lines:
    def __init__(self, io):
        self.io, self.buf = io, b""

    def reply(self):
        while True:
            while b"\r\n" not in self.buf:
                d = self.io.recv(65536)
                if not d:
                    return 0
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return int(line[:3])

    def cmd(self, b):
        self.io.sendall(b + b"\r\n")
        return self.reply()


def client(port, out, cipher, user=None, pw=None, first=None):
    keylog = out + ".keylog"
    if os.path.exists(keylog):
        os.unlink(keylog)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-" + cipher)
    ctx.keylog_filename = keylog
    marker = os.urandom(16).hex().encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    c = Lines(s)
    codes = [c.reply(), c.cmd(b"EHLO client.example"), c.cmd(b"STARTTLS")]
    t = Tls(s, ctx)
    c = Lines(t)
    codes.append(c.cmd(b"EHLO client.example"))
    plain = b"AUTH PLAIN " + base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode()) if user else None
    if first:
        codes.append(c.cmd(plain))
    codes += [c.cmd(b"MAIL FROM:<a@client.example>"), c.cmd(b"RCPT TO:<b@remote.example>"), c.cmd(b"DATA")]
    t.sendall(b"From: <a@client.example>\r\nSubject: " + marker + b"\r\n\r\nthe marker " + marker + b" in the body\r\n.\r\n")
    codes.append(c.reply())
    # last but QUIT, which overwrites only the start of its line in the buffers
    if user and not first:
        codes.append(c.cmd(plain))
    codes.append(c.cmd(b"QUIT"))
    s.close()
    name = t.obj.cipher()[0]
    suite = next(k for k in SUITES if name.endswith(k))
    klen, ivlen, h = SUITES[suite]
    cr = ms = None
    with open(keylog) as f:
        for line in f:
            w = line.split()
            if len(w) == 3 and w[0] == "CLIENT_RANDOM":
                cr, ms = bytes.fromhex(w[1]), bytes.fromhex(w[2])
    sr = t.server_random()
    kb = prf(ms, b"key expansion", sr + cr, 2 * klen + 2 * ivlen, h)
    needles = {
        "master-secret": ms,
        "client-write-key": kb[:klen],
        "server-write-key": kb[klen:2 * klen],
        "client-write-iv": kb[2 * klen:2 * klen + ivlen],
        "server-write-iv": kb[2 * klen + ivlen:],
        "marker": marker,
    }
    if pw:
        needles["password"] = pw.encode()
        # AUTH's line in the input buffers, but for its start, which the
        # QUIT after it overwrites (in the record buffer: 35 octets)
        needles["auth-plain-base64"] = base64.b64encode(b"\0" + user.encode() + b"\0" + pw.encode())[-24:]
    with open(out, "w") as f:
        json.dump({"codes": " ".join(str(x) for x in codes), "suite": name,
                   "needles": {k: v.hex() for k, v in needles.items()}}, f)
    print(" ".join(str(x) for x in codes))


def scan(pid, needlefile):
    with open(needlefile) as f:
        needles = {k: bytes.fromhex(v) for k, v in json.load(f)["needles"].items()}
    found, total = [], 0
    with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for line in maps:
            w = line.split()
            if "w" not in w[1] or "r" not in w[1]:
                continue
            lo, hi = (int(x, 16) for x in w[0].split("-"))
            mem.seek(lo)
            try:
                data = mem.read(hi - lo)
            except OSError:
                continue
            total += len(data)
            for k, v in needles.items():
                i = data.find(v)
                if i >= 0:
                    found.append("%s in %s at +0x%x" % (k, w[5] if len(w) > 5 else "anonymous", i))
    if not total:
        print("nothing read")
    for x in found:
        print(x)


def idle(pid):
    end = time.time() + 5
    while time.time() < end:
        try:
            # descriptor 0 is closed after smtpd_wipe; then it waits for
            # its next client in epoll_pwait (smtp-listen(8), SESSION
            # PROCESSES), as its wchan shows
            with open("/proc/%d/wchan" % pid) as f:
                wchan = f.read()
            if not os.path.exists("/proc/%d/fd/0" % pid) and wchan in ("do_epoll_wait", "ep_poll"):
                return 0
        except OSError:
            pass
        time.sleep(0.02)
    return 1


if sys.argv[1] == "client":
    client(int(sys.argv[2]), sys.argv[3], sys.argv[4], *sys.argv[5:8])
elif sys.argv[1] == "scan":
    scan(int(sys.argv[2]), sys.argv[3])
elif sys.argv[1] == "idle":
    sys.exit(idle(int(sys.argv[2])))
