#!/bin/sh
# The manual pages of the operating tools are lint-clean, and
# ketch.conf(5) documents every directive the parser knows.
. "$(dirname "$0")/lib.sh"
command -v mandoc >/dev/null || skip_all "mandoc is not installed"

pages="conf/ketch.conf.5 tools/conf-check.8 tools/sendmail.8 tools/queue-ctl.8 tools/ketch-services.8 tools/ketch-instance.8"
# every keyword dispatch() accepts: strcmp(k, "...") in lib/conf.c
keywords=$(sed -n '/^static int dispatch/,/^}/p' "$top/lib/conf.c" | grep -o 'strcmp(k, "[a-z-]*")' | sed 's/.*"\(.*\)".*/\1/')
plan $(( $(echo $pages | wc -w) + $(echo $keywords | wc -w) + 1 ))
for p in $pages ; do
  out=$(mandoc -Tlint -W warning "$top/$p" 2>&1)
  is "$out" "" "mandoc -Tlint: $p"
done
for k in $keywords ; do
  check "ketch.conf(5) documents $k" grep -q "^\.It Cm $k\( \|$\)" "$top/conf/ketch.conf.5"
done
# the one-line examples (.Dl) of ketch.conf(5), taken together, are a valid configuration
sed -n 's/^\.Dl //p' "$top/conf/ketch.conf.5" > "$T/examples.conf"
# -s: they name files under /etc/ketch that are not made here
check "the examples in ketch.conf(5) pass conf-check -s" conf-check -q -s -C "$T/examples.conf"
done_testing
