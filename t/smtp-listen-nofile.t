#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen raises its soft RLIMIT_NOFILE to the hard limit when it
# starts (smtp-listen(8)): smtp-keyd, which inherits it, holds a channel
# per TLS session, so a soft limit of 1024 would cap TLS near a thousand
# sessions. Started under prlimit with a low soft limit, it must show the
# hard one in /proc/PID/limits, as must smtp-keyd, and with -f serve more
# TLS sessions at once than the soft limit it was given would let
# smtp-keyd hold.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 10
need prlimit util-linux
need openssl openssl
# this test chooses the mode of each listener itself
KETCH_LISTEN_FLAGS=

cd "$T" || exit 1
PORT=$(free_port)
# the default limits (100 connections, 10 per client) would refuse the 60;
# a certificate, so that smtp-listen starts smtp-keyd, which inherits the limit
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ec.key" -out "$T/ec.crt" -days 2 -subj /CN=localhost >/dev/null 2>&1
mkinstance "listen 127.0.0.1 port $PORT starttls" "certificate $T/ec.crt key $T/ec.key" \
  "relay-from 127.0.0.0/8" "limit connections 200" "limit connections-per-client 200"

# nofile soft|hard: smtp-listen's "Max open files" limit
nofile () { awk -v f="$2" '/^Max open files/ { print (f == "soft" ? $4 : $5) }' "/proc/$1/limits" ; }

# start_under LIMITS [OPTIONS]: start_listen under prlimit --nofile=LIMITS
# (prlimit execs smtp-listen: LPID is smtp-listen's pid)
start_under () {
  _lim=$1 ; shift
  rm -f "$T/ready"
  prlimit --nofile="$_lim" smtp-listen -C "$CONF" -d 3 "$@" 3>"$T/ready" 2>>"$T/smtp.log" &
  LPID=$!
  at_exit "kill $LPID 2>/dev/null"
  wait_for 5 test -s "$T/ready"
}

start_under 1024:20000
ok $? "smtp-listen ready under a soft limit of 1024"
is "$(nofile "$LPID" soft)" 20000 "the soft descriptor limit is raised to the hard one"
is "$(nofile "$LPID" hard)" 20000 "the hard limit is left as it was"
KD=$(pgrep -P "$LPID" -x smtp-keyd)
is "$(nofile "${KD:-0}" soft)" 20000 "smtp-keyd (one channel per TLS session) inherits the raised limit"
stop_listen

start_under 300:300
is "$(nofile "$LPID" soft)/$(nofile "$LPID" hard)" 300/300 "soft already at the hard limit: both unchanged"
stop_listen

# -f with a soft limit of 40: smtp-keyd holds a channel per TLS session,
# so 60 TLS sessions at once are served only with the limit raised; the
# listener itself holds no descriptor per session (the session processes
# accept their own connections)
start_under 40:20000 -f
ok $? "smtp-listen -f ready under a soft limit of 40"
KD=$(pgrep -P "$LPID" -x smtp-keyd)
r=$(py "
import os, time
cs, ok = [], 0
end = time.time() + 60
for i in range(60):
    if time.time() > end: break
    try:
        c = Conn($PORT, timeout=5)
        if c.reply()[0] == 220 and c.code(b'EHLO client.example') == 250 and c.code(b'STARTTLS') == 220:
            c.wrap()
            if c.code(b'EHLO client.example') == 250: ok += 1
        cs.append(c)
    except Exception:
        pass
print(ok)
print(len(os.listdir('/proc/${KD:-0}/fd')) > 60, len(os.listdir('/proc/$LPID/fd')) < 20)
kids = []
for p in os.listdir('/proc'):
    if not p.isdigit(): continue
    try:
        st = open('/proc/%s/stat' % p).read()
        if st.split(') ')[1].split()[1] == '$LPID' and '(smtp-session)' in st: kids.append(p)
    except OSError: pass
print(len(kids) >= 60 and max(len(os.listdir('/proc/%s/fd' % k)) for k in kids) <= 12)
for c in cs:
    try: c.send(b'QUIT\r\n')
    except Exception: pass
")
set -- $r
is "$1" 60 "-f: 60 TLS sessions at once, each greeted and answering EHLO after STARTTLS"
is "$2/$3" "True/True" "-f: smtp-keyd holds more than 60 descriptors (a channel per TLS session), the listener fewer than 20"
is "$4" True "-f: every session process holds at most 12 descriptors"
if grep -q 'pausing' "$T/smtp.log" ; then r=1 ; else r=0 ; fi
is "$r" 0 "-f: no accept pause in the log"
stop_listen
done_testing
