# ISC license: see LICENSE.
# Helpers for the smtp-*.t tests; source after t/lib.sh.

PY=/usr/bin/python3
PYLIB="import sys; sys.path.insert(0, '$top/t'); from smtptest import *"

# py SCRIPT: run python with smtptest loaded; prints what the script prints
py () { "$PY" -c "$PYLIB
$1" ; }

# on failure, show the end of the server's log
at_exit 'if [ "$tap_failed" != 0 ] && [ -f "$T/smtp.log" ] ; then tail -n 30 "$T/smtp.log" | sed "s/^/# /" ; fi'

# start_listen [OPTIONS]: smtp-listen on $CONF, waits for readiness; sets LPID
start_listen () {
  rm -f "$T/ready"
  # KETCH_LISTEN_FLAGS=-f runs a test's sessions in reused forked processes
  smtp-listen -C "$CONF" -d 3 ${KETCH_LISTEN_FLAGS:-} "$@" 3>"$T/ready" 2>>"$T/smtp.log" &
  LPID=$!
  at_exit "kill $LPID 2>/dev/null"
  wait_for 5 test -s "$T/ready"
}

stop_listen () {
  kill "$LPID" 2>/dev/null
  _sl=0
  while kill -0 "$LPID" 2>/dev/null && [ $_sl -lt 100 ] ; do sleep 0.05 ; _sl=$((_sl + 1)) ; done
}

# relay_session SUBJECT: one transaction for b@remote.example on $PORT;
# prints the reply codes (greeting, EHLO, MAIL, RCPT, DATA, end of data, QUIT)
relay_session () {
  py "
try:
  c = Conn($PORT, timeout=5)
  r = [c.reply()[0], codes(c, [b'EHLO client.example', b'MAIL FROM:<a@client.example>', b'RCPT TO:<b@remote.example>', b'DATA'])]
  c.send(b'Subject: $1\\r\\n\\r\\nbody\\r\\n.\\r\\n')
  r.append(c.reply()[0])
  r.append(c.code(b'QUIT'))
  print(' '.join(str(x) for x in r))
except Exception as e:
  print('error', type(e).__name__)
"
}

# queued_files: paths of the committed messages
queued_files () { find "$SPOOL/queue" -type f | sort ; }
