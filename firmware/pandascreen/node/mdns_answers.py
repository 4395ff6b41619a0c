"""[CPython] Every answer the LAN gives for one mDNS name, not only the one zeroconf keeps.

Why: a node's mDNS name is its node id, which anyone may read, so a stranger can announce an
organiser's name with records of its own.  zeroconf's ``ServiceInfo`` reads one TXT and one
SRV for a name, the stranger's as likely as the organiser's, and answers from its cache without
asking again.  ``asked`` asks the LAN for the name once more and returns every (addresses,
TXT properties) pair its cache then holds, so that the one whose signature checks
(node/discovery.py) can be taken: a stranger cannot sign for the organiser's key.

Each SRV's addresses are tried as a whole and in every smaller set of up to two (a stranger may
add address records under the same host name), with every TXT record.  A stranger decides how
many there are, so one look checks at most ``MOST_CHECKS`` of these pairs, picked at random: the
organiser's is found within a few looks (node/discovery.py looks again, backing off), and a look
costs a bounded number of signature checks (about 10 ms here, 100 ms on a Pi Zero 2 W).

The TXT rdata is read here (``txt_properties``, a few lines of RFC 6763): zeroconf reads it only
inside a ``ServiceInfo``, one record at a time, through a method of its own that is not public.
"""

import itertools
import socket
import time

MOST_CHECKS = 200  # (addresses, TXT) pairs one look checks at most, at random
ASK_WAIT = 1.0     # seconds the answers to a question are waited for


def txt_properties(text):
    """The key=value strings of TXT rdata ``text`` (length-prefixed, RFC 6763) as a dict of bytes."""
    out, i = {}, 0
    while i < len(text):
        n = text[i]
        key, _, value = bytes(text[i + 1:i + 1 + n]).partition(b"=")
        out.setdefault(key.lower(), value)
        i += 1 + n
    return out


def candidates(cache, name, rng):
    """At most MOST_CHECKS [(addresses [(ip, port)], TXT properties)] of what ``cache``
    (zeroconf's) holds for ``name``, picked at random (``rng``) when there are more."""
    from zeroconf.const import _CLASS_IN, _TYPE_A, _TYPE_SRV, _TYPE_TXT
    texts = cache.get_all_by_details(name, _TYPE_TXT, _CLASS_IN)
    sets = []
    for srv in cache.get_all_by_details(name, _TYPE_SRV, _CLASS_IN):
        ips = sorted({socket.inet_ntoa(a.address) for a in cache.get_all_by_details(srv.server, _TYPE_A, _CLASS_IN)
                      if len(a.address) == 4})
        chosen = [tuple(ips)] + list(itertools.combinations(ips, 1)) + list(itertools.combinations(ips, 2))
        sets.extend([(ip, srv.port) for ip in c] for c in dict.fromkeys(chosen) if c)
    total = len(sets) * len(texts)
    picks = range(total) if total <= MOST_CHECKS else rng.sample(range(total), MOST_CHECKS)
    return [(sets[i // len(texts)], txt_properties(texts[i % len(texts)].text)) for i in picks]


def asked(zc, name, rng, wait=ASK_WAIT, sleep=time.sleep):
    """Ask the LAN for ``name``'s SRV and TXT records, wait for the answers, then ``candidates``."""
    from zeroconf import DNSOutgoing, DNSQuestion
    from zeroconf.const import _CLASS_IN, _FLAGS_QR_QUERY, _TYPE_SRV, _TYPE_TXT
    out = DNSOutgoing(_FLAGS_QR_QUERY)
    for kind in (_TYPE_SRV, _TYPE_TXT):
        out.add_question(DNSQuestion(name, kind, _CLASS_IN))
    zc.send(out)
    sleep(wait)
    return candidates(zc.cache, name, rng)
