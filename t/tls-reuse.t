#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen -f: a session process that used TLS, and AUTH through
# smtp-keyd, serves its next client once everything of the last one is
# wiped (lib/smtpd.h, smtpd_wipe; lib/tls.h, tls_server_free). Each client
# does STARTTLS with its own suite, AUTH PLAIN with a random password and
# a message with a random marker; then, while the process waits for its
# next client, its whole writable memory is read (/proc/PID/mem) and none
# of that client's master secret, write keys and IVs (derived from the
# key log, RFC 5246 §5, §6.3), marker or password may be found in it.
# Sessions exec'd per connection (no -f) are as before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 15
need openssl openssl
# this test chooses the mode of each listener itself
KETCH_LISTEN_FLAGS=

cd "$T" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ec.key" -out "$T/ec.crt" -days 2 -subj /CN=localhost >"$T/openssl.out" 2>&1
ok $? "a test certificate (ECDSA P-256)" "$(cat "$T/openssl.out")"
PW=$(python3 -c 'import os; print(os.urandom(16).hex())')
printf 'u:%s\n' "$(echo "$PW" | ketch-passwd)" > "$T/auth"
PORT=$(free_port) ; PORTS=$(free_port)
printf 'u a@client.example\n' > "$T/senders"
mkinstance "listen 127.0.0.1 port $PORT starttls auth" "listen 127.0.0.1 port $PORTS starttls auth sender-login" "relay-from 127.0.0.0/8" \
  "certificate $T/ec.crt key $T/ec.key" "auth-table $T/auth" "sender-login-map $T/senders"
R="$PY $top/t/tlsreuse.py"

# the pid of each session, in connection order: the last 6 hex digits of
# its session id (lib/queue.c)
pids () { py "
import re
for l in open('$T/smtp.log'):
  m = re.match(r'([0-9a-f]{24}) connect ', l)
  if m: print(int(m.group(1)[15:21], 16))" ; }

# A sanitized build's memory is not the one shipped (ASan's allocator
# keeps freed chunks in quarantine, its shadow maps terabytes: a scan
# would outlast the 5 idle seconds): there only the reuse is checked
scan () { if [ -n "${KETCH_SANITIZED:-}" ] ; then echo sanitized ; else $R scan "$@" 2>&1 ; fi ; }
memis () { if [ "$1" = "0/sanitized" ] || [ "$1" = sanitized ] ; then skip 1 "a sanitized build: $3" ; else is "$@" ; fi ; }

start_listen -g 2 -f
ok $? "smtp-listen -f ready"
# one client, then the scan of the process that served it, once idle
round () {
  got=$($R client "$PORT" "$T/c$1.json" "$2" ${3:+u "$PW"} 2>&1)
  P=$(pids | tail -n 1)
  $R idle "${P:-0}" ; idle=$?
  scan=$(scan "${P:-0}" "$T/c$1.json")
}
AUTHED="220 250 220 250 250 250 354 250 235 221"
round 1 AES128-GCM-SHA256 auth
is "$got" "$AUTHED" "client 1: STARTTLS (AES-128-GCM), a message, AUTH PLAIN, QUIT"
P1=$P
memis "$idle/$scan" "0/" "client 1: the idle session process holds none of its master secret, keys, IVs, marker, password"
round 2 CHACHA20-POLY1305
is "$got" "220 250 220 250 250 250 354 250 221" "client 2: STARTTLS again (ChaCha20-Poly1305), a message, QUIT"
is "$(pids | sort -u | wc -l | tr -d ' ')/$P" "1/$P1" "client 2 was served by the process that served client 1 (pid $P1)"
memis "$idle/$scan" "0/" "client 2: nothing of it left either"
scan=$(scan "${P:-0}" "$T/c1.json")
memis "$scan" "" "... nor of client 1"
round 3 AES256-GCM-SHA384 auth
is "$got/$(pids | sort -u | wc -l | tr -d ' ')" "$AUTHED/1" "client 3: AES-256-GCM (the SHA-384 PRF) and AUTH, in the same process"
memis "$idle/$scan" "0/" "client 3: nothing of it left"

n=$(grep -rl "the marker" "$T/spool/queue" | wc -l | tr -d " ")
is "$n" 3 "the three messages are queued"
# the scanner finds what is there: the listener's certificate (not wiped, not secret)
py "
import json
d = open('$T/ec.crt').read().split('-----')[2]
import base64
der = base64.b64decode(''.join(d.split()))
json.dump({'needles': {'certificate': der[40:72].hex()}}, open('$T/cert.json', 'w'))"
memis "$(scan "${P:-0}" "$T/cert.json" | cut -d' ' -f1)" "certificate" "the scan finds what is in the process (the certificate chain smtp-listen lent it)"
# not reused: a sender-login check kept the From fields in lib/senderlogin's
# buffer, which grows by realloc (lib/smtpd.c, reusable)
got=$($R client "$PORTS" "$T/s1.json" AES128-GCM-SHA256 u "$PW" first 2>&1 ; $R client "$PORT" "$T/s2.json" AES128-GCM-SHA256 2>&1)
P4=$(pids | sed -n 4p) ; P5=$(pids | sed -n 5p)
r=1 ; [ "$P4" = "$P1" ] && [ -n "$P5" ] && [ "$P5" != "$P4" ] && r=0
is "$got/$r" "220 250 220 250 235 250 250 354 250 221
220 250 220 250 250 250 354 250 221/0" "a TLS session with a sender-login check of its From fields ends its process; the next client gets a new one"
stop_listen

# exec'd sessions: STARTTLS works, and every client has its own process
: > "$T/smtp.log"
start_listen -g 2
got=$($R client "$PORT" "$T/x1.json" AES128-GCM-SHA256 u "$PW" 2>&1 ; $R client "$PORT" "$T/x2.json" CHACHA20-POLY1305 2>&1)
is "$got" "$AUTHED
220 250 220 250 250 250 354 250 221" "exec'd sessions: STARTTLS, AUTH and messages as before"
is "$(pids | sort -u | wc -l | tr -d ' ')" 2 "exec'd sessions: one process per client"
stop_listen
