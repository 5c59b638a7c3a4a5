#!/usr/bin/python3
# ISC license: see LICENSE.
"""make bench-tls: W4, the cost of a STARTTLS handshake (t/bench/README.md).

For each build (KETCH_BUILD, and KETCH_BUILD_BEFORE when set: the tree to
compare with), each certificate (ECDSA P-256, RSA-2048) and each session
mode (exec'd, -f), one smtp-listen on 127.0.0.1 serves BENCH_TLS_N
sequential clients (default 500), each EHLO, STARTTLS, the handshake,
EHLO, QUIT, from Python's ssl. Printed: the median wall ms of a client
(Python's side included), and the server's CPU ms per client
(smtp-listen with its reaped sessions, the live ones, plus smtp-keyd,
from /proc/PID/stat), with smtp-keyd's own share. Every wait is bounded.

Two clients (BENCH_TLS_CLIENTS, default "full resuming"): "full" makes a
full handshake each time; "resuming" (W4r) offers each connection the
session of the one before (RFC 5246 §7.3, Python's SSLSocket.session),
and the fraction of the N handshakes the server resumed is printed
(0 for a build without tls-session-cache, which is left at its default).

To compare builds A/B under load: BENCH_TLS_KEYS ("ec rsa"), BENCH_TLS_MODES
("exec -f") and BENCH_TLS_CLIENTS narrow the rows; BENCH_TLS_ROUNDS (1)
repeats them, the builds in alternating order from one round to the next
(before, after; after, before; ...), so that the machine's drift falls on
both.
"""

import os
import pwd
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

N = int(os.environ.get("BENCH_TLS_N", "500"))
CLIENTS = os.environ.get("BENCH_TLS_CLIENTS", "full resuming").split()
KEYS = os.environ.get("BENCH_TLS_KEYS", "ec rsa").split()
MODES = [[] if m == "exec" else [m] for m in os.environ.get("BENCH_TLS_MODES", "exec -f").split()]
ROUNDS = int(os.environ.get("BENCH_TLS_ROUNDS", "1"))
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILDS = [("after", os.environ.get("KETCH_BUILD", os.path.join(TOP, "build")))]
if os.environ.get("KETCH_BUILD_BEFORE"):
    BUILDS.insert(0, ("before", os.environ["KETCH_BUILD_BEFORE"]))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_ticks(pid, children=True):
    """utime + stime (+ cutime + cstime) of pid, in clock ticks"""
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    t = int(w[11]) + int(w[12])
    if children:
        t += int(w[13]) + int(w[14])
    return t


def kids(pid, name):
    out = subprocess.run(["pgrep", "-P", str(pid), "-x", name], capture_output=True, text=True).stdout.split()
    return [int(x) for x in out]


def live(pid):
    """the own CPU of the session processes still running: -f's are
    reused (after TLS too), and counted in ours only once reaped"""
    t = 0
    for k in kids(pid, "smtp-session"):
        try:
            t += cpu_ticks(k, False)
        except OSError:
            pass
    return t


def reply(f):
    while True:
        line = f.readline(1024)
        if not line:
            raise EOFError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


def client(port, ctx, session=None):
    """one client; returns its TLS session and whether it was resumed"""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    # Nagle's algorithm stays on, as in most clients: after an abbreviated
    # handshake the client's Finished and its EHLO are two writes in a
    # row, and the EHLO leaves once the server ACKs the Finished (at once
    # since 133c940; a delayed ACK costs 40 ms, which this figure shows)
    f = s.makefile("rb")
    reply(f)
    s.sendall(b"EHLO bench.example\r\n"); reply(f)
    s.sendall(b"STARTTLS\r\n")
    if reply(f) != 220:
        raise RuntimeError("STARTTLS refused")
    t = ctx.wrap_socket(s, server_hostname="localhost", session=session)
    g = t.makefile("rb")
    t.sendall(b"EHLO bench.example\r\n"); reply(g)
    t.sendall(b"QUIT\r\n"); reply(g)
    r = (t.session, t.session_reused)
    t.close()
    return r


