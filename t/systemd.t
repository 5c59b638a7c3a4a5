#!/bin/sh
# ISC license: see LICENSE.
# ketch-services -t systemd: the unit passes systemd-analyze verify, has
# its sandboxing lines, names programs that exist, and wires reload to
# ketch-reload. systemd is not init here, so the unit's own command
# lines are then run in its order, each under the unit's capability
# bounding set (setpriv, as systemd applies CapabilityBoundingSet):
# the service directories made, s6-svscan started, readiness awaited,
# a message delivered into a user's Maildir, a reload, a stop.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (users, the bounding set)"
plan 20
need systemd-analyze systemd
need s6-svscan s6

Q=$(unused_user kq) D=$(unused_user kd) L=$(unused_user kl) R=$(unused_user kr)
at_exit "for u in $Q $D $L $R ; do userdel \$u >/dev/null 2>&1 ; done"
for u in $Q $D $L ; do useradd --system -M -d /nonexistent -s /usr/sbin/nologin "$u" || bail "useradd $u" ; done
useradd -M -d "$T/home/$R" -s /bin/false "$R" || bail "useradd $R"
mkdir -p "$T/home/$R" && chown "$R:" "$T/home/$R"

# the unit is made before the configuration exists (as a package build makes it)
ketch-services -t systemd -C "$T/ketch.conf" -l "$T/log" -u "$L" "$T/units" 2> "$T/gen.err"
ok $? "ketch-services -t systemd makes a unit without a configuration" "$(cat "$T/gen.err")"
u=$T/units/ketch.service
check "the unit is DIR/ketch.service" test -s "$u"
check "no service directory beside it" sh -c "[ \"\$(ls '$T/units')\" = ketch.service ]"

# the programs directory it names is the compiled-in one (of an empty configuration)
programs=$(conf-check -C /dev/null | sed -n 's/^programs //p')
check "ExecStartPre and ExecReload name the compiled-in programs directory" \
  sh -c "grep -q '^ExecStartPre=$programs/ketch-services ' '$u' && grep -q '^ExecReload=$programs/ketch-reload -C $T/ketch.conf /run/ketch-service\$' '$u'"
# here that directory is build/bin: the unit as an installed tree would run it
sed "s#$programs/#$BIN/#g" "$u" > "$T/ketch.service"
mkdir -p "$T/man/man8" && ln -s "$top"/tools/*.8 "$T/man/man8/"
MANPATH=$T/man systemd-analyze verify "$T/ketch.service" > "$T/verify" 2>&1
ok $? "systemd-analyze verify" "$(cat "$T/verify")"
check "systemd-analyze verify says nothing" test ! -s "$T/verify"
for line in ProtectSystem=full PrivateTmp=yes 'ReadWritePaths=-/var/spool/ketch -'"$T/log" RestrictSUIDSGID=yes ; do
  check "sandboxing: $line" grep -qxF "$line" "$u"
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$u")
check "sandboxing: capabilities bounded, none of the administrator's" sh -c "[ -n '$caps' ] && ! echo '$caps' | grep -Eq 'SYS_ADMIN|SYS_PTRACE|SYS_MODULE|NET_ADMIN|SETPCAP'"
# every program an Exec line starts exists, once the directory is build/bin
bad=
for x in $(sed -n 's/^Exec[A-Za-z]*=//p' "$T/ketch.service" | awk '{ print $1 }') ; do [ -x "$x" ] || bad="$bad $x" ; done
is "$bad" "" "every Exec line starts an existing program"

# The unit's command lines, /run/ketch-service moved into $T, under its bounding set
P=$(free_port)
printf 'queue-user %s\nsmtp-user %s\nspool %s\nprograms %s\nlisten 127.0.0.1 port %s\nlocal-domain test.example\n' \
  "$Q" "$D" "$T/spool" "$BIN" "$P" > "$T/ketch.conf"
mkspool -C "$T/ketch.conf" || bail "mkspool"
chmod 755 "$T"
bset=$(printf '%s\n' $caps | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | tr '\n' ',' | sed 's/,$//')
# systemd turns $$ into $ in command lines
cmd () { sed -n "s/^$1=//p" "$T/ketch.service" | sed -e "s#/run/ketch-service#$T/scan#g" -e 's/\$\$/$/g' ; }
run () { setpriv --bounding-set "-all,$bset" sh -c "$1" ; }
mkdir -p "$T/scan"
run "$(cmd ExecStartPre)" > "$T/pre.log" 2>&1
ok $? "ExecStartPre makes the service directories" "$(cat "$T/pre.log")"
setpriv --bounding-set "-all,$bset" sh -c "exec $(cmd ExecStart)" > "$T/svscan.log" 2>&1 &
svpid=$!
at_exit "kill $svpid 2>/dev/null ; s6-svscanctl -t '$T/scan' 2>/dev/null"
run "$(cmd ExecStartPost)" > "$T/post.log" 2>&1
ok $? "ExecStartPost returns once every daemon is ready" "$(cat "$T/post.log")"
# no wait: readiness means smtp-listen has bound its port already
check "smtp-listen accepts as soon as the unit counts as started" port_open 127.0.0.1 "$P"
printf 'Subject: under the bounding set\n\nhello\n' | setpriv --reuid="$Q" --regid="$Q" --clear-groups enqueue -C "$T/ketch.conf" -f s@remote.example "$R@test.example" >/dev/null
check "a message delivered into the recipient's Maildir, as the recipient" \
  sh -c "wait_ok () { n=0 ; while [ \$n -lt 200 ] ; do f=\$(ls '$T/home/$R/Maildir/new/' 2>/dev/null | head -n 1) ; [ -n \"\$f\" ] && [ \"\$(stat -c %U '$T/home/$R/Maildir/new/'\$f)\" = '$R' ] && return 0 ; sleep 0.05 ; n=\$((n + 1)) ; done ; return 1 ; } ; wait_ok"
run "$(cmd ExecReload)" > "$T/reload.log" 2>&1
ok $? "ExecReload runs ketch-reload" "$(cat "$T/reload.log")"
check "the scheduler re-read the configuration" wait_for 10 grep -q 'reload result=ok' "$T/log/scheduler/current"
kill -TERM $svpid
gone () { ! kill -0 $svpid 2>/dev/null ; }
check "SIGTERM to s6-svscan (KillMode=mixed) brings the service down" wait_for 20 gone
# the daemons' command lines name the configuration ([-]: not this pgrep's own)
nodaemon () { ! pgrep -f "[-]C $T/ketch.conf" ; }
check "no daemon left running" wait_for 10 nodaemon
done_testing
