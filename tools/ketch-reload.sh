#!/bin/sh
# ISC license: see LICENSE.
#
# ketch-reload: after a change of ketch.conf, make the running daemons
# read it again: conf-check first (a file that does not load would be
# ignored by every daemon, with only a warning in its log), then SIGHUP
# to each ketch service that ketch-services made in DIR: s6-svc -h, or
# sv hup for a service that runit supervises. Rebuilt tables need
# nothing. See ketch-reload(8) and ketch.conf(5), "When a change takes
# effect".

set -eu
PROG=ketch-reload
usage () { echo "$PROG: usage: $PROG [ -C conf ] dir" >&2 ; exit 100 ; }
fatal () { echo "$PROG: fatal: $*" >&2 ; exit "${rc:-111}" ; }

conf=${KETCH_CONF:-/etc/ketch/ketch.conf}
while getopts C: opt ; do
  case $opt in
    C) conf=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || usage
dir=$1

here=$(cd "$(dirname "$0")" && pwd)
check=$here/conf-check
[ -x "$check" ] || check=conf-check
"$check" -q -C "$conf" || rc=100 fatal "$conf has errors: nothing reloaded"

n=0
for s in smtp-listen scheduler enqueue-listen ; do
  [ -d "$dir/$s" ] || continue
  # runit's supervise directory has a stat file, s6's has none
  if [ -e "$dir/$s/supervise/stat" ] ; then sv hup "$dir/$s" >/dev/null || fatal "sv hup $dir/$s failed"
  else s6-svc -h "$dir/$s" || fatal "s6-svc -h $dir/$s failed" ; fi
  n=$((n + 1))
done
[ "$n" -gt 0 ] || rc=100 fatal "no ketch service in $dir"
