# ISC license: see LICENSE.
# The setup of t/filter*.t: a scripted libmilter peer (t/milterpeer.py),
# an instance whose listeners run filters, and the helpers; source after
# t/lib.sh, t/smtp-lib.sh and plan. Listeners: PORT one filter (one);
# PORT2 two in order (one, two); PORT3 one that is down; PORT4 the same
# with on-failure accept; PORT5 one that speaks garbage; local-filter one.
"$PY" -c 'import Milter' 2>/dev/null || fail_rest "python3's Milter module is missing (Debian package python3-milter)"

cd "$T" || exit 1
at_exit 'if [ "$tap_failed" != 0 ] && [ -s "$T/peer.err" ] ; then tail -n 20 "$T/peer.err" | sed "s/^/# peer: /" ; fi'
PORT=$(free_port)
MPORT=$(free_port)
SCRIPT=$T/script
MLOG=$T/milter.log

# start_peer: the scripted filter on $MPORT, ready when it accepts connections
start_peer () {
  "$PY" "$top/t/milterpeer.py" "inet:$MPORT@127.0.0.1" "$SCRIPT" "$MLOG" 2>>"$T/peer.err" &
  PEER=$!
  at_exit "kill $PEER 2>/dev/null"
  wait_for 5 port_open 127.0.0.1 "$MPORT"
}

PORT2=$(free_port) ; PORT3=$(free_port) ; PORT4=$(free_port) ; PORT5=$(free_port)
MPORT2=$(free_port) ; DPORT=$(free_port) ; GPORT=$(free_port)
U=$(test_user kf) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
# PORT: one filter (and STARTTLS, AUTH as alice); PORT2: two in order; PORT3: one that is down; PORT4:
# the same with on-failure accept; PORT5: one that speaks garbage
need openssl openssl
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 2 -subj /CN=localhost >"$T/openssl.out" 2>&1 \
  || bail "openssl could not make a test certificate"
printf 'alice:%s\n' "$(echo 'correct horse' | ketch-passwd)" > "$T/auth"
mkinstance "listen 127.0.0.1 port $PORT starttls plain-auth filter one" "certificate $T/tls.crt key $T/tls.key" "auth-table $T/auth" "listen 127.0.0.1 port $PORT2 filter one filter two" \
  "listen 127.0.0.1 port $PORT3 filter down" "listen 127.0.0.1 port $PORT4 filter downok" "listen 127.0.0.1 port $PORT5 filter garbage" \
  "filter one inet:127.0.0.1:$MPORT" "filter two inet:127.0.0.1:$MPORT2" "filter down inet:127.0.0.1:$DPORT" \
  "filter downok inet:127.0.0.1:$DPORT on-failure accept" "filter garbage inet:127.0.0.1:$GPORT" "local-filter one" \
  "relay-from 127.0.0.1" "deliver maildir $T/mail/%u" \
  "timeout filter-connect 3s" "timeout filter-command 3s" "timeout filter-data 3s"
check "conf-check takes the filter lines" conf-check -q -C "$CONF"
start_peer
ok $? "the scripted filter is ready"
start_listen
ok $? "smtp-listen ready"

# sess [RCPT...]: one transaction from a@client.example (default recipient
# root@test.example) with the message in $T/msg; prints each reply, code
# and text, one per line; a closed connection is "0 eof"
printf 'Subject: hello\r\nX-Remove: me\r\n\r\nbody line\r\n..dot line\r\n' > "$T/msg"
sess () {
  "$PY" -c "$PYLIB
import sys
rcpts = sys.argv[1:] or ['root@test.example']
out = []
def r(x):
  out.append(x[1].replace('\n', '|') if x[0] else '000 eof')
  return x[0]
c = Conn(int('${SPORT:-$PORT}'), timeout=20)
cmd = c.cmd
def safe(b):
  try:
    return cmd(b)
  except OSError:
    return (0, '')
c.cmd = safe
try:
  if r(c.reply()) == 220:
    r(c.cmd(b'EHLO client.example'))
    if r(c.cmd(b'MAIL FROM:<a@client.example> BODY=8BITMIME')) == 250:
      n = sum(r(c.cmd(b'RCPT TO:<%s>' % x.encode())) == 250 for x in rcpts)
      if n and r(c.cmd(b'DATA')) == 354:
        c.send(open('$T/msg', 'rb').read() + b'.\r\n')
        r(c.reply())
  elif r(c.cmd(b'EHLO client.example')) == 0:
    raise EOFError
  r(c.cmd(b'QUIT'))
except (OSError, EOFError):
  pass
print('\n'.join(out))
" "$@"
}
codes () { cut -c1-3 | tr '\n' ' ' | sed 's/ $//' ; }
# the newest queue entry
newest () { ls -t $(queued_files) 2>/dev/null | head -n 1 ; }
clean_spool () { find "$SPOOL/queue" -type f -delete ; }

# after a refusal or a failure: nothing committed since $1 entries, nothing half written
spool_clean () { [ "$(count_entries)" = "$1" ] && [ "$(count_tmp)" = 0 ] ; }

# hdrs FILE: the header section of a queued message, one line per line
hdrs () { sed '1,/^$/d' "$1" | sed -n '/^$/q;p' ; }
