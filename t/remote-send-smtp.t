#!/bin/sh
# ISC license: see LICENSE.
# remote-send's SMTP client against a scripted peer (t/smtppeer.py):
# per-recipient results, pipelining, a peer closing mid-DATA, SIZE,
# 8BITMIME, dot-stuffing byte for byte, greeting and EHLO failures, the
# report's escaping. Routes point the domain at the peer's loopback port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 39
need python3 python3

P=$(free_port)
mkinstance "route peer.test via 127.0.0.1:$P" "timeout connect 2s" "timeout command 10s" "timeout data 10s"

# partial acceptance: 250, 450, 550 in one transaction
peer p1 127.0.0.1 "$P" --rcpt "t@peer.test=450 4.2.1 mailbox busy" --rcpt "p@peer.test=550 5.1.1 no such user"
rs peer.test s@me.test o@peer.test t@peer.test p@peer.test o2@peer.test < "$T/msg"
is "$(cat "$T/out")" "ok 0 250 2.0.0 Ok: queued
temp 1 450 4.2.1 mailbox busy
perm 2 550 5.1.1 no such user
ok 3 250 2.0.0 Ok: queued" "partial acceptance: ok, temp (4xx at RCPT), perm (5xx at RCPT), ok, in argv order"
is "$(grep -c 'MAIL FROM' "$T/p1.log")/$(grep -c 'DATA-BYTES' "$T/p1.log")" "1/1" "one transaction for all recipients"
check "PIPELINING: MAIL, RCPTs and DATA in one write" grep -q '^C+ MAIL FROM:<s@me.test>' "$T/p1.log"
check "PIPELINING: DATA is the last command of the group" grep -q '^C: DATA' "$T/p1.log"
check "log: one transaction line, the id first, naming the host and counting the recipients" test "$(grep -c "^$RSID transaction"' host="127.0.0.1" ip=127.0.0.1 tls=no rcpts=4$' "$T/err")" = 1
check "log: no result line (the scheduler logs each result from the report, once)" sh -c "! grep -q ' delivery ' '$T/err'"
check "QUIT ends the session" grep -q '^C: QUIT' "$T/p1.log"
stop_last

# all recipients refused: no data is sent
peer p2 127.0.0.1 "$P" --rcpt "a@peer.test=550 5.1.1 nope" --rcpt "b@peer.test=451 4.3.0 later"
rs peer.test s@me.test a@peer.test b@peer.test < "$T/msg"
is "$(cut -d' ' -f1-3 "$T/out" | tr '\n' ,)" "perm 0 550,temp 1 451," "all recipients refused: perm and temp"
check "all recipients refused: no message data sent" sh -c "! grep -q DATA-BYTES '$T/p2.log'"
stop_last

# without PIPELINING: one command at a time
peer p3 127.0.0.1 "$P" --no-pipelining
rs peer.test s@me.test a@peer.test b@peer.test < "$T/msg"
is "$(cut -d' ' -f1 "$T/out" | tr '\n' ,)" "ok,ok," "no PIPELINING: delivered"
check "no PIPELINING: no command sent ahead of its reply" sh -c "! grep -q '^C+' '$T/p3.log'"
stop_last

# the peer closes the connection in the middle of DATA
peer p4 127.0.0.1 "$P" --close-in-data
rs peer.test s@me.test a@peer.test b@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out" | tr '\n' ,)" "temp 0,temp 1," "closed mid-DATA: temporary for every recipient"
check "closed mid-DATA: the report says the connection was lost" grep -q 'lost during the transaction' "$T/out"
stop_last

# dot-stuffing and CRLF, byte for byte (RFC 5321 §4.5.2)
peer p5 127.0.0.1 "$P"
printf 'Subject: dots\n\n.\n..\n.x\nx.\n.\r\nmid\rcr\n\nlast line without LF' > "$T/dots"
rs peer.test s@me.test a@peer.test < "$T/dots"
printf 'Subject: dots\r\n\r\n..\r\n...\r\n..x\r\nx.\r\n..\r\nmid cr\r\n\r\nlast line without LF\r\n.\r\n' > "$T/dots.want"
check "dots: accepted" grep -q '^ok 0' "$T/out"
check "dots: the wire form is dot-stuffed, CRLF only, with the final dot" cmp -s "$T/p5.data" "$T/dots.want"
check "dots: no bare CR or LF on the wire" python3 -c "
import sys; d=open('$T/p5.data','rb').read()
sys.exit(1 if d.replace(b'\r\n', b'').count(b'\r') or d.replace(b'\r\n', b'').count(b'\n') else 0)"
# the same message in an entry after an envelope head: the job's header length skips it
{ printf 'ketch 1\nfrom <s@me.test>\n\n' ; cat "$T/dots" ; } | rs -H 26 peer.test s@me.test a@peer.test
check "dots from an entry after its head: the same wire form" cmp -s "$T/p5.data" "$T/dots.want"
stop_last

# SIZE: over the peer's limit, nothing is sent
peer p6 127.0.0.1 "$P" --size 100
head -c 400 /dev/zero | tr '\0' x > "$T/big" ; echo >> "$T/big"
rs peer.test s@me.test a@peer.test b@peer.test < "$T/big"
is "$(cut -d' ' -f1-4 "$T/out" | tr '\n' ,)" "perm 0 552 5.3.4,perm 1 552 5.3.4," "SIZE: a message over the peer's limit fails permanently"
check "SIZE: no MAIL and no DATA were sent" sh -c "! grep -q -e 'MAIL FROM' -e DATA '$T/p6.log'"
# within the limit: SIZE= is declared
rs peer.test s@me.test a@peer.test < "$T/msg"
check "SIZE: the size is declared in MAIL" grep -q 'MAIL FROM:<s@me.test> SIZE=58' "$T/p6.log"
stop_last

