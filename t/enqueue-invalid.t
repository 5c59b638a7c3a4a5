#!/bin/sh
# enqueue refuses malformed envelopes and messages: exit 100, a one-line
# reason on stderr, nothing left in the spool.
. "$(dirname "$0")/lib.sh"
mkinstance "limit message-size 2k"

long64=$(printf '%065d' 0)
label=$(printf '%063d' 0)
longdom="$label.$label.$label.$label.example"
longpath="a@$label.$label.$label.${label}"
line999=$(printf '%0999d' 0)

n=0
refuse () {
  # refuse DESCRIPTION INPUT-FILE ENQUEUE-ARGS...
  desc=$1 input=$2 ; shift 2
  enqueue -C "$CONF" "$@" < "$input" > "$T/out" 2> "$T/err" 3< "$T/rcptfile"
  rc=$?
  lines=$(wc -l < "$T/err" | tr -d ' ')
  left=$(( $(count_tmp) + $(count_entries) ))
  if [ "$rc" = 100 ] && [ "$lines" = 1 ] && grep -Eq '^enqueue: (fatal|usage): ' "$T/err" && [ "$left" = 0 ] && [ ! -s "$T/out" ] ; then
    ok 0 "$desc"
  else
    ok 1 "$desc"
    diag "rc=$rc stderr-lines=$lines left=$left: $(head -c 200 "$T/err")"
  fi
}

printf 'Subject: ok\n\nbody\n' > "$T/good"
printf 'Subject: x\n\na\0b\n' > "$T/nul"
printf 'Subject: x\n\na\rb\n' > "$T/barecr"
printf 'Subject: x\n\nend\r' > "$T/endcr"
printf 'Subject: x\n\n%s\n' "$line999" > "$T/longline"
head -c 3000 /dev/zero | tr '\0' 'x' | fold -w 70 > "$T/big"
: > "$T/rcptfile"

plan 32
refuse "no sender option" "$T/good" a@test.example
refuse "no recipient" "$T/good" -f s@test.example
refuse "unknown option" "$T/good" -z -f s@test.example a@test.example
refuse "sender without a domain" "$T/good" -f me a@test.example
refuse "recipient with an empty domain" "$T/good" -f s@test.example 'a@'
refuse "recipient with an empty local part" "$T/good" -f s@test.example '@example.org'
refuse "space in a local part" "$T/good" -f s@test.example 'a b@test.example'
refuse "double dot in a local part" "$T/good" -f s@test.example 'a..b@test.example'
refuse "leading dot in a local part" "$T/good" -f s@test.example '.a@test.example'
refuse "local part of 65 octets" "$T/good" -f s@test.example "$long64@test.example"
refuse "domain over 255 octets" "$T/good" -f s@test.example "a@$longdom"
refuse "path over 256 octets" "$T/good" -f s@test.example "$longpath"
refuse "label starting with a hyphen" "$T/good" -f s@test.example 'a@-b.example'
refuse "empty label" "$T/good" -f s@test.example 'a@b..example'
refuse "bad IPv4 literal" "$T/good" -f s@test.example 'a@[999.1.1.1]'
refuse "general address literal" "$T/good" -f s@test.example 'a@[foo]'
refuse "newline in a recipient" "$T/good" -f s@test.example "$(printf 'a@b.example\nto evil@x.example')"
refuse "tab in a recipient" "$T/good" -f s@test.example "$(printf 'a\t@b.example')"
refuse "unbalanced angle bracket" "$T/good" -f s@test.example '<a@b.example'
refuse "unterminated quote" "$T/good" -f s@test.example '"a@b.example'
refuse "empty recipient" "$T/good" -f s@test.example ''
refuse "null path as a recipient" "$T/good" -f s@test.example '<>'
refuse "null sender with a bad recipient" "$T/good" -f '' 'x@@example'
printf 'ok@test.example\nbad address@test.example\n' > "$T/rcptfile"
refuse "bad recipient from the descriptor" "$T/good" -f s@test.example -r 3
printf '%0300d@test.example\n' 0 > "$T/rcptfile"
refuse "over-long line from the descriptor" "$T/good" -f s@test.example -r 3
: > "$T/rcptfile"
refuse "space in the auth user" "$T/good" -a 'a b' -f s@test.example a@test.example
refuse "NUL in the message" "$T/nul" -f s@test.example a@test.example
refuse "bare CR in the message" "$T/barecr" -f s@test.example a@test.example
refuse "bare CR at the end of the message" "$T/endcr" -f s@test.example a@test.example
refuse "line of 999 octets" "$T/longline" -f s@test.example a@test.example
refuse "message over the size limit" "$T/big" -f s@test.example a@test.example
echo "limit message-size lots" >> "$CONF"
refuse "broken configuration" "$T/good" -f s@test.example a@test.example
done_testing
