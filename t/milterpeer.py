#!/usr/bin/python3
# ISC license: see LICENSE.
# A scripted milter for t/filter*.t, on libmilter (Debian's python3-milter,
# module Milter): what it answers at each stage comes from a script file
# read again at each connection, so one peer serves a test's cases one
# after the other; what it was told is appended to a log file.
#
#   milterpeer.py SOCKET SCRIPT LOG      SOCKET: inet:PORT@127.0.0.1 or unix:/path
#
# Script lines: STAGE[:MATCH] ACTION [WORDS...]; STAGE is connect, helo,
# mail, rcpt, data, header, eoh, body or eom; MATCH, if given, must be a
# substring of the stage's argument (the recipient, the header's name).
# ACTIONS at any stage: continue, accept, discard, reject|tempfail [CODE
# XCODE TEXT...] (setreply), hang (sleeps past any timeout), close (the
# process ends: the connection closes mid-conversation).
# Modifications, at eom only, in order, before the eom's verdict (which
# is continue unless a line says otherwise):
#   addheader NAME VALUE...    insheader INDEX NAME VALUE...
#   chgheader NAME INDEX [VALUE...] (no value: delete)
#   replbody TEXT... ("\n" in TEXT is a line end)
#   addrcpt ADDR   delrcpt ADDR   chgfrom ADDR   quarantine REASON...
# Log lines: "STAGE ARG", "macro STAGE NAME=VALUE" for each macro set,
# "header NAME: VALUE", "body OCTETS", "abort", "close".
import os
import sys
import time

import Milter

SOCKET, SCRIPT, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
MACROS = ['j', '{daemon_name}', '{daemon_addr}', '{if_addr}', '{client_addr}', '{client_name}', '{client_ptr}',
          '{client_port}', '_', 'v', '{tls_version}', '{cipher}', 'i', '{auth_type}', '{auth_authen}',
          '{mail_mailer}', '{mail_host}', '{mail_addr}', '{rcpt_mailer}', '{rcpt_host}', '{rcpt_addr}']
MODS = ('addheader', 'insheader', 'chgheader', 'replbody', 'addrcpt', 'delrcpt', 'chgfrom', 'quarantine')


def log(line):
    with open(LOG, 'a') as f:
        f.write(line.replace('\r', '\\r').replace('\n', '\\n') + '\n')


def load():
    rules = []
    try:
        with open(SCRIPT) as f:
            for line in f:
                w = line.split()
                if not w or w[0].startswith('#'):
                    continue
                stage, _, match = w[0].partition(':')
                rules.append((stage, match, w[1], w[2:]))
    except FileNotFoundError:
        pass
    return rules


class Peer(Milter.Base):
    def __init__(self):
        self.rules = load()

    def macros(self, stage):
        for m in MACROS:
            try:
                v = self.getsymval(m)
            except UnicodeDecodeError:
                v = '<not UTF-8>'
            if v is not None:
                log('macro %s %s=%s' % (stage, m, v))

    def verdict(self, stage, arg=''):
        self.macros(stage)
        for st, match, action, words in self.rules:
            if st != stage or (match and match not in arg) or action in MODS:
                continue
            if action == 'continue':
                return Milter.CONTINUE
            if action == 'accept':
                return Milter.ACCEPT
            if action == 'discard':
                return Milter.DISCARD
            if action == 'hang':
                time.sleep(3600)
            if action == 'close':
                log('close')
                os._exit(0)
            if action in ('reject', 'tempfail'):
                if words:
                    self.setreply(words[0], words[1], ' '.join(words[2:]))
                return Milter.REJECT if action == 'reject' else Milter.TEMPFAIL
        return Milter.CONTINUE

    def connect(self, hostname, family, hostaddr):
        log('connect %s %s %s' % (hostname, family, hostaddr))
        return self.verdict('connect', hostname)

    def hello(self, name):
        log('helo %s' % name)
        return self.verdict('helo', name)

    def envfrom(self, f, *params):
        log('mail %s %s' % (f, ' '.join(params)))
        return self.verdict('mail', f)

    def envrcpt(self, to, *params):
        log('rcpt %s %s' % (to, ' '.join(params)))
        return self.verdict('rcpt', to)

    def data(self):
        log('data')
        return self.verdict('data')

    def header(self, name, value):
        log('header %s: %s' % (name, value))
        return self.verdict('header', name)

    def eoh(self):
        log('eoh')
        return self.verdict('eoh')

    def body(self, chunk):
        log('body %d' % len(chunk))
        with open(LOG + '.body', 'ab') as f:
            f.write(chunk)
        return self.verdict('body')

    def eom(self):
        log('eom')
        for st, match, action, w in self.rules:
            if st != 'eom' or action not in MODS:
                continue
            if action == 'addheader':
                self.addheader(w[0], ' '.join(w[1:]))
            elif action == 'insheader':
                self.addheader(w[1], ' '.join(w[2:]), int(w[0]))
            elif action == 'chgheader':
                self.chgheader(w[0], int(w[1]), ' '.join(w[2:]))
            elif action == 'replbody':
                self.replacebody(' '.join(w).replace('\\n', '\r\n').encode())
            elif action == 'addrcpt':
                self.addrcpt(w[0])
            elif action == 'delrcpt':
                self.delrcpt(w[0])
            elif action == 'chgfrom':
                self.chgfrom(w[0])
            elif action == 'quarantine':
                self.quarantine(' '.join(w))
        return self.verdict('eom')

    def abort(self):
        log('abort')
        return Milter.CONTINUE

    def close(self):
        log('close')
        return Milter.CONTINUE


def main():
    Milter.factory = Peer
    Milter.set_flags(Milter.ADDHDRS | Milter.CHGHDRS | Milter.CHGBODY | Milter.ADDRCPT | Milter.DELRCPT
                     | Milter.QUARANTINE | Milter.CHGFROM)
    if SOCKET.startswith('unix:') and os.path.exists(SOCKET[5:]):
        os.unlink(SOCKET[5:])
    log('ready')
    Milter.runmilter('milterpeer', SOCKET, 600)


if __name__ == '__main__':
    main()
