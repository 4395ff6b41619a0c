"""[CPython] Every answer the LAN gives for one mDNS name, not only the one zeroconf keeps.

Why: a node's mDNS name is its node id, which anyone may read, so a stranger can announce an
organiser's name with records of its own.  zeroconf's ``ServiceInfo`` reads one TXT and one
SRV for a name, the stranger's as likely as the organiser's, and answers from its cache without
asking again.  ``asked`` asks the LAN for the name once more and returns every (addresses,
TXT properties) pair its cache then holds, so that the one whose signature checks
(node/discovery.py) can be taken: a stranger cannot sign for the organiser's key.

Each SRV's addresses are tried as a whole and in every smaller set (a stranger may add an
address record under the same host name), up to ``MOST_ADDRESSES`` of them.
"""

import itertools
import socket
import time

MOST_ADDRESSES = 4  # address records of one host name tried in every combination (15 sets)
ASK_WAIT = 1.0      # seconds the answers to a question are waited for


def txt_properties(text):
    """The key=value strings of TXT rdata ``text`` (length-prefixed, RFC 6763) as a dict of bytes."""
    out, i = {}, 0
    while i < len(text):
        n = text[i]
        key, _, value = bytes(text[i + 1:i + 1 + n]).partition(b"=")
        out.setdefault(key.lower(), value)
        i += 1 + n
    return out


def candidates(cache, name):
    """[(addresses [(ip, port)], TXT properties)] of what ``cache`` (zeroconf's) holds for ``name``."""
    from zeroconf.const import _CLASS_IN, _TYPE_A, _TYPE_SRV, _TYPE_TXT
    texts = [txt_properties(r.text) for r in cache.get_all_by_details(name, _TYPE_TXT, _CLASS_IN)]
    out = []
    for srv in cache.get_all_by_details(name, _TYPE_SRV, _CLASS_IN):
        ips = sorted({socket.inet_ntoa(a.address) for a in cache.get_all_by_details(srv.server, _TYPE_A, _CLASS_IN)
                      if len(a.address) == 4})[:MOST_ADDRESSES]
        for size in range(len(ips), 0, -1):
            for chosen in itertools.combinations(ips, size):
                addrs = [(ip, srv.port) for ip in chosen]
                out.extend((addrs, props) for props in texts)
    return out


def asked(zc, name, wait=ASK_WAIT, sleep=time.sleep):
    """Ask the LAN for ``name``'s SRV and TXT records, wait for the answers, then ``candidates``."""
    from zeroconf import DNSOutgoing, DNSQuestion
    from zeroconf.const import _CLASS_IN, _FLAGS_QR_QUERY, _TYPE_SRV, _TYPE_TXT
    out = DNSOutgoing(_FLAGS_QR_QUERY)
    for kind in (_TYPE_SRV, _TYPE_TXT):
        out.add_question(DNSQuestion(name, kind, _CLASS_IN))
    zc.send(out)
    sleep(wait)
    return candidates(zc.cache, name)
