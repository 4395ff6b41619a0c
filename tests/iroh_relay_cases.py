"""Six iroh nodes on loopback, a cold start: five screens already live with each other, all
empty, then each takes the program from the organiser.  What the screens send each other must
stay bounded (node/iroh_relay.py): a program a screen took in during a sync is not pushed on to
peers that take it from the organiser themselves, whatever the number of screens."""
import re
import threading

import pytest

import iroh_nodes

from pandascreen.core import operation
from pandascreen.node import iroh_relay
from pandascreen.node.poll import until as wait_for

TOPIC = operation.festival_topic("relayfest")
LOG = operation.log_id_for_topic(TOPIC)
ORG = bytes([51] * 32)
SCREENS = [bytes([52 + i] * 32) for i in range(5)]
PROGRAM = 300
SENT = re.compile(r"(?:synced, sent|: sent) (\d+) (?:live )?operation")


@pytest.fixture
def nodes(tmp_path, caplog):
    make, close = iroh_nodes.started(tmp_path, TOPIC, caplog)
    yield make
    close()


def sent(node):
    """Operations the node sent, in syncs and live, by its own event lines."""
    return sum(int(m.group(1)) for line in node.lines for m in [SENT.search(line)] if m)


def test_a_cold_start_of_five_screens_sends_each_program_about_once(nodes):
    org, org_store = nodes(ORG, "org", resync_every=0)
    iroh_nodes.publish(org_store, ORG, PROGRAM, LOG)
    screens = [nodes(seed, "s%d" % i, resync_every=0) for i, seed in enumerate(SCREENS)]
    for i, (a, _) in enumerate(screens):  # every pair of screens live, all of them still empty
        for b, _ in screens[i + 1:]:
            a.sync(b.ticket())
    assert wait_for(lambda: all(len(n.live_peers()) == len(SCREENS) - 1 for n, _ in screens), 10.0), \
        [n.live_peers() for n, _ in screens]
    threads = [threading.Thread(target=n.sync, args=(org.ticket(),)) for n, _ in screens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert wait_for(lambda: all(s.count() == PROGRAM for _, s in screens), 20.0), [s.count() for _, s in screens]
    wait_for(lambda: False, 2 * iroh_relay.LAZY_WAIT[1])  # the announcement rounds, if any, are over
    by_screens = [sent(n) for n, _ in screens]
    # each screen took the program from the organiser; among themselves the screens send at most
    # what an announcement round finds missing, never the program once per pair (5 * 4 * 300)
    assert sum(by_screens) <= PROGRAM, (by_screens, [n.lines for n, _ in screens])
    assert sent(org) <= len(SCREENS) * PROGRAM, org.lines
    # no round tore a live session down as a "second session" with its peer (two screens that
    # dialled each other at the same moment close one of the two new sessions before it carried
    # anything: that twin is not one a round made)
    twins = [line for n, _ in screens for line in n.lines if "second live session" in line
             and "sent 0 + 0 live, received 0 + 0 live" not in line]
    assert not twins, twins
    assert not org.errors and not any(n.errors for n, _ in screens), [n.errors for n, _ in screens]


def test_a_round_with_a_live_peer_leaves_the_live_session_alone(nodes):
    """An announcement (or resync) round is a second session with a peer for a moment; it is
    no twin to close: the live session both sides had stays."""
    one, two = (nodes(seed, "n%d" % i, resync_every=0) for i, seed in enumerate(SCREENS[:2]))
    big, small = (one, two) if one[0].node_id_bytes > two[0].node_id_bytes else (two, one)
    big[0].sync(small[0].ticket())  # the node with the larger id dialled: it would keep the other's session
    assert wait_for(lambda: big[0].live_peers() and small[0].live_peers(), 5.0)
    node = small[0]
    st = node._submit(node._round(node.subs[0], big[0].node_id_bytes, big[0].addresses()[0], "test")).result(15)
    assert st is not None and not st["live"]
    wait_for(lambda: False, 3.0)  # past the time a real twin is closed after
    assert big[0].live_peers() and small[0].live_peers()
    assert not [line for n, _ in (big, small) for line in n.lines if "second live session" in line]
    assert [len([l for l in n.status() if l["live"]]) for n, _ in (big, small)] == [1, 1]
