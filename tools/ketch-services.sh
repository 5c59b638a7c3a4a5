#!/bin/sh
# ISC license: see LICENSE.
#
# ketch-services: make the s6 service directories of a ketch instance
# from its configuration: DIR/smtp-listen and DIR/scheduler, each with
# run, notification-fd and log/run (s6-log, or ketch-log for syslog or
# JSON: ketch.conf's log and log-format). The same directories run
# under runit: runsv ignores notification-fd, and the run scripts pass
# -d 3 only when descriptor 3 is open (s6-supervise opens it).
# Idempotent: rewrites the scripts, never touches supervise/ or down.
# -t systemd: DIR/ketch.service instead, a unit that makes those
# directories in /run at each start and runs s6-svscan over them.
# See ketch-services(8).

set -eu
PROG=ketch-services
usage () { echo "$PROG: usage: $PROG [ -t s6|systemd ] [ -C conf ] [ -l logdir ] [ -s syslog-socket ] [ -u loguser ] [ -U user ] dir" >&2 ; exit 100 ; }
fatal () { echo "$PROG: fatal: $*" >&2 ; exit "${rc:-111}" ; }

conf=${KETCH_CONF:-/etc/ketch/ketch.conf}
logdir=/var/log/ketch
loguser=
runuser=
syslogsock=/dev/log
type=s6
while getopts t:C:l:s:u:U: opt ; do
  case $opt in
    t) case $OPTARG in s6|systemd) type=$OPTARG ;; *) usage ;; esac ;;
    C) conf=$OPTARG ;;
    l) logdir=$OPTARG ;;
    s) syslogsock=$OPTARG ;;
    u) loguser=$OPTARG ;;
    U) runuser=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || usage
dir=$1

abs () { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac ; }
conf=$(abs "$conf")
logdir=$(abs "$logdir")
dir=$(abs "$dir")
syslogsock=$(abs "$syslogsock")

# single quotes for sh: the paths come from the operator, but a path with
# a quote or a blank must still reach the program as one argument
q () { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ; }

# conf-check next to this script (an installed or a build tree), else $PATH
here=$(cd "$(dirname "$0")" && pwd)
check=$here/conf-check
[ -x "$check" ] || check=conf-check

