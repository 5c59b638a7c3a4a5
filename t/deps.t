#!/bin/sh
# ISC license: see LICENSE.
# .ci/deps: make run installs only what building and running ketch need
# (the run set), make test the test tools and peers as well (the test
# set, a superset); swaks gets its TLS module. Reads the sets with -n,
# installs nothing.
. "$(dirname "$0")/lib.sh"
plan 6

run=$(sh "$top/.ci/deps" -n run 2>&1) && [ -n "$run" ]
ok $? "deps -n run lists the run set" "$run"
test=$(sh "$top/.ci/deps" -n test 2>&1) && [ -n "$test" ]
ok $? "deps -n test lists the test set" "$test"
missing=$(for p in $run ; do printf '%s\n' "$test" | grep -qx "$p" || echo "$p" ; done)
is "$missing" "" "the test set holds the whole run set"
is "$(for p in $run ; do case $p in clang*|valgrind|dovecot*|swaks|python3|dnsmasq*|runit|ucspi-tcp|mandoc|libnet-ssleay-perl) echo "$p" ;; esac ; done)" "" \
  "the run set holds no test tool or peer (clang, valgrind, dovecot, swaks...)"
is "$(for p in swaks libnet-ssleay-perl clang valgrind dovecot-core dovecot-lmtpd ; do printf '%s\n' "$test" | grep -qx "$p" && printf '%s ' "$p" ; done)" \
  "swaks libnet-ssleay-perl clang valgrind dovecot-core dovecot-lmtpd " "the test set has swaks with its TLS module (libnet-ssleay-perl), clang, valgrind, Dovecot"
# make -n: the commands make would run, none run (a recursive $(MAKE) only prints too)
out=$(cd "$top" && make -n run INSTANCE="$T/inst" 2>&1)
printf '%s\n' "$out" | grep -qx 'sh .ci/deps run'
ok $? "make run installs the run set (sh .ci/deps run)" "$out"
done_testing
