# ISC license: see LICENSE.
# The crash-consistency harness behind t/crash.t and `make crashtest`.
#
# A supervised instance (s6) is running: smtp-listen and the scheduler,
# each a service in SVC. Several client threads send N messages over SMTP,
# each with a unique Message-ID and a SHA-256 of its body in a header,
# and record which got 250 (with the queue id). Meanwhile a killer thread
# sends SIGKILL, at random moments, to an SMTP session, smtp-listen, an
# enqueue, the scheduler, local-spawn or a local-deliver. Targets are
# found by pid only: the daemons from s6-svstat, the rest as their
# children (the ppid field of /proc/PID/stat), never by a name pattern
# over the whole machine. Then the queue drains (bounded), the scheduler
# is restarted once more so that its start-up recovery runs, and the
# Maildir and the spool are checked.
#
# Prints key=value lines (acked, delivered, lost, duplicated, corrupted,
# leftovers, kills-KIND...) and exits 0 only when nothing acknowledged was
# lost, nothing was corrupted and the spool is empty.
import argparse, re, os, random, signal, smtplib, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testmsg  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--svc', required=True)
ap.add_argument('--spool', required=True)
ap.add_argument('--maildir', required=True)
ap.add_argument('--rcpt', required=True)
ap.add_argument('--n', type=int, default=300)
ap.add_argument('--parallel', type=int, default=4)
ap.add_argument('--send-time', type=float, default=25.0)
ap.add_argument('--drain', type=float, default=60.0)
ap.add_argument('--kill-min', type=float, default=0.05)
ap.add_argument('--kill-max', type=float, default=0.5)
ap.add_argument('--seed', type=int, default=None)
a = ap.parse_args()

seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), 'big')
rng = random.Random(seed)
runid = '%08x' % rng.getrandbits(32)
lock = threading.Lock()
acked = {}          # index -> queue id
refused = {}        # index -> why it was not acknowledged
KINDS = ('session', 'smtp-listen', 'enqueue', 'enqueue-listen', 'scheduler', 'local-spawn', 'local-deliver')
kills = {k: 0 for k in KINDS}
misses = {k: 0 for k in kills}
log = []
killtimes = []      # (time, kind) of every kill


def out(k, v):
    print('%s=%s' % (k, v), flush=True)


# ---- messages (t/testmsg.py) -------------------------------------------

def message_of(i):
    return testmsg.message(seed, i, 'crash', runid, a.rcpt)


# ---- clients ----------------------------------------------------------

def send_one(i):
    """one message; connection-level failures before MAIL are retried
    (nothing can have been committed), anything later is final"""
    deadline = time.time() + 15
    while True:
        try:
            s = smtplib.SMTP('127.0.0.1', a.port, timeout=15)
            code, _ = s.ehlo('crash.test')
            if code != 250:
                raise smtplib.SMTPException('ehlo %d' % code)
            break
        except (OSError, smtplib.SMTPException) as e:
            if time.time() > deadline:
                return (None, 'connect: %s' % e)
            time.sleep(0.05)
    try:
        code, t = s.mail('crash@test.example')
        if code != 250:
            return (None, 'mail %d' % code)
        code, t = s.rcpt(a.rcpt)
        if code != 250:
            return (None, 'rcpt %d' % code)
        # DATA by hand, as smtplib.data() does it, but with a pause in the
        # middle of some messages: enqueue and the session then live long
        # enough to be killed while they hold half a message
        code, t = s.docmd('DATA')
        if code != 354:
            return (None, 'data %d' % code)
        q = smtplib._quote_periods(smtplib._fix_eols(message_of(i)).encode('ascii'))
        q += b'.\r\n'
        r = random.Random(seed * 7 + i)
        if r.random() < 0.3:
            cut = r.randint(0, len(q) - 1)
            s.send(q[:cut])
            time.sleep(r.uniform(0.01, 0.2))
            q = q[cut:]
        s.send(q)
        code, t = s.getreply()
        try:
            s.quit()
        except Exception:
            pass
        if code != 250:
            return (None, 'data %d %s' % (code, t.decode('latin-1')))
        t = t.decode('latin-1')
        return (t.rsplit(' ', 1)[-1], None)
    except (OSError, smtplib.SMTPException) as e:
        return (None, 'transaction: %s' % e.__class__.__name__)


