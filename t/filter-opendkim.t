#!/bin/sh
# ISC license: see LICENSE.
# OpenDKIM (Debian 12) as the signer of a submission listener and of local
# mail (local-filter), and as the verifier of an MX listener (issue 19):
# what ketch stores after the signer verifies with an independent verifier
# (python3-dkim, t/dkimverify.py), the key's TXT record served by dnsmasq;
# that message sent to the MX gets dkim=pass from the verifier, and one
# the test signs and then alters gets dkim=fail. Both OpenDKIMs are checked
# by themselves first (t/milterclient.py).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"
. "$(dirname "$0")/run-lib.sh"
. "$(dirname "$0")/milter-lib.sh"
plan 21
need opendkim opendkim
need opendkim-genkey opendkim-tools
need dnsmasq dnsmasq-base
"$MPY" -c 'import dkim' 2>/dev/null || fail_rest "python3's dkim is missing (Debian package python3-dkim)"

U=$(test_user kd) || bail "useradd failed"
mkdir -p "$T/Maildir" && chmod 1777 "$T/Maildir"
NEW=$T/Maildir/$U/new

dkim_key client.test sel
ok $? "opendkim-genkey made a key for client.test"
mdns "$DKIM_DNS"
ok $? "dnsmasq serves sel._domainkey.client.test" "$milter_why"
PS=$(free_port) ; PV=$(free_port)
opendkim_start dkimsign "$PS" s client.test sel "$DKIM_KEY"
ok $? "OpenDKIM signer ready" "$milter_why"
opendkim_start dkimverify "$PV" v
ok $? "OpenDKIM verifier ready" "$milter_why"

# msg FILE SUBJECT: a message from alice@client.test
msg () {
  printf 'From: Alice <alice@client.test>\nTo: <%s@test.example>\nSubject: %s\nDate: Sun, 06 Dec 2026 12:00:00 +0000\nMessage-ID: <%s@client.test>\n\nSigned, %s.\n' \
    "$U" "$2" "$(echo "$2" | tr ' ' '-')" "$2" > "$1"
}

# the peers alone
msg "$T/m0" "peer check"
got=$(mclient --out "$T/m0.signed" inet:127.0.0.1:"$PS" "$T/m0" 2>&1)
case $got in *"DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; d=client.test; s=sel;"*) r=0 ;; *) r=1 ;; esac
ok $r "OpenDKIM itself signs" "$got"
check "python3-dkim verifies OpenDKIM's own signature" dkimverify "$T/m0.signed"
got=$(mclient inet:127.0.0.1:"$PV" "$T/m0.signed" 2>&1)
case $got in *"dkim=pass"*) r=0 ;; *) r=1 ;; esac
ok $r "OpenDKIM itself verifies it: dkim=pass" "$got"

printf 'alice:%s\n' "$(echo 'pw' | ketch-passwd)" > "$T/auth"
P587=$(free_port) ; P25=$(free_port)
mkinstance "deliver maildir $T/Maildir/%u/" "auth-table $T/auth" \
  "filter dkimsign inet:127.0.0.1:$PS" "filter dkimverify inet:127.0.0.1:$PV" \
  "listen 127.0.0.1 port $P587 plain-auth auth-required filter dkimsign" \
  "listen 127.0.0.1 port $P25 filter dkimverify" "local-filter dkimsign"
run_instance "$CONF"
ok $? "ketch running: submission with the signer, MX with the verifier"

# submission: signed
msg "$T/m1" "submitted"
is "$(msend "$P587" alice@client.test "$U@test.example" "$T/m1" alice pw)" 250 "submission (AUTH PLAIN) accepted"
f=$(mail_with "$NEW" '^Subject: submitted')
ok $? "the submitted message arrives"
check "it carries OpenDKIM's signature for client.test" grep -qE '^DKIM-Signature: *v=1; a=rsa-sha256; c=simple/simple; d=client.test; s=sel;' "$f"
# OpenDKIM would take SMFIP_HDR_LEADSPC if it were offered: it would then
# sign "From:Alice <...>" and its " v=1; ..." would be stored with a
# second space; with its default simple/simple the stored signature must
# verify (lib/milter.h: the flag is not offered).
check "python3-dkim verifies the stored message" dkimverify "$f"
cp "$f" "$T/submitted.stored" 2>/dev/null

# the MX: the stored message again, without local-deliver's Return-Path and
# Delivered-To (a loop, else); OpenDKIM adds Authentication-Results
# (the Maildir emptied first: the copy has the same Subject, which is signed)
sed -e '1,2d' "$T/submitted.stored" > "$T/m2" 2>/dev/null
rm -f "$NEW"/*
is "$(msend "$P25" bob@client.test "$U@test.example" "$T/m2")" 250 "the signed message, sent to the MX, is accepted"
f=$(mail_with "$NEW" '^Subject: submitted')
check "the MX's verifier says dkim=pass" grep -qE '^[[:space:]]+dkim=pass .*header.d=client.test' "$f"
check "Authentication-Results by mx.test.example" grep -qE '^Authentication-Results: +mx.test.example;' "$f"
check "one SP after its colon, as OpenDKIM meant it" grep -q '^Authentication-Results: mx.test.example;' "$f"

# signed by the test, then altered: dkim=fail
msg "$T/m3" "altered"
"$MPY" - "$DKIM_KEY" "$T/m3" <<'EOF' > "$T/m3.signed"
import dkim, sys
key = open(sys.argv[1], 'rb').read()
m = open(sys.argv[2], 'rb').read()
sig = dkim.sign(m, b'sel', b'client.test', key, include_headers=[b'from', b'to', b'subject', b'date'])
sys.stdout.buffer.write(sig + m.replace(b'Signed, altered.', b'Signed, altered after signing.'))
EOF
is "$(msend "$P25" bob@client.test "$U@test.example" "$T/m3.signed")" 250 "a signed then altered message is accepted"
f=$(mail_with "$NEW" '^Subject: altered')
check "the MX's verifier says dkim=fail" grep -qE '^[[:space:]]+dkim=fail .*header.d=client.test' "$f"

# local mail: sendmail's message goes through the local-filter, the signer
msg "$T/m4" "local script"
sendmail -C "$CONF" -f alice@client.test "$U@test.example" < "$T/m4"
ok $? "sendmail accepted a local script's message"
f=$(mail_with "$NEW" '^Subject: local script')
# sendmail's filters see localhost [127.0.0.1], as Postfix's
# non_smtpd_milters do (cleanup_milter.c): OpenDKIM signs such a client as
# shipped (InternalHosts defaults to 127.0.0.1).
check "the local script's message carries OpenDKIM's signature" grep -q '^DKIM-Signature:.*d=client.test; s=sel;' "$f"
check "python3-dkim verifies it" dkimverify "$f"
done_testing
