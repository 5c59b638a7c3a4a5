# ISC license: see LICENSE.
# A raw SMTP client for the shell tests: exact bytes out, replies in.
# Every wait is bounded by a socket timeout.
import socket, ssl, time

class Conn:
    def __init__(self, port, host='127.0.0.1', timeout=10, tls=False, ctx=None):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b''
        if tls:
            self.wrap(ctx)

    def wrap(self, ctx=None):
        if ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.s = ctx.wrap_socket(self.s, server_hostname='localhost')
        self.buf = b''
        return self.s

    def send(self, b):
        self.s.sendall(b)

    def reply(self):
        """one reply, multiline joined; (code, text); code 0 on EOF"""
        lines = []
        while True:
            while b'\r\n' not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    return (0, b'\n'.join(lines + [self.buf]).decode('latin-1'))
                self.buf += d
            line, self.buf = self.buf.split(b'\r\n', 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b'-':
                break
        return (int(lines[-1][:3]), b'\n'.join(lines).decode('latin-1'))

    def cmd(self, b):
        self.send(b + b'\r\n')
        return self.reply()

    def code(self, b):
        return self.cmd(b)[0]

    def silent(self, t=0.5):
        """True when nothing arrives within t seconds (and the buffer is empty)"""
        if self.buf:
            return False
        self.s.settimeout(t)
        try:
            d = self.s.recv(4096)
            self.buf += d
            return False if d else True
        except (socket.timeout, ssl.SSLWantReadError):
            return True
        finally:
            self.s.settimeout(10)

    def close(self):
        try:
            self.s.close()
        except Exception:
            pass

def codes(c, cmds):
    return ' '.join(str(c.code(x)) for x in cmds)

def in_pieces(port, starttls=False, n=5):
    """N messages, each written line by line after the 354 (Python's socket
    has Nagle's algorithm on), over STARTTLS or not: a write waits until
    the one before is ACKed, so each message takes 40 ms or more when the
    server delays its ACKs (lib/tcpack). Returns the last reply's code and
    'prompt' if the quickest message took under 20 ms, else 'stalled:'
    and its time."""
    ms = []
    for i in range(n):
        c = Conn(port); c.reply(); c.cmd(b'EHLO pieces.example')
        if starttls:
            c.cmd(b'STARTTLS'); c.wrap(); c.cmd(b'EHLO pieces.example')
        codes(c, [b'MAIL FROM:<a@b.example>', b'RCPT TO:<root@test.example>', b'DATA'])
        t0 = time.monotonic()
        c.send(b'Subject: in pieces\r\n\r\n')
        for k in range(20):
            c.send(b'line %d of a message written line by line\r\n' % k)
        c.send(b'.\r\n')
        code = c.reply()[0]
        ms.append((time.monotonic() - t0) * 1000)
        c.code(b'QUIT')
    return '%d %s' % (code, 'prompt' if min(ms) < 20 else 'stalled:%.1fms' % min(ms))

_settled = [True]

def settle(listen, limit=5):
    """wait, bounded, until every session process of smtp-listen -f (pid
    listen) waits for a client in epoll_pwait: a process that has just
    answered QUIT is still ending its session, and a client that comes
    before it waits again goes to another process. Once all wait, the
    next connection goes to the one registered first with the listening
    sockets (EPOLLEXCLUSIVE wakes the first waiting entry of the socket's
    wait queue). Returns whether they all waited in time; after one
    timeout it no longer waits (wchan unreadable, say)."""
    import os
    if not _settled[0]:
        return False
    end = time.time() + limit
    while time.time() < end:
        busy = 0
        for d in os.listdir('/proc'):
            if not d.isdigit():
                continue
            try:
                st = open('/proc/%s/stat' % d).read()
                f = st[st.rindex(')') + 2:].split()
                if int(f[1]) != listen or f[0] == 'Z' or st[st.index('(') + 1:st.rindex(')')] != 'smtp-session':
                    continue
                if open('/proc/%s/wchan' % d).read() not in ('do_epoll_wait', 'ep_poll'):
                    busy += 1
            except (OSError, ValueError):
                continue
        if not busy:
            return True
        time.sleep(0.01)
    _settled[0] = False
    return False
