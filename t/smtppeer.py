#!/usr/bin/env python3
# ISC license: see LICENSE.
# A scripted SMTP server for remote-send's tests: one connection at a time,
# a transcript of every line, the raw DATA bytes kept, replies chosen by
# options. Standard library only (python3 ssl for STARTTLS).
import argparse, base64, os, signal, socket, ssl, sys

ap = argparse.ArgumentParser()
ap.add_argument('--host', default='127.0.0.1')
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--log', required=True)          # transcript: C: / S: lines
ap.add_argument('--data', default=None)          # raw DATA bytes of the last message (wire form)
ap.add_argument('--ready', default=None)         # touched once listening
ap.add_argument('--greeting', default='220 peer.test ESMTP')
ap.add_argument('--ehlo-reply', default=None)    # e.g. "421 4.3.2 busy"
ap.add_argument('--no-pipelining', action='store_true')
ap.add_argument('--size', type=int, default=None)
ap.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'), default=None)
ap.add_argument('--auth', action='store_true')   # offer AUTH PLAIN LOGIN, accept anything
ap.add_argument('--rcpt', action='append', default=[])  # ADDR=REPLY
ap.add_argument('--mail-reply', default='250 2.1.0 Ok')
ap.add_argument('--data-reply', default='250 2.0.0 Ok: queued')
ap.add_argument('--data-rcpt', action='append', default=[])  # ADDR=REPLY: the DATA reply when ADDR is among the accepted
ap.add_argument('--close-in-data', action='store_true')
ap.add_argument('--drop-after', type=int, default=None)  # hang up after the reply to the Nth message of a connection
ap.add_argument('--data-dir', default=None)      # every message's DATA bytes, one file each (1, 2, ...)
ap.add_argument('--inject', action='store_true')
ap.add_argument('--auth-login-only', action='store_true')
ap.add_argument('--smtputf8', action='store_true')
ap.add_argument('--silent', action='store_true')     # accept, then say nothing
ap.add_argument('--tls-garbage', action='store_true')  # answer the handshake with junk, then hang up
ap.add_argument('--tls13-only', action='store_true')   # accept TLS 1.3 only (BearSSL speaks up to 1.2: the handshake fails)
ap.add_argument('--starttls-reply', default=None)      # offer STARTTLS, answer it with this (e.g. "454 4.7.0 TLS not available")
a = ap.parse_args()

rcpt_replies = {}
for r in a.rcpt:
    k, v = r.split('=', 1)
    rcpt_replies[k.lower()] = v
data_replies = {}
for r in a.data_rcpt:
    k, v = r.split('=', 1)
    data_replies[k.lower()] = v

logf = open(a.log, 'a', buffering=1)
def log(s):
    logf.write(s + '\n')

class Conn:
    def __init__(self, s):
        self.s = s
        self.buf = b''
    def line(self):
        while b'\n' not in self.buf:
            d = self.s.recv(65536)
            if not d:
                return None
            self.buf += d
        l, self.buf = self.buf.split(b'\n', 1)
        return l + b'\n'
    def send(self, text):
        log('S: ' + text)
        self.s.sendall(text.encode() + b'\r\n')

def ehlo_lines(tls_on):
    ext = []
    if not a.no_pipelining: ext.append('PIPELINING')
    if a.size is not None: ext.append('SIZE %d' % a.size)
    ext.append('8BITMIME')
    if (a.tls or a.starttls_reply) and not tls_on: ext.append('STARTTLS')
    if a.smtputf8: ext.append('SMTPUTF8')
    if a.auth: ext.append('AUTH LOGIN' if a.auth_login_only else 'AUTH PLAIN LOGIN')
    return ['250-peer.test'] + ['250-' + e for e in ext[:-1]] + ['250 ' + ext[-1]]

