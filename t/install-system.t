#!/bin/sh
# ISC license: see LICENSE.
# INSTALL's system install, as root, in a scratch root: the commands of
# "Installing ketch as the system MTA on Debian" are taken from INSTALL
# and run with their paths moved under $R and other user names; then the
# owners and modes are checked, s6-svscan runs the service directory as
# INSTALL's systemd unit does, sendmail (as an unprivileged user, through
# the set-uid enqueue) and SMTP (through smtp-listen, dropped to the
# session user) both deliver into the Maildir of root's alias, and the
# dpkg-divert commands run against a scratch dpkg database.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (users, set-uid, chown)"
command -v s6-svscan >/dev/null 2>&1 || skip_all "s6 is not installed"
plan 23

R=$T/root
Q=$(unused_user kq) D=$(unused_user kd) L=$(unused_user kl) A=$(unused_user ka)
at_exit "for u in $Q $D $L $A ; do userdel \$u >/dev/null 2>&1 ; done"
mkdir -p "$T/home/$A"
useradd -M -d "$T/home/$A" -s /bin/false "$A" && chown "$A" "$T/home/$A"
ok $? "a user for root's mail"

# the programs, with the directories of the scratch root compiled in
make -s -j2 -C "$top" B="$T/build" PREFIX="$R/usr/local" SYSCONFDIR="$R/etc/ketch" install > "$T/make.log" 2>&1
ok $? "make install PREFIX=\$R/usr/local SYSCONFDIR=\$R/etc/ketch" || sed 's/^/# /' "$T/make.log" | tail -n 20

# INSTALL's commands from its system section, up to "Starting it at boot"
P=$(free_port)
awk '/^Installing ketch as the system MTA on Debian/{p=1} /^Starting it at boot/{p=0} p && /^    [^ ]/' "$top/INSTALL" | sed 's/^    //' > "$T/install.cmds"
check "INSTALL has system install commands" test "$(wc -l < "$T/install.cmds")" -ge 10
# paths first, through placeholders (the scratch root's path may hold "ketch"),
# then the users where they stand as words, then the loopback port
sed -e 's#/usr/local#@P@#g; s#/etc/ketch#@E@#g; s#/var/spool/ketch#@S@#g; s#/var/log/ketch#@L@#g' \
    -e "s#\\(^\\|[ :]\\)ketchlog\\([ :\\\\]\\|\$\\)#\\1$L\\2#g; s#\\(^\\|[ :]\\)ketchd\\([ :\\\\]\\|\$\\)#\\1$D\\2#g" \
    -e "s#\\(^\\|[ :]\\)ketch\\([ :\\\\]\\|\$\\)#\\1$Q\\2#g; s#\\(^\\|[ :]\\)ketch\\([ :\\\\]\\|\$\\)#\\1$Q\\2#g" \
    -e "s#\\balice\\b#$A#g; s#listen 127.0.0.1\\\\n#listen 127.0.0.1 port $P\\\\n#" \
    -e "s#@P@#$R/usr/local#g; s#@E@#$R/etc/ketch#g; s#@S@#$R/var/spool/ketch#g; s#@L@#$R/var/log/ketch#g" \
    "$T/install.cmds" > "$T/install.sh"
mkdir -p "$R/var/spool" "$R/var/log"
# a system path left in them would change this machine: then they do not
# run (grep's 1 is "none found"; 0, a match, and 2, an error, both fail)
grep -E "(^|[ '=])/(etc/ketch|var/spool/ketch|var/log/ketch|usr/local|etc/service|etc/systemd)" "$T/install.sh" >&2
r=$?
[ $r = 1 ] ; ok $? "the commands name none of ketch's system paths once moved"
[ $r = 1 ] || bail "INSTALL's commands would touch the system"
sh -ex "$T/install.sh" > "$T/install.log" 2>&1
ok $? "INSTALL's commands run" || sed 's/^/# /' "$T/install.log" | tail -n 20

perm () { stat -c '%a %U' "$1" ; }
is "$(perm "$R/usr/local/libexec/ketch/enqueue")" "4711 $Q" "enqueue: set-uid to the queue owner, mode 4711"
is "$(perm "$R/var/spool/ketch")" "750 $Q" "the spool: 0750, the queue owner"
is "$(perm "$R/var/spool/ketch/queue")" "700 $Q" "spool/queue: 0700, the queue owner"
is "$(perm "$R/etc/ketch/ketch.conf")" "644 root" "the configuration: 0644 root"
check "the aliases are compiled" test -s "$R/etc/ketch/aliases.cdb"
check "service directories for smtp-listen and the scheduler" test -x "$R/etc/ketch/service/smtp-listen/run" -a -x "$R/etc/ketch/service/scheduler/run" -a -x "$R/etc/ketch/service/scheduler/log/run"
is "$(stat -c %U "$R/var/log/ketch/scheduler")" "$L" "the log directories belong to the logger"

