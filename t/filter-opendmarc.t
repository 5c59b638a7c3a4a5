#!/bin/sh
# ISC license: see LICENSE.
# OpenDMARC (Debian 12) on an MX listener, after OpenDKIM's verifier on the
# same listener (issue 19: several filters, in order): it adds its verdict
# header, Authentication-Results: mx.test.example; dmarc=..., with the
# policy of client.test's _dmarc TXT record (p=reject) from dnsmasq.
# Unsigned: dmarc=fail. Signed by client.test's key: dkim=pass from the
# first filter, which the second reads (a later filter sees the headers an
# earlier one added, as in sendmail), so dmarc=pass. OpenDMARC is checked
# by itself first (t/milterclient.py).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"
. "$(dirname "$0")/run-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
plan 13
need opendmarc opendmarc
need opendkim opendkim
need opendkim-genkey opendkim-tools
need dnsmasq dnsmasq-base
"$MPY" -c 'import dkim' 2>/dev/null || fail_rest "python3's dkim is missing (Debian package python3-dkim)"

U=$(test_user km) || bail "useradd failed"
mkdir -p "$T/Maildir" && chmod 1777 "$T/Maildir"
NEW=$T/Maildir/$U/new

dkim_key client.test sel
mdns "$DKIM_DNS" "--txt-record=_dmarc.client.test,v=DMARC1; p=reject"
ok $? "dnsmasq serves client.test's key and DMARC policy" "$milter_why"
PV=$(free_port) ; PD=$(free_port)
opendkim_start dkimverify "$PV" v
ok $? "OpenDKIM verifier ready" "$milter_why"
opendmarc_start dmarc "$PD"
ok $? "OpenDMARC ready" "$milter_why"

# msg FILE SUBJECT [signed]: a message from alice@client.test, signed by the test with client.test's key
msg () {
  printf 'From: Alice <alice@client.test>\nTo: <%s@test.example>\nSubject: %s\nDate: Sun, 06 Dec 2026 12:00:00 +0000\nMessage-ID: <%s@client.test>\n\nA note.\n' \
    "$U" "$2" "$(echo "$2" | tr ' ' '-')" > "$1"
  [ $# -ge 3 ] || return 0
  "$MPY" -c '
import dkim, sys
key = open(sys.argv[1], "rb").read(); m = open(sys.argv[2], "rb").read()
open(sys.argv[2], "wb").write(dkim.sign(m, b"sel", b"client.test", key, include_headers=[b"from", b"to", b"subject", b"date"]) + m)
' "$DKIM_KEY" "$1"
}
msg "$T/plain" "not signed"
msg "$T/signed" "signed" signed

# the peer alone: unsigned fails; the verifier's result makes it pass
got=$(mclient inet:127.0.0.1:"$PD" "$T/plain" 2>&1)
case $got in *"Authentication-Results: mx.test.example; dmarc=fail (p=reject dis=none) header.from=client.test"*) r=0 ;; *) r=1 ;; esac
ok $r "OpenDMARC itself: an unsigned message fails client.test's policy" "$got"
mclient --out "$T/signed.v" inet:127.0.0.1:"$PV" "$T/signed" >/dev/null 2>&1
got=$(mclient inet:127.0.0.1:"$PD" "$T/signed.v" 2>&1)
case $got in *"dmarc=pass (p=reject dis=none) header.from=client.test"*) r=0 ;; *) r=1 ;; esac
ok $r "OpenDMARC itself: with OpenDKIM's dkim=pass, the signed message passes" "$got"

PORT=$(free_port)
mkinstance "deliver maildir $T/Maildir/%u/" \
  "filter dkimverify inet:127.0.0.1:$PV" "filter dmarc inet:127.0.0.1:$PD" \
  "listen 127.0.0.1 port $PORT filter dkimverify filter dmarc"
run_instance "$CONF"
ok $? "ketch running: an MX listener with OpenDKIM then OpenDMARC"

is "$(msend "$PORT" bob@elsewhere.test "$U@test.example" "$T/plain")" 250 "the unsigned message is accepted (RejectFailures is off)"
f=$(mail_with "$NEW" '^Subject: not signed')
ok $? "it arrives"
check "OpenDMARC's verdict: dmarc=fail for client.test" grep -q '^Authentication-Results: mx.test.example; dmarc=fail (p=reject dis=none) header.from=client.test' "$f"
check "and its DMARC-Filter header" grep -q '^DMARC-Filter: OpenDMARC Filter v1' "$f"

is "$(msend "$PORT" bob@elsewhere.test "$U@test.example" "$T/signed")" 250 "the signed message is accepted"
f=$(mail_with "$NEW" '^Subject: signed')
check "OpenDKIM's verdict: dkim=pass" grep -qE '^[[:space:]]+dkim=pass .*header.d=client.test' "$f"
check "OpenDMARC, after it on the listener, read it: dmarc=pass" grep -q '^Authentication-Results: mx.test.example; dmarc=pass (p=reject dis=none) header.from=client.test' "$f"
done_testing
