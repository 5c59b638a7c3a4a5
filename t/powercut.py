# ISC license: see LICENSE.
# The power-cut harness behind t/powercut.t, `make powercut` and `make
# powercut-peers` (issue 24).
#
# An MTA's spool and the recipient's Maildir live on the power-cut
# filesystem (t/shim/powercutfs.c), mounted at MNT over STATE. The MTA's
# processes run in a PID namespace of their own, so that one SIGKILL (to
# the namespace's init) kills every one of them at once. Client threads
# send messages over SMTP, and one thread through the MTA's local
# submission program (enqueue, or the peer's sendmail), each message with
# a unique Message-ID and the SHA-256 of its body in a header, and record
# which were acknowledged (250 after DATA, exit 0). At random moments
# (seeded) the machine loses power: every MTA process and every running
# submission is SIGKILLed, the filesystem is cut (whatever was not
# fsynced is forgotten) and mounted again, and the MTA is started again:
# its start-up recovery runs on what a real power cut could have left.
# After the last cut, the queue drains (bounded) and the Maildir is
# checked: every acknowledged message delivered (at least once), none
# corrupted, duplicates only in the window of SPOOL section 6 (the first
# copy delivered at most --window seconds before a cut), nothing left in
# the spool, nothing quarantined.
#
# Prints key=value lines (acked, lost, corrupted, duplicated, cuts,
# messages-per-second, cuts-per-minute...) and exits 0 only when nothing
# acknowledged was lost and nothing was corrupted (for ketch, also an
# empty spool and every duplicate in the window; --peer reports only).
import argparse, atexit, calendar, grp, os, pwd, random, re, signal, smtplib, socket, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import testmsg  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--mta', default='ketch', choices=('ketch', 'postfix', 'opensmtpd'))
ap.add_argument('--fs', required=True, help='the powercutfs program')
ap.add_argument('--dir', required=True, help='a fresh directory for the run')
ap.add_argument('--build', help="ketch's build directory")
ap.add_argument('--peers', default='/var/cache/ketch-bench', help='where t/bench/bench.py unpacked Postfix and OpenSMTPD')
ap.add_argument('--user', required=True, help='the recipient, a local user')
ap.add_argument('--cuts', type=int, default=20)
ap.add_argument('--time', type=float, default=40.0, help='stop cutting after this many seconds')
ap.add_argument('--up-min', type=float, default=0.3, help='least time between a boot and the next cut')
ap.add_argument('--up-max', type=float, default=1.5)
ap.add_argument('--rate', type=float, default=40.0, help='messages per second offered, all clients together')
ap.add_argument('--parallel', type=int, default=4, help='SMTP clients')
ap.add_argument('--drain', type=float, default=60.0)
ap.add_argument('--window', type=float, default=2.0, help='duplicate window: seconds from a first copy to the cut')
ap.add_argument('--deliver', default='maildir', choices=('maildir', 'mbox'), help="ketch's local delivery")
ap.add_argument('--premade', action='store_true', help='the Maildir made (and durable) before the first cut')
ap.add_argument('--torn', action='store_true', help='tear unsynced data at a page boundary instead of losing it')
ap.add_argument('--seed', type=int, default=None)
a = ap.parse_args()

seed = a.seed if a.seed is not None else int.from_bytes(os.urandom(4), 'big')
rng = random.Random(seed)
runid = '%08x' % rng.getrandbits(32)
STATE = os.path.join(a.dir, 'fs')
# the peers deliver to ~/Maildir: the recipient's home ($T/home/USER,
# t/lib.sh's test_user) is on the cut filesystem
MNT = os.path.join(a.dir, 'home')
RCPT = '%s@test.example' % a.user
pw = pwd.getpwnam(a.user)
lock = threading.Lock()
acked = {}          # index -> time of the acknowledgement
refused = {}        # index -> why not
cuts = []           # times of the cuts (the kill of every process)
down = threading.Event()    # set while the machine is off


def out(k, v):
    print('%s=%s' % (k, v), flush=True)


# ---- messages (t/testmsg.py, without "From " lines) ----

def message_of(i):
    return testmsg.message(seed, i, 'pc', runid, RCPT, from_lines=False)


# ---- the filesystem ----

