#!/bin/sh
# Hostile load against smtp-listen (bounded): 1000 connections at once,
# slow-drip clients, clients that never read their replies, a flood of
# AUTH failures. The server stays up, its memory (the sum of the PSS of
# its processes) stays bounded, and a normal client is served meanwhile.
. "$(dirname "$0")/lib.sh"
. "$top/t/smtp-lib.sh"
N=1000
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -H -n)" 2>/dev/null
fds=$(ulimit -n)
[ "$fds" -ge $((N * 2 + 200)) ] || N=$(( (fds - 200) / 2 ))
[ "$N" -ge 100 ] || skip_all "too few descriptors ($fds)"
[ -n "${KETCH_SANITIZED:-}" ] && skip_all "ASan sessions are too heavy for 1000 at once"
plan 14
# The command timeout (15 s) is also how long the first of the N held
# connections lives after its greeting: counting them must come before
# it, however long a loaded machine takes to greet all N (with 6 s, a
# loaded run counted 783 of 1000).

h=$(echo 'correct horse' | ketch-passwd)
printf 'alice:%s\n' "$h" > "$T/auth"
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT plain-auth" "auth-table $T/auth" \
  "limit connections $((N + 50))" "limit connections-per-client $((N + 50))" \
  "timeout command 15s" "timeout session 30s"
start_listen
ok $? "smtp-listen ready with limit connections $((N + 50)) and $fds descriptors"

python3 "$top/t/hostile.py" --port "$PORT" --listen "$LPID" --n "$N" --rcpt "postmaster@test.example" > "$T/h.out" 2>"$T/h.err"
sed 's/^/# /' "$T/h.out"
[ -s "$T/h.err" ] && sed 's/^/# stderr: /' "$T/h.err" | tail -5
v () { sed -n "s/^$1=//p" "$T/h.out" | head -1 ; }
is "$(v greeted-220)" "$N" "$N connections at once: every one greeted with 220"
is "$(v sessions-held)" "$N" "$N sessions run at once"
# a session is a small static program: well under 1 MB of PSS each
check "memory while $N sessions are held: $(v pss-kb-held) kB in all, $(v pss-kb-per-session) kB per session (bound 1024)" test "$(v pss-kb-per-session)" -lt 1024
is "$(v normal-during-1000)" ok "a normal client is served while $N connections are open"
is "$(v normal-during-attack)" ok "and during the drip, never-read and AUTH attacks ($(v normal-during-attack-seconds) s)"
is "$(v drip-closed)" 20 "slow-drip clients are disconnected (a trickle does not extend the command deadline)"
check "within the command timeout, plus slack ($(v drip-max-seconds) s)" awk "BEGIN { exit !($(v drip-max-seconds) <= 21) }"
is "$(v noread-closed)" 10 "clients that never read are disconnected ($(v noread-max-seconds) s at most)"
is "$(v auth-sessions):$(v auth-closed-421)" "100:100" "100 AUTH floods: each ends with 421"
check "no more than a few failures per session ($(v auth-max-failures))" test "$(v auth-max-failures)" -le 5
is "$(v sessions-after)" 0 "every session ends"
check "the listener's memory did not grow ($(v listener-pss-kb-before) -> $(v listener-pss-kb-after) kB)" test "$(v listener-pss-kb-after)" -le $(( $(v listener-pss-kb-before) + 512 ))
is "$(v normal-after)" ok "the server is still up and serves a normal client"
done_testing
