# ISC license: see LICENSE.
# Shared by t/instance.t (s6) and t/runit.t: an embedded instance made by
# ketch-instance in $T/inst on a free port. When smtp-listen or scheduler
# is not built yet, stand-ins take their place so that the supervision
# (readiness, restart, logs, clean stop) is still tested, and the mail
# tests are skipped with a diagnostic. Source after lib.sh.

me=$(id -un)
PORT=$(free_port)
INST=$T/inst
REAL=1
for p in smtp-listen scheduler ; do [ -x "$BIN/$p" ] || REAL=0 ; done
if [ $REAL = 1 ] ; then
  PROGS=$BIN
else
  diag "build/bin/smtp-listen or build/bin/scheduler is missing: stand-ins run, mail tests are skipped"
  PROGS=$T/bin
  mkdir -p "$PROGS"
  for f in "$BIN"/* ; do ln -s "$f" "$PROGS/" ; done
  rm -f "$PROGS/smtp-listen" "$PROGS/scheduler"
  for p in smtp-listen scheduler ; do
    cat > "$PROGS/$p" <<'FAKE'
#!/bin/sh
# a stand-in daemon: logs, notifies readiness, waits
echo "$(basename "$0") stand-in args=$*" >&2
d=
while getopts C:d: o ; do case $o in d) d=$OPTARG ;; *) ;; esac ; done
echo "$(basename "$0") stand-in pid=$$ starting" >&2
[ -n "$d" ] && eval "echo >&$d ; exec $d>&-"
exec sleep 1000
FAKE
    chmod 755 "$PROGS/$p"
  done
fi
SVC=$INST/service

mk_instance () {
  KETCH_PORT=$PORT "$PROGS/ketch-instance" setup "$INST" 2>"$T/setup.err"
}

# send_mail: one message to the invoking user, over SMTP with swaks
send_mail () {
  swaks --server 127.0.0.1 --port "$PORT" --timeout 10 --from sender@example.org \
    --to "$me@localhost" --header "Subject: instance-test-$1" --body "hello $1" >"$T/swaks.$1" 2>&1
}

# in_maildir TAG: the message arrived in the instance's Maildir
in_maildir () { grep -rqs "instance-test-$1" "$INST/Maildir/$me/new" ; }
