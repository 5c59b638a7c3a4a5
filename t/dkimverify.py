# ISC license: see LICENSE.
# python3-dkim's verifier (the module behind its dkimverify), with the key
# looked up in the test's own DNS server: the module resolves through
# dnspython or pydns, which Debian does not pull in and which would ask
# /etc/resolv.conf's servers anyway. The TXT lookup is a plain DNS query
# over UDP (RFC 1035 4.1), built and parsed here.
#
#   dkimverify.py SERVER:PORT < MESSAGE     exit 0 when a signature verifies
#   dkimverify.py SERVER:PORT -q NAME       prints NAME's TXT record
import random
import socket
import struct
import sys


def txt(server, name):
    """the strings of NAME's first TXT record joined, as bytes; None when
    there is none"""
    host, port = server.rsplit(':', 1)
    qid = random.randrange(65536)
    q = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip('.').split('.'):
        q += bytes([len(label)]) + label.encode()
    q += b'\0' + struct.pack('>HH', 16, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (host, int(port)))
    r = s.recv(65535)
    s.close()
    rid, flags, qd, an = struct.unpack('>HHHH', r[:8])
    if rid != qid or flags & 0xF or an == 0:
        return None
    p = 12

    def skipname(p):
        while True:
            n = r[p]
            if n >= 0xC0:
                return p + 2
            if n == 0:
                return p + 1
            p += n + 1
    for _ in range(qd):
        p = skipname(p) + 4
    for _ in range(an):
        p = skipname(p)
        rtype, _, _, rdlen = struct.unpack('>HHIH', r[p:p + 10])
        p += 10
        if rtype == 16:
            rd, out, i = r[p:p + rdlen], b'', 0
            while i < len(rd):
                out += rd[i + 1:i + 1 + rd[i]]
                i += 1 + rd[i]
            return out
        p += rdlen
    return None


def main():
    server = sys.argv[1]
    if len(sys.argv) == 4 and sys.argv[2] == '-q':
        v = txt(server, sys.argv[3])
        if v is None:
            sys.exit(1)
        print(v.decode())
        return
    import dkim
    msg = sys.stdin.buffer.read()
    d = dkim.DKIM(msg)
    ok = d.verify(dnsfunc=lambda name, timeout=5: txt(server, name.decode() if isinstance(name, bytes) else name))
    print('signature ok' if ok else 'signature verification failed')
    sys.exit(0 if ok else 1)


main()
