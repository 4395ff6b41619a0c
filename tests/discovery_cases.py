"""Live mDNS discovery on a private namespace's ``lo`` (multicast switched on there only):
peers find each other, forged records and floods are ignored, a peer that never answers is
bounded, and two iroh nodes with no configured peers sync.  Imported by test_discovery.py only
inside a namespace made by iroh_netns.run_isolated."""
import logging
import socket
import subprocess
import time

import pytest

from pandascreen.core import operation
from pandascreen.core.crypto import signing_key
from pandascreen.node.discovery import (SERVICE_TYPE, Discovery, iroh_add_peer, now_timestamp, user_data,
                                        z32_encode)
from pandascreen.node.poll import until as wait_for

LO = ["127.0.0.1"]


@pytest.fixture(scope="module", autouse=True)
def multicast_on_lo():
    # private namespace only (test_discovery.py checked MARK and loopback_only)
    subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=True)
    subprocess.run(["ip", "route", "replace", "224.0.0.0/4", "dev", "lo"], check=True)




@pytest.fixture
def started():
    made = []

    def start(thing):
        made.append(thing)
        return thing.start()

    yield start
    for thing in reversed(made):
        thing.stop()


def _blast(zc, instance, port, props):
    """Send one unsolicited announcement (PTR, SRV, TXT, A) without registering: a flood costs
    the sender nothing, as it would for an attacker."""
    from zeroconf import DNSOutgoing, ServiceInfo
    from zeroconf.const import _FLAGS_AA, _FLAGS_QR_RESPONSE
    info = ServiceInfo(SERVICE_TYPE, "%s.%s" % (instance, SERVICE_TYPE), addresses=[socket.inet_aton("127.0.0.1")],
                       port=port, properties=props, server="%s.local." % instance[:60])
    out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
    for record in [info.dns_pointer(), info.dns_service(), info.dns_text()] + info.dns_addresses():
        out.add_answer_at_time(record, 0)
    zc.send(out)


def test_two_screens_find_each_other(started):
    found_a, found_b = [], []
    a = started(Discovery(bytes([1] * 32), 4001, lambda n, ad: found_a.append((n, ad)) or True, addresses=LO, interfaces=LO))
    b = started(Discovery(bytes([2] * 32), 4002, lambda n, ad: found_b.append((n, ad)) or True, addresses=LO, interfaces=LO))
    assert wait_for(lambda: found_a and found_b, 10)
    assert found_a[0] == (b.node_id, [("127.0.0.1", 4002)])
    assert found_b[0] == (a.node_id, [("127.0.0.1", 4001)])


def test_forged_and_flooding_records_are_ignored_with_a_log_line(started, caplog):
    from zeroconf import Zeroconf
    caplog.set_level(logging.WARNING, "pandascreen.node.discovery")
    found = []
    screen = started(Discovery(bytes([1] * 32), 4001, lambda n, ad: found.append(n) or True, addresses=LO,
                               interfaces=LO, max_peers=4))
    zc = Zeroconf(interfaces=LO)
    try:
        victim = signing_key(bytes([5] * 32)).public_key
        forged = user_data(bytes([6] * 32), [("127.0.0.1", 4005)], now_timestamp())  # wrong key
        for i in range(300):  # a flood of junk names
            _blast(zc, "junk%03d" % i, 5000 + i, {b"user-data": b"nope"})
        time.sleep(0.3)  # the flood may overflow a socket buffer; real responders announce 3 times
        honest = bytes([7] * 32)
        for _ in range(3):
            _blast(zc, z32_encode(victim), 4005, {b"user-data": forged.encode()})
            _blast(zc, z32_encode(signing_key(honest).public_key), 4007,
                   {b"user-data": user_data(honest, [("127.0.0.1", 4007)], now_timestamp()).encode()})
            time.sleep(0.25)
        assert wait_for(lambda: signing_key(honest).public_key in found, 15)
        assert wait_for(lambda: screen.rejected >= 17, 15), screen.rejected
        # the forged record may be read after the honest one and after the flood's first 17
        assert wait_for(lambda: any("signature does not check" in r.getMessage() for r in caplog.records), 15)
        assert victim not in found and len(found) == 1
        assert len([r for r in caplog.records if "ignored" in r.getMessage()]) <= 12  # rate-limited, 300+ ignored
    finally:
        zc.close()


def _stranger_announces(instance, stop, every=0.1, seconds=60):
    """A stranger on the LAN announces ``instance`` (someone else's node id) over and over, with
    a TXT signed by its own key (so it does not check), as any responder sends its records."""
    import threading

    from zeroconf import Zeroconf
    bogus = user_data(bytes([66] * 32), [("127.0.0.1", 4999)], now_timestamp()).encode()

    def run():
        zc = Zeroconf(interfaces=LO)
        try:
            deadline = time.monotonic() + seconds
            while not stop.is_set() and time.monotonic() < deadline:
                _blast(zc, instance, 4999, {b"user-data": bogus})
                stop.wait(every)
        finally:
            zc.close()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.mark.parametrize("stranger_first", [True, False], ids=["stranger-first", "organiser-first"])
