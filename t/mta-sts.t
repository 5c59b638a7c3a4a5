#!/bin/sh
# ISC license: see LICENSE.
# MTA-STS (RFC 8461, issue 21.2) end to end through the scheduler: the
# _mta-sts TXT records and the MX hosts from dnsmasq, the policies from an
# HTTPS server on loopback (t/stsserver.py, on mta-sts-port, 443 being
# out of reach of a test), a test CA made with openssl as ketch's ca-file.
# enforce with a matching MX delivers under verify; a non-matching MX, a
# wrong certificate, a stripped STARTTLS defer; testing delivers and logs
# what enforce would do; a cached policy holds when the HTTPS server is
# gone; a bad policy (wrong version, huge, a redirect, a slow drip) is no
# policy, in bounded time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 43
need python3 python3
need openssl openssl
need dnsmasq dnsmasq-base

# the CA, one certificate for every mta-sts name, one per MX host
ossl () { openssl "$@" >/dev/null 2>&1 || bail "openssl $1 failed" ; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj /CN=ketch-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
# leaf NAME SAN...: $T/NAME.pem and $T/NAME.key, signed by the CA
leaf () {
  _n=$1 ; shift ; _san=$(printf 'DNS:%s,' "$@") ; _san=${_san%,}
  ossl req -newkey rsa:2048 -nodes -keyout "$T/$_n.key" -out "$T/$_n.csr" -subj "/CN=$1"
  printf 'subjectAltName=%s\n' "$_san" > "$T/$_n.ext"
  ossl x509 -req -in "$T/$_n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/$_n.ext" -out "$T/$_n.pem"
}
DOMAINS="enf nomatch wrongcert strip testing badver huge redir drip rogueweb"
leaf web $(for dom in $DOMAINS ; do echo mta-sts.$dom.test ; done)
leaf mx mx1.enf.test mx1.strip.test mx1.testing.test mx1.bad.test
# a certificate from another CA: valid for its name, not trusted
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/rogue.key" -out "$T/rogue.pem" -days 2 -subj /CN=mx1.wrongcert.test \
  -addext subjectAltName=DNS:mx1.wrongcert.test

P=$(free_port) ; HP=$(free_port) ; DP=$(free_port)
# dns: every domain has its _mta-sts record and one MX host; mta-sts.* on the HTTPS server
dnsargs=""
for dom in $DOMAINS ; do
  dnsargs="$dnsargs --txt-record=_mta-sts.$dom.test,v=STSv1;id=1"
  [ $dom = rogueweb ] || dnsargs="$dnsargs --host-record=mta-sts.$dom.test,127.0.0.1"
done
dns "$DP" $dnsargs \
  --mx-host=enf.test,mx1.enf.test,10 --host-record=mx1.enf.test,127.0.0.2 \
  --mx-host=nomatch.test,mx1.enf.test,10 \
  --mx-host=wrongcert.test,mx1.wrongcert.test,10 --host-record=mx1.wrongcert.test,127.0.0.3 \
  --mx-host=strip.test,mx1.strip.test,10 --host-record=mx1.strip.test,127.0.0.4 \
  --mx-host=testing.test,mx1.testing.test,10 --host-record=mx1.testing.test,127.0.0.4 \
  --mx-host=badver.test,mx1.bad.test,10 --mx-host=huge.test,mx1.bad.test,10 \
  --mx-host=redir.test,mx1.bad.test,10 --mx-host=drip.test,mx1.bad.test,10 --host-record=mx1.bad.test,127.0.0.4 \
  --mx-host=rogueweb.test,mx1.bad.test,10 --host-record=mta-sts.rogueweb.test,127.0.0.5
port_open 127.0.0.1 "$DP" || bail "dnsmasq did not start: $(cat "$T/dns.err")"

# the policies
mkdir "$T/www"
pol () { _d=$1 ; _m=$2 ; shift 2 ; { printf 'version: STSv1\r\nmode: %s\r\n' "$_m" ; for _x in "$@" ; do printf 'mx: %s\r\n' "$_x" ; done ; printf 'max_age: 86400\r\n' ; } > "$T/www/$_d.test" ; }
pol enf enforce mx1.enf.test
pol nomatch enforce mx9.nomatch.test
pol wrongcert enforce '*.wrongcert.test'
pol strip enforce mx1.strip.test
pol testing testing mx9.testing.test
printf 'version: STSv2\nmode: enforce\nmx: mx9.bad.test\nmax_age: 86400\n' > "$T/www/badver.test"
{ printf 'version: STSv1\nmode: enforce\nmx: mx9.bad.test\nmax_age: 86400\n' ; head -c 70000 /dev/zero | tr '\0' '#' ; } > "$T/www/huge.test"
: > "$T/www/redir.test.redirect"
printf 'version: STSv1\nmode: enforce\nmx: mx9.bad.test\nmax_age: 86400\n' > "$T/www/drip.test.drip"
cp "$T/www/badver.test" "$T/www/rogueweb.test" ; sed -i 's/STSv2/STSv1/' "$T/www/rogueweb.test"

python3 "$top/t/stsserver.py" --host 127.0.0.1 --port "$HP" --cert "$T/web.pem" --key "$T/web.key" \
  --dir "$T/www" --log "$T/https.log" --ready "$T/https.ready" 2>>"$T/https.err" &
HPID=$! ; pids="$pids $HPID"
wait_for 5 test -e "$T/https.ready" || bail "the HTTPS server did not start: $(cat "$T/https.err")"
# mta-sts.rogueweb.test serves a good policy under a certificate the CA did not sign
python3 "$top/t/stsserver.py" --host 127.0.0.5 --port "$HP" --cert "$T/rogue.pem" --key "$T/rogue.key" \
  --dir "$T/www" --log "$T/https2.log" --ready "$T/https2.ready" 2>>"$T/https2.err" &
pids="$pids $!"
wait_for 5 test -e "$T/https2.ready" || bail "the second HTTPS server did not start: $(cat "$T/https2.err")"

mkinstance "ca-file $T/ca.pem" "resolver 127.0.0.1 port $DP" "remote-port $P" "mta-sts-port $HP" \
  "retry remote 1h" "timeout connect 2s" "timeout command 10s" "tlsrpt-period 1d"

check "mkspool makes sts/, mode 0700" test "$(stat -c %a "$SPOOL/sts")" = 700
# a spool made before the cache existed: remote-send makes the directory
rmdir "$SPOOL/sts"
started () { [ -e "$T/$1.ready" ] || bail "peer $1 did not start: $(cat "$T/$1.err")" ; }
peer good 127.0.0.2 "$P" --tls "$T/mx.pem" "$T/mx.key" ; started good
peer rogue 127.0.0.3 "$P" --tls "$T/rogue.pem" "$T/rogue.key" ; started rogue
peer plain 127.0.0.4 "$P" ; started plain

SPID=""
at_exit 'kill $SPID 2>/dev/null'
: > "$T/sready"
scheduler -C "$CONF" -d 3 3>"$T/sready" 2>>"$T/sched.log" &
SPID=$!
wait_for 10 test -s "$T/sready" || bail "the scheduler did not start: $(cat "$T/sched.log")"

q () { enqueue -C "$CONF" -f s@me.test "$1" < "$T/msg" ; }
result () { wait_for 30 grep -q "^$1 delivery rcpt=\"$2\" result=$3 " "$T/sched.log" ; }
log () { grep -q "^$1 $2" "$T/sched.log" ; }
rcpt () { grep -q "RCPT TO:<$2>" "$T/$1.log" ; }
printf 'Subject: sts\n\nhello\n' > "$T/msg"

id=$(q a@enf.test)
check "enforce, matching MX: delivered" result "$id" a@enf.test ok
# age is whole seconds since the fetch: on a loaded machine the log line
# can come in the second after the one the fetch finished in
check "enforce, matching MX: the policy fetched and logged" log "$id" 'mta-sts domain="enf.test" mode=enforce id="1" max_age=86400 age=[0-9] source=fetched'
check "enforce, matching MX: the match logged" log "$id" 'tls-policy host="mx1.enf.test" .*mta-sts=enforce match="mx1.enf.test"'
check "enforce, matching MX: under verify" log "$id" 'tls host="mx1.enf.test" .*mode=verify verified=yes'
check "enforce: the policy cached in the spool" grep -q '^id 1$' "$SPOOL/sts/enf.test"
check "enforce: the cache file is the queue owner's alone" test "$(stat -c %a "$SPOOL/sts/enf.test")" = 600

id=$(q a@nomatch.test)
check "enforce, MX outside the patterns: deferred" result "$id" a@nomatch.test temp
check "enforce, MX outside the patterns: the reason logged" log "$id" 'tls-policy host="mx1.enf.test" .*mta-sts=enforce fail="the MX host matches no mx pattern"'
check "enforce, MX outside the patterns: no transaction" sh -c "! grep -q 'RCPT TO:<a@nomatch.test>' '$T/good.log'"
# TLS-RPT (RFC 8460 §4.3): both recorded under the policy type sts, with the policy's lines
tab=$(printf '\t')
check "TLS-RPT: the session under the policy recorded as sts, success, with its lines" \
  sh -c "grep -h '^v1${tab}sts${tab}success${tab}' '$SPOOL'/tlsrpt/*/enf.test | grep -q '${tab}mode:%20enforce'"
check "TLS-RPT: the MX outside the patterns recorded as sts, validation-failure" \
  sh -c "grep -hq '^v1${tab}sts${tab}validation-failure${tab}' '$SPOOL'/tlsrpt/*/nomatch.test"

# ketch-route shows the cached policy and what it makes of the MX hosts
ketch-route -C "$CONF" -a -f s@me.test a@enf.test a@nomatch.test > "$T/route.out" 2>&1
check "ketch-route: the MTA-STS mode and cache age" grep -q 'MTA-STS: enforce (id "1", cached [0-9]* s ago, max_age 86400)' "$T/route.out"
check "ketch-route: a matching MX under verify" grep -q 'tls verify (.*): MTA-STS policy in enforce mode' "$T/route.out"
check "ketch-route: a non-matching MX deferred" grep -q 'tls: deferred (451): the MX host matches no mx pattern' "$T/route.out"

id=$(q a@wrongcert.test)
check "enforce, untrusted certificate: deferred" result "$id" a@wrongcert.test temp
check "enforce, untrusted certificate: the reason logged" log "$id" 'tls-policy host="mx1.wrongcert.test" .*mta-sts=enforce fail=.*TLS handshake failed'
check "enforce, untrusted certificate: no MAIL FROM" sh -c "! grep -q 'MAIL FROM' '$T/rogue.log'"

id=$(q a@strip.test)
check "enforce, STARTTLS stripped: deferred" result "$id" a@strip.test temp
check "enforce, STARTTLS stripped: the reason logged" log "$id" 'tls-policy host="mx1.strip.test" .*mta-sts=enforce fail=.*STARTTLS'
check "enforce, STARTTLS stripped: no transaction" sh -c "! rcpt plain a@strip.test"

id=$(q a@testing.test)
check "testing: delivered" result "$id" a@testing.test ok
check "testing: the MX mismatch logged" log "$id" 'tls-policy host="mx1.testing.test" .*mta-sts=testing fail="the MX host matches no mx pattern"'
check "testing: no TLS logged" log "$id" 'tls-policy host="mx1.testing.test" .*mta-sts=testing fail="no TLS'

# bad policies: no policy, delivered as without MTA-STS; the drip bounded by the fetch's 10 s
# (not $d: check's own variable)
for dom in badver huge redir rogueweb ; do
  id=$(q a@$dom.test)
  check "$dom: delivered (no policy)" result "$id" a@$dom.test ok
  check "$dom: the failed fetch logged" log "$id" "mta-sts domain=\"$dom.test\" event=fetch-failed"
done
check "rogueweb: an untrusted policy server's certificate refused" log "$id" 'mta-sts domain="rogueweb.test" event=fetch-failed why="the certificate was not verified"'
t0=$(date +%s)
id=$(q a@drip.test)
check "drip: delivered (no policy)" result "$id" a@drip.test ok
t1=$(date +%s)
check "drip: the fetch timed out" log "$id" 'mta-sts domain="drip.test" event=fetch-failed why="timed out"'
check "drip: within the bound ($((t1 - t0)) s)" test $((t1 - t0)) -lt 25
check "drip, huge, version: nothing cached" sh -c "! ls '$SPOOL/sts/' | grep -q 'drip\|huge\|badver\|redir\|rogueweb'"

# the HTTPS server goes away: the cached policy of enf.test still holds, in a new run
kill "$HPID" ; wait "$HPID" 2>/dev/null
port_open 127.0.0.1 "$HP" && bail "the HTTPS server is still up"
id=$(q b@enf.test)
check "cached, server gone: delivered" result "$id" b@enf.test ok
check "cached, server gone: the policy from the cache" log "$id" 'mta-sts domain="enf.test" mode=enforce id="1" max_age=86400 age=[0-9]* source=cache'
check "cached, server gone: under verify with the match" log "$id" 'tls-policy host="mx1.enf.test" .*mta-sts=enforce match="mx1.enf.test"'
# nomatch.test's policy was cached too: it still refuses its MX
id=$(q b@nomatch.test)
check "cached, server gone: a non-matching MX still deferred" result "$id" b@nomatch.test temp

# mta-sts off: no lookup, no policy
sed -i "s/^mta-sts-port .*/&\nmta-sts off/" "$CONF"
kill -HUP $SPID
sleep 1
id=$(q c@nomatch.test)
check "mta-sts off: delivered to the MX the policy refuses" result "$id" c@nomatch.test ok
check "mta-sts off: nothing logged of it" sh -c "! grep -q '^$id .*mta-sts' '$T/sched.log'"

kill -TERM $SPID ; wait_for 20 sh -c "! kill -0 $SPID 2>/dev/null" ; SPID=""
done_testing
