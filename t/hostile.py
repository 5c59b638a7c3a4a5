# ISC license: see LICENSE.
# The attacks of t/hostile.t against a running smtp-listen (pid --listen):
# N connections opened at once, slow-drip clients, clients that never read
# their replies, a flood of AUTH failures; meanwhile a normal client sends
# a message. Prints key=value lines; every wait is bounded.
import argparse, base64, os, select, smtplib, socket, threading, time

ap = argparse.ArgumentParser()
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--listen', type=int, required=True)
ap.add_argument('--n', type=int, default=1000)
ap.add_argument('--rcpt', required=True)
a = ap.parse_args()


def out(k, v):
    print('%s=%s' % (k, v), flush=True)


def waiting(pid):
    """a session process of smtp-listen -f that waits for a client (in
    epoll_pwait, smtp-listen(8)): one of its pool, not a session"""
    try:
        return open('/proc/%d/wchan' % pid).read() in ('do_epoll_wait', 'ep_poll')
    except OSError:
        return False


def children():
    """the listener's session processes that serve a client (not smtp-keyd, which stays, nor -f's waiting ones)"""
    res = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                st = open('/proc/%s/stat' % d).read()
            except OSError:
                continue
            if int(st[st.rindex(')') + 2:].split()[1]) == a.listen and st[st.index('(') + 1:st.rindex(')')] != 'smtp-keyd' and not waiting(int(d)):
                res.append(int(d))
    return res


def pss(pid):
    """proportional set size of a process, kB (0 if it is gone)"""
    try:
        for line in open('/proc/%d/smaps_rollup' % pid):
            if line.startswith('Pss:'):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory():
    kids = children()
    return len(kids), pss(a.listen) + sum(pss(p) for p in kids)


def normal_client(tag):
    t0 = time.time()
    try:
        s = smtplib.SMTP('127.0.0.1', a.port, timeout=20)
        s.sendmail('normal@test.example', [a.rcpt], 'Subject: normal %s\n\nhello\n' % tag)
        s.quit()
        return 'ok', time.time() - t0
    except Exception as e:
        return e.__class__.__name__, time.time() - t0


listen_pss0 = pss(a.listen)
out('listener-pss-kb-before', listen_pss0)

# 1. N connections at once, each waits for its greeting
socks = []
t0 = time.time()
for i in range(a.n):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(('127.0.0.1', a.port))
    except BlockingIOError:
        pass
    socks.append(s)
greet = {}
pending = {s.fileno(): s for s in socks}
end = time.time() + 30
ep = select.epoll()
for s in socks:
    ep.register(s.fileno(), select.EPOLLIN)
bufs = {}
while pending and time.time() < end:
    for fd, ev in ep.poll(0.5):
        s = pending.get(fd)
        if s is None:
            continue
        try:
            d = s.recv(512)
        except OSError:
            d = b''
        bufs[fd] = bufs.get(fd, b'') + d
        if b'\r\n' in bufs[fd] or not d:
            greet[fd] = bufs[fd][:3].decode('latin-1') if d or bufs[fd] else 'eof'
            del pending[fd]
            ep.unregister(fd)
codes = {}
for v in greet.values():
    codes[v] = codes.get(v, 0) + 1
