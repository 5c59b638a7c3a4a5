#!/bin/sh
# The scheduler and local-deliver: enqueue in, Maildir out byte-exact,
# ownership, alias fan-out (address, /file, |program), unknown users,
# bounces as multipart/report, 10 concurrent mbox deliveries, MDA exit
# codes, shell metacharacters, queue-ctl requests, the spool lock.
. "$(dirname "$0")/lib.sh"
plan 32

U=$(test_user kt) || bail "useradd failed"
mkdir -p "$T/mail" && chmod 1777 "$T/mail"
cat > "$T/tempfail" <<'S'
#!/bin/sh
cat >/dev/null
echo x >> "$(dirname "$0")/mail/tempfail.count"
exit 75
S
chmod 755 "$T/tempfail"
cat > "$T/aliases" <<A
# fan-out: an address, a file, a program
team: $U, $T/mail/team.mbox, |/bin/dd of=$T/mail/prog.out status=none
ten: $T/mail/ten.mbox
fails: |/bin/false
retries: |$T/tempfail
root: $U
inc: :include:$T/inc.list
evil: |/bin/echo ;touch $T/pwned \$(touch $T/pwned2)
A
printf '# the list\n%s\n%s/mail/inc.mbox\n' "$U" "$T" > "$T/inc.list"
printf 'box@virt.example %s/mail/vbox\nfwd@virt.example %s@test.example\n' "$T" "$U" > "$T/vmap"
# its Maildirs are written as the map's owner: never root, never alias-user
chown "$U" "$T/vmap"
mkinstance "deliver maildir $T/mail/%u" "aliases $T/aliases" "retry local 1s" "limit local-deliveries 10" "virtual-domain virt.example map $T/vmap"
newaliases -C "$CONF"
check "newaliases compiles aliases.cdb" test -s "$T/aliases.cdb"

scheduler -C "$CONF" -d 3 3>"$T/ready" 2>"$T/sched.log" &
SPID=$!
at_exit "kill $SPID 2>/dev/null"
check "scheduler signals readiness" wait_for 5 test -s "$T/ready"
check "a second scheduler is refused (spool lock)" sh -c "! scheduler -C '$CONF' 2>/dev/null"

queue_empty () { [ "$(count_entries)" = 0 ] ; }

# 1. byte-exact Maildir delivery
printf 'Subject: exact\nFrom: <s@test.example>\n\nline one\n.dot line\nFrom here\n\n' > "$T/msg1"
enqueue -C "$CONF" -f "s@remote.example" "$U@test.example" < "$T/msg1" >/dev/null
check "delivered to the Maildir" wait_for 10 mail_ge "$T/mail/$U/new" 1
f=$(find "$T/mail/$U/new" -type f | head -1)
{ printf 'Return-Path: <s@remote.example>\nDelivered-To: %s@test.example\n' "$U" ; cat "$T/msg1" ; } > "$T/want1"
check "Maildir file is byte-exact (Return-Path + Delivered-To prepended)" cmp -s "$f" "$T/want1"
is "$(stat -c %U "$f")" "$U" "the message is owned by the recipient"
check "tmp/ is empty after delivery" test -z "$(ls "$T/mail/$U/tmp")"
check "message removed from the queue" wait_for 5 queue_empty

# 2. alias fan-out
printf 'Subject: team\n\nfan out\n' | enqueue -C "$CONF" -f "s@remote.example" "team@test.example" >/dev/null
check "alias: the address got it" wait_for 10 mail_ge "$T/mail/$U/new" 2
check "alias: the file got it" wait_for 10 grep -q '^Subject: team' "$T/mail/team.mbox"
check "alias: the program got it" wait_for 10 grep -q '^fan out' "$T/mail/prog.out"
check "expansion logged with the alias" grep -q 'expand alias="team@test.example"' "$T/sched.log"

# 2b. :include: and virtual users (a Maildir, a forward)
printf 'Subject: inc\n\nx\n' | enqueue -C "$CONF" -f "s@remote.example" "inc@test.example" >/dev/null
check ":include: entries delivered" wait_for 10 grep -qs '^Subject: inc' "$T/mail/inc.mbox"
printf 'Subject: virtual\n\nx\n' | enqueue -C "$CONF" -f "s@remote.example" "Box@virt.example" >/dev/null
vbox () { grep -qs '^Subject: virtual' -r "$T/mail/vbox/new" ; }
check "virtual user: into its Maildir" wait_for 10 vbox
check "virtual user: Delivered-To is the virtual address, as given" grep -qs '^Delivered-To: Box@virt.example' -r "$T/mail/vbox/new"
printf 'Subject: vfwd\n\nx\n' | enqueue -C "$CONF" -f "s@remote.example" "fwd@virt.example" >/dev/null
vfwd () { grep -qs '^Subject: vfwd' -r "$T/mail/$U/new" ; }
check "virtual forward: to the target address" wait_for 10 vfwd

