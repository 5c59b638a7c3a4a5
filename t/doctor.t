#!/bin/sh
# ISC license: see LICENSE.
# ketch-doctor against a zone dnsmasq serves: once complete (exit 0, every
# line OK), then with each record missing or wrong, each reported as a
# FAIL line with its fix; a certificate for another name and an expired
# one; an open relay (relay-from 0.0.0.0/0) found by the dry run against
# a live smtp-listen; -j as JSON lines; -n without any DNS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
. "$(dirname "$0")/remote-lib.sh"
plan 30
need dnsmasq dnsmasq-base
need openssl openssl

cd "$T" || exit 1
DP=$(free_port) ; PL=$(free_port) ; PO=$(free_port)
H=mx.test.example
IP=192.0.2.25
RNAME=25.2.0.192.in-addr.arpa

# certificates: the host's (90 days), another name's, an expired one (openssl ca sets past dates)
cert () {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/$1.key" -out "$T/$1.csr" \
    -subj "/CN=$2" -addext "subjectAltName=DNS:$2" >/dev/null 2>&1 &&
  : > "$T/index.txt" &&
  printf '[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\nnew_certs_dir = %s\nrand_serial = yes\npolicy = p\ndefault_md = sha256\ncopy_extensions = copy\n[p]\ncommonName = supplied\n' "$T" "$T" > "$T/ca.cnf" &&
  openssl ca -config "$T/ca.cnf" -batch -selfsign -keyfile "$T/$1.key" -in "$T/$1.csr" -startdate "$3" -enddate "$4" -out "$T/$1.pem" >/dev/null 2>&1
}
now=$(date -u +%s)
d () { date -u -d "@$1" +%Y%m%d%H%M%SZ ; }
cert good "$H" "$(d $((now - 86400)))" "$(d $((now + 90 * 86400)))" &&
cert other other.example "$(d $((now - 86400)))" "$(d $((now + 90 * 86400)))" &&
cert old "$H" 20200101000000Z 20200201000000Z
ok $? "test certificates made with openssl"

printf 'v@v.example %s/vmail/v/\n' "$T" > "$T/v.map"
mkinstance "listen 127.0.0.1 port $PL starttls" "certificate $T/good.pem key $T/good.key" \
  "virtual-domain v.example map $T/v.map" "resolver 127.0.0.1 port $DP"
start_listen
ok $? "smtp-listen ready"

# the complete zone, one dnsmasq argument a line; a variant edits it with sed
cat > "$T/zone" <<EOF
--local=/example/
--local=/2.0.192.in-addr.arpa/
--host-record=$H,$IP
--mx-host=test.example,$H,10
--mx-host=v.example,$H,10
--txt-record=$H,v=spf1 a -all
--txt-record=test.example,v=spf1 mx -all
--txt-record=v.example,v=spf1 include:test.example -all
--txt-record=_dmarc.test.example,v=DMARC1; p=reject; rua=mailto:dmarc@test.example
--txt-record=_dmarc.v.example,v=DMARC1; p=none
--txt-record=_mta-sts.test.example,v=STSv1; id=20261206
--txt-record=_smtp._tls.test.example,v=TLSRPTv1; rua=mailto:tls@test.example
EOF

# zone [SED-SCRIPT]: dnsmasq on $DP serving the zone, edited
zone () {
  [ -n "${zpid:-}" ] && stop_last
  sed "${1:-}" "$T/zone" > "$T/zone.now"
  set --
  while IFS= read -r _l ; do set -- "$@" "$_l" ; done < "$T/zone.now"
  dns "$DP" "$@"
  zpid=$!
}

# doctor [ARGS]: its output in $T/out, status in $rc
doctor () {
  ketch-doctor -C "$CONF" "$@" > "$T/out" 2> "$T/err"
  rc=$?
}

zone
doctor
diag "$(cat "$T/out")"
check "complete: exit 0" test "$rc" = 0
check "complete: every line OK" sh -c "test -s '$T/out' && ! grep -v '^OK ' '$T/out'"
check "complete: MX, PTR (from the host name's A record: the listener is loopback), SPF, DMARC, MTA-STS, TLS-RPT, certificate and relay said" sh -c "
  grep -q '^OK mx test.example: MX 10 $H is this host' '$T/out' &&
  grep -q '^OK mx v.example: ' '$T/out' &&
  grep -q '^OK ptr $IP: PTR $H, forward-confirmed' '$T/out' &&
  grep -q '^OK spf test.example: $IP passes' '$T/out' &&
  grep -q '^OK spf v.example: $IP passes' '$T/out' &&
  grep -q '^OK spf $H: $IP passes' '$T/out' &&
  grep -q '^OK dmarc test.example: .*p=reject' '$T/out' &&
  grep -q '^OK mta-sts test.example: ' '$T/out' &&
  grep -q '^OK tls-rpt test.example: ' '$T/out' &&
  grep -q '^OK certificate $T/good.pem: covers $H' '$T/out' &&
  grep -q '^OK relay 127.0.0.1 port $PL: RCPT TO:<relay-test@example.net> from 127.0.0.1 refused (550)' '$T/out'"

