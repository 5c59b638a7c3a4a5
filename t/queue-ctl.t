#!/bin/sh
# queue-ctl: each request is one line in its own file in ctl/, no .tmp
# left behind, the trigger gets "ctl\n", bad arguments write nothing.
. "$(dirname "$0")/lib.sh"

plan 20
mkinstance
check "mkspool creates ctl/ with mode 0700" test "$(stat -c %a "$SPOOL/ctl")" = 700
id=$(echo "Subject: t" | enqueue -C "$CONF" -f a@b.example c@test.example)
ctl () { queue-ctl -C "$CONF" "$@" 2>>"$T/log" ; }
nctl () { ls "$SPOOL/ctl" | wc -l | tr -d ' ' ; }
last () { cat "$SPOOL/ctl/$(ls "$SPOOL/ctl" | sort | tail -n 1)" ; }

ctl retry all ; is "$?:$(last)" "0:retry all" "retry all"
ctl retry "$id" ; is "$?:$(last)" "0:retry $id" "retry ID"
ctl retry domain Example.COM ; is "$?:$(last)" "0:retry domain example.com" "retry domain (lower-cased)"
ctl hold "$id" ; is "$?:$(last)" "0:hold $id" "hold ID"
ctl release "$id" ; is "$?:$(last)" "0:release $id" "release ID"
ctl remove "$id" ; is "$?:$(last)" "0:remove $id" "remove ID"
ctl remove sender 'Spam@Example.NET' ; is "$?:$(last)" "0:remove sender Spam@example.net" "remove sender (canonical)"
ctl remove sender '<>' ; is "$?:$(last)" "0:remove sender <>" "remove sender <> (bounces)"
is "$(nctl)" 8 "one file per request"
check "no temporary file left" sh -c "! ls '$SPOOL/ctl' | grep -q tmp"
check "each action is logged with its request" grep -q "ctl request=\"hold $id\"" "$T/log"

ctl hold 0123456789abcdef01234567 ; is "$?" 100 "hold of a message not in the queue: 100"
ctl retry 123 ; is "$?" 100 "bad id: 100"
ctl retry domain 'bad..example' ; is "$?" 100 "bad domain: 100"
ctl remove sender 'no at sign' ; is "$?" 100 "bad address: 100"
ctl hold "$id" zz ; is "$?:$(nctl)" "100:8" "one bad id among several: nothing written"
ctl explode all ; is "$?" 100 "unknown command: 100"

# a reader on the trigger FIFO sees the wake-up; the reader is open before
# queue-ctl writes (its non-blocking open finds no reader otherwise, and a
# background reader given 0.2 s to start may not have opened it under load)
exec 8<>"$SPOOL/trigger"
ctl retry all
timeout 5 dd bs=64 count=1 <&8 > "$T/trig" 2>/dev/null
exec 8<&-
is "$(cat "$T/trig")" "ctl" "the trigger gets ctl"
check "the queue itself is untouched" test -f "$(entry_path "$id")"
done_testing
