# ISC license: see LICENSE.
"""The test messages of t/crash.py and t/powercut.py: a body drawn from a
seed (lone dots and leading dots for dot-stuffing, empty lines, and with
from_lines "From " lines for mbox quoting), a Message-ID that names the
run and the index, and the body's SHA-256 in X-Crash-Sum; check() reads a
delivered copy back."""

import hashlib
import random


def body(seed, i, from_lines=True):
    r = random.Random(seed * 1000003 + i)
    lines = []
    for j in range(r.randint(1, 120)):
        kind = r.random()
        if kind < 0.05:
            lines.append('.')                  # a lone dot: dot-stuffing
        elif kind < 0.10:
            lines.append('.leading dot %d' % j)
        elif from_lines and kind < 0.15:
            lines.append('From the middle %d' % j)
        elif kind < (0.20 if from_lines else 0.15):
            lines.append('')
        else:
            lines.append(''.join(r.choice('abcdefghijklmnopqrstuvwxyz0123456789 ,;:-_') for _ in range(r.randint(1, 200))))
    return ''.join(l + '\n' for l in lines)


def message(seed, i, tag, runid, rcpt, from_lines=True):
    """the whole message; tag names the sender and the Message-ID's prefix"""
    b = body(seed, i, from_lines)
    return ('From: <%s@test.example>\nTo: <%s>\nSubject: %s %s %d\n'
            'Message-ID: <%s.%s.%d@test.example>\nX-Crash-Sum: %s\n\n%s'
            % (tag, rcpt, tag, runid, i, tag, runid, i, hashlib.sha256(b.encode()).hexdigest(), b))


def check(data, tag, runid):
    """(index, body intact?) of a delivered copy, or None when it is not
    one of this run's messages"""
    head, sep, b = data.partition('\n\n')
    mid = want = None
    for line in head.split('\n'):
        if line.lower().startswith('message-id: <%s.%s.' % (tag, runid)):
            mid = int(line.split('.')[2].split('@')[0])
        elif line.lower().startswith('x-crash-sum: '):
            want = line.split(' ', 1)[1].strip()
    if mid is None:
        return None
    return mid, bool(sep) and want == hashlib.sha256(b.encode('latin-1')).hexdigest()
