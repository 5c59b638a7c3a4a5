#!/bin/sh
# ISC license: see LICENSE.
# rspamd 3.4 (Debian 12) in milter mode as the filter of an MX listener
# (issue 19): GTUBE is refused with rspamd's own reply and nothing is
# queued; a clean message arrives with rspamd's headers (X-Spamd-Result,
# X-Rspamd-Action, Authentication-Results); the "add header" action
# (X-Spam: Yes, by a change of a header the message lacks) and the
# "rewrite subject" action arrive in the Maildir. The peer is checked by
# itself first (t/milterclient.py), so that a failure of rspamd's
# configuration is not taken for ketch's. rspamd starts once (10 to 20 s).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"
. "$(dirname "$0")/run-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
plan 18
need rspamd rspamd
need dnsmasq dnsmasq-base

U=$(test_user kr) || bail "useradd failed"
mkdir -p "$T/Maildir" && chmod 1777 "$T/Maildir"
NEW=$T/Maildir/$U/new

mdns
ok $? "dnsmasq for rspamd's lookups" "$milter_why"
PR=$(free_port)
rspamd_start "$PR"
ok $? "rspamd ready in milter mode" "$milter_why"

# msg FILE SUBJECT [X-Ketch-Test VALUE]: a complete message (Date and
# Message-ID, so that rspamd's own rules score it near 0)
msg () {
  {
    printf 'From: Alice <alice@client.test>\nTo: <%s@test.example>\nSubject: %s\n' "$U" "$2"
    printf 'Date: Sun, 06 Dec 2026 12:00:00 +0000\nMessage-ID: <%s@client.test>\n' "$(echo "$2" | tr ' ' -)"
    [ $# -ge 3 ] && printf 'X-Ketch-Test: %s\n' "$3"
    printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nA short note about the %s.\n' "$2"
  } > "$1"
}
msg "$T/clean" "clean message"
msg "$T/addh" "add header" add-header
msg "$T/rewr" "rewrite subject" rewrite-subject
{ printf 'From: <alice@client.test>\nTo: <%s@test.example>\nSubject: gtube\n' "$U"
  printf 'Date: Sun, 06 Dec 2026 12:00:00 +0000\nMessage-ID: <gtube@client.test>\n\n'
  printf 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\n' ; } > "$T/gtube"

# the peer alone
got=$(mclient inet:127.0.0.1:"$PR" "$T/gtube" 2>&1)
is "$got" "E y 554 5.7.1 Gtube pattern" "rspamd itself: GTUBE is a 554 reply at the end of the message"
got=$(mclient inet:127.0.0.1:"$PR" "$T/rewr" 2>&1)
case $got in *"E m 1 Subject: [spam] rewrite subject"*"E a"*) r=0 ;; *) r=1 ;; esac
ok $r "rspamd itself: rewrite subject by a change of Subject" "$got"

PORT=$(free_port)
mkinstance "deliver maildir $T/Maildir/%u/" "filter rspamd inet:127.0.0.1:$PR" "listen 127.0.0.1 port $PORT filter rspamd"
run_instance "$CONF"
ok $? "ketch running with rspamd as its listener's filter"

got=$(msend "$PORT" alice@client.test "$U@test.example" "$T/gtube")
is "$got" "554 5.7.1 Gtube pattern" "GTUBE: refused at the end of data with rspamd's reply"
check "the log says which filter refused the message" grep -qE 'filter name=rspamd stage=eom action=reject reply="554 5.7.1 Gtube pattern"' "$T/listen.log"

is "$(msend "$PORT" alice@client.test "$U@test.example" "$T/clean")" 250 "a clean message is accepted"
f=$(mail_with "$NEW" '^Subject: clean message')
ok $? "the clean message arrives in the Maildir"
# sent before the clean one, it would be there by now
check "GTUBE: not delivered" sh -c "! grep -qs GTUBE-STANDARD '$NEW'/*"
check "it carries rspamd's X-Spamd-Result" grep -q '^X-Spamd-Result: default: False' "$f"
check "and X-Rspamd-Action: no action" grep -q '^X-Rspamd-Action: no action' "$f"
check "and rspamd's Authentication-Results" grep -q '^Authentication-Results: ' "$f"
# local-deliver's Return-Path and Delivered-To, then ketch's Received:
# the filter's header insertion at index 1 comes after it (issue 19.2)
is "$(sed -n 3p "$f" | cut -d' ' -f1)" "Received:" "ketch's Received stays the message's first header"

is "$(msend "$PORT" alice@client.test "$U@test.example" "$T/addh")" 250 "add header: accepted"
f=$(mail_with "$NEW" '^Subject: add header')
check "add header: X-Spam: Yes and X-Rspamd-Action: add header in the Maildir" \
  sh -c "grep -q '^X-Spam: Yes' '$f' && grep -q '^X-Rspamd-Action: add header' '$f'"

is "$(msend "$PORT" alice@client.test "$U@test.example" "$T/rewr")" 250 "rewrite subject: accepted"
f=$(mail_with "$NEW" 'rewrite subject')
check "rewrite subject: the stored Subject is rspamd's, once" \
  sh -c "[ \"\$(grep -c '^Subject:' '$f')\" = 1 ] && grep -qx 'Subject: \\[spam\\] rewrite subject' '$f'"
done_testing