doctor -j
check "-j: one JSON object a line, with level, check, subject, message and fix" python3 -c "
import json, sys
n = 0
for line in open('$T/out'):
    o = json.loads(line)
    assert set(o) == {'level', 'check', 'subject', 'message', 'fix'}, o
    assert o['level'] == 'OK', o
    n += 1
assert n >= 15, n
"

# broken VARIANT-NAME SED-SCRIPT EXPECTED: the zone edited, ketch-doctor exits 1 with the line EXPECTED (grep -F)
broken () {
  zone "$2"
  doctor
  if [ "$rc" = 1 ] && grep -qF -- "$3" "$T/out" ; then ok 0 "$1: FAIL with the fix"
  else ok 1 "$1: FAIL with the fix" "$(echo "exit $rc, expected: $3" ; cat "$T/out" "$T/err")" ; fi
}
broken "no MX" "/--mx-host=test.example/d" \
  "FAIL mx test.example: no MX record (senders fall back to the domain's own address, RFC 5321 section 5.1); fix: test.example. IN MX 10 $H."
broken "MX elsewhere" "s/--mx-host=test.example,.*/--mx-host=test.example,mail.elsewhere.example,10\n--host-record=mail.elsewhere.example,198.51.100.7/" \
  "FAIL mx test.example: the MX records (mail.elsewhere.example) do not point at this host ($H); fix: test.example. IN MX 10 $H."
broken "no A" "/--host-record=$H/d" \
  "FAIL address $H: no A or AAAA record; fix: $H. IN A <this host's public IPv4 address>"
broken "PTR mismatch" "s/--host-record=$H,.*/--address=\/$H\/$IP\n--ptr-record=$RNAME,other.example/" \
  "FAIL ptr $IP: its PTR is other.example, not the host name $H (the host name's address: the listen lines name no public one); fix: $RNAME. IN PTR $H."
broken "no SPF" "/--txt-record=test.example,v=spf1/d" \
  "FAIL spf test.example: no SPF record; fix: test.example. IN TXT \"v=spf1 ip4:$IP -all\""
broken "SPF not covering" "s/--txt-record=test.example,v=spf1.*/--txt-record=test.example,v=spf1 ip4:198.51.100.0\/24 -all/" \
  "FAIL spf test.example: $IP gets fail, not pass: receivers do not take this host as a sender for test.example; fix: test.example. IN TXT \"v=spf1 ip4:$IP ip4:198.51.100.0/24 -all\""
broken "SPF with 11 lookups (counted through an include)" "s/--txt-record=test.example,v=spf1.*/--txt-record=test.example,v=spf1 mx include:i.test.example -all\n--txt-record=i.test.example,v=spf1 a a a a a a a a a ?all/" \
  "FAIL spf test.example: 11 DNS-querying terms (include, a, mx, ptr, exists, redirect, counted through the includes), more than 10: receivers return permerror (RFC 7208 section 4.6.4); fix: replace include, a, mx and ptr terms"
broken "SPF syntax" "s/--txt-record=test.example,v=spf1.*/--txt-record=test.example,v=spf1 ip4:192.0.2 -all/" \
  "FAIL spf test.example: test.example: syntax error at character 12: not an IPv4 address; fix: test.example. IN TXT \"v=spf1 ip4:$IP -all\""
broken "no DMARC" "/--txt-record=_dmarc.test.example/d" \
  "FAIL dmarc test.example: no DMARC record at _dmarc.test.example; fix: _dmarc.test.example. IN TXT \"v=DMARC1; p=none; rua=mailto:postmaster@test.example\""
broken "bad DMARC" "s/--txt-record=_dmarc.test.example,.*/--txt-record=_dmarc.test.example,v=DMARC1; p=maybe/" \
  "FAIL dmarc test.example: \"v=DMARC1; p=maybe\": p= must be none, quarantine or reject (at character 11); fix: _dmarc.test.example. IN TXT \"v=DMARC1; p=none; rua=mailto:postmaster@test.example\""
