#!/bin/sh
# Injected failures of fsync, rename and write under enqueue: a temporary
# failure (111), nothing half-written left visible, and service resumes
# by itself once the fault is gone. The shim needs LD_PRELOAD, which the
# static build/bin/enqueue ignores: build/t/enqueue-dyn is the same source
# linked dynamically.
. "$(dirname "$0")/lib.sh"
SHIM=$BUILD/t/failsys.so
[ -f "$SHIM" ] || skip_all "no fault shim built"
[ -n "${KETCH_SANITIZED:-}" ] && skip_all "LD_PRELOAD does not mix with the ASan runtime"
plan 11
mkinstance
printf 'Subject: fault\n\nbody\n' > "$T/msg"

fault () {
  # fault DESCRIPTION VAR=VALUE
  env LD_PRELOAD="$SHIM" "$2" "$BUILD/t/enqueue-dyn" -C "$CONF" -f s@test.example r@test.example < "$T/msg" > "$T/out" 2> "$T/err"
  rc=$?
  is "$rc:$(count_tmp):$(count_entries)" "111:0:0" "$1: exit 111, nothing left"
}
fault "the message file's fsync fails" KETCH_FAIL_FSYNC=1
fault "the queue directory's fsync fails after the rename" KETCH_FAIL_FSYNC=2
fault "the commit rename fails" KETCH_FAIL_RENAME=1
fault "the disk fills while writing" KETCH_FAIL_WRITE=1
check "the reason is on stderr" grep -q 'unable to' "$T/err"
check "nothing was printed as an id" test ! -s "$T/out"

id=$(enqueue -C "$CONF" -f s@test.example r@test.example < "$T/msg")
ok $? "without the fault, enqueue works again"
is "$(count_entries)" 1 "and commits"
env LD_PRELOAD="$SHIM" KETCH_FAIL_FSYNC=all sh -c 'python3 -c "import os; fd=os.open(\"'$T'/x\", os.O_CREAT|os.O_WRONLY); os.fsync(fd)"' 2>/dev/null
is $? 1 "the shim really fails fsync (a test that cannot fail is a defect)"
env LD_PRELOAD="$SHIM" sh -c 'python3 -c "import os; fd=os.open(\"'$T'/y\", os.O_CREAT|os.O_WRONLY); os.fsync(fd)"' 2>/dev/null
is $? 0 "and only when told to"
check "queue-ls shows the one good message" sh -c "queue-ls -C '$CONF' | tail -n 1 | grep -qx '1 message, 1 recipient'"
done_testing
