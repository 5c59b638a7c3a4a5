#!/usr/bin/python3
# ISC license: see LICENSE.
# The no-op milter of make bench's w1n (t/bench/README.md): on libmilter
# (Debian's python3-milter), it asks for every stage of the conversation
# (connect, HELO, MAIL, RCPT, each header, end of headers, the body, end
# of message), answers continue to each, and changes nothing: what one
# filter switched on costs the MTA, its own CPU being measured apart (its
# cgroup). The number of messages it saw (end of message) is written to
# COUNTFILE at most every half second, away from the milter's threads,
# so that the harness can tell a listener that did not use it.
#
#   noop-milter.py SOCKET COUNTFILE      SOCKET: inet:PORT@127.0.0.1
import os
import sys
import threading

import Milter

SOCKET, COUNTFILE = sys.argv[1], sys.argv[2]
seen = [0]
lock = threading.Lock()


class Noop(Milter.Base):
    # every callback defined here is negotiated (libmilter's protocol
    # steps): the MTA sends each stage and waits for its reply
    def connect(self, hostname, family, hostaddr):
        return Milter.CONTINUE

    def hello(self, heloname):
        return Milter.CONTINUE

    def envfrom(self, f, *params):
        return Milter.CONTINUE

    def envrcpt(self, to, *params):
        return Milter.CONTINUE

    def header(self, name, value):
        return Milter.CONTINUE

    def eoh(self):
        return Milter.CONTINUE

    def body(self, chunk):
        return Milter.CONTINUE

    def eom(self):
        with lock:
            seen[0] += 1
        return Milter.CONTINUE


def writer():
    last = -1
    ev = threading.Event()
    while not ev.wait(0.5):
        n = seen[0]
        if n != last:
            tmp = COUNTFILE + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % n)
            os.rename(tmp, COUNTFILE)
            last = n


threading.Thread(target=writer, daemon=True).start()
Milter.factory = Noop
Milter.runmilter("noop", SOCKET, timeout=120)
