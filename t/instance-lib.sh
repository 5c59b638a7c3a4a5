# ISC license: see LICENSE.
# Shared by t/instance.t (s6) and t/runit.t: an embedded instance made by
# ketch-instance in $T/inst on a free port, running the programs of the
# build. Source after lib.sh.

me=$(id -un)
PORT=$(free_port)
INST=$T/inst
SVC=$INST/service

mk_instance () {
  KETCH_PORT=$PORT "$BIN/ketch-instance" setup "$INST" 2>"$T/setup.err"
}

# send_mail: one message to the invoking user, over SMTP with swaks
send_mail () {
  swaks --server 127.0.0.1 --port "$PORT" --timeout 10 --from sender@example.org \
    --to "$me@localhost" --header "Subject: instance-test-$1" --body "hello $1" >"$T/swaks.$1" 2>&1
}

# in_maildir TAG: the message arrived in the instance's Maildir
in_maildir () { grep -rqs "instance-test-$1" "$INST/Maildir/$me/new" ; }