def test_the_organiser_is_found_while_a_stranger_announces_its_name(started, stranger_first):
    """A stranger that announced the organiser's own name (its node id, public) kept every
    mDNS-only screen from finding the organiser for good: the organiser gave up announcing when
    the name seemed taken, and a screen that read the stranger's record once never looked again."""
    import threading
    org_seed = bytes([60] * 32)
    org_id = signing_key(org_seed).public_key
    stop = threading.Event()
    try:
        if not stranger_first:
            started(Discovery(org_seed, 4060, lambda n, ad: True, addresses=LO, interfaces=LO))
            time.sleep(3)
        _stranger_announces(z32_encode(org_id), stop)
        time.sleep(1)
        if stranger_first:
            started(Discovery(org_seed, 4060, lambda n, ad: True, addresses=LO, interfaces=LO))
        found = []
        started(Discovery(bytes([1] * 32), 4001, lambda n, ad: found.append((n, ad)) or True, addresses=LO,
                          interfaces=LO, always=[org_id]))
        assert wait_for(lambda: any(n == org_id for n, _ in found), 45), found
        assert [ad for n, ad in found if n == org_id][0] == [("127.0.0.1", 4060)]
    finally:
        stop.set()


def test_an_honest_screen_is_found_during_and_after_a_flood_of_names_that_never_resolve(started):
    """A stranger announcing made-up names (PTR records only, nothing to resolve) filled the
    queue: each cost a 2 s resolve, nobody was found while it lasted, and a screen announced
    meanwhile, dropped as a flood, was never looked at again (zeroconf reports a name once).
    Names whose records are already heard go first, and a screen short of peers looks again at
    the names it heard (``rescan_every``)."""
    import random
    import threading

    from zeroconf import DNSOutgoing, DNSPointer, Zeroconf
    from zeroconf.const import _CLASS_IN, _FLAGS_AA, _FLAGS_QR_RESPONSE, _TYPE_PTR

    from pandascreen.node.discovery import Z32_ALPHABET
    found = []
    t0 = time.monotonic()
    started(Discovery(bytes([1] * 32), 4001, lambda n, ad: found.append((time.monotonic() - t0, n)) or True,
                      addresses=LO, interfaces=LO, max_peers=5, rescan_every=3.0))
    stop = threading.Event()

    def flood():
        zc = Zeroconf(interfaces=LO)
        rng = random.Random(5)
        try:
            for _ in range(30):  # 15 s, 10 names each half second
                if stop.is_set():
                    return
                out = DNSOutgoing(_FLAGS_QR_RESPONSE | _FLAGS_AA)
                for _ in range(10):
                    junk = "".join(rng.choice(Z32_ALPHABET) for _ in range(52))
                    out.add_answer_at_time(DNSPointer(SERVICE_TYPE, _TYPE_PTR, _CLASS_IN, 4500,
                                                      "%s.%s" % (junk, SERVICE_TYPE)), 0)
                zc.send(out)
                stop.wait(0.5)
        finally:
            zc.close()
    flooding = threading.Thread(target=flood, daemon=True)
    flooding.start()
    try:
        time.sleep(3)
        honest = bytes([7] * 32)
        started(Discovery(honest, 4007, lambda n, ad: True, addresses=LO, interfaces=LO))
        during = signing_key(honest).public_key
        assert wait_for(lambda: any(n == during for _, n in found), 12), "not found while the flood went on"
        flooding.join(20)
        late = bytes([8] * 32)  # announced once the flood is over, while the victim still drains it
        started(Discovery(late, 4008, lambda n, ad: True, addresses=LO, interfaces=LO))
        assert wait_for(lambda: any(n == signing_key(late).public_key for _, n in found), 30)
    finally:
        stop.set()


def test_peer_table_is_bounded(started):
    from zeroconf import Zeroconf
    found = []
    started(Discovery(bytes([1] * 32), 4001, lambda n, ad: found.append(n) or True, addresses=LO, interfaces=LO,
                      max_peers=3))
    zc = Zeroconf(interfaces=LO)
    try:
        for i in range(8):
            seed = bytes([40 + i] * 32)
            _blast(zc, z32_encode(signing_key(seed).public_key), 4100 + i,
                          {b"user-data": user_data(seed, [("127.0.0.1", 4100 + i)], now_timestamp()).encode()})
        assert wait_for(lambda: len(found) >= 3, 15)
        time.sleep(1.0)
        assert len(found) == 3
    finally:
        zc.close()


