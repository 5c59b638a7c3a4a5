# ISC license: see LICENSE.
# A real Postfix as a peer (after lib.sh and remote-lib.sh), from the
# package unpacked by t/smtp-sink.sh, never installed: its own main.cf and
# master.cf in a test directory, STARTTLS with a certificate made here,
# the virtual delivery agent writing a Maildir. Needs root (Postfix's
# master does). Its log is DIR/maillog.
#
# The suite provides Postfix (t/smtp-sink.sh fetches the package, .ci/deps
# test installs its libraries), so the only reason not to run it is not
# being root; anything else that keeps it from starting, a missing package
# included, is the test's failure.

# postfix_peer DIR PORT DOMAIN USER: Postfix on 127.0.0.1:PORT accepting
# mail for USER@DOMAIN into DIR/mail/USER/. 0 when it is ready; 2 when it
# cannot run here (not root); 1 when it failed to start, with the reason in
# $postfix_why
postfix_why=
postfix_peer () {
  _d=$1 ; _p=$2 ; _dom=$3 ; _mu=$4
  [ "$(id -u)" = 0 ] || { postfix_why="Postfix's master needs root" ; return 2 ; }
  find_sink || { postfix_why="no Postfix package: $(cat "$T/sink.err")" ; return 1 ; }
  _pr=$(dirname "$(dirname "$(dirname "$SINK")")")
  [ -x "$_pr/usr/lib/postfix/sbin/master" ] || { postfix_why="no Postfix master in $_pr" ; return 1 ; }
  _pu=kpf$$
  useradd -M -d /nonexistent -s /bin/false "$_pu" && groupadd "${_pu}d" || { postfix_why="useradd or groupadd $_pu failed" ; return 1 ; }
  at_exit "userdel $_pu >/dev/null 2>&1 ; groupdel ${_pu}d >/dev/null 2>&1"
  mkdir -p "$_d/etc" "$_d/queue" "$_d/data" "$_d/mail"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$_d/etc/key.pem" -out "$_d/etc/cert.pem" -days 2 \
    -subj "/CN=$_dom" >/dev/null 2>&1 || { postfix_why="openssl could not make its certificate" ; return 1 ; }
  cat > "$_d/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $_d/queue
data_directory = $_d/data
command_directory = $_pr/usr/sbin
daemon_directory = $_pr/usr/lib/postfix/sbin
shlib_directory = $_pr/usr/lib/postfix
meta_directory = $_d/etc
mail_owner = $_pu
setgid_group = ${_pu}d
myhostname = $_dom
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = /dev/stdout
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH=$_pr/usr/lib/postfix
smtpd_tls_cert_file = $_d/etc/cert.pem
smtpd_tls_key_file = $_d/etc/key.pem
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_relay_restrictions = reject_unauth_destination
smtputf8_enable = yes
# the message as sent: no Date or Message-Id added for a loopback client
local_header_rewrite_clients =
always_add_missing_headers = no
virtual_mailbox_domains = $_dom
virtual_mailbox_base = $_d/mail
virtual_mailbox_maps = inline:{ {$_mu@$_dom=$_mu/} }
virtual_uid_maps = static:$(id -u "$_mu")
virtual_gid_maps = static:$(id -g "$_mu")
virtual_minimum_uid = 1
EOF
  cat > "$_d/etc/master.cf" <<EOF
127.0.0.1:$_p inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
virtual unix - n n - - virtual
postlog unix-dgram n - n - 1 postlogd
EOF
  # the queue as post-install would make it
  for _q in active bounce corrupt defer deferred flush hold incoming private saved trace ; do mkdir -p "$_d/queue/$_q" && chmod 700 "$_d/queue/$_q" ; done
  mkdir -p "$_d/queue/public" "$_d/queue/maildrop" "$_d/queue/pid"
  chown -R "$_pu" "$_d/queue" "$_d/data" && chown root "$_d/queue" "$_d/queue/pid"
  chgrp "${_pu}d" "$_d/queue/public" "$_d/queue/maildrop" && chmod 710 "$_d/queue/public" && chmod 730 "$_d/queue/maildrop"
  chmod 1777 "$_d/mail"
  LD_LIBRARY_PATH=$_pr/usr/lib/postfix "$_pr/usr/lib/postfix/sbin/master" -c "$_d/etc" -d > "$_d/maillog" 2>&1 &
  # stopped before its user is deleted (hooks run last-registered first);
  # the master takes its children down with it
  at_exit "kill $! 2>/dev/null ; _n=0 ; while ps -u $_pu >/dev/null 2>&1 && [ \$_n -lt 50 ] ; do sleep 0.1 ; _n=\$((_n + 1)) ; done"
  wait_port 127.0.0.1 "$_p" || { postfix_why="Postfix did not start: $(tail -n 5 "$_d/maillog")" ; return 1 ; }
}
