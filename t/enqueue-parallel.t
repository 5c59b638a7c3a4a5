#!/bin/sh
# 200 enqueues at once: 200 distinct ids, all committed, all listed.
. "$(dirname "$0")/lib.sh"
plan 5
mkinstance
mkdir "$T/ids"
i=0
while [ $i -lt 200 ] ; do
  i=$((i + 1))
  printf 'Subject: %s\n\nbody %s\n' $i $i | enqueue -C "$CONF" -f s@test.example "r$i@test.example" > "$T/ids/$i" 2>&1 &
done
wait
is "$(cat "$T/ids"/* | grep -Ec '^[0-9a-f]{24}$')" 200 "200 enqueues printed 200 ids"
is "$(cat "$T/ids"/* | sort -u | wc -l | tr -d ' ')" 200 "the ids are distinct"
is "$(count_entries)" 200 "200 entries are committed"
queue-ls -C "$CONF" > "$T/ls"
is "$(tail -n 1 "$T/ls")" "200 messages, 200 recipients" "queue-ls shows all of them"
is "$(queue-ls -C "$CONF" -j | wc -l | tr -d ' ')" 200 "queue-ls -j shows all of them"
done_testing
