# ISC license: see LICENSE.
# A mail filter on the real libmilter (python3-milter's Milter module), for
# t/milter-proto.t: it logs each callback with what it received, one line
# each, to LOG, and answers as the addresses say: a sender with "tempfail"
# gets 451, a recipient with "reject" a two-line 550, and at the end of a
# message it says PROGRESS, makes one of every modification and accepts;
# a body chunk with "skip" in it is answered SKIP.
# Usage: milter-filter.py SOCKET LOG (SOCKET as libmilter spells it:
# unix:/path or inet:port@host)

import sys

import Milter

log = open(sys.argv[2], 'a')


def note(*words):
    log.write(' '.join(str(w) for w in words) + '\n')
    log.flush()


class Filter(Milter.Base):
    # Milter.Base's negotiate, plus a macro list for CONNECT (SMFIR_SETSYMLIST
    # data in the OPTNEG reply) given as str: python3-milter 1.0.5's own
    # setsymlist passes bytes, which its C part refuses
    def negotiate(self, opts):
        self._ctx.setsymlist(Milter.M_CONNECT, 'j {client_addr}')
        self._actions = opts[0]
        opts[1] = self._protocol = opts[1] & ~self.protocol_mask()
        opts[2] = opts[3] = 0
        note('negotiated', hex(opts[0]), hex(opts[1]))
        return Milter.CONTINUE

    def connect(self, hostname, family, hostaddr):
        note('connect', hostname, hostaddr[0], hostaddr[1], self.getsymval('j'),
             self.getsymval('{client_addr}'), self.getsymval('{daemon_name}'))
        return Milter.CONTINUE

    def hello(self, name):
        note('helo', name)
        return Milter.CONTINUE

    def envfrom(self, sender, *params):
        note('mail', sender, *params, self.getsymval('{mail_addr}'))
        if 'tempfail' in sender:
            self.setreply('451', '4.7.1', 'try later')
            return Milter.TEMPFAIL
        return Milter.CONTINUE

    def envrcpt(self, rcpt, *params):
        note('rcpt', rcpt, *params)
        if 'reject' in rcpt:
            self.setreply('550', '5.7.1', 'no such user', 'really')
            return Milter.REJECT
        return Milter.CONTINUE

    def data(self):
        note('data')
        return Milter.CONTINUE

    # SMFIP_NR_HDR: no reply per header
    @Milter.noreply
    def header(self, name, value):
        note('header', name, repr(value))
        return Milter.CONTINUE

    def eoh(self):
        note('eoh')
        return Milter.CONTINUE

    # a chunk that says so ends the body for the filter (SMFIR_SKIP)
    def body(self, chunk):
        note('body', repr(chunk))
        if b'skip' in chunk:
            return Milter.SKIP
        return Milter.CONTINUE

    def eom(self):
        note('eom', self.getsymval('i'))
        self.progress()
        self.addheader('X-Filtered', 'yes')
        self.addheader('X-First', 'top', 0)
        self.chgheader('Subject', 1, 'changed')
        self.addrcpt('<added@example.net>')
        self.addrcpt('<par@example.net>', 'NOTIFY=NEVER')
        self.delrcpt('<b@example.net>')
        self.chgfrom('<new@example.org>', 'SIZE=200')
        self.replacebody(b'new body\r\n')
        self.quarantine('held for review')
        return Milter.ACCEPT

    def abort(self):
        note('abort')
        return Milter.CONTINUE

    def close(self):
        note('close')
        return Milter.CONTINUE


Milter.factory = Filter
note('ready')
Milter.runmilter('ketch-test', sys.argv[1], 30)