# 8BITMIME (RFC 6152) when the body has 8-bit octets
peer p7 127.0.0.1 "$P"
printf 'Subject: caf\303\251\n\ncaf\303\251\n' > "$T/8bit"
rs peer.test s@me.test a@peer.test < "$T/8bit"
check "8BITMIME: BODY=8BITMIME declared for an 8-bit body" grep -q 'MAIL FROM:<s@me.test> SIZE=.* BODY=8BITMIME\|MAIL FROM:<s@me.test> BODY=8BITMIME' "$T/p7.log"
rs peer.test s@me.test a@peer.test < "$T/msg"
check "8BITMIME: not declared for a 7-bit body" test "$(grep -c BODY=8BITMIME "$T/p7.log")" = 1
stop_last

# greeting 421 and EHLO 421: temporary, nothing sent
peer p8 127.0.0.1 "$P" --greeting "421 4.3.2 go away"
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "temp 0" "greeting 421: temporary"
check "greeting 421: the reply is in the report" grep -q '421 4.3.2 go away' "$T/out"
stop_last
peer p9 127.0.0.1 "$P" --ehlo-reply "554 5.7.1 no thanks"
rs peer.test s@me.test a@peer.test < "$T/msg"
check "EHLO refused with 5xx: HELO is tried" grep -q '^C: HELO mx.test.example' "$T/p9.log"
stop_last

# MAIL refused with 4xx: every recipient temp, nothing else matters
peer p11 127.0.0.1 "$P" --mail-reply "451 4.3.0 try later"
rs peer.test s@me.test a@peer.test b@peer.test < "$T/msg"
is "$(cat "$T/out")" "temp 0 451 4.3.0 try later
temp 1 451 4.3.0 try later" "MAIL 4xx: temporary for every recipient"
stop_last

# the reply to the final dot decides for the accepted recipients
peer p12 127.0.0.1 "$P" --data-reply "554 5.6.0 content rejected" --rcpt "t@peer.test=452 4.5.3 too many"
rs peer.test s@me.test a@peer.test t@peer.test < "$T/msg"
is "$(cat "$T/out")" "perm 0 554 5.6.0 content rejected
temp 1 452 4.5.3 too many" "final dot 5xx: perm for the accepted recipient, the RCPT reply for the other"
stop_last

# SMTPUTF8 (RFC 6531): required with -u
peer p13 127.0.0.1 "$P"
rs -u peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-4 "$T/out")" "perm 0 553 5.6.7" "SMTPUTF8 needed, not offered: permanent"
check "SMTPUTF8 needed, not offered: no MAIL sent" sh -c "! grep -q 'MAIL FROM' '$T/p13.log'"
stop_last
peer p14 127.0.0.1 "$P" --smtputf8
rs -u peer.test s@me.test a@peer.test < "$T/msg"
check "SMTPUTF8 offered: declared in MAIL" grep -q 'MAIL FROM:<s@me.test> SIZE=.*SMTPUTF8\|MAIL FROM:<s@me.test> SMTPUTF8' "$T/p14.log"
stop_last

# a server that never speaks: the command timeout ends it
mkinstance "route peer.test via 127.0.0.1:$P" "timeout connect 2s" "timeout command 1s"
peer p15 127.0.0.1 "$P" --silent
start=$(date +%s)
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "temp 0" "silent server: temporary"
check "silent server: given up after the command timeout" test $(( $(date +%s) - start )) -le 4
check "silent server: the report says it timed out" grep -q 'timed out' "$T/out"
stop_last
mkinstance "route peer.test via 127.0.0.1:$P" "timeout connect 2s" "timeout command 10s"

# a recipient with a line end is never sent; a quoted local part with < > is
peer p16 127.0.0.1 "$P"
rs peer.test s@me.test "$(printf 'x\r\nRSET\r\n@peer.test')" '"a<b>"@peer.test' < "$T/msg"
is "$(cat "$T/out")" "perm 0 501 5.1.3 invalid recipient address
ok 1 250 2.0.0 Ok: queued" "a recipient with CRLF fails alone; a quoted local part with <> is delivered"
check "the CRLF recipient never reached the wire" sh -c "! grep -q RSET '$T/p16.log'"
stop_last

# usage and configuration errors: exit codes, no report
remote-send -C "$CONF" -b < /dev/null > "$T/out" 2>/dev/null
is "$?/$(wc -c < "$T/out" | tr -d ' ')" "100/0" "usage: no domain is exit 100, no report"
remote-send -C "$CONF" peer.test s@me.test a@peer.test < "$T/msg" > "$T/out" 2>/dev/null
is "$?/$(wc -c < "$T/out" | tr -d ' ')" "100/0" "usage: the one-message form (without -b) is gone: exit 100, no report"
remote-send -C "$T/nonexistent.conf" -b peer.test < "$T/rs.batch" > "$T/out" 2>/dev/null
is "$?/$(wc -c < "$T/out" | tr -d ' ')" "111/0" "an unreadable configuration is exit 111, no report"

# report text: control characters become spaces
peer p10 127.0.0.1 "$P" --rcpt "a@peer.test=550 5.1.1 bad	tab"
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cat "$T/out")" "perm 0 550 5.1.1 bad tab" "report: a tab in the reply becomes a space"
stop_last

done_testing
