#!/bin/sh
# ISC license: see LICENSE.
# remote-send and an MX answer with many names (issue 16, point 11): only
# the ROUTE_MX_MAX (10) best exchangers are kept, and once the 20 address
# tries are spent no further exchanger is looked up. dnsmasq serves the
# records and logs every query it gets.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 8
need python3 python3
need dnsmasq dnsmasq-base

DP=$(free_port)
P=$(free_port)
# many.test: 1000 exchangers without addresses; some.test: 30, each with
# three addresses on which nothing listens (connection refused at once)
i=1 ; : > "$T/dns.args"
while [ $i -le 1000 ] ; do echo "--mx-host=many.test,mx$i.many.test,$i" >> "$T/dns.args" ; i=$((i + 1)) ; done
i=1
while [ $i -le 30 ] ; do
  echo "--mx-host=some.test,h$i.some.test,$i" >> "$T/dns.args"
  for k in 1 2 3 ; do echo "--host-record=h$i.some.test,127.0.$i.$k" >> "$T/dns.args" ; done
  i=$((i + 1))
done
# shellcheck disable=SC2046
dns "$DP" --log-queries --log-facility="$T/q.log" $(cat "$T/dns.args")
port_open 127.0.0.1 "$DP" || bail "dnsmasq did not start: $(cat "$T/dns.err")"
mkinstance "resolver 127.0.0.1 port $DP" "remote-port $P" "timeout connect 2s" "timeout command 5s"

# names DOMAIN: the distinct exchangers of DOMAIN whose addresses were asked for, in order
names () { grep -o "query\[A*\] [a-z0-9]*\.$1" "$T/q.log" | sed 's/.* //' | awk '!s[$0]++' | tr '\n' ' ' ; }

: > "$T/q.log"
start=$(date +%s)
rs many.test s@me.test a@many.test < "$T/msg"
check "1000 MX names: the run ends within 10 s" test $(( $(date +%s) - start )) -lt 10
check "1000 MX names: the MX records were asked for" grep -q 'query\[MX\] many.test' "$T/q.log"
is "$(names many.test)" "mx1.many.test mx2.many.test mx3.many.test mx4.many.test mx5.many.test mx6.many.test mx7.many.test mx8.many.test mx9.many.test mx10.many.test " "1000 MX names: only the 10 best are looked up"
is "$(cut -d' ' -f1 "$T/out")" "perm" "1000 MX names, none with an address: the recipient fails"

: > "$T/q.log"
rs some.test s@me.test a@some.test < "$T/msg"
is "$(grep -c 'host-failed .*connection failed' "$T/err")" 20 "30 MX names of three addresses: 20 connection attempts"
is "$(names some.test)" "h1.some.test h2.some.test h3.some.test h4.some.test h5.some.test h6.some.test h7.some.test " "30 MX names of three addresses: no lookup once the 20 tries are spent"
is "$(cut -d' ' -f1-3 "$T/out")" "temp 0 451" "30 MX names, none answering: temporary"
check "the report names the last host tried" grep -q 'h7.some.test' "$T/out"

done_testing
