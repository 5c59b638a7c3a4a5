# ISC license: see LICENSE.
# Whole instances for the end-to-end tests (after lib.sh and remote-lib.sh):
# smtp-listen and the scheduler of one configuration, their PIDs killed at
# exit (remote-lib's $pids), their logs beside the configuration.

# run_instance CONF: starts smtp-listen (when CONF has a listen line) and
# the scheduler, waits for both to be ready; 0 when they are
run_instance () {
  _c=$1 ; _d=$(dirname "$1") ; _r=0
  if grep -q '^listen' "$_c" ; then
    rm -f "$_d/listen.ready"
    # KETCH_LISTEN_FLAGS=-f: the sessions in reused forked processes (as smtp-lib.sh's start_listen)
    smtp-listen -C "$_c" -d 3 ${KETCH_LISTEN_FLAGS:-} 3>"$_d/listen.ready" 2>>"$_d/listen.log" &
    pids="$pids $!"
    wait_for 10 test -s "$_d/listen.ready" || { diag "smtp-listen $_c: $(tail -n 3 "$_d/listen.log")" ; _r=1 ; }
  fi
  rm -f "$_d/sched.ready"
  scheduler -C "$_c" -d 3 3>"$_d/sched.ready" 2>>"$_d/sched.log" &
  pids="$pids $!"
  wait_for 10 test -s "$_d/sched.ready" || { diag "scheduler $_c: $(tail -n 3 "$_d/sched.log")" ; _r=1 ; }
  return $_r
}

# new_in DIR: the name of the one file in DIR, once there is one (10 s)
one_file () { [ "$(ls "$1" 2>/dev/null | wc -l)" -ge 1 ] ; }
new_in () {
  wait_for 10 one_file "$1" || return 1
  echo "$1/$(ls "$1" | head -n 1)"
}

# ends_with FILE MSG: FILE ends with the bytes of MSG (a message delivered
# byte for byte after the headers that were added in front)
ends_with () {
  _n=$(wc -c < "$2")
  tail -c "$_n" "$1" | cmp -s - "$2"
}

# smtp_send PORT FROM TO MSGFILE [starttls]: one message over SMTP, the
# body dot-stuffed with CRLF line ends; prints the reply code to the final dot
smtp_send () {
  python3 -c "
import sys; sys.path.insert(0, '$top/t')
from smtptest import Conn
port, frm, to, fn = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = Conn(port); c.reply()
c.cmd(b'EHLO client.test')
if len(sys.argv) > 5:
    c.cmd(b'STARTTLS'); c.wrap(); c.cmd(b'EHLO client.test')
body = open(fn, 'rb').read()
lines = body.split(b'\n')
if lines and lines[-1] == b'': lines.pop()
data = b''.join((b'.' + l if l.startswith(b'.') else l) + b'\r\n' for l in lines) + b'.\r\n'
r = [c.code(b'MAIL FROM:<' + frm.encode() + b'> BODY=8BITMIME'), c.code(b'RCPT TO:<' + to.encode() + b'>'), c.code(b'DATA')]
c.send(data); r.append(c.reply()[0]); c.cmd(b'QUIT')
print(' '.join(str(x) for x in r))
" "$@"
}
