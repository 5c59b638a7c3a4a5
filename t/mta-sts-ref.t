#!/bin/sh
# ISC license: see LICENSE.
# MTA-STS: ketch's verdict beside postfix-mta-sts-resolver's (issue 21.2),
# case by case, on the real port 443 and the real resolv.conf: the test
# runs in a network and mount namespace of its own (unshare: root), its
# loopback up, a resolv.conf naming its dnsmasq bound over /etc/resolv.conf
# (mta-sts-query reads only that, and the system's CA store, which
# SSL_CERT_FILE replaces with the test CA). For each domain, mta-sts-query
# says what the policy is (mode and mx patterns, or none); Postfix with
# that answer delivers to an MX host only if it matches, under verify,
# in enforce mode, and as usual otherwise. ketch (remote-send, as the
# scheduler runs it) must come to the same verdict: delivered or
# deferred. The table is printed as diagnostics.
if [ -z "${KETCH_STSREF_INNER:-}" ] ; then
  [ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (a network namespace, port 443)" ; exit 0 ; }
  command -v unshare >/dev/null || { echo "1..1" ; echo "not ok 1 - unshare is missing (Debian package util-linux)" ; exit 1 ; }
  KETCH_STSREF_INNER=1 exec unshare -n -m --propagation private sh "$0"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 16
need python3 python3
need openssl openssl
need dnsmasq dnsmasq-base
need mta-sts-query postfix-mta-sts-resolver
ip link set lo up || bail "cannot bring up the namespace's loopback"
printf 'nameserver 127.0.0.1\n' > "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf || bail "cannot bind a resolv.conf"
at_exit "umount -l /etc/resolv.conf"

ossl () { openssl "$@" >/dev/null 2>&1 || bail "openssl $1 failed" ; }
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" -days 2 -subj /CN=ketch-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
leaf () {
  _n=$1 ; shift ; _san=$(printf 'DNS:%s,' "$@") ; _san=${_san%,}
  ossl req -newkey rsa:2048 -nodes -keyout "$T/$_n.key" -out "$T/$_n.csr" -subj "/CN=$1"
  printf 'subjectAltName=%s\n' "$_san" > "$T/$_n.ext"
  ossl x509 -req -in "$T/$_n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 -extfile "$T/$_n.ext" -out "$T/$_n.pem"
}
DOMAINS="enf wild nomatch wrongcert strip testing badver huge redir"
leaf web $(for dom in $DOMAINS ; do echo mta-sts.$dom.test ; done)
leaf mx mx1.enf.test mx1.wild.test mx1.strip.test mx1.testing.test mx1.bad.test
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T/rogue.key" -out "$T/rogue.pem" -days 2 -subj /CN=mx1.wrongcert.test \
  -addext subjectAltName=DNS:mx1.wrongcert.test

dnsargs=""
for dom in $DOMAINS ; do
  dnsargs="$dnsargs --txt-record=_mta-sts.$dom.test,v=STSv1;id=1 --host-record=mta-sts.$dom.test,127.0.0.1"
done
dns 53 $dnsargs \
  --mx-host=enf.test,mx1.enf.test,10 --host-record=mx1.enf.test,127.0.0.2 \
  --mx-host=wild.test,mx1.wild.test,10 --host-record=mx1.wild.test,127.0.0.2 \
  --mx-host=nomatch.test,mx1.enf.test,10 \
  --mx-host=wrongcert.test,mx1.wrongcert.test,10 --host-record=mx1.wrongcert.test,127.0.0.3 \
  --mx-host=strip.test,mx1.strip.test,10 --host-record=mx1.strip.test,127.0.0.4 \
  --mx-host=testing.test,mx1.testing.test,10 --host-record=mx1.testing.test,127.0.0.4 \
  --mx-host=badver.test,mx1.bad.test,10 --mx-host=huge.test,mx1.bad.test,10 \
  --mx-host=redir.test,mx1.bad.test,10 --host-record=mx1.bad.test,127.0.0.4
port_open 127.0.0.1 53 || bail "dnsmasq did not start: $(cat "$T/dns.err")"

mkdir "$T/www"
pol () { _d=$1 ; _m=$2 ; shift 2 ; { printf 'version: STSv1\r\nmode: %s\r\n' "$_m" ; for _x in "$@" ; do printf 'mx: %s\r\n' "$_x" ; done ; printf 'max_age: 86400\r\n' ; } > "$T/www/$_d.test" ; }
pol enf enforce mx1.enf.test
pol wild enforce '*.wild.test'
pol nomatch enforce mx9.nomatch.test
pol wrongcert enforce '*.wrongcert.test'
pol strip enforce mx1.strip.test
pol testing testing mx9.testing.test
printf 'version: STSv2\nmode: enforce\nmx: mx9.bad.test\nmax_age: 86400\n' > "$T/www/badver.test"
{ printf 'version: STSv1\nmode: enforce\nmx: mx9.bad.test\nmax_age: 86400\n' ; head -c 70000 /dev/zero | tr '\0' '#' ; } > "$T/www/huge.test"
: > "$T/www/redir.test.redirect"
python3 "$top/t/stsserver.py" --host 127.0.0.1 --port 443 --cert "$T/web.pem" --key "$T/web.key" \
  --dir "$T/www" --log "$T/https.log" --ready "$T/https.ready" 2>>"$T/https.err" &
pids="$pids $!"
wait_for 5 test -e "$T/https.ready" || bail "the HTTPS server did not start: $(cat "$T/https.err")"

# the real ports: no mta-sts-port, no resolver line (resolv.conf's)
mkinstance "ca-file $T/ca.pem" "timeout connect 2s" "timeout command 10s"
started () { [ -e "$T/$1.ready" ] || bail "peer $1 did not start: $(cat "$T/$1.err")" ; }
peer good 127.0.0.2 25 --tls "$T/mx.pem" "$T/mx.key" ; started good
peer rogue 127.0.0.3 25 --tls "$T/rogue.pem" "$T/rogue.key" ; started rogue
peer plain 127.0.0.4 25 ; started plain

# reference DOMAIN MX: Postfix's verdict with mta-sts-query's answer: "none" (no policy),
# or the mode and whether MX matches its patterns (Postfix's match rule for *.: one label)
reference () {
  SSL_CERT_FILE=$T/ca.pem timeout 30 mta-sts-query "$1" > "$T/q.$1" 2>&1
  python3 - "$T/q.$1" "$2" <<'PY'
import ast, re, sys
out = open(sys.argv[1]).read()
mx = sys.argv[2]
m = re.search(r"<STSFetchResult\.(\w+): \d+>, (.*)\)\s*$", out, re.S)
if not m or m.group(1) != 'VALID':
    print('none') ; sys.exit(0)
pol = ast.literal_eval(m.group(2))[1]   # (id, policy)
def match(p):
    if p.startswith('*.'):
        return '.' in mx and mx.split('.', 1)[1] == p[2:]
    return p == mx
print(pol['mode'] + ' ' + ('match' if any(match(p) for p in pol.get('mx', [])) else 'nomatch'))
PY
}
# postfix: the delivery Postfix would make with that policy to that peer (tls: verified, none, plain)
postfix_verdict () {
  case $1 in
    none|testing*) echo delivered ;;
    "enforce nomatch") echo deferred ;;
    "enforce match") [ "$2" = verified ] && echo delivered || echo deferred ;;
  esac
}
# ketch DOMAIN: delivered or deferred, as remote-send reports the one job
ketch () { rs "$1" s@me.test "a@$1" < "$T/msg" ; case $(cut -d' ' -f1 "$T/out") in ok) echo delivered ;; temp) echo deferred ;; *) echo "? $(cat "$T/out")" ;; esac ; }