out('connect-seconds', '%.1f' % (time.time() - t0))
out('greeted-220', codes.get('220', 0))
out('greeted-other', ' '.join('%s:%d' % kv for kv in sorted(codes.items()) if kv[0] != '220') or 'none')
n, kb = memory()
out('sessions-held', n)
out('pss-kb-held', kb)
out('pss-kb-per-session', kb // max(1, n))

# 2. a normal client while they are all held
r, secs = normal_client('during-1000')
out('normal-during-1000', r)
out('normal-during-1000-seconds', '%.1f' % secs)
for s in socks:
    s.close()
ep.close()


# 3. slow drip, never-read and AUTH flood, at the same time
results = {}


def drip(k):
    s = socket.create_connection(('127.0.0.1', a.port), timeout=30)
    s.recv(512)
    msg = b'MAIL FROM:<drip@test.example>' + b' ' * 400
    t0 = time.time()
    closed = None
    for ch in msg:
        try:
            s.send(bytes([ch]))
        except OSError:
            closed = time.time() - t0
            break
        r, _, _ = select.select([s], [], [], 0.3)
        if r:
            try:
                d = s.recv(512)
            except OSError:
                d = b''
            if not d or d.startswith(b'421'):
                closed = time.time() - t0
                break
        if time.time() - t0 > 40:
            break
    s.close()
    results['drip%d' % k] = closed


def noread(k):
    s = socket.create_connection(('127.0.0.1', a.port), timeout=30)
    s.setblocking(False)
    data = b'NOOP\r\n' * 100000
    t0 = time.time()
    sent = 0
    closed = None
    while time.time() - t0 < 40:
        _, w, x = select.select([], [s], [s], 0.5)
        if w:
            try:
                sent += s.send(data[sent % len(data):])
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed = time.time() - t0
                break
        if not w and time.time() - t0 > 1:
            # the server stopped reading; see if it has gone away
            try:
                if s.recv(1, socket.MSG_PEEK) == b'':
                    closed = time.time() - t0
                    break
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                closed = time.time() - t0
                break
    s.close()
    results['noread%d' % k] = closed


def authflood(k):
    s = socket.create_connection(('127.0.0.1', a.port), timeout=30)
    f = s.makefile('rb')
    f.readline()
    s.sendall(b'EHLO flood\r\n')
    while True:
        l = f.readline()
        if not l or l[3:4] == b' ':
            break
    bad = base64.b64encode(b'\0alice\0wrong%d' % k)
    codes = []
    t0 = time.time()
    for i in range(10):
        try:
            s.sendall(b'AUTH PLAIN ' + bad + b'\r\n')
            l = f.readline()
        except OSError:
            break
        if not l:
            break
        codes.append(l[:3].decode())
        if l.startswith(b'421'):
            break
        if l.startswith(b'535'):
            continue
    # after 535s, a 421 may follow the last one
    try:
        l = f.readline()
        if l:
            codes.append(l[:3].decode())
    except OSError:
        pass
    s.close()
    results['auth%d' % k] = (codes, time.time() - t0)


threads = [threading.Thread(target=drip, args=(k,)) for k in range(20)]
threads += [threading.Thread(target=noread, args=(k,)) for k in range(10)]
threads += [threading.Thread(target=authflood, args=(k,)) for k in range(100)]
for t in threads:
    t.start()
time.sleep(2)
n, kb = memory()
out('sessions-under-attack', n)
out('pss-kb-under-attack', kb)
r, secs = normal_client('during-attack')
out('normal-during-attack', r)
out('normal-during-attack-seconds', '%.1f' % secs)
for t in threads:
    t.join(60)
drips = [results.get('drip%d' % k) for k in range(20)]
out('drip-closed', sum(1 for d in drips if d is not None))
out('drip-max-seconds', '%.1f' % max((d for d in drips if d is not None), default=-1))
nr = [results.get('noread%d' % k) for k in range(10)]
out('noread-closed', sum(1 for d in nr if d is not None))
out('noread-max-seconds', '%.1f' % max((d for d in nr if d is not None), default=-1))
af = [results.get('auth%d' % k) for k in range(100)]
out('auth-sessions', sum(1 for x in af if x))
out('auth-closed-421', sum(1 for x in af if x and '421' in x[0]))
out('auth-max-failures', max((x[0].count('535') for x in af if x), default=-1))
out('auth-codes-sample', ','.join(af[0][0]) if af and af[0] else 'none')

# 4. afterwards: sessions gone, the listener's own memory did not grow
end = time.time() + 20
while time.time() < end and children():
    time.sleep(0.2)
out('sessions-after', len(children()))
out('listener-pss-kb-after', pss(a.listen))
r, secs = normal_client('after')
out('normal-after', r)
