# ISC license: see LICENSE.
# Helpers shared by the remote-send tests (after t/lib.sh): loopback peers
# (Python's scripted server, Postfix's smtp-sink, dnsmasq) with their PIDs
# killed at exit, and a runner that keeps remote-send's report and log.

PEER=$top/t/smtppeer.py
pids=""
at_exit 'for p in $pids ; do kill $p 2>/dev/null ; done ; for p in $pids ; do wait $p 2>/dev/null ; done'

# wait_port HOST PORT: until something accepts on it (5 s at most; port_open is lib.sh's)
wait_port () { wait_for 5 port_open "$1" "$2" ; }

# peer NAME HOST PORT [OPTIONS...]: the scripted server; transcript in $T/NAME.log, data in $T/NAME.data
peer () {
  _n=$1 ; _h=$2 ; _p=$3 ; shift 3
  : > "$T/$_n.log"
  python3 "$PEER" --host "$_h" --port "$_p" --log "$T/$_n.log" --data "$T/$_n.data" --ready "$T/$_n.ready" "$@" 2>>"$T/$_n.err" &
  pids="$pids $!"
  wait_for 5 test -e "$T/$_n.ready" || diag "peer $_n did not start: $(cat "$T/$_n.err")"
}

# stop_last: kill the last server started
stop_last () {
  _last=${pids##* }
  kill "$_last" 2>/dev/null ; wait "$_last" 2>/dev/null
  pids=${pids% *}
}

# sink NAME HOST PORT: Postfix's smtp-sink, one file per message in $T/NAME.dump/, its pid in $pid_NAME
SINK=""
find_sink () {
  SINK=$(sh "$top/t/smtp-sink.sh" 2>"$T/sink.err") || return 1
}
sink () {
  _n=$1 ; _h=$2 ; _p=$3
  mkdir -p "$T/$_n.dump" && chmod 777 "$T/$_n.dump"
  _u="" ; [ "$(id -u)" = 0 ] && _u="-u nobody"
  ( cd "$T" && LD_LIBRARY_PATH=$(dirname "$SINK")/../lib/postfix exec "$SINK" $_u -d "$T/$_n.dump/%M." "$_h:$_p" 10 ) 2>>"$T/$_n.err" &
  pids="$pids $!"
  eval "pid_$_n=$!"
  wait_port "$_h" "$_p" || diag "smtp-sink $_n did not start: $(cat "$T/$_n.err")"
}

# dns PORT ARGS...: dnsmasq answering for .test only, on 127.0.0.1:PORT
dns () {
  _p=$1 ; shift
  _u="" ; [ "$(id -u)" = 0 ] && _u="--user=root"
  dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --port="$_p" --listen-address=127.0.0.1 \
    --bind-interfaces $_u --pid-file= --local=/test/ "$@" 2>>"$T/dns.err" &
  pids="$pids $!"
  wait_port 127.0.0.1 "$_p" || diag "dnsmasq did not start: $(cat "$T/dns.err")"
}

# rs [-8] [-u] [-H LEN] DOMAIN SENDER RCPT...: stdin as a queue entry of $T/rs (a
# spool of its own, id $RSID, LEN octets of envelope head, 0 by default),
# sent as the one job of a remote-send -b batch, the way the scheduler runs
# it (flags 8 and u as in lib/report). Report lines without their job index
# (always 0) in $T/out, log in $T/err, status in $rc.
RSID=0000000000000000000000a1
rs () {
  _f="" ; _h=0
  while : ; do
    case $1 in -8) _f=${_f}8 ;; -u) _f=${_f}u ;; -H) _h=$2 ; shift ;; *) break ;; esac
    shift
  done
  _d=$1 ; shift
  _e=$(SPOOL=$T/rs entry_path "$RSID")
  rm -rf "$T/rs" ; mkdir -p "${_e%/*}"
  cat > "$_e"
  printf '%s\0' "$RSID" "$_h" "${_f:--}" "$@" > "$T/rs.job"
  { printf '%s:' "$(wc -c < "$T/rs.job" | tr -d ' ')" ; cat "$T/rs.job" ; printf ',' ; } > "$T/rs.batch"
  ( cd "$T/rs" && exec remote-send -C "$CONF" -b "$_d" ) < "$T/rs.batch" > "$T/report" 2> "$T/err"
  rc=$?
  sed 's/^0 //' "$T/report" > "$T/out"
  [ "$rc" = 0 ] || diag "remote-send exited $rc: $(cat "$T/err")"
}

# msg: a small message in $T/msg
printf 'From: a@me.test\nTo: b@peer.test\nSubject: test\n\nhello\n' > "$T/msg"
