#!/bin/sh
# make install PREFIX=... DESTDIR=...: programs in PREFIX/libexec/ketch,
# operator commands in PREFIX/sbin, man pages, and the compiled-in
# programs directory follows PREFIX.
. "$(dirname "$0")/lib.sh"
plan 9
make -s -C "$top" B="$T/build" PREFIX=/opt/ketch DESTDIR="$T/root" install > "$T/make.log" 2>&1
ok $? "make install into a DESTDIR"
check "enqueue in PREFIX/libexec/ketch" test -x "$T/root/opt/ketch/libexec/ketch/enqueue"
is "$(readlink "$T/root/opt/ketch/sbin/queue-ls")" /opt/ketch/libexec/ketch/queue-ls "queue-ls linked into PREFIX/sbin"
check "man pages installed" test -f "$T/root/opt/ketch/share/man/man8/enqueue.8"
check "ketch(7), the overview, installed" test -f "$T/root/opt/ketch/share/man/man7/ketch.7"
# man mailq finds sendmail(8), where mailq is documented
check "man mailq: mailq.8 is sendmail.8" sh -c "grep -q '^\.Nm mailq' '$T/root/opt/ketch/share/man/man8/mailq.8'"
check "installed programs need only the C library" sh -c "! ldd '$T/root/opt/ketch/libexec/ketch/enqueue' | grep -Eq 'skarnet|bearssl'"
check "hardened: PIE and full RELRO" sh -c "readelf -hd '$T/root/opt/ketch/libexec/ketch/enqueue' | grep -q 'DYN' && readelf -d '$T/root/opt/ketch/libexec/ketch/enqueue' | grep -q 'BIND_NOW'"
check "the default programs directory is PREFIX/libexec/ketch" grep -q /opt/ketch/libexec/ketch "$T/root/opt/ketch/libexec/ketch/enqueue"
done_testing
