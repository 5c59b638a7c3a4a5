#!/bin/sh
# Power cuts (issue 24): ketch's spool and the Maildir on the power-cut
# filesystem (t/shim/powercutfs.c), which forgets at each cut whatever
# was not fsynced; SMTP clients and enqueue send while t/powercut.py cuts
# the power at random moments: every process killed at once, the
# filesystem rewound to its durable state, ketch started again. Nothing
# acknowledged is lost, nothing corrupted, duplicates stay within SPOOL
# section 6, and the spool is empty after recovery.
# Short by default (12 cuts, about a minute); `make powercut` runs a long
# one: POWERCUT_N (cuts), POWERCUT_TIME, POWERCUT_RATE, POWERCUT_SEED,
# POWERCUT_TORN=1 (unsynced data torn at a page boundary, not lost).
. "$(dirname "$0")/lib.sh"
plan 11
[ "$(id -u)" = 0 ] || { missing 11 "a FUSE mount and a PID namespace need root here" ; exit 1 ; }
need s6-svscan s6
need fusermount3 fuse3
need unshare util-linux
[ -x "$BUILD/t/powercutfs" ] || fail_rest "$BUILD/t/powercutfs not built (Debian package libfuse3-dev)"

U=$(test_user pc) || bail "useradd failed"
at_exit "fusermount3 -u -z '$T/mnt' 2>/dev/null"
N=${POWERCUT_N:-12}
python3 "$top/t/powercut.py" --fs "$BUILD/t/powercutfs" --build "$BUILD" --dir "$T" --user "$U" \
  --cuts "$N" --time "${POWERCUT_TIME:-25}" --rate "${POWERCUT_RATE:-40}" \
  ${POWERCUT_TORN:+--torn} ${POWERCUT_SEED:+--seed "$POWERCUT_SEED"} > "$T/pc.out" 2>"$T/pc.err"
rc=$?
if [ "$rc" = 0 ] ; then sed 's/^/# /' "$T/pc.out" ; else sed 's/^/# /' "$T/pc.out" >&2 ; fi
[ -s "$T/pc.err" ] && sed 's/^/# stderr: /' "$T/pc.err" | head -20
val () { sed -n "s/^$1=//p" "$T/pc.out" | head -1 ; }
is "$rc" 0 "the harness ran to its verdict"
cuts=$(val cuts)
check "the power was cut ${cuts:-0} times (of $N asked)" test "${cuts:-0}" -ge $((N / 2))
acked=$(val acked)
check "messages were acknowledged between the cuts (${acked:-0} of $(val messages))" test "${acked:-0}" -ge $((N * 5))
is "$(val lost)" 0 "no acknowledged message is lost"
is "$(val corrupted)" 0 "no delivered message is corrupted (body checksum)"
is "$(val foreign)" 0 "no mail file without its Message-ID (an empty or torn file)"
is "$(val leftovers)" 0 "the spool is empty after recovery"
is "$(val quarantined)" 0 "no spool entry was unreadable (nothing in corrupt/)"
is "$(val duplicated-outside-window)" 0 "every duplicate ($(val duplicated)) lies in the window of SPOOL section 6"
is "$(val boots-failed)" 0 "ketch came up after every cut"
bad=$(grep -Eh "AddressSanitizer|runtime error|Assertion|: bug:|exitcode 101" "$T"/log/*/current 2>/dev/null | head -5)
is "$bad" "" "no program died of a bug (exit 101, assertion, sanitizer)"
done_testing
