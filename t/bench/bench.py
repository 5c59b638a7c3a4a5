#!/usr/bin/python3
# ISC license: see LICENSE.
"""make bench: ketch, Postfix and OpenSMTPD side by side on 127.0.0.1.

Workloads W1 W2 W3 W4 L of shared/benchmarks.md, interleaved (A B C A B C...),
medians and ratios printed as a Markdown table; raw per-round figures go to
$BENCH_RAW (JSON lines). See t/bench/README.md.

Needs root (users, cgroups, mount namespaces). Every process started here is
recorded and stopped by PID; every wait is bounded; only 127.0.0.1 is used.
"""

import ctypes
import ctypes.util
import json
import os
import pwd
import grp
import resource
import select
import shlex
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import threading
import time

ENV = os.environ
ROUNDS = int(ENV.get("BENCH_ROUNDS", "3"))
MSGS = int(ENV.get("BENCH_MSGS", "2000"))
W3_SESSIONS = [int(x) for x in ENV.get("BENCH_W3_SESSIONS", "200,1000,10000").split(",") if x]
# W3-TLS: the sessions do STARTTLS and the handshake before idling
W3TLS_SESSIONS = [int(x) for x in ENV.get("BENCH_W3TLS_SESSIONS", "1000").split(",") if x]
# W1's client sessions; the workload is named w1 for 16 alone, else w1-S per count
W1_SESSIONS = [int(x) for x in ENV.get("BENCH_W1_SESSIONS", "16").split(",") if x]
W3_HOLD = float(ENV.get("BENCH_W3_HOLD", "5"))
PHASE_TIMEOUT = float(ENV.get("BENCH_PHASE_TIMEOUT", "600"))
L_SECS = float(ENV.get("BENCH_L_SECS", "3"))
L_THREADS = [int(x) for x in ENV.get("BENCH_L_THREADS", "1,2,16").split(",") if x]
MTAS = [x for x in ENV.get("BENCH_MTAS", "ketch,ketch-fork,postfix,opensmtpd").split(",") if x]
WORKLOADS = [x for x in ENV.get("BENCH_WORKLOADS", "w1,w1r,w1n,w2s,w2m,w2d,w3,w3tls,w4e,w4rsa,w4r").split(",") if x]
# W4 with STARTTLS: w4e the ECDSA P-256 certificate, w4rsa RSA-2048, w4r
# ("W4r") w4e with a resuming client
W4_KINDS = {"w4e": ("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
            "w4rsa": ("rsa", ["-newkey", "rsa:2048"]),
            "w4r": ("ec", None)}
TLS = any(w in W4_KINDS or w == "w3tls" for w in WORKLOADS)
CACHE = ENV.get("BENCH_CACHE", "/var/cache/ketch-bench")
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = ENV.get("KETCH_BUILD", os.path.join(TOP, "build"))
DIR = ENV.get("BENCH_DIR", "/var/tmp/ketch-bench")
RAW = ENV.get("BENCH_RAW", os.path.join(BUILD, "bench", "raw-%s.jsonl" % time.strftime("%Y%m%dT%H%M%S")))
USER = ENV.get("BENCH_USER", "benchuser")
CGROOT = ENV.get("BENCH_CGROUP", "/sys/fs/cgroup/unified/ketch-bench")
PF = os.path.join(CACHE, "root-postfix")
OS = os.path.join(CACHE, "root-opensmtpd")
PFLIB = os.path.join(PF, "usr/lib/postfix")
# ketch-fork is what ketch-services runs (smtp-listen -f): the shipped configuration
NAMES = {"ketch": "ketch (exec per session)", "ketch-fork": "ketch (shipped: -f)", "postfix": "Postfix",
         "opensmtpd": "OpenSMTPD"}

started = []      # every Popen we started, stopped at exit
NOFILE = None     # our RLIMIT_NOFILE as we were started: the daemons get it back (main)
notes = []        # what the harness changed on the machine, printed at the end


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def now():
    return time.monotonic()


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, timeout=timeout, check=True, **kw)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pf_env():
    e = dict(ENV)
    e["LD_LIBRARY_PATH"] = PFLIB
    return e


# ---------------------------------------------------------------- setup

def ensure_group(name, system=True):
    try:
        grp.getgrnam(name)
    except KeyError:
        run(["groupadd"] + (["--system"] if system else []) + [name])
        notes.append("created group %s" % name)


def ensure_user(name, group=None, home=None, system=True):
    try:
        pwd.getpwnam(name)
        return
    except KeyError:
        pass
    argv = ["useradd"]
    if system:
        argv += ["--system", "--no-create-home", "--home-dir", home or "/nonexistent", "--shell", "/usr/sbin/nologin"]
    else:
        argv += ["--create-home", "--shell", "/bin/sh"]
    if group:
        argv += ["--gid", group]
    else:
        argv += ["--user-group"]
    run(argv + [name])
    notes.append("created user %s" % name)


def fetch_peers():
    """apt-get download + dpkg -x each peer into its own root; never installed."""
    os.makedirs(CACHE, exist_ok=True)
    for pkg, root in (("postfix", PF), ("opensmtpd", OS)):
        if os.path.isdir(root):
            continue
        debs = [f for f in os.listdir(CACHE) if f.startswith(pkg + "_") and f.endswith(".deb")]
        if not debs:
            log("apt-get download", pkg)
            run(["apt-get", "download", pkg], cwd=CACHE, timeout=300)
            debs = [f for f in os.listdir(CACHE) if f.startswith(pkg + "_") and f.endswith(".deb")]
        os.makedirs(root + ".tmp", exist_ok=True)
        run(["dpkg", "-x", os.path.join(CACHE, sorted(debs)[-1]), root + ".tmp"])
        os.rename(root + ".tmp", root)
    # library dependencies: ldd says what is missing; fetch those packages too
    missing = set()
    for f in (PF + "/usr/lib/postfix/sbin/smtpd", PF + "/usr/sbin/smtp-source", OS + "/usr/sbin/smtpd",
              OS + "/usr/libexec/opensmtpd/mail.maildir"):
        out = subprocess.run(["ldd", f], capture_output=True, text=True, env=pf_env(), timeout=30).stdout
        for line in out.splitlines():
            if "not found" in line:
                missing.add(line.split()[0])
    if missing:
        die("missing libraries for the peers: %s (apt-get download their packages and dpkg -x them into %s)"
            % (" ".join(sorted(missing)), CACHE))


def die(msg):
    log("fatal:", msg)
    sys.exit(111)


def setup_machine():
    if os.geteuid() != 0:
        die("make bench needs root (users, cgroups, mount namespaces)")
    fetch_peers()
    ensure_group("postdrop")
    ensure_user("postfix")
    # Debian's OpenSMTPD runs as opensmtpd and opensmtpq (upstream: _smtpd, _smtpq)
    ensure_user("opensmtpd", home="/var/lib/opensmtpd/empty")
    ensure_user("opensmtpq", home="/var/lib/opensmtpd/empty")
    ensure_user(USER, system=False)
    # as OpenSMTPD's postinst does: its sendmail (smtpctl) insists on being setgid opensmtpq
    smtpctl = os.path.join(OS, "usr/sbin/smtpctl")
    os.chown(smtpctl, 0, grp.getgrnam("opensmtpq").gr_gid)
    os.chmod(smtpctl, 0o2555)
    pw = pwd.getpwnam(USER)
    md = os.path.join(pw.pw_dir, "Maildir")
    for sub in ("", "tmp", "new", "cur"):
        p = os.path.join(md, sub)
        os.makedirs(p, exist_ok=True)
        os.chown(p, pw.pw_uid, pw.pw_gid)
        os.chmod(p, 0o700)
    if os.path.isdir(DIR):
        shutil.rmtree(DIR)
    os.makedirs(DIR)
    os.chmod(DIR, 0o755)
    # ext4 without a journal (this machine) scans a block group's recently
    # deleted inodes at every file creation: MTAs whose spools share a group
    # pay for each other's churn. A top-of-hierarchy directory (chattr +T)
    # makes ext4 spread its subdirectories, so each MTA, and the L probe,
    # gets block groups of its own. Best effort: other file systems refuse.
    r = subprocess.run(["chattr", "+T", DIR], capture_output=True, text=True)
    if r.returncode:
        log("chattr +T %s: %s (instances may share block groups)" % (DIR, r.stderr.strip()))
    with open(os.path.join(DIR, "resolv.conf"), "w") as f:
        f.write("nameserver 127.0.0.1\n")
    # W4's certificates, one per kind; each MTA gets a copy of one (tls_install)
    if TLS:
        os.makedirs(os.path.join(DIR, "tls"))
        for kind, args in W4_KINDS.values():
            if not args:
                continue
            run(["openssl", "req", "-x509"] + args + ["-nodes", "-keyout", os.path.join(DIR, "tls", kind + ".key"),
                 "-out", os.path.join(DIR, "tls", kind + ".crt"), "-days", "2", "-subj", "/CN=localhost"], timeout=60)
    os.makedirs(os.path.dirname(RAW), exist_ok=True)
    return md


