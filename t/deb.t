#!/bin/sh
# ISC license: see LICENSE.
# make deb, lintian, then the package's life in a clean Debian 12 root:
# installed with apt (its dependencies from the archive), a local
# message delivered by the daemons run as README.Debian says (s6-svscan,
# no init in a chroot), an upgrade to a second, higher build with mail
# in the queue (none lost), remove, purge (spool, conffiles, users gone).
# The root is a minbase bootstrap (mmdebstrap) from the host's own
# mirror (.ci/mirrors), kept with its apt lists in $KETCH_TEST_CACHE
# (default /var/cache/ketch-test) after the first run, the packages apt
# downloads beside it; each run mounts an overlay on it (nothing to unpack).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (chroot, mounts)"
plan 31
need dpkg-buildpackage dpkg-dev
need dh debhelper
need lintian lintian
need mmdebstrap mmdebstrap
need s6-svscanctl s6

cache=${KETCH_TEST_CACHE:-/var/cache/ketch-test}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=${TMPDIR:-/tmp}/ketch-test-cache
mkdir -p "$cache/apt-archives" || bail "no cache directory"

t0=$(date +%s)
V1=$(dpkg-parsechangelog -l "$top/conf/debian/changelog" -S Version)
V2=$V1+t2
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
make -s -C "$top" deb DEB_VERSION="$V1" > "$T/deb1.log" 2>&1
ok $? "make deb" "$(tail -n 20 "$T/deb1.log")"
diag "make deb: $(($(date +%s) - t0)) s"
deb1=$top/build/deb/ketch_${V1}_$arch.deb
check "the package is where make deb says" grep -qx "ketch: build/deb/ketch_${V1}_$arch.deb" "$T/deb1.log"
cp "$deb1" "$T/" || bail "no package"
# the second, higher build meanwhile (the same tree: only its packaging runs)
make -s -C "$top" deb DEB_VERSION="$V2" > "$T/deb2.log" 2>&1 &
deb2_pid=$!
# lintian meanwhile (its verdict at the end)
lintian --fail-on error,warning "$T/ketch_${V1}_$arch.deb" > "$T/lintian" 2>&1 &
lintian_pid=$!
fields=$(dpkg-deb -f "$deb1" Provides Conflicts Replaces)
is "$fields" "Provides: mail-transport-agent
Conflicts: mail-transport-agent
Replaces: mail-transport-agent" "Debian's MTA: provides, conflicts with and replaces mail-transport-agent"

# the root: a cached bootstrap of the host's mirror (made now when there
# is none), under an overlay whose upper layer is this run's
mirrors=$(sh "$top/.ci/mirrors")
printf '%s\n' "$mirrors" | grep -q ' bookworm main$' || fail_rest "no Debian 12 entry in the host's apt sources"
base=$cache/bookworm-minbase-$(printf '%s\n' "$mirrors" | cksum | cut -d ' ' -f 1)
if [ ! -d "$base" ] ; then
  set --
  while IFS= read -r line ; do set -- "$@" "$line" ; done <<EOF
$mirrors
EOF
  rm -rf "$base.tmp"
  mmdebstrap --variant=minbase --format=directory --skip=cleanup/apt/lists --quiet bookworm "$base.tmp" "$@" > "$T/mmdebstrap.log" 2>&1 \
    && mv "$base.tmp" "$base" || { rm -rf "$base.tmp" ; sed 's/^/# /' "$T/mmdebstrap.log" | tail -n 20 >&2 ; }
  diag "bootstrap made: $(($(date +%s) - t0)) s"
fi
R=$T/root
mkdir -p "$R" "$T/upper" "$T/work"
[ -d "$base" ] && mount -t overlay ketch-deb-root -o "lowerdir=$base,upperdir=$T/upper,workdir=$T/work" "$R"
ok $? "a clean Debian 12 root (minbase)" || fail_rest "no root"
at_exit "umount -l '$R'"
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
# nothing started by maintainer scripts in a root without init
printf '#!/bin/sh\nexit 101\n' > "$R/usr/sbin/policy-rc.d" && chmod 755 "$R/usr/sbin/policy-rc.d"

# inroot [-n] COMMAND...: COMMAND in the root, in a mount namespace of its
# own with /proc, /dev and apt's package cache; -n: and a network
# namespace of its own with only the loopback (the daemons' port 25)
inroot () {
  _net=0 ; [ "$1" = -n ] && { _net=1 ; shift ; }
  unshare --mount --propagation private $([ $_net = 1 ] && echo --net) sh -c '
    r=$1 c=$2 n=$3 ; shift 3
    if [ "$n" = 1 ] ; then ip link set lo up || exit 111 ; fi
    mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && mount --bind "$c" "$r/var/cache/apt/archives" || exit 111
    exec chroot "$r" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
  ' sh "$R" "$cache/apt-archives" $_net "$@"
}
# apt in the root: with the cached lists first, the archive's current ones when those fail
aptroot () { inroot apt-get -q -y --no-install-recommends "$@" || { inroot apt-get -q update && inroot apt-get -q -y --no-install-recommends "$@" ; } ; }

cp "$deb1" "$R/tmp/"
aptroot install "/tmp/ketch_${V1}_$arch.deb" > "$T/install.log" 2>&1
ok $? "apt installs the package and its dependencies" "$(tail -n 20 "$T/install.log")"
check "postinst says that nothing was started without systemd" grep -q 'systemd is not init here' "$T/install.log"
is "$(inroot dpkg-query -W -f '${Status} ${Version}' ketch)" "install ok installed $V1" "ketch $V1 installed"
check "the users" inroot sh -c 'id ketch && id ketchd && id ketchlog'
is "$(inroot stat -c '%a %U' /usr/libexec/ketch/enqueue)" "4711 ketch" "enqueue set-uid to ketch (dpkg-statoverride)"
check "sendmail, mailq and newaliases where Debian has them" inroot sh -c \
  'test -x /usr/sbin/sendmail && test -x /usr/lib/sendmail && test -x /usr/bin/mailq && test -x /usr/bin/newaliases'
