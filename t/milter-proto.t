#!/bin/sh
# lib/milter against the real libmilter: t/milter-filter.py (python3-milter,
# a binding of Sendmail's libmilter) is the filter, build/t/milter-drive
# (t/milter-drive.c) the session's side. Negotiation (the filter's actions,
# its NR_HDR and its macro list for CONNECT), every stage in both
# directions, SKIP, PROGRESS, libmilter's multi-line reply, every
# modification the filter makes arriving in milter_mods, a refusal at
# MAIL, abort and quit; over a Unix socket and over TCP.
. "$(dirname "$0")/lib.sh"
plan 16
python3 -c 'import Milter' 2>/dev/null || fail_rest "the Milter module is missing (Debian package python3-milter)"
DRIVE=$BUILD/t/milter-drive
[ -x "$DRIVE" ] || bail "$DRIVE is missing: make all"

# start_filter SOCKET LOG: the filter in the background, its pid in $fpid
start_filter () {
  python3 "$top/t/milter-filter.py" "$1" "$2" >>"$2.err" 2>&1 &
  fpid=$!
  at_exit "killpid TERM $fpid"
}

# what the session's side sees, the same over both transports
cat > "$T/expected" <<'EOF'
open 0
negotiated actions=1ff pflags=580
connect 0
helo 0
mail 0
rcpt 0
rcpt 2 reply=550-5.7.1 no such user\r\n550 5.7.1 really
data 0
header 0
header 0
header 0
eoh 0
body 0
body 0
body 0
eom 1
mod h 0 [X-Filtered] [yes]
mod i 0 [X-First] [top]
mod m 1 [Subject] [changed]
mod + 0 [<added@example.net>] []
mod + 0 [<par@example.net>] [NOTIFY=NEVER]
mod - 0 [<b@example.net>] []
mod e 0 [<new@example.org>] [SIZE=200]
mod b 0 [(body)] []
replbody 10 new body\r\n
mod q 0 [held for review] []
mail 3 reply=451 4.7.1 try later
mail 0
rcpt 0
mail 0
EOF

# ---- over a Unix socket ----
start_filter "unix:$T/f.sock" "$T/f.log"
wait_for 10 test -S "$T/f.sock"
check "the libmilter filter listens on its Unix socket" test -S "$T/f.sock"
timeout 60 "$DRIVE" "unix:$T/f.sock" > "$T/drive.out" 2>&1
check "negotiation, every stage, the replies and every modification as expected (unix)" diff -u "$T/expected" "$T/drive.out"
# the filter's side: what libmilter handed it
wait_for 10 grep -q '^close' "$T/f.log"
check "the filter negotiated all actions, NR_HDR, SKIP" grep -qx 'negotiated 0x1ff 0x580' "$T/f.log"
check "CONNECT: host, address, port, and only the macros of its list (j, {client_addr}; not {daemon_name})" \
  grep -qx 'connect client.example 192.0.2.7 4242 mx.example 192.0.2.7 None' "$T/f.log"
check "HELO, MAIL with its ESMTP parameter and its macro, RCPT" \
  sh -c "grep -qx 'helo client.example' '$T/f.log' && grep -qx 'mail <a@example.org> SIZE=100 a@example.org' '$T/f.log' && grep -qx 'rcpt <b@example.net>' '$T/f.log' && grep -qx 'rcpt <reject@example.net>' '$T/f.log'"
check "headers without the space after ':' (no HDR_LEADSPC), EOH, the body as sent" \
  sh -c "grep -qx \"header Subject 'hello'\" '$T/f.log' && grep -qx \"header From '<a@example.org>'\" '$T/f.log' && grep -qx 'eoh' '$T/f.log' && grep -qxF \"body b'line one\\\\r\\\\nline two\\\\r\\\\n'\" '$T/f.log'"
check "a folded header's lines joined by LF, as Sendmail sends them" grep -qxF "header X-Folded 'one\\n\\ttwo'" "$T/f.log"
check "SKIP: the chunk after it is not sent" sh -c "grep -qxF \"body b'skip the rest\\\\r\\\\n'\" '$T/f.log' && ! grep -q never '$T/f.log'"
check "EOM with its macro (the queue id)" grep -qx 'eom QID123' "$T/f.log"
check "the messages after it: MAIL refused, then one aborted, then one more aborted, then close" \
  sh -c "sed -n '/^eom/,\$p' '$T/f.log' | tr '\n' '|' | grep -qx 'eom QID123|mail <tempfail@example.org> a@example.org|mail <c@example.org> a@example.org|rcpt <b@example.net>|abort|mail <c@example.org> a@example.org|abort|close|'"
ok "$([ -s "$T/f.log.err" ] && echo 1 || echo 0)" "the filter wrote no error" "$(cat "$T/f.log.err" 2>/dev/null)"

# ---- over TCP, in Sendmail's port@host spelling on the filter's side ----
PORT=$(free_port)
start_filter "inet:$PORT@127.0.0.1" "$T/i.log"
wait_for 10 port_open 127.0.0.1 "$PORT"
check "the libmilter filter listens on 127.0.0.1 port $PORT" port_open 127.0.0.1 "$PORT"
timeout 60 "$DRIVE" "inet:127.0.0.1:$PORT" > "$T/drive-inet.out" 2>&1
check "the same over TCP" diff -u "$T/expected" "$T/drive-inet.out"
wait_for 10 grep -q '^close' "$T/i.log"
grep -v '^ready' "$T/f.log" > "$T/f.cmp"
grep -v '^ready' "$T/i.log" > "$T/i.cmp"
check "the filter saw the same conversation over TCP" diff -u "$T/f.cmp" "$T/i.cmp"

# ---- a filter that is not there ----
timeout 30 "$DRIVE" "unix:$T/none.sock" > "$T/drive-none.out" 2>&1
check "no filter: open fails with connect, every stage with it" sh -c "head -1 '$T/drive-none.out' | grep -qx 'open 5 err=connect' && grep -qx 'eom 5 err=connect' '$T/drive-none.out'"
ok "$([ -s "$T/i.log.err" ] && echo 1 || echo 0)" "the TCP filter wrote no error" "$(cat "$T/i.log.err" 2>/dev/null)"
done_testing
