#!/bin/sh
# ISC license: see LICENSE.
# Prints the path of Postfix's smtp-sink, fetched once (apt-get download
# postfix, unpacked with dpkg -x, never installed) and cached under
# $KETCH_TEST_CACHE (default /var/cache/ketch-test, else ${TMPDIR:-/tmp}).
# Run it with LD_LIBRARY_PATH set to the printed directory's ../lib/postfix.
# Exit 1 with a diagnostic on stderr when it cannot.
set -u
cache=${KETCH_TEST_CACHE:-/var/cache/ketch-test}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=${TMPDIR:-/tmp}/ketch-test-cache
mkdir -p "$cache" || exit 1
root=$cache/postfix-root
if [ -x "$root/usr/sbin/smtp-sink" ] ; then echo "$root/usr/sbin/smtp-sink" ; exit 0 ; fi
command -v apt-get >/dev/null 2>&1 || { echo "smtp-sink.sh: no apt-get" >&2 ; exit 1 ; }
deb=$(ls "$cache"/postfix_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ] ; then
  ( cd "$cache" && timeout 120 apt-get download postfix ) >/dev/null 2>&1
  deb=$(ls "$cache"/postfix_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || { echo "smtp-sink.sh: apt-get download postfix failed" >&2 ; exit 1 ; }
fi
rm -rf "$root.tmp" && mkdir -p "$root.tmp" && dpkg -x "$deb" "$root.tmp" && rm -rf "$root" && mv "$root.tmp" "$root" \
  || { echo "smtp-sink.sh: dpkg -x failed" >&2 ; exit 1 ; }
[ -x "$root/usr/sbin/smtp-sink" ] || { echo "smtp-sink.sh: no smtp-sink in the package" >&2 ; exit 1 ; }
echo "$root/usr/sbin/smtp-sink"
