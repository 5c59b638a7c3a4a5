#!/bin/sh
# enqueue killed with SIGKILL at random points never leaves a partial entry
# visible, and recovery (mkspool, as the scheduler's start-up) clears its
# leftovers without touching a live writer's file.
. "$(dirname "$0")/lib.sh"
plan 6
mkinstance
ROUNDS=${KILL_ROUNDS:-60}

# bodies of different sizes so that kills land in every phase
head -c 1500000 /dev/urandom | od -An -tx1 -v | tr -d ' ' | fold -w 76 | head -n 20000 > "$T/big"
printf 'Subject: small\n\nbody\n' > "$T/small"

python3 - "$CONF" "$T" "$ROUNDS" <<'PY' > "$T/log"
import os, random, signal, subprocess, sys, time
conf, tdir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(os.getpid())
kills = 0
for i in range(rounds):
    big = i % 2 == 0
    src = os.path.join(tdir, "big" if big else "small")
    slow = i % 3 == 0
    p = subprocess.Popen(["enqueue", "-C", conf, "-f", "s@test.example", "r%d@test.example" % i],
                         stdin=subprocess.PIPE if slow else open(src, "rb"),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if slow:
        data = open(src, "rb").read()
        try:
            for k in range(0, len(data), 65536):
                p.stdin.write(data[k:k + 65536])
                if random.random() < 0.3:
                    break
        except BrokenPipeError:
            pass
    time.sleep(random.uniform(0, 0.02))
    p.send_signal(signal.SIGKILL)
    if p.wait() == -signal.SIGKILL:
        kills += 1
    if slow:
        try: p.stdin.close()
        except BrokenPipeError: pass
print(kills)
PY
kills=$(cat "$T/log")
diag "$ROUNDS rounds, $kills enqueues killed before they finished"
[ "$kills" -gt 0 ]
ok $? "kills landed before completion"

# every visible entry is complete: a valid head and one of the two bodies, whole
python3 - "$SPOOL" "$T/big" "$T/small" > "$T/check" <<'PY'
import os, sys
spool = sys.argv[1]
bodies = {open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()}
good = bad = 0
for root, dirs, files in os.walk(os.path.join(spool, "queue")):
    for f in files:
        data = open(os.path.join(root, f), "rb").read()
        head, sep, body = data.partition(b"\n\n")
        lines = head.split(b"\n")
        if sep and lines[0] == b"ketch 1" and lines[-1] in (b"body 7bit", b"body 8bit") and body in bodies:
            good += 1
        else:
            bad += 1
print(good, bad)
PY
set -- $(cat "$T/check")
diag "$1 complete entries committed before their kill"
is "$2" 0 "no partial entry is ever visible in queue/"

# a live writer: its temp file is locked, recovery must leave it alone
mkfifo "$T/slowpipe"
enqueue -C "$CONF" -f s@test.example live@test.example < "$T/slowpipe" > "$T/live.id" 2>&1 &
live=$!
exec 7> "$T/slowpipe"
printf 'Subject: live\n\n' >&7
# a locked file in tmp/, the live writer's: the killed writers above left
# files there already, so "a file" could be theirs, and recovery run before
# enqueue made and locked its own takes nothing for live (/proc/locks names
# a file by its inode)
tmp_locked () {
  for _f in "$SPOOL"/tmp/* ; do [ -f "$_f" ] && grep -q ":$(stat -c %i "$_f") " /proc/locks && return 0 ; done
  return 1
}
wait_for 5 tmp_locked
# a dead writer whose pid was recycled by a live process (pids wrap): the
# free lock alone decides, so this one goes too (it used to stay)
printf 'partial' > "$SPOOL/tmp/$(printf '%010x%05x%06x%03x' "$(date +%s)" 1 "$$" 7)"
before=$(count_tmp)
mkspool -C "$CONF" 2> "$T/recover"
ok $? "recovery runs"
is "$(count_tmp)" 1 "recovery removed every dead writer's leftovers ($before before) and kept the live one"
printf 'still here\n' >&7
exec 7>&-
wait $live
ok $? "the live writer commits after recovery ran"
mkspool -C "$CONF" 2>/dev/null
is "$(count_tmp)" 0 "recovery is idempotent and leaves tmp/ empty"
done_testing
