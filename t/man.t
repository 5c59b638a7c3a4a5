#!/bin/sh
# Every man page is clean under mandoc -Tlint (warnings and worse), and
# every program has one.
. "$(dirname "$0")/lib.sh"
pages=$(ls "$top"/bin/*.[1578] "$top"/tools/*.[1578] "$top"/conf/*.[1578] "$top"/spool-layout/*.[1578] 2>/dev/null)
progs=$(ls "$top"/bin/*.c "$top"/tools/*.c "$top"/tools/*.sh 2>/dev/null)
plan $(( $(echo "$pages" | wc -l) + $(echo "$progs" | wc -l) ))
need mandoc mandoc
for p in $pages ; do
  out=$(mandoc -Tlint -W warning "$p" 2>&1)
  is "$out" "" "mandoc -Tlint: ${p#$top/}"
done
for p in $progs ; do
  base=${p%.*}
  check "man page for ${p#$top/}" test -f "$base.8"
done
done_testing
