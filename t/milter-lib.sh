# ISC license: see LICENSE.
# The real filters of Debian 12 as peers of the t/filter-*.t tests (source
# after lib.sh): rspamd 3.4 in milter mode, OpenDKIM as signer or verifier,
# OpenDMARC, and the dnsmasq they resolve against. Each runs from a
# configuration written here under $T/peers, never the system's files or
# services, on a free loopback port, as its Debian user when run by root;
# each start waits a bounded time for the filter's socket and returns 1
# with the reason in $milter_why when it does not come up (a test that
# needs the peer fails then, never skips). All are killed at exit.
#
# DNS: OpenDMARC resolves with libresolv, which takes its servers from
# /etc/resolv.conf and knows no port, so dnsmasq listens on port 53 of an
# address of its own in 127.0.0.0/8 ($MDNS, from the test's PID, so that
# two tests never share one) and OpenDMARC runs in a mount namespace where
# /etc/resolv.conf names it. OpenDKIM resolves with libunbound, whose
# defaults refuse both a forwarder on the loopback (do-not-query-localhost)
# and any name under .test (RFC 6761 7, local-zone "test." static): its
# Nameservers option alone finds nothing, so it gets an unbound
# configuration (ResolverConfiguration) that lifts the two.

MDIR=$T/peers
mkdir -p "$MDIR" && chmod 755 "$MDIR"
# one address per PID (pid_max is at most 2^22; every address of 127/8 but
# 127.255.255.255 is a local one on Linux, .0 and .255 included)
MDNS=127.$(( ($$ >> 16) % 64 + 40 )).$(( ($$ >> 8) & 255 )).$(( $$ & 255 ))
MPY=/usr/bin/python3
milter_why=
milter_pids=""
# TERM, then KILL after 3 s: OpenDKIM takes 10 s to end its threads after a TERM
milter_stop () {
  for _p in $milter_pids ; do kill "$_p" 2>/dev/null ; done
  _n=0
  for _p in $milter_pids ; do
    while kill -0 "$_p" 2>/dev/null && [ $_n -lt 30 ] ; do sleep 0.1 ; _n=$((_n + 1)) ; done
    kill -9 "$_p" 2>/dev/null
  done
  milter_pids=""
}
at_exit milter_stop
_mroot=0 ; [ "$(id -u)" = 0 ] && _mroot=1

# milter_wait NAME PID SECONDS HOST PORT: the peer's socket accepts within
# SECONDS while its process lives; else 1, with the end of its log
milter_wait () {
  _mw_end=$(( $(date +%s) + $3 ))
  while ! port_open "$4" "$5" 2>/dev/null ; do
    if ! kill -0 "$2" 2>/dev/null ; then milter_why="$1 exited: $(tail -n 5 "$MDIR/$1.log")" ; return 1 ; fi
    if [ "$(date +%s)" -ge "$_mw_end" ] ; then milter_why="$1 not listening on $4:$5 after $3 s: $(tail -n 5 "$MDIR/$1.log")" ; return 1 ; fi
    sleep 0.1
  done
}

# mdns RECORD...: dnsmasq on $MDNS:53, authoritative for .test, with the
# given --txt-record=... (or other) options
mdns () {
  _u="" ; [ $_mroot = 1 ] && _u="--user=root"
  dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --port=53 --listen-address="$MDNS" \
    --bind-interfaces $_u --pid-file= --local=/test/ "$@" >"$MDIR/dnsmasq.log" 2>&1 &
  milter_pids="$milter_pids $!"
  milter_wait dnsmasq $! 10 "$MDNS" 53 || return 1
  printf 'nameserver %s\n' "$MDNS" > "$MDIR/resolv.conf"
  printf 'server:\n  do-not-query-localhost: no\n  local-zone: "test." nodefault\nforward-zone:\n  name: "."\n  forward-addr: %s\n' "$MDNS" > "$MDIR/unbound.conf"
  chmod 644 "$MDIR/resolv.conf" "$MDIR/unbound.conf"
}

# dkim_key DOMAIN SELECTOR: a 1024-bit key from opendkim-genkey (one TXT
# string of under 255 octets, and python3-dkim's minimum), readable by the
# opendkim user; sets DKIM_KEY (the private key's file) and DKIM_DNS (the
# dnsmasq option that publishes it)
dkim_key () {
  _kd=$MDIR/dkim-$1
  mkdir -p "$_kd"
  opendkim-genkey -b 1024 -D "$_kd" -d "$1" -s "$2" || return 1
  [ $_mroot = 1 ] && chown -R opendkim "$_kd"
  DKIM_KEY=$_kd/$2.private
  # sel._domainkey IN TXT ( "v=DKIM1; ..." "p=..." ) ; comment: the strings joined
  DKIM_DNS="--txt-record=$2._domainkey.$1,$(sed -e 's/^[^(]*(//' -e 's/).*$//' "$_kd/$2.txt" | tr -d '\n\t' | sed -e 's/" *"//g' -e 's/^ *"//' -e 's/" *$//')"
}