# write FILE MODE: stdin to FILE, atomically
write () {
  cat > "$1.tmp.$$" && chmod "$2" "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}

# systemd_unit: DIR/ketch.service, one unit running s6-svscan over the
# service directories, which ExecStartPre makes in /run from the
# configuration at each start (this program, s6 mode: so the set of
# services follows the file). One unit, not one per daemon: each daemon
# keeps dropping its privileges itself (a boundary is a process
# boundary, as under s6), readiness stays s6's notification-fd, bridged
# by ExecStartPost (systemd deems the unit started only once s6-svwait
# -U saw every daemon ready), and the loggers stay s6-log. The
# configuration is not read here: a unit is made before it exists (a
# package build), and is checked at each start. ketch-services(8) says
# why each sandboxing line is there, and why NoNewPrivileges is not.
systemd_unit () {
  # the compiled-in programs directory and spool (an empty configuration)
  defaults=$("$check" -C /dev/null) || fatal "conf-check failed"
  programs=$(printf '%s\n' "$defaults" | sed -n 's/^programs //p' | sed 's/^"\(.*\)"$/\1/')
  spool=$(printf '%s\n' "$defaults" | sed -n 's/^spool //p' | sed 's/^"\(.*\)"$/\1/')
  # systemd splits Exec lines at blanks and expands % and $: refuse such paths
  for p in "$conf" "$logdir" "$syslogsock" "$programs" "$spool" $loguser $runuser ; do
    case $p in *[[:space:]%\$\\\'\"]*) rc=100 fatal "systemd unit: cannot quote $p" ;; esac
  done
  scan=/run/ketch-service
  opts="-C $conf -l $logdir${loguser:+ -u $loguser}${runuser:+ -U $runuser}"
  [ "$syslogsock" = /dev/log ] || opts="$opts -s $syslogsock"
  mkdir -p "$dir"
  write "$dir/ketch.service" 644 <<UNIT
# made by ketch-services -t systemd; see ketch-services(8)
[Unit]
Description=ketch mail transport agent (s6-svscan over $scan)
Documentation=man:ketch-services(8) man:ketch-reload(8)
After=network.target

[Service]
Type=exec
RuntimeDirectory=ketch-service
RuntimeDirectoryMode=0755
# the service directories from the configuration (conf-check first)
ExecStartPre=$programs/ketch-services $opts $scan
ExecStart=/usr/bin/s6-svscan $scan
# started once every daemon has written its readiness line; s6-svwait
# needs the status file each s6-supervise writes as it starts ($\$ is $)
ExecStartPost=/bin/sh -c 'for s in $scan/*/ ; do n=0 ; until [ -e "\$\$s/supervise/status" ] ; do [ \$\$n -lt 300 ] || exit 1 ; n=\$\$((n + 1)) ; sleep 0.1 ; done ; done ; exec /usr/bin/s6-svwait -U -t 60000 $scan/*'
ExecReload=$programs/ketch-reload -C $conf $scan
# s6-svscan brings the daemons down on SIGTERM (the scheduler finishes
# the deliveries in flight); what is left after TimeoutStopSec is killed
KillMode=mixed
Restart=on-failure
# bind port 25, drop to the users, deliver as the recipients, signal the
# daemons that dropped, read the spool and chown /run/ketch as root
CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_KILL CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE
ProtectSystem=full
ReadWritePaths=-$spool -$logdir
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
RestrictNamespaces=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
UNIT
}

if [ "$type" = systemd ] ; then systemd_unit ; exit 0 ; fi

effective=$("$check" -C "$conf") || rc=100 fatal "the configuration $conf has errors"
programs=$(printf '%s\n' "$effective" | sed -n 's/^programs //p' | sed 's/^"\(.*\)"$/\1/')
[ -n "$programs" ] || fatal "no programs directory in $conf"
# conf-check prints log and log-format only when they are not the default
logdest=$(printf '%s\n' "$effective" | sed -n 's/^log //p')
logdest=${logdest:-s6}
logformat=$(printf '%s\n' "$effective" | sed -n 's/^log-format //p')
logformat=${logformat:-text}

# service NAME PROGRAM [OPTION]: one supervised daemon and its logger
service () {
  name=$1 prog=$2 opt=${3:+ $3}
  mkdir -p "$dir/$name/log" "$logdir"
  write "$dir/$name/run" 755 <<RUN
#!/bin/sh
# made by ketch-services from $conf
exec 2>&1
prog=$(q "$programs/$prog")
conf=$(q "$conf")
# readiness on descriptor 3 under s6; runit has no notification and no fd 3
if { true >&3 ; } 2>/dev/null ; then exec ${asuser}"\$prog"$opt -C "\$conf" -d 3 ; fi
exec ${asuser}"\$prog"$opt -C "\$conf"
RUN
  echo 3 | write "$dir/$name/notification-fd" 644
  if [ -n "$loguser" ] ; then
    chown "$loguser" "$logdir" 2>/dev/null || true
    mkdir -p "$logdir/$name" && chown "$loguser" "$logdir/$name"
    setuid="s6-setuidgid $(q "$loguser") "
  else setuid= ; fi
  logrun "$name"
}

# logrun NAME: NAME/log/run, the logger that ketch.conf's log and
# log-format choose (ketch.conf(5)); the daemon's run script is the same
# whatever the logger
logrun () {
  klog="${setuid}$(q "$programs/ketch-log")"
  case $logdest,$logformat in
    s6,text) how="one line per event, ISO 8601 time first; 20 files of 1 MB (see LOGS.md)"
      cmd="${setuid}s6-log -b n20 s1000000 T $(q "$logdir/$1")" ;;
    s6,json) how="one JSON object per event, its time inside; 20 files of 1 MB (see LOGS.md)"
      cmd="$klog -j -t $1 s6-log -b n20 s1000000 $(q "$logdir/$1")" ;;
    syslog,text) how="each line to syslog, facility mail, tag $1 (see ketch-log(8))"
      cmd="$klog -s $(q "$syslogsock") -t $1" ;;
    syslog,json) how="each line to syslog as a JSON object, facility mail, tag $1 (see ketch-log(8))"
      cmd="$klog -j -s $(q "$syslogsock") -t $1" ;;
    *) fatal "unknown log $logdest or log-format $logformat" ;;
  esac
  write "$dir/$1/log/run" 755 <<RUN
#!/bin/sh
# $how
exec $cmd
RUN
}

# -U: the whole service runs as that user (a single-user instance started by root)
if [ -n "$runuser" ] ; then asuser="s6-setuidgid $(q "$runuser") " ; else asuser= ; fi

mkdir -p "$dir"
if printf '%s\n' "$effective" | grep -q '^listen ' ; then
  # -f: forked sessions that serve client after client, the measured
  # configuration of README's figures; smtp-listen(8) weighs it
  service smtp-listen smtp-listen -f
else
  echo "$PROG: warning: no listen line in $conf: no smtp-listen service" >&2
  rm -rf "$dir/smtp-listen"
fi
service scheduler scheduler
if printf '%s\n' "$effective" | grep -q '^enqueue-socket ' ; then
  service enqueue-listen enqueue-listen
else
  rm -rf "$dir/enqueue-listen"
fi
# TLS-RPT's reports (conf-check prints tlsrpt-period only when it is not 0)
if printf '%s\n' "$effective" | grep -q '^tlsrpt-period ' ; then
  service tlsrpt-send tlsrpt-send
else
  rm -rf "$dir/tlsrpt-send"
fi
