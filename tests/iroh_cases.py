"""p2panda-net 0.7 sync over iroh QUIC on 127.0.0.1 (relays off): two and three peers, live push,
relay, restart, kill -9, and peers that are not what we expect.  Every wait is bounded."""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import iroh
import pytest

import iroh_nodes

from pandascreen.core import operation
from pandascreen.core.crypto import blake3, public_key
from pandascreen.core.errors import SyncError
from pandascreen.core import postcard
from pandascreen.node.iroh_address import DEFAULT_NETWORK_ID, parse_peer, sync_alpn
from pandascreen.node.iroh_transport import IrohNode
from pandascreen.node.sqlite_store import SqliteStore
from pandascreen.node.poll import until as wait_for

TOPIC = operation.festival_topic("irohfest")
LOG = operation.log_id_for_topic(TOPIC)
ORG = bytes([11] * 32)
SCREEN_1 = bytes([12] * 32)
SCREEN_2 = bytes([13] * 32)
FIRMWARE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware")




@pytest.fixture
def nodes(tmp_path):
    make, close = iroh_nodes.started(tmp_path, TOPIC)
    yield make
    close()


def publish(store, seed, n, start=0):
    return iroh_nodes.publish(store, seed, n, LOG, start)


# ------------------------------------------------------------------------ identity and ALPN

def test_alpn_is_blake3_of_protocol_id_and_network_id():
    # p2panda-net lib.rs: Hash::digest([protocol_id, &network_id].concat()), 32 raw bytes
    assert DEFAULT_NETWORK_ID.hex() == "f745f8f284789fe66264d6c84e284f5eae080c1b54c3f69f84f04fd0012b8476"
    alpn = sync_alpn()
    assert alpn == blake3(b"p2panda/log_sync/v1" + DEFAULT_NETWORK_ID)
    assert alpn.hex().startswith("64fc91f9") and alpn.hex().endswith("5279a5")
    assert sync_alpn(bytes(32)) != alpn


def test_node_id_is_the_device_public_key(nodes):
    node, _ = nodes(SCREEN_1, "s1")
    assert node.node_id_bytes == public_key(SCREEN_1)
    assert iroh.SecretKey.from_bytes(SCREEN_1).public().to_bytes() == public_key(SCREEN_1)
    addr = node.addresses()
    assert addr and addr[0].startswith("127.0.0.1:")
    assert all(a.startswith("127.0.0.1:") or a.startswith("[::1]:") for a in addr)
    assert node.ticket() == "%s@%s" % (public_key(SCREEN_1).hex(), addr[0])


def test_parse_peer_forms():
    pk = public_key(ORG)
    p = parse_peer("%s@10.0.0.2:2026" % pk.hex())
    assert p.node_ids == [pk] and p.addr == "10.0.0.2:2026"
    assert parse_peer("10.0.0.2:2026", [pk]).node_ids == [pk]
    assert parse_peer(("%s@::1" % pk.hex(), 7)).addr == "[::1]:7"
    with pytest.raises(Exception, match="no node id"):
        parse_peer("10.0.0.2:2026")
    with pytest.raises(Exception, match="64 hex"):
        parse_peer("abcd@10.0.0.2:2026")


# ------------------------------------------------------------------------ two and three peers

def test_two_peers_sync_then_live_both_ways(nodes):
    org, org_store = nodes(ORG, "org")
    scr, scr_store = nodes(SCREEN_1, "s1")
    publish(org_store, ORG, 30)
    st = scr.sync(org.ticket())
    assert st["ops_new"] == 30 and st["live"] and scr_store.count() == 30
    # the organiser's side finishes a moment after the screen's sync() returned
    assert wait_for(lambda: any("holds 0 operation(s)" in l for l in org.lines), 10.0)
    assert wait_for(lambda: any("synced, sent 30 operation(s)" in l for l in org.lines), 10.0)
    # organiser edit -> screen, pushed live: long before a resync would bring it (how fast is
    # make bench's change-to-pixel)
    publish(org_store, ORG, 1, start=30)
    org.notify()
    assert wait_for(lambda: scr_store.count() == 31, 10.0)
    # and the other way (a screen may publish too)
    publish(scr_store, SCREEN_1, 2)
    scr.notify()
    assert wait_for(lambda: org_store.count() == 33, 10.0)
    # a second sync call reuses the live session
    assert scr.sync(org.ticket()).get("already_live")
    # both sides name the other as a live peer, however it was found (the screen's footer counts them)
    assert scr.live_peers() == [org.node_id]
    assert wait_for(lambda: org.live_peers() == [scr.node_id], 10.0)