# rspamd_start PORT: rspamd's proxy worker in milter mode on 127.0.0.1:PORT
# and the normal worker that scans for it; Redis-less, none of Debian's
# module configuration (no DNS lists, no fuzzy storage, no Bayes), hyperscan
# off (its cache would be compiled at each start). GTUBE is rspamd's own
# (a reject). The actions are at 6 (add header: rspamd's milter sets
# X-Spam: Yes), 20 (rewrite subject to "[spam] SUBJECT") and 50 (reject);
# two rules of the test's own score a message by its X-Ketch-Test header
# (add-header: 10, rewrite-subject: 30), so that each action is reached on
# purpose. milter_headers adds X-Spamd-Result, X-Rspamd-Action,
# X-Spam-Status and Authentication-Results to every message, from the
# loopback and authenticated clients as well. Its log is $MDIR/rspamd.log.
# rspamd takes 10 to 20 s to load its rules: one start per test file.
rspamd_start () {
  _rd=$MDIR/rspamd ; _rp=$1 ; _rn=$(free_port)
  mkdir -p "$_rd/db" "$_rd/run"
  _ru="" ; [ $_mroot = 1 ] && { chown _rspamd: "$_rd/db" "$_rd/run" ; _ru="-u _rspamd -g _rspamd" ; }
  cat > "$_rd/ketch.lua" <<'EOF'
-- the test's rules: a message asks for an action by its X-Ketch-Test header
rspamd_config.KETCH_ADD_HEADER = {
  callback = function(task) return task:get_header('X-Ketch-Test') == 'add-header' end,
  score = 10.0, description = 'ketch test: reach the add header action',
}
rspamd_config.KETCH_REWRITE_SUBJECT = {
  callback = function(task) return task:get_header('X-Ketch-Test') == 'rewrite-subject' end,
  score = 30.0, description = 'ketch test: reach the rewrite subject action',
}
EOF
  cat > "$_rd/rspamd.conf" <<EOF
lua = "\$RULESDIR/rspamd.lua";
lua = "$_rd/ketch.lua";
.include "\$CONFDIR/metrics.conf"
.include "\$CONFDIR/groups.conf"
modules { path = "\${PLUGINSDIR}"; }
options {
  pidfile = "$_rd/run/rspamd.pid";
  filters = "regexp";
  disable_hyperscan = true;
  dns { nameserver = ["$MDNS:53"]; timeout = 0.5s; retransmits = 1; }
  cache_file = "$_rd/db/symbols.cache";
  dynamic_conf = "";
  history_file = "";
  control_socket = "";
  rrd = "";
  explicit_modules = ["settings"];
}
actions { reject = 50; add_header = 6; rewrite_subject = 20; greylist = null; subject = "[spam] %s"; }
logging { type = "file"; filename = "$MDIR/rspamd.log"; level = "info"; }
worker "normal" { bind_socket = "127.0.0.1:$_rn"; mime = true; count = 1; }
worker "rspamd_proxy" {
  bind_socket = "127.0.0.1:$_rp"; milter = yes; timeout = 120s; count = 1;
  upstream "local" { default = yes; hosts = "127.0.0.1:$_rn"; }
  reject_message = "Spam message rejected";
}
milter_headers {
  use = ["x-spamd-result", "x-rspamd-action", "x-spam-status", "authentication-results"];
  skip_local = false; skip_authenticated = false;
}
EOF
  chmod -R a+rX "$_rd"
  : > "$MDIR/rspamd.log" ; [ $_mroot = 1 ] && chown _rspamd "$MDIR/rspamd.log"
  # shellcheck disable=SC2086
  rspamd -f $_ru -c "$_rd/rspamd.conf" >>"$MDIR/rspamd.log" 2>&1 &
  RSPAMD_PID=$!
  milter_pids="$milter_pids $RSPAMD_PID"
  milter_wait rspamd "$RSPAMD_PID" 120 127.0.0.1 "$_rp"
}

# opendkim_start NAME PORT s|v [DOMAIN SELECTOR KEYFILE]: OpenDKIM on
# 127.0.0.1:PORT, signing for DOMAIN (mode s; OpenDKIM's default
# canonicalization, simple/simple, which keeps every octet of the signed
# header fields: the strictest test of what ketch stores) or verifying
# with AuthservID mx.test.example (mode v); keys looked up through $MDNS
# (mdns first). Its log (LogWhy) is $MDIR/NAME.log.
opendkim_start () {
  _n=$1 ; _p=$2
  {
    echo "Syslog no"
    echo "LogWhy yes"
    echo "Background no"
    [ $_mroot = 1 ] && echo "UserID opendkim"
    echo "Socket inet:$_p@127.0.0.1"
    echo "PidFile $MDIR/$_n.pid"
    echo "Mode $3"
    echo "AuthservID mx.test.example"
    # the test directory is under /tmp: OpenDKIM would refuse its key and configuration
    echo "RequireSafeKeys no"
    echo "ResolverConfiguration $MDIR/unbound.conf"
    if [ "$3" = s ] ; then echo "Domain $4" ; echo "Selector $5" ; echo "KeyFile $6" ; fi
  } > "$MDIR/$_n.conf"
  : > "$MDIR/$_n.log"
  opendkim -f -x "$MDIR/$_n.conf" >>"$MDIR/$_n.log" 2>&1 &
  milter_pids="$milter_pids $!"
  milter_wait "$_n" $! 20 127.0.0.1 "$_p"
}

