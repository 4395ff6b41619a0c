"""mDNS discovery compatible with p2panda-net 0.7 (node/discovery.py).

The encoding tests run anywhere; the live ones (zeroconf multicast, iroh) run only inside a
private network namespace (discovery_cases.py, through iroh_netns.run_isolated), where multicast
is switched on for ``lo`` and cannot leave the machine."""
import logging
import os

import pytest

from pandascreen.core.crypto import signing_key
from pandascreen.node import discovery
from pandascreen.node.discovery import (DiscoveryError, check_announcement, parse_user_data, signed_bytes,
                                        user_data, z32_decode, z32_encode)
from pandascreen.node.netns import MARK, loopback_only

SEED = bytes([1] * 32)
NODE_ID = signing_key(SEED).public_key
ADDRS = [("192.168.1.5", 2022)]
TS = (1_700_000_000_000_000, 0)


def _cbor_text(s):
    return bytes([0x60 + len(s)]) + s.encode()


def _cbor_uint(n):
    if n < 24:
        return bytes([n])
    if n < 256:
        return bytes([0x18, n])
    if n < 65536:
        return bytes([0x19]) + n.to_bytes(2, "big")
    return bytes([0x1B]) + n.to_bytes(8, "big")


def test_z_base_32_vectors_and_node_names():
    # the z-base-32 spec's own examples
    assert z32_encode(bytes([0xF0, 0xBF, 0xC7])) == "6n9hq"
    assert z32_encode(bytes([0xD4, 0x7A, 0x04])) == "4t7ye"
    name = z32_encode(NODE_ID)
    assert len(name) == 52 and z32_decode(name) == NODE_ID
    assert name == "tkrq8zmwb8a3m9k15csu3q17qmfgqnp9dskbrg9uq1rydpyxp7qy"


def test_signed_bytes_are_ciborium_of_unsigned_transport_info():
    """Derivation, field by field (p2panda-net addrs.rs UnsignedTransportInfo, serde derive,
    ciborium = not human-readable): a map of 2 in declaration order; HybridTimestamp is a tuple
    struct (array of 2 u64); TransportAddress::Iroh is an externally tagged newtype variant (map
    of 1); EndpointAddr {id, addrs}; PublicKey non-human-readable = [u8; 32] as a tuple (array of
    32 uints); TransportAddr::Ip(SocketAddr::V4((Ipv4Addr as [u8; 4], port)))."""
    expected = (b"\xa2" + _cbor_text("timestamp") + b"\x82" + _cbor_uint(TS[0]) + _cbor_uint(TS[1])
                + _cbor_text("addresses") + b"\x81" + b"\xa1" + _cbor_text("Iroh")
                + b"\xa2" + _cbor_text("id") + b"\x98\x20" + b"".join(_cbor_uint(b) for b in NODE_ID)
                + _cbor_text("addrs") + b"\x81" + b"\xa1" + _cbor_text("Ip") + b"\xa1" + _cbor_text("V4")
                + b"\x82\x84" + b"".join(_cbor_uint(b) for b in (192, 168, 1, 5)) + _cbor_uint(2022))
    got = signed_bytes(NODE_ID, ADDRS, TS)
    assert got == expected
    assert got.hex() == (
        "a26974696d657374616d70821b00060a24181e4000006961646472657373657381a16449726f68a26269649820"
        "188a188818e318dd18740918f1189518fd185218db182d183c18ba185d187218ca18670918bf181d189412181b"
        "18f3187418880118b40f186f185c65616464727381a1624970a1625634828418c018a801051907e6")


def test_user_data_is_signature_hex_bar_hybrid_timestamp():
    text = user_data(SEED, ADDRS, TS)
    assert text == ("4019fdbc855f00d9f84206636f0b0cafa4c953784dd36fa0510902430f6fa93d91471aec07555664ee4dc2"
                    "f502fc2d1a0ee7e79dac7dae6ff661a62c2dfbe100|1700000000000000/0")
    assert len(text) <= discovery.MAX_USER_DATA
    sig, ts = parse_user_data(text + "|https://relay.example./")
    assert ts == TS and len(sig) == 64


def test_addresses_are_signed_in_btreeset_order():
    a = signed_bytes(NODE_ID, [("10.0.0.2", 5), ("10.0.0.1", 9), ("10.0.0.1", 7)], TS)
    b = signed_bytes(NODE_ID, [("10.0.0.1", 7), ("10.0.0.1", 9), ("10.0.0.2", 5)], TS)
    assert a == b


