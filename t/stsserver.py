#!/usr/bin/env python3
# ISC license: see LICENSE.
# An HTTPS server for t/mta-sts.t: serves /.well-known/mta-sts.txt of each
# mta-sts.DOMAIN from DIR/DOMAIN (the Host header names it), with one
# certificate for every name. A file DIR/DOMAIN.drip is sent a byte a
# second (a server that never finishes in time); DIR/DOMAIN.redirect makes
# a 301. Every request is logged, one line: HOST PATH.
import argparse, os, socket, ssl, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument('--host', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--cert', required=True)
ap.add_argument('--key', required=True)
ap.add_argument('--dir', required=True)
ap.add_argument('--log', required=True)
ap.add_argument('--ready', required=True)
a = ap.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(a.cert, a.key)
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((a.host, a.port))
ls.listen(16)
open(a.ready, 'w').close()

def log(s):
    with open(a.log, 'a') as f:
        f.write(s + '\n')

def serve(c):
    try:
        c.settimeout(30)
        s = ctx.wrap_socket(c, server_side=True)
        req = b''
        while b'\r\n\r\n' not in req and len(req) < 8192:
            d = s.recv(4096)
            if not d:
                return
            req += d
        lines = req.decode('latin-1').split('\r\n')
        path = lines[0].split(' ')[1]
        host = ''
        for l in lines[1:]:
            if l.lower().startswith('host:'):
                host = l[5:].strip()
        log('%s %s' % (host, path))
        dom = host[len('mta-sts.'):] if host.startswith('mta-sts.') else host
        f = os.path.join(a.dir, dom)
        if os.path.exists(f + '.redirect'):
            s.sendall(b'HTTP/1.1 301 Moved\r\nLocation: https://elsewhere.test/\r\nContent-Length: 0\r\n\r\n')
        elif os.path.exists(f + '.drip'):
            body = open(f + '.drip', 'rb').read()
            s.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n' % len(body))
            for i in range(len(body)):
                s.sendall(body[i:i+1])
                time.sleep(1)
        elif path == '/.well-known/mta-sts.txt' and os.path.exists(f):
            body = open(f, 'rb').read()
            s.sendall(b'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n' % len(body) + body)
        else:
            s.sendall(b'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
        s.unwrap()
    except Exception as e:
        log('error %s' % e)
    finally:
        c.close()

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
