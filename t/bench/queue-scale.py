#!/usr/bin/env python3
# ISC license: see LICENSE.
"""The large-queue benchmark of issue 8 (make bench-queue; t/bench/README.md).

As root: a spool holding N deferred messages (written straight into the
spool format, as t/sched-backlog.t does), then
  - scheduler start to readiness (-d 3: a line on fd 3);
  - a new message enqueued right after the scheduler is started (before
    readiness): scheduler start to its file in Maildir/new;
  - a second one enqueued after the first is in: enqueue to Maildir/new,
    while the backlog waits;
  - the scheduler's VmHWM and VmRSS after these, and again after
    QSCALE_SETTLE seconds;
  - queue-ls (text and -j) wall time and max RSS over the whole queue and
    over a 100,000-message queue, warm cache, and cold when
    /proc/sys/vm/drop_caches can be written.
Prints a Markdown table; one JSON line goes to BUILD/bench/qscale-DATE.jsonl.

    t/bench/queue-scale.py [N]      N defaults to $QSCALE_N, else 1000000

Environment: KETCH_BUILD (./build), QSCALE_DIR (/var/tmp/ketch-qscale,
wiped at start, removed at the end unless KEEP=1), QSCALE_SETTLE (30),
QSCALE_WAIT (120: bound on each wait), QSCALE_LS_N (100000),
QSCALE_RAW (the raw file). Not a test: it asserts nothing.
"""

import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import time

ENV = os.environ
N = int(sys.argv[1]) if len(sys.argv) > 1 else int(ENV.get("QSCALE_N", "1000000"))
BUILD = os.path.abspath(ENV.get("KETCH_BUILD", "build"))
BIN = os.path.join(BUILD, "bin")
W = ENV.get("QSCALE_DIR", "/var/tmp/ketch-qscale")
KEEP = ENV.get("KEEP", "0") == "1"
SETTLE = float(ENV.get("QSCALE_SETTLE", "30"))
WAIT = float(ENV.get("QSCALE_WAIT", "120"))
LS_N = int(ENV.get("QSCALE_LS_N", "100000"))
RAW = ENV.get("QSCALE_RAW", os.path.join(BUILD, "bench", "qscale-%s.jsonl" % time.strftime("%Y%m%dT%H%M%S")))
USER = "benchuser"
TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
DOMAIN = "test.example"
# the backlog is due in a day: nothing of it becomes due during the run
LATER = 86400


def log(*a):
    print("queue-scale:", *a, file=sys.stderr, flush=True)


def ms(t):
    return round(t * 1000, 1)


def ensure_user(name):
    """the real local user of t/bench/bench.py, created when missing"""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", name], check=True, timeout=60)
        log("note: created user", name)


def instance(name):
    """a configuration and a spool under W/name, as t/lib.sh's mkinstance"""
    d = os.path.join(W, name)
    os.makedirs(os.path.join(d, "mail"))
    os.chmod(d, 0o755)
    os.chmod(os.path.join(d, "mail"), 0o1777)
    conf = os.path.join(d, "ketch.conf")
    with open(conf, "w") as f:
        f.write("hostname mx.%s\nspool %s/spool\nprograms %s\nlocal-domain %s\ndeliver maildir %s/mail/%%u\n"
                % (DOMAIN, d, BIN, DOMAIN, d))
    subprocess.run([os.path.join(BIN, "mkspool"), "-C", conf], check=True, timeout=60)
    return d, conf


