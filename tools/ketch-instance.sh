#!/bin/sh
# ISC license: see LICENSE.
#
# ketch-instance: an embedded ketch instance in one directory, owned by
# the invoking user: DIR/ketch.conf (listen 127.0.0.1 port 2525, spool,
# Maildirs and logs inside DIR, programs from the directory of this
# script), DIR/spool, DIR/service (s6 or runit), DIR/log.
#
#   ketch-instance setup DIR   make or repair it, then exit
#   ketch-instance run DIR     the same, then run s6-svscan DIR/service
#                              until Ctrl-C (SIGINT to the process group),
#                              SIGTERM or SIGHUP: the daemons stop, the
#                              loggers drain, then it exits
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

# Started by root, the instance runs as the unprivileged user ketch (made
# if missing), a single-user instance as for any other user: ketch never
# runs a network daemon or writes a mailbox as root.
owner=$(id -un)
queueline=
if [ "$(id -u)" = 0 ] ; then
  owner=${KETCH_INSTANCE_USER:-ketch}
  if ! id -u "$owner" >/dev/null 2>&1 ; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$owner" \
      || fatal "cannot create the user $owner for the instance"
    echo "$PROG: info: created the system user $owner to run the instance" >&2
  fi
  queueline="queue-user $owner"
fi
me=$(id -un)
if [ "$owner" != "$me" ] ; then
  for d in "$dir" "$bin" ; do
    s6-setuidgid "$owner" test -x "$d" 2>/dev/null \
      || fatal "the user $owner cannot reach $d (a parent directory is private, as /root is): put the clone or the instance elsewhere (make run INSTANCE=/srv/ketch)"
  done
fi

# a Unix socket path holds 107 octets at most: a deeper instance spawns enqueue per message
sockline=
[ ${#dir} -le 95 ] && sockline="enqueue-socket $dir/run/enqueue"
if [ ! -e "$conf" ] ; then
  cat > "$conf.tmp" <<CONF
# An embedded ketch instance, made by ketch-instance; edit freely, then
# check with: $bin/conf-check -C $conf
# Mail for $me@localhost lands in $dir/Maildir/$me/new.
listen 127.0.0.1 port $port
spool $dir/spool
programs $bin
local-domain localhost
deliver maildir $dir/Maildir/%u
$sockline
$queueline
CONF
  mv "$conf.tmp" "$conf"
  echo "$PROG: info: created $conf" >&2
fi

"$bin/conf-check" -q -C "$conf" || { echo "$PROG: fatal: fix $conf first" >&2 ; exit 100 ; }
mkdir -p "$dir/Maildir" "$dir/log" "$dir/run"
"$bin/mkspool" -C "$conf"
if [ "$owner" != "$me" ] ; then
  chown "$owner" "$dir/Maildir" "$dir/log" "$dir/run"
  "$bin/ketch-services" -C "$conf" -l "$dir/log" -u "$owner" -U "$owner" "$dir/service"
else
  "$bin/ketch-services" -C "$conf" -l "$dir/log" "$dir/service"
fi

[ "$action" = run ] || exit 0
for p in smtp-listen scheduler ; do
  [ -x "$bin/$p" ] || echo "$PROG: warning: $bin/$p is not built yet: its service will fail and be retried" >&2
done
command -v s6-svscan >/dev/null || fatal "s6-svscan not found: install s6"
command -v execlineb >/dev/null || fatal "execlineb not found: install execline"
echo "$PROG: info: running $dir (SMTP on 127.0.0.1:$port, logs in $dir/log); Ctrl-C stops it" >&2
# A terminal's Ctrl-C goes to the whole foreground process group: had
# s6-svscan's s6-supervise processes been in it, they would pass the
# SIGINT on to the loggers, which die with their files unfinished (@...u
# at the next start). So s6-svscan runs in a session of its own and
# execline's trap stays in the foreground: SIGINT, SIGTERM or SIGHUP
# becomes s6-svscanctl -t (the daemons get SIGTERM, the loggers drain to
# the end of their input), and trap exits with s6-svscan. trap catches
# the signals even when they were ignored at our start (a script's
# background job), where a shell's trap could not.
exec execlineb -Ws1 -c '
  trap -x {
    SIGINT { s6-svscanctl -t $1 }
    SIGTERM { s6-svscanctl -t $1 }
    SIGHUP { s6-svscanctl -t $1 }
  }
  s6-setsid -- s6-svscan $1' "$dir/service"