# s6-svscan as INSTALL's unit runs it
exe=$(sed -n 's/.*ExecStart=\([^\\]*\)\\n.*/\1/p' "$top/INSTALL" | sed "s#/etc/ketch#$R/etc/ketch#")
case $exe in "/usr/bin/s6-svscan $R/etc/ketch/service") r=0 ;; *) r=1 ;; esac
ok $r "INSTALL's unit runs s6-svscan on the service directory"
s6-svscan "$R/etc/ketch/service" > "$T/svscan.log" 2>&1 &
svpid=$!
at_exit "s6-svscanctl -t '$R/etc/ketch/service' 2>/dev/null ; _n=0 ; while kill -0 $svpid 2>/dev/null && [ \$_n -lt 100 ] ; do sleep 0.1 ; _n=\$((_n + 1)) ; done ; kill $svpid 2>/dev/null"
check "smtp-listen listens on the configured port" wait_for 10 port_open 127.0.0.1 "$P"
ready () { s6-svstat -r "$R/etc/ketch/service/scheduler" 2>/dev/null | grep -q ready ; }
wait_for 10 ready

# sendmail as an unprivileged user: the set-uid enqueue writes as the queue owner
printf 'Subject: from nobody\n\nvia sendmail\n' | setpriv --reuid=nobody --regid=nogroup --clear-groups "$R/usr/local/sbin/sendmail" root
ok $? "sendmail run by nobody queues (set-uid enqueue)"
# SMTP: smtp-listen dropped to the session user
swaks --server 127.0.0.1 --port "$P" --timeout 10 --from someone@example.org --to root@localhost \
  --header 'Subject: over smtp' --body 'via smtp' > "$T/swaks" 2>&1
ok $? "a message over SMTP to root@localhost" "$(cat "$T/swaks")"
two () { [ "$(ls "$T/home/$A/Maildir/new" 2>/dev/null | wc -l)" = 2 ] ; }
check "both arrive in the Maildir of root's alias" wait_for 15 two
check "delivered files belong to the recipient" sh -c "[ \"\$(stat -c %U '$T/home/$A/Maildir/new/'* | sort -u)\" = '$A' ]"
# by uid: ps shortens long user names
sess () { ps -o uid= -C smtp-listen | tr -d ' ' | grep -qx "$(id -u "$D")" ; }
check "smtp-listen runs as the session user" sess

# the dpkg-divert commands, against a scratch dpkg database
DR=$T/droot
mkdir -p "$DR/var/lib/dpkg/info" "$DR/var/lib/dpkg/updates" "$DR/usr/sbin" "$DR/usr/lib" "$DR/usr/bin"
touch "$DR/var/lib/dpkg/status"
echo exim > "$DR/usr/sbin/sendmail" ; ln -s ../sbin/sendmail "$DR/usr/lib/sendmail"
grep '^    for f in .* dpkg-divert --local --rename --divert .* --add' "$top/INSTALL" | sed 's/^    //; s/dpkg-divert /dpkg-divert --root="$DR" /' > "$T/divert.sh"
DR=$DR sh -e "$T/divert.sh" > "$T/divert.log" 2>&1
ok $? "INSTALL's dpkg-divert command runs" || sed 's/^/# /' "$T/divert.log"
check "the old sendmail is diverted aside, the name free for ketch's" sh -c "test -f '$DR/usr/sbin/sendmail.before-ketch' && test ! -e '$DR/usr/sbin/sendmail' && dpkg-divert --root='$DR' --list | grep -q 'local diversion of /usr/sbin/sendmail to /usr/sbin/sendmail.before-ketch'"
# and back: INSTALL's loop that removes the diversions (ketch's links first)
ln -s /usr/local/sbin/sendmail "$DR/usr/sbin/sendmail"
grep '^    for f in .* dpkg-divert --local --rename --remove' "$top/INSTALL" | sed 's/^    //; s/dpkg-divert /dpkg-divert --root="$DR" /; s#rm -f "\$f"#rm -f "$DR$f"#' > "$T/undivert.sh"
# never run it unless every removal points into the scratch root
if grep -q 'rm -f "$DR$f"' "$T/undivert.sh" && ! grep -q 'rm -f "$f"' "$T/undivert.sh" ; then
  DR=$DR sh -e "$T/undivert.sh" > "$T/undivert.log" 2>&1
  ok $? "INSTALL's command to go back runs" || sed 's/^/# /' "$T/undivert.log"
else
  ok 1 "INSTALL's command to go back has the expected form" ; diag "$(cat "$T/undivert.sh")"
fi
check "the old sendmail is back, no diversion left" sh -c "test \"\$(cat '$DR/usr/sbin/sendmail')\" = exim && test -z \"\$(dpkg-divert --root='$DR' --list)\""
done_testing
