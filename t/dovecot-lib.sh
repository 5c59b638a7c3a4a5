# ISC license: see LICENSE.
# A private Dovecot for the AUTH tests (t/dovecot-auth.t, t/sender-login.t):
# its base_dir, state and log under $T/dv, a passwd-file passdb the test
# writes ($T/dv/passwd: "user:{PLAIN}password" lines), a static userdb (no
# system accounts), the auth-client socket at $DVSOCK. Source after t/lib.sh.
DVSOCK=$T/dv/run/auth-client
mkdir -p "$T/dv"

# dvconf MECHS: the configuration, offering those mechanisms (auth_mechanisms)
dvconf () {
  cat > "$T/dv/dovecot.conf" <<DV
base_dir = $T/dv/run
state_dir = $T/dv/state
log_path = $T/dv/log
instance_name = ketch-dv-$$
protocols = lmtp
listen = 127.0.0.1
ssl = no
auth_mechanisms = $1
disable_plaintext_auth = yes
passdb {
  driver = passwd-file
  args = $T/dv/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener auth-client {
    mode = 0666
  }
}
service anvil {
  chroot =
}
DV
}

# dvstart: starts it and waits for its socket; a Dovecot that fails to start bails out
dvstart () {
  timeout 10 dovecot -c "$T/dv/dovecot.conf" || { echo "Bail out! dovecot did not start" ; exit 1 ; }
  wait_for 10 test -S "$DVSOCK"
}

# dvstop: stops it and waits for its master process to be gone
dvstop () {
  _mp=$(cat "$T/dv/run/master.pid" 2>/dev/null)
  timeout 10 dovecot -c "$T/dv/dovecot.conf" stop >/dev/null 2>&1
  [ -n "$_mp" ] && wait_for 10 sh -c "! kill -0 $_mp 2>/dev/null"
  rm -f "$DVSOCK"
}
at_exit "[ -f '$T/dv/dovecot.conf' ] && timeout 10 dovecot -c '$T/dv/dovecot.conf' stop >/dev/null 2>&1"
