#!/bin/sh
# ISC license: see LICENSE.
# smtp-listen -f decodes the certificate chain once per configuration
# load and lends it to the sessions it forks (lib/tls.h, tls_chain): no
# session opens the certificate file; one replaced without a reload is
# read by the sessions themselves and served at once; after ketch-reload
# the listener serves the new one from its own decoding again. Always -f:
# the exec'd sessions (smtp-tls.t) read the file per STARTTLS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp-lib.sh"
plan 8
need openssl openssl

cd "$T" || exit 1
mkdir -p "$T/certs" "$T/new"
newcert () {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/server.key" -out "$1/server.crt" -days 2 -subj "/CN=$2" >/dev/null 2>&1
}
newcert "$T/certs" first.example
newcert "$T/new" second.example
PORT=$(free_port)
mkinstance "listen 127.0.0.1 port $PORT starttls" "certificate $T/certs/server.crt key $T/certs/server.key"
start_listen -f
ok $? "smtp-listen -f ready"

# the watcher: inotify on the certificates' directory counts the opens of
# server.crt (ctypes: no package needed); each phase prints the CN served
# to 3 STARTTLS sessions and how many of them opened the file
cat > "$T/watch.py" <<PY
import ctypes, os, struct, select
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
assert fd >= 0
assert libc.inotify_add_watch(fd, b'$T/certs', 0x20) >= 0   # IN_OPEN
def opens():
  n = 0
  while select.select([fd], [], [], 0.2)[0]:
    try: b = os.read(fd, 65536)
    except BlockingIOError: break
    i = 0
    while i < len(b):
      wd, mask, cookie, ln = struct.unpack_from('iIII', b, i)
      name = b[i + 16:i + 16 + ln].rstrip(b'\0')
      if name == b'server.crt': n += 1
      i += 16 + ln
  return n
def served():
  c = Conn($PORT); c.reply(); c.code(b'EHLO t')
  if c.code(b'STARTTLS') != 220: return 'refused'
  s = c.wrap()
  der = s.getpeercert(True)
  c.code(b'EHLO t'); c.code(b'QUIT')
  return 'second' if b'second.example' in der else 'first' if b'first.example' in der else '?'
opens()
# the opens counted after each session: inotify merges an event into an
# identical one still unread
cns = []
n = 0
for _ in range(3):
  cns.append(served())
  n += opens() > 0
print(' '.join(cns), n)
PY
got=$(py "exec(open('$T/watch.py').read())")
is "$got" "first first first 0" "3 STARTTLS sessions: the certificate served, and none opens its file (the listener decoded it)"

mv "$T/new/server.key" "$T/certs/server.key.new" && mv "$T/certs/server.key.new" "$T/certs/server.key"
mv "$T/new/server.crt" "$T/certs/server.crt.new" && mv "$T/certs/server.crt.new" "$T/certs/server.crt"
got=$(py "exec(open('$T/watch.py').read())")
is "$got" "second second second 3" "certificate and key renewed by rename, no reload: the new one served at once (each session reads the changed file itself)"

# ketch-reload on a supervised service dir: the s6-svc stand-in sends SIGHUP
mkdir -p "$T/shim" "$T/svc/smtp-listen/supervise"
touch "$T/svc/smtp-listen/supervise/status"
echo "$LPID" > "$T/svc/smtp-listen/pid"
printf '#!/bin/sh
for a ; do [ -f "$a/pid" ] && kill -HUP "$(cat "$a/pid")" ; done
exit 0
' > "$T/shim/s6-svc"
chmod 755 "$T/shim/s6-svc"
n0=$(grep -c 'configuration reloaded' "$T/smtp.log")
PATH=$T/shim:$PATH ketch-reload -C "$CONF" "$T/svc"
ok $? "ketch-reload: exit 0"
wait_for 5 sh -c "[ \$(grep -c 'configuration reloaded' '$T/smtp.log') -gt $n0 ]"
ok $? "... smtp-listen reloaded"
got=$(py "exec(open('$T/watch.py').read())")
is "$got" "second second second 0" "after ketch-reload: the new certificate served from the listener's decoding (no session opens the file)"

# a chain that does not decode: the sessions say so themselves (454), as without -f
printf 'not a certificate\n' > "$T/certs/server.crt.new" && mv "$T/certs/server.crt.new" "$T/certs/server.crt"
kill -HUP "$LPID"
wait_for 5 grep -q 'unable to decode the certificate chain' "$T/smtp.log"
ok $? "SIGHUP with a broken certificate: the listener warns"
got=$(py "exec(open('$T/watch.py').read())" | cut -d' ' -f1-3)
is "$got" "refused refused refused" "... and STARTTLS gets 454 from each session"
stop_listen
done_testing