def test_a_good_announcement_checks():
    txt = {b"user-data": user_data(SEED, ADDRS, TS).encode()}
    assert check_announcement(z32_encode(NODE_ID), ADDRS, txt) == (NODE_ID, ADDRS, TS)


@pytest.mark.parametrize("what", ["forged", "moved", "other_name", "no_txt", "garbage", "parts", "bad_name",
                                  "no_addr", "huge_ts", "short_sig"])
def test_forged_or_malformed_announcements_are_refused(what):
    name = z32_encode(NODE_ID)
    good = user_data(SEED, ADDRS, TS)
    addrs = ADDRS
    txt = {b"user-data": good.encode()}
    if what == "forged":  # another key signs our name and addresses
        txt = {b"user-data": user_data(bytes([2] * 32), ADDRS, TS).encode()}
    elif what == "moved":  # a real record, replayed with another address
        addrs = [("192.168.1.66", 2022)]
    elif what == "other_name":
        name = z32_encode(signing_key(bytes([3] * 32)).public_key)
    elif what == "no_txt":
        txt = {}
    elif what == "garbage":
        txt = {b"user-data": b"\xff\xfe|"}
    elif what == "parts":
        txt = {b"user-data": b"a|b|c|d"}
    elif what == "bad_name":
        name = "not a node!"
    elif what == "no_addr":
        addrs = []
    elif what == "huge_ts":
        txt = {b"user-data": (good.split("|")[0] + "|%d/0" % 2 ** 64).encode()}
    elif what == "short_sig":
        txt = {b"user-data": b"abcd|1/0"}
    with pytest.raises(DiscoveryError):
        check_announcement(name, addrs, txt)


if os.environ.get(MARK) and loopback_only():
    from discovery_cases import *  # noqa: F403
else:
    def test_discovery_cases_in_a_private_network_namespace():
        from iroh_netns import run_isolated
        code, out = run_isolated("test_discovery.py", timeout=180)
        assert code == 0, out


def test_found_peers_are_dialled_organisers_first_then_in_random_order():
    """Every screen of a cold start hears the first screens started first: dialled in the order
    heard, those few got everyone's dials and, slow to answer them all, most of the aborted QUIC
    handshakes.  The organiser's node, where the program comes from, still goes first."""
    from pandascreen.node.discovery import SERVICE_TYPE, Discovery, z32_encode
    organiser = bytes([9] * 32)
    names = ["%s.%s" % (z32_encode(bytes([40 + i] * 32)), SERVICE_TYPE) for i in range(10)]
    firsts = set()
    for _ in range(20):
        d = Discovery(bytes(32), 2026, lambda node_id, addrs: True, advertise=False, always=[organiser])
        d._queue = list(names) + ["%s.%s" % (z32_encode(organiser), SERVICE_TYPE)]
        assert d._next_name().startswith(z32_encode(organiser))
        firsts.add(d._next_name())
        assert len(d._queue) == len(names) - 1
    assert len(firsts) > 1


def test_an_organisers_announcement_is_queued_even_when_a_flood_filled_the_queue():
    """A screen started among fifty hears every announcement at once; the queue keeps the first
    ones and drops the rest as a flood.  The organiser's was dropped once in a 50-screen run, and
    that screen never found serve: when its 8 peers were cut, it had no source left."""
    from zeroconf import ServiceStateChange

    from pandascreen.node.discovery import SERVICE_TYPE, Discovery, z32_encode
    organiser = bytes([9] * 32)
    d = Discovery(bytes(32), 2026, lambda node_id, addrs: True, advertise=False, always=[organiser], max_peers=2)
    for i in range(4 * d.max_peers + 3):  # beyond what the queue holds
        d._on_change(None, SERVICE_TYPE, "%s.%s" % (z32_encode(bytes([40 + i] * 32)), SERVICE_TYPE),
                     ServiceStateChange.Added)
    assert len(d._queue) == 4 * d.max_peers
    name = "%s.%s" % (z32_encode(organiser), SERVICE_TYPE)
    d._on_change(None, SERVICE_TYPE, name, ServiceStateChange.Added)
    assert name in d._queue and d._next_name() == name


def _heard(d, node_ids):
    from zeroconf import ServiceStateChange

    from pandascreen.node.discovery import SERVICE_TYPE, z32_encode
    for node_id in node_ids:
        d._on_change(None, SERVICE_TYPE, "%s.%s" % (z32_encode(node_id), SERVICE_TYPE), ServiceStateChange.Added)