def run(build, kind, flags, d, resuming):
    port = free_port()
    conf = os.path.join(d, "ketch.conf")
    user = "nobody" if os.geteuid() == 0 else None
    with open(conf, "w") as f:
        f.write("hostname bench.example\nspool %s/spool\nprograms %s/bin\nlocal-domain bench.example\n" % (d, build))
        f.write("listen 127.0.0.1 port %d starttls\ncertificate %s/%s.crt key %s/%s.key\n" % (port, d, kind, d, kind))
        if user:
            f.write("smtp-user %s\n" % user)
    subprocess.run([build + "/bin/mkspool", "-C", conf], check=True, capture_output=True, timeout=30)
    ready = os.path.join(d, "ready")
    rfd = os.open(ready, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    p = subprocess.Popen([build + "/bin/smtp-listen", "-C", conf, "-d", str(rfd)] + flags,
                         pass_fds=[rfd], stderr=open(os.path.join(d, "smtp.log"), "a"))
    os.close(rfd)
    try:
        end = time.time() + 10
        while time.time() < end and not os.path.getsize(ready):
            time.sleep(0.02)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sess = None
        for _ in range(20):
            sess = client(port, ctx, sess)[0] if resuming else None
        time.sleep(0.2)
        keyd = kids(p.pid, "smtp-keyd")
        k0 = sum(cpu_ticks(k, False) for k in keyd)
        c0 = cpu_ticks(p.pid) + k0 + live(p.pid)
        lat = []
        resumed = 0
        for _ in range(N):
            t0 = time.monotonic()
            got, reused = client(port, ctx, sess)
            lat.append(time.monotonic() - t0)
            resumed += reused
            if resuming:
                sess = got
        # the last exec'd sessions end; -f's stay, idle (their own CPU is counted live)
        time.sleep(0.3)
        k1 = sum(cpu_ticks(k, False) for k in keyd)
        c1 = cpu_ticks(p.pid) + k1 + live(p.pid)
        ms = lambda t: t * 1000 / TICK / N
        return statistics.median(lat) * 1000, ms(c1 - c0), ms(k1 - k0) if keyd else None, resumed / N
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def main():
    d = tempfile.mkdtemp(prefix="ketch-w4.")
    os.chmod(d, 0o755)
    try:
        for kind, args in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]), ("rsa", ["-newkey", "rsa:2048"])):
            if kind not in KEYS:
                continue
            subprocess.run(["openssl", "req", "-x509"] + args + ["-nodes", "-keyout", "%s/%s.key" % (d, kind),
                            "-out", "%s/%s.crt" % (d, kind), "-days", "2", "-subj", "/CN=localhost"],
                           check=True, capture_output=True, timeout=60)
            os.chmod("%s/%s.crt" % (d, kind), 0o644)
        print("| build | key | sessions | client | resumed | median wall ms per client | server CPU ms per client | of which smtp-keyd |")
        print("|---|---|---|---|---|---|---|---|")
        rows = ((r, k, f, m, b) for r in range(ROUNDS) for k in KEYS for f in MODES for m in CLIENTS
                for b in (BUILDS if r % 2 == 0 else BUILDS[::-1]))
        for rnd, kind, flags, mode, (label, build) in rows:
            sub = os.path.join(d, "%d-%s-%s-%s-%s" % (rnd, label, kind, "f" if flags else "x", mode))
            os.mkdir(sub)
            os.chmod(sub, 0o755)
            for k in ("crt", "key"):
                shutil.copy("%s/%s.%s" % (d, kind, k), "%s/%s.%s" % (sub, kind, k))
            os.chmod("%s/%s.crt" % (sub, kind), 0o644)
            if os.geteuid() == 0:
                # a build before smtp-keyd reads the key as the sessions' user
                os.chown("%s/%s.key" % (sub, kind), pwd.getpwnam("nobody").pw_uid, -1)
            wall, cpu, keyd, frac = run(build, kind, flags, sub, mode == "resuming")
            print("| %s | %s | %s | %s | %.0f%% | %.2f | %.2f | %s |" % (label, "ECDSA P-256" if kind == "ec" else "RSA-2048",
                  "-f" if flags else "exec", mode, frac * 100, wall, cpu, "-" if keyd is None else "%.2f" % keyd))
            sys.stdout.flush()
    finally:
        shutil.rmtree(d, ignore_errors=True)


main()
