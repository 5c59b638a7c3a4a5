#!/bin/sh
# ISC license: see LICENSE.
# log syslog (issue 23, point 3): the loggers that ketch-services makes
# send every line to a syslog socket through ketch-log, facility mail,
# tagged with the service's name; a private rsyslogd (its own
# configuration, its socket under $T) writes them to mail.log as
# Debian's does. A message sent over SMTP and delivered: its session's
# and its delivery's lines are in mail.log with the same key=value text
# the s6-log files have, and a warning has severity warning.
. "$(dirname "$0")/lib.sh"
. "$top/t/instance-lib.sh"
. "$top/t/syslog-lib.sh"

plan 10
need s6-svscan s6
need rsyslogd rsyslog
need swaks swaks

start_rsyslog || bail "rsyslogd did not start: $(cat "$T/rsyslog.err")"
start_syslog_instance || bail "the instance did not start: $(cat "$T/setup.err" "$T/services.err" "$T/svscan.log" 2>/dev/null)"

check "smtp-listen's logger is ketch-log to the test's socket" grep -q "ketch-log' -s '$T/log.sock' -t smtp-listen\$" "$SVC/smtp-listen/log/run"
check "the scheduler's too" grep -q "ketch-log' -s '$T/log.sock' -t scheduler\$" "$SVC/scheduler/log/run"

send_mail 1
wait_for 30 in_maildir 1
ok $? "the message is delivered" "$(cat "$T/swaks.1")"
id=$(sed -n 's/.*queued as \([0-9a-f]\{24\}\).*/\1/p' "$T/swaks.1" | head -1)
delivered () { grep -q " scheduler: $id delivery rcpt=\"$me@localhost\" result=ok " "$T/mail.log" ; }
wait_for 10 delivered
ok $? "mail.log: the scheduler's delivery line, tag scheduler, the key=value text as LOGS.md has it" "$(cat "$T/mail.log")"
sid=$(sed -n "s/.* smtp-listen: \([0-9a-f]\{24\}\) accepted id=$id .*/\1/p" "$T/mail.log")
case $sid in ?*) r=0 ;; *) r=1 ;; esac
ok $r "mail.log: smtp-listen's accepted line gives the session id ($sid)"
check "mail.log: the session's connect line, id first, ip= and port=" grep -qE " smtp-listen: $sid connect ip=127\.0\.0\.1 port=[0-9]+" "$T/mail.log"
check "facility mail, severity info, for the session's lines" grep -q "^mail\.info smtp-listen: $sid helo name=" "$T/all.log"
n=$(grep -E '^[a-z0-9]+\.[a-z]+ (smtp-listen|scheduler|enqueue-listen): ' "$T/all.log" | grep -vc '^mail\.')
is "$n" 0 "every record ketch sent has facility mail"
[ -e "$INST/log/smtp-listen/current" ] || [ -e "$INST/log/scheduler/current" ]
ok $((! $?)) "no s6-log files: the lines went to syslog only"

# a diagnostic: smtp-listen refuses a broken configuration on SIGHUP with a warning
cp "$INST/ketch.conf" "$T/conf.good"
echo "no-such-keyword" >> "$INST/ketch.conf"
s6-svc -h "$SVC/smtp-listen"
warned () { grep -q '^mail\.warning smtp-listen: smtp-listen: warning: ' "$T/all.log" ; }
wait_for 10 warned
ok $? "a strerr warning has severity warning" "$(cat "$T/all.log")"
cp "$T/conf.good" "$INST/ketch.conf"
done_testing
