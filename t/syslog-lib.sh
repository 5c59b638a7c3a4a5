# ISC license: see LICENSE.
# Shared by t/syslog.t and t/fail2ban.t: a private rsyslogd on a socket
# under $T, and an embedded instance (t/instance-lib.sh) whose loggers
# send to it (log syslog, ketch-services -s). Source after lib.sh and
# instance-lib.sh, after plan and need.
#   $T/mail.log: facility mail, rsyslog's traditional format (as Debian's
#                /var/log/mail.log)
#   $T/all.log:  every record, "FACILITY.SEVERITY TAG MSG"

# start_rsyslog: rsyslogd in the foreground of a background job, its
# socket $T/log.sock; 1 when it did not come up
start_rsyslog () {
  mkdir -p "$T/rsyslog"
  cat > "$T/rsyslog.conf" <<CONF
global(workDirectory="$T/rsyslog")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$T/log.sock" RateLimit.Interval="0")
template(name="fac" type="string" string="%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg%\n")
mail.* action(type="omfile" file="$T/mail.log" template="RSYSLOG_TraditionalFileFormat")
*.* action(type="omfile" file="$T/all.log" template="fac")
CONF
  rsyslogd -n -f "$T/rsyslog.conf" -i "$T/rsyslog.pid" >"$T/rsyslog.err" 2>&1 &
  rspid=$!
  at_exit "killpid TERM $rspid"
  wait_for 10 test -S "$T/log.sock"
}

# start_syslog_instance [CONF LINES...]: the instance, log syslog and the
# lines given appended, its services made again to send to $T/log.sock,
# under s6-svscan; 1 when it did not come up
start_syslog_instance () {
  mk_instance || return 1
  printf 'log syslog\n' >> "$INST/ketch.conf"
  for l in "$@" ; do printf '%s\n' "$l" >> "$INST/ketch.conf" ; done
  # as ketch-instance does: as root, the instance runs as its queue user
  _o=$(sed -n 's/^queue-user //p' "$INST/ketch.conf")
  "$BIN/ketch-services" -C "$INST/ketch.conf" -l "$INST/log" -s "$T/log.sock" ${_o:+-u "$_o" -U "$_o"} "$SVC" 2>"$T/services.err" || return 1
  s6-svscan "$SVC" >"$T/svscan.log" 2>&1 &
  svpid=$!
  at_exit "s6-svscanctl -t '$SVC' 2>/dev/null ; sleep 1 ; killpid TERM $svpid"
  wait_for 10 s6-svok "$SVC/scheduler" || return 1
  # s6-svwait fails at once on a service s6-svscan has not picked up yet
  wait_for 10 s6-svok "$SVC/smtp-listen" || return 1
  s6-svwait -U -t 15000 "$SVC/smtp-listen" "$SVC/scheduler" || return 1
  wait_for 10 port_open 127.0.0.1 "$PORT"
}
