#!/bin/sh
# ISC license: see LICENSE.
#
# ketch-instance: an embedded ketch instance in one directory, owned by
# the invoking user: DIR/ketch.conf (listen 127.0.0.1 port 2525, spool,
# Maildirs and logs inside DIR, programs from the directory of this
# script), DIR/spool, DIR/service (s6 or runit), DIR/log.
#
#   ketch-instance setup DIR   make or repair it, then exit
#   ketch-instance run DIR     the same, then exec s6-svscan DIR/service in
#                              the foreground; Ctrl-C (SIGINT) stops the
#                              daemons, drains the loggers and exits
#
# Idempotent: an existing ketch.conf is kept (edit it freely) and the rest
# is repaired from it. `make run` calls it with DIR=./instance.

set -eu
PROG=ketch-instance
usage () { echo "$PROG: usage: $PROG setup|run dir" >&2 ; exit 100 ; }
fatal () { echo "$PROG: fatal: $*" >&2 ; exit 111 ; }

[ $# = 2 ] || usage
action=$1
case $action in setup|run) ;; *) usage ;; esac
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bin=$(cd "$(dirname "$0")" && pwd)
conf=$dir/ketch.conf
port=${KETCH_PORT:-2525}

if [ ! -e "$conf" ] ; then
  cat > "$conf.tmp" <<CONF
# An embedded ketch instance, made by ketch-instance; edit freely, then
# check with: $bin/conf-check -C $conf
# Mail for $(id -un)@localhost lands in $dir/Maildir/$(id -un)/new.
listen 127.0.0.1 port $port
spool $dir/spool
programs $bin
local-domain localhost
deliver maildir $dir/Maildir/%u
CONF
  mv "$conf.tmp" "$conf"
  echo "$PROG: info: created $conf" >&2
fi

"$bin/conf-check" -q -C "$conf" || { echo "$PROG: fatal: fix $conf first" >&2 ; exit 100 ; }
mkdir -p "$dir/Maildir" "$dir/log"
"$bin/mkspool" -C "$conf"
"$bin/ketch-services" -C "$conf" -l "$dir/log" "$dir/service"

[ "$action" = run ] || exit 0
for p in smtp-listen scheduler ; do
  [ -x "$bin/$p" ] || echo "$PROG: warning: $bin/$p is not built yet: its service will fail and be retried" >&2
done
command -v s6-svscan >/dev/null || fatal "s6-svscan not found: install s6"
echo "$PROG: info: running $dir (SMTP on 127.0.0.1:$port, logs in $dir/log); Ctrl-C stops it" >&2
# s6-svscan: SIGINT and SIGTERM bring every service down, the loggers
# drain, then it exits
exec s6-svscan "$dir/service"
