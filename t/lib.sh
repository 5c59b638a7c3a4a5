# ISC license: see LICENSE.
# Shared by the shell tests: TAP output, a fresh instance directory, free
# loopback ports, bounded waits. Source it: . "$(dirname "$0")/lib.sh"

set -u
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KETCH_BUILD:-$top/build}
BIN=$BUILD/bin
# Debian's tools first: the peers and Python modules the suite installs
# are Debian's, and a Python shim earlier in a developer's PATH (pyenv)
# starts in over a second and lacks them
PATH=$BIN:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH
unset KETCH_CONF

tap_n=0
tap_failed=0
tap_plan=0
plan () { tap_plan=$1 ; echo "1..$1" ; }
ok () {
  # ok STATUS DESCRIPTION [OUTPUT]: STATUS is a command's exit code (0 =
  # pass); on failure OUTPUT, what the tool printed, is shown as the reason
  tap_n=$((tap_n + 1))
  if [ "$1" = 0 ] ; then echo "ok $tap_n - $2"
  else
    echo "not ok $tap_n - $2" ; tap_failed=$((tap_failed + 1))
    # on stderr as Test::More does, so that prove shows it without -v
    printf '#   Failed test %s: %s\n' "$tap_n" "$2" >&2
    [ $# -ge 3 ] && diag_out "$3"
  fi
  return 0
}
# diag_out TEXT: a failed tool's output as TAP diagnostics on stderr (its
# last 30 lines; none at all says so)
diag_out () {
  if [ -z "$1" ] ; then echo '#   (the command printed nothing)' >&2
  else printf '%s\n' "$1" | tail -n 30 | sed 's/^/#   | /' >&2 ; fi
}
check () {
  # check DESCRIPTION COMMAND...: pass when the command succeeds; on
  # failure the command, its exit code and its output are shown, and when
  # it printed nothing (grep -q PATTERN FILE) the end of the file it read
  d=$1 ; shift
  # a file, not $(...): a daemon the command leaves behind may hold a pipe
  if "$@" >"$T/.check.out" 2>&1 ; then ok 0 "$d"
  else
    _c_rc=$?
    eval "_c_last=\${$#}"
    if [ ! -s "$T/.check.out" ] && [ -f "$_c_last" ] && [ -r "$_c_last" ] ; then
      ok 1 "$d" "$(echo "(no output; the end of $_c_last:)" ; tail -n 10 "$_c_last")"
    else ok 1 "$d" "$(cat "$T/.check.out")" ; fi
    printf '#   command (exit %s): %s\n' "$_c_rc" "$*" >&2
  fi
}
is () {
  # is GOT EXPECTED DESCRIPTION
  if [ "$1" = "$2" ] ; then ok 0 "$3"
  else ok 1 "$3" ; printf '#   got:      %s\n#   expected: %s\n' "$1" "$2" >&2 ; fi
}
# diag TEXT...: a TAP comment, each line of TEXT prefixed with "# "
diag () { printf '%s\n' "$*" | sed 's/^/# /' ; }
# skip N REASON: N tests that cannot run here, counted as passed (TAP's # skip)
skip () { _k=0 ; while [ $_k -lt "$1" ] ; do tap_n=$((tap_n + 1)) ; echo "ok $tap_n # skip $2" ; _k=$((_k + 1)) ; done ; }
skip_all () { echo "1..0 # SKIP $*" ; exit 0 ; }
# missing N REASON: N checks whose peer the suite installs (sh .ci/deps
# test) is missing or did not start: failed, never skipped, since a test
# that skips for want of its own peer passes while testing nothing
missing () {
  printf '# %s (the test packages: sh .ci/deps test)\n' "$2" >&2
  _k=0 ; while [ $_k -lt "$1" ] ; do ok 1 "$2" ; _k=$((_k + 1)) ; done
}
# fail_rest REASON: every check left in the plan fails (missing) and the
# test ends; need COMMAND PACKAGE: after plan, COMMAND of PACKAGE from
# .ci/deps's test set is on PATH, else fail_rest
fail_rest () { missing $((tap_plan - tap_n)) "$1" ; exit 1 ; }
need () { command -v "$1" >/dev/null 2>&1 || fail_rest "$1 is missing (Debian package $2)" ; }
bail () { echo "Bail out! $*" ; exit 1 ; }
done_testing () { [ "$tap_failed" = 0 ] ; exit $? ; }

# A fresh directory for this test, removed at exit unless KEEP=1.
T=$(mktemp -d "${TMPDIR:-/tmp}/ketch-test.XXXXXX")
chmod 755 "$T"
cleanup_hooks=""
at_exit () { cleanup_hooks="$1; $cleanup_hooks" ; }
_cleanup () {
  _st=$?
  eval "$cleanup_hooks"
  # make check-asan: a sanitizer report in any log of the test, a daemon's
  # too, fails it (gcc's UBSan writes to stderr whatever log_path says)
  if [ -n "${KETCH_SANITIZED:-}" ] && grep -D skip -rqsE 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$T" ; then
    grep -D skip -rsE -A4 'runtime error:|ERROR: [A-Za-z]+Sanitizer' "$T" | sed 's/^/# /' >&2
    _st=1
  fi
  [ "${KEEP:-0}" = 1 ] && echo "# kept $T"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$T"
  exit $_st
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

# free_port: a TCP port on 127.0.0.1 that nothing listens on now, and
# that no other test of any run on this machine was given recently. Taken
# in turn from 20000-31999, below the kernel's ephemeral range (32768-60999
# on Debian), under a lock on a counter file shared by the tests that run
# in parallel: a port the kernel hands out for bind(0) can be handed to a
# test running beside this one in the seconds before its daemon binds it,
# and then the daemon dies on EADDRINUSE while the check that it listens
# talks to the other test's (t/stats.t did, under CI).
free_port () {
  python3 - "${KETCH_PORTS:-/tmp/ketch-test-ports}" <<'EOF'
import fcntl, os, socket, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)
fcntl.flock(fd, fcntl.LOCK_EX)
try:
    os.fchmod(fd, 0o666)
except OSError:
    pass
try:
    n = int(os.read(fd, 16) or b'0')
except ValueError:
    n = 0
for _ in range(12000):
    n = (n + 1) % 12000
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', 20000 + n))
        break
    except OSError:
        pass
    finally:
        s.close()
else:
    sys.exit('free_port: no free port in 20000-31999')
os.lseek(fd, 0, 0)
os.ftruncate(fd, 0)
os.write(fd, b'%d' % n)
print(20000 + n)
EOF
}

# start_enqlisten [ARGS...]: enqueue-listen on $CONF with ARGS, its log
# appended to $T/enq.log, its pid in EPID; returns 0 once it is ready
start_enqlisten () {
  rm -f "$T/eready"
  enqueue-listen -C "$CONF" -d 3 "$@" 3>"$T/eready" 2>>"$T/enq.log" &
  EPID=$!
  at_exit "kill $EPID 2>/dev/null"
  wait_for 5 test -s "$T/eready"
}

# mkinstance [EXTRA CONF LINES...]: a configuration and a spool in $T;
# sets CONF and SPOOL. Extra arguments are appended as lines.
mkinstance () {
  CONF=$T/ketch.conf
  SPOOL=$T/spool
  {
    echo "hostname mx.test.example"
    echo "spool $SPOOL"
    echo "programs $BIN"
    echo "local-domain test.example"
    _su="smtp-user root"
    for line in "$@" ; do echo "$line" ; case $line in "smtp-user "*) _su= ;; esac ; done
    # as root, smtp-listen runs its sessions as root only when told so (smtp-listen(8), PRIVILEGES)
    if [ "$(id -u)" = 0 ] && [ -n "$_su" ] ; then echo "$_su" ; fi
  } > "$CONF"
  mkspool -C "$CONF"
}