# opendmarc_start NAME PORT: OpenDMARC on 127.0.0.1:PORT, AuthservID and
# trusted AuthservID mx.test.example (so it reads the verifier's DKIM
# results), no host ignored (it ignores 127.0.0.1 by default, and every
# test client is there), failures not rejected (the verdict is the
# header); its /etc/resolv.conf names $MDNS (mdns first). Log: $MDIR/NAME.log.
opendmarc_start () {
  _n=$1 ; _p=$2
  echo 192.0.2.1 > "$MDIR/$_n.ignore"
  {
    echo "AuthservID mx.test.example"
    echo "TrustedAuthservIDs mx.test.example"
    echo "Socket inet:$_p@127.0.0.1"
    echo "PidFile $MDIR/$_n.pid"
    [ $_mroot = 1 ] && echo "UserID opendmarc"
    echo "Syslog false"
    echo "IgnoreHosts $MDIR/$_n.ignore"
    echo "SoftwareHeader true"
    echo "RejectFailures false"
  } > "$MDIR/$_n.conf"
  chmod 644 "$MDIR/$_n.conf" "$MDIR/$_n.ignore"
  _us=-m ; [ $_mroot = 1 ] || _us=-rm
  : > "$MDIR/$_n.log"
  # a shell that execs: the PID is OpenDMARC's
  unshare $_us sh -c 'mount --bind "$1" /etc/resolv.conf && exec opendmarc -f -c "$2"' sh \
    "$MDIR/resolv.conf" "$MDIR/$_n.conf" >>"$MDIR/$_n.log" 2>&1 &
  milter_pids="$milter_pids $!"
  milter_wait "$_n" $! 20 127.0.0.1 "$_p"
}

# mclient ARGS...: t/milterclient.py, a milter session of the test's own
# with a filter (the peer checked apart from ketch)
mclient () { "$MPY" "$top/t/milterclient.py" "$@" ; }

# dkimverify FILE: python3-dkim verifies FILE's first DKIM signature, the
# key looked up in $MDNS
dkimverify () { "$MPY" "$top/t/dkimverify.py" "$MDNS:53" < "$1" ; }

# milter_logs: the ends of the peers' logs, as TAP comments (on failure)
milter_logs () {
  for _l in "$MDIR"/*.log ; do
    [ -f "$_l" ] || continue
    echo "# --- $_l"
    tail -n 15 "$_l" | sed 's/^/# /'
  done
}
at_exit 'if [ "$tap_failed" != 0 ] ; then milter_logs >&2 ; fi'

# msend PORT FROM RCPT FILE [USER PASSWORD]: FILE (LF line ends) as one
# message over SMTP with Python's smtplib, after AUTH PLAIN when a user is
# given; prints the reply to the end of data ("250" or "554 5.7.1 text"),
# or to the command that failed, or "error WHY"
msend () {
  "$MPY" - "$@" <<'EOF_PY'
import smtplib, sys
port, frm, rcpt, fn = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
try:
    s = smtplib.SMTP('127.0.0.1', port, timeout=60)
    s.ehlo('client.test')
    if len(sys.argv) > 6:
        s.login(sys.argv[5], sys.argv[6])
    s.sendmail(frm, [rcpt], open(fn, 'rb').read().replace(b'\r\n', b'\n').replace(b'\n', b'\r\n'))
    print(250)
    s.quit()
except smtplib.SMTPResponseException as e:
    print(e.smtp_code, e.smtp_error.decode(errors='replace').replace('\n', ' '))
except smtplib.SMTPRecipientsRefused as e:
    c, t = list(e.recipients.values())[0]
    print(c, t.decode(errors='replace'))
except Exception as e:
    print('error', type(e).__name__, e)
EOF_PY
}

# mail_with DIR PATTERN: the path of the message in DIR (a Maildir's new/)
# that has a line matching PATTERN (grep -E), once there is one (20 s)
_mail_with () { grep -lE -- "$2" "$1"/* 2>/dev/null | head -n 1 | grep -q . ; }
mail_with () {
  wait_for 20 _mail_with "$1" "$2" || return 1
  grep -lE -- "$2" "$1"/* | head -n 1
}

