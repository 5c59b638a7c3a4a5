#!/bin/sh
# local-deliver on its own: Maildir creation and naming, mbox locking and
# quoting, truncation after a failed append (a full tmpfs: ENOSPC is
# temporary), the Delivered-To loop check, MDA exit codes, environment,
# timeout, and no shell anywhere.
. "$(dirname "$0")/lib.sh"
plan 17

LD=local-deliver
printf 'Subject: x\nDelivered-To: other@test.example\n\nFrom the top\n>From quoted\nlast line' > "$T/msg"

$LD s@x.example u@test.example u "$T" maildir "$T/a/b/Md" < "$T/msg" 2>/dev/null
ok $? "maildir: exit 0"
check "maildir: tmp new cur created (parents too)" test -d "$T/a/b/Md/tmp" -a -d "$T/a/b/Md/new" -a -d "$T/a/b/Md/cur"
f=$(ls "$T/a/b/Md/new")
case $f in [0-9]*.M[0-9]*P[0-9]*Q[0-9]*.*) r=0 ;; *) r=1 ;; esac
ok $r "maildir: unique name time.MusecPpidQn.host ($f)"
{ printf 'Return-Path: <s@x.example>\nDelivered-To: u@test.example\n' ; cat "$T/msg" ; } > "$T/want"
check "maildir: content is the message with two headers prepended" cmp -s "$T/a/b/Md/new/$f" "$T/want"

printf 'Delivered-To: U@Test.Example\n\nx\n' | $LD s@x.example u@test.example u "$T" maildir "$T/Md2" 2>/dev/null
is "$?" 100 "Delivered-To loop: permanent"
check "loop: nothing delivered" sh -c "! ls '$T/Md2/new'/* 2>/dev/null"
# the loop check reads the whole header, not only its first 8 KiB read
{ i=0 ; while [ $i -lt 200 ] ; do printf 'X-Filler-%03d: 0123456789012345678901234567890123456789\n' $i ; i=$((i+1)) ; done
  printf 'Delivered-To: u@test.example\n\nx\n' ; } | $LD s@x.example u@test.example u "$T" maildir "$T/Md3" 2>/dev/null
is "$?" 100 "Delivered-To loop after 10 KB of header: permanent"

$LD '' u@test.example u "$T" mbox "$T/mb" < "$T/msg" 2>/dev/null
check "mbox: From_ line for the null sender" grep -q '^From MAILER-DAEMON ' "$T/mb"
check "mbox: >From quoting (mboxrd)" sh -c "grep -q '^>From the top' '$T/mb' && grep -q '^>>From quoted' '$T/mb'"
check "mbox: a final newline and an empty line end the message" sh -c "tail -c 12 '$T/mb' | od -c | grep -q 'l   i   n   e  \\\\n  \\\\n'"
check "mbox: no lock left behind" sh -c "! test -e '$T/mb.lock'"

if [ "$(id -u)" = 0 ] && mkdir "$T/small" && mount -t tmpfs -o size=64k tmpfs "$T/small" 2>/dev/null ; then
  $LD s@x.example u@test.example u "$T" mbox "$T/small/box" < "$T/msg" 2>/dev/null
  size0=$(stat -c %s "$T/small/box")
  head -c 200000 /dev/zero | tr '\0' 'a' | fold -w 100 > "$T/big"
  $LD s@x.example u@test.example u "$T" mbox "$T/small/box" < "$T/big" 2>"$T/err"
  is "$?" 111 "full disk: temporary (111)"
  is "$(stat -c %s "$T/small/box")" "$size0" "full disk: the mbox is truncated back to its old size"
  umount "$T/small"
else
  skip 2 "needs root for a small tmpfs"
fi

printf '#!/bin/sh\nenv > "%s/env"\ncat > "%s/in"\nexit ${1:-0}\n' "$T" "$T" > "$T/mda" && chmod 755 "$T/mda"
$LD -e tag -o orig@test.example s@x.example u+tag@test.example u "$T" mda "$T/mda" 0 < "$T/msg" 2>/dev/null
check "mda: environment" sh -c "grep -qx 'RECIPIENT=u+tag@test.example' '$T/env' && grep -qx 'EXTENSION=tag' '$T/env' && grep -qx 'ORIGINAL_RECIPIENT=orig@test.example' '$T/env' && grep -qx 'SENDER=s@x.example' '$T/env' && grep -qx 'DOMAIN=test.example' '$T/env'"
codes=""
for c in 0 75 111 1 100 ; do $LD s@x.example u@test.example u "$T" mda "$T/mda" $c < "$T/msg" 2>/dev/null ; codes="$codes $?" ; done
is "$codes" " 0 111 111 100 100" "mda exit codes: 0 ok, 75 and 111 temporary, others permanent"
$LD -t 1 s@x.example u@test.example u "$T" mda /bin/sleep 10 < "$T/msg" 2>/dev/null
is "$?" 111 "mda timeout: killed, temporary"
$LD 's;touch pwned@x.example' 'u$(touch pwned)@test.example' u "$T" mda /bin/echo ';touch' "$T/pwned" < "$T/msg" >/dev/null 2>&1
check "metacharacters in sender, recipient and args run nothing" sh -c "! ls '$T'/pwned* 2>/dev/null"
done_testing
