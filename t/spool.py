# ISC license: see LICENSE.
"""The test suite's one copy of the spool's layout and file formats
(spool-layout/SPOOL; the state file is lib/qstate.h's, the remote job
lib/report.h's). Tests that only read the spool ask queue-ls -j; those
that need a path, or write a spool by hand, use this.

From Python: sys.path.insert(0, TOP + '/t'); import spool.
From the shell (lib.sh's entry_path and state_path):
    python3 t/spool.py entry|state SPOOL ID    prints the file's path
"""
import os
import sys


def bucket(qid):
    """SPOOL 1: a message's bucket is the last two digits of its id."""
    return qid[-2:]


def entry_path(spool, qid):
    """The queue entry, queue/XX/ID."""
    return os.path.join(spool, 'queue', bucket(qid), qid)


def state_path(spool, qid):
    """The state file, state/XX/ID."""
    return os.path.join(spool, 'state', bucket(qid), qid)


def write_entry(spool, qid, sender, rcpts, message, body='7bit'):
    """A committed queue entry written in place (no tmp/, no fsync: for a
    test that builds a spool before any program runs on it). message is
    the stored form, str with LF line ends."""
    head = 'ketch 1\nfrom %s\n' % sender
    head += ''.join('to %s\n' % r for r in rcpts)
    head += 'body %s\n\n' % body
    with open(entry_path(spool, qid), 'w') as f:
        f.write(head + message)


def write_state(spool, qid, rcpts, flags='-'):
    """A state file (lib/qstate.h): rcpts is a list of (status, attempts,
    next, address, original, result) tuples."""
    lines = 'ketch-state 1\t%s\n' % flags
    lines += ''.join('\t'.join(str(x) for x in r) + '\n' for r in rcpts)
    with open(state_path(spool, qid), 'w') as f:
        f.write(lines)


def head_length(entry):
    """The octets of an entry's envelope head, its empty line included:
    where the message starts (the header-length field of a job)."""
    return entry.index(b'\n\n') + 2


def job(qid, hdrlen, flags, sender, rcpts):
    """One remote-send batch job (lib/report.h): a netstring of
    NUL-terminated fields, queue-id header-length flags sender rcpt..."""
    fields = [qid, str(hdrlen), flags, sender] + list(rcpts)
    payload = b''.join(f.encode() + b'\0' for f in fields)
    return str(len(payload)).encode() + b':' + payload + b','


def read_job(inp):
    """The next job's fields from a binary stream, or None at its end."""
    n = b''
    while True:
        c = inp.read(1)
        if not c:
            return None
        if c == b':':
            break
        n += c
    payload = inp.read(int(n))
    inp.read(1)
    return [x.decode() for x in payload.split(b'\0')[:-1]]


if __name__ == '__main__':
    what = {'entry': entry_path, 'state': state_path}
    if len(sys.argv) != 4 or sys.argv[1] not in what:
        sys.exit('usage: spool.py entry|state SPOOL ID')
    print(what[sys.argv[1]](sys.argv[2], sys.argv[3]))