def test_the_organiser_is_dialled_even_when_the_peer_table_is_full(started):
    from zeroconf import Zeroconf
    found = []
    org_seed = bytes([60] * 32)
    org_id = signing_key(org_seed).public_key
    started(Discovery(bytes([1] * 32), 4001, lambda n, ad: found.append(n) or True, addresses=LO, interfaces=LO,
                      max_peers=2, always=[org_id]))
    zc = Zeroconf(interfaces=LO)
    try:
        for i in range(3):  # other screens first: they fill the table
            seed = bytes([50 + i] * 32)
            _blast(zc, z32_encode(signing_key(seed).public_key), 4200 + i,
                   {b"user-data": user_data(seed, [("127.0.0.1", 4200 + i)], now_timestamp()).encode()})
        assert wait_for(lambda: len(found) >= 2, 15)
        _blast(zc, z32_encode(org_id), 4299,
               {b"user-data": user_data(org_seed, [("127.0.0.1", 4299)], now_timestamp()).encode()})
        assert wait_for(lambda: org_id in found, 15)
        assert len([n for n in found if n != org_id]) == 2
    finally:
        zc.close()


def _iroh_pair(tmp_path, topic_b="discofest"):
    from pandascreen.node.iroh_transport import IrohNode
    from pandascreen.node.sqlite_store import SqliteStore
    out = []
    for name, seed, topic in (("org", bytes([21] * 32), "discofest"), ("screen", bytes([22] * 32), topic_b)):
        store = SqliteStore(str(tmp_path / ("%s.db" % name)))
        node = IrohNode(store, operation.festival_topic(topic), seed, bind="127.0.0.1:0", timeout=2.0,
                        connect_timeout=2.0)
        out.append((node, store, seed))
    return out


def test_iroh_nodes_with_no_configured_peer_sync_over_discovery(started, tmp_path):
    (org, org_store, org_seed), (scr, scr_store, scr_seed) = _iroh_pair(tmp_path)
    try:
        org.start()
        scr.start()
        log_id = operation.log_id_for_topic(operation.festival_topic("discofest"))
        org_store.publish_many(org_seed, [b"event %d" % i for i in range(20)], log_id, 1_700_000_000_000_000)
        port = lambda n: int(n.addresses()[0].rpartition(":")[2])
        started(Discovery(org_seed, port(org), iroh_add_peer(org), addresses=LO, interfaces=LO))
        started(Discovery(scr_seed, port(scr), iroh_add_peer(scr), addresses=LO, interfaces=LO))
        assert wait_for(lambda: len(list(scr_store.all_operations(log_id))) == 20, 15)
    finally:
        org.stop()
        scr.stop()
        org_store.close()
        scr_store.close()


def test_a_peer_of_another_festival_is_dropped_once_then_never_dialled(started, tmp_path):
    (org, org_store, org_seed), (other, other_store, other_seed) = _iroh_pair(tmp_path, topic_b="otherfest")
    try:
        org.start()
        other.start()
        port = lambda n: int(n.addresses()[0].rpartition(":")[2])
        started(Discovery(org_seed, port(org), iroh_add_peer(org), addresses=LO, interfaces=LO))
        d = started(Discovery(other_seed, port(other), iroh_add_peer(other), addresses=LO, interfaces=LO))
        assert wait_for(lambda: org.node_id_bytes in d.foreign, 15), other.errors
    finally:
        org.stop()
        other.stop()
        org_store.close()
        other_store.close()


def test_a_peer_that_resolves_but_never_answers_is_bounded(started, tmp_path):
    from pandascreen.node.iroh_transport import IrohNode
    from pandascreen.node.sqlite_store import SqliteStore
    from zeroconf import Zeroconf
    store = SqliteStore(str(tmp_path / "s.db"))
    node = IrohNode(store, operation.festival_topic("discofest"), bytes([23] * 32), bind="127.0.0.1:0",
                    timeout=1.0, connect_timeout=1.0).start()
    zc = Zeroconf(interfaces=LO)
    try:
        ghost = bytes([24] * 32)  # signed correctly, nobody listens on its port
        calls = []
        add = iroh_add_peer(node, timeout=1.5)

        def timed_add(n, ad):
            t = time.monotonic()
            r = add(n, ad)
            calls.append(time.monotonic() - t)
            return r
        started(Discovery(bytes([23] * 32), 1, timed_add, addresses=LO, interfaces=LO, advertise=False))
        for _ in range(3):
            _blast(zc, z32_encode(signing_key(ghost).public_key), 9,
                   {b"user-data": user_data(ghost, [("127.0.0.1", 9)], now_timestamp()).encode()})
            time.sleep(0.2)
        assert wait_for(lambda: calls, 15)
        assert calls[0] < 5.0
    finally:
        zc.close()
        node.stop()
        store.close()
