# ISC license: see LICENSE.
# The rules of the power-cut filesystem (t/shim/powercutfs.c), each proved
# by a small writer, for t/shim.t. Every scenario works in a directory of
# its own: the first mount makes them all and is unmounted cleanly (all
# durable); on the second mount each scenario does what it does, then the
# power is cut; the checks read the rewound tree, then a third mount.
# Prints NAME=VALUE lines; exits 0 when it could run to the end.
import argparse, os, signal, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('--fs', required=True)
ap.add_argument('--dir', required=True)
a = ap.parse_args()

state = os.path.join(a.dir, 'state')
mnt = os.path.join(a.dir, 'mnt')
os.makedirs(state, exist_ok=True)
os.makedirs(mnt, exist_ok=True)
root = os.path.join(state, 'root')


def out(k, v):
    print('%s=%s' % (k, v), flush=True)


def mount(*opts):
    p = subprocess.Popen([a.fs] + list(opts) + [state, mnt], stderr=open(os.path.join(a.dir, 'fs.err'), 'a'))
    end = time.time() + 10
    while not os.path.ismount(mnt):
        if time.time() > end or p.poll() is not None:
            out('mount', 'failed')
            sys.exit(1)
        time.sleep(0.02)
    return p


def stop(p, sig):
    p.send_signal(sig)
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return 'timeout'


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def write(path, data, sync=False, mode=os.O_CREAT | os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, mode, 0o644)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    os.close(fd)


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None


S = ['data', 'datasync', 'newfile', 'newfile-dir', 'unlink', 'rename', 'rename-synced',
     'xsrc', 'xdst', 'xboth', 'mkdir', 'mkdir-synced', 'rmdir', 'owner', 'good', 'broken', 'torn']

# ---- mount 1: the scenarios' durable starting points ----
p = mount()
for s in S:
    os.mkdir(os.path.join(mnt, s))
fsync_path(mnt)
m = lambda *x: os.path.join(mnt, *x)
write(m('data', 'f'), b'old', sync=True)
write(m('datasync', 'f'), b'old', sync=True)
write(m('unlink', 'f'), b'kept', sync=True)
write(m('rename', 'a'), b'r', sync=True)
write(m('rename-synced', 'a'), b'r', sync=True)
for s in ('xsrc', 'xdst', 'xboth'):
    os.mkdir(m(s, 'src'))
    os.mkdir(m(s, 'dst'))
    write(m(s, 'src', 'f'), b'moved', sync=True)
os.mkdir(m('rmdir', 'd'))
for s in ('good', 'broken'):
    for d in ('tmp', 'new'):
        os.mkdir(m(s, d))
write(m('torn', 'f'), b'o' * 100, sync=True)
out('clean-unmount', stop(p, signal.SIGTERM))
out('clean-kept', int(read(os.path.join(root, 'data', 'f')) == b'old' and os.path.isdir(os.path.join(root, 'xboth', 'dst'))))

# ---- mount 2: the writers, then the cut ----
p = mount()
# rule 1: data written since the last fsync is lost, synced data is kept
write(m('data', 'f'), b'new data, never synced', mode=os.O_WRONLY | os.O_TRUNC)
write(m('datasync', 'f'), b'new', mode=os.O_WRONLY | os.O_TRUNC)
fd = os.open(m('datasync', 'f'), os.O_WRONLY)
os.fdatasync(fd)
os.close(fd)
# rule 2: fsync of a new file does not make its name durable
write(m('newfile', 'f'), b'x', sync=True)
write(m('newfile-dir', 'f'), b'x', sync=True)
fsync_path(m('newfile-dir'))
# rule 3: an unsynced unlink reappears, with its content
os.unlink(m('unlink', 'f'))
os.rename(m('rename', 'a'), m('rename', 'b'))
os.rename(m('rename-synced', 'a'), m('rename-synced', 'b'))
fsync_path(m('rename-synced'))
# rule 4: a rename across directories, each half on its own
for s in ('xsrc', 'xdst', 'xboth'):
    os.rename(m(s, 'src', 'f'), m(s, 'dst', 'f'))