def test_a_screen_with_all_its_peers_says_so_of_a_newcomer_without_a_warning(caplog, monkeypatch):
    """Fifty screens on a LAN: each keeps ``max_peers`` and hears the other 45 too, and each
    newcomer refused for the full table logged a WARNING: a crew member reading an ordinary
    start saw warnings.  It is an INFO line now."""
    import threading

    import zeroconf

    from pandascreen.node.discovery import SERVICE_TYPE, Discovery
    from pandascreen.node.poll import until
    seeds = {"%s.%s" % (z32_encode(signing_key(bytes([40 + i] * 32)).public_key), SERVICE_TYPE): bytes([40 + i] * 32)
             for i in range(4)}

    class Resolved:  # what zeroconf resolves of an honest screen's announcement
        port = 2026

        def __init__(self, service_type, name):
            self.properties = {b"user-data": user_data(seeds[name], [("10.0.0.9", 2026)], TS).encode()}

        def request(self, zc, timeout):
            return True

        def parsed_addresses(self):
            return ["10.0.0.9"]
    monkeypatch.setattr(zeroconf, "ServiceInfo", Resolved)
    caplog.set_level(logging.INFO, "pandascreen.node.discovery")
    dialled = []
    d = Discovery(bytes(32), 2026, lambda node_id, addrs: dialled.append(node_id) or True, advertise=False,
                  max_peers=2)
    d._queue = list(seeds)
    worker = threading.Thread(target=d._work, daemon=True)
    worker.start()
    try:
        assert until(lambda: not d._queue and d.rejected == 2, 10)
    finally:
        with d._cv:
            d._stop = True
            d._cv.notify_all()
        worker.join(5)
    assert len(dialled) == 2
    refused = [r for r in caplog.records if "ignored" in r.getMessage()]
    assert len(refused) == 2 and all(r.levelno == logging.INFO and "keeps 2 peers" in r.getMessage() for r in refused)


def test_an_ordinary_big_start_fills_the_queue_with_info_lines_and_a_forged_record_still_warns(caplog):
    """Fifty screens start at once: each hears more announcements than its queue holds.  That is
    a busy LAN, said in INFO lines; a record that does not check stays a WARNING."""
    from pandascreen.node.discovery import SERVICE_TYPE, Discovery
    caplog.set_level(logging.INFO, "pandascreen.node.discovery")
    d = Discovery(bytes(32), 2026, lambda node_id, addrs: True, advertise=False, max_peers=2)
    _heard(d, [bytes([40 + i] * 32) for i in range(4 * d.max_peers + 3)])
    assert len(d._queue) == 4 * d.max_peers and d.rejected == 3
    busy = [r for r in caplog.records if r.name == "pandascreen.node.discovery"]
    assert len(busy) == 3 and all(r.levelno == logging.INFO and "wait to be checked" in r.getMessage() for r in busy)
    d._reject("x.%s" % SERVICE_TYPE, "signature does not check")
    assert caplog.records[-1].levelno == logging.WARNING


def test_a_screen_dials_as_many_found_peers_as_p2panda_net_keeps_neighbours():
    """A pinned number, like a byte vector: p2panda-net 0.7 syncs with its iroh-gossip HyParView
    active view, whose capacity is 5 by default (iroh-gossip's ``proto::hyparview::Config::
    default``, the HyParView paper's value).  With 8, a 50-screen cold start held twice the
    sessions (its screens logged 930 connections, not 460), each about 5 ms of CPU per side, and
    its slowest screen took 15 s instead of 13."""
    from pandascreen.node import liveness
    assert liveness.MAX_PEERS == 5


def test_an_organiser_that_says_it_is_full_is_kept_not_taken_for_another_festival():
    """Its "full" ends our session during the topic handshake, as another festival's node does;
    only the latter is never dialled again."""
    from pandascreen.node.iroh_limits import PeerFull

    class Node:
        def sync(self, spec, timeout):
            raise PeerFull("connection lost during the topic handshake: the peer is full")
    assert discovery.iroh_add_peer(Node())(NODE_ID, ADDRS) is True


def test_a_peer_announced_at_two_addresses_is_dialled_at_the_next_when_the_first_does_not_answer():
    """An organiser's laptop on two LANs (Wi-Fi and a cable) announces both; a screen on the second
    LAN cannot reach the first address."""
    from pandascreen.core.errors import SyncError

    class Node:
        def __init__(self):
            self.dialled = []

        def sync(self, spec, timeout):
            self.dialled.append(spec.split("@")[1])
            if spec.endswith("@10.78.0.2:2026"):
                raise SyncError("no iroh answer from 10.78.0.2:2026 within 10s")
            return {"live": True}
    node = Node()
    assert discovery.iroh_add_peer(node)(NODE_ID, [("10.78.0.2", 2026), ("10.79.0.2", 2026)]) is True
    assert node.dialled == ["10.78.0.2:2026", "10.79.0.2:2026"]
    node = Node()
    assert discovery.iroh_add_peer(node)(NODE_ID, [("10.79.0.2", 2026), ("10.78.0.2", 2026)]) is True
    assert node.dialled == ["10.79.0.2:2026"]  # the first that answers ends it
    node = Node()
    assert discovery.iroh_add_peer(node)(NODE_ID, [("10.78.0.2", 2026)]) is None