class Shim:
    def __init__(self):
        os.makedirs(STATE, exist_ok=True)
        os.makedirs(MNT, exist_ok=True)
        self.p = None
        self.n = 0
        self.err = open(os.path.join(a.dir, 'powercutfs.log'), 'ab')

    def mount(self):
        self.n += 1
        argv = [a.fs, '-s', str(seed + self.n)] + (['-t'] if a.torn else []) + [STATE, MNT]
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.err, stderr=self.err)
        end = time.time() + 10
        while not os.path.ismount(MNT):
            if time.time() > end or self.p.poll() is not None:
                raise SystemExit('powercutfs did not mount')
            time.sleep(0.01)

    def stop(self, sig):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(30)
        except subprocess.TimeoutExpired:
            raise SystemExit('powercutfs did not exit')
        if rc != 0:
            raise SystemExit('powercutfs exited %d' % rc)


def fsync_dir(p):
    fd = os.open(p, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def mkmaildir(md, uid, gid):
    for sub in ('', 'tmp', 'new', 'cur'):
        p = os.path.join(md, sub)
        os.makedirs(p, exist_ok=True)
        os.chown(p, uid, gid)
        os.chmod(p, 0o700)


# ---- the MTAs: each boots in a PID namespace, crashes as a whole ----

class Machine:
    """the processes of one boot: unshare --pid --fork ARGV; crash() kills
    the namespace's init, and with it, by the kernel, every process in it"""
    def __init__(self, argv, env=None):
        self.log = open(os.path.join(a.dir, 'machine.log'), 'ab')
        self.p = subprocess.Popen(['unshare', '--pid', '--fork', '--'] + argv, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=self.log, env=env, start_new_session=True)

    def init_pid(self):
        try:
            with open('/proc/%d/task/%d/children' % (self.p.pid, self.p.pid)) as f:
                k = f.read().split()
            return int(k[0]) if k else None
        except OSError:
            return None

    def crash(self):
        end = time.time() + 5
        while self.p.poll() is None:
            pid = self.init_pid()
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                self.p.wait(0.5)
            except subprocess.TimeoutExpired:
                if time.time() > end:
                    self.p.kill()
        self.log.close()


def wait_port(port, secs):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Ketch:
    name = 'ketch'
    strict = True

    def __init__(self):
        self.bin = os.path.join(a.build, 'bin')
        self.port = free_port()
        self.conf = os.path.join(a.dir, 'ketch.conf')
        self.svc = os.path.join(a.dir, 'service')
        self.spool = os.path.join(MNT, 'spool')
        self.maildir = os.path.join(MNT, 'mail', a.user)
        self.mbox = os.path.join(MNT, 'mail', a.user + '.mbox') if a.deliver == 'mbox' else None
        self.env = dict(os.environ, PATH=self.bin + ':/usr/sbin:/usr/bin:/sbin:/bin')
        with open(self.conf, 'w') as f:
            f.write('\n'.join(['hostname mx.test.example', 'spool ' + self.spool, 'programs ' + self.bin,
                               'local-domain test.example', 'smtp-user root',
                               'listen 127.0.0.1 port %d' % self.port,
                               ('deliver mbox %s/mail/%%u.mbox' if self.mbox else 'deliver maildir %s/mail/%%u') % MNT,
                               'retry local 1s', 'retry max 2s', 'rescan 2s',
                               'limit connections 200', 'limit connections-per-client 200',
                               'enqueue-socket %s' % os.path.join(a.dir, 'enqueue.sock')]) + '\n')
        subprocess.run(['ketch-services', '-C', self.conf, '-l', os.path.join(a.dir, 'log'), self.svc],
                       env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def setup(self):
        """on the first mount, before anything is cut"""
        subprocess.run(['mkspool', '-C', self.conf], env=self.env, check=True)
        os.makedirs(os.path.join(MNT, 'mail'), exist_ok=True)
        os.chmod(os.path.join(MNT, 'mail'), 0o1777)
        if a.premade and not self.mbox:
            mkmaildir(self.maildir, pw.pw_uid, pw.pw_gid)

    def boot(self):
        self.m = Machine(['s6-svscan', self.svc], env=self.env)
        ok = wait_port(self.port, 20)
        subprocess.run(['s6-svwait', '-U', '-t', '20000'] + [os.path.join(self.svc, s) for s in ('smtp-listen', 'scheduler', 'enqueue-listen')],
                       env=self.env, timeout=30)
        return ok

    def crash(self):
        self.m.crash()

    def submit_argv(self):
        return [os.path.join(self.bin, 'enqueue'), '-C', self.conf, '-f', 'pc@test.example', RCPT]

    def restart_queue(self):
        """one more start of the scheduler: its recovery, on a quiet spool"""
        subprocess.run(['s6-svc', '-r', os.path.join(self.svc, 'scheduler')], env=self.env)
        time.sleep(0.5)
        subprocess.run(['s6-svwait', '-U', '-t', '15000', os.path.join(self.svc, 'scheduler')], env=self.env, timeout=20)

    def queued(self):
        return count_files(self.spool, ('queue',))

    def queued_ids(self):
        return ids_in(self.spool, ('queue',))

    def leftovers(self):
        return count_files(self.spool, ('tmp', 'queue', 'state', 'ctl', 'corrupt'))

    def quarantined(self):
        return count_files(self.spool, ('corrupt',))


class Postfix:
    """Debian's Postfix unpacked by t/bench/bench.py (make bench), its
    queue_directory on the cut filesystem, master in the foreground;
    local(8) delivers to ~/Maildir/"""
    name = 'postfix'
    strict = False

    def __init__(self):
        self.root = os.path.join(a.peers, 'root-postfix')
        lib = os.path.join(self.root, 'usr/lib/postfix')
        if not os.path.isdir(lib):
            raise SystemExit('no Postfix in %s: run make bench once (t/bench/bench.py unpacks it)' % a.peers)
        self.port = free_port()
        self.conf = os.path.join(a.dir, 'postfix')
        self.q = os.path.join(MNT, 'postfix')
        self.maildir = os.path.join(pw.pw_dir, 'Maildir')
        os.makedirs(self.conf)
        data = os.path.join(a.dir, 'postfix-data')
        os.makedirs(data)
        os.chown(data, pwd.getpwnam('postfix').pw_uid, -1)
        with open(os.path.join(self.conf, 'main.cf'), 'w') as f:
            f.write("""compatibility_level = 3.6
biff = no
queue_directory = {q}
data_directory = {data}
daemon_directory = {pf}/usr/lib/postfix/sbin
command_directory = {pf}/usr/sbin
shlib_directory = {pf}/usr/lib/postfix
meta_directory = {pf}/etc/postfix
sendmail_path = {pf}/usr/sbin/sendmail
mail_owner = postfix
setgid_group = postdrop
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH={lib}
export_environment = TZ MAIL_CONFIG LANG LD_LIBRARY_PATH={lib}
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
myhostname = mx.test.example
mydomain = test.example
mydestination = test.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
home_mailbox = Maildir/
smtp_dns_support_level = disabled
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
""".format(q=self.q, data=data, pf=self.root, lib=lib, dir=a.dir))
        out = []
        with open(os.path.join(self.root, 'usr/share/postfix/master.cf.dist')) as f:
            for line in f:
                w = line.split()
                if line[:1] not in ('#', ' ', '\t', '\n') and len(w) >= 8:
                    if w[0] == 'smtp' and w[1] == 'inet':
                        w[0] = '127.0.0.1:%d' % self.port
                    w[4] = 'n'
                    line = ' '.join(w) + '\n'
                out.append(line)
        with open(os.path.join(self.conf, 'master.cf'), 'w') as f:
            f.write(''.join(out))
        self.env = dict(os.environ, LD_LIBRARY_PATH=lib, MAIL_CONFIG=self.conf)
        self.submit_env = self.env

    def setup(self):
        home(pw.pw_dir)
        os.makedirs(self.q)
        os.chmod(self.q, 0o755)
        r = subprocess.run([self.root + '/usr/sbin/postfix', '-c', self.conf, 'check'], env=self.env,
                           capture_output=True, text=True, timeout=60)
        if r.returncode:
            raise SystemExit('postfix check: ' + r.stderr.strip())

    def boot(self):
        self.m = Machine([self.root + '/usr/lib/postfix/sbin/master', '-c', self.conf, '-s'], env=self.env)
        return wait_port(self.port, 20)

    def crash(self):
        self.m.crash()

    def submit_argv(self):
        return [self.root + '/usr/sbin/sendmail', '-C', self.conf, '-i', '-f', 'pc@test.example', RCPT]

    def restart_queue(self):
        subprocess.run([self.root + '/usr/sbin/postqueue', '-c', self.conf, '-f'], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        time.sleep(2)

    def queued(self):
        return count_files(self.q, ('maildrop', 'incoming', 'active', 'deferred'))

    def queued_ids(self):
        return ids_in(self.q, ('maildrop', 'incoming', 'active', 'deferred'))

    def leftovers(self):
        return self.queued()

    def quarantined(self):
        return count_files(self.q, ('corrupt',))


class OpenSMTPD:
    """Debian's OpenSMTPD unpacked by t/bench/bench.py; its compiled-in
    /var/spool/smtpd is a directory of the cut filesystem, bound there in
    a mount namespace of the machine's own; ~/Maildir delivery. SMTP
    only: its sendmail talks to the daemon's socket, inside that
    namespace"""
    name = 'opensmtpd'
    strict = False
    submit_argv = None

    def __init__(self):
        self.root = os.path.join(a.peers, 'root-opensmtpd')
        if not os.path.isdir(self.root):
            raise SystemExit('no OpenSMTPD in %s: run make bench once (t/bench/bench.py unpacks it)' % a.peers)
        self.port = free_port()
        self.q = os.path.join(MNT, 'smtpd')
        self.maildir = os.path.join(pw.pw_dir, 'Maildir')
        d = os.path.join(a.dir, 'opensmtpd')
        os.makedirs(os.path.join(d, 'varlib/opensmtpd/empty'))
        os.makedirs(os.path.join(d, 'run-up'))
        os.makedirs(os.path.join(d, 'run-work'))
        os.makedirs(os.path.join(d, 'spool-up'))
        os.makedirs(os.path.join(d, 'spool-work'))
        os.chmod(os.path.join(d, 'varlib/opensmtpd/empty'), 0o755)
        self.conf = os.path.join(d, 'smtpd.conf')
        with open(self.conf, 'w') as f:
            f.write('listen on 127.0.0.1 port %d hostname mx.test.example\n'
                    'action "local" maildir "~/Maildir"\n'
                    'match from any for domain "test.example" action "local"\n' % self.port)
        os.chmod(self.conf, 0o644)
        self.ns = os.path.join(d, 'ns.sh')
        with open(self.ns, 'w') as f:
            f.write('set -e\nmount --make-rprivate /\n'
                    'mount -t overlay overlay -o lowerdir={r}/usr/libexec:/usr/libexec /usr/libexec\n'
                    'mount -t overlay overlay -o lowerdir={r}/usr/sbin:/usr/sbin /usr/sbin\n'
                    'mount -t overlay overlay -o lowerdir={d}/varlib:/var/lib /var/lib\n'
                    'mount -t overlay overlay -o lowerdir=/run,upperdir={d}/run-up,workdir={d}/run-work /run\n'
                    'mount -t overlay overlay -o lowerdir=/var/spool,upperdir={d}/spool-up,workdir={d}/spool-work /var/spool\n'
                    'mkdir -p /var/spool/smtpd\n'
                    'mount --bind {q} /var/spool/smtpd\n'
                    'exec "$@"\n'.format(r=self.root, d=d, q=self.q))

    def setup(self):
        home(pw.pw_dir)
        os.makedirs(self.q)
        os.chmod(self.q, 0o711)

    def boot(self):
        self.m = Machine(['unshare', '-m', '--propagation', 'private', '/bin/sh', self.ns,
                          self.root + '/usr/sbin/smtpd', '-d', '-f', self.conf])
        return wait_port(self.port, 20)

    def crash(self):
        self.m.crash()

    def restart_queue(self):
        time.sleep(2)

    def queued(self):
        return count_files(self.q, ('queue', 'incoming'))

    def queued_ids(self):
        return ids_in(self.q, ('queue', 'incoming'))

    def leftovers(self):
        return self.queued()

    def quarantined(self):
        return count_files(self.q, ('corrupt',))


def home(d):
    """the recipient's home, durable before the first cut (and its
    Maildir, with --premade)"""
    os.makedirs(d, exist_ok=True)
    os.chown(d, pw.pw_uid, pw.pw_gid)
    os.chmod(d, 0o755)
    if a.premade:
        mkmaildir(os.path.join(d, 'Maildir'), pw.pw_uid, pw.pw_gid)


def ids_in(top, parts):
    """the indices of our messages whose Message-ID is in a file under
    top/part: a message still queued is not lost"""
    pat = re.compile(rb'Message-ID: <pc\.%s\.(\d+)@' % runid.encode(), re.I)
    found = set()
    for p in parts:
        for root, _, files in os.walk(os.path.join(top, p)):
            for fn in files:
                try:
                    with open(os.path.join(root, fn), 'rb') as f:
                        m = pat.search(f.read(65536))
                except OSError:
                    continue
                if m:
                    found.add(int(m.group(1)))
    return found


def count_files(top, parts):
    n = 0
    for p in parts:
        for _, _, files in os.walk(os.path.join(top, p)):
            n += len(files)
    return n


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---- the clients ----

stop = threading.Event()
nexti = [0]
running = {}        # pid -> Popen of a submission in flight (killed at a cut)


def take():
    with lock:
        i = nexti[0]
        nexti[0] += 1
        return i


def pace(t0, i):
    d = t0 + i / a.rate - time.time()
    if d > 0:
        time.sleep(d)


def smtp_one(i, port):
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=10)
    except (OSError, smtplib.SMTPException) as e:
        return 'connect'
    try:
        code, _ = s.ehlo('pc.test')
        if code != 250:
            return 'ehlo %d' % code
        code, _ = s.mail('pc@test.example')
        if code != 250:
            return 'mail %d' % code
        code, _ = s.rcpt(RCPT)
        if code != 250:
            return 'rcpt %d' % code
        code, t = s.data(message_of(i))
        if code != 250:
            return 'data %d' % code
        with lock:
            acked[i] = (time.time(), t.decode('latin-1').rsplit(' ', 1)[-1])
        try:
            s.quit()
        except Exception:
            pass
        return None
    except (OSError, smtplib.SMTPException) as e:
        return 'transaction'


def smtp_client(t0, port):
    while not stop.is_set():
        i = take()
        pace(t0, i)
        if down.is_set():
            down_wait()
        why = smtp_one(i, port)
        if why:
            with lock:
                refused[i] = why


def down_wait():
    end = time.time() + 30
    while down.is_set() and not stop.is_set() and time.time() < end:
        time.sleep(0.02)


def submit_client(t0, mta):
    while not stop.is_set():
        i = take()
        pace(t0, i)
        if down.is_set():
            down_wait()
        with lock:
            if down.is_set():
                refused[i] = 'down'
                continue
            p = subprocess.Popen(mta.submit_argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env=getattr(mta, 'submit_env', None))
            running[p.pid] = p
        o = b''
        try:
            o = p.communicate(message_of(i).encode('ascii'), timeout=20)[0]
        except (subprocess.TimeoutExpired, OSError):
            p.kill()
            p.wait()
        with lock:
            running.pop(p.pid, None)
            if p.returncode == 0:
                acked[i] = (time.time(), o.decode('latin-1').strip())
            else:
                refused[i] = 'submit %s' % p.returncode


# ---- the checks ----

def mails():
    """(text, delivery time) of every mail in the mailbox"""
    if getattr(mta, 'mbox', None):
        try:
            with open(mta.mbox, 'rb') as f:
                data = f.read().decode('latin-1')
        except FileNotFoundError:
            return
        # RFC 4155 (mboxrd): a From_ line starts each message, an empty
        # line ends it, and >From lines lose one '>'
        for chunk in re.split(r'(?m)^(?=From )', data):
            if not chunk:
                continue
            first, _, rest = chunk.partition('\n')
            when = calendar.timegm(time.strptime(' '.join(first.split()[-5:]), '%a %b %d %H:%M:%S %Y'))
            rest = re.sub(r'(?m)^>(>*From )', r'\1', rest)
            yield rest[:-1] if rest.endswith('\n\n') else rest, when
        return
    for sub in ('new', 'cur'):
        d = os.path.join(mta.maildir, sub)
        if not os.path.isdir(d):
            continue
        for fn in os.listdir(d):
            with open(os.path.join(d, fn), 'rb') as f:
                data = f.read().decode('latin-1').replace('\r\n', '\n')
            yield data, os.stat(os.path.join(d, fn)).st_mtime


def maildir():
    got = {}
    foreign = 0
    for data, when in mails():
        c = testmsg.check(data, 'pc', runid)
        if c is None:
            foreign += 1
            continue
        mid, good = c
        got.setdefault(mid, []).append((good, when))
    return got, foreign


# ---- the run ----

MTAS = {'ketch': Ketch, 'postfix': Postfix, 'opensmtpd': OpenSMTPD}
mta = MTAS[a.mta]()
shim = Shim()


def cleanup():
    """whatever way the run ends, no process of the machine and no mount
    is left behind"""
    stop.set()
    m = getattr(mta, 'm', None)
    if m and m.p.poll() is None:
        m.crash()
    if shim.p and shim.p.poll() is None:
        shim.p.send_signal(signal.SIGTERM)
        try:
            shim.p.wait(30)
        except subprocess.TimeoutExpired:
            shim.p.kill()


atexit.register(cleanup)
out('seed', seed)
out('mta', mta.name)
shim.mount()
mta.setup()
shim.stop(signal.SIGTERM)       # a clean shutdown: the set-up is durable
shim.mount()
if not mta.boot():
    raise SystemExit('%s did not start' % mta.name)
t0 = time.time()
threads = [threading.Thread(target=smtp_client, args=(t0, mta.port), daemon=True) for _ in range(a.parallel)]
if mta.submit_argv:
    threads.append(threading.Thread(target=submit_client, args=(t0, mta), daemon=True))
for th in threads:
    th.start()
boots_failed = 0
boot_secs = 0.0
while len(cuts) < a.cuts and time.time() - t0 < a.time:
    time.sleep(rng.uniform(a.up_min, a.up_max))
    # the power goes: every process of the machine at once
    with lock:
        down.set()
        procs = list(running.values())
    for p in procs:
        try:
            p.kill()
        except OSError:
            pass
    mta.crash()
    for p in procs:
        p.wait()
    cuts.append(time.time())
    shim.stop(signal.SIGUSR1)
    tb = time.time()
    shim.mount()
    if not mta.boot():
        boots_failed += 1
    boot_secs += time.time() - tb
    down.clear()
send_secs = time.time() - t0
stop.set()
for th in threads:
    th.join(60)
out('send-seconds', '%.1f' % send_secs)
sent = nexti[0]

# drain: every acknowledged message delivered, the queue empty
end = time.time() + a.drain
while time.time() < end:
    got, _ = maildir()
    if all(i in got for i in acked) and mta.queued() == 0:
        break
    time.sleep(0.25)
mta.restart_queue()
end = time.time() + 10
while time.time() < end and mta.leftovers():
    time.sleep(0.2)

got, foreign = maildir()
queued = mta.queued_ids()
lost = sorted(i for i in acked if i not in got and i not in queued)
dups = sum(len(v) - 1 for v in got.values())
corrupt = sum(1 for v in got.values() for g, _ in v if not g)
outside = 0
worst = 0.0
# an mbox's From_ line dates a copy to the second (truncated): a second
# more of slack, for the cut after the first copy and before the second
slack = 1.0 if getattr(mta, 'mbox', None) else 0.05
for v in got.values():
    times = sorted(w for _, w in v)
    for t1, t2 in zip(times, times[1:]):
        # SPOOL section 6: the first copy was delivered shortly before a
        # cut, whose recovery delivered it again
        gaps = [c - t1 for c in cuts if t1 - 0.05 <= c <= t2 + slack]
        if not gaps or min(gaps) > a.window + slack:
            outside += 1
        elif gaps:
            worst = max(worst, min(gaps))
out('messages', sent)
out('acked', len(acked))
out('not-acked', len(refused))
out('delivered', len(got))
out('delivered-not-acked', sum(1 for i in got if i not in acked))
out('still-queued', sum(1 for i in acked if i not in got and i in queued))
out('lost', len(lost))
out('corrupted', corrupt)
out('foreign', foreign)
out('duplicated', dups)
out('duplicated-outside-window', outside)
out('duplicate-worst-gap', '%.2f' % worst)
out('leftovers', mta.leftovers())
out('quarantined', mta.quarantined())
out('cuts', len(cuts))
out('boots-failed', boots_failed)
out('boot-seconds-mean', '%.2f' % (boot_secs / max(1, len(cuts))))
out('messages-per-second', '%.1f' % (len(acked) / send_secs))
out('cuts-per-minute', '%.1f' % (len(cuts) * 60 / send_secs))
if lost:
    out('lost-ids', ' '.join('%d:%s@%.3f' % (i, acked[i][1], acked[i][0]) for i in lost[:20]))
out('cut-times', ' '.join('%.3f' % c for c in cuts))
mta.crash()
shim.stop(signal.SIGTERM)
ok = not lost and not corrupt and not foreign
if mta.strict:
    ok = ok and not mta.leftovers() and not outside and not boots_failed
sys.exit(0 if ok else 1)