broken "bad MTA-STS TXT" "s/--txt-record=_mta-sts.test.example,.*/--txt-record=_mta-sts.test.example,v=STSv1; id=2026-12-06/" \
  "FAIL mta-sts test.example: \"v=STSv1; id=2026-12-06\": id= is 1 to 32 letters and digits (at character 17); fix: _mta-sts.test.example. IN TXT \"v=STSv1; id="
broken "bad TLS-RPT TXT" "s/--txt-record=_smtp._tls.test.example,.*/--txt-record=_smtp._tls.test.example,v=TLSRPTv1; rua=ftp:\/\/x.example/" \
  "FAIL tls-rpt test.example: \"v=TLSRPTv1; rua=ftp://x.example\": rua= takes mailto: or https:// URIs separated by , (at character 17); fix: _smtp._tls.test.example. IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@test.example\""

# certificates, offline (-n): the DNS is not asked at all
zone
cp "$CONF" "$T/good.conf"
sed "s|^certificate .*|certificate $T/other.pem key $T/other.key|" "$T/good.conf" > "$CONF"
doctor -n
check "certificate for another name: FAIL with the fix" sh -c "[ $rc = 1 ] && grep -qF 'FAIL certificate $T/other.pem: its names (other.example) do not cover the host name $H; fix: a certificate for $H (certbot certonly --standalone -d $H' '$T/out'"
sed "s|^certificate .*|certificate $T/old.pem key $T/old.key|" "$T/good.conf" > "$CONF"
doctor -n
check "expired certificate: FAIL with the fix" sh -c "[ $rc = 1 ] && grep -qF 'FAIL certificate $T/old.pem: expired on 2020-02-01; fix: renew it' '$T/out'"
cp "$T/good.conf" "$CONF"

# -n: no DNS (none is running now) and no dry run; configuration and certificate only
stop_last ; zpid=
doctor -n
diag "$(cat "$T/out")"
check "-n without DNS: exit 0, every line OK" sh -c "[ $rc = 0 ] && test -s '$T/out' && ! grep -v '^OK ' '$T/out'"
check "-n: no DNS check and no dry run" sh -c "! grep -Eq '^[A-Z]+ (mx|ptr|spf|dmarc|address|mta-sts|tls-rpt) ' '$T/out' && ! grep -q 'port $PL' '$T/out'"
check "-n: the certificate is checked" grep -q "^OK certificate $T/good.pem: [0-9]* days left" "$T/out"
# without -n and without a resolver: FAIL, never a silent OK
doctor
check "no resolver: FAIL with the temporary DNS failure, exit 1" sh -c "[ $rc = 1 ] && grep -q '^FAIL mx test.example: temporary DNS failure' '$T/out'"

# an open relay: a second listener whose configuration trusts every address
zone
sed "s/port $PL starttls/port $PO/" "$T/good.conf" > "$T/open.conf"
echo "relay-from 0.0.0.0/0" >> "$T/open.conf"
smtp-listen -C "$T/open.conf" -d 3 3>"$T/ready2" 2>>"$T/smtp.log" &
OPID=$!
at_exit "kill $OPID 2>/dev/null"
wait_for 5 test -s "$T/ready2"
ok $? "an open listener ready"
ketch-doctor -C "$T/open.conf" > "$T/out" 2>"$T/err" ; rc=$?
check "relay open: the dry run's RCPT accepted, FAIL with the fix" sh -c "[ $rc = 1 ] && grep -qF 'FAIL relay 127.0.0.1 port $PO: RCPT TO:<relay-test@example.net> from 127.0.0.1 accepted (250): an open relay; fix: relay-from with your own networks only' '$T/out'"
check "relay open: relay-from 0.0.0.0/0 is a FAIL offline too" grep -qF "FAIL relay relay-from: 0.0.0.0/0 lets most of the internet relay through this host: an open relay" "$T/out"
kill "$OPID" 2>/dev/null
# a listener that is down: the dry run is a WARN, not an OK
stop_listen
doctor
check "a listener not running: WARN, the dry run not made" grep -q "^WARN relay 127.0.0.1 port $PL: not reachable" "$T/out"
check "usage: exit 100" sh -c "ketch-doctor -C '$CONF' -x >/dev/null 2>&1 ; [ \$? = 100 ]"
check "a bad configuration: exit 100" sh -c "echo 'nonsense' > '$T/bad.conf' ; ketch-doctor -C '$T/bad.conf' >/dev/null 2>&1 ; [ \$? = 100 ]"
done_testing
