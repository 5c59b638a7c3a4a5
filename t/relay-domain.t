#!/bin/sh
# ISC license: see LICENSE.
# relay-domain (ketch.conf(5)): mail for a relay domain accepted from an
# outside client (not in relay-from, not authenticated) and queued, while
# relaying stays closed for other domains; recipients checked against a
# list, and by a callout to the next hop (a scripted server on 127.0.0.2:
# one accepted, one refused, both answers cached: the second session's
# RCPTs never reach it, its connections counted), or, without via, to
# the MX host better than this one; a silent next hop gives
# 450 4.1.1 within callout timeout, never cached. Backup MX: this host is
# MX 20 of bk.test behind the primary (MX 10, a second ketch instance,
# stopped), with MX 30 worse (a sink that must never see the mail): the
# mail is held, and delivered once the primary is started. ketch-route
# shows the checks and the MX list without this host and worse.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"
. "$(dirname "$0")/run-lib.sh"
. "$(dirname "$0")/smtp-lib.sh"

plan 31
need dnsmasq dnsmasq-base
find_sink || fail_rest "no smtp-sink: $(cat "$T/sink.err")"

cd "$T" || exit 1
U=$(test_user krd) || bail "useradd failed"
DP=$(free_port) ; P=$(free_port) ; PV=$(free_port) ; PS=$(free_port) ; PORT=$(free_port)
dns "$DP" \
  --mx-host=bk.test,primary.test,10 --mx-host=bk.test,backup.test,20 --mx-host=bk.test,worse.test,30 \
  --host-record=primary.test,127.0.0.5 --host-record=backup.test,127.0.0.1 --host-record=worse.test,127.0.0.6 --host-record=list.test,127.0.0.7 \
  --mx-host=mxv.test,mxnext.test,5 --mx-host=mxv.test,backup.test,20 --host-record=mxnext.test,127.0.0.8 \
  --mx-host=selfv.test,backup.test,10

su=
[ "$(id -u)" = 0 ] && su="smtp-user root"
mkdir -p r p p/mail && chmod 1777 p/mail
printf '# the users of list.test\nuser@list.test\n' > r/list
cat > r/ketch.conf <<EOF
hostname backup.test
spool $T/r/spool
programs $BIN
listen 127.0.0.1 port $PORT
$su
resolver 127.0.0.1 port $DP
remote-port $P
relay-domain list.test recipients list
relay-domain vfy.test via 127.0.0.2:$PV verify
relay-domain slow.test via 127.0.0.3:$PS verify
relay-domain bk.test
relay-domain mxv.test verify
relay-domain selfv.test verify
callout timeout 3s
callout cache $T/r/callout
timeout connect 2s
retry remote 1s
retry max 2s
rescan 1s
EOF
cat > p/ketch.conf <<EOF
hostname primary.test
spool $T/p/spool
programs $BIN
listen 127.0.0.5 port $P
$su
local-domain bk.test
deliver maildir $T/p/mail/%u/
EOF
CONF=$T/r/ketch.conf ; SPOOL=$T/r/spool
conf-check -q -C r/ketch.conf && conf-check -q -C p/ketch.conf && newaliases -C r/ketch.conf && mkspool -C r/ketch.conf && mkspool -C p/ketch.conf
ok $? "both configurations pass conf-check; the list compiled, the spools and the callout cache made"
check "the callout cache directory is the SMTP user's, mode 0700" test "$(stat -c %a r/callout)" = 700

peer next 127.0.0.2 "$PV" --rcpt 'bad@vfy.test=550 5.1.1 no such user here'
peer silent 127.0.0.3 "$PS" --silent
sink worse 127.0.0.6 "$P"
peer mxnext 127.0.0.8 "$P"
start_listen || fail_rest "smtp-listen did not start: $(tail -n 5 "$T/smtp.log")"

# rcpts ADDR...: one session from 127.0.0.1 (not in relay-from); the RCPT codes
rcpts () {
  py "
c = Conn($PORT, timeout=15); c.reply(); c.cmd(b'EHLO outside.test'); c.cmd(b'MAIL FROM:<s@outside.test>')
print(' '.join(str(c.code(b'RCPT TO:<' + a.encode() + b'>')) for a in '$*'.split()))
c.cmd(b'QUIT')"
}

is "$(rcpts user@list.test USER+tag@list.test nobody@list.test)" "250 250 550" "list: listed recipients (any case, +tag) 250, an unlisted one 550"
is "$(rcpts someone@other.test)" "550" "relaying stays closed for other domains: 550"
check "... with 5.7.1" grep -q 'reply="550 5.7.1 Relaying denied"' "$T/smtp.log"
check "the unlisted recipient got 5.1.1" grep -q 'to="nobody@list.test" result=refused reply="550 5.1.1' "$T/smtp.log"
printf 'Subject: for the relay domain\n\nhello\n' > msg
is "$(smtp_send "$PORT" s@outside.test user@list.test msg)" "250 250 354 250" "a message for the relay domain from an outside client: accepted"
is "$(count_entries)" "1" "... and queued"