fsync_path(m('xsrc', 'src'))
fsync_path(m('xdst', 'dst'))
fsync_path(m('xboth', 'src'))
fsync_path(m('xboth', 'dst'))
# a directory made with mkdir needs its parent fsynced; its own fsync is not enough
os.mkdir(m('mkdir', 'd'))
write(m('mkdir', 'd', 'f'), b'in d', sync=True)
fsync_path(m('mkdir', 'd'))
os.mkdir(m('mkdir-synced', 'd'))
write(m('mkdir-synced', 'd', 'f'), b'in d', sync=True)
fsync_path(m('mkdir-synced', 'd'))
fsync_path(m('mkdir-synced'))
os.rmdir(m('rmdir', 'd'))
# files belong to their creator, and the attic's links are not counted
os.setegid(65534)
os.seteuid(65534)
try:
    os.chmod(m('owner'), 0o777)
except PermissionError:
    pass
os.seteuid(0)
os.setegid(0)
os.chmod(m('owner'), 0o777)
os.setegid(65534)
os.seteuid(65534)
write(m('owner', 'f'), b'nobody', sync=True)
os.seteuid(0)
os.setegid(0)
st = os.stat(m('owner', 'f'))
out('owner-uid', st.st_uid)
write(m('owner', 'g'), b'g', sync=True)
fsync_path(m('owner'))
os.rename(m('owner', 'g'), m('owner', 'h'))
out('nlink-after-rename', os.stat(m('owner', 'h')).st_nlink)
# the Maildir writer, right and broken: tmp/, write, fsync, rename into
# new/, and (only the right one) fsync of new/; each delivery it reports
# done is "acknowledged"
acked = {'good': [], 'broken': []}
for s in ('good', 'broken'):
    for i in range(20):
        t = m(s, 'tmp', '%d' % i)
        write(t, b'message %d' % i, sync=True)
        os.rename(t, m(s, 'new', '%d' % i))
        if s == 'good':
            fsync_path(m(s, 'new'))
        acked[s].append(i)
# torn mode is checked on a mount of its own below
out('cut', stop(p, signal.SIGUSR1))

# ---- the checks, on the rewound tree ----
r = lambda *x: os.path.join(root, *x)
out('data', read(r('data', 'f')).decode())
out('datasync', read(r('datasync', 'f')).decode())
out('newfile', int(os.path.exists(r('newfile', 'f'))))
out('newfile-dir', read(r('newfile-dir', 'f')).decode())
out('unlink', read(r('unlink', 'f')).decode())
out('rename', ' '.join(sorted(os.listdir(r('rename')))))
out('rename-synced', ' '.join(sorted(os.listdir(r('rename-synced')))))
for s in ('xsrc', 'xdst', 'xboth'):
    out(s, '%d%d' % (os.path.exists(r(s, 'src', 'f')), os.path.exists(r(s, 'dst', 'f'))))
out('xdst-links', os.stat(r('xdst', 'dst', 'f')).st_nlink)
out('mkdir', int(os.path.exists(r('mkdir', 'd'))))
out('mkdir-synced', read(r('mkdir-synced', 'd', 'f')).decode())
out('rmdir', int(os.path.isdir(r('rmdir', 'd'))))
out('attic-empty', int(os.listdir(os.path.join(state, 'attic')) == []))


def lost(s):
    """the check: every acknowledged delivery is in new/ with its content"""
    n = 0
    for i in acked[s]:
        if read(r(s, 'new', '%d' % i)) != b'message %d' % i:
            n += 1
    return n


out('good-lost', lost('good'))
out('broken-lost', lost('broken'))

# ---- mount 3: the rewound tree is what a new mount serves ----
p = mount()
out('remount-reads', read(m('unlink', 'f')).decode())
out('remount-listing', ' '.join(sorted(os.listdir(m('rename')))))

# torn: five pages never synced over a durable file of 100 octets; the
# cut leaves the first k pages of the new content, then the old
new = bytes((i // 4096) % 256 for i in range(5 * 4096))
write(m('torn', 'f'), new, mode=os.O_WRONLY | os.O_TRUNC)
out('torn-lost-mode', stop(p, signal.SIGUSR1))
out('torn-lost', int(read(r('torn', 'f')) == b'o' * 100))
ks = set()
for seed in range(1, 9):
    p = mount('-t', '-s', str(seed))
    write(m('torn', 'f'), new, mode=os.O_WRONLY | os.O_TRUNC)
    stop(p, signal.SIGUSR1)
    got = read(r('torn', 'f'))
    k = None
    for j in range(6):
        want = new[:j * 4096] + (b'o' * 100)[j * 4096:]
        if got == want:
            k = j
    ks.add(k)
    # back to the durable 100 octets for the next seed
    with open(r('torn', 'f'), 'wb') as f:
        f.write(b'o' * 100)
out('torn-forms', 'bad' if None in ks else 'ok')
out('torn-kinds', len(ks))
