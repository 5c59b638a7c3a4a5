# ISC license: see LICENSE.
# A hostile Dovecot auth server for t/dovecot-auth.t: listens on the Unix
# socket argv[1] and, for each connection, behaves as the file argv[2]
# says at that moment (one word):
#   long      a handshake line of 20000 octets and no LF
#   version   VERSION 2 (another major version)
#   hush      nothing at all, ever
#   unknown   a good handshake, then an unknown reply to AUTH
#   otherid   a good handshake, then OK for another request id
#   silent    a good handshake, then no answer to AUTH
#   ok        a good handshake, then OK (the harness works)
# Every connection ends after 30 seconds at most; the server after 300.
import os, socket, sys, threading, time

path, modefile = sys.argv[1], sys.argv[2]
HELLO = b'VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t1\nCOOKIE\t00\nDONE\n'

def serve(c):
    c.settimeout(30)
    try:
        mode = open(modefile).read().strip()
        if mode == 'long':
            c.sendall(b'VERSION\t1\t2\nMECH\t' + b'A' * 20000)
        elif mode == 'version':
            c.sendall(b'VERSION\t2\t0\nDONE\n')
        elif mode in ('unknown', 'otherid', 'silent', 'ok'):
            c.sendall(HELLO)
            buf = b''
            while b'AUTH\t' not in buf or not buf.endswith(b'\n'):
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            rid = buf.split(b'AUTH\t', 1)[1].split(b'\t', 1)[0]
            if mode == 'unknown':
                c.sendall(b'WHAT\t' + rid + b'\n')
            elif mode == 'otherid':
                c.sendall(b'OK\t' + str(int(rid) + 5).encode() + b'\n')
            elif mode == 'ok':
                c.sendall(b'OK\t' + rid + b'\tuser=peer\n')
        deadline = time.time() + 30
        while time.time() < deadline:
            if not c.recv(4096):
                break
    except (OSError, socket.timeout):
        pass
    finally:
        c.close()

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
s.listen(16)
s.settimeout(1)
end = time.time() + 300
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