# callout: one accepted, one refused; then both again from the cache
is "$(rcpts good@vfy.test bad@vfy.test)" "250 550" "callout: accepted 250, refused by the next hop 550"
check "the next hop was asked with MAIL FROM:<> and each RCPT" sh -c "grep -q 'C: MAIL FROM:<>' '$T/next.log' && grep -q 'C: RCPT TO:<good@vfy.test>' '$T/next.log' && grep -q 'C: RCPT TO:<bad@vfy.test>' '$T/next.log'"
check "no DATA went to the next hop" sh -c "! grep -q 'C: DATA' '$T/next.log'"
check "the refusal is 550 5.1.1" grep -q 'to="bad@vfy.test" result=refused reply="550 5.1.1' "$T/smtp.log"
n1=$(grep -c CONNECT "$T/next.log")
is "$(rcpts good@vfy.test bad@vfy.test)" "250 550" "callout, a second session: the same answers"
is "$(grep -c CONNECT "$T/next.log")" "$n1" "... from the cache: no new connection to the next hop ($n1)"
check "... logged as the cache's" grep -q 'callout result=ok host=cache' "$T/smtp.log"
check "the cache holds the two answers" sh -c "grep -qx 'P [0-9]* good@vfy.test' r/callout/* && grep -qx 'N [0-9]* bad@vfy.test' r/callout/*"

# without via, the callout goes where delivery would: the better MX host; none better than this host: 450
is "$(rcpts u@mxv.test)" "250" "callout to the domain's MX host (MX 5, this host MX 20): 250"
check "... the MX host was asked" grep -q 'C: RCPT TO:<u@mxv.test>' "$T/mxnext.log"
is "$(rcpts u@selfv.test)" "450" "callout for a domain whose best MX is this host: nobody to ask, 450"

# a silent next hop: 450 4.1.1 within the bound, not cached
start=$(date +%s)
is "$(rcpts x@slow.test)" "450" "a silent next hop: 450"
took=$(( $(date +%s) - start ))
check "... within callout timeout (3 s) and a margin: ${took}s" test "$took" -le 6
check "... 4.1.1" grep -q 'to="x@slow.test" result=refused reply="450 4.1.1' "$T/smtp.log"
rcpts x@slow.test > /dev/null
is "$(grep -c CONNECT "$T/silent.log")" "2" "a temporary answer is not cached: asked again"

# backup MX: the primary (MX 10) down, this host MX 20, worse MX 30
out=$(ketch-route -C r/ketch.conf -c 192.0.2.1 "$U@bk.test" good@vfy.test 2>&1)
case $out in *"MX 20 backup.test: this host or worse, not tried"*"MX 30 worse.test: this host or worse, not tried"*) r=0 ;; *) r=1 ;; esac
ok $r "ketch-route: MX 20 (this host) and MX 30 never tried" "$out"
case $out in *"RCPT TO:<good@vfy.test>: 250 2.1.5 Ok if the callout"*"cached answer in $T/r/callout: accepted"*) r=0 ;; *) r=1 ;; esac
ok $r "ketch-route: the callout check and its cached answer" "$out"
stop_listen
run_instance "$T/r/ketch.conf" || fail_rest "the relay instance did not start"
is "$(smtp_send "$PORT" s@outside.test "$U@bk.test" msg)" "250 250 354 250" "backup MX: mail for bk.test accepted"
wait_for 15 grep -q 'host-failed host="primary.test"' r/sched.log
ok $? "backup MX: the primary (down) was tried"
check "backup MX: the mail is held in the queue" sh -c "grep -rlq '$U@bk.test' r/spool/queue"
check "backup MX: neither this host nor the worse exchanger was contacted" sh -c "! grep -q 'host=\"worse.test\"\\|host=\"backup.test\"' r/sched.log && [ \$(ls '$T/worse.dump' | wc -l) = 0 ]"
run_instance "$T/p/ketch.conf" || diag "the primary did not start"
f=$(new_in "$T/p/mail/$U/new") || { wait_for 20 one_file "$T/p/mail/$U/new" && f=$(new_in "$T/p/mail/$U/new") ; }
ok $? "backup MX: the primary, once started, got the mail"
check "backup MX: the message arrived whole, through this host" sh -c "grep -q 'Subject: for the relay domain' '$f' && grep -q 'by backup.test (ketch)' '$f'"

done_testing
