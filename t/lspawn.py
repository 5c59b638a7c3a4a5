#!/usr/bin/env python3
# ISC license: see LICENSE.
# A scheduler as an attacker would write it, for local-spawn's tests:
# starts LOCAL-SPAWN -C CONF (as the caller, root) with a Unix socket on
# its descriptor 0 and its reports on our standard output, then, as
# USER when -u is given (the queue user, as the real scheduler drops
# to: the effective ids), reads a script on standard input, one command a line, fields
# separated by tabs:
#   R tag id timeout sender recipient original FILE   a request (lib/lspawn):
#        FILE "-": no descriptor; else opened read-only and nonblocking
#        (as USER), positioned after the envelope (its first empty line)
#   S seconds         sleep
#   X command         run with sh
#   T                 send local-spawn SIGTERM
#   W seconds         wait at most this long for it to exit; prints
#                     "exited CODE" or "running"
# At the end of the script the socket is closed, and local-spawn gets
# 20 seconds to exit before it is killed. Exit code: local-spawn's, or
# 99 if it had to be killed. Standard library only.
import argparse, array, os, signal, socket, struct, subprocess, sys, time, pwd

ap = argparse.ArgumentParser()
ap.add_argument('-u', dest='user', default=None)
ap.add_argument('prog')
ap.add_argument('conf')
a = ap.parse_args()

mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
p = subprocess.Popen([a.prog, '-C', a.conf], stdin=theirs, stdout=sys.stdout, stderr=sys.stderr)
theirs.close()
if a.user:
    pw = pwd.getpwnam(a.user)
    # the effective ids only: the real uid, root's, may still signal local-spawn
    os.setgroups([])
    os.setegid(pw.pw_gid)
    os.seteuid(pw.pw_uid)

def msgfd(path):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if os.path.isfile(path):
        data = os.pread(fd, 1 << 20, 0)
        k = data.find(b'\n\n')
        os.lseek(fd, k + 2 if k >= 0 else 0, os.SEEK_SET)
    return fd

def send(fields, fd):
    body = b''.join(f.encode() + b'\0' for f in fields)
    msg = struct.pack('>IH', len(body), 1 if fd is not None else 0) + body
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [fd]))] if fd is not None else []
    mine.sendmsg([msg], anc)

def wait(secs):
    end = time.time() + secs
    while time.time() < end:
        if p.poll() is not None:
            return True
        time.sleep(0.05)
    return p.poll() is not None

for line in sys.stdin:
    f = line.rstrip('\n').split('\t')
    if f[0] == 'R':
        fd = None if f[7] == '-' else msgfd(f[7])
        send(f[1:7], fd)
        if fd is not None:
            os.close(fd)
    elif f[0] == 'S':
        time.sleep(float(f[1]))
    elif f[0] == 'X':
        subprocess.call(['sh', '-c', f[1]])
    elif f[0] == 'T':
        p.send_signal(signal.SIGTERM)
    elif f[0] == 'W':
        sys.stdout.flush()
        print('exited %d' % p.returncode if wait(float(f[1])) else 'running', flush=True)
mine.close()
if not wait(20):
    p.kill()
    p.wait()
    sys.exit(99)
sys.exit(p.returncode)