# DOMAIN MX PEER-TLS (what the MX host can do: verified, untrusted, none)
table="" 
for c in "enf mx1.enf.test verified" "wild mx1.wild.test verified" "nomatch mx1.enf.test verified" "wrongcert mx1.wrongcert.test untrusted" \
    "strip mx1.strip.test none" "testing mx1.testing.test none" "badver mx1.bad.test none" "huge mx1.bad.test none" "redir mx1.bad.test none" ; do
  set -- $c
  ref=$(reference "$1.test" "$2")
  pv=$(postfix_verdict "$ref" "$3")
  kv=$(ketch "$1.test")
  mode=$(sed -n 's/.* mta-sts domain="[^"]*" mode=\([a-z]*\) .*/\1/p' "$T/err" | head -1)
  is "$kv" "$pv" "$1.test: ketch $kv, postfix-mta-sts-resolver ($ref) $pv"
  table="$table
$(printf '%-16s %-22s %-10s %-16s %s' "$1.test" "$ref" "$pv" "${mode:-none}" "$kv")"
done
# the policies themselves: the same mode where there is one
is "$(reference enf.test mx1.enf.test)" "enforce match" "mta-sts-query: enf.test enforce, mx1.enf.test matches"
is "$(reference testing.test mx1.testing.test)" "testing nomatch" "mta-sts-query: testing.test testing"
for dom in badver huge redir ; do
  is "$(reference $dom.test mx1.bad.test)" none "mta-sts-query: $dom.test no valid policy"
done
check "ketch fetched from port 443" grep -q 'mta-sts.enf.test /.well-known/mta-sts.txt' "$T/https.log"
check "no policy served to anyone over a redirect" sh -c "! grep -q 'elsewhere' '$T/https.log'"
diag "domain           postfix-mta-sts-resolver     postfix    ketch mode       ketch$table"
done_testing