def test_changes_are_noticed_without_notify(nodes):
    org, org_store = nodes(ORG, "org")
    scr, scr_store = nodes(SCREEN_1, "s1")
    scr.sync(org.ticket())
    publish(org_store, ORG, 3)  # e.g. an import by another process: the store watcher sees it
    assert wait_for(lambda: scr_store.count() == 3, 10.0)


def test_three_peers_screen_relays_to_screen(nodes):
    org, org_store = nodes(ORG, "org")
    s1, s1_store = nodes(SCREEN_1, "s1")
    s2, s2_store = nodes(SCREEN_2, "s2")
    publish(org_store, ORG, 5)
    s1.sync(org.ticket())
    s2.sync(s1.ticket())  # s2 only knows s1
    assert s2_store.count() == 5
    publish(org_store, ORG, 2, start=5)
    org.notify()
    assert wait_for(lambda: s2_store.count() == 7, 10.0)
    # the organiser's laptop leaves; the screens keep relaying to each other
    org.stop()
    publish(s2_store, SCREEN_2, 1)
    s2.notify()
    assert wait_for(lambda: s1_store.count() == 8, 10.0)


def test_reconnect_after_peer_restart(nodes, tmp_path):
    org, org_store = nodes(ORG, "org")
    scr, scr_store = nodes(SCREEN_1, "s1")
    publish(org_store, ORG, 2)
    addr = org.addresses()[0]
    scr.sync(org.ticket())
    org.stop()  # ends the live session with Close
    assert wait_for(lambda: not any(l["live"] for l in scr.status()), 10.0)
    publish(org_store, ORG, 3, start=2)  # edits while the screen is cut off
    org2 = IrohNode(org_store, TOPIC, ORG, bind=addr, timeout=3.0).start()
    try:
        assert wait_for(lambda: scr_store.count() == 5, 10.0)  # the screen redials on its own
        publish(org_store, ORG, 1, start=5)
        org2.notify()
        assert wait_for(lambda: scr_store.count() == 6, 10.0)
    finally:
        org2.stop()


SCREEN_SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, %(fw)r)
    from pandascreen.core import operation
    from pandascreen.node.sqlite_store import SqliteStore
    from pandascreen.node.iroh_transport import IrohNode
    store = SqliteStore(%(db)r)
    node = IrohNode(store, operation.festival_topic("irohfest"), bytes([12] * 32), bind="127.0.0.1:0",
                    serve=False, timeout=3.0)
    node.start()
    node.sync(%(peer)r)
    print("synced", store.count(), flush=True)
    time.sleep(30)