def client(indices, t0):
    per = a.send_time / max(1, a.n)
    for i in indices:
        # pace: message i is due at t0 + i*per, so kills land all along
        d = t0 + i * per - time.time()
        if d > 0:
            time.sleep(d)
        qid, why = send_one(i)
        with lock:
            if qid:
                acked[i] = qid
            else:
                refused[i] = why


# ---- the killer -------------------------------------------------------

parent = {}         # pid -> ppid, as last read


def procs(ours):
    """pid -> (ppid, comm) for the children of the pids in ours, from
    /proc/PID/stat. A process changes its parent only when orphaned, so a
    pid already seen under a parent that is not in ours is not read
    again: a scan costs little more than listing /proc"""
    res = {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        pid = int(d)
        pp = parent.get(pid)
        if pp is not None and pp not in ours:
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index('(') + 1:st.rindex(')')]
        fields = st[st.rindex(')') + 2:].split()
        ppid = int(fields[1])
        parent[pid] = ppid
        if ppid in ours and fields[0] != 'Z':
            res[pid] = (ppid, comm)
    return res


def svpid(name):
    try:
        p = subprocess.run(['s6-svstat', '-o', 'pid', os.path.join(a.svc, name)],
                           capture_output=True, text=True, timeout=5).stdout.strip()
        p = int(p)
        return p if p > 1 else None
    except (ValueError, subprocess.SubprocessError):
        return None


def targets(kind):
    listen = svpid('smtp-listen')
    sched = svpid('scheduler')
    if kind == 'smtp-listen':
        return [listen] if listen else []
    if kind == 'scheduler':
        return [sched] if sched else []
    if kind == 'enqueue-listen':
        p = svpid('enqueue-listen')
        return [p] if p else []
    daemon = listen if kind in ('session', 'enqueue') else sched
    if not daemon:
        return []
    ps = procs({daemon})
    first = [p for p, (pp, c) in ps.items()]
    if kind == 'session':
        return [p for p in first if ps[p][1] == 'smtp-session']
    if kind == 'local-spawn':
        return [p for p in first if ps[p][1] == 'local-spawn']
    ps2 = procs(set(first))
    want = 'enqueue' if kind == 'enqueue' else 'local-deliver'
    found = [p for p, (pp, c) in ps2.items() if c == want]
    if kind == 'enqueue':
        # with enqueue-socket, the workers of enqueue-listen are named enqueue
        el = svpid('enqueue-listen')
        if el:
            found += [p for p, (pp, c) in procs({el}).items() if c == 'enqueue']
    if kind == 'local-deliver':
        found += [p for p in first if ps[p][1] == 'local-deliver']
    return found


stop = threading.Event()
WEIGHTS = [('session', 3), ('enqueue', 3), ('smtp-listen', 1), ('enqueue-listen', 1), ('scheduler', 2), ('local-spawn', 1), ('local-deliver', 4)]


def killer():
    kinds = [k for k, w in WEIGHTS for _ in range(w)]
    while not stop.wait(rng.uniform(a.kill_min, a.kill_max)):
        # every kind must be killed at least once (t/crash.t checks it):
        # half the draws go to a kind not yet killed, so that a slow run
        # (ASan on two cores) does not leave one out by chance
        zero = [k for k in KINDS if kills[k] == 0]
        kind = rng.choice(zero) if zero and rng.random() < 0.5 else rng.choice(kinds)
        # short-lived processes: look for one for up to half a second
        # local-deliver lives well under a millisecond here: poll without
        # pause for it, and for a little longer
        end = time.time() + (2.0 if kind == 'local-deliver' else 1.0)
        while not stop.is_set():
            t = targets(kind)
            if t or time.time() > end:
                break
            if kind != 'local-deliver':
                time.sleep(0.001)
        if not t:
            misses[kind] += 1
            continue
        pid = rng.choice(t)
        try:
            os.kill(pid, signal.SIGKILL)
            kills[kind] += 1
            killtimes.append((time.time(), kind))
            log.append('%.3f kill %s %d' % (time.time(), kind, pid))
        except ProcessLookupError:
            misses[kind] += 1


# ---- checks -----------------------------------------------------------