def session(c):
    tls_on = False
    accepted = 0
    data_reply = a.data_reply
    msgs = 0
    if a.silent:
        while c.s.recv(4096):
            pass
        log('EOF')
        return
    c.send(a.greeting)
    if not a.greeting.startswith('2'):
        return
    while True:
        l = c.line()
        if l is None:
            log('EOF')
            return
        cmd = l.decode('utf-8', 'replace').rstrip('\r\n')
        # 'C+' marks a command that arrived with more bytes behind it (pipelined)
        log(('C+ ' if c.buf else 'C: ') + cmd)
        u = cmd.upper()
        if u.startswith('EHLO'):
            if a.ehlo_reply:
                c.send(a.ehlo_reply)
                continue
            for x in ehlo_lines(tls_on): c.send(x)
        elif u.startswith('HELO'):
            c.send('250 peer.test')
        elif u == 'STARTTLS' and a.starttls_reply and not tls_on:
            c.send(a.starttls_reply)
        elif u == 'STARTTLS' and a.tls and not tls_on:
            if c.buf:
                log('INJECTED: %r' % c.buf)
            if a.tls_garbage:
                c.send('220 2.0.0 go ahead')
                c.s.sendall(b'this is not TLS at all\r\n' * 4)
                log('TLS-GARBAGE')
                return
            if a.inject:
                log('S: 220 2.0.0 go ahead + 250 INJECTED')
                c.s.sendall(b'220 2.0.0 go ahead\r\n250 INJECTED\r\n')
            else:
                c.send('220 2.0.0 go ahead')
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(a.tls[0], a.tls[1])
            if a.tls13_only:
                ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            try:
                c.s = ctx.wrap_socket(c.s, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log('TLS-FAILED %s' % e)
                return
            c.buf = b''
            tls_on = True
            log('TLS-ON')
        elif u.startswith('AUTH PLAIN '):
            raw = base64.b64decode(cmd[11:])
            parts = raw.split(b'\0')
            log('AUTH-PLAIN user=%s pass=%s tls=%s' % (parts[1].decode(), parts[2].decode(), tls_on))
            c.send('235 2.7.0 ok')
        elif u == 'AUTH LOGIN':
            c.send('334 VXNlcm5hbWU6')
            user = base64.b64decode(c.line().strip()).decode()
            c.send('334 UGFzc3dvcmQ6')
            pw = base64.b64decode(c.line().strip()).decode()
            log('AUTH-LOGIN user=%s pass=%s tls=%s' % (user, pw, tls_on))
            c.send('235 2.7.0 ok')
        elif u.startswith('MAIL FROM:'):
            accepted = 0
            data_reply = a.data_reply
            c.send(a.mail_reply)
        elif u.startswith('RCPT TO:'):
            addr = cmd[8:].strip().strip('<>').lower()
            r = rcpt_replies.get(addr, '250 2.1.5 Ok')
            if r.startswith('2'):
                accepted += 1
                data_reply = data_replies.get(addr, data_reply)
            c.send(r)
        elif u == 'DATA' and not accepted:
            c.send('554 5.5.1 no valid recipients')
        elif u == 'DATA':
            c.send('354 go ahead')
            raw = b''
            while True:
                l = c.line()
                if l is None:
                    log('EOF-IN-DATA')
                    return
                raw += l
                if a.close_in_data and len(raw) > 0:
                    log('CLOSING-IN-DATA')
                    c.s.close()
                    return
                if l == b'.\r\n':
                    break
            if a.data:
                with open(a.data, 'wb') as f: f.write(raw)
            if a.data_dir:
                n = len(os.listdir(a.data_dir)) + 1
                with open(os.path.join(a.data_dir, '%d' % n), 'wb') as f: f.write(raw)
            log('DATA-BYTES %d' % len(raw))
            c.send(data_reply)
            msgs += 1
            if a.drop_after is not None and msgs >= a.drop_after:
                log('DROPPING')
                return
        elif u == 'RSET' or u == 'NOOP':
            c.send('250 2.0.0 Ok')
        elif u == 'QUIT':
            c.send('221 2.0.0 Bye')
            return
        else:
            c.send('502 5.5.2 what')

signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
fam = socket.AF_INET6 if ':' in a.host else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((a.host, a.port))
srv.listen(5)
if a.ready:
    open(a.ready, 'w').close()
while True:
    s, _ = srv.accept()
    s.settimeout(30)
    log('CONNECT')
    try:
        session(Conn(s))
    except Exception as e:
        log('ERROR %s' % e)
    try:
        s.close()
    except Exception:
        pass
