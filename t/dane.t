#!/bin/sh
# ISC license: see LICENSE.
# DANE (RFC 7672) end to end, with real DNSSEC: a zone signed here
# (ldns-keygen, ldns-signzone), served by an authoritative unbound on
# loopback, behind a validating unbound that holds the zone's trust
# anchor; remote-send is given the validating one as its dnssec-resolver
# and delivers to scripted TLS peers on 127.0.0.2 and up (the MX hosts'
# addresses in the zone). DANE-EE and DANE-TA matches deliver; a wrong
# record, a wrong certificate, a name mismatch under DANE-TA, a peer
# without STARTTLS and a bogus (tampered) zone defer with the reason
# logged; an unsigned zone falls back to opportunistic TLS; tls-policy
# none, encrypt and dane-only override; a plain "resolver" is never
# trusted for the AD bit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 57
need python3 python3
need openssl openssl
need unbound unbound
need ldns-signzone ldnsutils
need drill ldnsutils

cd "$T" || bail "no test directory"
# certificates: a self-signed one (DANE-EE), a CA and leaves it signed (DANE-TA)
ec () { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" >/dev/null 2>&1 ; }
ec -x509 -keyout ee.key -out ee.pem -days 2 -subj /CN=not-the-mx.example || bail "openssl: ee"
ec -x509 -keyout ca.key -out ca.pem -days 2 -subj "/CN=DANE test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign || bail "openssl: ca"
leaf () {
  ec -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" || return 1
  printf 'subjectAltName=DNS:%s\n' "$2" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$1.ext" -out "$1.crt" >/dev/null 2>&1 || return 1
  cat "$1.crt" ca.pem > "$1.pem"
}
leaf ta mx-ta.dane.test || bail "openssl: leaf"
leaf taname other-name.example || bail "openssl: leaf"
hex () { od -An -v -tx1 | tr -d ' \n' ; }
spki256 () { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | hex ; }
cert256 () { openssl x509 -in "$1" -outform DER | openssl dgst -sha256 -binary | hex ; }
cert512 () { openssl x509 -in "$1" -outform DER | openssl dgst -sha512 -binary | hex ; }
EE=$(spki256 ee.pem) ; EE512=$(cert512 ee.pem) ; CA=$(cert256 ca.pem) ; CASPKI=$(spki256 ca.pem)
[ ${#EE} = 64 ] && [ ${#EE512} = 128 ] && [ ${#CA} = 64 ] || bail "cannot hash the test certificates"
ZERO=0000000000000000000000000000000000000000000000000000000000000001

P=$(free_port) ; AP=$(free_port) ; VP=$(free_port) ; DEADP=$(free_port)
# zone NAME BODY: a zone file for NAME
zone () {
  { printf '$ORIGIN %s.\n$TTL 300\n@ IN SOA ns.%s. h.%s. 1 3600 600 86400 300\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$1" "$1" "$1" "$1"
    printf '%s\n' "$2" ; } > "$1.zone"
}
zone dane.test "
ee IN MX 10 mx-ee
mx-ee IN A 127.0.0.2
_$P._tcp.mx-ee IN TLSA 3 1 1 $EE
ee512 IN MX 10 mx-ee512
mx-ee512 IN A 127.0.0.3
_$P._tcp.mx-ee512 IN TLSA 3 0 2 $EE512
ta IN MX 10 mx-ta
mx-ta IN A 127.0.0.4
_$P._tcp.mx-ta IN TLSA 2 0 1 $CA
taname IN MX 10 mx-taname
mx-taname IN A 127.0.0.5
_$P._tcp.mx-taname IN TLSA 2 1 1 $CASPKI
wrong IN MX 10 mx-wrong
none IN MX 10 mx-wrong
enc IN MX 10 mx-wrong
mx-wrong IN A 127.0.0.6
_$P._tcp.mx-wrong IN TLSA 3 1 1 $ZERO
wcert IN MX 10 mx-wcert
mx-wcert IN A 127.0.0.7
_$P._tcp.mx-wcert IN TLSA 3 1 1 $EE
nostls IN MX 10 mx-nostls
mx-nostls IN A 127.0.0.8
_$P._tcp.mx-nostls IN TLSA 3 1 1 $EE
unusable IN MX 10 mx-unusable
mx-unusable IN A 127.0.0.9
_$P._tcp.mx-unusable IN TLSA 1 1 1 $EE
dead IN MX 10 mx-dead
mx-dead IN A 127.0.0.13
notlsa IN MX 10 mx-notlsa
only IN MX 10 mx-notlsa
mx-notlsa IN A 127.0.0.10"
zone bogus.test "
@ IN MX 10 mx
mx IN A 127.0.0.11
_$P._tcp.mx IN TLSA 3 1 1 $EE"
zone plain.test "
@ IN MX 10 mx
mx IN A 127.0.0.12
_$P._tcp.mx IN TLSA 3 1 1 $ZERO"
for z in dane.test bogus.test ; do
  k=$(ldns-keygen -a ECDSAP256SHA256 -k $z 2>>ldns.err) && ldns-signzone -n $z.zone "$k" 2>>ldns.err && cat "$k.ds" >> anchors \
    || bail "cannot sign $z: $(cat ldns.err)"
done
# bogus.test: the TLSA record changed after signing, its signature kept
sed -i "s/^\(_$P\._tcp\.mx\.bogus\.test\.[[:space:]].*TLSA[[:space:]]*3 1 1 \)[0-9a-fA-F]*/\1$ZERO/" bogus.test.zone.signed
grep -q "TLSA.*3 1 1 $ZERO" bogus.test.zone.signed || bail "cannot tamper with bogus.test"
cp plain.test.zone plain.test.zone.signed

# unbound PORT NAME MODULES: its configuration head (test. is a special-use name unbound refuses by default)
ubhead () {
  printf 'server:\n  interface: 127.0.0.1@%s\n  port: %s\n  do-ip6: no\n  username: ""\n  chroot: ""\n  directory: "%s"\n  pidfile: ""\n' "$1" "$1" "$T"
  printf '  use-syslog: no\n  logfile: "%s/%s.log"\n  do-daemonize: no\n  num-threads: 1\n  so-reuseport: no\n  verbosity: 1\n' "$T" "$2"
  printf '  module-config: "%s"\n  access-control: 127.0.0.0/8 allow\n  local-zone: "test." nodefault\n' "$3"
}
{ ubhead "$AP" auth iterator
  for z in dane.test bogus.test plain.test ; do
    printf 'auth-zone:\n  name: "%s."\n  zonefile: "%s/%s.zone.signed"\n  for-downstream: yes\n  for-upstream: no\n  fallback-enabled: no\n' $z "$T" $z
  done
  printf 'remote-control:\n  control-enable: no\n' ; } > auth.conf
{ ubhead "$VP" val "validator iterator"
  printf '  do-not-query-localhost: no\n  trust-anchor-file: "%s/anchors"\n  val-log-level: 2\n' "$T"
  for z in dane.test bogus.test plain.test ; do printf 'stub-zone:\n  name: "%s."\n  stub-addr: 127.0.0.1@%s\n' $z "$AP" ; done
  # the TLSA records of mx-dead.dane.test live on a server that does not answer (nothing listens on DEADP)
  printf 'stub-zone:\n  name: "_tcp.mx-dead.dane.test."\n  stub-addr: 127.0.0.1@%s\n' "$DEADP"
  printf 'remote-control:\n  control-enable: no\n' ; } > val.conf
unbound -d -c auth.conf 2>>unbound.err &
pids="$pids $!"
unbound -d -c val.conf 2>>unbound.err &
pids="$pids $!"
wait_for 10 sh -c "grep -q 'start of service' '$T/auth.log' && grep -q 'start of service' '$T/val.log'" \
  || bail "unbound did not start: $(cat unbound.err auth.log val.log 2>/dev/null)"
# the validating resolver answers with AD: the setup works before ketch is judged
check "the validating unbound answers the signed zone with AD" sh -c "drill -D @127.0.0.1 -p $VP ee.dane.test MX | grep -q 'flags:.* ad'"
check "the validating unbound answers SERVFAIL for the tampered TLSA record" sh -c "drill -D @127.0.0.1 -p $VP _$P._tcp.mx.bogus.test TLSA | grep -q 'rcode: SERVFAIL'"

# started NAME: a peer that did not start fails the test (its checks would pass for nothing)
started () { [ -e "$T/$1.ready" ] || bail "peer $1 did not start: $(cat "$T/$1.err")" ; }
peer ee 127.0.0.2 "$P" --tls ee.pem ee.key ; started ee
peer ee512 127.0.0.3 "$P" --tls ee.pem ee.key ; started ee512
peer ta 127.0.0.4 "$P" --tls ta.pem ta.key ; started ta
peer taname 127.0.0.5 "$P" --tls taname.pem taname.key ; started taname
peer wrong 127.0.0.6 "$P" --tls ee.pem ee.key ; started wrong
peer wcert 127.0.0.7 "$P" --tls ta.pem ta.key ; started wcert
peer nostls 127.0.0.8 "$P" ; started nostls
peer unusable 127.0.0.9 "$P" --tls ee.pem ee.key ; started unusable
peer notlsa 127.0.0.10 "$P" --tls ee.pem ee.key ; started notlsa
peer bogus 127.0.0.11 "$P" --tls ee.pem ee.key ; started bogus
peer plain 127.0.0.12 "$P" --tls ee.pem ee.key ; started plain
peer dead 127.0.0.13 "$P" --tls ee.pem ee.key ; started dead

mkinstance "dnssec-resolver 127.0.0.1 port $VP" "remote-port $P" "timeout connect 2s" "timeout command 10s" \
  "tls-policy none.dane.test none" "tls-policy enc.dane.test encrypt" "tls-policy only.dane.test dane-only"

# send DOMAIN NAME: a message for a@DOMAIN; NAME's transcript so far is moved aside
send () { : > "$T/$2.log" ; rs "$1" s@me.test "a@$1" < "$T/msg" ; cp "$T/err" "$T/$2.err.rs" ; cp "$T/err" "$T/$1.err.rs" ; }
under_tls () { sed -n '/TLS-ON/,$p' "$T/$1.log" | grep -q 'MAIL FROM' ; }
no_mail () { ! grep -q 'MAIL FROM' "$T/$1.log" ; }
logged () { grep -q "$2" "$T/$1.err.rs" ; }

send ee.dane.test ee
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "DANE-EE 3 1 1: delivered"
check "DANE-EE: under TLS" under_tls ee
check "DANE-EE: the policy logged" logged ee 'tls-policy host="mx-ee.dane.test" policy=dane tlsa=1 why="usable TLSA records"'
check "DANE-EE: dane=ok usage=3, TLS version and cipher logged" logged ee 'tls host=.* version=TLSv1.2 cipher=[A-Z0-9-]* mode=dane verified=yes policy=dane dane=ok usage=3'

send ee512.dane.test ee512
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "DANE-EE 3 0 2 (the whole certificate, SHA2-512): delivered"
check "DANE-EE 3 0 2: dane=ok usage=3" logged ee512 'dane=ok usage=3'

send ta.dane.test ta
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "DANE-TA 2 0 1, a chain from the test CA: delivered"
check "DANE-TA: under TLS" under_tls ta
check "DANE-TA: dane=ok usage=2" logged ta 'dane=ok usage=2'

send taname.dane.test taname
is "$(cut -d' ' -f1-2 out)" "temp 0" "DANE-TA 2 1 1, the leaf names another host: deferred"
check "DANE-TA, name mismatch: no MAIL" no_mail taname
check "DANE-TA, name mismatch: the reason logged" logged taname 'dane=fail reason="a DANE-TA record matches, but the certificate does not name the host"'

send wrong.dane.test wrong
is "$(cut -d' ' -f1-2 out)" "temp 0" "a wrong TLSA record: deferred"
check "wrong TLSA record: no MAIL" no_mail wrong
check "wrong TLSA record: the reason logged" logged wrong 'dane=fail reason="no TLSA record matches the server.s certificate chain"'
check "wrong TLSA record: the report says why, never in plaintext" grep -q 'no TLSA record matches.*tls dane: never in plaintext' out

send wcert.dane.test wcert
is "$(cut -d' ' -f1-2 out)" "temp 0" "a peer with the wrong certificate: deferred"
check "wrong certificate: no MAIL" no_mail wcert
check "wrong certificate: the reason logged" logged wcert 'dane=fail reason="no TLSA record matches'

send nostls.dane.test nostls
is "$(cut -d' ' -f1-2 out)" "temp 0" "TLSA records, a peer without STARTTLS: deferred"
check "no STARTTLS: no MAIL in plaintext" no_mail nostls
check "no STARTTLS: the reason logged" logged nostls 'does not offer STARTTLS.*tls dane: never in plaintext'

send unusable.dane.test unusable
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "only unusable TLSA records (PKIX-EE): delivered"
check "unusable TLSA records: TLS mandatory, so under TLS" under_tls unusable
check "unusable TLSA records: the policy logged as encrypt" logged unusable 'policy=encrypt tlsa=0 why="TLSA records, none usable'

send notlsa.dane.test notlsa
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "a signed domain without TLSA records: delivered"
check "no TLSA records: opportunistic, logged" logged notlsa 'policy=may tlsa=0 why="no TLSA records"'

send only.dane.test notlsa
is "$(cut -d' ' -f1-2 out)" "temp 0" "tls-policy dane-only, no TLSA records: deferred"
check "dane-only: no MAIL" no_mail notlsa
check "dane-only: the reason logged" logged notlsa 'no delivery under DANE: no TLSA records'

send bogus.test bogus
is "$(cut -d' ' -f1-2 out)" "temp 0" "a bogus TLSA record (signature broken): deferred"
check "bogus: no connection with MAIL" no_mail bogus
check "bogus: the reason logged" logged bogus 'no delivery under DANE: the TLSA records are bogus (DNSSEC validation failed)'

send dead.dane.test dead
is "$(cut -d' ' -f1-2 out)" "temp 0" "a TLSA lookup that fails (the zone unreachable): deferred"
check "unreachable TLSA zone: no MAIL" no_mail dead
check "unreachable TLSA zone: the reason logged, not taken for bogus" logged dead 'no delivery under DANE: the TLSA lookup failed'

send plain.test plain
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "an unsigned zone (its wrong TLSA record ignored): delivered"
check "unsigned zone: opportunistic TLS" under_tls plain
check "unsigned zone: the reason DANE does not apply logged" logged plain 'policy=may tlsa=0 why="the MX records are not DNSSEC-validated"'

send none.dane.test wrong
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "tls-policy none over a wrong TLSA record: delivered"
check "tls-policy none: no STARTTLS" sh -c "! grep -q '^C: STARTTLS' '$T/wrong.log' && grep -q 'tls=no' '$T/wrong.err.rs'"
check "tls-policy none: no TLSA lookup logged" sh -c "! grep -q tls-policy '$T/wrong.err.rs'"

send enc.dane.test wrong
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "tls-policy encrypt over a wrong TLSA record: delivered"
check "tls-policy encrypt: under TLS, unverified" sh -c "under_tls () { sed -n '/TLS-ON/,\$p' '$T/wrong.log' | grep -q 'MAIL FROM' ; } ; under_tls && grep -q 'mode=required verified=no' '$T/wrong.err.rs'"

# ketch-route shows the records and the policy, as remote-send decides it
ketch-route -C "$CONF" -a -f s@me.test a@ee.dane.test a@ta.dane.test a@only.dane.test > route.out 2>&1
check "ketch-route: the DANE-EE record" grep -q 'TLSA 3 1 1 (DANE-EE SPKI SHA2-256)' route.out
check "ketch-route: the DANE-TA record" grep -q 'TLSA 2 0 1 (DANE-TA Cert SHA2-256)' route.out
check "ketch-route: the policy and why" grep -q 'tls dane (.*): usable TLSA records' route.out
check "ketch-route: the configured rule" grep -q 'tls-policy "only.dane.test" dane-only (configured' route.out
check "ketch-route: dane-only without records deferred" grep -q 'tls: deferred (451): no TLSA records' route.out
check "ketch-route: the trusted resolver said" grep -q 'DNSSEC: the resolver.s AD bit is trusted' route.out

# the same validating resolver named by "resolver": its AD bit is not trusted, DANE does not apply
mkinstance "resolver 127.0.0.1 port $VP" "remote-port $P" "timeout connect 2s" "timeout command 10s"
send wrong.dane.test wrong
is "$(cat out)" "ok 0 250 2.0.0 Ok: queued" "resolver (not dnssec-resolver): the wrong TLSA record is not used, delivered"
check "resolver: DANE does not apply, logged" logged wrong 'why="no DNSSEC-validating resolver is trusted"'

# conf-check prints dnssec-resolver and tls-policy back
mkinstance "dnssec-resolver 127.0.0.1 port $VP" "tls-policy Example.ORG dane-only"
conf-check -C "$CONF" > printed 2>&1
check "conf-check: dnssec-resolver and tls-policy printed back" sh -c "grep -q '^dnssec-resolver 127.0.0.1 port $VP\$' printed && grep -q '^tls-policy example.org dane-only\$' printed"
printf 'resolver 127.0.0.1\ndnssec-resolver 127.0.0.1\n' > both.conf
check "conf: resolver and dnssec-resolver exclude each other" sh -c "conf-check -C '$T/both.conf' 2>&1 | grep -q 'exclude each other'"
printf 'tls-policy a.example maybe\ntls-policy b.example dane\ntls-policy B.example none\n' > bad.conf
check "conf: a tls-policy word and a second rule for a domain refused" sh -c "conf-check -C '$T/bad.conf' > bad.out 2>&1 ; grep -q 'expected none, may, encrypt, verify, dane or dane-only, not maybe' bad.out && grep -q 'already has a policy: b.example' bad.out"

done_testing
