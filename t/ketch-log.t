#!/bin/sh
# ISC license: see LICENSE.
# ketch-log alone (t/syslog.t and t/json-log.t run it under s6): the
# bound on a line, its prog's exit status, a syslog socket that is not
# there (the lines go to stderr, one warning), bad usage.
. "$(dirname "$0")/lib.sh"
plan 6
need python3 python3

python3 -c 'import sys; sys.stdout.write("x" * 10000 + "\nid ev k=v\n")' | ketch-log -j -t t > "$T/long.json" 2>"$T/long.err"
ok $? "ketch-log -j: exit 0 at the end of input" "$(cat "$T/long.err")"
got=$(python3 -c '
import json, sys
print(" ".join("%s:%d" % (o["id"][:1], len(o["id"])) for o in map(json.loads, open(sys.argv[1]))))' "$T/long.json")
is "$got" "x:8192 x:1808 i:2" "a line longer than 8192 octets is cut there: each piece is a line"

printf 'a\nb\n' | ketch-log -t t sh -c 'cat > "$1" ; exit 7' sh "$T/child.out"
is "$?:$(cat "$T/child.out" | tr '\n' ' ')" "7:a b " "prog gets the lines on its stdin; its exit status is ketch-log's"

printf 'id warning event=x\nid e\n' | ketch-log -s "$T/no.sock" -t smtp-listen > /dev/null 2>"$T/nosock.err"
ok $? "no syslog socket: still exit 0" "$(cat "$T/nosock.err")"
is "$(grep -c 'warning: unable to send' "$T/nosock.err") $(grep -c '^<20>... .. ..:..:.. smtp-listen: id warning event=x$' "$T/nosock.err") $(grep -c '^<22>... .. ..:..:.. smtp-listen: id e$' "$T/nosock.err")" \
  "1 1 1" "no syslog socket: one warning, then each record on stderr (facility mail, warning 20 and info 22)" "$(cat "$T/nosock.err")"

ketch-log -j < /dev/null 2>/dev/null
is "$?" 100 "no -t: usage, exit 100"
done_testing