# 3. unknown user: a bounce to the sender, an RFC 3464 multipart/report
n0=$(maildir_count "$T/mail/$U/new")
printf 'Subject: to nobody\nMessage-ID: <u1@test>\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" "nosuchuser-$$@test.example" >/dev/null
check "the bounce reaches the sender" wait_for 10 mail_ge "$T/mail/$U/new" $((n0 + 1))
b=$(grep -l 'multipart/report' "$T/mail/$U/new"/* | head -1)
check "bounce parses as multipart/report with delivery-status" python3 - "$b" <<'P'
import sys, email
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
assert m.get_content_type() == 'multipart/report', m.get_content_type()
assert m.get_param('report-type') == 'delivery-status'
parts = m.get_payload()
assert [p.get_content_type() for p in parts] == ['text/plain', 'message/delivery-status', 'text/rfc822-headers'], [p.get_content_type() for p in parts]
ds = parts[1].get_payload()
blocks = [dict(b.items()) for b in ds]
assert blocks[0]['Reporting-MTA'] == 'dns; mx.test.example'
assert blocks[1]['Action'] == 'failed' and blocks[1]['Status'] == '5.1.1', blocks[1]
assert 'Message-ID: <u1@test>' in parts[2].get_payload()
assert m['Return-Path'] == '<>'
P

# 4. ten deliveries at once into one mbox
i=0 ; while [ $i -lt 10 ] ; do
  printf 'Subject: ten %s\n\nFrom the start\nbody %s\n' $i $i | enqueue -C "$CONF" -f "s@remote.example" "ten@test.example" >/dev/null &
  i=$((i + 1))
done
wait_enq () { [ "$(grep -c '^From ' "$T/mail/ten.mbox" 2>/dev/null)" = 10 ] ; }
check "10 messages in the mbox" wait_for 20 wait_enq
check "Python's mailbox parses 10 messages, From_ quoted" python3 - "$T/mail/ten.mbox" <<'P'
import sys, mailbox
mb = mailbox.mbox(sys.argv[1])
msgs = list(mb)
assert len(msgs) == 10, len(msgs)
assert sorted(m['Subject'] for m in msgs) == sorted('ten %d' % i for i in range(10))
for m in msgs:
    assert m.get_payload().startswith('>From the start\n'), repr(m.get_payload())
P

# 5. MDA exit codes: 1 is permanent (bounce), 75 is temporary (retried)
n0=$(maildir_count "$T/mail/$U/new")
printf 'Subject: fails\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" "fails@test.example" >/dev/null
check "MDA exit 1: bounced" wait_for 10 mail_ge "$T/mail/$U/new" $((n0 + 1))
check "MDA exit 1 logged as perm" grep -q 'rcpt="|/bin/false" result=perm' "$T/sched.log"
id=$(printf 'Subject: retries\n\nx\n' | enqueue -C "$CONF" -f "$U@test.example" "retries@test.example")
tries () { [ "$(wc -l < "$T/mail/tempfail.count" 2>/dev/null)" -ge 2 ] ; }
check "MDA exit 75: retried (base 1s)" wait_for 15 tries
check "exit 75 recorded as deferred in the state file" grep -q '^deferred' "$(state_path "$id")"

# 6. shell metacharacters run nothing
printf 'Subject: evil\n\nx\n' | enqueue -C "$CONF" -f "s@remote.example" "evil@test.example" '"a;touch '"$T"'/pwned3"@test.example' >/dev/null
check "evil alias delivered (argv split, no shell)" wait_for 10 grep -q 'rcpt="|/bin/echo ;touch' "$T/sched.log"
sleep 0.5
check "no shell ran" sh -c "! ls '$T'/pwned* 2>/dev/null"

# 6b. a failure of a message with the null sender goes to postmaster, never to <>
n0=$(maildir_count "$T/mail/$U/new")
printf 'Subject: null sender\n\nx\n' | enqueue -C "$CONF" -f "" "nosuch2-$$@test.example" >/dev/null
check "null sender: the report goes to postmaster (root, aliased)" wait_for 10 mail_ge "$T/mail/$U/new" $((n0 + 1))
check "the report is addressed to postmaster" grep -qs '^To: <postmaster@mx.test.example>' -r "$T/mail/$U/new"
check "and sent with the null sender" sh -c "grep -ls '^To: <postmaster@' -r '$T/mail/$U/new' | xargs grep -q '^Return-Path: <>'"

# 6c. queue-ctl remove sender
sid=$(printf 'Subject: spam\n\nx\n' | enqueue -C "$CONF" -f "spam@bad.example" "retries@test.example")
wait_for 10 grep -q "$sid attempt" "$T/sched.log"
echo "remove sender spam@bad.example" > "$SPOOL/ctl/s1.tmp" && mv "$SPOOL/ctl/s1.tmp" "$SPOOL/ctl/s1" && timeout 5 sh -c "echo ctl > '$SPOOL/trigger'"
check "ctl remove sender: the sender's message is gone" wait_for 10 sh -c "! test -e '$(entry_path "$sid")'"

# 7. queue-ctl: remove through spool/ctl
echo "remove $id" > "$SPOOL/ctl/r1.tmp" && mv "$SPOOL/ctl/r1.tmp" "$SPOOL/ctl/r1" && timeout 5 sh -c "echo ctl > '$SPOOL/trigger'"
check "ctl remove takes the message out of the queue" wait_for 10 sh -c "! test -e '$(entry_path "$id")'"

kill -TERM $SPID
check "SIGTERM: the scheduler exits" wait_for 10 sh -c "! kill -0 $SPID 2>/dev/null"
done_testing