# wait_for SECONDS COMMAND...: poll until the command succeeds (bounded)
wait_for () {
  _w_end=$(( $(date +%s) + $1 )) ; shift
  while ! "$@" >/dev/null 2>&1 ; do
    [ "$(date +%s)" -ge "$_w_end" ] && return 1
    sleep 0.05
  done
  return 0
}

# port_open HOST PORT: something accepts a TCP connection on HOST:PORT now
port_open () {
  python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), 1); s.close()' "$1" "$2"
}

# killpid SIGNAL PID: signal one process; never "kill -1" or an empty pid
# (s6-svstat says -1 when a service is down), 1 for those
killpid () { case $2 in ''|*[!0-9]*|0|1) return 1 ;; esac ; kill "-$1" "$2" 2>/dev/null ; }

# maildir_count DIR: the messages in DIR, a Maildir's new/ (0 when it does
# not exist yet); mail_ge DIR N: at least N of them, evaluated at each poll
# of wait_for; arrived DIR: at least one
maildir_count () { find "$1" -type f 2>/dev/null | wc -l | tr -d ' ' ; }
mail_ge () { [ "$(maildir_count "$1")" -ge "$2" ] ; }
arrived () { mail_ge "$1" 1 ; }

# entry_path ID, state_path ID: message ID's queue entry and state file in
# $SPOOL, from t/spool.py, the suite's one copy of spool-layout/SPOOL
entry_path () { python3 "$top/t/spool.py" entry "$SPOOL" "$1" ; }
state_path () { python3 "$top/t/spool.py" state "$SPOOL" "$1" ; }

# count_entries: committed messages in the spool
count_entries () { find "$SPOOL/queue" -type f | wc -l | tr -d ' ' ; }
count_tmp () { find "$SPOOL/tmp" -type f | wc -l | tr -d ' ' ; }

# test_user PREFIX: prints a mail user for the test: as root a new user
# PREFIX$$ (home $T/home/NAME, removed at exit), else the invoking user.
# Call it as U=$(test_user xy) : the at_exit hook is set here, in the
# test's shell, through the file the subshell leaves behind.
# a user name PREFIX$$ that no account has yet: a run killed before its
# clean-up may have left PREFIX$$ behind for a later run with the same pid
unused_user () {
  _u=$1$$ ; _n=0
  while id "$_u" >/dev/null 2>&1 && [ "$_n" -lt 50 ] ; do _n=$((_n + 1)) ; _u=$1$$x$_n ; done
  echo "$_u"
}

test_user () {
  if [ "$(id -u)" = 0 ] ; then
    _u=$(unused_user "$1")
    useradd -M -d "$T/home/$_u" -s /bin/false "$_u" || exit 1
    echo "$_u" >> "$T/.test-users"
    echo "$_u"
  else
    id -un
  fi
}
at_exit '[ -f "$T/.test-users" ] && while read -r _u ; do userdel "$_u" >/dev/null 2>&1 ; done < "$T/.test-users"'