@pytest.mark.parametrize("said", [
    "peer 0123456789abcdef: topic handshake timed out after 10s",
    "peer 0123456789abcdef: connection lost during the topic handshake (ConnectionLost(TimedOut)); a p2panda "
    "0.6 node ends it like this, it speaks CBOR on the same ALPN",
    "peer 0123456789abcdef: connection lost during the topic handshake (ConnectionLost(Reset)); a p2panda "
    "0.6 node ends it like this, it speaks CBOR on the same ALPN",
    # a loaded peer whose own handshake wait ran out first, one at its bound for an address, one stopping
    "peer 0123456789abcdef: the peer ended the session during the topic handshake (closed by peer: 0 sync "
    "protocol accept completed): it did not take it up",
    "peer 0123456789abcdef: connection lost during the topic handshake (closed by peer: 0 busy); a p2panda 0.6 "
    "node ends it like this, it speaks CBOR on the same ALPN",
    "peer 0123456789abcdef: connection lost right after the topic handshake (ConnectionLost(ApplicationClosed("
    "ApplicationClose { error_code: 1, reason: b\"node stopping\" }))); a p2panda node drops the connection "
    "like this when it does not sync this festival's topic",
    # a node that stops refuses every ALPN first
    "10.0.0.2:2026 speaks iroh but not p2panda log sync on this network (ALPN mismatch): another application, "
    "or a p2panda node with another network id"])
def test_a_peer_too_slow_for_the_topic_handshake_is_tried_again_not_taken_for_another_festival(said):
    """A loaded screen answers its handshake late: discovery leaves it for its next
    announcement, and does not put it with the peers of another festival, never dialled again."""
    from pandascreen.core.errors import SyncError

    class Node:
        def sync(self, spec, timeout):
            raise SyncError(said)
    assert discovery.iroh_add_peer(Node())(NODE_ID, ADDRS) is None


def test_only_a_peer_that_refuses_the_festivals_topic_is_taken_for_another_festival():
    """What the session found (node/iroh_session.py), not words in its message: a peer that
    dropped us right after the topic handshake, or speaks another protocol on iroh."""
    from pandascreen.node.iroh_limits import TopicRefused

    class Node:
        def sync(self, spec, timeout):
            raise TopicRefused("peer 0123456789abcdef: it does not sync this festival's topic")
    assert discovery.iroh_add_peer(Node())(NODE_ID, ADDRS) is False


@pytest.mark.parametrize("msg, refused", [
    ('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 0, reason: b"sync protocol accept '
     'completed" }))', True),  # a p2panda-net session's own end: the topic is not its
    ('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 0, reason: b"" }))', True),  # dropped
    ('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 1, reason: b"node stopping" }))', False),
    ('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 1, reason: b"no sync progress" }))', False),
    ('ConnectionLost(ApplicationClosed(ApplicationClose { error_code: 0, reason: b"busy" }))', False),
    ("ConnectionLost(TimedOut)", False), ("ConnectionLost(Reset)", False)])
def test_only_a_peers_plain_close_right_after_the_handshake_says_it_does_not_sync_the_topic(msg, refused):
    from pandascreen.node.iroh_session import _closed_by_peer
    assert _closed_by_peer(msg) is refused


def test_a_peer_that_left_the_lan_frees_its_place_for_a_newcomer():
    """A screen switched off says goodbye on mDNS (or its records expire): its place in the
    table goes, so a screen that comes later is dialled; with a full table it was refused for good."""
    from zeroconf import ServiceStateChange

    from pandascreen.node.discovery import SERVICE_TYPE, Discovery, z32_encode
    d = Discovery(bytes(32), 2026, lambda node_id, addrs: True, advertise=False, max_peers=2)
    gone, staying = bytes([40] * 32), bytes([41] * 32)
    for node_id in (gone, staying):
        d.peers[node_id] = [("10.0.0.%d" % node_id[0], 2026)]
        d._stamps[node_id] = 1
    d._on_change(None, SERVICE_TYPE, "%s.%s" % (z32_encode(gone), SERVICE_TYPE), ServiceStateChange.Removed)
    assert list(d.peers) == [staying] and gone not in d._stamps