def write_backlog(spool, n):
    """n deferred messages, queue/XX/ID + state/XX/ID, no fsync.
    ids: 10 hex seconds, 5 hex microseconds, 6 hex pid, 3 hex random;
    microseconds = i mod 10^6 and pid = a base + i div 10^6 keep them
    distinct, the random field = i mod 4096 spreads the 256 buckets evenly."""
    now = int(time.time())
    sec = now - 3600
    nxt = now + LATER
    state = ("ketch-state 1\t-\ndeferred\t3\t%d\tsomeone@far.example\t-\t451 4.4.1 later\n" % nxt).encode()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    q = os.path.join(spool, "queue")
    s = os.path.join(spool, "state")
    dq = {}
    ds = {}
    for b in range(256):
        x = "%02x" % b
        dq[x] = os.open(os.path.join(q, x), os.O_RDONLY | os.O_DIRECTORY)
        ds[x] = os.open(os.path.join(s, x), os.O_RDONLY | os.O_DIRECTORY)
    t0 = time.monotonic()
    try:
        for i in range(n):
            mid = "%010x%05x%06x%03x" % (sec, i % 1000000, 0x100000 + i // 1000000, i % 4096)
            b = mid[-2:]
            fd = os.open(mid, flags, 0o600, dir_fd=dq[b])
            os.write(fd, b"ketch 1\nfrom s@remote.example\nto someone@far.example\nbody 7bit\n\nSubject: old %d\n\nx\n" % i)
            os.close(fd)
            fd = os.open(mid, flags, 0o600, dir_fd=ds[b])
            os.write(fd, state)
            os.close(fd)
            if i and i % 200000 == 0:
                log("written", i)
    finally:
        for fd in list(dq.values()) + list(ds.values()):
            os.close(fd)
    t1 = time.monotonic()
    subprocess.run(["sync"], timeout=600)
    return t1 - t0, time.monotonic() - t1


def status_kb(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_s(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            v = f.read().rsplit(")", 1)[1].split()
        return round((int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, IndexError, ValueError):
        return None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def delivered(maildir):
    try:
        return len(os.listdir(os.path.join(maildir, "new")))
    except OSError:
        return 0


def enqueue(conf, subject):
    r = subprocess.run([os.path.join(BIN, "enqueue"), "-C", conf, "-f", "s@remote.example", "%s@%s" % (USER, DOMAIN)],
                       input=("Subject: %s\n\nx\n" % subject).encode(), stdout=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("enqueue exited %d" % r.returncode)
    return r.stdout.decode().strip()


def wait_count(maildir, n, deadline):
    """polls Maildir/new every 2 ms until it holds n files; the time, or None"""
    while time.monotonic() < deadline:
        if delivered(maildir) >= n:
            return time.monotonic()
        time.sleep(0.002)
    return None


def stop(p, extra):
    """SIGTERM to the scheduler's PID, SIGKILL after 10 s; then its children by PID"""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
    for c in extra:
        try:
            os.kill(c, signal.SIGKILL)
        except OSError:
            pass


def measure_scheduler(d, conf, res):
    maildir = os.path.join(d, "mail", USER)
    r, w = os.pipe()
    errf = open(os.path.join(d, "scheduler.log"), "wb")
    # sh puts the pipe on fd 3 and execs: the PID is the scheduler's
    argv = ["sh", "-c", 'exec "$@" 3>&%d %d>&-' % (w, w), "sh", os.path.join(BIN, "scheduler"), "-C", conf, "-d", "3"]
    kids = []
    t0 = time.monotonic()
    p = subprocess.Popen(argv, pass_fds=(w,), stdin=subprocess.DEVNULL, stderr=errf)
    try:
        os.close(w)
        # the first new message, right after the start: before readiness
        te = time.monotonic()
        res["first_id"] = enqueue(conf, "first")
        res["first_enqueue_ms"] = ms(time.monotonic() - te)
        deadline = t0 + WAIT
        ready = first = None
        while time.monotonic() < deadline and (ready is None or first is None):
            if ready is None:
                rl, _, _ = select.select([r], [], [], 0.002)
                if rl:
                    if os.read(r, 64):
                        ready = time.monotonic()
                    else:
                        break
            else:
                time.sleep(0.002)
            if first is None and delivered(maildir) >= 1:
                first = time.monotonic()
            if p.poll() is not None:
                break
        os.close(r)
        res["ready_ms"] = ms(ready - t0) if ready else None
        res["first_delivery_ms"] = ms(first - t0) if first else None
        res["first_before_ready"] = bool(first and ready and first < ready)
        if ready is None:
            log("scheduler not ready after %g s (exit %s)" % (WAIT, p.poll()))
            return
        if first is None:
            log("first message not delivered within %g s of the start" % WAIT)
        kids = children(p.pid)
        # the second: enqueue to Maildir/new while the backlog waits
        t1 = time.monotonic()
        res["second_id"] = enqueue(conf, "second")
        t2 = wait_count(maildir, 2 if first else 1, t1 + WAIT)
        res["second_delivery_ms"] = ms(t2 - t1) if t2 else None
        res["after_deliveries_s"] = round(time.monotonic() - t0, 2)
        res["vmhwm_kb"] = status_kb(p.pid, "VmHWM")
        res["vmrss_kb"] = status_kb(p.pid, "VmRSS")
        res["cpu_s"] = cpu_s(p.pid)
        time.sleep(SETTLE)
        res["settle_s"] = SETTLE
        res["vmhwm_settled_kb"] = status_kb(p.pid, "VmHWM")
        res["vmrss_settled_kb"] = status_kb(p.pid, "VmRSS")
        res["cpu_settled_s"] = cpu_s(p.pid)
        res["scheduler_alive"] = p.poll() is None
    finally:
        kids += children(p.pid)
        stop(p, kids)
        errf.close()
    with open(os.path.join(d, "scheduler.log"), "rb") as f:
        res["scheduler_log_lines"] = sum(1 for _ in f)


def can_drop_caches():
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def queue_ls(conf, json_out, cold):
    if cold:
        subprocess.run(["sync"], timeout=600)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    argv = [os.path.join(BIN, "queue-ls"), "-C", conf] + (["-j"] if json_out else [])
    # the max RSS through time(1): a child of this python would start with
    # python's high-water mark (kept across fork and exec); time(1)'s own,
    # about 1 MiB, is the floor of what it reports
    tf = os.path.join(W, "time.out")
    if TIME:
        argv = [TIME, "-f", "%M", "-o", tf] + argv
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        rc = p.wait(WAIT * 5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return {"ms": None, "maxrss_kb": None, "exit": "timeout"}
    t = time.monotonic() - t0
    rss = None
    if TIME:
        with open(tf) as f:
            for line in f:
                if line.strip().isdigit():
                    rss = int(line)
    return {"ms": ms(t), "maxrss_kb": rss, "exit": rc}


def measure_ls(conf, n, cold, res, key):
    out = {"messages": n}
    queue_ls(conf, False, False)  # warms the cache
    out["text_warm"] = queue_ls(conf, False, False)
    out["json_warm"] = queue_ls(conf, True, False)
    if cold:
        out["text_cold"] = queue_ls(conf, False, True)
        out["json_cold"] = queue_ls(conf, True, True)
    res[key] = out


def table(res):
    def v(x, unit=""):
        return "–" if x is None else "%s%s" % (x, unit)
    rows = [
        ("backlog written (open/write/close, no fsync)", v(res.get("write_s"), " s") + ", then sync " + v(res.get("sync_s"), " s")),
        ("scheduler start to readiness", v(res.get("ready_ms"), " ms")),
        ("first new message: scheduler start to Maildir/new", v(res.get("first_delivery_ms"), " ms")
         + (" (before readiness)" if res.get("first_before_ready") else "")),
        ("second new message: enqueue to Maildir/new", v(res.get("second_delivery_ms"), " ms")),
        ("scheduler VmHWM / VmRSS after the deliveries", "%s / %s KiB" % (v(res.get("vmhwm_kb")), v(res.get("vmrss_kb")))),
        ("scheduler VmHWM / VmRSS %g s later" % res.get("settle_s", SETTLE),
         "%s / %s KiB" % (v(res.get("vmhwm_settled_kb")), v(res.get("vmrss_settled_kb")))),
        ("scheduler CPU at the deliveries / %g s later" % res.get("settle_s", SETTLE),
         "%s / %s s" % (v(res.get("cpu_s")), v(res.get("cpu_settled_s")))),
    ]
    for key in ("ls_all", "ls_small"):
        o = res.get(key)
        if not o:
            continue
        for mode in ("text_warm", "json_warm", "text_cold", "json_cold"):
            m = o.get(mode)
            if not m:
                continue
            rows.append(("queue-ls%s, %d messages, %s cache" % (" -j" if mode.startswith("json") else "", o["messages"], mode.split("_")[1]),
                         "%s, max RSS %s KiB%s" % (v(m["ms"], " ms"), v(m["maxrss_kb"]), "" if m["exit"] == 0 else ", exit %s" % m["exit"])))
    s = "| N = %d | |\n|---|---|\n" % res["n"]
    return s + "".join("| %s | %s |\n" % r for r in rows)


def main():
    if os.geteuid() != 0:
        sys.exit("queue-scale: run it as root (it creates a user and drops caches)")
    for prog in ("scheduler", "enqueue", "queue-ls", "mkspool", "local-deliver"):
        if not os.access(os.path.join(BIN, prog), os.X_OK):
            sys.exit("queue-scale: %s/%s is not built (make)" % (BIN, prog))
    ensure_user(USER)
    shutil.rmtree(W, ignore_errors=True)
    os.makedirs(W)
    os.chmod(W, 0o755)
    res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "n": N, "build": BUILD}
    try:
        d, conf = instance("big")
        log("writing", N, "deferred messages")
        res["write_s"], res["sync_s"] = [round(x, 1) for x in write_backlog(os.path.join(d, "spool"), N)]
        log("written in %s s, synced in %s s" % (res["write_s"], res["sync_s"]))
        measure_scheduler(d, conf, res)
        log("scheduler:", json.dumps({k: res.get(k) for k in ("ready_ms", "first_delivery_ms", "second_delivery_ms", "vmhwm_kb", "vmrss_settled_kb")}))
        cold = can_drop_caches()
        res["cold_cache"] = cold
        measure_ls(conf, N, cold, res, "ls_all")
        if N > LS_N:
            ds, confs = instance("small")
            res["write_small_s"] = round(write_backlog(os.path.join(ds, "spool"), LS_N)[0], 1)
            measure_ls(confs, LS_N, cold, res, "ls_small")
    finally:
        os.makedirs(os.path.dirname(RAW), exist_ok=True)
        with open(RAW, "a") as f:
            f.write(json.dumps(res) + "\n")
        log("raw:", RAW)
        if KEEP:
            log("kept", W)
        else:
            subprocess.run(["rm", "-rf", "--one-file-system", W], timeout=1800)
    print(table(res))


if __name__ == "__main__":
    main()
