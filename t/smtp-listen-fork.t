#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen execs PROGRAMS/smtp-session per connection by default; -f
# runs the linked-in session code in the forked child instead, with the
# listener's copy of the configuration, read again on SIGHUP. A programs
# directory without smtp-session tells the two apart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 8

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

start_listen -g 2
ok $? "smtp-listen ready"
got=$(session)
case "$got" in 220*) r=1 ;; *) r=0 ;; esac
is "$r" 0 "by default it execs PROGRAMS/smtp-session (missing here: no greeting)"
stop_listen
