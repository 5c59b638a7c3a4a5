#!/bin/sh
# enqueue: the happy path, the stored bytes, queue-ls in both formats.
. "$(dirname "$0")/lib.sh"
plan 19
mkinstance

id=$(printf 'Subject: hi\n\nbody\n' | enqueue -C "$CONF" -f me@example.org you@example.net)
ok $? "the shell one-liner from the issue is queued"
check "it prints a queue id" sh -c "echo '$id' | grep -Eqx '[0-9a-f]{24}'"
entry=$(entry_path "$id")
check "the entry is in its bucket" test -f "$entry"
printf 'ketch 1\nfrom me@example.org\nto you@example.net\nbody 7bit\n\nSubject: hi\n\nbody\n' > "$T/expected"
check "stored bytes are exactly the envelope head and the LF message" cmp "$entry" "$T/expected"
is "$(stat -c %a "$entry")" 600 "the entry is private to the queue owner"
is "$(count_tmp)" 0 "nothing left in tmp/"

id2=$(printf 'Subject: crlf\r\n\r\nl\303\251gume\r\nno final newline' | enqueue -C "$CONF" -f '' 'Postmaster@Test.Example' '"odd user"@test.example')
ok $? "CRLF input, null sender, quoted local part"
e2=$(entry_path "$id2")
printf 'ketch 1\nfrom \nto Postmaster@test.example\nto "odd user"@test.example\nbody 8bit\n\nSubject: crlf\n\nl\303\251gume\nno final newline\n' > "$T/expected2"
check "CRLF stored as LF, domain lower-cased, 8bit noticed, final LF added" cmp "$e2" "$T/expected2"

printf 'a@test.example\r\nb@test.example\n\nc@test.example' > "$T/rcpts"
id3=$(echo 'Subject: many' | enqueue -C "$CONF" -f s@test.example -r 3 d@test.example 3< "$T/rcpts")
ok $? "recipients from a descriptor"
e3=$(entry_path "$id3")
is "$(grep -c '^to ' "$e3")" 4 "argv and descriptor recipients all stored"

# the wake-up hint: the id written to the trigger FIFO
python3 - "$SPOOL/trigger" "$CONF" > "$T/hint" <<'PY'
import os, subprocess, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
out = subprocess.run(["enqueue", "-C", sys.argv[2], "-f", "x@test.example", "y@test.example"],
                     input=b"Subject: hint\n\n", capture_output=True).stdout
print(out.decode().strip(), os.read(fd, 100).decode().strip())
PY
set -- $(cat "$T/hint")
is "${2:-none}" "$1" "the scheduler is woken with the new id"

queue-ls -C "$CONF" > "$T/ls"
ok $? "queue-ls runs"
is "$(tail -n 1 "$T/ls")" "4 messages, 8 recipients" "queue-ls counts messages and recipients"
check "queue-ls shows the quoted recipient" grep -q '<"odd user"@test.example>' "$T/ls"
queue-ls -C "$CONF" -j > "$T/json"
check "queue-ls -j prints one valid JSON object per message" python3 -c '
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert len(objs) == 4
assert all(len(o["id"]) == 24 and o["recipients"] for o in objs)
assert any(o["sender"] == "" for o in objs)' "$T/json"
queue-ls -C "$CONF" "$id" > "$T/one"
is "$(head -n 1 "$T/one" | cut -d' ' -f1)" "$id" "queue-ls ID shows one message"
queue-ls -C "$CONF" ../../etc/passwd > /dev/null 2>&1
is $? 100 "queue-ls refuses what is not an id"
# a UTF-8 sender alone marks the envelope SMTPUTF8 (RFC 6531), as a UTF-8 recipient does
u=$(printf 'Subject: u\n\nb\n' | enqueue -C "$CONF" -f "$(printf 'j\303\274rgen@test.example')" ascii@test.example)
check "a UTF-8 sender: smtputf8 in the envelope" grep -qx smtputf8 "$(entry_path "$u")"
u=$(printf 'Subject: u\n\nb\n' | enqueue -C "$CONF" -f ascii@test.example "$(printf 'j\303\274rgen@test.example')")
check "a UTF-8 recipient: smtputf8 in the envelope" grep -qx smtputf8 "$(entry_path "$u")"
done_testing
