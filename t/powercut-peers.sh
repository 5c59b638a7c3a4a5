#!/bin/sh
# make powercut-peers: the power-cut run of t/powercut.t (t/powercut.py)
# against Debian's Postfix and OpenSMTPD, unpacked by t/bench/bench.py
# (make bench) into /var/cache/ketch-bench, never installed: the same
# load, the same cuts, the same checks; reported, not judged (exit 0
# whatever they lose). POWERCUT_PEERS (postfix,opensmtpd), POWERCUT_N,
# POWERCUT_TIME, POWERCUT_RATE, POWERCUT_SEED as for make powercut;
# POWERCUT_PREMADE=1: the recipient's Maildir made, and durable, before
# the first cut (else the MTA makes it at its first delivery).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "powercut-peers: fatal: needs root (FUSE, namespaces)" >&2 ; exit 100 ; }
[ -x "$BUILD/t/powercutfs" ] || { echo "powercut-peers: fatal: $BUILD/t/powercutfs not built" >&2 ; exit 100 ; }
U=$(test_user pp) || exit 111
at_exit "fusermount3 -u -z '$T/home' 2>/dev/null"
for mta in $(echo "${POWERCUT_PEERS:-postfix,opensmtpd}" | tr , ' ') ; do
  rm -rf "$T/run" && mkdir -p "$T/run" && chmod 755 "$T/run"
  echo "== $mta"
  # the recipient's home is $T/home/$U: the run's directory is $T
  rm -rf "$T/home" "$T/fs" "$T/postfix" "$T/postfix-data" "$T/opensmtpd"
  python3 "$top/t/powercut.py" --mta "$mta" --fs "$BUILD/t/powercutfs" --dir "$T" --user "$U" \
    --cuts "${POWERCUT_N:-40}" --time "${POWERCUT_TIME:-300}" --rate "${POWERCUT_RATE:-40}" \
    ${POWERCUT_PREMADE:+--premade} ${POWERCUT_SEED:+--seed "$POWERCUT_SEED"} 2>&1
  echo "exit=$?"
done
exit 0
