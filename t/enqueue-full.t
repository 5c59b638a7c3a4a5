#!/bin/sh
# A full filesystem under the spool: enqueue exits 111 and leaves nothing
# half-written; once there is room again, it works.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root to mount a small tmpfs"
mkdir "$T/small"
mount -t tmpfs -o size=512k,nr_inodes=2000 tmpfs "$T/small" 2>/dev/null || skip_all "cannot mount tmpfs"
at_exit "umount -l '$T/small' 2>/dev/null"
plan 8
CONF=$T/ketch.conf
SPOOL=$T/small/spool
printf 'hostname mx.test.example\nspool %s\nlimit message-size 10M\n' "$SPOOL" > "$CONF"
mkspool -C "$CONF"
ok $? "spool made on a 512 KiB filesystem"

head -c 2000000 /dev/zero | tr '\0' 'x' | fold -w 70 > "$T/big"
enqueue -C "$CONF" -f s@test.example a@test.example < "$T/big" > /dev/null 2> "$T/err"
is $? 111 "a message larger than the free space: temporary failure"
check "the reason names the failure" grep -q 'No space left on device' "$T/err"
is "$(count_tmp)/$(count_entries)" "0/0" "nothing left behind"

# fill what remains, then even a small message cannot be written
dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null
printf 'Subject: small\n\nbody\n' > "$T/small.msg"
enqueue -C "$CONF" -f s@test.example a@test.example < "$T/small.msg" > /dev/null 2>&1
is $? 111 "a full filesystem: temporary failure"
is "$(count_tmp)/$(count_entries)" "0/0" "still nothing left behind"

rm -f "$T/small/filler"
id=$(enqueue -C "$CONF" -f s@test.example a@test.example < "$T/small.msg")
ok $? "with room again, enqueue works"
is "$(count_entries)" 1 "and the message is committed"
done_testing
