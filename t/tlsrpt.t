#!/bin/sh
# ISC license: see LICENSE.
# TLS-RPT (RFC 8460, issue 21.3): remote-send records each TLS
# negotiation with a domain's MX host under a shortened period
# (tlsrpt-period 3s); once the period is over, tlsrpt-send reports: the
# domain whose _smtp._tls TXT record (dnsmasq) names a mailto: rua gets
# one message through our own queue into a test Maildir, whose gzipped
# JSON (parsed with python3's gzip and json) counts what happened: one
# success, STARTTLS not offered, a certificate for another name, an
# untrusted certificate. A domain without a record gets nothing; the
# records go either way; a second run sends nothing twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 19
need python3 python3
need openssl openssl
need dnsmasq dnsmasq-base

# cert NAME CN: a self-signed certificate for CN in $T/NAME.pem, key $T/NAME.key
cert () {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.pem" -days 2 \
    -subj "/CN=$2" -addext "subjectAltName=DNS:$2" >/dev/null 2>&1 || bail "openssl cannot make a test certificate"
}
cert good mx1.rpt.test
cert other elsewhere.test
cert stranger mx1.rpt.test
# the trust anchors: good and other (trusted, another name); stranger is not among them
cat "$T/good.pem" "$T/other.pem" > "$T/ca.pem"

U=$(test_user tr)
mkdir -p "$T/mail" && chown "$U" "$T/mail"
printf 'reports@rptbox.test %s/mail/box\n' "$T" > "$T/vmap"
chown "$U" "$T/vmap"

P=$(free_port)
DP=$(free_port)
dns "$DP" \
  --mx-host=rpt.test,mx1.rpt.test,10 --mx-host=norpt.test,mx1.rpt.test,10 \
  --host-record=mx1.rpt.test,127.0.0.2 \
  --txt-record=_smtp._tls.rpt.test,"v=TLSRPTv1; rua=mailto:reports@rptbox.test"
port_open 127.0.0.1 "$DP" || bail "dnsmasq did not start: $(cat "$T/dns.err")"
mkinstance "resolver 127.0.0.1 port $DP" "remote-port $P" "ca-file $T/ca.pem" \
  "tls-policy rpt.test verify" "tls-policy norpt.test verify" "tlsrpt-period 3s" \
  "virtual-domain rptbox.test map $T/vmap" "retry local 1s" "timeout connect 2s" "timeout command 10s"

# the virtual map is read from its compiled form
newaliases -C "$CONF"
check "mkspool makes tlsrpt/" test -d "$SPOOL/tlsrpt"

# started NAME: a peer that did not start fails the test
started () { [ -e "$T/$1.ready" ] || bail "peer $1 did not start: $(cat "$T/$1.err")" ; }
# deliver NAME DOMAIN PEER-OPTIONS...: one message to a@DOMAIN through remote-send, the peer NAME as its MX
deliver () {
  _n=$1 ; _d=$2 ; shift 2
  peer "$_n" 127.0.0.2 "$P" "$@" ; started "$_n"
  rs "$_d" s@me.test "a@$_d" < "$T/msg"
  stop_last
}
deliver good rpt.test --tls "$T/good.pem" "$T/good.key"
check "good: delivered" grep -q '^ok ' "$T/out"
deliver good2 norpt.test --tls "$T/good.pem" "$T/good.key"
deliver plain rpt.test
check "no STARTTLS: deferred under verify" grep -q '^temp ' "$T/out"
deliver other rpt.test --tls "$T/other.pem" "$T/other.key"
check "another name: deferred" grep -q '^temp ' "$T/out"
deliver stranger rpt.test --tls "$T/stranger.pem" "$T/stranger.key"
check "an untrusted certificate: deferred" grep -q '^temp ' "$T/out"

