#!/usr/bin/python3
# ISC license: see LICENSE.
# dkim-verify.py DNSPORT FILE: verifies every DKIM-Signature of the message
# in FILE (the stored form, LF, or the wire form, CRLF) with python3-dkim
# (what dkimverify runs), the keys looked up in the test's dnsmasq on
# 127.0.0.1:DNSPORT. Prints one word per signature, in order: pass or fail
# (none when there is no signature).
import sys
import dkim
import dns.resolver

port, path = int(sys.argv[1]), sys.argv[2]
res = dns.resolver.Resolver(configure=False)
res.nameservers = ['127.0.0.1']
res.port = port
res.lifetime = 5


def dnsfunc(name, timeout=5):
    try:
        a = res.resolve(name.decode() if isinstance(name, bytes) else name, 'TXT')
    except Exception:
        return None
    return b''.join(a[0].strings)


msg = open(path, 'rb').read()
if b'\r\n' not in msg:
    msg = msg.replace(b'\n', b'\r\n')
head = msg.split(b'\r\n\r\n', 1)[0]
n = sum(1 for line in head.split(b'\r\n') if line.lower().startswith(b'dkim-signature:'))
d = dkim.DKIM(msg)
out = []
for i in range(n):
    try:
        out.append('pass' if d.verify(idx=i, dnsfunc=dnsfunc) else 'fail')
    except Exception:
        out.append('fail')
print(' '.join(out) if out else 'none')