def maildir():
    """index -> list of (checksum ok?) for every delivered copy"""
    got = {}
    foreign = 0
    for sub in ('new', 'cur'):
        d = os.path.join(a.maildir, sub)
        if not os.path.isdir(d):
            continue
        for fn in os.listdir(d):
            with open(os.path.join(d, fn), 'rb') as f:
                data = f.read().decode('latin-1')
            c = testmsg.check(data, 'crash', runid)
            if c is None:
                foreign += 1
                continue
            mid, good = c
            # the Maildir name starts with the delivery time: SECONDS.MUSEC
            m = re.match(r'(\d+)\.M(\d+)P', fn)
            when = int(m.group(1)) + int(m.group(2)) / 1e6 if m else 0
            got.setdefault(mid, []).append((good, when))
    return got, foreign


def spool_files(parts=('tmp', 'queue', 'state', 'ctl', 'corrupt')):
    n = 0
    for p in parts:
        for root, dirs, files in os.walk(os.path.join(a.spool, p)):
            n += len(files)
    return n


def wait_ready(name, secs):
    return subprocess.run(['s6-svwait', '-U', '-t', str(int(secs * 1000)), os.path.join(a.svc, name)]).returncode == 0


out('seed', seed)
out('messages', a.n)
t0 = time.time()
kt = threading.Thread(target=killer)
kt.start()
threads = []
idx = list(range(a.n))
for k in range(a.parallel):
    th = threading.Thread(target=client, args=(idx[k::a.parallel], t0))
    th.start()
    threads.append(th)
for th in threads:
    th.join()
stop.set()
kt.join()
out('send-seconds', '%.1f' % (time.time() - t0))

# drain: every acknowledged message delivered and the queue empty
for name in ('smtp-listen', 'scheduler', 'enqueue-listen'):
    wait_ready(name, 15)
end = time.time() + a.drain
while time.time() < end:
    got, _ = maildir()
    if all(i in got for i in acked) and spool_files(('queue',)) == 0:
        break
    time.sleep(0.25)
out('drain-seconds', '%.1f' % (time.time() - t0))

# one more scheduler start: its recovery must leave nothing behind
subprocess.run(['s6-svc', '-r', os.path.join(a.svc, 'scheduler')])
time.sleep(0.5)
wait_ready('scheduler', 15)
end = time.time() + 10
while time.time() < end and spool_files() != 0:
    time.sleep(0.2)

got, foreign = maildir()
delivered = sum(1 for i in got)
lost = sorted(i for i in acked if i not in got)
dups = sum(len(v) - 1 for v in got.values())
corrupt = sum(1 for v in got.values() for g, _ in v if not g)
# SPOOL section 6: a second copy needs a delivery whose result was never
# recorded, so between the first copy and the second, the scheduler,
# local-spawn or a local-deliver must have been killed
dkills = sorted(t for t, kind in killtimes if kind in ('scheduler', 'local-spawn', 'local-deliver'))
outside = 0
for v in got.values():
    times = sorted(w for _, w in v)
    for t1, t2 in zip(times, times[1:]):
        if not any(t1 - 0.5 <= k <= t2 for k in dkills):
            outside += 1
unacked_delivered = sum(1 for i in got if i not in acked)
leftovers = spool_files()
out('acked', len(acked))
out('not-acked', len(refused))
out('delivered', delivered)
out('delivered-not-acked', unacked_delivered)
out('lost', len(lost))
out('duplicated', dups)
out('duplicated-outside-window', outside)
out('corrupted', corrupt)
out('foreign', foreign)
out('leftovers', leftovers)
for k in kills:
    out('kills-' + k, kills[k])
out('kills', sum(kills.values()))
out('kill-misses', sum(misses.values()))
out('maildir-tmp', len(os.listdir(os.path.join(a.maildir, 'tmp'))) if os.path.isdir(os.path.join(a.maildir, 'tmp')) else 0)
if lost:
    out('lost-ids', ' '.join('%d:%s' % (i, acked[i]) for i in lost[:20]))
why = {}
for v in refused.values():
    k = v.split(':')[0].split(' ')[0]
    why[k] = why.get(k, 0) + 1
out('refused-5xx', sum(1 for v in refused.values() if v.split(' ')[1:2] and v.split(' ')[1].startswith('5')))
out('not-acked-why', ' '.join('%s:%d' % kv for kv in sorted(why.items())))
if leftovers:
    for p in ('tmp', 'queue', 'state', 'ctl', 'corrupt'):
        for root, dirs, files in os.walk(os.path.join(a.spool, p)):
            for f in files:
                out('leftover', os.path.join(root, f))
sys.exit(0 if not lost and not corrupt and not leftovers and not foreign else 1)