lines () { cat "$SPOOL"/tlsrpt/*/"$1" 2>/dev/null | wc -l | tr -d ' ' ; }
check "four results recorded for rpt.test" test "$(lines rpt.test)" = 4
check "one for norpt.test" test "$(lines norpt.test)" = 1

# the periods of the records are over (3 s, and tlsrpt-send's 2 s grace)
sleep 6
tlsrpt-send -C "$CONF" -1 2> "$T/send.log"
check "tlsrpt-send: exit 0" test $? = 0
check "the report for rpt.test is queued" grep -q 'domain="rpt.test" result=reported .*sent=[1-9]' "$T/send.log"
check "norpt.test has no TLS-RPT record: nothing sent" grep -q 'domain="norpt.test" result=none' "$T/send.log"
check "the records are removed" test -z "$(find "$SPOOL/tlsrpt" -mindepth 1)"
tlsrpt-send -C "$CONF" -1 2> "$T/send2.log"
check "a second run reports nothing" sh -c "! grep -q 'result=' '$T/send2.log'"

SPID=""
at_exit 'kill $SPID 2>/dev/null'
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>>"$T/sched.log" &
SPID=$!
wait_for 10 test -s "$T/sready" || bail "the scheduler did not start: $(cat "$T/sched.log")"
# the records may straddle two periods: a report for each, all of them awaited
nq=$(grep -c 'result=queued' "$T/send.log")
check "the reports reach the mailbox" wait_for 20 mail_ge "$T/mail/box/new" "$nq"

# every report in the mailbox, summed: what happened to rpt.test, and nothing of norpt.test
python3 - "$T/mail/box/new" > "$T/check.out" 2>&1 <<'PY'
import email, gzip, json, os, sys
d = sys.argv[1]
ok = failed = 0
results = []
for f in sorted(os.listdir(d)):
    m = email.message_from_binary_file(open(os.path.join(d, f), 'rb'))
    assert m.get_content_type() == 'multipart/report', m.get_content_type()
    assert m.get_param('report-type') == 'tlsrpt'
    assert m['TLS-Report-Domain'] == 'rpt.test' and m['TLS-Report-Submitter'] == 'mx.test.example'
    assert m['Subject'].startswith('Report Domain: rpt.test Submitter: mx.test.example Report-ID: <'), m['Subject']
    parts = [p for p in m.walk() if p.get_content_type() == 'application/tlsrpt+gzip']
    assert len(parts) == 1
    r = json.loads(gzip.decompress(parts[0].get_payload(decode=True)))
    assert r['organization-name'] == 'mx.test.example' and r['contact-info'] == 'postmaster@mx.test.example'
    assert r['date-range']['start-datetime'].endswith('Z') and r['report-id']
    for p in r['policies']:
        assert p['policy']['policy-type'] == 'no-policy-found' and p['policy']['policy-domain'] == 'rpt.test', p['policy']
        ok += p['summary']['total-successful-session-count']
        failed += p['summary']['total-failure-session-count']
        for x in p.get('failure-details', []):
            assert x['receiving-mx-hostname'] == 'mx1.rpt.test' and x['receiving-ip'] == '127.0.0.2' and x['sending-mta-ip'], x
            results += [x['result-type']] * x['failed-session-count']
print('success', ok, 'failed', failed, ' '.join(sorted(results)))
PY
diag "$(cat "$T/check.out")"
check "the JSON counts one success and three failures" grep -q '^success 1 failed 3 ' "$T/check.out"
check "the failures by RFC 8460 result type" grep -q ' certificate-host-mismatch certificate-not-trusted starttls-not-supported$' "$T/check.out"

# the service that sends them: made by ketch-services when tlsrpt-period is set, and only then
ketch-services -C "$CONF" "$T/service" 2>/dev/null
check "ketch-services: a tlsrpt-send service" grep -q 'tlsrpt-send' "$T/service/tlsrpt-send/run"

# tlsrpt-period 0 (the default): tlsrpt-send has nothing to do, remote-send records nothing
sed -i '/^tlsrpt-period/d' "$CONF"
ketch-services -C "$CONF" "$T/service" 2>/dev/null
check "ketch-services: no tlsrpt-send service with tlsrpt-period 0" test ! -e "$T/service/tlsrpt-send"
check "tlsrpt-period 0: tlsrpt-send refuses to run" sh -c "! tlsrpt-send -C '$CONF' -1 2>/dev/null"
deliver good3 rpt.test --tls "$T/good.pem" "$T/good.key"
check "tlsrpt-period 0: nothing recorded" test -z "$(find "$SPOOL/tlsrpt" -mindepth 1)"

done_testing