""")


def test_kill_9_of_a_screen_mid_live_loses_nothing_it_stored(nodes, tmp_path):
    org, org_store = nodes(ORG, "org", dead_after=1.0)
    publish(org_store, ORG, 5)
    db = str(tmp_path / "screen.db")
    script = SCREEN_SCRIPT % {"fw": FIRMWARE, "db": db, "peer": org.ticket()}

    def start_screen():
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        assert line.startswith("synced"), line
        return p

    p = start_screen()
    try:
        stop = threading.Event()

        def edits():  # the organiser keeps publishing while the screen dies
            i = 5
            while not stop.is_set() and i < 400:
                publish(org_store, ORG, 1, start=i)
                org.notify()
                i += 1
                time.sleep(0.002)

        t = threading.Thread(target=edits)
        t.start()
        time.sleep(0.3)
        p.send_signal(signal.SIGKILL)
        p.wait(5)
        time.sleep(0.2)
        stop.set()
        t.join(5)
        # what the screen stored is a valid, gap-free prefix of the organiser's log
        with SqliteStore(db) as s:
            got = s.count()
            assert got >= 5
            heights = s.heights(LOG)
            assert heights[public_key(ORG)][LOG] == got - 1
            for op in s.all_operations(LOG):
                assert org_store.has(op.hash)
        # the organiser notices the dead session without waiting for QUIC's idle timeout
        assert wait_for(lambda: not any(l["live"] for l in org.status()), 8.0)
        # the screen restarts and gets the rest
        p = start_screen()
        with SqliteStore(db) as s:
            assert s.count() == org_store.count()
    finally:
        p.kill()
        p.wait(5)


# ------------------------------------------------------------------------ wrong peers

def test_peer_on_another_network_id_gets_one_line(nodes):
    org, _ = nodes(ORG, "org", network_id=bytes(32))
    scr, _ = nodes(SCREEN_1, "s1")
    with pytest.raises(SyncError, match="not p2panda log sync on this network \\(ALPN mismatch\\)"):
        scr.sync(org.ticket())
    assert wait_for(lambda: any("asked for another protocol" in e for e in org.errors), 10.0)


def test_wrong_node_id_is_named(nodes):
    org, _ = nodes(ORG, "org")
    scr, _ = nodes(SCREEN_1, "s1")
    wrong = "%s@%s" % (public_key(SCREEN_2).hex(), org.addresses()[0])
    with pytest.raises(SyncError, match="is not the node id we dialled"):
        scr.sync(wrong)


def test_http_server_and_empty_port_are_named(nodes):
    # a sync timeout far beyond the dial's: a dial that gives up at its own bound is told apart
    scr, _ = nodes(SCREEN_1, "s1", connect_timeout=0.5, timeout=30.0)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def http():
        conn, _ = listener.accept()
        conn.recv(100)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    t = threading.Thread(target=http, daemon=True)
    t.start()
    start = time.monotonic()
    with pytest.raises(SyncError, match="looks like an HTTP server"):
        scr.sync("%s@127.0.0.1:%d" % (public_key(ORG).hex(), port))
    assert time.monotonic() - start < 15  # the dial's bound, not the sync's 30 s
    t.join(2)
    listener.close()
    with pytest.raises(SyncError, match="nothing answers on 127.0.0.1:%d" % port):
        scr.sync("%s@127.0.0.1:%d" % (public_key(ORG).hex(), port))


def test_unsubscribed_topic_is_dropped_like_rust(nodes, tmp_path):
    org, _ = nodes(ORG, "org")
    store = SqliteStore(str(tmp_path / "other.db"))
    other = IrohNode(store, operation.festival_topic("otherfest"), SCREEN_2, bind="127.0.0.1:0",
                     timeout=2.0, connect_timeout=2.0, reconnect=False).start()
    try:
        with pytest.raises(SyncError, match="does not sync this festival's topic|ended the topic handshake"):
            other.sync(org.ticket(), timeout=4)
        assert wait_for(lambda: any("which this node does not sync: dropped" in l for l in org.lines), 10.0)
    finally:
        other.stop()
        store.close()


def _fake_06_node(seed):
    """An endpoint on the same ALPN that answers like p2panda 0.6: unframed CBOR with type/value."""
    ready = threading.Event()
    info = {}

    async def main():
        ep = await iroh.Endpoint.bind(iroh.EndpointOptions(
            preset=iroh.preset_minimal(), relay_mode=iroh.RelayMode.disabled(), bind_addr="127.0.0.1:0",
            alpns=[sync_alpn()], secret_key=seed))
        info["addr"] = ep.bound_sockets()[0]
        ready.set()
        inc = await asyncio.wait_for(ep.accept_next(), 10)
        conn = await (await inc.accept()).connect()
        bi = await conn.accept_bi()
        await bi.recv().read(100)
        await bi.send().write_all(bytes.fromhex("a1647479706564446f6e65"))  # {"type": "Done"}
        await asyncio.sleep(1)
        await ep.close()

    t = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    t.start()
    ready.wait(10)
    return info["addr"], t


def test_p2panda_06_node_is_named(nodes):
    scr, scr_store = nodes(SCREEN_1, "s1")
    addr, t = _fake_06_node(ORG)
    with pytest.raises(SyncError, match="looks like a p2panda 0.6 node"):
        scr.sync("%s@%s" % (public_key(ORG).hex(), addr))
    assert scr_store.count() == 0
    t.join(5)


def test_dead_peer_is_bounded_and_then_costs_nothing(nodes):
    scr, _ = nodes(SCREEN_1, "s1", connect_timeout=0.5, timeout=30.0)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))  # a UDP port that swallows everything
    peer = "%s@127.0.0.1:%d" % (public_key(ORG).hex(), s.getsockname()[1])
    start = time.monotonic()
    with pytest.raises(SyncError, match="no iroh answer"):
        scr.sync(peer, background=True)
    assert time.monotonic() - start < 15  # the dial's bound, not the sync's 30 s
    # a screen's loop asks again: no waiting, the node redials by itself
    with pytest.raises(SyncError, match="redialling in the background"):  # said without a dial
        scr.sync(peer, background=True)
    s.close()


def test_background_sync_picks_up_a_peer_that_comes_later(nodes, tmp_path):
    scr, scr_store = nodes(SCREEN_1, "s1", connect_timeout=0.5)
    org, org_store = nodes(ORG, "org")
    addr = org.addresses()[0]
    org.stop()  # the organiser's laptop is not up yet
    with pytest.raises(SyncError):
        scr.sync("%s@%s" % (public_key(ORG).hex(), addr), background=True)
    publish(org_store, ORG, 2)
    org2 = IrohNode(org_store, TOPIC, ORG, bind=addr, timeout=3.0).start()
    try:
        assert wait_for(lambda: scr_store.count() == 2, 6.0)
        assert scr.sync("%s@%s" % (public_key(ORG).hex(), addr), background=True)["live"]
    finally:
        org2.stop()


def test_live_bench_section_runs():
    from pandascreen.bench import live
    r = live.run(quick=True)
    assert r["samples_1"] >= 1 and r["samples_many"] >= 3
    text = live.report(r)
    assert "change-to-pixel, 1 screen" in text and "floor: one op delivered" in text


def test_wire_transcript_against_a_scripted_rust_acceptor(tmp_path):
    """Our initiator against a raw iroh endpoint that plays p2panda-net 0.7's acceptor byte by byte
    (manager.rs accept: handshake on bi-stream 1, then session.rs accept_bi for the log sync).
    Operations D and E of tests/vectors.py; every frame is u32-BE length || postcard."""
    import vectors as V
    from pandascreen.core.util import unhexlify
    topic = unhexlify(V.NEF_TOPIC)
    d = operation.decode(unhexlify(V.D_HEADER), unhexlify(V.NEF_BODY))
    e = operation.decode(unhexlify(V.E_HEADER))
    seed = unhexlify(V.SEED)
    frame = lambda payload: len(payload).to_bytes(4, "big") + payload
    enc = postcard.encode_bytes
    have = frame(b"\x00\x00\x01\x20" + d.public_key + b"\x01\x20" + d.log_id + b"\x01")  # {pk: {log: 1}}
    size = len(d.header_bytes) + len(d.body) + len(e.header_bytes)
    presync = frame(b"\x00\x01\x02" + postcard.encode_varint(size))
    op_d = frame(b"\x00\x02" + enc(d.header_bytes) + b"\x01" + enc(d.body))
    op_e = frame(b"\x00\x02" + enc(e.header_bytes) + b"\x00")
    done = bytes.fromhex("00000002" "0003")
    close = bytes.fromhex("00000001" "02")
    seen = {}
    ready = threading.Event()

    async def acceptor():
        ep = await iroh.Endpoint.bind(iroh.EndpointOptions(
            preset=iroh.preset_minimal(), relay_mode=iroh.RelayMode.disabled(), bind_addr="127.0.0.1:0",
            alpns=[sync_alpn()], secret_key=seed))
        seen["addr"] = ep.bound_sockets()[0]
        ready.set()
        try:
            inc = await asyncio.wait_for(ep.accept_next(), 10)
            conn = await (await inc.accept()).connect()
            hs = await asyncio.wait_for(conn.accept_bi(), 5)
            seen["topic"] = await hs.recv().read_exact(4 + 34)
            await hs.send().write_all(bytes.fromhex("0000000101"))
            seen["hs_done"] = await hs.recv().read_exact(5)
            sync = await asyncio.wait_for(conn.accept_bi(), 5)
            await sync.send().write_all(have + presync + op_d + op_e + done)
            seen["their_have"] = await sync.recv().read_exact(7)
            seen["their_done"] = await sync.recv().read_exact(6)
            await asyncio.sleep(0.2)
            await sync.send().write_all(close)  # we end the live session
            seen["after_close"] = await asyncio.wait_for(sync.recv().read_to_end(100), 3)
            conn.close(0, b"sync protocol accept completed")
        finally:
            await ep.close()

    t = threading.Thread(target=lambda: asyncio.run(acceptor()), daemon=True)
    t.start()
    assert ready.wait(10)
    store = SqliteStore(str(tmp_path / "screen.db"))
    node = IrohNode(store, topic, SCREEN_1, bind="127.0.0.1:0", serve=False, reconnect=False, timeout=3.0).start()
    try:
        st = node.sync("%s@%s" % (d.public_key.hex(), seen["addr"]))
        assert st["ops_new"] == 2 and store.count() == 2
        t.join(10)
        assert seen["topic"] == bytes.fromhex("00000022" "0020") + topic        # Topic(t)
        assert seen["hs_done"] == bytes.fromhex("0000000101")                   # Done
        assert seen["their_have"] == bytes.fromhex("00000003" "000000")         # Sync(Have({}))
        assert seen["their_done"] == done                                      # Sync(Done), no PreSync
        assert seen["after_close"] == b""   # on Close we end our stream, and send no Close back
        assert wait_for(lambda: not any(l["live"] for l in node.status()), 10.0)
    finally:
        node.stop()
        store.close()