# ---------------------------------------------------------------- processes

class Daemon:
    """An MTA: its processes in one cgroup v2 directory, in a private mount
    namespace whose /etc/resolv.conf names 127.0.0.1."""

    def __init__(self, name):
        self.name = name
        self.pids = []            # the processes we started
        self.cg = None
        try:
            os.makedirs(CGROOT, exist_ok=True)
            cg = os.path.join(CGROOT, name)
            if os.path.isdir(cg):
                os.rmdir(cg)
            os.mkdir(cg)
            self.cg = cg
        except OSError as e:
            log("no cgroup for %s (%s): CPU and PSS come from /proc of the process tree" % (name, e))
        self.ns_script = os.path.join(DIR, name, "ns.sh")
        self.mounts = []          # extra "mount ..." lines run inside the namespace

    def write_ns(self):
        with open(self.ns_script, "w") as f:
            f.write("set -e\nmount --make-rprivate /\n")
            f.write("mount --bind %s /etc/resolv.conf\n" % os.path.join(DIR, "resolv.conf"))
            for m in self.mounts:
                f.write(m + "\n")
            f.write('exec "$@"\n')

    def start(self, argv, env=None, logname="daemon"):
        if not os.path.exists(self.ns_script):
            self.write_ns()
        cg = self.cg

        def pre():
            os.setsid()
            # the descriptor limit a service manager gives (soft 1024 under
            # systemd), not the one we raised for W3's client sockets: an
            # MTA that needs more must raise its own, as smtp-listen does
            if NOFILE:
                resource.setrlimit(resource.RLIMIT_NOFILE, NOFILE)
            if cg:
                with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
        out = open(os.path.join(DIR, self.name, logname + ".log"), "ab")
        p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "/bin/sh", self.ns_script] + argv,
                             stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, preexec_fn=pre)
        out.close()
        self.pids.append(p)
        started.append(p)
        return p

    def in_ns(self, argv):
        """argv prefixed so that it runs in this daemon's mount namespace."""
        return ["nsenter", "-t", str(self.pids[0].pid), "-m", "--"] + argv

    def procs(self):
        if self.cg:
            try:
                with open(os.path.join(self.cg, "cgroup.procs")) as f:
                    return [int(x) for x in f.read().split()]
            except OSError:
                return []
        return tree([p.pid for p in self.pids if p.poll() is None])

    def cpu_usec(self):
        if self.cg:
            with open(os.path.join(self.cg, "cpu.stat")) as f:
                for line in f:
                    k, v = line.split()
                    if k == "usage_usec":
                        return int(v)
        # fallback: live tree, children reaped included (cutime/cstime)
        hz = os.sysconf("SC_CLK_TCK")
        t = 0
        for pid in self.procs():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    s = f.read().rsplit(")", 1)[1].split()
                t += sum(int(x) for x in s[11:15])
            except OSError:
                pass
        return t * 1000000 // hz

    def pss_kib(self):
        total = 0
        for pid in self.procs():
            try:
                with open("/proc/%d/smaps_rollup" % pid) as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                            break
            except OSError:
                pass
        return total

    def alive(self):
        return all(p.poll() is None for p in self.pids)

    def stop(self):
        for p in self.pids:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = now() + 10
        for p in self.pids:
            try:
                p.wait(max(0.1, end - now()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        # what they left behind in their cgroup (their own children)
        for _ in range(50):
            left = self.procs()
            if not left:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        if self.cg:
            try:
                os.rmdir(self.cg)
            except OSError as e:
                log("cannot remove cgroup", self.cg, e)


def tree(roots):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError):
                pass
    out, todo = [], list(roots)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def wait_milter(m, secs, name):
    """until milter M (its .d, .port, .dir) accepts a connection (a milter
    port has no greeting), at most SECS, or RuntimeError"""
    end = now() + secs
    while now() < end and m.d.alive():
        try:
            socket.create_connection(("127.0.0.1", m.port), timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("%s not listening on 127.0.0.1:%d; see %s/%s.log" % (name, m.port, m.dir, name))


def wait_port(port, secs=20):
    end = now() + secs
    while now() < end:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.settimeout(5)
            g = s.recv(512)
            s.close()
            if g.startswith(b"220"):
                return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


# ---------------------------------------------------------------- rspamd (w1r)

RSPAMD_PORT = None   # the milter port of the one rspamd that w1r puts in front of every MTA


class Rspamd:
    """rspamd (Debian's package, installed; its system service untouched) as
    the milter of w1r, one instance for all the MTAs so that its cost is the
    same for each: the proxy worker in milter mode (one process, Debian's
    count) and the normal workers (one per CPU, the default) scanning for
    it. Debian's rules (rspamd.lua) and actions, without greylisting (it
    needs Redis) and without any module configuration (no Redis, DNS lists,
    fuzzy storage or Bayes: nothing leaves 127.0.0.1); milter_headers adds
    X-Spamd-Result, X-Rspamd-Action and X-Spam-Status to every message.
    Hyperscan is off: after a start its compilation runs in the background
    for minutes, and the MTA measured first would face a slower rspamd than
    the one measured last. Its processes have a cgroup of their own: its CPU
    is reported apart from the MTA's."""

    def __init__(self):
        self.port = free_port()
        self.dir = os.path.join(DIR, "rspamd")
        for sub in ("db", "run"):
            os.makedirs(os.path.join(self.dir, sub))
        self.d = Daemon("rspamd")

    def start(self):
        if not shutil.which("rspamd"):
            raise RuntimeError("rspamd is not installed (Debian package rspamd)")
        pw = pwd.getpwnam("_rspamd")
        for sub in ("db", "run"):
            os.chown(os.path.join(self.dir, sub), pw.pw_uid, pw.pw_gid)
        conf = os.path.join(self.dir, "rspamd.conf")
        with open(conf, "w") as f:
            f.write("""# written by t/bench/bench.py
lua = "$RULESDIR/rspamd.lua";
.include "$CONFDIR/metrics.conf"
.include "$CONFDIR/groups.conf"
modules {{ path = "${{PLUGINSDIR}}"; }}
options {{
  pidfile = "{d}/run/rspamd.pid";
  filters = "regexp";
  disable_hyperscan = true;
  dns {{ nameserver = ["127.0.0.1:53"]; timeout = 0.5s; retransmits = 1; }}
  cache_file = "{d}/db/symbols.cache";
  dynamic_conf = "";
  history_file = "";
  control_socket = "";
  rrd = "";
  explicit_modules = ["settings"];
}}
actions {{ reject = 15; add_header = 6; greylist = null; }}
logging {{ type = "console"; level = "warning"; }}
worker "normal" {{ bind_socket = "127.0.0.1:{n}"; mime = true; }}
worker "rspamd_proxy" {{
  bind_socket = "127.0.0.1:{p}"; milter = yes; timeout = 120s; count = 1;
  upstream "local" {{ default = yes; hosts = "127.0.0.1:{n}"; }}
}}
milter_headers {{ use = ["x-spamd-result", "x-rspamd-action", "x-spam-status"]; skip_local = false; }}
""".format(d=self.dir, p=self.port, n=free_port()))
        os.chmod(conf, 0o644)
        self.d.start(["rspamd", "-f", "-u", "_rspamd", "-g", "_rspamd", "-c", conf], logname="rspamd")
        # its rules take 5 to 20 s to load
        wait_milter(self, 180, "rspamd")


# ---------------------------------------------------------------- the no-op milter (w1n)

NOOP_PORT = None     # the port of the one no-op milter that w1n puts in front of every MTA


class NoopMilter:
    """t/bench/noop-milter.py (Debian's python3-milter, on libmilter): asks
    for every stage, answers continue, changes nothing; one for all the
    MTAs, in a cgroup of its own, so the MTA's CPU per message is what one
    filter switched on costs it. It writes how many messages it saw to
    self.countfile (at most every 0.5 s)."""

    def __init__(self):
        self.port = free_port()
        self.dir = os.path.join(DIR, "noop-milter")
        os.makedirs(self.dir)
        self.countfile = os.path.join(self.dir, "count")
        self.d = Daemon("noop-milter")

    def start(self):
        prog = os.path.join(TOP, "t", "bench", "noop-milter.py")
        # Debian's python3, whatever python3 runs this script: python3-milter is its module
        self.d.start(["/usr/bin/python3", prog, "inet:%d@127.0.0.1" % self.port, self.countfile],
                     logname="noop-milter")
        wait_milter(self, 30, "noop-milter")

    def count(self):
        """messages seen so far (after 0.6 s: the file is written every 0.5 s)"""
        time.sleep(0.6)
        try:
            with open(self.countfile) as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0


# ---------------------------------------------------------------- OpenDKIM (w2d)

DKIM_DOMAIN = "signed.test"   # w2d's From: domain, the one domain with a key
DKIM_SELECTOR = "k1"
DKIM_KEY = None               # w2d: the RSA-2048 key (PEM) that every signer uses
OPENDKIM_PORT = None          # the milter port of the one OpenDKIM that w2d puts in front of Postfix


def dkim_key():
    """One RSA-2048 key for every signer of w2d (openssl, as an operator
    without ketch-dkim would make it), a copy per owner since each signer
    wants its key mode 0600 and its own (OpenDKIM's RequireSafeKeys)."""
    d = os.path.join(DIR, "dkim")
    os.makedirs(d)
    key = os.path.join(d, "%s.%s.key" % (DKIM_DOMAIN, DKIM_SELECTOR))
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key],
        stderr=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    return key


def key_copy(name, user, d=None):
    """DKIM_KEY copied for NAME into D (DIR/dkim), owned by USER, mode 0600"""
    dst = os.path.join(d or os.path.join(DIR, "dkim"), "%s.key" % name)
    shutil.copyfile(DKIM_KEY, dst)
    pw = pwd.getpwnam(user)
    os.chown(dst, pw.pw_uid, pw.pw_gid)
    os.chmod(dst, 0o600)
    return dst


class OpenDKIM:
    """OpenDKIM (Debian's package, installed; its system service untouched)
    as Postfix's milter in w2d, signing what Postfix's smtpd receives on its
    w2d port as ketch signs it: Mode s, one key for DKIM_DOMAIN, relaxed/
    relaxed, the benchmark's client (127.0.0.0/8) internal. Its processes
    have a cgroup of their own: its CPU is reported apart from Postfix's.
    It refuses a configuration or key file under a directory others may
    write (BENCH_DIR is under /var/tmp): those two are in /run (self.safe),
    removed at the end."""

    def __init__(self):
        self.port = free_port()
        self.dir = os.path.join(DIR, "opendkim")
        os.makedirs(self.dir)
        self.safe = "/run/ketch-bench-opendkim.%d" % os.getpid()
        os.mkdir(self.safe, 0o755)
        self.d = Daemon("opendkim")

    def stop(self):
        self.d.stop()
        shutil.rmtree(self.safe, ignore_errors=True)

    def start(self):
        if not shutil.which("opendkim"):
            raise RuntimeError("opendkim is not installed (Debian package opendkim)")
        conf = os.path.join(self.safe, "opendkim.conf")
        with open(conf, "w") as f:
            f.write("""# written by t/bench/bench.py
Syslog no
Background no
AutoRestart no
Mode s
Socket inet:{p}@127.0.0.1
PidFile {d}/opendkim.pid
UserID opendkim
Domain {dom}
Selector {sel}
KeyFile {key}
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
InternalHosts 127.0.0.0/8
""".format(p=self.port, d=self.dir, dom=DKIM_DOMAIN, sel=DKIM_SELECTOR, key=key_copy("opendkim", "opendkim", self.safe)))
        os.chmod(conf, 0o644)
        self.d.start(["opendkim", "-f", "-x", conf], logname="opendkim")
        end = now() + 30
        while now() < end and self.d.alive():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("opendkim not listening on 127.0.0.1:%d; see %s/opendkim.log" % (self.port, self.dir))


# ---------------------------------------------------------------- the MTAs

class MTA:
    label = "?"
    milter = False    # speaks the milter protocol (w1r)

    def __init__(self, name, maildir, sinkport):
        self.name = name
        self.maildir = maildir
        self.sinkport = sinkport
        self.port = free_port()
        # w1r: a second listener whose mail goes through rspamd (RSPAMD_PORT)
        self.port_r = free_port() if RSPAMD_PORT and self.milter else None
        # w1n: a third listener whose mail goes through the no-op milter (NOOP_PORT)
        self.port_n = free_port() if NOOP_PORT and self.milter else None
        # w2d: the port whose mail from DKIM_DOMAIN is signed (None: this MTA does not sign)
        self.port_d = None
        self.dir = os.path.join(DIR, name)
        os.makedirs(self.dir, exist_ok=True)
        self.d = Daemon(name)
        self.error = None

    def sendmail_argv(self):
        raise NotImplementedError

    # does its STARTTLS work? (OpenSMTPD 6.8's fails against Debian's OpenSSL 3)
    starttls = True

    def tls_files(self):
        return os.path.join(self.dir, "tls.crt"), os.path.join(self.dir, "tls.key")

    def tls_install(self, kind):
        """Copies W4's KIND certificate and key where the configuration names
        them (the ECDSA one at start-up); the caller restarts the MTA."""
        crt, key = self.tls_files()
        shutil.copy(os.path.join(DIR, "tls", kind + ".crt"), crt)
        shutil.copy(os.path.join(DIR, "tls", kind + ".key"), key)
        os.chmod(crt, 0o644)
        os.chmod(key, 0o600)

    def baseline(self):
        time.sleep(1)
        self.pss_start = self.d.pss_kib()
        self.nprocs_start = len(self.d.procs())

    def restart(self):
        """Stop the daemons and start them again on the same configuration,
        queue and port: W3 measures a fresh server, since a server's heap after
        a load (OpenSMTPD keeps 80 MiB after W1) hides the cost of a session."""
        mounts = self.d.mounts
        self.d.stop()
        self.d = Daemon(self.name)
        self.d.mounts = mounts
        self.launch()
        self.baseline()


class Postfix(MTA):
    milter = True

    def start(self):
        conf = os.path.join(self.dir, "conf")
        q = os.path.join(self.dir, "queue")
        data = os.path.join(self.dir, "data")
        os.makedirs(conf)
        os.makedirs(q)
        os.makedirs(data)
        os.chown(data, pwd.getpwnam("postfix").pw_uid, -1)
        self.conf = conf
        main = """# written by t/bench/bench.py: Debian's defaults, loopback, Maildir
compatibility_level = 3.6
biff = no
append_dot_mydomain = no
readme_directory = no
queue_directory = {q}
data_directory = {data}
daemon_directory = {pf}/usr/lib/postfix/sbin
command_directory = {pf}/usr/sbin
shlib_directory = {pf}/usr/lib/postfix
meta_directory = {pf}/etc/postfix
sendmail_path = {pf}/usr/sbin/sendmail
newaliases_path = {pf}/usr/bin/newaliases
mailq_path = {pf}/usr/bin/mailq
mail_owner = postfix
setgid_group = postdrop
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH={lib}
export_environment = TZ MAIL_CONFIG LANG LD_LIBRARY_PATH={lib}
maillog_file = {dir}/maillog
myhostname = postfix.bench.test
mydomain = bench.test
myorigin = $myhostname
mydestination = local.test, $myhostname, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains =
alias_maps =
alias_database =
home_mailbox = Maildir/
transport_maps = inline:{{ remote.test=smtp:[127.0.0.1]:{sink} }}
smtp_dns_support_level = disabled
smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination
""".format(q=q, data=data, pf=PF, lib=PFLIB, dir=self.dir, sink=self.sinkport)
        if TLS:
            # W4: STARTTLS offered, as Debian's main.cf does with the snakeoil certificate
            crt, key = self.tls_files()
            self.tls_install("ec")
            main += "smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\nsmtpd_tls_security_level = may\n" % (crt, key)
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(main)
        # Debian's master.cf, with the smtpd on our port and no chroot (the
        # chroot needs copies of /etc files in the queue directory)
        out = []
        with open(os.path.join(PF, "usr/share/postfix/master.cf.dist")) as f:
            for line in f:
                w = line.split()
                if line[:1] not in ("#", " ", "\t", "\n") and len(w) >= 8:
                    if w[0] == "smtp" and w[1] == "inet":
                        w[0] = "127.0.0.1:%d" % self.port
                    w[4] = "n"
                    line = " ".join(w) + "\n"
                out.append(line)
        if self.port_r:
            # w1r: a second smtpd whose sessions go through rspamd (a milter
            # down is a tempfail, as ketch's default)
            out.append("127.0.0.1:%d inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:%d"
                       " -o milter_default_action=tempfail\n" % (self.port_r, RSPAMD_PORT))
        if self.port_n:
            # w1n: the same with the no-op milter
            out.append("127.0.0.1:%d inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:%d"
                       " -o milter_default_action=tempfail\n" % (self.port_n, NOOP_PORT))
        if OPENDKIM_PORT:
            # w2d: a second smtpd whose sessions go through OpenDKIM
            self.port_d = free_port()
            out.append("127.0.0.1:%d inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:%d"
                       " -o milter_default_action=tempfail\n" % (self.port_d, OPENDKIM_PORT))
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write("".join(out))
        env = pf_env()
        env["MAIL_CONFIG"] = conf
        self.env = env
        # postfix check creates the queue directories (as "postfix start" does)
        r = subprocess.run([PF + "/usr/sbin/postfix", "-c", conf, "check"], env=env, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("postfix check: " + r.stderr.strip())
        # master in the foreground (what "postfix start-fg" runs), so we hold its PID
        self.launch()

    def launch(self):
        self.d.start([PF + "/usr/lib/postfix/sbin/master", "-c", self.conf, "-s"], env=self.env)
        for port in (self.port, self.port_r, self.port_d, self.port_n):
            if port and not wait_port(port):
                raise RuntimeError("postfix does not answer on port %d; see %s" % (port, self.dir))

    def sendmail_argv(self):
        return [PF + "/usr/sbin/sendmail", "-C", self.conf, "-i"]

    def sendmail_env(self):
        return self.env


class OpenSMTPD(MTA):
    starttls = False

    def start(self):
        # compiled-in paths (/var/spool/smtpd, /usr/libexec/opensmtpd,
        # /var/lib/opensmtpd/empty, /var/run/smtpd.sock) are overlays inside
        # the namespace; the machine's own directories are not touched
        d = self.dir
        for sub in ("spool-up", "spool-work", "run-up", "run-work", "varlib/opensmtpd/empty"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(os.path.join(d, "varlib/opensmtpd/empty"), 0o755)
        self.d.mounts = [
            "mount -t overlay overlay -o lowerdir=%s/usr/libexec:/usr/libexec /usr/libexec" % OS,
            "mount -t overlay overlay -o lowerdir=%s/usr/sbin:/usr/sbin /usr/sbin" % OS,
            "mount -t overlay overlay -o lowerdir=%s/varlib:/var/lib /var/lib" % d,
            "mount -t overlay overlay -o lowerdir=/var/spool,upperdir=%s/spool-up,workdir=%s/spool-work /var/spool" % (d, d),
            "mount -t overlay overlay -o lowerdir=/run,upperdir=%s/run-up,workdir=%s/run-work /run" % (d, d),
        ]
        conf = os.path.join(d, "smtpd.conf")
        with open(conf, "w") as f:
            f.write("""# written by t/bench/bench.py
listen on 127.0.0.1 port {port} hostname opensmtpd.bench.test
action "local" maildir "~/Maildir"
action "relay" relay host smtp://127.0.0.1:{sink}
match from any for domain "local.test" action "local"
match from local for domain "remote.test" action "relay"
""".format(port=self.port, sink=self.sinkport))
        os.chmod(conf, 0o644)
        self.conf = conf
        self.launch()

    def launch(self):
        self.d.start([OS + "/usr/sbin/smtpd", "-d", "-f", self.conf])
        if not wait_port(self.port):
            raise RuntimeError("opensmtpd does not answer on port %d; see %s" % (self.port, self.dir))

    def sendmail_argv(self):
        return self.d.in_ns([OS + "/usr/sbin/sendmail", "-i"])

    def sendmail_env(self):
        return dict(ENV)


class Ketch(MTA):
    milter = True
    listen_flags = []
    socket = ENV.get("BENCH_KETCH_SOCKET", "1") != "0"

    def start(self):
        bin_ = os.path.join(BUILD, "bin")
        for p in ("smtp-listen", "scheduler", "smtp-session", "mkspool") + (("enqueue-listen",) if self.socket else ()):
            if not os.access(os.path.join(bin_, p), os.X_OK):
                raise NotBuilt("%s/%s missing" % (bin_, p))
        conf = os.path.join(self.dir, "ketch.conf")
        self.conf = conf
        with open(conf, "w") as f:
            f.write("""hostname ketch.bench.test
spool {d}/spool
programs {b}
listen 127.0.0.1 port {port}{starttls}
local-domain local.test
deliver maildir ~/Maildir
route remote.test via 127.0.0.1:{sink}
relay-from 127.0.0.0/8
limit connections 10000
limit connections-per-client 10000
""".format(d=self.dir, b=bin_, port=self.port, sink=self.sinkport, starttls=" starttls" if TLS else ""))
            # enqueue-listen, as ketch-instance sets up (BENCH_KETCH_SOCKET=0: enqueue per message)
            if self.socket:
                f.write("enqueue-socket {d}/enqueue.sock\n".format(d=self.dir))
            # w1r: a second listener with rspamd as its filter
            if self.port_r:
                f.write("filter rspamd inet:127.0.0.1:{r}\nlisten 127.0.0.1 port {p} filter rspamd\n".format(
                    r=RSPAMD_PORT, p=self.port_r))
            # w1n: a third listener with the no-op milter as its filter
            if self.port_n:
                f.write("filter noop inet:127.0.0.1:{r}\nlisten 127.0.0.1 port {p} filter noop\n".format(
                    r=NOOP_PORT, p=self.port_n))
            if TLS:
                # W4: the listener offers STARTTLS (EHLO names it; W1 does not use it)
                crt, key = self.tls_files()
                self.tls_install("ec")
                f.write("certificate %s key %s\n" % (crt, key))
            # e.g. BENCH_KETCH_CONF_EXTRA='queue-user ketchq' (one directive a line)
            extra = ENV.get("BENCH_KETCH_CONF_EXTRA", "")
            # w2d: the key of DKIM_DOMAIN, owned by the queue-user; every
            # other workload's From: (client.test) has none, and is not signed
            if DKIM_KEY:
                qu = [ln.split()[1] for ln in extra.splitlines() if ln.split()[:1] == ["queue-user"]]
                key = key_copy(self.name, qu[-1] if qu else pwd.getpwuid(os.geteuid()).pw_name)
                f.write("dkim-sign {dom} selector {sel} key {k}\n".format(dom=DKIM_DOMAIN, sel=DKIM_SELECTOR, k=key))
                self.port_d = self.port
            if extra:
                f.write(extra.rstrip("\n") + "\n")
            # as root, smtp-listen runs its sessions as root only when told so (smtp-listen(8), PRIVILEGES)
            if os.geteuid() == 0 and "smtp-user" not in extra:
                f.write("smtp-user root\n")
        run([os.path.join(bin_, "mkspool"), "-C", conf])
        self.launch()

    def wrap(self, name):
        """BENCH_KETCH_WRAP's prefix for daemon name ({name} and {dir}
        replaced), e.g. strace -f -c -o {dir}/{name}.strace"""
        w = ENV.get("BENCH_KETCH_WRAP", "")
        return [x.replace("{name}", name).replace("{dir}", self.dir) for x in shlex.split(w)]

    def launch(self):
        bin_ = os.path.join(BUILD, "bin")
        self.d.start(self.wrap("scheduler") + [os.path.join(bin_, "scheduler"), "-C", self.conf], logname="scheduler")
        if self.socket:
            sock = os.path.join(self.dir, "enqueue.sock")
            self.d.start(self.wrap("enqueue-listen") + [os.path.join(bin_, "enqueue-listen"), "-C", self.conf], logname="enqueue-listen")
            end = time.time() + 10
            while not os.path.exists(sock) and time.time() < end:
                time.sleep(0.02)
        self.d.start(self.wrap("smtp-listen") + [os.path.join(bin_, "smtp-listen")] + self.listen_flags + ["-C", self.conf], logname="smtp-listen")
        for port in (self.port, self.port_r, self.port_n):
            if port and not wait_port(port):
                raise RuntimeError("ketch does not answer on port %d; see %s" % (port, self.dir))

    def sendmail_argv(self):
        p = os.path.join(BUILD, "bin", "sendmail")
        if not os.access(p, os.X_OK):
            raise NotBuilt("build/bin/sendmail missing")
        return [p, "-C", self.conf, "-i"]

    def sendmail_env(self):
        e = dict(ENV)
        e["KETCH_CONF"] = self.conf
        return e


class KetchFork(Ketch):
    """ketch with `smtp-listen -f`: sessions forked without an exec"""
    listen_flags = ["-f"]


class NotBuilt(Exception):
    pass


# ---------------------------------------------------------------- measuring

IN_CREATE, IN_MOVED_TO, IN_Q_OVERFLOW = 0x100, 0x80, 0x4000
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


class Watch:
    """Counts files arriving in DIR (Maildir/new) with inotify; notes the
    time the Nth arrives."""

    def __init__(self, path, n):
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, path.encode(), IN_CREATE | IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self.n = n
        self.path = path
        self.count = 0
        self.t_done = None
        # nobody reads the events while the client runs: beyond the kernel's
        # max_queued_events (16384) they are lost (W1 at 20000 messages)
        self.overflow = False

    def wait(self, deadline):
        while self.count < self.n and now() < deadline:
            if self.overflow:
                # events were lost: count the directory instead, every 20 ms
                self.count = len(os.listdir(self.path))
                if self.count < self.n:
                    time.sleep(min(0.02, max(0, deadline - now())))
                    continue
                self.t_done = now()
                break
            r, _, _ = select.select([self.fd], [], [], min(0.5, max(0, deadline - now())))
            if not r:
                continue
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            i = 0
            while i + 16 <= len(buf):
                _, mask, _, ln = struct.unpack_from("iIII", buf, i)
                i += 16 + ln
                if mask & IN_Q_OVERFLOW:
                    self.overflow = True
                elif mask & (IN_CREATE | IN_MOVED_TO):
                    self.count += 1
            if self.count >= self.n:
                self.t_done = now()
        return self.t_done

    def close(self):
        os.close(self.fd)


class PssPeak(threading.Thread):
    def __init__(self, d, every=0.25):
        super().__init__(daemon=True)
        self.d, self.every, self.peak, self.halt = d, every, 0, threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.peak = max(self.peak, self.d.pss_kib())
            self.halt.wait(self.every)

    def stop(self):
        self.halt.set()
        self.join(5)
        self.peak = max(self.peak, self.d.pss_kib())
        return self.peak


TRASH = os.path.join(DIR, "trash")


def clean_maildir(md):
    """Empties MD for the next W1 without deleting anything now: its
    subdirectories move to TRASH, removed once the last phase is over. On
    ext4 without a journal (this machine), every file creation skips over
    the inodes its block group freed in the last 5 to 30 s: deleting the
    last round's 2000 files just before a W1 made each Maildir file the
    MTA created scan them all (10 to 20 % of the CPU samples, and the
    Maildir's directory lock held meanwhile). No MTA's own work does that."""
    os.makedirs(TRASH, exist_ok=True)
    st = os.stat(os.path.join(md, "new"))
    for sub in ("new", "cur", "tmp"):
        p = os.path.join(md, sub)
        try:
            os.rename(p, os.path.join(TRASH, "%s.%d" % (sub, time.monotonic_ns())))
        except OSError:
            # another file system: delete as before
            for f in os.listdir(p):
                try:
                    os.unlink(os.path.join(p, f))
                except OSError:
                    pass
            continue
        os.mkdir(p, 0o700)
        os.chown(p, st.st_uid, st.st_gid)


def smtp_source(args, timeout):
    argv = [PF + "/usr/sbin/smtp-source"] + args
    t0 = now()
    r = subprocess.run(argv, env=pf_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=timeout, text=True)
    t1 = now()
    if r.returncode != 0:
        raise RuntimeError("smtp-source: " + r.stderr.strip()[-300:])
    return t0, t1


SETTLE = float(ENV.get("BENCH_SETTLE", "120"))
FRESH = ENV.get("BENCH_W3_FRESH", "1") == "1"


SETTLE_QUIET = 2.0       # s without a change of the process set, nor CPU beyond SETTLE_IDLE_US
SETTLE_IDLE_US = 10000   # of the MTA's CPU per SETTLE_QUIET: its timers, not work


def kept(procs):
    """How many of PROCS an MTA keeps at rest by design until it is
    restarted: the workers of ketch's enqueue-listen (the children of a
    process named enqueue-listen; a worker renames itself enqueue): it
    keeps up to 16 idle, and only a count of messages retires one
    (enqueue-listen(8)). They are the MTA as it runs and count in every
    later phase, as they would on a server. Postfix's and OpenSMTPD's
    processes beyond their start-up set all exit once idle (Postfix's after
    max_idle, 100 s), as do ketch's session processes (after 5 s): none is
    kept."""
    comm, ppid = {}, {}
    for pid in procs:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        comm[pid] = st[st.index("(") + 1:st.rindex(")")]
        ppid[pid] = int(st[st.rindex(")") + 2:].split()[1])
    return sum(1 for pid in comm if comm.get(ppid[pid]) == "enqueue-listen")


def settle(m):
    """Before a phase that measures memory (W1's peak PSS, W3's idle size;
    and W4): wait, at most BENCH_SETTLE s, until the MTA is at rest: no more
    processes than just after start-up besides those it keeps by design
    (kept()), and for SETTLE_QUIET s the same set of processes using next
    to no CPU (nothing in flight: a delivery, a queue run). Postfix keeps
    idle smtpd, cleanup, local... processes for max_idle (100 s); their PSS
    would otherwise count as the next phase's own, so Postfix waits for
    them. ketch's enqueue-listen workers never leave: with the start-up
    count alone, every phase that followed another on the same ketch waited
    the full BENCH_SETTLE. The disk too: what the last phase (or L, which
    writes and deletes thousands of fsynced files just before each round's
    first MTA) left dirty is written back first, so that no MTA's phase
    pays for another's writeback; a 120 s wait used to hide that for
    ketch, which comes first after L."""
    os.sync()
    t0 = now()
    last, quiet, cpu = None, t0, m.d.cpu_usec()
    while now() < t0 + SETTLE:
        procs = set(m.d.procs())
        c = m.d.cpu_usec()
        if procs != last or c - cpu > SETTLE_IDLE_US:
            last, quiet, cpu = procs, now(), c
        elif now() - quiet >= SETTLE_QUIET and len(procs) - kept(procs) <= m.nprocs_start:
            break
        time.sleep(0.25)
    time.sleep(0.5)
    return round(now() - t0, 1)


def w1_subs():
    return ["w1"] if W1_SESSIONS == [16] else ["w1-%d" % n for n in W1_SESSIONS]


def w1(m, md, sessions=16, port=None):
    """W1 inbound-local: smtp-source SESSIONS (16) sessions -> Maildir/new;
    on PORT (w1r: the listener with rspamd in front) rather than m.port."""
    clean_maildir(md)
    st = settle(m)
    w = Watch(os.path.join(md, "new"), MSGS)
    pss = PssPeak(m.d)
    pss.start()
    cpu0 = m.d.cpu_usec()
    t0 = now()
    res = {}
    try:
        _, t1 = smtp_source(["-s", str(sessions), "-m", str(MSGS), "-l", "4096", "-M", "client.test",
                             "-f", "bench@client.test", "-t", USER + "@local.test",
                             "127.0.0.1:%d" % (port or m.port)], PHASE_TIMEOUT)
        res["accepted_s"] = MSGS / (t1 - t0)
        done = w.wait(t0 + PHASE_TIMEOUT)
    finally:
        peak = pss.stop()
        w.close()
    cpu1 = m.d.cpu_usec()
    res["delivered"] = w.count
    if done:
        res["e2e_s"] = MSGS / (done - t0)
    else:
        res["timeout"] = True
        res["e2e_s_partial"] = w.count / (now() - t0)
    res["cpu_ms_msg"] = (cpu1 - cpu0) / 1000 / MSGS
    res["settle_s"] = st
    res["pss_peak_kib"] = peak
    return res


def filtered(d):
    """rspamd's X-Spamd-Result is in a message of D (w1r's Maildir/new)"""
    for f in os.listdir(d)[:1]:
        with open(os.path.join(d, f), "rb") as fh:
            return b"\nX-Spamd-Result:" in fh.read(65536)
    return False


# W4's load: t/bench/w4-client, in C on OpenSSL's libssl (make bench builds it)
W4_CLIENT = os.path.join(BUILD, "t/bench/w4-client")


def w4(m, md, kind, sessions=16, resume=False):
    """W4: W1 with STARTTLS, a full TLS 1.2 handshake per connection: W4_CLIENT
    with SESSIONS processes, each making its connections one by one, MSGS in
    all; the MTA restarted on KIND's certificate first. RESUME (w4r): each
    client process offers the TLS session of its last connection on its next
    (its first is a full handshake); the fraction the server resumed is reported."""
    if not m.starttls:
        return {"error": "unsupported: STARTTLS fails"}
    m.tls_install(kind)
    m.restart()
    clean_maildir(md)
    st = settle(m)
    argv = [W4_CLIENT, "-p", str(sessions), "-n", str(MSGS), "-r", USER + "@local.test"] + (["-R"] if resume else []) \
        + ["127.0.0.1:%d" % m.port]
    w = Watch(os.path.join(md, "new"), MSGS)
    pss = PssPeak(m.d)
    pss.start()
    cpu0 = m.d.cpu_usec()
    t0 = now()
    res = {}
    try:
        # the client's processes die with it (PR_SET_PDEATHSIG) if the timeout kills it
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=PHASE_TIMEOUT)
        t1 = now()
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise RuntimeError("w4-client: %s" % (r.stderr.strip()[-300:] or "exit %d" % r.returncode))
        if r.returncode != 0:
            raise RuntimeError("w4-client: %s" % (out["error"] or "exit %d" % r.returncode))
        res["accepted_s"] = MSGS / (t1 - t0)
        done = w.wait(t0 + PHASE_TIMEOUT)
    finally:
        peak = pss.stop()
        w.close()
    cpu1 = m.d.cpu_usec()
    res["delivered"] = w.count
    if done:
        res["e2e_s"] = MSGS / (done - t0)
    else:
        res["timeout"] = True
        res["e2e_s_partial"] = w.count / (now() - t0)
    res["cpu_ms_msg"] = (cpu1 - cpu0) / 1000 / MSGS
    # the clients' own CPU (OpenSSL and the SMTP dialogue), which shares
    # the two cores with the MTA measured
    res["client_cpu_ms_msg"] = out["cpu_s"] * 1000 / MSGS
    res["handshake_ms_p50"] = out["handshake_ms_p50"]
    res["suites"] = out["suites"]
    if resume:
        # of the connections made (each process's first could not resume)
        res["resumed"] = out["resumed"]
        res["resumed_pct"] = 100.0 * out["resumed"] / out["connections"] if out["connections"] else None
    res["settle_s"] = st
    res["pss_peak_kib"] = peak
    return res


class Sink:
    """smtp-sink -c on the MTA's relay port; counts messages from its counters.
    DUMP: a file where it appends every message (w2d: to look for the signatures)."""

    def __init__(self, port, n, dump=None):
        self.n, self.count, self.t_done = n, 0, None
        opt = []
        if dump:
            # written by smtp-sink once it runs as nobody, through a
            # temporary file beside it
            os.makedirs(os.path.dirname(dump))
            os.chown(os.path.dirname(dump), pwd.getpwnam("nobody").pw_uid, -1)
            opt = ["-D", dump]
        self.p = subprocess.Popen([PF + "/usr/sbin/smtp-sink", "-c", "-u", "nobody"] + opt + ["127.0.0.1:%d" % port, "256"],
                                  env=pf_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        started.append(self.p)
        self.done = threading.Event()
        self.th = threading.Thread(target=self.read, daemon=True)
        self.th.start()
        end = now() + 10
        while now() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

    def read(self):
        buf = b""
        while True:
            b = self.p.stdout.read1(4096)
            if not b:
                break
            buf = (buf + b)[-256:]
            for rec in reversed(buf.split(b"\r")):
                if b"mesg=" in rec:
                    try:
                        c = int(rec.split(b"mesg=")[1].split()[0])
                    except (ValueError, IndexError):
                        continue
                    self.count = c
                    break
            if self.count >= self.n and not self.done.is_set():
                self.t_done = now()
                self.done.set()

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)


MESSAGE = ("From: bench@client.test\nTo: user@remote.test\nSubject: bench\n\n"
           + ("x" * 63 + "\n") * 64).encode()


def w2(m, via, signed=False):
    """W2 relay-out to smtp-sink; injected via sendmail (4 loops) or smtp-source -s 4.
    SIGNED (w2d, via SMTP): From: DKIM_DOMAIN, on the MTA's signing port
    (m.port_d), the sink keeping the messages to count their signatures.
    The MTA's CPU (its cgroup: sendmail's own processes are not in it) from
    the start of the injection to the last message at the sink."""
    dump = os.path.join(DIR, "sink-%s" % m.name, "dump") if signed else None
    sink = Sink(m.sinkport, MSGS, dump)
    res = {}
    try:
        cpu0 = m.d.cpu_usec()
        t0 = now()
        if via == "sendmail":
            argv = m.sendmail_argv()
            msgf = os.path.join(DIR, "message")
            with open(msgf, "wb") as f:
                f.write(MESSAGE)
            per = [MSGS // 4 + (1 if i < MSGS % 4 else 0) for i in range(4)]
            procs = []
            for k in per:
                # sh -c 'loop' sh COUNT argv...: the count is dropped before "$@" runs
                script = 'n=$1; shift; i=0; while [ $i -lt $n ]; do "$@" < "$MSG" || exit 1; i=$((i+1)); done'
                e = dict(m.sendmail_env())
                e["MSG"] = msgf
                p = subprocess.Popen(["/bin/sh", "-c", script, "sh", str(k)] + argv
                                     + ["-f", "bench@client.test", "user@remote.test"],
                                     env=e, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
                started.append(p)
                procs.append(p)
            err = b""
            for p in procs:
                try:
                    _, e2 = p.communicate(timeout=max(1, t0 + PHASE_TIMEOUT - now()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    _, e2 = p.communicate(timeout=5)
                err += e2 or b""
                if p.returncode != 0:
                    res["inject_error"] = err.decode(errors="replace")[-300:]
        else:
            # smtp-source writes the sender as the From: field too
            smtp_source(["-s", "4", "-m", str(MSGS), "-l", "4096", "-M", "client.test",
                         "-f", "bench@" + (DKIM_DOMAIN if signed else "client.test"), "-t", "user@remote.test",
                         "127.0.0.1:%d" % (m.port_d if signed else m.port)],
                        PHASE_TIMEOUT)
        res["injected_s"] = MSGS / (now() - t0)
        # a failed injection will not complete: a short grace, not the whole phase
        sink.done.wait(max(0, min(t0 + PHASE_TIMEOUT, now() + 10 if "inject_error" in res else 1e12) - now()))
        res["relayed"] = sink.count
        res["cpu_ms_msg"] = (m.d.cpu_usec() - cpu0) / 1000 / MSGS
        if sink.t_done:
            res["e2e_s"] = MSGS / (sink.t_done - t0)
        else:
            res["timeout"] = True
            res["e2e_s_partial"] = sink.count / (now() - t0)
    finally:
        sink.stop()
    if dump:
        # a port whose mail went out unsigned is said so
        with open(dump, "rb") as f:
            res["signed_msgs"] = f.read().lower().count(b"dkim-signature:")
        res["signed"] = res["relayed"] > 0 and res["signed_msgs"] >= res["relayed"]
        shutil.rmtree(os.path.dirname(dump))
    return res


def ehlo(s):
    """EHLO on S (a socket or an SSL socket) and its whole 250 reply"""
    s.sendall(b"EHLO client.test\r\n")
    r = b""
    while not any(line.startswith(b"250 ") for line in r.split(b"\r\n")):
        b = s.recv(4096)
        if not b:
            raise OSError("closed")
        r += b


def w3_budget(sessions):
    """the bound on opening W3's sessions: 120 s, or 30 ms a session
    beyond 4000 (300 s for 10,000), at most PHASE_TIMEOUT. With -f a
    session costs more the more are held (t/bench/README.md, 10,000 idle
    sessions): under load 10,000 did not open within 120 s."""
    return min(PHASE_TIMEOUT, max(120, sessions * 0.03))


def w3(m, sessions, tls=False):
    """W3: open SESSIONS sessions (greeting + EHLO), at most 4 opening at a time,
    hold W3_HOLD s; PSS of the server per session. TLS (W3-TLS): each
    session also does STARTTLS, the TLS 1.2 handshake and EHLO again
    before it idles."""
    if tls and not m.starttls:
        return {"error": "unsupported: STARTTLS fails"}
    if tls:
        # the ECDSA certificate (a W4 phase may have left the RSA one)
        m.tls_install("ec")
        m.restart()
    elif FRESH:
        m.restart()
    res = {"settle_s": settle(m)}
    idle = m.d.pss_kib()
    socks, lat, fails = [], [], 0
    lock = threading.Lock()
    t_start = now()
    budget = t_start + w3_budget(sessions)
    todo = [sessions]
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    def opener():
        nonlocal fails
        while True:
            with lock:
                if todo[0] <= 0 or fails >= 8 or now() > budget:
                    return
                todo[0] -= 1
            s = None
            try:
                t = now()
                s = socket.create_connection(("127.0.0.1", m.port), timeout=2)
                s.settimeout(2)
                g = b""
                while b"\n" not in g:
                    b = s.recv(512)
                    if not b:
                        raise OSError("closed")
                    g += b
                glat = now() - t
                if not g.startswith(b"220"):
                    raise OSError("no 220")
                ehlo(s)
                if tls:
                    s.sendall(b"STARTTLS\r\n")
                    r = b""
                    while b"\n" not in r:
                        b = s.recv(512)
                        if not b:
                            raise OSError("closed")
                        r += b
                    if not r.startswith(b"220"):
                        raise OSError("STARTTLS refused")
                    # a handshake may take longer than a greeting on a loaded machine
                    s.settimeout(10)
                    s = ctx.wrap_socket(s, server_hostname="localhost")
                    ehlo(s)
                with lock:
                    socks.append(s)
                    lat.append(glat)
            except OSError:
                with lock:
                    fails += 1
                if s:
                    s.close()

    th = [threading.Thread(target=opener, daemon=True) for _ in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join(max(1, budget - now() + 5))
    t_open = now()
    res["open_s"] = round(t_open - t_start, 1)
    time.sleep(min(1.0, W3_HOLD))
    busy = m.d.pss_kib()
    time.sleep(max(0, W3_HOLD - (now() - t_open)))
    for s in socks:
        try:
            s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        s.close()
    served = len(lat)
    res.update({"sessions": sessions, "served": served, "failed": fails,
                "pss_start_kib": m.pss_start, "pss_idle_kib": idle, "pss_busy_kib": busy})
    if served:
        res["greet_ms"] = statistics.median(lat) * 1000
        res["pss_per_session_kib"] = (busy - idle) / served
    time.sleep(1)
    return res


def limit(threads):
    d = os.path.join(DIR, "limit")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d + "/tmp")
    os.makedirs(d + "/new")
    r = subprocess.run([os.path.join(BUILD, "t/bench/fsync-limit"), d, str(threads), str(L_SECS)],
                       capture_output=True, text=True, timeout=L_SECS + 60, check=True)
    shutil.rmtree(d, ignore_errors=True)
    return float(r.stdout.split("rate=")[1])


# ---------------------------------------------------------------- report

def med(rows, key):
    v = [r[key] for r in rows if key in r]
    return statistics.median(v) if v else None


def fmt(x, nd=0):
    if x is None:
        return "–"
    if nd == 0:
        return "%d" % round(x)
    return "%.*f" % (nd, x)


def table(results, status, lim):
    cols = MTAS
    rows = []
    for sub in w1_subs():
        at = "" if sub == "w1" else " (%s sessions)" % sub.split("-")[1]
        rows += [("W1 accepted/s" + at, sub, "accepted_s", 0, True),
                 ("W1 end-to-end/s" + at, sub, "e2e_s", 0, True),
                 ("W1 CPU ms/msg" + at, sub, "cpu_ms_msg", 2, False),
                 ("W1 peak PSS KiB" + at, sub, "pss_peak_kib", 0, False)]
    rows += [("W1 with rspamd, accepted/s", "w1r", "accepted_s", 0, True),
             ("W1 with rspamd, end-to-end/s", "w1r", "e2e_s", 0, True),
             ("W1 with rspamd, CPU ms/msg (the MTA's)", "w1r", "cpu_ms_msg", 2, False),
             ("W1 with rspamd, rspamd's CPU ms/msg", "w1r", "rspamd_cpu_ms_msg", 2, False)]
    rows += [("W1 with a no-op milter, end-to-end/s", "w1n", "e2e_s", 0, True),
             ("W1 with a no-op milter, CPU ms/msg (the MTA's)", "w1n", "cpu_ms_msg", 2, False),
             ("W1 with a no-op milter, the milter's CPU ms/msg", "w1n", "milter_cpu_ms_msg", 2, False)]
    rows += [
        ("W2 via sendmail, end-to-end/s", "w2s", "e2e_s", 0, True),
        ("W2 via SMTP, end-to-end/s", "w2m", "e2e_s", 0, True),
        ("W2 via SMTP, CPU ms/msg", "w2m", "cpu_ms_msg", 2, False),
        ("W2 via SMTP signed (DKIM), end-to-end/s", "w2d", "e2e_s", 0, True),
        ("W2 signed, CPU ms/msg (the MTA's)", "w2d", "cpu_ms_msg", 2, False),
        ("W2 signed, OpenDKIM's CPU ms/msg", "w2d", "signer_cpu_ms_msg", 2, False),
        ("W2 signed, CPU ms/msg (MTA + signer)", "w2d", "cpu_total_ms_msg", 2, False),
        # derived: the medians of w2d (MTA + signer) less w2m's, same round set
        ("W2 signing cost, CPU ms/msg (signed less W2 via SMTP)", "w2d", "sign_cost_ms_msg", 2, False),
    ]
    for wl, name in (("w4e", "W4 ECDSA P-256"), ("w4rsa", "W4 RSA-2048"), ("w4r", "W4r (resuming) ECDSA P-256")):
        rows += [("%s end-to-end/s" % name, wl, "e2e_s", 0, True),
                 ("%s CPU ms/msg" % name, wl, "cpu_ms_msg", 2, False),
                 ("%s handshake ms (median)" % name, wl, "handshake_ms_p50", 1, False),
                 ("%s, the client's CPU ms/msg" % name, wl, "client_cpu_ms_msg", 2, False)]
    rows += [("W4r resumed %", "w4r", "resumed_pct", 0, True)]
    for n in W3_SESSIONS:
        rows += [("W3 sessions served of %d" % n, "w3-%d" % n, "served", 0, True),
                 ("W3 greeting latency ms (%d)" % n, "w3-%d" % n, "greet_ms", 1, False),
                 ("W3 PSS KiB per session (%d)" % n, "w3-%d" % n, "pss_per_session_kib", 0, False)]
    for n in W3TLS_SESSIONS:
        rows += [("W3-TLS served of %d" % n, "w3tls-%d" % n, "served", 0, True),
                 ("W3-TLS PSS KiB per session (%d)" % n, "w3tls-%d" % n, "pss_per_session_kib", 0, False)]
    hdr = "| metric | " + " | ".join(NAMES[c] for c in cols)
    # one ratio column per (ketch variant, peer), the shipped one's (-f) first
    kvs = sorted((k for k in cols if k.startswith("ketch")), key=lambda k: k != "ketch-fork")
    ratios = [(k, c) for k in kvs for c in cols if not c.startswith("ketch")]
    hdr += "".join(" | %s/%s" % (NAMES[k], NAMES[c]) for k, c in ratios) + " |"
    out = [hdr, "|" + "---|" * (1 + len(cols) + len(ratios))]

    def cell(c, wl, key, nd):
        if status.get(c):
            return None, status[c]
        rs = results.get((c, wl), [])
        v = med(rs, key)
        if key == "sign_cost_ms_msg":
            a, b = med(rs, "cpu_total_ms_msg"), med(results.get((c, "w2m"), []), "cpu_ms_msg")
            v = a - b if a is not None and b is not None else None
        s = fmt(v, nd)
        if v is not None and any(r.get("timeout") for r in rs):
            s += " (timeout)"
        if v is not None and any(r.get("filtered") is False for r in rs):
            s += " (not filtered)"
        if v is not None and any(r.get("signed") is False for r in rs):
            s += " (not signed)"
        if v is None and rs:
            pv = med(rs, key + "_partial")
            if pv is not None:
                s = "%s (partial, timeout)" % fmt(pv, nd)
            elif any(r.get("error", "").startswith("not built") for r in rs):
                s = "not built"
            elif any(r.get("error", "").startswith("unsupported") for r in rs):
                s = "unsupported"
            elif any("error" in r for r in rs):
                s = "error"
        return v, s

    for label, wl, key, nd, _ in rows:
        if not any(w == wl.split("-")[0] for w in WORKLOADS):
            continue
        vals = [cell(c, wl, key, nd) for c in cols]
        line = "| %s | " % label + " | ".join(s for _, s in vals)
        for k, c in ratios:
            kv = vals[cols.index(k)][0]
            pv = vals[cols.index(c)][0]
            line += " | " + ("%.2f" % (kv / pv) if kv is not None and pv else "–")
        out.append(line + " |")
    # the fraction of the physical limit each MTA reaches
    if lim:
        l16 = statistics.median(lim[max(L_THREADS)]) if lim.get(max(L_THREADS)) else None
        w1sub = "w1" if "w1" in w1_subs() else "w1-%d" % max(W1_SESSIONS)
        for label, wl in (("W1 end-to-end, fraction of L(%d threads)" % max(L_THREADS), w1sub),
                          ("W2 via SMTP, fraction of L(%d threads)" % max(L_THREADS), "w2m")):
            if wl.split("-")[0] not in WORKLOADS or not l16:
                continue
            vals = []
            for c in cols:
                v = None if status.get(c) else med(results.get((c, wl), []), "e2e_s")
                vals.append("–" if v is None else "%.1f%%" % (100 * v / l16))
            out.append("| %s | " % label + " | ".join(vals) + " |" + " |" * len(ratios))
        out.append("")
        out.append("| L: 4 KiB write + fsync + rename + dir fsync | " + " | ".join("%d thread%s" % (t, "s" if t > 1 else "") for t in L_THREADS) + " |")
        out.append("|---|" + "---|" * len(L_THREADS))
        out.append("| messages/s (median) | " + " | ".join(fmt(statistics.median(lim[t])) if lim.get(t) else "–" for t in L_THREADS) + " |")
    return "\n".join(out)


# ---------------------------------------------------------------- main

def start_milter(cls, wl, what):
    """one milter for every MTA of workload WL, started: the instance, or
    None (logged: WL is then not measured)"""
    m = cls()
    try:
        m.start()
        log("%s on 127.0.0.1:%d" % (what, m.port))
        return m
    except Exception as e:
        log("%s: failed to start, %s not measured: %s" % (what, wl, e))
        m.d.stop()
        return None


def main():
    t_start = time.time()
    # SIGTERM (or ^C) unwinds through the finally below: every MTA is stopped
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    if any(w in W4_KINDS for w in WORKLOADS) and not os.access(W4_CLIENT, os.X_OK):
        die("%s not built (make bench builds it, or make %s)" % (W4_CLIENT, os.path.relpath(W4_CLIENT, TOP)))
    # W3 holds up to 10,000 client sockets in this process
    global NOFILE
    NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE[1], NOFILE[1]))
    md = setup_machine()
    log("bench dir %s, raw figures %s, %d round(s) of %d messages" % (DIR, RAW, ROUNDS, MSGS))
    global RSPAMD_PORT, NOOP_PORT
    # the milters before the MTAs: their configurations name the ports
    rs = start_milter(Rspamd, "w1r", "rspamd (milter)") if "w1r" in WORKLOADS else None
    RSPAMD_PORT = rs.port if rs else None
    nm = start_milter(NoopMilter, "w1n", "no-op milter") if "w1n" in WORKLOADS else None
    NOOP_PORT = nm.port if nm else None
    global DKIM_KEY, OPENDKIM_PORT
    dk = None
    if "w2d" in WORKLOADS:
        # before the MTAs: ketch's configuration names the key, Postfix's OpenDKIM's port
        try:
            DKIM_KEY = dkim_key()
            dk = OpenDKIM()
            dk.start()
            OPENDKIM_PORT = dk.port
            log("opendkim (milter) on 127.0.0.1:%d" % dk.port)
        except Exception as e:
            log("opendkim: failed to start, w2d not measured for Postfix: %s" % e)
            if dk:
                dk.stop()
            dk = None
    mtas, status = {}, {}
    classes = {"ketch": Ketch, "ketch-fork": KetchFork, "postfix": Postfix, "opensmtpd": OpenSMTPD}
    for name in MTAS:
        m = classes[name](name, md, free_port())
        try:
            m.start()
            m.baseline()
            mtas[name] = m
            log("%s on 127.0.0.1:%d (relay sink :%d)" % (name, m.port, m.sinkport))
        except NotBuilt as e:
            status[name] = "not built"
            log("%s: not built (%s)" % (name, e))
            m.d.stop()
        except Exception as e:
            status[name] = "failed to start"
            log("%s: failed to start: %s" % (name, e))
            m.d.stop()
    results, lim = {}, {}
    raw = open(RAW, "a")

    def record(rnd, name, wl, res):
        res.update({"round": rnd, "mta": name, "workload": wl, "msgs": MSGS, "time": time.time()})
        raw.write(json.dumps(res) + "\n")
        raw.flush()
        results.setdefault((name, wl), []).append(res)
        log(json.dumps(res))

    try:
        for rnd in range(1, ROUNDS + 1):
            for t in L_THREADS:
                r = limit(t)
                lim.setdefault(t, []).append(r)
                record(rnd, "-", "L%d" % t, {"rate": r})
            for wl in WORKLOADS:
                subs = (["w3-%d" % n for n in W3_SESSIONS] if wl == "w3" else
                        ["w3tls-%d" % n for n in W3TLS_SESSIONS] if wl == "w3tls" else
                        w1_subs() if wl == "w1" else [wl])
                for sub in subs:
                    for name in MTAS:
                        m = mtas.get(name)
                        if not m:
                            continue
                        if not m.d.alive():
                            status[name] = "died"
                            continue
                        # w1r: only the MTAs that speak the milter protocol, while rspamd runs
                        if sub == "w1r" and not (m.port_r and rs and rs.d.alive()):
                            continue
                        if sub == "w1n" and not (m.port_n and nm and nm.d.alive()):
                            continue
                        # w2d: only the MTAs that sign (ketch itself, Postfix through OpenDKIM)
                        if sub == "w2d" and not (m.port_d and (m.name != "postfix" or (dk and dk.d.alive()))):
                            continue
                        log("round %d %s %s" % (rnd, sub, name))
                        try:
                            if sub == "w1":
                                res = w1(m, md)
                            elif sub.startswith("w1-"):
                                res = w1(m, md, int(sub.split("-")[1]))
                            elif sub == "w1r":
                                c0 = rs.d.cpu_usec()
                                res = w1(m, md, port=m.port_r)
                                res["rspamd_cpu_ms_msg"] = (rs.d.cpu_usec() - c0) / 1000 / MSGS
                                # a listener whose mail did not go through rspamd is said so
                                res["filtered"] = filtered(os.path.join(md, "new"))
                            elif sub == "w1n":
                                c0, k0 = nm.d.cpu_usec(), nm.count()
                                res = w1(m, md, port=m.port_n)
                                res["milter_cpu_ms_msg"] = (nm.d.cpu_usec() - c0) / 1000 / MSGS
                                # every message went through the milter, or the figure says so
                                res["milter_msgs"] = nm.count() - k0
                                res["filtered"] = res["milter_msgs"] >= MSGS
                            elif sub == "w2s":
                                res = w2(m, "sendmail")
                            elif sub == "w2m":
                                res = w2(m, "smtp")
                            elif sub in W4_KINDS:
                                res = w4(m, md, W4_KINDS[sub][0], resume=sub == "w4r")
                            elif sub == "w2d":
                                c0 = dk.d.cpu_usec() if dk else 0
                                res = w2(m, "smtp", signed=True)
                                signer = (dk.d.cpu_usec() - c0) / 1000 / MSGS if m.name == "postfix" else 0.0
                                if m.name == "postfix":
                                    res["signer_cpu_ms_msg"] = signer
                                res["cpu_total_ms_msg"] = res["cpu_ms_msg"] + signer
                            else:
                                res = w3(m, int(sub.split("-")[1]), tls=sub.startswith("w3tls"))
                        except NotBuilt as e:
                            res = {"error": "not built: %s" % e}
                        except Exception as e:
                            res = {"error": "%s: %s" % (type(e).__name__, e)}
                        record(rnd, name, sub, res)
                        # let the queue drain before the next MTA's turn
                        time.sleep(1)
    finally:
        for m in mtas.values():
            m.d.stop()
        if rs:
            rs.d.stop()
        if nm:
            nm.d.stop()
        if dk:
            dk.stop()
        for p in started:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        raw.close()
        if os.path.isdir(TRASH):
            shutil.rmtree(TRASH, ignore_errors=True)
            # ext4 without a journal skips the inodes freed in the last 30 s
            # at every creation (clean_maildir): a run started right after
            # this one (make bench-scale runs two) would pay for these
            log("trash removed; waiting 30 s before the next run may create files")
            time.sleep(30)
    try:
        os.rmdir(CGROOT)
    except OSError:
        pass
    print("## make bench: %s, %d round(s) of %d messages of 4 KiB, medians\n" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t_start)), ROUNDS, MSGS))
    print(table(results, status, lim))
    print("\nraw per-round figures: %s" % RAW)
    for n in notes:
        print("note: %s" % n)
    log("done in %.0f s" % (time.time() - t_start))


def retable(args):
    """bench.py --table [W1,W2=]RAW...: print the table again from raw files;
    a prefix "w2s,w2m=" takes only those workloads (and no L) from that file."""
    results, lim, mtas, status = {}, {}, [], {}
    for arg in args:
        only, path = (arg.split("=", 1) if "=" in arg else (None, arg))
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if only and r["workload"].split("-")[0] not in only.split(","):
                    continue
                if r["mta"] == "-":
                    lim.setdefault(int(r["workload"][1:]), []).append(r["rate"])
                    continue
                results.setdefault((r["mta"], r["workload"]), []).append(r)
                if r["mta"] not in mtas:
                    mtas.append(r["mta"])
    global MTAS, L_THREADS, W3_SESSIONS, W3TLS_SESSIONS, W1_SESSIONS, WORKLOADS
    order = ["ketch", "ketch-fork", "postfix", "opensmtpd"]
    MTAS = [m for m in order if m in mtas or m == "ketch"]
    for m in MTAS:
        if m not in mtas:
            status[m] = "not built"
    L_THREADS = sorted(lim) or L_THREADS
    W3_SESSIONS = sorted({int(w.split("-")[1]) for (_, w) in results if w.startswith("w3-")}) or W3_SESSIONS
    W3TLS_SESSIONS = sorted({int(w.split("-")[1]) for (_, w) in results if w.startswith("w3tls-")}) or W3TLS_SESSIONS
    W1_SESSIONS = sorted({int(w.split("-")[1]) for (_, w) in results if w.startswith("w1-")}) or [16]
    WORKLOADS = sorted({w.split("-")[0] for (_, w) in results})
    print(table(results, status, lim))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    if len(sys.argv) >= 3 and sys.argv[1] == "--table":
        retable(sys.argv[2:])
    else:
        main()
