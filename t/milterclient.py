# ISC license: see LICENSE.
# A small milter client (protocol version 6, as libmilter speaks it), for
# the filter tests to check a real filter's configuration by itself, apart
# from ketch's client: one transaction, the message read from a file.
#
#   milterclient.py [options] inet:HOST:PORT|unix:PATH MESSAGE
#     --from ADDR --rcpt ADDR (repeatable) --helo NAME --client ADDR
#     --macro STAGE:NAME=VALUE (STAGE one of C H M R T L N B E; repeatable)
#     --out FILE: the message with the filter's header changes applied
#
# Prints one line per reply the filter sent after negotiation, in order:
# "STAGE CODE DETAIL" (e.g. "E h X-Spam: Yes", "M r", "E y 554 5.7.1 ...").
# Exit 0 when the session ran to its end (whatever the verdict), 1 on a
# protocol or connection failure. Bounded: a 30 s timeout on every read.
import socket
import struct
import sys

ACTIONS = 0x1FF           # every modification SMFIF_* of version 6
PROTO_ALL = 0x0FFFFF      # every SMFIP_* flag but HDR_LEADSPC (values come without their leading space)
NO = {'C': 0x1, 'H': 0x2, 'M': 0x4, 'R': 0x8, 'B': 0x10, 'L': 0x20, 'N': 0x40, 'T': 0x200}
NR = {'C': 0x1000, 'H': 0x2000, 'M': 0x4000, 'R': 0x8000, 'T': 0x10000, 'N': 0x40000,
      'B': 0x80000, 'L': 0x80}
FINAL = (b'a', b'r', b't', b'y')   # accept, reject, tempfail, reply code: the verdicts besides continue/discard


def usage():
    sys.stderr.write('usage: milterclient.py [--from A] [--rcpt A] [--macro S:N=V] [--out F] SOCKET MESSAGE\n')
    sys.exit(2)


def main():
    args = sys.argv[1:]
    opt = {'from': 'sender@client.test', 'rcpt': [], 'helo': 'client.test', 'client': '127.0.0.1',
           'macro': [], 'out': None}
    while args and args[0].startswith('--'):
        k = args.pop(0)[2:]
        if k not in opt or not args:
            usage()
        v = args.pop(0)
        if isinstance(opt[k], list):
            opt[k].append(v)
        else:
            opt[k] = v
    if len(args) != 2:
        usage()
    target, msgfile = args
    if not opt['rcpt']:
        opt['rcpt'] = ['rcpt@test.example']
    if target.startswith('unix:'):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        s.connect(target[5:])
    elif target.startswith('inet:'):
        host, port = target[5:].rsplit(':', 1)
        s = socket.create_connection((host, int(port)), 30)
    else:
        usage()
    s.settimeout(30)

    def send(cmd, data=b''):
        s.sendall(struct.pack('>I', len(data) + 1) + cmd + data)

    def readn(n):
        b = b''
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError('the filter closed the connection')
            b += c
        return b

    def reply():
        n = struct.unpack('>I', readn(4))[0]
        if n < 1 or n > 1 << 20:
            raise ValueError('bad packet length %d' % n)
        d = readn(n)
        return d[:1], d[1:]

    macros = {}
    for m in opt['macro']:
        st, nv = m.split(':', 1)
        n, v = nv.split('=', 1)
        macros.setdefault(st, []).append((n, v))

    send(b'O', struct.pack('>III', 6, ACTIONS, PROTO_ALL))
    c, d = reply()
    if c != b'O' or len(d) < 12:
        raise ValueError('bad option negotiation reply %r' % c)
    _, _, proto = struct.unpack('>III', d[:12])

    raw = open(msgfile, 'rb').read().replace(b'\r\n', b'\n')
    head, _, body = raw.partition(b'\n\n')
    headers = []
    for line in head.split(b'\n'):
        if line[:1] in (b' ', b'\t') and headers:
            headers[-1][1] += b'\r\n' + line
        else:
            n, _, v = line.partition(b':')
            headers.append([n, v[1:] if v[:1] == b' ' else v])

    out = []
    verdict = [None]

    def step(st, data=b''):
        """one stage: its macros, the command, and its replies unless the
        filter said it wants none; False once the transaction is decided"""
        if proto & NO.get(st, 0):
            return True
        if st in macros:
            send(b'D', st.encode() + b''.join(n.encode() + b'\0' + v.encode() + b'\0' for n, v in macros[st]))
        send(st.encode(), data)
        if proto & NR.get(st, 0):
            return True
        while True:
            c, d = reply()
            if c in (b'c', b'p'):
                if c == b'c':
                    return True
                continue
            if c == b's':
                return True
            if c == b'h':
                n, v = d.split(b'\0')[:2]
                out.append('%s h %s: %s' % (st, n.decode(), v.decode(errors='replace')))
                headers.append([n, v])
                if st == 'E':
                    continue
                return True
            if c == b'i':
                i = struct.unpack('>I', d[:4])[0]
                n, v = d[4:].split(b'\0')[:2]
                out.append('%s i %d %s: %s' % (st, i, n.decode(), v.decode(errors='replace')))
                headers.insert(i, [n, v])
                continue
            if c == b'm':
                i = struct.unpack('>I', d[:4])[0]
                n, v = d[4:].split(b'\0')[:2]
                out.append('%s m %d %s: %s' % (st, i, n.decode(), v.decode(errors='replace')))
                # the i-th header of that name (1-based), deleted when the value is empty
                seen = 0
                for k, h in enumerate(headers):
                    if h[0].lower() == n.lower():
                        seen += 1
                        if seen == i:
                            if v:
                                h[1] = v
                            else:
                                del headers[k]
                            break
                else:
                    if v:
                        headers.append([n, v])
                continue
            if c in (b'+', b'-', b'e', b'b', b'2', b'q'):
                out.append('%s %s %s' % (st, c.decode(), d.rstrip(b'\0').decode(errors='replace')))
                continue
            out.append('%s %s %s' % (st, c.decode(), d.rstrip(b'\0').decode(errors='replace')))
            if c in FINAL or c == b'd':
                verdict[0] = c
                return False
            return True

    go = (step('C', b'client.test\0' + b'4' + struct.pack('>H', 40000) + opt['client'].encode() + b'\0')
          and step('H', opt['helo'].encode() + b'\0')
          and step('M', b'<' + opt['from'].encode() + b'>\0'))
    if go:
        for r in opt['rcpt']:
            go = step('R', b'<' + r.encode() + b'>\0')
            if not go:
                break
    if go:
        go = step('T')
    if go:
        for n, v in list(headers):
            go = step('L', n + b'\0' + v + b'\0')
            if not go:
                break
    if go:
        go = step('N')
    if go:
        b = body.replace(b'\n', b'\r\n')
        for i in range(0, max(len(b), 1), 65535):
            go = step('B', b[i:i + 65535])
            if not go:
                break
    if go:
        step('E')
    send(b'Q')
    s.close()
    print('\n'.join(out))
    if opt['out']:
        with open(opt['out'], 'wb') as f:
            for n, v in headers:
                f.write(n + b': ' + v.replace(b'\r\n', b'\n') + b'\n')
            f.write(b'\n' + body)


try:
    main()
except (OSError, EOFError, ValueError, struct.error) as e:
    sys.stderr.write('milterclient: %s\n' % e)
    sys.exit(1)
