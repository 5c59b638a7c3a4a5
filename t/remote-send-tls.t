#!/bin/sh
# ISC license: see LICENSE.
# remote-send and TLS: opportunistic STARTTLS with a self-signed peer,
# "tls required" without STARTTLS, "tls verify" against a self-signed peer
# and against a configured CA, plaintext injected after STARTTLS, AUTH to a
# smarthost (only under TLS, credentials file unreadable by others).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/remote-lib.sh"

plan 28
need python3 python3
need openssl openssl

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 2 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost >/dev/null 2>&1 \
  || fail_rest "openssl cannot make a test certificate"
P=$(free_port)
no_mail () { ! grep -q 'MAIL FROM' "$1" ; }

# opportunistic (the default): a self-signed certificate is accepted
mkinstance "route peer.test via 127.0.0.1:$P" "timeout connect 2s" "timeout command 10s"
peer t1 127.0.0.1 "$P" --tls "$T/cert.pem" "$T/key.pem"
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cat "$T/out")" "ok 0 250 2.0.0 Ok: queued" "opportunistic: delivered to a self-signed STARTTLS peer"
check "opportunistic: the transaction ran under TLS" sh -c "sed -n '/TLS-ON/,\$p' '$T/t1.log' | grep -q 'MAIL FROM'"
check "opportunistic: EHLO again after STARTTLS" test "$(grep -c 'EHLO' "$T/t1.log")" = 2
check "opportunistic: the log says TLS 1.2, the cipher suite by name, unverified" grep -q 'tls host=.* version=TLSv1.2 cipher=ECDHE-RSA-[A-Z0-9-]* mode=opportunistic verified=no' "$T/err"
stop_last

# plaintext glued to the 220 of STARTTLS is thrown away (RFC 3207 §4.2)
peer t2 127.0.0.1 "$P" --tls "$T/cert.pem" "$T/key.pem" --inject
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "ok 0" "injection: delivered"
check "injection: the injected bytes were discarded and logged" grep -q 'discarded-plaintext-after-STARTTLS' "$T/err"
stop_last

# opportunistic, the handshake fails: the same address again, in plaintext
peer t2b 127.0.0.1 "$P" --tls "$T/cert.pem" "$T/key.pem" --tls-garbage
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "ok 0" "failed opportunistic handshake: delivered in plaintext on a second connection"
check "failed opportunistic handshake: logged" grep -q 'tls-fallback host=.* action=retrying-without-tls' "$T/err"
check "failed opportunistic handshake: no STARTTLS on the second connection" sh -c "sed -n '/TLS-GARBAGE/,\$p' '$T/t2b.log' | grep -v STARTTLS | grep -q 'MAIL FROM' && test \$(grep -c 'C: STARTTLS' '$T/t2b.log') = 1"
stop_last

# tls required, no STARTTLS offered: temporary, no plaintext MAIL
mkinstance "route peer.test via 127.0.0.1:$P tls required" "timeout connect 2s" "timeout command 10s"
peer t3 127.0.0.1 "$P"
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "temp 0" "tls required without STARTTLS: temporary"
check "tls required without STARTTLS: no MAIL sent in plaintext" no_mail "$T/t3.log"
check "tls required without STARTTLS: the report says why" grep -q 'does not offer STARTTLS' "$T/out"
stop_last

# tls verify against a self-signed peer (system CA bundle): temporary, no MAIL
mkinstance "route peer.test via localhost:$P tls verify" "timeout connect 2s" "timeout command 10s"
peer t4 127.0.0.1 "$P" --tls "$T/cert.pem" "$T/key.pem"
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "temp 0" "tls verify, self-signed peer: temporary"
check "tls verify, self-signed peer: no MAIL sent" no_mail "$T/t4.log"
check "tls verify, self-signed peer: the report names the certificate problem" grep -q 'TLS handshake failed: certificate' "$T/out"

# tls verify with our CA file and the right name: delivered
mkinstance "route peer.test via localhost:$P tls verify" "ca-file $T/cert.pem" "timeout connect 2s" "timeout command 10s"
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "ok 0" "tls verify, trusted CA, matching name: delivered"
check "tls verify: logged as verified" grep -q 'mode=verify verified=yes' "$T/err"

# tls verify with a trusted certificate for another name: temporary
stop_last
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key2.pem" -out "$T/cert2.pem" -days 2 \
  -subj /CN=other.test -addext subjectAltName=DNS:other.test >/dev/null 2>&1
mkinstance "route peer.test via localhost:$P tls verify" "ca-file $T/cert2.pem" "timeout connect 2s" "timeout command 10s"
peer t4b 127.0.0.1 "$P" --tls "$T/cert2.pem" "$T/key2.pem"
rs peer.test s@me.test a@peer.test < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "temp 0" "tls verify, trusted certificate, name mismatch: temporary"
check "tls verify, name mismatch: the report says so" grep -q 'does not match the host name' "$T/out"
stop_last

# AUTH to a smarthost over TLS
printf 'smart-user s3cret\n' > "$T/creds" ; chmod 600 "$T/creds"
mkinstance "smarthost 127.0.0.1:$P auth $T/creds" "timeout connect 2s" "timeout command 10s"
peer t5 127.0.0.1 "$P" --tls "$T/cert.pem" "$T/key.pem" --auth
rs example.org s@me.test a@example.org < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "ok 0" "AUTH: delivered through the smarthost"
check "AUTH: the peer saw the right credentials, under TLS" grep -q 'AUTH-PLAIN user=smart-user pass=s3cret tls=True' "$T/t5.log"
check "AUTH: the password is not in the log" sh -c "! grep -q s3cret '$T/err'"

# a credentials file others can read is refused
chmod 644 "$T/creds"
: > "$T/t5.log"
rs example.org s@me.test a@example.org < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "temp 0" "AUTH: a world-readable credentials file is refused (temp)"
check "AUTH: nothing was sent to the peer after STARTTLS" sh -c "! grep -q -e 'AUTH-' -e 'MAIL FROM' '$T/t5.log'"
chmod 600 "$T/creds"
stop_last

# AUTH LOGIN when PLAIN is not offered, and a credentials line for this host
printf 'any-user any-pass\n127.0.0.1 host-user host-pass\n' > "$T/creds2" ; chmod 600 "$T/creds2"
mkinstance "smarthost 127.0.0.1:$P auth $T/creds2" "timeout connect 2s" "timeout command 10s"
peer t5b 127.0.0.1 "$P" --tls "$T/cert.pem" "$T/key.pem" --auth --auth-login-only
rs example.org s@me.test a@example.org < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "ok 0" "AUTH LOGIN: delivered"
check "AUTH LOGIN: the host's own line is preferred to the generic one" grep -q 'AUTH-LOGIN user=host-user pass=host-pass tls=True' "$T/t5b.log"
stop_last

# AUTH is never sent without TLS
peer t6 127.0.0.1 "$P" --auth
rs example.org s@me.test a@example.org < "$T/msg"
is "$(cut -d' ' -f1-2 "$T/out")" "temp 0" "AUTH without TLS: temporary"
check "AUTH without TLS: no credentials on the wire" sh -c "! grep -q -e AUTH- -e 'MAIL FROM' '$T/t6.log'"
stop_last

done_testing
