#!/bin/sh
# The manual pages of the operating tools are lint-clean, and
# ketch.conf(5) documents every keyword the parser knows.
. "$(dirname "$0")/lib.sh"
command -v mandoc >/dev/null || skip_all "mandoc is not installed"

pages="conf/ketch.conf.5 tools/conf-check.8 tools/sendmail.8 tools/queue-ctl.8 tools/ketch-services.8 tools/ketch-instance.8"
# every keyword, from the parser's own table: "limit recipients" or "spool"
conf-check -k > "$T/keywords" 2>&1
rc=$?
# the keywords there were when this was written: a listing that lost some
# (or printed nothing) must fail here, not check less
known=65
n=$(grep -c . "$T/keywords")
plan $(( $(echo $pages | wc -w) + n + 2 ))
for p in $pages ; do
  out=$(mandoc -Tlint -W warning "$top/$p" 2>&1)
  is "$out" "" "mandoc -Tlint: $p"
done
[ "$rc" = 0 ] && [ "$n" -ge "$known" ]
ok $? "conf-check -k lists at least the $known known keywords (exit $rc, $n listed)" "$(cat "$T/keywords")"
# a keyword's item names it first; a second word (retry remote) may share
# the item with its siblings (.It Cm retry local | remote)
while read -r k sub ; do
  if [ -z "$sub" ] ; then re="^\.It Cm $k( |\$)"
  else re="^\.It Cm $k( .*)? $sub( |\$)" ; fi
  check "ketch.conf(5) documents $k${sub:+ $sub}" grep -qE "$re" "$top/conf/ketch.conf.5"
done < "$T/keywords"
# the one-line examples (.Dl) of ketch.conf(5), taken together, are a valid configuration
sed -n 's/^\.Dl //p' "$top/conf/ketch.conf.5" > "$T/examples.conf"
# -s: they name files under /etc/ketch that are not made here
check "the examples in ketch.conf(5) pass conf-check -s" conf-check -q -s -C "$T/examples.conf"
done_testing