check "ketch.conf and aliases are conffiles" inroot sh -c \
  "dpkg-query -W -f '\${Conffiles}' ketch | grep -q ' /etc/ketch/ketch.conf ' && dpkg-query -W -f '\${Conffiles}' ketch | grep -q ' /etc/ketch/aliases '"
check "the spool, owned by ketch" inroot sh -c '[ "$(stat -c %U /var/spool/ketch/queue)" = ketch ]'
check "the unit installed and enabled (debhelper)" test -f "$R/lib/systemd/system/ketch.service" -a -L "$R/etc/systemd/system/multi-user.target.wants/ketch.service"

# a user's message, through the set-uid enqueue, delivered by the daemons
inroot useradd -m -s /bin/sh rcpt || bail "useradd in the root"
send () { printf 'Subject: %s\n\n%s\n' "$1" "$1" | inroot setpriv --reuid=rcpt --regid=rcpt --init-groups /usr/sbin/sendmail rcpt ; }
queued () { find "$R/var/spool/ketch/queue" -type f | wc -l | tr -d ' ' ; }
delivered () { find "$R/home/rcpt/Maildir/new" -type f 2>/dev/null | wc -l | tr -d ' ' ; }
# services: README.Debian's two commands, in the root, until the queue is empty
services () {
  inroot -n sh -c 'ketch-services -u ketchlog /etc/ketch/service && exec s6-svscan /etc/ketch/service' > "$T/svscan.log" 2>&1 &
  _sv=$!
  at_exit "s6-svscanctl -t '$R/etc/ketch/service' 2>/dev/null ; kill $_sv 2>/dev/null"
  _d=$(wait_for 60 mail_ge "$R/home/rcpt/Maildir/new" "$1" && echo yes)
  s6-svscanctl -t "$R/etc/ketch/service" 2>/dev/null
  _n=0 ; while kill -0 $_sv 2>/dev/null && [ $_n -lt 200 ] ; do sleep 0.1 ; _n=$((_n + 1)) ; done
  [ "$_d" = yes ]
}
send first
ok $? "sendmail as a user queues (set-uid enqueue)"
services 1
ok $? "the daemons under s6-svscan deliver it into the user's Maildir" "$(cat "$T/svscan.log"; tail -n 5 "$R/var/log/ketch/scheduler/current" 2>/dev/null)"
check "delivered as the user" inroot sh -c '[ "$(stat -c %U /home/rcpt/Maildir/new/*)" = rcpt ]'

# the upgrade, with mail in the queue and the daemons down
for s in two three four ; do send "$s" ; done
is "$(queued)" 3 "three messages queued before the upgrade"
wait $deb2_pid
ok $? "make deb DEB_VERSION=$V2" "$(tail -n 20 "$T/deb2.log")"
cp "$top/build/deb/ketch_${V2}_$arch.deb" "$R/tmp/"
sum=$(md5sum < "$R/etc/ketch/ketch.conf")
aptroot install "/tmp/ketch_${V2}_$arch.deb" > "$T/upgrade.log" 2>&1
ok $? "apt upgrades to the higher version" "$(tail -n 20 "$T/upgrade.log")"
is "$(inroot dpkg-query -W -f '${Version}' ketch)" "$V2" "ketch $V2 installed"
is "$(queued)" 3 "the queue kept across the upgrade"
is "$(md5sum < "$R/etc/ketch/ketch.conf")" "$sum" "the configuration kept"
is "$(inroot stat -c '%a %U' /usr/libexec/ketch/enqueue)" "4711 ketch" "enqueue still set-uid to ketch"
services 4
ok $? "the queued messages delivered after the upgrade: nothing lost" "$(cat "$T/svscan.log"; tail -n 5 "$R/var/log/ketch/scheduler/current" 2>/dev/null)"
is "$(delivered) $(queued)" "4 0" "four delivered, the queue empty"

# remove keeps the configuration and the spool, purge removes them
aptroot remove ketch > "$T/remove.log" 2>&1
ok $? "apt remove" "$(tail -n 20 "$T/remove.log")"
check "removed: the conffiles and the spool stay" sh -c "[ \"\$(chroot '$R' dpkg-query -W -f '\${db:Status-Abbrev}' ketch)\" = 'rc ' ] && test -f '$R/etc/ketch/ketch.conf' -a -d '$R/var/spool/ketch/queue' && test ! -e '$R/usr/sbin/sendmail'"
aptroot purge ketch > "$T/purge.log" 2>&1
ok $? "apt purge" "$(tail -n 20 "$T/purge.log")"
check "purged: /etc/ketch, the spool and the logs are gone" sh -c "test ! -e '$R/etc/ketch' -a ! -e '$R/var/spool/ketch' -a ! -e '$R/var/log/ketch'"
check "purged: the users and the statoverride are gone" inroot sh -c '! id ketch && ! id ketchd && ! id ketchlog && [ -z "$(dpkg-statoverride --list /usr/libexec/ketch/enqueue)" ]'
wait $lintian_pid
ok $? "lintian: no error, no warning" "$(grep -v 'running with root' "$T/lintian")"
diag "$(($(date +%s) - t0)) s in all"
done_testing
