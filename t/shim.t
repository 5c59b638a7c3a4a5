#!/bin/sh
# The power-cut filesystem's rules (t/shim/powercutfs.c, issue 24), each
# proved by a writer in t/shim.py: unsynced data lost (or torn at a page
# boundary), a new file's name durable only with its directory's fsync,
# unsynced unlinks and renames undone, each half of a rename across
# directories on its own, mkdir needing its parent's fsync; and the check
# of t/powercut.t catches a Maildir writer that forgets one fsync.
. "$(dirname "$0")/lib.sh"
plan 28
[ "$(id -u)" = 0 ] || { missing 28 "a FUSE mount needs root here" ; exit 1 ; }
need fusermount3 fuse3
[ -x "$BUILD/t/powercutfs" ] || fail_rest "$BUILD/t/powercutfs not built (Debian package libfuse3-dev)"
[ -c /dev/fuse ] || fail_rest "no /dev/fuse"
chmod 755 "$T"
timeout 120 python3 "$top/t/shim.py" --fs "$BUILD/t/powercutfs" --dir "$T" > "$T/out" 2>"$T/err"
rc=$?
sed 's/^/# /' "$T/out"
[ -s "$T/err" ] && sed 's/^/# stderr: /' "$T/err" | head -20
[ -s "$T/fs.err" ] && sed 's/^/# powercutfs: /' "$T/fs.err" | head -5
# a mount left behind by a failure would keep $T busy
at_exit "fusermount3 -u -z '$T/mnt' 2>/dev/null"
val () { sed -n "s/^$1=//p" "$T/out" | head -1 ; }
is "$rc" 0 "the writers and the checks ran to the end"
is "$(val clean-unmount)" 0 "a clean unmount exits 0"
is "$(val clean-kept)" 1 "after a clean unmount everything is kept"
is "$(val cut)" 0 "SIGUSR1 cuts the power: the filesystem exits 0"
is "$(val data)" old "data written and never synced is lost"
is "$(val datasync)" new "data made durable by fdatasync is kept"
is "$(val newfile)" 0 "a new file fsynced, its directory not: gone"
is "$(val newfile-dir)" x "a new file fsynced, and its directory: kept"
is "$(val unlink)" kept "an unsynced unlink is undone, with the file's content"
is "$(val rename)" a "an unsynced rename is undone"
is "$(val rename-synced)" b "a rename whose directory was fsynced is kept"
is "$(val xsrc)" 00 "rename across directories, only the source fsynced: neither name"
is "$(val xdst)" 11 "rename across directories, only the target fsynced: both names"
is "$(val xdst-links)" 2 "... one inode with two links"
is "$(val xboth)" 01 "rename across directories, both fsynced: the new name only"
is "$(val mkdir)" 0 "mkdir, its parent not fsynced: the directory is gone, with what it held"
is "$(val mkdir-synced)" "in d" "mkdir with its parent fsynced: kept, with its fsynced file"
is "$(val rmdir)" 1 "an unsynced rmdir is undone"
is "$(val attic-empty)" 1 "nothing is left in the attic after the cut"
is "$(val owner-uid)" 65534 "a file belongs to the uid that made it"
is "$(val nlink-after-rename)" 1 "the links kept for the cut are not counted in st_nlink"
is "$(val good-lost)" 0 "the Maildir writer that fsyncs new/: no acknowledged delivery lost"
is "$(val broken-lost)" 20 "the writer that forgets the fsync of new/: the check finds every delivery lost"
is "$(val remount-reads)" kept "a new mount serves the rewound files"
is "$(val remount-listing)" a "... and the rewound names"
is "$(val torn-lost)" 1 "without -t, five unsynced pages are lost whole"
is "$(val torn-forms)" ok "with -t, the file is the new content's first pages, then the old"
check "with -t, eight seeds tear at more than two places ($(val torn-kinds))" test "$(val torn-kinds)" -gt 2
done_testing
