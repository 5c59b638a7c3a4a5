#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen execs PROGRAMS/smtp-session per connection by default; -f
# runs the linked-in session code in the forked child instead, with the
# listener's copy of the configuration, read again on SIGHUP, and with
# the passwd database and the time zone set up once, by the listener. A
# programs directory without smtp-session tells the two apart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 10

cd "$T" || exit 1
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT" "relay-from 127.0.0.0/8"
mkdir "$T/prog"
ln -s "$BIN/enqueue" "$T/prog/enqueue"
sed "s|^programs .*|programs $T/prog|" "$CONF" > "$T/fork.conf"
CONF=$T/fork.conf

session () { relay_session 'fork' ; }

start_listen -g 2 -f
ok $? "smtp-listen -f ready"
is "$(session)" "220 250 250 250 354 250 221" "a forked session (-f) serves a transaction without PROGRAMS/smtp-session"
is "$(find "$SPOOL/queue" -type f | wc -l | tr -d ' ')" 1 "the message is in the queue"
greeting () { py "
c = Conn($PORT, timeout=5)
print(c.reply()[1])" ; }
sed "s|^hostname .*||" "$CONF" > "$T/new.conf" && printf 'hostname reloaded.example\n' >> "$T/new.conf"
cp "$CONF" "$T/old.conf" && cat "$T/new.conf" > "$CONF"
case "$(greeting)" in *mx.test.example*) r=0 ;; *) r=1 ;; esac
is "$r" 0 "-f: a changed ketch.conf does not reach new sessions before SIGHUP (the old hostname greets)"
kill -HUP "$LPID"
wait_for 5 sh -c "grep -q 'configuration reloaded' '$T/smtp.log'"
case "$(greeting)" in *reloaded.example*) r=0 ;; *) r=1 ;; esac
is "$r" 0 "-f: after SIGHUP new sessions use the new configuration"
printf 'bogus-directive x\n' >> "$CONF"
kill -HUP "$LPID"
wait_for 5 sh -c "grep -q 'keeping the old configuration' '$T/smtp.log'"
case "$(greeting)" in *reloaded.example*) r=0 ;; *) r=1 ;; esac
is "$r" 0 "-f: a configuration that does not load is refused on SIGHUP, the previous one stays"
cat "$T/old.conf" > "$CONF"
stop_listen

# -f: the listener sets up the passwd database (nsswitch.conf, the nscd
# probe) and the time zone once; its sessions inherit them (strace -f:
# which processes read them, over two sessions with a local RCPT each)
local_session () { py "
c = Conn($PORT, timeout=5)
c.reply() ; codes(c, [b'EHLO client.example', b'MAIL FROM:<a@client.example>', b'RCPT TO:<root@test.example>', b'DATA'])
c.send(b'Subject: tz\\r\\n\\r\\nbody\\r\\n.\\r\\n') ; c.reply() ; c.code(b'QUIT')" ; }
if command -v strace >/dev/null 2>&1 && [ ! -e /var/run/nscd/socket ] && [ -z "${KETCH_SANITIZED:-}" ] ; then
  rm -f "$T/ready"
  strace -f -qq -e trace=openat,connect -o "$T/st" smtp-listen -C "$CONF" -d 3 -g 2 -f 3>"$T/ready" 2>>"$T/smtp.log" &
  LPID=$!
  wait_for 5 test -s "$T/ready"
  local_session ; local_session
  # the listener itself, not strace: strace exits with it
  SLPID=$(pgrep -P "$LPID" smtp-listen)
  kill "${SLPID:-$LPID}" ; wait "$LPID"
  procs () { grep "$1" "$T/st" | cut -d' ' -f1 | sort -u | wc -l | tr -d ' ' ; }
  np=$(cut -d' ' -f1 "$T/st" | sort -u | wc -l | tr -d ' ')
  is "$(procs /etc/localtime)/$([ "$np" -ge 3 ] && echo more)" "1/more" "-f: /etc/localtime is read by the listener alone, not by its two sessions ($np processes traced)"
  is "$(procs nscd/socket)" 1 "-f: the nscd probe is made by the listener alone"
else
  skip 2 "strace missing, nscd running, or a sanitized build"
fi

start_listen -g 2
ok $? "smtp-listen ready"
got=$(session)
case "$got" in 220*) r=1 ;; *) r=0 ;; esac
is "$r" 0 "by default it execs PROGRAMS/smtp-session (missing here: no greeting)"
stop_listen
