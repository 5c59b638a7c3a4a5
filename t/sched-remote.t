#!/bin/sh
# Remote routing with a stand-in remote-send (the real one is tested on
# its own): one run per (message, domain) with all its recipients, the
# message from its first header line, per-recipient reports (ok, temp,
# perm, missing), a delivery timeout, SIGALRM and SIGHUP.
. "$(dirname "$0")/lib.sh"
plan 21

U=$(test_user km) || bail "useradd failed"
mkdir -p "$T/mail" "$T/bin" && chmod 1777 "$T/mail"
for p in "$BIN"/* ; do ln -s "$p" "$T/bin/" ; done
rm -f "$T/bin/remote-send"
# remote-send -C conf -b domain: the jobs (lib/report netstrings) on fd 0, read one by
# one as the scheduler writes them (it keeps the pipe open a while for more), a
# "JOB kind RCPT text" line per recipient, by the recipient's name
cat > "$T/batch.py" <<'EOF'
import os, sys, time
T, domain = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import spool
inp = sys.stdin.buffer
k = 0
while True:
    f = spool.read_job(inp)
    if f is None: break
    qid, hdr, flags, sender, rcpts = f[0], int(f[1]), f[2], f[3], f[4:]
    open(T + '/opts.log', 'a').write('%s %s %s\n' % (domain, qid, flags))
    body = open(spool.entry_path('.', qid), 'rb').read()[hdr:]
    open(T + '/body.' + domain, 'wb').write(body)
    open(T + '/remote.log', 'a').write('%s <%s> %s\n' % (domain, sender, ' '.join(rcpts)))
    silent = False
    for i, r in enumerate(rcpts):
        if r.startswith('perm'): print('%d perm %d 550 5.1.1 <%s> no such user' % (k, i, r))
        elif r.startswith('temp'): print('%d temp %d 451 4.3.0 try later' % (k, i))
        elif r.startswith('silent'): silent = True
        elif r.startswith('slow'): sys.stdout.flush() ; time.sleep(30)
        elif r.startswith('par'):
            os.makedirs(T + '/in', exist_ok=True)
            open(T + '/in/%d' % os.getpid(), 'w').close()
            open(T + '/par.log', 'a').write('%d\n' % len(os.listdir(T + '/in')))
            time.sleep(0.3)
            os.unlink(T + '/in/%d' % os.getpid())
            print('%d ok %d 250 ok' % (k, i))
        else: print('%d ok %d 250 2.0.0 queued as X' % (k, i))
    sys.stdout.flush()
    if silent: sys.exit(0)   # a remote-send that ends without a line for someone
    k += 1
EOF
cat > "$T/bin/remote-send" <<EOF
#!/bin/sh
[ "\$3" = "-b" ] || exit 100
exec python3 "$T/batch.py" "$T" "\$4" "$top/t"
EOF
chmod 755 "$T/bin/remote-send"
# timeout delivery 4s, not 2: the stand-in is a Python process, which a
# loaded machine may take seconds to start; "slow" still sleeps 30 s
mkinstance "deliver maildir $T/mail/%u" "retry remote 1h" "timeout delivery 4s" "limit deliveries-per-destination 1"
sed -i "s|^programs .*|programs $T/bin|" "$CONF"
scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
wait_for 10 test -s "$T/ready"

printf 'Subject: remote\n\nbody\n' > "$T/msg"
id1=$(enqueue -C "$CONF" -f "$U@test.example" a@r1.example perm-b@r1.example c@r2.example temp-d@r1.example silent-e@r2.example < "$T/msg")
lines () { [ "$(wc -l < "$T/remote.log" 2>/dev/null)" -ge "$1" ] ; }
check "remote-send ran" wait_for 10 lines 2
check "one run for r1.example with its 3 recipients, in order" grep -qx "r1.example <$U@test.example> a@r1.example perm-b@r1.example temp-d@r1.example" "$T/remote.log"
check "one run for r2.example with its 2 recipients" grep -qx "r2.example <$U@test.example> c@r2.example silent-e@r2.example" "$T/remote.log"
check "the message is given from its first header line" cmp -s "$T/body.r1.example" "$T/msg"
check "the job carries the queue id, flags - for a 7-bit ASCII message" grep -qx "r1.example $id1 -" "$T/opts.log"
printf 'Subject: utf8\n\nb\303\244d\n' | enqueue -C "$CONF" -f "$U@test.example" "$(printf 'j\303\274rgen@r7.example')" >/dev/null
check "an SMTPUTF8 envelope with an 8-bit body: flags 8u" wait_for 10 grep -qx "r7.example [0-9a-f]* 8u" "$T/opts.log"
printf 'Subject: 8bit\n\nb\303\244d\n' | enqueue -C "$CONF" -f "$U@test.example" ascii@r8.example >/dev/null
check "an 8-bit body, ASCII envelope: flags 8" wait_for 10 grep -qx "r8.example [0-9a-f]* 8" "$T/opts.log"
check "ok recorded" wait_for 5 grep -q 'rcpt="a@r1.example" result=ok attempt=1 text="250 2.0.0 queued as X"' "$T/sched.log"
check "temp recorded with a next attempt" grep -q 'rcpt="temp-d@r1.example" result=temp attempt=1 next=' "$T/sched.log"
check "a missing report line is temporary" grep -q 'rcpt="silent-e@r2.example" result=temp.*no report' "$T/sched.log"
bounced () { grep -qs 'perm-b@r1.example' -r "$T/mail/$U/new" ; }
check "perm bounced to the sender with the remote reply" wait_for 10 bounced
check "the bounce quotes the remote reply" grep -qs 'Diagnostic-Code: smtp; 550 5.1.1' -r "$T/mail/$U/new"

# SIGALRM: everything deferred is tried now (retry remote is 1h)
n=$(wc -l < "$T/remote.log")
kill -ALRM $SPID
check "SIGALRM retries the deferred recipients now" wait_for 10 lines $((n + 2))
# the stand-in ends after a job with a silent recipient: wait until that run is over and recorded
twice () { [ "$(grep -c 'rcpt="silent-e@r2.example" result=temp' "$T/sched.log")" -ge 2 ] ; }
wait_for 10 twice

# queue-ctl "retry domain": only that domain's deferred recipients are tried
n=$(wc -l < "$T/remote.log")
echo "retry domain r2.example" > "$SPOOL/ctl/d1.tmp" && mv "$SPOOL/ctl/d1.tmp" "$SPOOL/ctl/d1" && echo ctl > "$SPOOL/trigger"
check "retry domain: r2.example tried again" wait_for 10 lines $((n + 1))
sleep 0.5
is "$(tail -n +$((n + 1)) "$T/remote.log" | cut -d' ' -f1 | sort -u | tr '\n' ' ')" "r2.example " "retry domain: r1.example not tried"

# a delivery that runs past "timeout delivery" is killed and deferred
enqueue -C "$CONF" -f "$U@test.example" slow@r3.example < "$T/msg" >/dev/null
check "a slow delivery is killed and counted temporary" wait_for 20 grep -q 'rcpt="slow@r3.example" result=temp.*timed out' "$T/sched.log"

# SIGHUP re-reads the configuration
echo "limit remote-deliveries 3" >> "$CONF"
kill -HUP $SPID
check "SIGHUP reloads the configuration" wait_for 5 grep -q 'reload result=ok' "$T/sched.log"
# at most one delivery at a time to one destination (limit deliveries-per-destination 1)
for k in 1 2 3 4 ; do enqueue -C "$CONF" -f "$U@test.example" par$k@r5.example < "$T/msg" >/dev/null ; done
four () { [ "$(wc -l < "$T/par.log" 2>/dev/null)" = 4 ] ; }
check "four deliveries to r5.example" wait_for 15 four
is "$(sort -n "$T/par.log" | tail -1)" "1" "never two at once to one destination"

# SIGTERM with a delivery in flight: it finishes (here: its timeout), is recorded, then exit
sid=$(enqueue -C "$CONF" -f "$U@test.example" slow@r4.example < "$T/msg")
wait_for 10 grep -q "$sid attempt" "$T/sched.log"
kill -TERM $SPID
check "SIGTERM: exits once the delivery in flight is over" wait_for 20 sh -c "! kill -0 $SPID 2>/dev/null"
check "the interrupted delivery is recorded as deferred" grep -q '^deferred' "$(state_path "$sid")"
done_testing
